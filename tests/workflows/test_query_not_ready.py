"""A query that reaches a run before its first workflow task is answered once the task has run,
not refused: just after a practice continues as new, the new run has had no task yet and the
server answers "Workflow task is not scheduled yet" (the CI failure of 2026-12-04 in
test_practice_growth). Against the real dev server."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from temporalio.client import Client
from temporalio.worker import Worker

from contract.ids import practice_workflow_id
from contract.practice import PRACTICE_STATE, PRACTICE_WORKFLOW_TYPE
from domain.practice import PracticeWorkflowInput
from temporal_client.messages import query_workflow
from temporal_client.practice_client import practice_handle
from tests.workflows.support import WAIT


async def test_a_query_before_the_runs_first_task_waits_for_it_instead_of_failing(
    client: Client, worker: Worker, task_queue: str
) -> None:
    therapist_id = f"thr_{uuid.uuid4().hex[:16]}"
    # A start delay longer than the query's RPC deadline holds the first workflow task back: the
    # server answers "not scheduled yet" at once, as it did for the practice's run just after its
    # continue-as-new — the same answer, deterministically.
    await client.start_workflow(
        PRACTICE_WORKFLOW_TYPE,
        PracticeWorkflowInput(therapist_id=therapist_id, timezone="Europe/London"),
        id=practice_workflow_id(therapist_id),
        task_queue=task_queue,
        start_delay=timedelta(seconds=8),
    )

    state = await asyncio.wait_for(
        query_workflow(practice_handle(client, therapist_id), PRACTICE_STATE), WAIT
    )

    assert state.therapist_id == therapist_id
