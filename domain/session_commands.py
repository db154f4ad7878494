"""The commands a session accepts — cancel, reschedule, new card, refund — as pure rules.

Each command has one ``check_*`` (raises :class:`RuleViolation`; the workflow's validator and its
handler call the same one, so a refusal never enters history) and one function that applies it to
the :class:`Session` and returns the command's result.
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.acting import (
    ATTENDANCE_ROLES,
    CANCEL_ROLES,
    PAYMENT_METHOD_ROLES,
    RESCHEDULE_ROLES,
    ActingParty,
    check_party,
)
from domain.commands import (
    CancelPreview,
    CancelRequest,
    CancelResult,
    PaymentMethodUpdate,
    PaymentMethodUpdateResult,
    Refusal,
    ReschedulePreview,
    RescheduleRequest,
    RescheduleResult,
)
from domain.disputes import check_refund_allowed
from domain.errors import RuleViolation
from domain.ledger import awaits_money
from domain.notifications import Audience, NotificationType
from domain.policy import (
    cancellation_deadline,
    cancellation_status,
    charge_due_after_move,
    charge_spread_offset,
    check_can_change,
    is_late_client_move,
    refund_owed,
)
from domain.presence import new_card_charge_cause
from domain.refunds import SessionRefund, SessionRefundResult, check_refund, grant_refund
from domain.session import (
    Notice,
    Session,
    charge_due_after_outage_move,
    charge_owed,
    charge_waits_on_outage,
    refund_target,
    refund_target_if,
    unblock,
)
from domain.state import CancellationRecord, RescheduleRecord
from domain.status import Actor, BookingKind, PaymentStatus, SessionStatus

MAX_RECEIPT_LAG = timedelta(minutes=5)
"""A request's receipt time, stamped by our API, is trusted only this far behind the workflow's
clock (the workflow task may run after the timer that makes it late); otherwise it is now."""


def refusal(violation: RuleViolation) -> Refusal:
    return Refusal(code=violation.code, message=violation.message)


def receipt_time(claimed: datetime | None, now: datetime) -> datetime:
    """When a request counts as received: our API's stamp, unless it is implausible."""
    if claimed is None or claimed > now or now - claimed > MAX_RECEIPT_LAG:
        return now
    return claimed


# --------------------------------------------------------------------------------- cancel


def check_cancel(session: Session, now: datetime, party: ActingParty | None = None) -> None:
    # Who is acting comes first: a stranger learns nothing of the session, not even its status.
    _check_party(session, party, CANCEL_ROLES)
    # The start is judged on our own clock: a receipt stamp only decides the 48-hour notice.
    check_can_change(session.status, session.start, now, "cancel")


def decide_cancel(
    session: Session, request: CancelRequest, received_at: datetime, now: datetime
) -> CancelResult:
    """What cancelling now would do, read from the session as it stands (nothing changes): the
    one rule both the cancel command (:func:`cancel`) and its preview (:func:`preview_cancel`)
    apply, so a preview and the outcome at the same instant can never disagree."""
    check_cancel(session, now, request.acting_party)
    payment = session.payment
    status = cancellation_status(
        request.requested_by,
        session.start,
        received_at,
        session.policy,
        charge_kept_by_late_move=payment.charge_kept_by_late_move,
    )
    discretionary = request.discretionary_refund
    return CancelResult.for_cancellation(
        session_id=session.session_id,
        status=status,
        discretionary_refund=discretionary,
        refund_minor=max(0, refund_target_if(session, status, discretionary) - payment.amount_refunded_minor),
        charge_in_flight=payment.status is PaymentStatus.PROCESSING,
        refund_when_paid_minor=_refund_if_payment_lands(session, status, discretionary),
    )


def cancel(
    session: Session, request: CancelRequest, received_at: datetime, now: datetime
) -> tuple[CancelResult, list[Notice]]:
    """Who cancels and when decides what is kept; the money work follows in the main loop."""
    result = decide_cancel(session, request, received_at, now)
    payment = session.payment
    status = result.status
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
    codes = {
        "status": status.value,
        "requested_by": request.requested_by.value,
        "reason": request.reason.value,
    }
    if session.terms_notices:
        notices = cancellation_notices(request.requested_by, status, codes)
    else:
        notices = [Notice(NotificationType.SESSION_CANCELLED, Audience.BOTH, 1, {"codes": codes})]
    return result, notices


def other_party(actor: Actor) -> Audience:
    """Who must hear of what ``actor`` did: the other party; both when an admin acted."""
    if actor is Actor.CLIENT:
        return Audience.THERAPIST
    if actor is Actor.THERAPIST:
        return Audience.CLIENT
    return Audience.BOTH


