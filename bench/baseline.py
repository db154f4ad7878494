"""(a) The engine's ceiling on this machine: minimal workflows/s, a bare update round trip, and
minimal parked workflows started per second (the ceiling for a booking's park rate)."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass

from temporalio.client import Client, WorkflowHandle

from bench.lanes import Phase, run_lanes
from bench.minimal import BareUpdateWorkflow, MinimalWorkflow, ParkedWorkflow
from bench.stack import Usage, usage

ITEM_TIMEOUT = 120.0
WARMUP = 100
"""Minimal workflows run first and not counted: the first runs import and compile the sandbox."""
WARMUP_PARKED = 20
"""Parked workflows before the memory reading: the same number as the lifecycle's warm-up; also the
uncounted starts before the start rate (its workflow type's first runs)."""
SETTLE_SECONDS = 2.0


@dataclass(frozen=True)
class Baseline:
    throughput: Phase
    server_cpu_cores: float
    worker_cpu_cores: float
    cpu_seconds_per_workflow: float
    parked: Phase
    update: Phase
    worker_rss_before: int
    worker_rss_parked: int
    worker_rss_updated: int
    starts: Phase
    """Minimal workflows parked on a long timer, started by the same lanes: starts/s."""
    starts_server_cpu_cores: float
    starts_worker_cpu_cores: float
    sample_workflow_ids: tuple[str, str, str]  # a minimal one, a bare-update one, a parked one

    @property
    def rss_per_parked(self) -> float:
        return (self.worker_rss_parked - self.worker_rss_before) / max(self.parked.ok, 1)

    @property
    def rss_per_updated(self) -> float:
        return (self.worker_rss_updated - self.worker_rss_before) / max(self.parked.ok, 1)


def cores(before: Usage, after: Usage) -> float:
    return (after.cpu_seconds - before.cpu_seconds) / max(after.at - before.at, 1e-9)


async def run_baseline(
    client: Client,
    task_queue: str,
    *,
    workflows: int,
    updates: int,
    starts: int,
    concurrency: int,
    server_pid: int,
    worker_pid: int,
) -> Baseline:
    run = uuid.uuid4().hex[:8]
    handles: dict[str, WorkflowHandle[BareUpdateWorkflow, None]] = {}

    async def park(index: int, prefix: str = "bu") -> float | None:
        handles[f"{prefix}{index}"] = await client.start_workflow(
            BareUpdateWorkflow.run, id=f"{prefix}-{run}-{index}", task_queue=task_queue
        )
        return None

    async def ping(index: int, prefix: str = "bu") -> float | None:
        handle = handles[f"{prefix}{index}"]
        await handle.execute_update(BareUpdateWorkflow.ping, f"t{index}", id=f"ping-{index}")
        return None

    # Memory first, on a fresh worker warmed exactly like the lifecycle's (a few parked
    # workflows, so the sandbox's imports are paid before the first reading).
    await run_lanes("warm-up", WARMUP_PARKED, concurrency, lambda i: park(i, "bwu"), timeout=ITEM_TIMEOUT)
    await run_lanes("warm-up", WARMUP_PARKED, concurrency, lambda i: ping(i, "bwu"), timeout=ITEM_TIMEOUT)
    await asyncio.sleep(SETTLE_SECONDS)
    rss_before = usage(worker_pid).rss_bytes
    parked = await run_lanes("start parked", updates, concurrency, park, timeout=ITEM_TIMEOUT)
    await asyncio.sleep(SETTLE_SECONDS)
    rss_parked = usage(worker_pid).rss_bytes
    update = await run_lanes("bare update", updates, concurrency, ping, timeout=ITEM_TIMEOUT)
    await asyncio.sleep(SETTLE_SECONDS)
    rss_updated = usage(worker_pid).rss_bytes

    async def minimal(index: int, prefix: str = "bm") -> float | None:
        await client.execute_workflow(
            MinimalWorkflow.run, id=f"{prefix}-{run}-{index}", task_queue=task_queue
        )
        return None

    await run_lanes("warm-up", WARMUP, concurrency, lambda i: minimal(i, "bw"), timeout=ITEM_TIMEOUT)
    server0, worker0 = usage(server_pid), usage(worker_pid)
    throughput = await run_lanes("minimal workflow", workflows, concurrency, minimal, timeout=ITEM_TIMEOUT)
    server1, worker1 = usage(server_pid), usage(worker_pid)
    cpu = (server1.cpu_seconds - server0.cpu_seconds) + (worker1.cpu_seconds - worker0.cpu_seconds)

    # The start rate: each item returns when the server has recorded the start (as a booking's
    # session start does); the worker runs each first task, which starts the timer, meanwhile.
    async def start_parked(index: int, prefix: str = "bp") -> float | None:
        await client.start_workflow(ParkedWorkflow.run, id=f"{prefix}-{run}-{index}", task_queue=task_queue)
        return None

    await run_lanes(
        "warm-up", WARMUP_PARKED, concurrency, lambda i: start_parked(i, "bpw"), timeout=ITEM_TIMEOUT
    )
    server2, worker2 = usage(server_pid), usage(worker_pid)
    started = await run_lanes("parked starts", starts, concurrency, start_parked, timeout=ITEM_TIMEOUT)
    server3, worker3 = usage(server_pid), usage(worker_pid)
    return Baseline(
        throughput=throughput,
        server_cpu_cores=cores(server0, server1),
        worker_cpu_cores=cores(worker0, worker1),
        cpu_seconds_per_workflow=cpu / max(throughput.ok, 1),
        parked=parked,
        update=update,
        worker_rss_before=rss_before,
        worker_rss_parked=rss_parked,
        worker_rss_updated=rss_updated,
        starts=started,
        starts_server_cpu_cores=cores(server2, server3),
        starts_worker_cpu_cores=cores(worker2, worker3),
        sample_workflow_ids=(f"bm-{run}-0", f"bu-{run}-0", f"bp-{run}-0"),
    )
