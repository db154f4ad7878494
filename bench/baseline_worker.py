"""``python -m bench.baseline_worker``: the baseline's worker, in its own process like the real one.

Same settings source, data converter (payload codec included), cache size, activity limit,
autoscaling pollers and sandbox mode as ``worker.build_worker``, so the only difference the
benchmark sees is the workflow code.
"""

from __future__ import annotations

import asyncio
import signal

from temporalio.worker import PollerBehaviorAutoscaling, Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from bench.minimal import BareUpdateWorkflow, MinimalWorkflow, ParkedWorkflow, noop
from settings import Settings
from temporal_client.converter import connect


def workflow_runner(settings: Settings) -> SandboxedWorkflowRunner:
    """The real worker's sandbox mode: ``fast`` passes our own workflow modules through (here,
    ``bench``'s), ``strict`` re-imports them for every run."""
    if settings.workflow_sandbox == "strict":
        return SandboxedWorkflowRunner()
    return SandboxedWorkflowRunner(restrictions=SandboxRestrictions.default.with_passthrough_modules("bench"))


async def run(settings: Settings) -> None:
    client = await connect(settings)
    worker = Worker(
        client,
        task_queue=settings.task_queue,
        workflows=[MinimalWorkflow, BareUpdateWorkflow, ParkedWorkflow],
        activities=[noop],
        workflow_runner=workflow_runner(settings),
        max_cached_workflows=settings.max_cached_workflows,
        max_concurrent_activities=settings.max_concurrent_activities,
        workflow_task_poller_behavior=PollerBehaviorAutoscaling(),
        activity_task_poller_behavior=PollerBehaviorAutoscaling(),
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with worker:
        await stop.wait()


def main() -> None:
    asyncio.run(run(Settings()))


if __name__ == "__main__":
    main()