def actors_copy(actor: Actor) -> Audience | None:
    """Who gets the confirmation of what ``actor`` did: the party themself (an admin gets none)."""
    if actor is Actor.CLIENT:
        return Audience.CLIENT
    if actor is Actor.THERAPIST:
        return Audience.THERAPIST
    return None


def cancellation_notices(requested_by: Actor, status: SessionStatus, codes: dict[str, str]) -> list[Notice]:
    """The other party is told; whoever cancelled gets a confirmation. Both copies say whether the
    cancellation was free or late (a late one keeps the charge)."""
    codes = codes | {"free": "false" if status is SessionStatus.CANCELLED_LATE else "true"}
    notices = [Notice(NotificationType.SESSION_CANCELLED, other_party(requested_by), 1, {"codes": codes})]
    if (actor := actors_copy(requested_by)) is not None:
        notices.append(
            Notice(
                NotificationType.SESSION_CANCELLED,
                actor,
                "1-confirmation",
                {"codes": codes},
                confirmation=True,
            )
        )
    return notices


def reschedule_notices(session: Session) -> list[Notice]:
    """After a move: the other party is told, whoever moved it gets a confirmation (sessions on
    the terms' notices only; before, a move told nobody). The copies say whether the client's move
    was late (its charge stands)."""
    if not session.terms_notices or not session.reschedules:
        return []
    number = len(session.reschedules)
    move = session.reschedules[-1]
    late = is_late_client_move(move.requested_by, move.old_start, move.at, session.policy)
    codes = {"requested_by": move.requested_by.value, "late": "true" if late else "false"}
    notices = [
        Notice(NotificationType.SESSION_RESCHEDULED, other_party(move.requested_by), number, {"codes": codes})
    ]
    if (actor := actors_copy(move.requested_by)) is not None:
        notices.append(
            Notice(
                NotificationType.SESSION_RESCHEDULED,
                actor,
                f"{number}-confirmation",
                {"codes": codes},
                confirmation=True,
            )
        )
    return notices


def _refund_if_payment_lands(session: Session, status: SessionStatus, discretionary: bool) -> int:
    payment = session.payment
    if payment.status not in (PaymentStatus.PROCESSING, PaymentStatus.REQUIRES_ACTION):
        return 0
    return refund_owed(status, discretionary, payment.amount_minor)


def free_cancellation_before(session: Session, requested_by: Actor) -> datetime | None:
    """Until when (exclusive) a cancellation in ``requested_by``'s name is free: a client's until
    start − 48 h (none at all once they moved the session late: its charge stands), a therapist's
    or admin's until the start (after it nothing can be cancelled)."""
    if requested_by is not Actor.CLIENT:
        return session.start
    if session.payment.charge_kept_by_late_move:
        return None
    return cancellation_deadline(session.start, session.policy)


def preview_cancel(
    session: Session, request: CancelRequest, received_at: datetime, now: datetime
) -> CancelPreview:
    """The cancellation's consequence for this party at this instant, without cancelling."""
    outcome = decide_cancel(session, request, received_at, now)
    return CancelPreview(
        session_id=session.session_id,
        requested_by=request.requested_by,
        received_at=received_at,
        outcome=outcome,
        free_before=free_cancellation_before(session, request.requested_by),
        charge_minor=session.payment.amount_minor if outcome.charge_kept else 0,
    )


# --------------------------------------------------------------------------------- reschedule


def check_reschedule(session: Session, request: RescheduleRequest, now: datetime) -> None:
    _check_party(session, request.acting_party, RESCHEDULE_ROLES)
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


@dataclass(frozen=True)
class MoveDecision:
    """What a move does to the session's money (``next_charge_at``, ``charge_kept_by_late_move``)
    and what it answers; decided without changing the session."""

    next_charge_at: datetime | None
    charge_kept_by_late_move: bool
    result: RescheduleResult


