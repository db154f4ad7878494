"""Sessions: book, read, cancel, reschedule, file the attendance update, replace the card."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from fastapi import APIRouter, Response, status
from pydantic import BaseModel
from temporalio.client import (
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from api.auth import Authenticated
from api.cross_field import build
from api.deps import ActingParty, AppSettings, IdempotencyKey, ReadClock, SessionId, TemporalClient
from api.errors import ErrorBody, SessionErased
from api.idempotency import request_id
from api.models import (
    AttendanceBody,
    BookingResponse,
    BookSessionBody,
    CancelBody,
    NoShowBody,
    PaymentMethodBody,
    PaymentMethodResponse,
    RefundBody,
    RescheduleBody,
    SessionStatusView,
)
from contract.ids import session_workflow_id
from contract.messages import Update
from contract.session import (
    SESSION_BOOKING,
    SESSION_CANCEL,
    SESSION_CANCEL_PREVIEW,
    SESSION_CHARGE_ANSWER,
    SESSION_DISPUTE_EVIDENCE,
    SESSION_FILE_ATTENDANCE,
    SESSION_MARK_NO_SHOW,
    SESSION_RESCHEDULE,
    SESSION_RESCHEDULE_PREVIEW,
    SESSION_STATE,
    SESSION_UPDATE_PAYMENT_METHOD,
    SESSION_WORKFLOW_TYPE,
    SessionHandle,
)
from domain.acting import ActingParty as Party
from domain.acting import check_booking_party, is_party, not_found
from domain.attendance import AttendanceResult, AttendanceUpdate
from domain.booking import SessionBooking
from domain.commands import (
    CancelPreview,
    CancelRequest,
    CancelResult,
    PaymentMethodUpdate,
    Refusal,
    ReschedulePreview,
    RescheduleRequest,
    RescheduleResult,
)
from domain.dispute_evidence import DisputeEvidence
from domain.errors import RuleViolation
from domain.presence import ChargeAnswer, ChargeAnswerRequest, booking_charged_on_session, charge_answer_of
from domain.refunds import SessionRefund, SessionRefundResult
from domain.session import initial_status
from domain.session_attendance import NoShowRequest, NoShowResult
from domain.state import SessionState
from domain.status import Actor, SessionStatus, status_as_of
from domain.views import session_view_for
from observability.metrics import ERASED_SESSION_MONEY_EVENTS
from temporal_client.codec import EncryptionCodec, PayloadErasedError, session_erased
from temporal_client.erasure import erasure_of_session
from temporal_client.kms import ClientErasedError
from temporal_client.messages import execute_update, query_workflow
from temporal_client.refunds_client import refund_session, with_later_refunds
from temporal_client.rpc_errors import closed_while_updating
from temporal_client.rpc_timeouts import QUERY_RPC_TIMEOUT
from temporal_client.session_client import (
    SessionDescription,
    book_session,
    describe_session,
    session_handle,
)

Responses = dict[int | str, dict[str, object]]


def error_responses(not_found: str) -> Responses:
    """The error answers every resource's routes share; ``not_found`` says what their 404 means."""
    return {
        401: {"model": ErrorBody, "description": "missing or wrong bearer token"},
        404: {"model": ErrorBody, "description": not_found},
        409: {
            "model": ErrorBody,
            "description": "a rule refused the request (see `code`); `not_allowed`: the acting party's "
            "role may not do this (for a booking: the other role books this `kind`)",
        },
        422: {"model": ErrorBody, "description": "malformed request (see `fields`)"},
        503: {
            "model": ErrorBody,
            "description": "Temporal unreachable, or the session's workflow recovering (`session_busy`); "
            "retry after `Retry-After` with the same `Idempotency-Key`",
        },
    }


ERRORS = error_responses(
    "no such session — or none the acting party (`Acting-Party`) is a party of: the same body "
    "either way, so the API never confirms that someone else's session exists; `erased` (to its "
    "parties): the session's client was erased, its data is gone for good"
)

log = logging.getLogger("sessionflow.api.sessions")

