"""How clients (API, activities, tests, ops tools) address a therapist's practice workflow.

Every change goes through update-with-start: the first request for a therapist starts the
workflow, later ones land on the running one (``USE_EXISTING``). The caller's request id is the
update id, so a repeated request returns the first outcome, also after continue-as-new.
"""

from __future__ import annotations

from typing import Any, TypeVar

from temporalio.client import Client, WithStartWorkflowOperation
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from contract.ids import practice_workflow_id
from contract.messages import Update
from contract.practice import PRACTICE_BOOKING_TIME, PRACTICE_STATE, PRACTICE_WORKFLOW_TYPE, PracticeHandle
from contract.search_attributes import PAYMENT_ACCOUNT_ID
from domain.errors import RuleViolation
from domain.practice import BookingTimeQuery, PracticeState, PracticeWorkflowInput
from temporal_client.messages import query_workflow
from temporal_client.rpc_timeouts import UPDATE_RPC_TIMEOUT

ArgT = TypeVar("ArgT")
ResultT = TypeVar("ResultT")


async def practice_update(
    client: Client,
    therapist_id: str,
    timezone: str,
    update: Update[ArgT, ResultT],
    arg: ArgT,
    *,
    request_id: str,
    task_queue: str,
) -> ResultT:
    """Send one command to the therapist's practice, starting the workflow if it is not running.

    ``timezone`` is used only when this call starts the practice (later runs keep their own).
    Raises ``WorkflowUpdateFailedError`` whose ``cause`` is an ``ApplicationError`` typed with the
    rule's code (e.g. ``slot_conflict``) when the practice refuses the command, and
    ``RuleViolation("practice_closed")`` when the practice's last run closed (never replaced here).
    """
    start: WithStartWorkflowOperation[Any, None] = WithStartWorkflowOperation(
        PRACTICE_WORKFLOW_TYPE,
        PracticeWorkflowInput(therapist_id=therapist_id, timezone=timezone),
        id=practice_workflow_id(therapist_id),
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        # A closed practice holds slots and ended relationships: never start an empty one in its
        # place (restore_practice does that deliberately).
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        task_queue=task_queue,
        static_summary=f"practice {therapist_id}",
    )
    try:
        result: ResultT = await client.execute_update_with_start_workflow(
            update.name,
            arg,
            id=request_id,
            start_workflow_operation=start,
            result_type=update.result_type,
            rpc_timeout=UPDATE_RPC_TIMEOUT,
        )
    except WorkflowAlreadyStartedError as closed:
        raise _practice_closed(therapist_id) from closed
    except RPCError as error:
        # With USE_EXISTING, "already exists" can only mean a closed run the reuse policy refused.
        if error.status is RPCStatusCode.ALREADY_EXISTS:
            raise _practice_closed(therapist_id) from error
        raise
    return result


def _practice_closed(therapist_id: str) -> RuleViolation:
    return RuleViolation(
        "practice_closed",
        f"the practice of therapist {therapist_id} has closed; ops must restore it before it can change "
        "(sessionflow practice restore)",
    )


async def booking_time_conflict(
    client: Client, therapist_id: str, booking_time: BookingTimeQuery
) -> str | None:
    """The id of another client's reserved slot that ``booking_time`` falls into, if any.

    A therapist whose practice has never been started has no slots: nothing conflicts.
    """
    try:
        check = await query_workflow(
            practice_handle(client, therapist_id), PRACTICE_BOOKING_TIME, booking_time
        )
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            return None
        raise
    return check.conflicting_slot_id


def practice_handle(client: Client, therapist_id: str) -> PracticeHandle:
    """The therapist's practice (latest run), for queries; it exists once a command was sent."""
    return client.get_workflow_handle(practice_workflow_id(therapist_id), result_type=type(None))


async def restore_practice(
    client: Client, therapist_id: str, *, task_queue: str, state: PracticeState | None = None
) -> PracticeState:
    """Start a closed practice again with its state: by default the state its last run held (a
    worker replays the closed run to answer), or ``state`` (a migration). The only way a practice
    starts over after it closed; refused while a run is still running."""
    if state is None:
        state = await query_workflow(practice_handle(client, therapist_id), PRACTICE_STATE)
    if state.therapist_id != therapist_id:
        raise ValueError("the state belongs to another therapist's practice")
    await client.start_workflow(
        PRACTICE_WORKFLOW_TYPE,
        PracticeWorkflowInput(therapist_id=therapist_id, timezone=state.timezone, state=state),
        id=practice_workflow_id(therapist_id),
        task_queue=task_queue,
        # Deliberately: this run replaces a closed one. A running one is never replaced (FAIL).
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
        id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
        static_summary=f"practice {therapist_id} (restored)",
        # Set at start (free): the Stripe webhook route finds the practice by its account.
        search_attributes=practice_search_attributes(state),
    )
    return state


def practice_search_attributes(state: PracticeState) -> TypedSearchAttributes:
    """A restored practice's attributes: its connected account, when it has one."""
    account = state.payment_account_id
    if account is None:
        return TypedSearchAttributes.empty
    return TypedSearchAttributes([SearchAttributePair(PAYMENT_ACCOUNT_ID, account)])
