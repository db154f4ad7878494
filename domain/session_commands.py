"""The commands a session accepts — cancel, reschedule, new card, refund — as pure rules.

Each command has one ``check_*`` (raises :class:`RuleViolation`; the workflow's validator and its
handler call the same one, so a refusal never enters history) and one function that applies it to
the :class:`Session` and returns the command's result.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from domain.commands import (
    CancelRequest,
    CancelResult,
    PaymentMethodUpdate,
    PaymentMethodUpdateResult,
    RescheduleRequest,
    RescheduleResult,
)
from domain.errors import RuleViolation
from domain.ledger import awaits_money
from domain.notifications import Audience, NotificationType
from domain.policy import (
    cancellation_status,
    charge_due_after_move,
    charge_spread_offset,
    check_can_change,
    is_late_client_move,
    refund_owed,
)
from domain.refunds import SessionRefund, SessionRefundResult, check_refund, grant_refund
from domain.session import (
    Notice,
    Session,
    charge_due_after_outage_move,
    charge_owed,
    charge_waits_on_outage,
    discretionary_refund,
    refund_due,
    refund_target,
    unblock,
)
from domain.state import CancellationRecord, RescheduleRecord
from domain.status import Actor, BookingKind, PaymentStatus

MAX_RECEIPT_LAG = timedelta(minutes=5)
"""A request's receipt time, stamped by our API, is trusted only this far behind the workflow's
clock (the workflow task may run after the timer that makes it late); otherwise it is now."""


def receipt_time(claimed: datetime | None, now: datetime) -> datetime:
    """When a request counts as received: our API's stamp, unless it is implausible."""
    if claimed is None or claimed > now or now - claimed > MAX_RECEIPT_LAG:
        return now
    return claimed


# --------------------------------------------------------------------------------- cancel


def check_cancel(session: Session, now: datetime) -> None:
    # The start is judged on our own clock: a receipt stamp only decides the 48-hour notice.
    check_can_change(session.status, session.start, now, "cancel")


def cancel(
    session: Session, request: CancelRequest, received_at: datetime, now: datetime
) -> tuple[CancelResult, Notice]:
    """Who cancels and when decides what is kept; the money work follows in the main loop."""
    check_cancel(session, now)
    payment = session.payment
    status = cancellation_status(
        request.requested_by,
        session.start,
        received_at,
        session.policy,
        charge_kept_by_late_move=payment.charge_kept_by_late_move,
    )
    session.cancellation = CancellationRecord(
        requested_by=request.requested_by,
        recorded_by=request.recorded_by,
        reason=request.reason,
        at=received_at,
        discretionary_refund=request.discretionary_refund,
    )
    session.status = status
    if not charge_owed(session):
        payment.next_charge_at = None
        payment.retry_now = False
    unblock(session)
    notice = Notice(
        NotificationType.SESSION_CANCELLED,
        Audience.BOTH,
        1,
        {
            "codes": {
                "status": status.value,
                "requested_by": request.requested_by.value,
                "reason": request.reason.value,
            }
        },
    )
    result = CancelResult.for_cancellation(
        session_id=session.session_id,
        status=status,
        discretionary_refund=request.discretionary_refund,
        refund_minor=refund_due(session),
        charge_in_flight=payment.status is PaymentStatus.PROCESSING,
        refund_when_paid_minor=_refund_if_payment_lands(session),
    )
    return result, notice


def _refund_if_payment_lands(session: Session) -> int:
    payment = session.payment
    if payment.status not in (PaymentStatus.PROCESSING, PaymentStatus.REQUIRES_ACTION):
        return 0
    return refund_owed(session.status, discretionary_refund(session), payment.amount_minor)


# --------------------------------------------------------------------------------- reschedule


def check_reschedule(session: Session, request: RescheduleRequest, now: datetime) -> None:
    check_can_change(session.status, session.start, now, "reschedule")
    if session.moving:
        # Two moves claiming at once could leave the practice holding the other one's time.
        raise RuleViolation("move_in_progress", "another move of this session is still being made")
    if request.new_start <= now:
        raise RuleViolation("start_in_past", "the new start must be in the future")
    if request.new_start == session.start:
        raise RuleViolation("same_start", "the session already starts at that time")
    if request.new_start - now > session.policy.max_booking_horizon:
        raise RuleViolation("start_too_far", "the new start is too far ahead")


