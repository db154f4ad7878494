"""Sessions: book, read, cancel, reschedule, file the attendance update, replace the card."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, TypeVar

from fastapi import APIRouter, Response, status
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from api.auth import Authenticated
from api.deps import AppSettings, IdempotencyKey, SessionId, TemporalClient
from api.errors import ErrorBody
from api.idempotency import request_id
from api.models import (
    AttendanceBody,
    BookingResponse,
    BookSessionBody,
    CancelBody,
    NoShowBody,
    PaymentMethodBody,
    RefundBody,
    RescheduleBody,
)
from contract.ids import session_workflow_id
from contract.session import (
    SESSION_BOOKING,
    SESSION_CANCEL,
    SESSION_FILE_ATTENDANCE,
    SESSION_MARK_NO_SHOW,
    SESSION_RESCHEDULE,
    SESSION_STATE,
    SESSION_UPDATE_PAYMENT_METHOD,
    SESSION_WORKFLOW_TYPE,
    SessionHandle,
)
from domain.attendance import AttendanceResult, AttendanceUpdate
from domain.booking import SessionBooking
from domain.commands import (
    CancelRequest,
    CancelResult,
    PaymentMethodUpdate,
    PaymentMethodUpdateResult,
    RescheduleRequest,
    RescheduleResult,
)
from domain.refunds import SessionRefund, SessionRefundResult
from domain.session import initial_status
from domain.session_attendance import NoShowRequest, NoShowResult
from domain.state import SessionState
from domain.status import SessionStatus
from temporal_client.messages import execute_update, query_workflow
from temporal_client.refunds_client import refund_session, with_later_refunds
from temporal_client.rpc_timeouts import QUERY_RPC_TIMEOUT
from temporal_client.session_client import book_session, session_handle

ERRORS: dict[int | str, dict[str, object]] = {
    401: {"model": ErrorBody, "description": "missing or wrong bearer token"},
    404: {"model": ErrorBody, "description": "no such session"},
    409: {"model": ErrorBody, "description": "a rule refused the request (see `code`)"},
    422: {"model": ErrorBody, "description": "malformed request (see `fields`)"},
    503: {
        "model": ErrorBody,
        "description": "Temporal unreachable, or the session's workflow recovering (`session_busy`); "
        "retry after `Retry-After` with the same `Idempotency-Key`",
    },
}

router = APIRouter(prefix="/v1/sessions", tags=["sessions"], dependencies=[Authenticated], responses=ERRORS)


_AFTER_THE_SESSION = frozenset(
    {SessionStatus.COMPLETED, SessionStatus.CLIENT_NO_SHOW, SessionStatus.ATTENDED}
)


def _now() -> datetime:
    return datetime.now(UTC)


Command = TypeVar("Command", bound=BaseModel)


def _command(model: type[Command], **fields: Any) -> Command:
    """The domain command from a validated body; a rule across its fields (a discretionary refund
    only from a therapist or admin, …) refusing it is the caller's 422, not our 500."""
    try:
        return model(**fields)
    except ValidationError as exc:
        errors = [{**error, "loc": ("body", *error["loc"])} for error in exc.errors(include_url=False)]
        raise RequestValidationError(errors) from None


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses={200: {"model": BookingResponse, "description": "this exact booking already existed"}},
)
async def book(
    body: BookSessionBody, client: TemporalClient, settings: AppSettings, response: Response
) -> BookingResponse:
    """Book a session. `kind`: `initial_prepaid` (paid at checkout), `client_follow_up` (the
    client's own booking, charged at once), `therapist_follow_up` or `therapist_manual` (booked by
    the therapist with `client_agreed: true`; charged 48 hours before the start, or at once when
    booked inside that window). A client's own booking needs at least 24 hours' notice (`409
    notice_too_short`; the policy may reduce it to 2 h); a therapist's is not bound by it. Only a
    `therapist_manual` session may be dated in the past (up to 14 days: `409 start_too_far_back`),
    for a session that took place: it is charged at once and awaits its attendance update. The
    same booking sent again returns the existing session (200), even after its start has passed; a
    different booking under an existing id is `409 session_exists`."""
    booking = SessionBooking.model_validate(body.model_dump())
    handle = session_handle(client, booking.session_id)
    # A retry must find its session before any rule is applied again: the first attempt may have
    # charged already (a booking inside 48 h) while its answer was lost, and a retry told
    # "start_in_past" would make the backend believe there is no booking.
    created = not await _booked_already(handle, booking)
    if created:
        try:
            await book_session(client, booking, task_queue=settings.task_queue, now=_now())
        except WorkflowAlreadyStartedError:
            created = not await _booked_already(handle, booking)  # two retries raced each other
    if not created:
        response.status_code = status.HTTP_200_OK
    return BookingResponse(
        session_id=booking.session_id,
        workflow_id=session_workflow_id(booking.session_id),
        status=initial_status(booking),
        created=created,
    )


