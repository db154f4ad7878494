"""How clients (API, activities, demo, tests, ops tools) start, address, list and cancel session
workflows, by the contract's names (``contract.session``) rather than the workflow class."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, ConfigDict
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowUpdateFailedError
from temporalio.common import (
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from contract.ids import session_id_from_workflow_id, session_workflow_id
from contract.practice import PRACTICE_REGISTER_CLIENT, PRACTICE_RELEASE_TIME
from contract.search_attributes import (
    CLIENT_ID,
    PAYMENT_INTENT,
    SESSION_END,
    SESSION_START,
    SESSION_STATUS,
    THERAPIST_ID,
    session_search_attributes,
)
from contract.session import SESSION_CANCEL, SESSION_WORKFLOW_TYPE, SessionHandle
from contract.visibility import awaiting_update_query, sessions_query
from domain.booking import SessionBooking, check_booking
from domain.commands import CancelRequest
from domain.commission import DEFAULT_COMMISSION, CommissionRates
from domain.errors import RuleViolation
from domain.policy import DEFAULT_POLICY, SessionPolicy
from domain.practice import CancelFutureSessionsCall, FutureSessionsCancelled, RegisterClient, ReleaseTime
from domain.state import SessionState, SessionWorkflowInput
from domain.status import Actor, CancelReason, SessionStatus
from settings import zone_data_version
from temporal_client.kms import ClientErasedError
from temporal_client.messages import execute_update
from temporal_client.practice_client import practice_update
from temporal_client.rpc_timeouts import QUERY_RPC_TIMEOUT

CANCELLABLE_STATUSES = (
    SessionStatus.SCHEDULED,
    SessionStatus.PAYMENT_DUE,
    SessionStatus.PAID,
    SessionStatus.PAYMENT_FAILED,
    SessionStatus.AWAITING_CLIENT_ACTION,
    SessionStatus.PAYMENT_ON_HOLD,
)
"""Statuses of a booked session that has not started and is not cancelled."""


_BOOKING_REFUSALS = ("slot_conflict", "time_taken", "therapist_paused")
"""The practice's refusals of a booking, raised as the rule's own code (the API's 409)."""


async def book_session(
    client: Client,
    booking: SessionBooking,
    *,
    task_queue: str,
    now: datetime,
    policy: SessionPolicy = DEFAULT_POLICY,
    commission: CommissionRates = DEFAULT_COMMISSION,
) -> SessionHandle:
    """Validate a booking against the clock and start its workflow.

    ``commission`` (``settings.commission``) is fixed into the workflow's input: the session's
    fee and refunds on a connected account follow the rates in force when it was booked.

    Search attributes are set at start (free) rather than upserted by the workflow (an Action).
    Raises ``RuleViolation`` for a booking the rules refuse and
    ``temporalio.exceptions.WorkflowAlreadyStartedError`` when the session id is taken.
    """
    check_booking(booking, now, policy)
    # The client joins the therapist's client list (an ended relationship stays ended: a client
    # may book again without the therapist restarting it), and the practice claims the session's
    # time, refusing it in another client's reserved slot or over another session — one serialised
    # step, so a reservation or a booking racing this one cannot slip between a check and the
    # start. Registered first, so a retried booking whose start failed still lists the client;
    # deduplicated by the session id (a retry is answered with the first outcome).
    try:
        registered = await practice_update(
            client,
            booking.therapist_id,
            booking.therapist_timezone,
            PRACTICE_REGISTER_CLIENT,
            RegisterClient(
                client_id=booking.client_id,
                start=booking.start,
                end=booking.end,
                session_id=booking.session_id,
            ),
            request_id=f"{booking.session_id}:register",
            task_queue=task_queue,
        )
    except WorkflowUpdateFailedError as failure:
        cause = failure.cause
        if isinstance(cause, ApplicationError) and cause.type in _BOOKING_REFUSALS:
            raise RuleViolation(cause.type, cause.message) from None
        raise
    # The session's money moves on the therapist's connected account as the practice holds it now
    # (a retry is answered with the first registration's account, so both starts agree). A booking
    # from inside the service that names one (the API's never does) keeps it while the practice
    # holds none.
    account = registered.payment_account_id or booking.connected_account_id
    booking = booking.model_copy(update={"connected_account_id": account})
    try:
        handle: SessionHandle = await _start(client, booking, now, policy, commission, task_queue)
    except ClientErasedError:
        # The client was erased between the API's check and this start (the KMS made no key, so
        # nothing started): the time the practice just claimed is released again.
        await practice_update(
            client,
            booking.therapist_id,
            booking.therapist_timezone,
            PRACTICE_RELEASE_TIME,
            ReleaseTime(session_id=booking.session_id),
            request_id=f"{booking.session_id}:erased",
            task_queue=task_queue,
        )
        raise
    return handle


async def _start(
    client: Client,
    booking: SessionBooking,
    now: datetime,
    policy: SessionPolicy,
    commission: CommissionRates,
    task_queue: str,
) -> SessionHandle:
    handle: SessionHandle = await client.start_workflow(
        SESSION_WORKFLOW_TYPE,
        SessionWorkflowInput(
            booking=booking,
            policy=policy,
            booked_at=now,
            tzdata_version=zone_data_version(),
            time_claimed=True,
            commission=commission,
        ),
        id=session_workflow_id(booking.session_id),
        task_queue=task_queue,
        result_type=SessionState,
        id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        search_attributes=session_search_attributes(booking),
        static_summary=f"session {booking.session_id}",
    )
    return handle


async def awaiting_updates(client: Client, therapist_id: str, *, now: datetime | None = None) -> list[str]:
    """The therapist's "Awaiting Updates" list at ``now`` (default: this process's clock): session
    ids whose attendance update is due (ended — recorded as ``awaiting_update``, or still
    ``scheduled``/``paid`` past their ``SessionEnd`` — or marked ``client_no_show`` from the start
    and not yet closed).

    Read from Temporal visibility (eventually consistent by a moment), oldest session first.
    """
    # A session marked client_no_show from its start awaits its update too, while it runs (it
    # closes, still client_no_show, once the update is carried out).
    query = awaiting_update_query(therapist_id, now if now is not None else datetime.now(UTC))
    # Sorted here: ORDER BY needs advanced visibility, which the SQLite dev server lacks.
    found = [
        (execution.typed_search_attributes.get(SESSION_START), execution.id)
        async for execution in client.list_workflows(query, rpc_timeout=QUERY_RPC_TIMEOUT)
    ]
    found.sort(key=lambda item: (item[0] is None, item[0] or datetime.min.replace(tzinfo=UTC), item[1]))
    return [session_id_from_workflow_id(workflow_id) for _, workflow_id in found]


def session_handle(client: Client, session_id: str) -> SessionHandle:
    return client.get_workflow_handle(session_workflow_id(session_id), result_type=SessionState)


class SessionDescription(BaseModel):
    """What a describe of a session's workflow shows: its search attributes and whether it runs.

    A describe reads the server's record of the workflow and is not billed (a query is: an
    Action, and a round trip through a worker). Fields are None for a session started before the
    attribute existed (``SessionEnd``, ``SessionPaymentIntent``), or not published yet.
    """

    model_config = ConfigDict(frozen=True)

    session_id: str
    running: bool
    status: str | None = None
    therapist_id: str | None = None
    client_id: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    payment_intent_id: str | None = None
    charging: bool = False
    """A charge of the session is under way (its ``charge_session`` activity is pending), or its
    answer is in and the session has a workflow task still to run: the session is about to learn
    how the payment went."""


CHARGE_ACTIVITY = "charge_session"


async def describe_session(
    client: Client, session_id: str, *, rpc_timeout: timedelta = QUERY_RPC_TIMEOUT
) -> SessionDescription:
    """Describe the session's workflow (its latest run), bounded like every read here.

    Raises ``temporalio.service.RPCError`` (``NOT_FOUND``) for an unknown session.
    """
    described = await session_handle(client, session_id).describe(rpc_timeout=rpc_timeout)
    attributes = described.typed_search_attributes
    return SessionDescription(
        session_id=session_id,
        running=described.status is WorkflowExecutionStatus.RUNNING,
        status=attributes.get(SESSION_STATUS),
        therapist_id=attributes.get(THERAPIST_ID),
        client_id=attributes.get(CLIENT_ID),
        start=attributes.get(SESSION_START),
        end=attributes.get(SESSION_END),
        payment_intent_id=attributes.get(PAYMENT_INTENT),
        charging=any(
            pending.activity_type.name == CHARGE_ACTIVITY
            for pending in described.raw_description.pending_activities
        )
        or described.raw_description.HasField("pending_workflow_task"),
    )


def future_sessions_query(call: CancelFutureSessionsCall) -> str:
    """The visibility query for the client's open sessions starting after ``call.after``."""
    return sessions_query(
        running=True,
        therapist_id=call.therapist_id,
        client_id=call.client_id,
        statuses=CANCELLABLE_STATUSES,
        starts_after=call.after,
    )


def _already_closed(error: RPCError) -> bool:
    return error.status is RPCStatusCode.NOT_FOUND or "already completed" in error.message


async def cancel_future_sessions(
    client: Client,
    call: CancelFutureSessionsCall,
    *,
    on_session: Callable[[str], None] | None = None,
) -> FutureSessionsCancelled:
    """Cancel the client's future sessions with this therapist as the therapist's cancellations.

    Shared by the activity (a session's attendance update) and the API (ending a relationship).
    Sessions that refuse (started or cancelled meanwhile) or have closed are left alone. Each
    cancel's update id is ``{request_id}:{session_id}``, so a retry never cancels twice.
    Visibility is eventually consistent: a session booked a moment ago may be missed.
    ``on_session`` is called with each session id before it is cancelled (the activity heartbeats).
    """
    session_ids = sorted(
        [
            session_id_from_workflow_id(execution.id)
            async for execution in client.list_workflows(future_sessions_query(call))
        ]
    )
    party = call.acting_party
    # The acting party (the therapist, or an admin for them) files each cancellation in their role.
    request = CancelRequest(
        requested_by=Actor.THERAPIST,
        reason=CancelReason.OTHER,
        submitted_by=party.role if party is not None else None,
        acting_party=party,
    )
    cancelled: list[str] = []
    for session_id in session_ids:
        if on_session is not None:
            on_session(session_id)
        try:
            await execute_update(
                session_handle(client, session_id),
                SESSION_CANCEL,
                request,
                id=f"{call.request_id}:{session_id}",
            )
        except WorkflowUpdateFailedError:
            continue  # refused: it has started, or was cancelled meanwhile
        except RPCError as error:
            if _already_closed(error):
                continue
            raise
        cancelled.append(session_id)
    return FutureSessionsCancelled(session_ids=cancelled)
