"""The overdue-session counts behind the business alerts (``sessionflow_sessions_overdue``), read
from a real dev server's visibility: each condition counts exactly the running sessions in it, and
a count that fails is counted, never raised (the worker keeps running)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import uuid
from datetime import UTC, datetime, timedelta

from prometheus_client import REGISTRY
from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes

from contract.search_attributes import SESSION_END, SESSION_START, SESSION_STATUS, THERAPIST_ID
from contract.session import SESSION_WORKFLOW_TYPE
from contract.visibility import OverdueCondition, overdue_session_queries
from domain.status import SessionStatus
from observability.session_counts import SESSIONS_OVERDUE, count_overdue_sessions, run_session_counts
from settings import Settings
from tests.workflows.support import WAIT

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


async def park_session(
    client: Client, therapist_id: str, status: SessionStatus, start: datetime, task_queue: str
) -> str:
    """A session workflow as visibility sees it: started with its attributes, on a queue no worker
    polls, so it stays running in that status."""
    workflow_id = f"session-{uuid.uuid4().hex[:12]}"
    attributes = TypedSearchAttributes(
        [
            SearchAttributePair(SESSION_STATUS, status.value),
            SearchAttributePair(THERAPIST_ID, therapist_id),
            SearchAttributePair(SESSION_START, start),
            SearchAttributePair(SESSION_END, start + HOUR),
        ]
    )
    await client.start_workflow(
        SESSION_WORKFLOW_TYPE,
        id=workflow_id,
        task_queue=task_queue,
        search_attributes=attributes,
        execution_timeout=timedelta(minutes=10),
    )
    return workflow_id


async def counts(client: Client, now: datetime, therapist_id: str) -> dict[OverdueCondition, int]:
    queries = overdue_session_queries(now, therapist_id=therapist_id)
    return {
        condition: (await client.count_workflows(query, rpc_timeout=timedelta(seconds=5))).count
        for condition, query in queries.items()
    }


async def test_each_condition_counts_exactly_the_running_sessions_in_it(
    client: Client, task_queue: str
) -> None:
    therapist = f"thr_{uuid.uuid4().hex[:12]}"
    # Two hours from now, every session parked below was booked over an hour before.
    now = datetime.now(UTC) + 2 * HOUR
    park = functools.partial(park_session, client, therapist, task_queue=task_queue)
    # payment_due: charged at start − 48 h (+ up to 10 min spread), so due over an hour ago...
    await park(SessionStatus.PAYMENT_DUE, now + 10 * HOUR)
    # ...but not one whose charge came due 50 minutes ago, nor one that has closed.
    await park(SessionStatus.PAYMENT_DUE, now + 47 * HOUR)
    closed = await park(SessionStatus.PAYMENT_DUE, now + 10 * HOUR)
    await client.get_workflow_handle(closed).terminate("closed: not counted")
    # Cancelled, still running a day after the end (money not moved), not 2 hours after it.
    await park(SessionStatus.CANCELLED_LATE, now - 3 * DAY)
    await park(SessionStatus.CANCELLED_FREE, now - 3 * HOUR)
    # Awaiting the update past the last reminder (end + 7 days): recorded, or paid past its end.
    await park(SessionStatus.AWAITING_UPDATE, now - 8 * DAY)
    await park(SessionStatus.PAID, now - 9 * DAY)
    await park(SessionStatus.PAID, now - 6 * DAY)  # reminders still running
    await park(SessionStatus.COMPLETED, now - 9 * DAY)  # closing, nothing owed

    expected = {
        OverdueCondition.PAYMENT_DUE_OVER_1H: 1,
        OverdueCondition.CANCELLED_OPEN_1D_AFTER_END: 1,
        OverdueCondition.AWAITING_UPDATE_PAST_LAST_REMINDER: 2,
    }
    # Visibility is eventually consistent: read until it has caught up, bounded by WAIT.
    found: dict[OverdueCondition, int] = {}
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(WAIT):
            while True:
                found = await counts(client, now, therapist)
                if found == expected:
                    break
                await asyncio.sleep(0.05)  # a poll, bounded above: nothing else says it is indexed
    assert found == expected


async def test_the_gauges_show_what_the_counts_found(client: Client) -> None:
    counted = await count_overdue_sessions(client, datetime.now(UTC), limit_seconds=5)

    assert set(counted) == set(OverdueCondition)
    for condition, value in counted.items():
        gauge = REGISTRY.get_sample_value("sessionflow_sessions_overdue", {"condition": condition.value})
        assert gauge == value


async def test_a_count_that_fails_is_counted_and_never_raised(client: Client) -> None:
    elsewhere = Client(client.service_client, namespace=f"missing-{uuid.uuid4().hex[:8]}")

    def failures(condition: OverdueCondition) -> float:
        labels = {"condition": condition.value}
        return REGISTRY.get_sample_value("sessionflow_session_count_failures_total", labels) or 0.0

    before = {condition: failures(condition) for condition in OverdueCondition}
    counted = await count_overdue_sessions(elsewhere, datetime.now(UTC), limit_seconds=5)

    assert counted == {}
    assert {condition: failures(condition) - before[condition] for condition in OverdueCondition} == {
        condition: 1.0 for condition in OverdueCondition
    }


async def test_the_worker_counts_at_once_then_every_interval_until_its_drain(
    client: Client, settings: Settings
) -> None:
    hourly = settings.model_copy(update={"session_counts_interval_seconds": 3600})
    condition = {"condition": OverdueCondition.PAYMENT_DUE_OVER_1H.value}
    SESSIONS_OVERDUE.labels(**condition).set(-1)  # a value no count gives
    stop = asyncio.Event()
    counting = asyncio.create_task(run_session_counts(client, hourly, stop))
    async with asyncio.timeout(WAIT):
        while True:
            if REGISTRY.get_sample_value("sessionflow_sessions_overdue", condition) != -1:
                break
            await asyncio.sleep(0.05)  # a poll of the gauge, bounded above

    stop.set()  # the drain: it stops waiting for the next hour
    await asyncio.wait_for(counting, WAIT)
    off = settings.model_copy(update={"session_counts_interval_seconds": 0})
    SESSIONS_OVERDUE.labels(**condition).set(-1)
    await asyncio.wait_for(run_session_counts(client, off, asyncio.Event()), WAIT)
    assert REGISTRY.get_sample_value("sessionflow_sessions_overdue", condition) == -1  # 0: never counts
