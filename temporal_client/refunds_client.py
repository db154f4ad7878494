"""How the API refunds a session: through its own workflow while it runs, through its refunds
workflow (``workflows/refunds.py``) once it has closed — never both for one refund."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowExecutionStatus,
    WorkflowFailureError,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from contract.ids import session_refunds_workflow_id
from contract.refunds import (
    SESSION_REFUNDS_DISPUTE_EVENT,
    SESSION_REFUNDS_REFUND,
    SESSION_REFUNDS_STATE,
    SESSION_REFUNDS_WORKFLOW_TYPE,
)
from contract.session import SESSION_DISPUTE_EVIDENCE, SESSION_REFUND
from domain.acting import ATTENDANCE_ROLES, check_party
from domain.disputes import DisputeFact, belongs_to
from domain.errors import RuleViolation
from domain.refunds import REFUND_PERIOD_AFTER_CLOSE, ClosedSessionRefunds, SessionRefund, SessionRefundResult
from domain.session_disputes import session_payment_intents
from domain.state import SessionState
from temporal_client.messages import execute_update, query_workflow, signal_workflow
from temporal_client.rpc_errors import closed_while_updating
from temporal_client.rpc_timeouts import QUERY_RPC_TIMEOUT, UPDATE_RPC_TIMEOUT
from temporal_client.session_client import session_handle

RESULT_WAIT_SECONDS = 10.0
"""A closed workflow's result is read from its last event: bounded all the same."""


async def refund_session(
    client: Client,
    session_id: str,
    request: SessionRefund,
    *,
    request_id: str,
    task_queue: str,
    now: datetime,
) -> SessionRefundResult:
    """Refund the session, wherever its money now lives.

    While the session's workflow runs, the refund is its ``refund`` update (the main loop pays
    it). Once it has closed, the session's final ledger starts (or reaches) its refunds workflow
    by update-with-start; that workflow carries the refund numbering on, so the two paths never
    refund the same money. ``request_id`` is the update id on either path: a retry returns the
    first outcome. Raises ``RPCError`` NOT_FOUND for an unknown session (the API's 404),
    ``RuleViolation`` ``session_closed`` for a session whose workflow failed or was terminated,
    ``refund_window_closed`` after the refund period.
    """
    handle = session_handle(client, session_id)
    description = await handle.describe(rpc_timeout=QUERY_RPC_TIMEOUT)
    if description.status == WorkflowExecutionStatus.RUNNING:
        try:
            return await execute_update(handle, SESSION_REFUND, request, id=request_id)
        except RPCError as error:
            if not closed_while_updating(error):
                raise
        description = await handle.describe(rpc_timeout=QUERY_RPC_TIMEOUT)
    if description.status != WorkflowExecutionStatus.COMPLETED or description.close_time is None:
        raise RuleViolation("session_closed", "the session's workflow did not complete; ops must settle it")
    try:
        final: SessionState = await asyncio.wait_for(handle.result(), RESULT_WAIT_SECONDS)
    except WorkflowFailureError as failure:
        raise RuleViolation("session_closed", "the session's workflow did not complete") from failure
    # The closed session's own workflow can no longer check who is asking: its final booking can.
    check_party(
        request.acting_party,
        therapist_id=final.therapist_id,
        client_id=final.client_id,
        roles=ATTENDANCE_ROLES,
    )
    refunds = ClosedSessionRefunds.of_closed_session(final, description.close_time)
    if now >= refunds.closes_at:
        raise _window_closed()
    # A dispute may follow the refund: the refunds workflow answers it with this pack.
    refunds = refunds.model_copy(update={"evidence": await query_workflow(handle, SESSION_DISPUTE_EVIDENCE)})
    start: WithStartWorkflowOperation[Any, ClosedSessionRefunds] = WithStartWorkflowOperation(
        SESSION_REFUNDS_WORKFLOW_TYPE,
        refunds,
        id=session_refunds_workflow_id(session_id),
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        # The refunds workflow closes at the end of the refund period: never start another.
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        task_queue=task_queue,
        result_type=ClosedSessionRefunds,
        static_summary=f"refunds of session {session_id}",
    )
    try:
        result: SessionRefundResult = await client.execute_update_with_start_workflow(
            SESSION_REFUNDS_REFUND.name,
            request,
            id=request_id,
            start_workflow_operation=start,
            result_type=SessionRefundResult,
            rpc_timeout=UPDATE_RPC_TIMEOUT,
        )
    except WorkflowAlreadyStartedError as closed:
        raise _window_closed() from closed
    except RPCError as error:
        if error.status is RPCStatusCode.ALREADY_EXISTS:
            raise _window_closed() from error
        raise
    return result