def decide_reschedule(
    session: Session, request: RescheduleRequest, received_at: datetime, now: datetime
) -> MoveDecision:
    """A paid session keeps its payment; an unpaid one's charge follows the new start, unless the
    client moved it with 48 hours' notice or less. Read from the session as it stands: the one
    rule both the move (:func:`reschedule`) and its preview (:func:`preview_reschedule`) apply."""
    check_reschedule(session, request, now)
    old_start, new_start = session.start, request.new_start
    payment = session.payment
    next_charge_at = payment.next_charge_at
    client_charged_at_once = session.kind is BookingKind.CLIENT_FOLLOW_UP and not payment.attempts
    if payment.status in (PaymentStatus.NOT_DUE, PaymentStatus.DECLINED_SOFT) and not client_charged_at_once:
        next_charge_at = charge_due_after_move(
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
        next_charge_at = charge_due_after_outage_move(
            session,
            retry_at=payment.next_charge_at,
            old_start=old_start,
            new_start=new_start,
            requested_by=request.requested_by,
            received_at=received_at,
        )
    kept = payment.charge_kept_by_late_move
    if is_late_client_move(request.requested_by, old_start, received_at, session.policy):
        kept = True
    elif request.requested_by is not Actor.CLIENT:
        # The therapist (or an admin) chose the new time: the client's notice starts afresh.
        kept = False
    result = RescheduleResult(
        session_id=session.session_id,
        status=session.status,
        start=new_start,
        payment_carried=payment.status is PaymentStatus.PAID,
        next_charge_at=next_charge_at,
    )
    return MoveDecision(next_charge_at=next_charge_at, charge_kept_by_late_move=kept, result=result)


def reschedule(
    session: Session, request: RescheduleRequest, received_at: datetime, now: datetime
) -> RescheduleResult:
    """Carry out :func:`decide_reschedule`'s decision."""
    decision = decide_reschedule(session, request, received_at, now)
    old_start, new_start = session.start, request.new_start
    session.payment.next_charge_at = decision.next_charge_at
    session.payment.charge_kept_by_late_move = decision.charge_kept_by_late_move
    session.start = new_start
    session.end = new_start + session.booking.duration
    session.reschedules.append(
        RescheduleRecord(
            requested_by=request.requested_by, at=received_at, old_start=old_start, new_start=new_start
        )
    )
    return decision.result


def preview_reschedule(
    session: Session, request: RescheduleRequest, received_at: datetime, now: datetime
) -> ReschedulePreview:
    """The move's consequence for this party at this instant, without moving (the practice's
    check of the new time — another client's slot, another session — is made by the move itself)."""
    decision = decide_reschedule(session, request, received_at, now)
    outcome = decision.result
    late = is_late_client_move(request.requested_by, session.start, received_at, session.policy)
    charging = outcome.next_charge_at is not None and not outcome.payment_carried
    return ReschedulePreview(
        session_id=session.session_id,
        requested_by=request.requested_by,
        received_at=received_at,
        outcome=outcome,
        late=late,
        charge_kept=decision.charge_kept_by_late_move,
        free_before=free_cancellation_before(session, request.requested_by),
        charge_at=outcome.next_charge_at if charging else None,
        charge_minor=session.payment.amount_minor if charging else 0,
    )


# --------------------------------------------------------------------------------- new card


def check_payment_method_update(session: Session, now: datetime, party: ActingParty | None = None) -> None:
    _check_party(session, party, PAYMENT_METHOD_ROLES)
    if session.payment.status is PaymentStatus.PAID:
        raise RuleViolation("already_paid", "the session is already paid")
    if not charge_owed(session):
        raise RuleViolation("nothing_to_charge", "the session has nothing left to charge")
    if now >= session.start:
        raise RuleViolation("session_started", "the session has started")


def update_payment_method(
    session: Session, update: PaymentMethodUpdate, now: datetime
) -> PaymentMethodUpdateResult:
    check_payment_method_update(session, now, update.acting_party)
    payment = session.payment
    payment.payment_method_id = update.payment_method_id
    # Only a different card is tried at once: re-trying the declined one off-schedule would just
    # decline again (and repeated retries draw card-network penalties).
    retrying = awaits_money(payment) and update.payment_method_id != payment.last_attempted_payment_method_id
    if retrying:
        payment.retry_now = True
    if retrying or session.charge_in_flight:
        # The retry this card causes (at once, or when the attempt in flight is declined) is made
        # while whoever entered it waits: on-session when that is the client (domain.presence).
        session.charge_cause = new_card_charge_cause(update.requested_by)
    return PaymentMethodUpdateResult(
        session_id=session.session_id, status=session.status, retrying_now=retrying
    )


# --------------------------------------------------------------------------------- acting party


def _check_party(session: Session, party: ActingParty | None, roles: Set[Actor]) -> None:
    booking = session.booking
    check_party(party, therapist_id=booking.therapist_id, client_id=booking.client_id, roles=roles)


# --------------------------------------------------------------------------------- refund


def check_session_refund(session: Session, request: SessionRefund) -> int:
    """Any time after the payment was captured (before the start, after a cancellation, after the
    attendance update), up to what was captured less what is back or owed back. The session's
    therapist or an admin."""
    _check_party(session, request.acting_party, ATTENDANCE_ROLES)
    check_refund_allowed(session.dispute, session.payment.payment_intent_id)
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
