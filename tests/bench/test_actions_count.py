"""How Actions are counted (``bench.actions``) and how a client's calls are counted
(``temporal_client.call_metrics``), on a tiny workflow's real history: two local activities in
one workflow task and one in a later task bill as two Actions (Temporal Cloud bills local
activities per workflow task); a patch marker and its ``TemporalChangeVersion`` upsert bill none.

The history is recorded from the dev server by the integration test below
(``SESSIONFLOW_RECORD_HISTORIES=1`` rewrites ``tests/bench/histories/local_activities.json``, a
bench fixture: never replayed as a session); the unit test counts the recorded file.
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from datetime import timedelta
from pathlib import Path

from prometheus_client import generate_latest
from temporalio import activity, workflow
from temporalio.client import Client, WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from bench.actions import CHANGE_VERSION_UPSERT, LOCAL_ACTIVITY_TASKS, count_actions
from temporal_client.call_metrics import CallCounter, parse_calls

HISTORY = Path(__file__).parent / "histories" / "local_activities.json"
RECORD = os.environ.get("SESSIONFLOW_RECORD_HISTORIES") == "1"
WAIT = 30.0
LOCAL = timedelta(seconds=10)


@activity.defn
async def tiny_local(step: int) -> int:
    return step


@workflow.defn(sandboxed=False)
class TinyLocalActivities:
    """Two local activities in the first workflow task, a timer, one more in a later task."""

    @workflow.run
    async def run(self) -> int:
        workflow.patched("tiny-patch")
        first = await asyncio.gather(
            workflow.execute_local_activity(tiny_local, 1, start_to_close_timeout=LOCAL),
            workflow.execute_local_activity(tiny_local, 2, start_to_close_timeout=LOCAL),
        )
        await workflow.sleep(timedelta(milliseconds=1))  # ends the task: the next one is new
        last = await workflow.execute_local_activity(tiny_local, 3, start_to_close_timeout=LOCAL)
        return sum(first) + last

    @workflow.query
    def ping(self) -> str:
        return "pong"


def test_local_activities_bill_one_action_per_workflow_task_and_a_patch_bills_none() -> None:
    history = WorkflowHistory.from_json("tiny", json.loads(HISTORY.read_text()))

    total, by_kind, _ = count_actions(history)

    assert by_kind[LOCAL_ACTIVITY_TASKS] == 2  # three local activities in two workflow tasks
    assert by_kind[CHANGE_VERSION_UPSERT] == 1  # the patch's own upsert: reported, never billed
    assert "UPSERT_WORKFLOW_SEARCH_ATTRIBUTES" not in by_kind
    assert total == 4  # start + timer + 2 local-activity tasks


async def test_a_real_history_of_local_activities_is_counted_per_task_and_every_call_is_counted(
    env: WorkflowEnvironment,
) -> None:
    counted = Client(
        env.client.service_client,
        namespace=env.client.namespace,
        data_converter=env.client.data_converter,
        interceptors=[CallCounter()],
    )
    before = parse_calls(generate_latest().decode())
    queue = f"tiny-{uuid.uuid4().hex[:8]}"
    async with Worker(
        env.client,
        task_queue=queue,
        workflows=[TinyLocalActivities],
        activities=[tiny_local],
        workflow_runner=UnsandboxedWorkflowRunner(),
    ):
        handle = await counted.start_workflow(
            TinyLocalActivities.run, id=f"tiny-{uuid.uuid4().hex}", task_queue=queue
        )
        assert await asyncio.wait_for(handle.result(), WAIT) == 6
        assert await asyncio.wait_for(handle.query(TinyLocalActivities.ping), WAIT) == "pong"
        await handle.describe()
    history = await handle.fetch_history()
    after = parse_calls(generate_latest().decode())

    total, by_kind, _ = count_actions(history)
    assert (total, by_kind[LOCAL_ACTIVITY_TASKS]) == (4, 2)
    calls = {call: after[call] - before.get(call, 0.0) for call in ("start", "query", "describe", "update")}
    assert calls == {"start": 1, "query": 1, "describe": 1, "update": 0}
    if RECORD:
        HISTORY.parent.mkdir(exist_ok=True)
        HISTORY.write_text(history.to_json() + "\n")
