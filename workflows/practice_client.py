"""How clients (API, activities, tests, ops tools) address a therapist's practice workflow.

Every change goes through update-with-start: the first request for a therapist starts the
workflow, later ones land on the running one (``USE_EXISTING``). The caller's request id is the
update id, so a repeated request returns the first outcome, also after continue-as-new.
"""

from __future__ import annotations

from typing import TypeVar

from temporalio.client import Client, WithStartWorkflowOperation, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError, RPCStatusCode
from temporalio.workflow import UpdateMethodMultiParam

from domain.ids import practice_workflow_id
from domain.practice import BookingTimeQuery, PracticeWorkflowInput
from workflows.practice import PracticeWorkflow
from workflows.rpc_timeouts import QUERY_RPC_TIMEOUT, UPDATE_RPC_TIMEOUT

ArgT = TypeVar("ArgT")
ResultT = TypeVar("ResultT")

PracticeHandle = WorkflowHandle[PracticeWorkflow, None]


async def practice_update(
    client: Client,
    therapist_id: str,
    timezone: str,
    update: UpdateMethodMultiParam[[PracticeWorkflow, ArgT], ResultT],
    arg: ArgT,
    *,
    request_id: str,
    task_queue: str,
) -> ResultT:
    """Send one command to the therapist's practice, starting the workflow if it is not running.

    ``timezone`` is used only when this call starts the practice (later runs keep their own).
    Raises ``WorkflowUpdateFailedError`` whose ``cause`` is an ``ApplicationError`` typed with the
    rule's code (e.g. ``slot_conflict``) when the practice refuses the command.
    """
    start = WithStartWorkflowOperation(
        PracticeWorkflow.run,
        PracticeWorkflowInput(therapist_id=therapist_id, timezone=timezone),
        id=practice_workflow_id(therapist_id),
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        task_queue=task_queue,
        static_summary=f"practice {therapist_id}",
    )
    return await client.execute_update_with_start_workflow(
        update, arg, id=request_id, start_workflow_operation=start, rpc_timeout=UPDATE_RPC_TIMEOUT
    )


async def booking_time_conflict(client: Client, therapist_id: str, query: BookingTimeQuery) -> str | None:
    """The id of another client's reserved slot that ``query``'s time falls into, if any.

    A therapist whose practice has never been started has no slots: nothing conflicts.
    """
    try:
        check = await practice_handle(client, therapist_id).query(
            PracticeWorkflow.booking_time, query, rpc_timeout=QUERY_RPC_TIMEOUT
        )
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            return None
        raise
    return check.conflicting_slot_id


def practice_handle(client: Client, therapist_id: str) -> PracticeHandle:
    """The therapist's practice (latest run), for queries; it exists once a command was sent."""
    return client.get_workflow_handle_for(PracticeWorkflow.run, practice_workflow_id(therapist_id))