async def _booked_already(handle: SessionHandle, booking: SessionBooking) -> bool:
    """True when this exact booking exists; raises ``session_exists`` for a different one."""
    try:
        await handle.describe(rpc_timeout=QUERY_RPC_TIMEOUT)
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            return False
        raise
    existing = await query_workflow(handle, SESSION_BOOKING)
    if existing != booking:
        raise WorkflowAlreadyStartedError(handle.id, SESSION_WORKFLOW_TYPE)  # api.errors: 409 session_exists
    return True


@router.get("/{session_id}")
async def read(session_id: SessionId, client: TemporalClient) -> SessionState:
    """The session as it stands: status, times, payment (with refunds granted after it closed),
    cancellation, attendance, follow-up."""
    state = await query_workflow(session_handle(client, session_id), SESSION_STATE)
    if state.status.is_cancelled or state.status in _AFTER_THE_SESSION:
        return await with_later_refunds(client, state)
    return state


@router.post("/{session_id}/cancel")
async def cancel(
    session_id: SessionId, body: CancelBody, key: IdempotencyKey, client: TemporalClient
) -> CancelResult:
    """Cancel before the start. A client's cancellation is free only when received **more than**
    48 hours before the start (server receipt time); later it is `cancelled_late` and the charge
    stands unless the therapist or an admin submits it with `discretionary_refund`. A therapist's
    or admin's cancellation is never charged: a pending charge is voided, a payment refunded.
    `requested_by` is whose cancellation it is; `submitted_by` (default: the same) who filed it —
    someone may file for a party with less authority (client < therapist < admin), never more.
    The result says whether it was `free`, what is refunded (`refund_minor`), whether the charge
    is kept (`charge_kept`) or still in flight at Stripe (`charge_in_flight`)."""
    request = _command(CancelRequest, **body.model_dump(), received_at=_now())
    return await execute_update(
        session_handle(client, session_id),
        SESSION_CANCEL,
        request,
        id=request_id(key, "cancel", session_id, body=body),
    )


@router.post("/{session_id}/reschedule")
async def reschedule(
    session_id: SessionId, body: RescheduleBody, key: IdempotencyKey, client: TemporalClient
) -> RescheduleResult:
    """Move the session before it starts. A paid session keeps its payment (never charged
    twice); an unpaid one is charged 48 hours before its new start (at once if that has passed).
    A client's move with 48 hours' notice or less keeps the charge that was due. The new time is
    claimed at the therapist's practice: another client's reserved slot refuses it (`409
    slot_conflict`), another session at that time too (`409 time_taken`); a practice that does not
    answer within 8 s refuses it with `409 practice_unavailable` (nothing moved), and a second move
    sent while one is being made is `409 move_in_progress`."""
    request = _command(RescheduleRequest, **body.model_dump(), received_at=_now())
    return await execute_update(
        session_handle(client, session_id),
        SESSION_RESCHEDULE,
        request,
        id=request_id(key, "reschedule", session_id, body=body),
    )


