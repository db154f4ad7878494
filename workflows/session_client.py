"""How clients (API, demo, tests, ops tools) start and address session workflows.

Kept beside the workflow because ids, search attributes and start policies are its contract.
"""

from __future__ import annotations

from datetime import UTC, datetime

from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import ApplicationError

from domain.booking import SessionBooking, check_booking
from domain.errors import RuleViolation
from domain.ids import is_opaque_id, session_id_from_workflow_id, session_workflow_id
from domain.policy import DEFAULT_POLICY, SessionPolicy
from domain.practice import RegisterClient
from domain.state import SessionState, SessionWorkflowInput
from domain.status import BookingKind, SessionStatus
from workflows.practice import PracticeWorkflow
from workflows.practice_client import practice_update
from workflows.rpc_timeouts import QUERY_RPC_TIMEOUT
from workflows.search_attributes import CLIENT_ID, SESSION_START, SESSION_STATUS, THERAPIST_ID
from workflows.session import SessionWorkflow

SessionHandle = WorkflowHandle[SessionWorkflow, SessionState]


def initial_status(booking: SessionBooking) -> SessionStatus:
    if booking.kind is BookingKind.INITIAL_PREPAID:
        return SessionStatus.PAID
    return SessionStatus.SCHEDULED


async def book_session(
    client: Client,
    booking: SessionBooking,
    *,
    task_queue: str,
    now: datetime,
    policy: SessionPolicy = DEFAULT_POLICY,
) -> SessionHandle:
    """Validate a booking against the clock and start its workflow.

    Search attributes are set at start (free) rather than upserted by the workflow (an Action).
    Raises ``RuleViolation`` for a booking the rules refuse and
    ``temporalio.exceptions.WorkflowAlreadyStartedError`` when the session id is taken.
    """
    check_booking(booking, now, policy)
    # The client joins the therapist's client list (an ended relationship stays ended: a client
    # may book again without the therapist restarting it), and the practice refuses the time if it
    # is in another client's reserved slot — one serialised step, so a reservation racing this
    # booking cannot slip between a check and the start. Registered first, so a retried booking
    # whose start failed still lists the client; deduplicated by the session id.
    try:
        await practice_update(
            client,
            booking.therapist_id,
            booking.therapist_timezone,
            PracticeWorkflow.register_client,
            RegisterClient(client_id=booking.client_id, start=booking.start, end=booking.end),
            request_id=f"{booking.session_id}:register",
            task_queue=task_queue,
        )
    except WorkflowUpdateFailedError as failure:
        cause = failure.cause
        if isinstance(cause, ApplicationError) and cause.type == "slot_conflict":
            raise RuleViolation("slot_conflict", cause.message) from None
        raise
    handle = await client.start_workflow(
        SessionWorkflow.run,
        SessionWorkflowInput(booking=booking, policy=policy, booked_at=now),
        id=session_workflow_id(booking.session_id),
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        search_attributes=TypedSearchAttributes(
            [
                SearchAttributePair(SESSION_STATUS, initial_status(booking).value),
                SearchAttributePair(THERAPIST_ID, booking.therapist_id),
                SearchAttributePair(CLIENT_ID, booking.client_id),
                SearchAttributePair(SESSION_START, booking.start),
            ]
        ),
        static_summary=f"session {booking.session_id}",
    )
    return handle


async def awaiting_updates(client: Client, therapist_id: str) -> list[str]:
    """The therapist's "Awaiting Updates" list: session ids whose attendance update is due.

    Read from Temporal visibility (eventually consistent by a moment), oldest session first.
    """
    if not is_opaque_id(therapist_id):
        raise ValueError("therapist id must be 1-64 characters of [A-Za-z0-9_-]")
    query = (
        f"WorkflowType = 'SessionWorkflow' AND TherapistId = '{therapist_id}' "
        f"AND SessionStatus = '{SessionStatus.AWAITING_UPDATE.value}'"
    )
    # Sorted here: ORDER BY needs advanced visibility, which the SQLite dev server lacks.
    found = [
        (execution.typed_search_attributes.get(SESSION_START), execution.id)
        async for execution in client.list_workflows(query, rpc_timeout=QUERY_RPC_TIMEOUT)
    ]
    found.sort(key=lambda item: (item[0] is None, item[0] or datetime.min.replace(tzinfo=UTC), item[1]))
    return [session_id_from_workflow_id(workflow_id) for _, workflow_id in found]


def session_handle(client: Client, session_id: str) -> SessionHandle:
    return client.get_workflow_handle_for(SessionWorkflow.run, session_workflow_id(session_id))