def _window_closed() -> RuleViolation:
    return RuleViolation(
        "refund_window_closed",
        f"refunds are possible for {REFUND_PERIOD_AFTER_CLOSE.days} days after the session closed",
    )


async def with_later_refunds(client: Client, state: SessionState) -> SessionState:
    """A closed session's state with the refunds granted and paid since it closed, if any."""
    handle = client.get_workflow_handle(session_refunds_workflow_id(state.session_id))
    try:
        refunds = await query_workflow(handle, SESSION_REFUNDS_STATE)
    except RPCError as error:
        if error.status is RPCStatusCode.NOT_FOUND:
            return state
        raise
    return state.model_copy(update={"payment": refunds.payment})


async def dispute_closed_session(
    client: Client, session_id: str, fact: DisputeFact, *, task_queue: str, now: datetime
) -> bool:
    """Give a dispute fact of a session whose workflow has closed to its refunds workflow (started
    from the session's final ledger if it is not running: signal-with-start), which holds refunds
    while the dispute is open or lost and tells the therapist. False when nothing can take it: the
    session did not complete (failed, terminated: ops settle it) or its refund period is over and
    no refunds workflow still waits for this dispute."""
    handle = session_handle(client, session_id)
    try:
        description = await handle.describe(rpc_timeout=QUERY_RPC_TIMEOUT)
    except RPCError as error:
        if error.status is not RPCStatusCode.NOT_FOUND:
            raise
        # The namespace retention (180 days, as long as the refund period) has deleted the closed
        # session's history: only a refunds workflow still waiting for this dispute can take it
        # (it checks the fact is the session's dispute itself).
        return await _to_refunds_waiting_for_dispute(client, session_id, fact)
    if description.status != WorkflowExecutionStatus.COMPLETED or description.close_time is None:
        return False
    try:
        final: SessionState = await asyncio.wait_for(handle.result(), RESULT_WAIT_SECONDS)
    except WorkflowFailureError:
        return False
    if not belongs_to(fact, final.payment.connected_account_id, session_payment_intents(final.payment)):
        return False  # another account's dispute, or of a payment the session never had
    refunds = ClosedSessionRefunds.of_closed_session(final, description.close_time)
    if now >= refunds.closes_at:
        return await _to_refunds_waiting_for_dispute(client, session_id, fact)
    # The pack the refunds workflow answers the dispute with: only the closed session's history
    # holds it (a query of the closed workflow; a refunds workflow already running keeps its own).
    evidence = await query_workflow(handle, SESSION_DISPUTE_EVIDENCE)
    refunds = refunds.model_copy(update={"evidence": evidence})
    try:
        await client.start_workflow(
            SESSION_REFUNDS_WORKFLOW_TYPE,
            refunds,
            id=session_refunds_workflow_id(session_id),
            # Signal-with-start: a running refunds workflow gets the fact; one that closed at the
            # end of the refund period is never started again.
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            task_queue=task_queue,
            result_type=ClosedSessionRefunds,
            start_signal=SESSION_REFUNDS_DISPUTE_EVENT.name,
            start_signal_args=[fact],
            static_summary=f"refunds of session {session_id}",
            rpc_timeout=UPDATE_RPC_TIMEOUT,
        )
    except WorkflowAlreadyStartedError:
        return False
    return True


async def _to_refunds_waiting_for_dispute(client: Client, session_id: str, fact: DisputeFact) -> bool:
    """Past the refund period: only a refunds workflow still running takes the fact — one waiting
    for the close of a dispute that holds a refund it owes (``refunds-wait-for-open-dispute``;
    it ignores any other dispute's news) — and none is ever started. False when none runs."""
    handle = client.get_workflow_handle(session_refunds_workflow_id(session_id))
    try:
        await signal_workflow(handle, SESSION_REFUNDS_DISPUTE_EVENT, fact, rpc_timeout=UPDATE_RPC_TIMEOUT)
    except RPCError as error:
        if error.status is RPCStatusCode.NOT_FOUND:
            return False  # never started, or closed (a closed workflow cannot be signalled)
        raise
    return True