CHARGE_ANSWER_WAIT = timedelta(seconds=10)
"""How long a request that charged the card while the client waits (their own booking, a new card)
waits for Stripe's answer before answering without it. Stripe answers in about a second; past this
it is in trouble, and the charge is tried again later off-session (``charge_answered: false``)."""

router = APIRouter(prefix="/v1/sessions", tags=["sessions"], dependencies=[Authenticated], responses=ERRORS)


_AFTER_THE_SESSION = frozenset(
    {SessionStatus.COMPLETED, SessionStatus.CLIENT_NO_SHOW, SessionStatus.ATTENDED, SessionStatus.UNREPORTED}
)


_KNOWN_STATUSES = frozenset(status.value for status in SessionStatus)


def _now() -> datetime:
    return datetime.now(UTC)


Command = TypeVar("Command", bound=BaseModel)
Result = TypeVar("Result")


@router.post(
    "",
    operation_id="bookSession",
    status_code=status.HTTP_201_CREATED,
    responses={200: {"model": BookingResponse, "description": "this exact booking already existed"}},
)
async def book(
    body: BookSessionBody,
    party: ActingParty,
    client: TemporalClient,
    settings: AppSettings,
    response: Response,
) -> BookingResponse:
    """Book a session. `kind`: `initial_prepaid` (paid at checkout), `client_follow_up` (the
    client's own booking, charged at once), `therapist_follow_up` or `therapist_manual` (booked by
    the therapist with `client_agreed: true`; charged 48 hours before the start, or at once when
    booked inside that window). A client's own booking needs at least 24 hours' notice (`409
    notice_too_short`; the policy may reduce it to 2 h); a therapist's is not bound by it. Only a
    `therapist_manual` session may be dated in the past (up to 14 days: `409 start_too_far_back`),
    for a session that took place: it is charged at once and awaits its attendance update. The
    same booking sent again returns the existing session (200), even after its start has passed; a
    different booking under an existing id is `409 session_exists`. A client who was erased (their
    data deleted on request) gets no new session: `409 client_erased`.
    A client books as themselves (`client_id`), a therapist for their own practice
    (`therapist_id`), an admin for anyone; anyone else is `409 not_allowed`. While Stripe has
    disabled charges on the therapist's connected account the practice is paused and takes no
    booking: `409 therapist_paused` (a retry of a booking made before the pause still returns it).
    The session is charged on the account the practice holds when it is booked. The therapist's
    first booking (or first practice command) creates their practice in `therapist_timezone`.

    **No `Idempotency-Key` here: `session_id` is the booking's key.** Choose it once per booking
    and send a retry with the same `session_id` and the same body: it books nothing again and
    answers `200` with `created: false` (a new booking answers `201`, `created: true`). The same
    `session_id` with any field changed is `409 session_exists`.

    **The client's own booking (`client_follow_up`) is charged at once, on-session** — the client
    is present, so their bank may ask for 3-D Secure. The API waits up to 10 s for Stripe's answer
    and returns the session's `status` after it (`paid`, `payment_failed`, or
    `awaiting_client_action` with `payment_intent_client_secret`: give that to the client's
    browser, `stripe.handleNextAction({clientSecret})`; the `payment_intent.succeeded` webhook
    settles the session). `charge_answered: false` means Stripe had not answered in time: read
    `GET /v1/sessions/{id}` later (`payment.client_secret` while action is required). A retry of
    the same booking returns where the payment stands now. Other kinds answer at once: an
    `initial_prepaid` session was paid at checkout; a therapist's booking is charged off-session on
    the saved card (at start − 48 h, or at once inside the window) and never asks for the client."""
    check_booking_party(
        party, therapist_id=body.therapist_id, client_id=body.client_id, booked_by=body.booked_by
    )
    # The rules across the booking's fields (payment source, consent, wall-clock start): a 409.
    booking = build(SessionBooking, **body.model_dump())
    _refuse_erased_client(client, booking.client_id)
    handle = session_handle(client, booking.session_id)
    # A retry must find its session before any rule is applied again: the first attempt may have
    # charged already (a booking inside 48 h) while its answer was lost, and a retry told
    # "start_in_past" would make the backend believe there is no booking.
    created = not await _booked_already(handle, booking)
    if created:
        try:
            await book_session(
                client,
                booking,
                task_queue=settings.task_queue,
                now=_now(),
                policy=settings.session_policy,
                commission=settings.commission,
            )
        except WorkflowAlreadyStartedError:
            created = not await _booked_already(handle, booking)  # two retries raced each other
        except ClientErasedError:  # erased between the check above and the start: no key, no start
            raise RuleViolation("client_erased", CLIENT_ERASED_MESSAGE) from None
    if not created:
        response.status_code = status.HTTP_200_OK
    booked = BookingResponse(
        session_id=booking.session_id,
        workflow_id=session_workflow_id(booking.session_id),
        status=initial_status(booking),
        created=created,
    )
    if not booking_charged_on_session(booking.kind):
        return booked
    return await _with_charge_answer(booked, handle)


