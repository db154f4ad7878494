"""(c) Capacity: many open sessions parked on their charge timers, then a cancel storm over them.

Sessions are booked with the default policy, weeks ahead, so each one waits on its start − 48 h
timer: the steady state of a marketplace with a full diary. Memory is read as RSS deltas of the
dev server and the worker; the worker keeps at most ``max_cached_workflows`` of them in memory and
replays the rest from history when an update arrives, which the cancel storm exercises.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from temporalio.client import Client

from bench.lanes import Phase, run_lanes
from bench.lifecycle import REAL_SESSION_MINUTES, actions_of, make_booking, therapists_for
from bench.stack import BenchStack, usage
from contract.ids import session_workflow_id
from domain.commands import CancelRequest
from domain.status import Actor, CancelReason, SessionStatus
from temporal_client.session_client import book_session, session_handle
from workflows.session import SessionWorkflow

ITEM_TIMEOUT = 300.0
SETTLE_SECONDS = 5.0
SPREAD_MINUTES = 10
"""Consecutive sessions start this far apart (weeks ahead), like a real diary."""


@dataclass(frozen=True)
class Capacity:
    sessions: int
    per_therapist: int
    park: Phase
    cancel: Phase
    server_rss_before: int
    server_rss_parked: int
    worker_rss_before: int
    worker_rss_parked: int
    db_bytes_before: int
    db_bytes_parked: int
    worker_cache: int
    actions: dict[str, object]

    @property
    def server_bytes_per_session(self) -> float:
        return (self.server_rss_parked - self.server_rss_before) / max(self.park.ok, 1)

    @property
    def db_bytes_per_session(self) -> float:
        return (self.db_bytes_parked - self.db_bytes_before) / max(self.park.ok, 1)

    @property
    def worker_bytes_per_cached(self) -> float:
        return (self.worker_rss_parked - self.worker_rss_before) / max(
            min(self.park.ok, self.worker_cache), 1
        )


async def run_capacity(
    client: Client,
    task_queue: str,
    stack: BenchStack,
    *,
    sessions: int,
    concurrency: int,
    per_therapist: int,
    worker_pid: int,
    worker_cache: int,
) -> Capacity:
    prefix = f"cp{uuid.uuid4().hex[:8]}"
    first_start = (datetime.now(UTC) + timedelta(days=30)).replace(second=0, microsecond=0)

    async def park(index: int) -> float | None:
        start = first_start + timedelta(minutes=SPREAD_MINUTES * index)
        # At least six therapists, so one therapist's parked sessions (SPREAD_MINUTES × therapists
        # apart) never overlap: the practice claims each session's time.
        therapists = max(therapists_for(sessions, per_therapist), 6)
        booking = make_booking(prefix, index, start, therapists, REAL_SESSION_MINUTES)
        await book_session(client, booking, task_queue=task_queue, now=datetime.now(UTC))
        return None

    server0, worker0, db0 = usage(stack.temporal_pid), usage(worker_pid), stack.db_bytes()
    parked = await run_lanes("park", sessions, concurrency, park, timeout=ITEM_TIMEOUT)
    await asyncio.sleep(SETTLE_SECONDS)
    server1, worker1, db1 = usage(stack.temporal_pid), usage(worker_pid), stack.db_bytes()

    async def cancel(index: int) -> float | None:
        handle = session_handle(client, f"{prefix}_{index}")
        result = await handle.execute_update(
            SessionWorkflow.cancel,
            CancelRequest(
                requested_by=Actor.CLIENT, reason=CancelReason.CLIENT_REQUEST, received_at=datetime.now(UTC)
            ),
            id=f"cancel-{index}",
        )
        if result.status is not SessionStatus.CANCELLED_FREE:
            raise RuntimeError(f"expected a free cancellation, got {result.status}")
        return None

    cancelled = await run_lanes("cancel storm", sessions, concurrency, cancel, timeout=ITEM_TIMEOUT)
    # After the storm (not timed): the sample's history, once its notification is delivered.
    sample = session_handle(client, f"{prefix}_0")
    try:
        await asyncio.wait_for(sample.result(), 120)
        actions = await actions_of(client, [session_workflow_id(f"{prefix}_0")])
    except (TimeoutError, Exception) as exc:
        actions = {"error": type(exc).__name__}
    return Capacity(
        sessions=sessions,
        per_therapist=per_therapist,
        park=parked,
        cancel=cancelled,
        server_rss_before=server0.rss_bytes,
        server_rss_parked=server1.rss_bytes,
        worker_rss_before=worker0.rss_bytes,
        worker_rss_parked=worker1.rss_bytes,
        db_bytes_before=db0,
        db_bytes_parked=db1,
        worker_cache=worker_cache,
        actions=actions,
    )
