"""How clients (API, demo, tests, ops tools) start and address session workflows.

Kept beside the workflow because ids, search attributes and start policies are its contract.
"""

from __future__ import annotations

from datetime import datetime

from temporalio.client import Client, WorkflowHandle
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)

from domain.booking import SessionBooking, check_booking
from domain.ids import session_workflow_id
from domain.policy import DEFAULT_POLICY, SessionPolicy
from domain.state import SessionState, SessionWorkflowInput
from domain.status import BookingKind, SessionStatus
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
    return await client.start_workflow(
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


def session_handle(client: Client, session_id: str) -> SessionHandle:
    return client.get_workflow_handle_for(SessionWorkflow.run, session_workflow_id(session_id))