CLIENT_ERASED_MESSAGE = "the client was erased: no session is booked for them"


def _refuse_erased_client(client: TemporalClient, client_id: str) -> None:
    """An erased client gets no new session (review 15, finding 4): refused before the practice
    claims any time or a workflow starts. The KMS refuses their keys too, for a booking racing the
    erasure."""
    codec = client.data_converter.payload_codec
    kms = codec.kms if isinstance(codec, EncryptionCodec) else None
    if kms is not None and kms.is_client_erased(client_id):
        raise RuleViolation("client_erased", CLIENT_ERASED_MESSAGE)


Answered = TypeVar("Answered", BookingResponse, PaymentMethodResponse)


async def _with_charge_answer(response: Answered, handle: SessionHandle) -> Answered:
    """``response`` with Stripe's answer to the charge the request just caused, for the client who
    is present (the session's status after it, and the client secret when their bank asks)."""
    answer = await _charge_answer(handle)
    if answer is None:
        return response.model_copy(update={"charge_answered": False})
    return response.model_copy(
        update={
            "status": answer.status,
            "charge_answered": True,
            "payment_intent_client_secret": answer.payment_intent_client_secret,
        }
    )


async def _charge_answer(handle: SessionHandle) -> ChargeAnswer | None:
    """Stripe's answer to the charge the request just caused, or None when it did not come within
    ``CHARGE_ANSWER_WAIT``: the session keeps going either way (the answer is also in its state
    and, when the bank asks for the client, in the ``action_required`` notification)."""
    try:
        async with asyncio.timeout(CHARGE_ANSWER_WAIT.total_seconds()):
            return await execute_update(
                handle,
                SESSION_CHARGE_ANSWER,
                ChargeAnswerRequest(),
                # Read-only: every ask is its own update (a repeated id would replay an old answer).
                id=f"charge-answer:{uuid.uuid4()}",
                rpc_timeout=CHARGE_ANSWER_WAIT,
            )
    except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
        return None
    except WorkflowUpdateFailedError:
        # A worker of a release without ``charge_answer`` (a rollout under way) refused the ask:
        # the booking or new card stands; only its answer is not known here.
        return None
    except RPCError as error:
        if error.status != RPCStatusCode.NOT_FOUND or "completed" not in error.message:
            raise
    # A retry of a booking whose session has closed since (cancelled and refunded, completed):
    # its last state answers, and a closed session asks nobody for anything.
    return charge_answer_of(await query_workflow(handle, SESSION_STATE), answered=True)


async def _booked_already(handle: SessionHandle, booking: SessionBooking) -> bool:
    """True when this exact booking exists; raises ``session_exists`` for a different one."""
    try:
        await handle.describe(rpc_timeout=QUERY_RPC_TIMEOUT)
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            return False
        raise
    existing = await query_workflow(handle, SESSION_BOOKING)
    # The stored booking carries the connected account the practice gave it at booking; the
    # request never does, so a retry of the same booking is compared without it.
    if existing.model_copy(update={"connected_account_id": None}) != booking:
        raise WorkflowAlreadyStartedError(handle.id, SESSION_WORKFLOW_TYPE)  # api.errors: 409 session_exists
    return True