@router.post("/{session_id}/attendance")
async def file_attendance(
    session_id: SessionId, body: AttendanceBody, key: IdempotencyKey, client: TemporalClient
) -> AttendanceResult:
    """The therapist's attendance update, from the session's start: `attended` or `client_no_show`;
    continue `no` / `same_time` (same local weekly time next week) / `different_time` (with
    `new_start`); `reserve_slot` keeps the weekly time for the client; `end_relationship` (with
    `end_reason`, optionally `cancel_future_sessions`); an optional `refund` (of
    `refund_amount_minor`, or of everything when absent; never more than was captured). A follow-up is booked
    only with `client_agreed: true` (else `409 consent_required`); its id is in the result.
    Effects that could not be completed after the update was recorded are listed in
    `incomplete_effects`; `slot_released` tells the UI to show the released-slot banner. A practice
    that does not answer the slot or time claim within 8 s refuses it with `409
    practice_unavailable` (nothing recorded): file again with a new `Idempotency-Key`."""
    update = _command(AttendanceUpdate, **body.model_dump(), received_at=_now())
    return await execute_update(
        session_handle(client, session_id),
        SESSION_FILE_ATTENDANCE,
        update,
        id=request_id(key, "attendance", session_id, body=body),
    )


@router.post("/{session_id}/refund")
async def refund(
    session_id: SessionId,
    body: RefundBody,
    key: IdempotencyKey,
    client: TemporalClient,
    settings: AppSettings,
) -> SessionRefundResult:
    """Refund the session, in full or in part, with a `reason` code, any time after its payment was
    captured: before the start, after a cancellation, after the attendance update — also once the
    session has closed (for 180 days). `amount_minor` absent refunds everything still refundable.
    Several partial refunds add up; together they never exceed what was captured (`409
    refund_exceeds_captured`, the message says what is left). Nothing captured: `409
    nothing_captured`. Only the therapist or an admin (`requested_by`). The money goes back right
    after (`refund_issued` to the client with the amount); the result says what was granted and what
    is still refundable."""
    request = _command(SessionRefund, **body.model_dump(), received_at=_now())
    return await refund_session(
        client,
        session_id,
        request,
        request_id=request_id(key, "refund", session_id, body=body),
        task_queue=settings.task_queue,
        now=_now(),
    )


@router.post("/{session_id}/no-show")
async def mark_no_show(
    session_id: SessionId, body: NoShowBody, key: IdempotencyKey, client: TemporalClient
) -> NoShowResult:
    """The therapist marks the client as not attending, from the session's start, before the full
    attendance update (which can come later and must then say `client_no_show`: `409
    no_show_marked` otherwise). The session is `client_no_show` from now on and stays so when it
    completes. Before the start: `409 session_not_started`; a cancelled session: `409
    session_cancelled`; a payment still being settled: `409 payment_pending`. Marking it again
    returns the first mark (`already_marked`)."""
    request = _command(NoShowRequest, **body.model_dump(), received_at=_now())
    return await execute_update(
        session_handle(client, session_id),
        SESSION_MARK_NO_SHOW,
        request,
        id=request_id(key, "no_show", session_id, body=body),
    )


@router.post("/{session_id}/payment-method")
async def update_payment_method(
    session_id: SessionId, body: PaymentMethodBody, key: IdempotencyKey, client: TemporalClient
) -> PaymentMethodUpdateResult:
    """The client saved a new card (a Stripe `pm_…` id). After a declined charge it is tried at
    once (`retrying_now`); otherwise it is used for the charge when due."""
    update = _command(PaymentMethodUpdate, payment_method_id=body.payment_method_id)
    return await execute_update(
        session_handle(client, session_id),
        SESSION_UPDATE_PAYMENT_METHOD,
        update,
        id=request_id(key, "payment_method", session_id, body=body),
    )
