"""The replay-drop processor: with no workflow cache every task replays the history from the
start, yet each log line of the workflow comes out exactly once, with its ids."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import uuid
from collections.abc import Iterator

import pytest
import structlog
from structlog.typing import EventDict, WrappedLogger
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from observability.logging import configure_logging, drop_during_replay, reset_logging
from settings import Settings
from tests.workflows.logging_workflow import LoggingWorkflow, touch
from tests.workflows.support import WAIT


@pytest.fixture
def captured() -> Iterator[tuple[io.StringIO, list[str]]]:
    """JSON logs into a buffer, plus every workflow log call seen before the replay-drop processor."""
    buffer = io.StringIO()
    calls: list[str] = []
    root_level = logging.getLogger().level
    configure_logging(Settings(log_format="json"), stream=buffer, force=True)

    def count(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
        calls.append(str(event_dict.get("event")))
        return event_dict

    processors = list(structlog.get_config()["processors"])
    processors.insert(processors.index(drop_during_replay), count)
    structlog.configure(processors=processors)
    try:
        yield buffer, calls
    finally:
        reset_logging()
        logging.getLogger().setLevel(root_level)


async def test_each_workflow_log_line_appears_once_although_every_task_replays(
    env: WorkflowEnvironment, captured: tuple[io.StringIO, list[str]]
) -> None:
    buffer, calls = captured
    task_queue = f"logging-{uuid.uuid4().hex[:12]}"
    workflow_id = f"logging-{uuid.uuid4().hex[:12]}"
    async with Worker(
        env.client,
        task_queue=task_queue,
        workflows=[LoggingWorkflow],
        activities=[touch],
        max_cached_workflows=0,
    ):
        handle = await env.client.start_workflow(LoggingWorkflow.run, id=workflow_id, task_queue=task_queue)
        assert await asyncio.wait_for(handle.result(), WAIT) == "done"

    mine = [
        line
        for line in map(json.loads, buffer.getvalue().splitlines())
        if line.get("workflow_id") == workflow_id
    ]
    events = [line["event"] for line in mine]
    assert events == ["before timer", "stdlib before timer", "after timer", "in activity", "after activity"]
    # It did replay: the first line was logged by the workflow code on every one of its tasks.
    assert calls.count("before timer") >= 3
    run_id = handle.result_run_id
    for line in mine:
        if line["event"] == "in activity":
            assert line["activity_id"] and line["attempt"] == 1
        else:
            assert line["run_id"] == run_id
    assert (
        next(line for line in mine if line["event"] == "stdlib before timer")["session_id"] == "ses_logging"
    )
