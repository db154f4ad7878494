"""A build of ``SessionWorkflow`` that decides on a stale clock, for the reset drill.

It is the session as it ran in the fault run of ``faults/evidence/README.md``: the decision taken
when a timer fires reads the clock of the workflow task that *started* the timer (the SDK bug a
query on an uncached worker provokes), not of the task the timer fired in. The current code takes
``max(workflow.now(), due)`` instead (``SessionWorkflow._sleep_until``), so a history recorded by
this build does not replay on it: a wedged session, produced without the race.

Registered under the real workflow type name, as an older image of the worker would be. Only the
reset drill (``tests/workflows/test_runbook_reset.py``) runs it; it is never deployed.
"""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    # As workflows/session.py imports them: re-imported inside the sandbox, the domain's zone data
    # would be the sandbox's restricted copy.
    from contract.session import SESSION_WORKFLOW_TYPE
    from domain.session import NextStep
    from domain.state import SessionState, SessionWorkflowInput

from workflows.session import SessionWorkflow


@workflow.defn(name=SESSION_WORKFLOW_TYPE)
class StaleClockSessionWorkflow(SessionWorkflow):
    @workflow.run
    async def run(self, workflow_input: SessionWorkflowInput) -> SessionState:
        return await super().run(workflow_input)  # the SDK wants the run method on the class

    async def _sleep_until(self, plan: NextStep) -> datetime | None:
        started_at = workflow.now()  # the clock of the task that starts the timer
        due = await super()._sleep_until(plan)
        if due is None or plan.at is None or started_at >= plan.at:
            return due  # no timer slept through: nothing stale
        return started_at  # the stale clock: before the instant the timer was for