@router.get(
    "/{session_id}",
    operation_id="getSession",
)
async def read(
    session_id: SessionId, party: ActingParty, client: TemporalClient, now: ReadClock
) -> SessionState:
    """The session's detail view, as it stands: status, times, payment (with refunds granted after
    it closed), cancellation, attendance, follow-up. For its client, its therapist and admins;
    anyone else: `404`, as for an unknown session. Each reads their own view:
    `payment.client_secret` (it pays the client's PaymentIntent) is never shown to the therapist,
    and why a therapist ended the relationship (`attendance.update.end_reason`) never to the
    client. A `scheduled` or `paid` session past its end reads `awaiting_update`.
    It queries the session's workflow (a billed call): a UI polling where a session stands reads
    `GET /v1/sessions/{id}/status` instead. A session whose client was erased: `404 erased`
    (for its parties; anyone else still gets the `404`)."""
    try:
        state = await query_workflow(session_handle(client, session_id), SESSION_STATE)
    except WorkflowQueryFailedError:
        if not session_erased(client.data_converter, session_id):
            raise
        await described_for(client, session_id, party)  # strangers get the 404 of an unknown session
        raise SessionErased() from None
    if not is_party(party, therapist_id=state.therapist_id, client_id=state.client_id):
        raise not_found()
    if state.status.is_cancelled or state.status in _AFTER_THE_SESSION:
        state = await with_later_refunds(client, state)
    # The workflow records awaiting_update only when something happens after the end (no timer
    # of its own marks it): the API's clock says what a person sees now.
    state = state.model_copy(update={"status": status_as_of(state.status, state.end, now)})
    return session_view_for(state, party)


@router.get("/{session_id}/status", operation_id="getSessionStatus")
async def read_status(
    session_id: SessionId, party: ActingParty, client: TemporalClient, now: ReadClock
) -> SessionStatusView:
    """Where the session stands and when it is — what a UI polls. Read from Temporal's record of
    the session (its search attributes), not from the session's workflow: cheap, and never
    billed. For its client, its therapist and admins; anyone else: `404`, as for an unknown
    session. The full detail view is `GET /v1/sessions/{id}`. The status may trail a change by a
    moment (a change the session makes on its own is published when it next waits)."""
    described = await described_for(client, session_id, party)
    start: datetime | None
    end: datetime | None
    if described.status in _KNOWN_STATUSES:
        status_now, start, end = SessionStatus(described.status), described.start, described.end
    else:
        # Not published (never for a session booked through this API), or a status this release
        # does not know (a newer worker's, mid-rollout): the session's workflow answers.
        state = await query_workflow(session_handle(client, session_id), SESSION_STATE)
        status_now, start, end = state.status, state.start, state.end
    if end is not None:
        status_now = status_as_of(status_now, end, now)
    return SessionStatusView(session_id=session_id, status=status_now, start=start, end=end)


async def described_for(client: TemporalClient, session_id: str, party: Party) -> SessionDescription:
    """The session's describe (not billed), for its parties only: ``not_found`` for anyone else,
    the same as for an unknown session. Its ``TherapistId`` and ``ClientId`` search attributes
    (set at start) tell who they are; only a session without them is asked for its booking."""
    described = await describe_session(client, session_id)
    therapist_id, client_id = described.therapist_id, described.client_id
    if therapist_id is None or client_id is None:
        booking = await query_workflow(session_handle(client, session_id), SESSION_BOOKING)
        therapist_id, client_id = booking.therapist_id, booking.client_id
    if not is_party(party, therapist_id=therapist_id, client_id=client_id):
        raise not_found()
    return described


async def check_party_of(client: TemporalClient, session_id: str, party: Party) -> None:
    """``not_found`` unless the acting party is a party of the session (a describe, not billed;
    for routes whose own call cannot check it)."""
    await described_for(client, session_id, party)


async def _run(
    client: TemporalClient,
    session_id: str,
    party: Party,
    update: Update[Command, Result],
    request: Command,
    id: str,
) -> Result:
    """Send a command; the workflow's validator checks the acting party (no extra round trip).
    A closed session's workflow takes no update: only its parties hear that it is closed."""
    try:
        return await execute_update(session_handle(client, session_id), update, request, id=id)
    except RPCError as error:
        if closed_while_updating(error):
            await check_party_of(client, session_id, party)
        raise


