"""The engine's own baseline: the smallest workflows that still exercise what a session does.

``MinimalWorkflow`` is a start plus one no-op activity (the engine's ceiling in workflows/s);
``BareUpdateWorkflow`` parks on a condition and answers a no-op update, so an update round trip can
be timed with nothing of ours inside it; ``ParkedWorkflow`` parks on one long timer, as a booked
session parks on its charge timer, so its start rate is the engine's ceiling for parking. Kept tiny
and free of project imports because the sandbox re-imports this module for every workflow run.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow

MINIMAL_WORKFLOW = "BenchMinimalWorkflow"
BARE_UPDATE_WORKFLOW = "BenchBareUpdateWorkflow"
PARKED_WORKFLOW = "BenchParkedWorkflow"
NOOP_TIMEOUT = timedelta(seconds=30)
PARK_FOR = timedelta(days=30)
"""As long as a session booked weeks ahead waits for its charge: never fires during a bench run."""


@activity.defn(name="bench_noop")
async def noop() -> None:
    """Does nothing: the cost measured is Temporal's scheduling of it, not its work."""


@workflow.defn(name=MINIMAL_WORKFLOW)
class MinimalWorkflow:
    @workflow.run
    async def run(self) -> None:
        await workflow.execute_activity(noop, start_to_close_timeout=NOOP_TIMEOUT)


@workflow.defn(name=BARE_UPDATE_WORKFLOW)
class BareUpdateWorkflow:
    @workflow.init
    def __init__(self) -> None:
        self._done = False

    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: self._done)

    @workflow.update
    def ping(self, token: str) -> str:
        return token

    @workflow.signal
    def finish(self) -> None:
        self._done = True


@workflow.defn(name=PARKED_WORKFLOW)
class ParkedWorkflow:
    """A start whose first task starts one timer and waits: a booked session's floor."""

    @workflow.run
    async def run(self) -> None:
        await workflow.sleep(PARK_FOR)