def reschedule(
    session: Session, request: RescheduleRequest, received_at: datetime, now: datetime
) -> RescheduleResult:
    """A paid session keeps its payment; an unpaid one's charge follows the new start, unless the
    client moved it with 48 hours' notice or less."""
    check_reschedule(session, request, now)
    old_start, new_start = session.start, request.new_start
    payment = session.payment
    client_charged_at_once = session.kind is BookingKind.CLIENT_FOLLOW_UP and not payment.attempts
    if payment.status in (PaymentStatus.NOT_DUE, PaymentStatus.DECLINED_SOFT) and not client_charged_at_once:
        payment.next_charge_at = charge_due_after_move(
            requested_by=request.requested_by,
            old_start=old_start,
            new_start=new_start,
            current_due=payment.next_charge_at,
            received_at=received_at,
            last_attempt_at=payment.attempts[-1].at if payment.attempts else None,
            policy=session.policy,
            spread=charge_spread_offset(session.session_id, session.policy),
        )
    elif payment.next_charge_at is not None and charge_waits_on_outage(session):
        # Stripe went unanswered and the charge waits for its next try: it follows the new start
        # too (never before the new start − 48 h while that is ahead).
        payment.next_charge_at = charge_due_after_outage_move(
            session,
            retry_at=payment.next_charge_at,
            old_start=old_start,
            new_start=new_start,
            requested_by=request.requested_by,
            received_at=received_at,
        )
    if is_late_client_move(request.requested_by, old_start, received_at, session.policy):
        payment.charge_kept_by_late_move = True
    elif request.requested_by is not Actor.CLIENT:
        # The therapist (or an admin) chose the new time: the client's notice starts afresh.
        payment.charge_kept_by_late_move = False
    session.start = new_start
    session.end = new_start + session.booking.duration
    session.reschedules.append(
        RescheduleRecord(
            requested_by=request.requested_by, at=received_at, old_start=old_start, new_start=new_start
        )
    )
    return RescheduleResult(
        session_id=session.session_id,
        status=session.status,
        start=new_start,
        payment_carried=payment.status is PaymentStatus.PAID,
        next_charge_at=payment.next_charge_at,
    )


# --------------------------------------------------------------------------------- new card


def check_payment_method_update(session: Session, now: datetime) -> None:
    if session.payment.status is PaymentStatus.PAID:
        raise RuleViolation("already_paid", "the session is already paid")
    if not charge_owed(session):
        raise RuleViolation("nothing_to_charge", "the session has nothing left to charge")
    if now >= session.start:
        raise RuleViolation("session_started", "the session has started")


def update_payment_method(
    session: Session, update: PaymentMethodUpdate, now: datetime
) -> PaymentMethodUpdateResult:
    check_payment_method_update(session, now)
    payment = session.payment
    payment.payment_method_id = update.payment_method_id
    # Only a different card is tried at once: re-trying the declined one off-schedule would just
    # decline again (and repeated retries draw card-network penalties).
    retrying = awaits_money(payment) and update.payment_method_id != payment.last_attempted_payment_method_id
    if retrying:
        payment.retry_now = True
    return PaymentMethodUpdateResult(
        session_id=session.session_id, status=session.status, retrying_now=retrying
    )


# --------------------------------------------------------------------------------- refund


def check_session_refund(session: Session, request: SessionRefund) -> int:
    """Any time after the payment was captured (before the start, after a cancellation, after the
    attendance update), up to what was captured less what is back or owed back."""
    return check_refund(request, session.payment, refund_target(session))


def refund(
    session: Session, request: SessionRefund, received_at: datetime, request_id: str | None = None
) -> SessionRefundResult:
    """Record the grant; the main loop pays it back (a refund request of its own, ``refund:{m}``).
    ``request_id`` (the update id) is kept with it, so the same request sent again after the
    session closed is answered with this grant instead of granting again."""
    result = grant_refund(
        request, session.payment, refund_target(session), session.session_id, received_at, request_id
    )
    unblock(session)  # news: money work Stripe refused is tried again with this
    return result