def _refused(refusal: Refusal | None) -> RuleViolation:
    # The refusal the command itself would give: `not_found` is the API's 404, the rest 409.
    assert refusal is not None
    return RuleViolation(refusal.code, refusal.message)


@router.post("/{session_id}/cancel", operation_id="cancelSession")
async def cancel(
    session_id: SessionId, body: CancelBody, party: ActingParty, key: IdempotencyKey, client: TemporalClient
) -> CancelResult:
    """Cancel before the start. A client's cancellation is free only when received **more than**
    48 hours before the start (server receipt time); later it is `cancelled_late` and the charge
    stands unless the therapist or an admin submits it with `discretionary_refund`. A therapist's
    or admin's cancellation is never charged: a pending charge is voided, a payment refunded.
    `requested_by` is whose cancellation it is; `submitted_by` (default: the same) who filed it —
    someone may file for a party with less authority (client < therapist < admin), never more
    (`409 submitter_not_allowed`).
    The result says whether it was `free`, what is refunded (`refund_minor`), whether the charge
    is kept (`charge_kept`) or still in flight at Stripe (`charge_in_flight`).
    The acting party files it: `submitted_by` is their role (given or not), so a client cancels
    only as the client; the session's client, its therapist or an admin (anyone else: `404`).
    `POST …/cancel/preview` tells the outcome first."""
    request = _cancel_request(body, party)
    return await _run(
        client,
        session_id,
        party,
        SESSION_CANCEL,
        request,
        request_id(key, "cancel", session_id, party.header(), body=body),
    )


def _cancel_request(body: CancelBody, party: Party) -> CancelRequest:
    # The acting party is the submitter: a submitted_by naming another role is a 409
    # (submitter_not_acting_party).
    fields = {**body.model_dump(), "submitted_by": body.submitted_by or party.role}
    return build(CancelRequest, **fields, received_at=_now(), acting_party=party)


@router.post("/{session_id}/cancel/preview", operation_id="previewCancellation")
async def preview_cancel(
    session_id: SessionId, body: CancelBody, party: ActingParty, client: TemporalClient
) -> CancelPreview:
    """What this cancellation would do if sent now, for this party — without cancelling: free or
    late (`outcome.status`, `outcome.free`), what is refunded (`outcome.refund_minor`) or charged
    (`charge_minor`), until which instant it is free (`free_before`, exclusive). Decided by the
    very rule the cancellation applies, on the session as it stands at `received_at`: a
    cancellation received at that instant answers exactly `outcome`. Refused as the cancellation
    would be (`409 session_started`, …); adds nothing to the session's history."""
    answer = await query_workflow(
        session_handle(client, session_id), SESSION_CANCEL_PREVIEW, _cancel_request(body, party)
    )
    if answer.preview is None:
        raise _refused(answer.refused)
    return answer.preview


@router.post("/{session_id}/reschedule", operation_id="rescheduleSession")
async def reschedule(
    session_id: SessionId,
    body: RescheduleBody,
    party: ActingParty,
    key: IdempotencyKey,
    client: TemporalClient,
) -> RescheduleResult:
    """Move the session before it starts. A paid session keeps its payment (never charged
    twice); an unpaid one is charged 48 hours before its new start (at once if that has passed).
    A client's move with 48 hours' notice or less keeps the charge that was due. The new time is
    claimed at the therapist's practice: another client's reserved slot refuses it (`409
    slot_conflict`), another session at that time too (`409 time_taken`); a practice that does not
    answer within 8 s refuses it with `409 practice_unavailable` (nothing moved), and a second move
    sent while one is being made is `409 move_in_progress`. The session's client, its therapist
    or an admin (anyone else: `404`); `requested_by` is the acting party's role or a lesser one
    (a therapist entering a client's request), never a higher one (`409 submitter_not_allowed`).
    `POST …/reschedule/preview` tells the outcome first."""
    return await _run(
        client,
        session_id,
        party,
        SESSION_RESCHEDULE,
        _reschedule_request(body, party),
        request_id(key, "reschedule", session_id, party.header(), body=body),
    )


