"""A tiny workflow that logs around a timer and an activity (for the replay-drop test)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow

with workflow.unsafe.imports_passed_through():
    import structlog


@activity.defn(name="logging_test_touch")
async def touch() -> str:
    structlog.get_logger("tests.activity").info("in activity")
    return "touched"


@workflow.defn(name="LoggingTestWorkflow")
class LoggingWorkflow:
    @workflow.run
    async def run(self) -> str:
        log = structlog.get_logger("tests.workflow")
        log.info("before timer")
        workflow.logger.info("stdlib before timer", extra={"session_id": "ses_logging"})
        await workflow.sleep(timedelta(milliseconds=50))
        log.info("after timer")
        await workflow.execute_activity(touch, start_to_close_timeout=timedelta(seconds=10))
        log.info("after activity")
        return "done"