def _reschedule_request(body: RescheduleBody, party: Party) -> RescheduleRequest:
    return build(RescheduleRequest, **body.model_dump(), received_at=_now(), acting_party=party)


@router.post("/{session_id}/reschedule/preview", operation_id="previewReschedule")
async def preview_reschedule(
    session_id: SessionId, body: RescheduleBody, party: ActingParty, client: TemporalClient
) -> ReschedulePreview:
    """What this move would do if sent now, for this party — without moving: whether it is late
    (a client's move with 48 hours' notice or less keeps the charge due: `late`, `charge_kept`),
    when and what the card is charged (`charge_at`, `charge_minor`), until which instant the free
    option lasts (`free_before`, exclusive). Decided by the very rule the move applies, on the
    session as it stands at `received_at`; the practice's check of the new time (`409
    slot_conflict`, `time_taken`) is made only by the move. Adds nothing to the history."""
    answer = await query_workflow(
        session_handle(client, session_id), SESSION_RESCHEDULE_PREVIEW, _reschedule_request(body, party)
    )
    if answer.preview is None:
        raise _refused(answer.refused)
    return answer.preview


@router.post("/{session_id}/attendance", operation_id="fileAttendance")
async def file_attendance(
    session_id: SessionId,
    body: AttendanceBody,
    party: ActingParty,
    key: IdempotencyKey,
    client: TemporalClient,
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
    practice_unavailable` (nothing recorded): file again with a new `Idempotency-Key`.
    The session's therapist or an admin, filing in their own role (`submitted_by`); its client is
    `409 not_allowed`, anyone else `404`."""
    fields = {**body.model_dump(), "submitted_by": body.submitted_by or party.role}
    update = build(AttendanceUpdate, **fields, received_at=_now(), acting_party=party)
    return await _run(
        client,
        session_id,
        party,
        SESSION_FILE_ATTENDANCE,
        update,
        request_id(key, "attendance", session_id, party.header(), body=body),
    )


@router.post(
    "/{session_id}/refund",
    operation_id="refundSession",
)
async def refund(
    session_id: SessionId,
    body: RefundBody,
    party: ActingParty,
    key: IdempotencyKey,
    client: TemporalClient,
    settings: AppSettings,
) -> SessionRefundResult:
    """Refund the session, in full or in part, with a `reason` code, any time after its payment was
    captured: before the start, after a cancellation, after the attendance update — also once the
    session has closed (for 180 days). `amount_minor` absent refunds everything still refundable.
    Several partial refunds add up; together they never exceed what was captured (`409
    refund_exceeds_captured`, the message says what is left). Nothing captured: `409
    nothing_captured`. A charge the client's bank disputes is not refunded while the dispute is
    open or after it was lost: `409 charge_disputed`. Only the session's therapist or an admin (its
    client: `409 not_allowed`, anyone else `404`). A closed session whose client was erased: `404
    erased` (its ledger is gone; ops refund in Stripe from the kept facts). The money goes back right
    after (`refund_issued` to the client with the amount); the result says what was granted and what
    is still refundable."""
    request = build(
        SessionRefund, **body.model_dump(), requested_by=party.role, acting_party=party, received_at=_now()
    )
    try:
        return await refund_session(
            client,
            session_id,
            request,
            request_id=request_id(key, "refund", session_id, party.header(), body=body),
            task_queue=settings.task_queue,
            now=_now(),
        )
    except PayloadErasedError:
        # The closed session's final ledger (who may ask, what is refundable) went with its
        # client's key: no refund can be computed here. Ops refund in Stripe from the kept facts.
        await described_for(client, session_id, party)  # strangers get the 404 of an unknown session
        erasure_id = await erasure_of_session(client, settings, session_id)
        log.warning(
            "refund of an erased client's session refused: ops settle it in stripe",
            extra={"session_id": session_id, "erasure_id": erasure_id, "acting_role": party.role.value},
        )
        ERASED_SESSION_MONEY_EVENTS.labels(kind="refund").inc()
        raise SessionErased() from None


@router.post("/{session_id}/no-show", operation_id="markNoShow")
async def mark_no_show(
    session_id: SessionId, body: NoShowBody, party: ActingParty, key: IdempotencyKey, client: TemporalClient
) -> NoShowResult:
    """The therapist marks the client as not attending, from the session's start, before the full
    attendance update (which can come later and must then say `client_no_show`: `409
    no_show_marked` otherwise). The session is `client_no_show` from now on and stays so when it
    completes. Before the start: `409 session_not_started`; a cancelled session: `409
    session_cancelled`; a payment still being settled: `409 payment_pending`. Marking it again
    returns the first mark (`already_marked`). The session's therapist or an admin (its client:
    `409 not_allowed`, anyone else `404`)."""
    request = build(
        NoShowRequest, **body.model_dump(), requested_by=party.role, acting_party=party, received_at=_now()
    )
    return await _run(
        client,
        session_id,
        party,
        SESSION_MARK_NO_SHOW,
        request,
        request_id(key, "no_show", session_id, party.header(), body=body),
    )


@router.post("/{session_id}/payment-method", operation_id="updatePaymentMethod")
async def update_payment_method(
    session_id: SessionId,
    body: PaymentMethodBody,
    party: ActingParty,
    key: IdempotencyKey,
    client: TemporalClient,
) -> PaymentMethodResponse:
    """The client saved a new card (a Stripe `pm_…` id). After a declined charge it is tried at
    once (`retrying_now`); otherwise it is used for the charge when due (off-session). The
    session's client or an admin; its therapist is `409 not_allowed`, anyone else `404`.

    **A retry the client's own card causes is on-session** (`Acting-Party: client:…`): the client
    is present, so the API waits up to 10 s for Stripe's answer and returns the session's `status`
    after it; when their bank asks for 3-D Secure it is `awaiting_client_action` with
    `payment_intent_client_secret` — give it to the client's browser
    (`stripe.handleNextAction({clientSecret})`); the `payment_intent.succeeded` webhook settles the
    session. `charge_answered: false`: Stripe had not answered in time (read the session later). A
    card an admin enters for the client (support on the phone) is retried off-session and not
    waited for."""
    requested_by = party.role
    update = build(
        PaymentMethodUpdate,
        payment_method_id=body.payment_method_id,
        requested_by=requested_by,
        acting_party=party,
    )
    handle = session_handle(client, session_id)
    result = await _run(
        client,
        session_id,
        party,
        SESSION_UPDATE_PAYMENT_METHOD,
        update,
        request_id(key, "payment_method", session_id, party.header(), body=body),
    )
    response = PaymentMethodResponse.model_validate(result.model_dump())
    if not (result.retrying_now and requested_by is Actor.CLIENT):
        return response
    return await _with_charge_answer(response, handle)


@router.get("/{session_id}/dispute-evidence", operation_id="getDisputeEvidence")
async def dispute_evidence(
    session_id: SessionId, party: ActingParty, client: TemporalClient
) -> DisputeEvidence:
    """The evidence pack for a dispute of the session's charge, in Stripe's `dispute.evidence`
    fields, built from the session's recorded history alone: the
    booking's time and kind, who booked it and the client's recorded agreement, the cancellation
    policy generated from the session's own policy values, the notice a cancellation actually
    gave, the attendance recorded, the service date. No health data (no reason code is read), no
    names, no text a person wrote. The marketplace's backend submits it to Stripe
    (`POST /v1/disputes/{id}` with `evidence` and `submit=true`, under `Stripe-Account` for a
    therapist's direct charge) unless the service is configured to submit it itself.
    Admins only (the session's therapist or client: `409 not_allowed`; anyone else `404`); a query
    of the session's workflow (billed), also once it has closed."""
    await check_party_of(client, session_id, party)
    if party.role is not Actor.ADMIN:
        raise RuleViolation("not_allowed", "only an admin may export a session's dispute evidence")
    try:
        return await query_workflow(session_handle(client, session_id), SESSION_DISPUTE_EVIDENCE)
    except WorkflowQueryFailedError:
        # The worker cannot read an erased session's history (found by an independent fuzz run: a 500).
        if not session_erased(client.data_converter, session_id):
            raise
        raise SessionErased() from None
