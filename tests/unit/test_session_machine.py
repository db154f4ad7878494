"""The session state machine (``domain.session`` and its commands) at unit speed, read against the
README's rules: what the session waits for, what each command and fact decides, what money is owed.
The workflow tests run the same paths on a real server; these pin every branch without one.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain import session as machine
from domain import session_attendance as attendance
from domain import session_commands as commands
from domain.attendance import AttendanceOutcome, AttendanceUpdate, ContinueChoice
from domain.commands import CancelRequest, PaymentMethodUpdate, RescheduleRequest
from domain.errors import RuleViolation
from domain.notifications import NotificationType
from domain.payments import ChargeOutcome, ChargeResult, PaymentEvent, PaymentRead, RefundResult, VoidResult
from domain.policy import DEFAULT_POLICY, SessionPolicy, charge_spread_offset
from domain.session import NextStep, Session, Step
from domain.session_attendance import AttendanceEffects
from domain.state import SessionState, SessionWorkflowInput
from domain.status import Actor, BookingKind, CancelReason, DeclineKind, PaymentStatus, SessionStatus
from tests.unit.session_sim import PRICE, open_session

H = timedelta(hours=1)
SECOND = timedelta(seconds=1)
MINUTE = timedelta(minutes=1)
START = datetime(2027, 6, 15, 17, 0, tzinfo=UTC)
BOOKED = START - 10 * 24 * H


def book(kind: BookingKind = BookingKind.THERAPIST_FOLLOW_UP) -> Session:
    return open_session(kind, START, BOOKED)


def charge(session: Session, at: datetime, result: ChargeResult) -> list[machine.Notice]:
    return machine.finish_charge(session, machine.begin_charge(session, at), result)


SUCCEEDED = ChargeResult(outcome=ChargeOutcome.SUCCEEDED, payment_intent_id="pi_1")
SOFT = ChargeResult(
    outcome=ChargeOutcome.DECLINED,
    payment_intent_id="pi_1",
    decline_kind=DeclineKind.SOFT,
    code="card_declined",
    decline_code="insufficient_funds",
)
HARD = SOFT.model_copy(update={"decline_kind": DeclineKind.HARD, "decline_code": "expired_card"})


def cancel(session: Session, by: Actor, at: datetime, **fields: object) -> machine.Notice:
    request = CancelRequest.model_validate({"requested_by": by, "reason": CancelReason.OTHER, **fields})
    _, [notice] = commands.cancel(session, request, at, at)  # before the terms' notices: one, to both
    return notice


# ----------------------------------------------------------------------------- what it waits for


def test_a_therapist_follow_up_waits_for_its_charge_at_start_minus_48h() -> None:
    assert machine.next_step(book()) == NextStep(Step.CHARGE, START - 48 * H)


def test_a_client_booking_is_charged_at_booking() -> None:
    assert machine.next_step(book(BookingKind.CLIENT_FOLLOW_UP)) == NextStep(Step.CHARGE, BOOKED)


def test_a_prepaid_session_waits_for_its_end() -> None:
    session = book(BookingKind.INITIAL_PREPAID)
    assert session.status is SessionStatus.PAID
    assert machine.next_step(session) == NextStep(Step.SESSION_END, START + 50 * timedelta(minutes=1))


def test_after_the_end_it_reminds_the_therapist_then_waits_for_ever() -> None:
    session = book(BookingKind.INITIAL_PREPAID)
    machine.end_session(session)
    end = session.end
    assert machine.next_step(session) == NextStep(Step.REMIND, end + 24 * H)
    assert machine.remind(session).fields == {"reminder_number": 1}
    assert machine.next_step(session) == NextStep(Step.REMIND, end + 72 * H)
    machine.remind(session)
    assert machine.next_step(session) == NextStep(Step.REMIND, end + 7 * 24 * H)  # the terms' third
    machine.remind(session)
    assert machine.next_step(session) is None  # nothing is assumed, ever
    assert not machine.is_finished(session)


def test_money_owed_comes_before_any_timer_and_a_refusal_waits_six_hours() -> None:
    session = book(BookingKind.INITIAL_PREPAID)
    cancel(session, Actor.THERAPIST, START - 72 * H)
    assert machine.next_step(session) == NextStep(Step.REFUND, None)
    machine.block(session, "refund: APIConnectionError", START - 72 * H)
    assert machine.next_step(session) == NextStep(Step.RETRY_MONEY, START - 66 * H)
    assert session.payment.blocked_reason == "refund: APIConnectionError"


# ----------------------------------------------------------------------------- charging


def test_a_soft_decline_at_the_due_instant_is_retried_at_minus_24h() -> None:
    session = book()
    charge(session, START - 48 * H, SOFT)
    assert session.status is SessionStatus.PAYMENT_FAILED
    assert machine.next_step(session) == NextStep(Step.CHARGE, START - 24 * H)


def test_a_decision_on_a_clock_behind_the_due_instant_would_retry_at_once() -> None:
    """Why the workflow passes ``max(now, due)``: on the previous task's clock, the −48 h slot
    still looks ahead and the retry lands on it — an immediate second attempt."""
    session = book()
    charge(session, START - 48 * H - SECOND, SOFT)
    assert machine.next_step(session) == NextStep(Step.CHARGE, START - 48 * H)


def test_a_hard_decline_waits_for_a_new_card_then_charges_at_once() -> None:
    session = book()
    notices = charge(session, START - 48 * H, HARD)
    assert notices[0].type is NotificationType.CHARGE_FAILED
    assert notices[0].fields["codes"]["decline_kind"] == "hard"
    assert machine.next_step(session) == NextStep(Step.AUTO_CANCEL, START - H)
    result = commands.update_payment_method(
        session, PaymentMethodUpdate(payment_method_id="pm_new"), START - 40 * H
    )
    assert result.retrying_now
    assert machine.next_step(session) == NextStep(Step.CHARGE, None)


def test_the_same_declined_card_given_again_is_not_retried_off_schedule() -> None:
    session = book()
    charge(session, START - 48 * H, HARD)
    same = PaymentMethodUpdate(payment_method_id="pm_card_visa")
    assert not commands.update_payment_method(session, same, START - 40 * H).retrying_now


def test_a_new_card_is_refused_once_paid_or_started() -> None:
    session = book()
    cancel(session, Actor.THERAPIST, START - 72 * H)
    with pytest.raises(RuleViolation) as refused:
        commands.check_payment_method_update(session, START - 60 * H)
    assert refused.value.code == "nothing_to_charge"
    paid = book()
    charge(paid, START - 48 * H, SUCCEEDED)
    with pytest.raises(RuleViolation) as already:
        commands.check_payment_method_update(paid, START - 47 * H)
    assert already.value.code == "already_paid"


def test_unpaid_at_start_minus_1h_is_cancelled_unpaid_and_both_are_told() -> None:
    session = book()
    charge(session, START - 48 * H, HARD)
    notices = machine.auto_cancel(session)
    assert session.status is SessionStatus.CANCELLED_UNPAID
    assert [n.type for n in notices] == [NotificationType.AUTO_CANCELLED]
    assert machine.next_step(session) == NextStep(Step.VOID, None)  # the open intent goes


def test_an_auto_cancel_taken_late_decides_as_at_its_instant() -> None:
    """Found by `make faults`: a worker down across start − 1 h ran the auto-cancel after the start,
    and the session went ahead unpaid. When a task runs must not change the decision: only a
    charge actually attempted after the start (an outage held it) lets the session go ahead."""
    session = book()
    charge(session, START - 48 * H, HARD)

    # The timer was for START − 1 h; its task runs at START + 5 min. Nothing but the session's
    # own recorded facts may decide.
    notices = machine.auto_cancel(session)

    assert session.status is SessionStatus.CANCELLED_UNPAID
    assert [n.type for n in notices] == [NotificationType.AUTO_CANCELLED]
    assert session.payment.ops_blocked is None


def test_a_webhook_during_the_attempt_settles_it() -> None:
    session = book()
    pending = machine.begin_charge(session, START - 48 * H)
    event = PaymentEvent(
        event_id="evt_1", type="payment_intent.succeeded", payment_intent_id="pi_1", created=START - 48 * H
    )
    assert not machine.apply_payment_event(session, event).notices  # in flight: it reports for itself
    machine.finish_charge(
        session, pending, ChargeResult(outcome=ChargeOutcome.REQUIRES_ACTION, payment_intent_id="pi_1")
    )
    assert session.payment.status is PaymentStatus.PAID
    assert session.status is SessionStatus.PAID


def test_a_repeated_or_late_payment_fact_changes_nothing() -> None:
    session = book()
    charge(
        session, START - 48 * H, ChargeResult(outcome=ChargeOutcome.REQUIRES_ACTION, payment_intent_id="pi_1")
    )
    event = PaymentEvent(
        event_id="evt_1", type="payment_intent.succeeded", payment_intent_id="pi_1", created=START - 47 * H
    )
    first = machine.apply_payment_event(session, event)
    assert first.wakes and [n.sequence for n in first.notices] == ["1-on-session"]
    again = machine.apply_payment_event(session, event)
    assert not again.wakes and not again.notices
    machine.end_session(session)
    other = event.model_copy(update={"event_id": "evt_2"})
    machine.apply_payment_event(session, other)
    assert session.status is SessionStatus.AWAITING_UPDATE


# ----------------------------------------------------------------------------- cancellations


def test_a_client_cancelling_one_second_before_the_deadline_is_free() -> None:
    session = book()
    notice = cancel(session, Actor.CLIENT, START - 48 * H - SECOND)
    assert session.status is SessionStatus.CANCELLED_FREE
    assert notice.fields["codes"]["status"] == "cancelled_free"
    assert machine.is_finished(session)  # nothing charged, nothing to void


def test_a_client_cancelling_at_the_deadline_is_late_and_the_charge_stands() -> None:
    session = book()
    cancel(session, Actor.CLIENT, START - 48 * H)
    assert session.status is SessionStatus.CANCELLED_LATE
    assert machine.next_step(session) == NextStep(Step.CHARGE, START - 48 * H)
    charge(session, START - 48 * H, SUCCEEDED)
    assert machine.refund_due(session) == 0
    assert machine.is_finished(session)


def test_a_waived_late_cancellation_collects_nothing_and_refunds_what_was_taken() -> None:
    unpaid = book()
    cancel(unpaid, Actor.CLIENT, START - 30 * H, submitted_by=Actor.THERAPIST, discretionary_refund=True)
    assert not machine.charge_owed(unpaid)
    paid = book(BookingKind.INITIAL_PREPAID)
    request = CancelRequest(
        requested_by=Actor.CLIENT,
        reason=CancelReason.OTHER,
        submitted_by=Actor.ADMIN,
        discretionary_refund=True,
    )
    result, _ = commands.cancel(paid, request, START - 30 * H, START - 30 * H)
    assert result.refund_minor == PRICE and not result.free and result.discretionary_refund


@pytest.mark.parametrize("by", [Actor.THERAPIST, Actor.ADMIN])
def test_a_therapist_or_admin_cancellation_refunds_in_full(by: Actor) -> None:
    session = book(BookingKind.INITIAL_PREPAID)
    cancel(session, by, START - 2 * H)
    assert session.status is SessionStatus.CANCELLED_BY_THERAPIST
    request = machine.begin_refund(session)
    assert request.target_refunded_minor == PRICE
    result = RefundResult(
        refund_id="re_1", amount_minor=PRICE, refunded_total_minor=PRICE, captured_minor=PRICE
    )
    announcement = machine.apply_refund_result(session, request, result)
    assert announcement == machine.RefundAnnouncement(amount_minor=PRICE, lost_answer=False)
    assert machine.is_finished(session)


def test_a_refund_whose_answer_was_lost_is_still_announced_once() -> None:
    session = book(BookingKind.INITIAL_PREPAID)
    cancel(session, Actor.THERAPIST, START - 2 * H)
    request = machine.begin_refund(session)
    found = RefundResult(refund_id=None, amount_minor=0, refunded_total_minor=PRICE, captured_minor=PRICE)
    announcement = machine.apply_refund_result(session, request, found)
    assert announcement == machine.RefundAnnouncement(amount_minor=PRICE, lost_answer=True)
    machine.announce_refund(session, request, found, PRICE, START - 2 * H)
    assert machine.apply_refund_result(session, request, found) is None


def test_nothing_is_cancelled_or_moved_once_started_or_cancelled() -> None:
    session = book()
    with pytest.raises(RuleViolation) as cancelled_late:
        commands.check_cancel(session, START)
    assert cancelled_late.value.code == "session_started"
    move = RescheduleRequest(requested_by=Actor.CLIENT, new_start=START + 24 * H)
    with pytest.raises(RuleViolation) as moved_late:
        commands.check_reschedule(session, move, START)
    assert moved_late.value.code == "session_started"
    cancel(session, Actor.CLIENT, START - 72 * H)
    with pytest.raises(RuleViolation) as again:
        commands.check_cancel(session, START - 71 * H)
    assert again.value.code == "session_cancelled"


def test_a_void_stripe_will_not_do_blocks_and_a_paid_intent_is_refunded_instead() -> None:
    session = book()
    charge(session, START - 48 * H, HARD)
    cancel(session, Actor.THERAPIST, START - 30 * H)
    assert machine.next_step(session) == NextStep(Step.VOID, None)
    machine.begin_void(session)
    paid_meanwhile = VoidResult(voided=False, payment_intent_id="pi_1", payment_intent_status="succeeded")
    assert machine.apply_void_result(session, paid_meanwhile) is None
    assert machine.next_step(session) == NextStep(Step.REFUND, None)
    stuck = book()
    charge(stuck, START - 48 * H, HARD)
    cancel(stuck, Actor.THERAPIST, START - 30 * H)
    machine.begin_void(stuck)
    processing = VoidResult(voided=False, payment_intent_id="pi_1", payment_intent_status="processing")
    assert machine.apply_void_result(stuck, processing) == "void: payment intent is processing"


# ----------------------------------------------------------------------------- rearrangements


def test_a_paid_session_moved_keeps_its_payment() -> None:
    session = book()
    charge(session, START - 48 * H, SUCCEEDED)
    move = RescheduleRequest(requested_by=Actor.THERAPIST, new_start=START + 7 * 24 * H)
    result = commands.reschedule(session, move, START - 47 * H, START - 47 * H)
    assert result.payment_carried and result.next_charge_at is None
    assert session.end == START + 7 * 24 * H + session.booking.duration


def test_an_unpaid_session_moved_is_charged_48h_before_its_new_start() -> None:
    session = book()
    later = START + 7 * 24 * H
    move = RescheduleRequest(requested_by=Actor.CLIENT, new_start=later)
    assert (
        commands.reschedule(session, move, START - 5 * 24 * H, START - 5 * 24 * H).next_charge_at
        == later - 48 * H
    )


def test_a_clients_late_move_keeps_the_charge_and_a_later_cancellation_is_late() -> None:
    session = book()
    move = RescheduleRequest(requested_by=Actor.CLIENT, new_start=START + 7 * 24 * H)
    commands.reschedule(session, move, START - 40 * H, START - 40 * H)
    assert session.payment.next_charge_at == START - 48 * H  # the charge that was due stays due
    cancel(session, Actor.CLIENT, START - 39 * H)
    assert session.status is SessionStatus.CANCELLED_LATE


def test_a_receipt_stamp_is_trusted_only_a_little_behind_the_clock() -> None:
    now = START - 48 * H + 2 * SECOND
    assert commands.receipt_time(START - 48 * H - SECOND, now) == START - 48 * H - SECOND
    assert commands.receipt_time(now - 6 * 60 * SECOND, now) == now
    assert commands.receipt_time(now + SECOND, now) == now
    assert commands.receipt_time(None, now) == now


# ----------------------------------------------------------------------------- attendance


def paid_and_over() -> Session:
    session = book(BookingKind.INITIAL_PREPAID)
    machine.end_session(session)
    return session


def test_the_attendance_update_is_recorded_then_completes() -> None:
    session = paid_and_over()
    update = AttendanceUpdate(outcome=AttendanceOutcome.ATTENDED)
    attendance.begin_filing(session, update, session.end)
    with pytest.raises(RuleViolation) as twice:
        attendance.check_attendance(session, update, session.end)
    assert twice.value.code == "already_filed"
    plan = attendance.record_attendance(session, update, session.end)
    assert plan.release_slots and plan.follow_up_start is None and not plan.end_relationship
    result = attendance.finish_attendance(
        session, update, plan, AttendanceEffects(released_slot_ids=["slot_a"])
    )
    assert result.slot_released and result.status is SessionStatus.ATTENDED
    assert machine.next_step(session) == NextStep(Step.COMPLETE, None)


def test_a_refused_claim_leaves_the_update_fileable() -> None:
    session = paid_and_over()
    update = AttendanceUpdate(outcome=AttendanceOutcome.ATTENDED, reserve_slot=True)
    attendance.begin_filing(session, update, session.end)
    attendance.abandon_filing(session)
    attendance.check_attendance(session, update, session.end)  # no already_filed


def test_a_waived_no_show_is_refunded() -> None:
    session = paid_and_over()
    update = AttendanceUpdate(outcome=AttendanceOutcome.CLIENT_NO_SHOW, refund=True)
    plan = attendance.record_attendance(session, update, session.end)
    assert attendance.finish_attendance(session, update, plan, AttendanceEffects()).refund_minor == PRICE
    assert machine.next_step(session) == NextStep(Step.REFUND, None)


def test_the_same_time_next_week_follow_up_is_booked_by_the_therapist_on_the_saved_card() -> None:
    session = book()
    charge(session, START - 48 * H, SUCCEEDED)
    machine.end_session(session)
    update = AttendanceUpdate(
        outcome=AttendanceOutcome.ATTENDED, continue_sessions=ContinueChoice.SAME_TIME, client_agreed=True
    )
    plan = attendance.record_attendance(session, update, session.end)
    assert plan.follow_up_start == START + 7 * 24 * H and not plan.release_slots
    follow_up = attendance.follow_up_input(session, plan, session.end)
    assert follow_up.booking.kind is BookingKind.THERAPIST_FOLLOW_UP
    assert follow_up.booking.payment_method_id == "pm_card_visa"
    assert follow_up.booking.previous_session_id == session.session_id


def test_a_slot_cannot_be_reserved_for_a_session_no_slot_can_hold() -> None:
    session = paid_and_over()
    session.booking = session.booking.model_copy(update={"duration_minutes": 10})
    with pytest.raises(RuleViolation) as refused:
        attendance.check_attendance(
            session, AttendanceUpdate(outcome=AttendanceOutcome.ATTENDED, reserve_slot=True), session.end
        )
    assert refused.value.code == "slot_duration_out_of_range"


# ----------------------------------------------------------------------------- the public state


def test_the_public_state_hides_the_machines_own_fields_and_is_detached() -> None:
    session = book()
    session.seen_event_ids.add("evt_1")
    snapshot = session.snapshot()
    assert type(snapshot) is SessionState
    assert "seen_event_ids" not in snapshot.model_dump() and "booking" not in session.model_dump()
    snapshot.payment.amount_paid_minor = PRICE
    assert session.payment.amount_paid_minor == 0


def test_the_auto_cancel_reads_the_payment_first_and_a_payment_that_landed_wins() -> None:
    session = book()
    charge(
        session, START - 48 * H, ChargeResult(outcome=ChargeOutcome.REQUIRES_ACTION, payment_intent_id="pi_1")
    )
    assert machine.next_step(session) == NextStep(Step.AUTO_CANCEL, START - H)
    assert machine.may_have_been_paid(session)
    assert machine.payment_read_request(session).payment_intent_id == "pi_1"
    still_open = PaymentRead(payment_intent_id="pi_1", payment_intent_status="requires_action")
    assert machine.apply_payment_read(session, still_open) == []
    notices = machine.apply_payment_read(
        session, PaymentRead(payment_intent_id="pi_1", payment_intent_status="succeeded")
    )
    assert session.status is SessionStatus.PAID and not machine.charge_owed(session)
    assert [(n.type, n.sequence) for n in notices] == [(NotificationType.CHARGE_SUCCEEDED, "1-on-session")]
    event = PaymentEvent(
        event_id="evt_late", type="payment_intent.succeeded", payment_intent_id="pi_1", created=START - H
    )
    assert machine.apply_payment_event(session, event).notices == []  # the webhook, late: nothing new


def test_a_session_no_payment_could_exist_for_is_auto_cancelled_without_a_read() -> None:
    session = book()
    charge(session, START - 48 * H, HARD.model_copy(update={"payment_intent_id": None}))
    assert not machine.may_have_been_paid(session)


def test_a_cancellation_while_a_payment_is_under_way_says_what_goes_back_if_it_lands() -> None:
    in_flight = book()
    machine.begin_charge(in_flight, START - 48 * H)
    request = CancelRequest(requested_by=Actor.THERAPIST, reason=CancelReason.OTHER)
    result, _ = commands.cancel(in_flight, request, START - 47 * H, START - 47 * H)
    assert result.charge_in_flight and result.refund_minor == 0 and result.refund_when_paid_minor == PRICE

    awaiting_client = book()
    charge(
        awaiting_client,
        START - 48 * H,
        ChargeResult(outcome=ChargeOutcome.REQUIRES_ACTION, payment_intent_id="pi_1"),
    )
    late = CancelRequest(requested_by=Actor.CLIENT, reason=CancelReason.OTHER)
    result, _ = commands.cancel(awaiting_client, late, START - 30 * H, START - 30 * H)
    assert result.charge_kept and result.refund_when_paid_minor == 0  # a late cancellation's charge stands

    nothing_under_way = book()
    free, _ = commands.cancel(nothing_under_way, late, START - 72 * H, START - 72 * H)
    assert free.free and free.refund_when_paid_minor == 0


# ----------------------------------------------------------------------------- Stripe unreachable


def unreachable(session: Session, at: datetime, failure: str = "TimeoutError") -> list[machine.Notice]:
    """A try whose Stripe call got no answer within its whole budget, given up an hour later."""
    pending = machine.begin_charge(session, at)
    return machine.charge_unreachable(session, pending, failure, at + H)


def test_an_outage_uses_no_attempt_tells_nobody_and_is_tried_again_in_5_minutes() -> None:
    session = book()
    due = START - 48 * H

    notices = unreachable(session, due, "APIError")

    assert notices == []
    payment = session.payment
    assert payment.attempts == []
    assert session.status is SessionStatus.PAYMENT_DUE and payment.status is PaymentStatus.PROCESSING
    assert (payment.unreachable_tries, payment.unreachable_since) == (1, due)
    assert payment.unreachable_reason == "APIError"
    assert machine.next_step(session) == NextStep(Step.CHARGE, due + H + 5 * MINUTE)


def test_the_retry_after_an_outage_sends_the_same_key_and_a_decline_then_counts_as_attempt_1() -> None:
    session = book()
    first = machine.begin_charge(session, START - 48 * H)
    machine.charge_unreachable(session, first, "TimeoutError", START - 47 * H)

    again = machine.begin_charge(session, START - 47 * H + 5 * MINUTE)
    notices = machine.finish_charge(session, again, SOFT)

    assert again.request.idempotency_key == first.request.idempotency_key == "session:ses_sim:charge:1"
    assert not again.request.may_have_created_intent
    assert [a.number for a in session.payment.attempts] == [1]
    assert [n.type for n in notices] == [NotificationType.CHARGE_FAILED]  # a real decline is told
    assert session.payment.unreachable_tries == 0 and session.payment.unreachable_since is None
    assert session.payment.next_charge_at == START - 24 * H


def test_outage_retries_back_off_to_every_two_hours() -> None:
    session = book()
    at = START - 48 * H
    gaps = []
    for _ in range(7):
        unreachable(session, at)
        retry = session.payment.next_charge_at
        assert retry is not None
        gaps.append(retry - (at + H))
        at = retry
    assert gaps == [5 * MINUTE, 15 * MINUTE, 30 * MINUTE, H, 2 * H, 2 * H, 2 * H]


def test_the_auto_cancel_waits_while_stripe_is_unreachable() -> None:
    session = book()
    unreachable(session, START - 2 * H)  # given up at start − 1 h: the auto-cancel time

    plan = machine.next_step(session)

    assert plan == NextStep(Step.CHARGE, START - H + 5 * MINUTE)
    assert session.status is SessionStatus.PAYMENT_DUE


def test_past_the_key_reuse_limit_a_new_key_is_used_after_looking_the_intent_up() -> None:
    session = book()
    at = START - 48 * H
    unreachable(session, at)
    limit = session.policy.charge_key_reuse_limit
    assert machine.begin_charge(session, at + limit - SECOND).request.key_generation == 0
    machine.charge_unreachable(session, machine.begin_charge(session, at + limit - SECOND), "x", at + limit)

    late = machine.begin_charge(session, at + limit)

    assert late.request.key_generation == 1
    assert late.request.idempotency_key == "session:ses_sim:charge:1:1"
    assert late.request.may_have_created_intent  # the activity lists the customer's intents first
    machine.charge_unreachable(session, late, "x", at + limit + H)
    assert machine.begin_charge(session, at + limit + 2 * H).request.key_generation == 1  # its own 20 h


def test_a_new_card_during_an_outage_gets_a_new_key_after_the_first_outage_delay() -> None:
    session = book()
    pending = machine.begin_charge(session, START - 48 * H)
    commands.update_payment_method(session, PaymentMethodUpdate(payment_method_id="pm_new"), START - 48 * H)
    machine.charge_unreachable(session, pending, "TimeoutError", START - 47 * H)

    # Never at once: Stripe may still be processing the unanswered create, which a lookup made
    # now would not find — a second PaymentIntent on the new card would follow.
    assert machine.next_step(session) == NextStep(Step.CHARGE, START - 47 * H + 5 * MINUTE)
    retry = machine.begin_charge(session, START - 47 * H + 5 * MINUTE)
    assert retry.request.payment_method_id == "pm_new"
    assert retry.request.key_generation == 1  # the same key with other parameters: Stripe refuses


def test_a_free_cancellation_during_an_outage_voids_whatever_an_unanswered_try_created() -> None:
    session = book(BookingKind.CLIENT_FOLLOW_UP)
    unreachable(session, BOOKED)

    cancel(session, Actor.CLIENT, BOOKED + 2 * H)

    assert session.status is SessionStatus.CANCELLED_FREE
    assert machine.next_step(session) == NextStep(Step.VOID, None)
    assert machine.begin_void(session).payment_intent_id is None  # looked up by its metadata


def test_a_payment_webhook_during_an_outage_tries_again_at_once_and_settles_with_one_notice() -> None:
    session = book()
    unreachable(session, START - 48 * H)
    event = PaymentEvent(
        event_id="evt_1", type="payment_intent.succeeded", payment_intent_id="pi_1", created=START - 47 * H
    )

    outcome = machine.apply_payment_event(session, event)

    assert outcome.wakes and outcome.notices == []
    assert machine.next_step(session) == NextStep(Step.CHARGE, None)
    notices = unreachable(session, START - 47 * H)  # even if Stripe is still flaky for us
    assert session.status is SessionStatus.PAID and session.payment.payment_intent_id == "pi_1"
    assert [(n.type, n.sequence) for n in notices] == [(NotificationType.CHARGE_SUCCEEDED, 1)]


# ----------------------------------------------------------------------------- charge spread


def spread_policy(window: timedelta) -> SessionPolicy:
    return SessionPolicy(charge_spread_window=window)


def test_the_scheduled_charge_is_spread_after_start_minus_48h_never_before() -> None:
    window = 10 * MINUTE
    offsets = {charge_spread_offset(f"ses_{n}", spread_policy(window)) for n in range(200)}

    assert all(timedelta(0) <= offset < window for offset in offsets)
    assert len(offsets) > 150  # spread, not bunched
    assert charge_spread_offset("ses_1", spread_policy(window)) == charge_spread_offset(
        "ses_1", spread_policy(window)
    )
    assert charge_spread_offset("ses_1", spread_policy(timedelta(0))) == timedelta(0)
    assert DEFAULT_POLICY.charge_spread_window == window
    assert SessionPolicy().charge_spread_window == timedelta(0)  # what older histories carry


def test_a_spread_session_is_charged_at_its_offset_and_a_cancel_before_it_is_still_late() -> None:
    policy = spread_policy(10 * MINUTE)
    session = machine.open_session(
        SessionWorkflowInput(booking=book().booking, policy=policy, booked_at=BOOKED), BOOKED
    )
    offset = charge_spread_offset(session.session_id, policy)
    assert offset > SECOND
    assert machine.next_step(session) == NextStep(Step.CHARGE, START - 48 * H + offset)

    cancel(session, Actor.CLIENT, START - 48 * H + offset / 2)

    assert session.status is SessionStatus.CANCELLED_LATE  # 48 h notice is 48 h, spread or not
    assert machine.next_step(session) == NextStep(Step.CHARGE, START - 48 * H + offset)


def test_a_spread_session_moved_is_charged_at_the_same_offset_after_its_new_deadline() -> None:
    policy = spread_policy(10 * MINUTE)
    session = machine.open_session(
        SessionWorkflowInput(booking=book().booking, policy=policy, booked_at=BOOKED), BOOKED
    )
    offset = charge_spread_offset(session.session_id, policy)
    new_start = START + 7 * 24 * H
    commands.reschedule(
        session,
        RescheduleRequest(requested_by=Actor.THERAPIST, new_start=new_start),
        BOOKED + H,
        BOOKED + H,
    )
    assert machine.next_step(session) == NextStep(Step.CHARGE, new_start - 48 * H + offset)


def test_the_spread_window_must_end_before_the_first_retry() -> None:
    with pytest.raises(ValueError, match="charge_spread_window"):
        SessionPolicy(charge_spread_window=24 * H)
    with pytest.raises(ValueError, match="stripe_outage_retry_delays"):
        SessionPolicy(stripe_outage_retry_delays=())


# ----------------------------------------------------------------------------- review of the outage path


def move(session: Session, new_start: datetime, at: datetime, by: Actor = Actor.THERAPIST) -> None:
    commands.reschedule(session, RescheduleRequest(requested_by=by, new_start=new_start), at, at)


def test_a_move_during_an_outage_moves_the_charge_to_the_new_start() -> None:
    session = book()
    unreachable(session, START - 48 * H)  # no answer; tried again at − 47 h + 5 min
    new_start = START + 21 * 24 * H

    move(session, new_start, START - 47 * H + MINUTE)

    # Never before the new start − 48 h: until then the client may still cancel free.
    assert machine.next_step(session) == NextStep(Step.CHARGE, new_start - 48 * H)
    assert session.payment.next_charge_at == new_start - 48 * H


def test_a_move_into_the_window_during_an_outage_keeps_the_outage_retry_time() -> None:
    session = book()
    unreachable(session, START - 48 * H)
    retry = START - 47 * H + 5 * MINUTE

    move(session, START - 10 * H, START - 47 * H + MINUTE)  # new start − 48 h has passed

    assert machine.next_step(session) == NextStep(Step.CHARGE, retry)


def test_a_move_while_an_unanswered_try_was_in_flight_is_followed_when_it_gives_up() -> None:
    session = book()
    pending = machine.begin_charge(session, START - 48 * H)
    new_start = START + 21 * 24 * H
    move(session, new_start, START - 48 * H + MINUTE)  # the try is still in flight: nothing yet

    machine.charge_unreachable(session, pending, "TimeoutError", START - 47 * H)

    assert machine.next_step(session) == NextStep(Step.CHARGE, new_start - 48 * H)


def succeeded(intent: str, at: datetime, n: int = 1) -> PaymentEvent:
    return PaymentEvent(
        event_id=f"evt_{n}", type="payment_intent.succeeded", payment_intent_id=intent, created=at
    )


def test_a_second_payment_of_the_session_is_refunded_in_full_and_announced() -> None:
    session = book()
    charge(session, START - 48 * H, SUCCEEDED.model_copy(update={"payment_intent_id": "pi_2"}))
    assert session.status is SessionStatus.PAID

    # The unanswered try's PaymentIntent went through after all: the client paid twice.
    outcome = machine.apply_payment_event(session, succeeded("pi_1", START - 47 * H))

    assert outcome.wakes
    assert machine.next_step(session) == NextStep(Step.REFUND, None)
    request = machine.begin_refund(session)
    assert request.payment_intent_id == "pi_1" and request.target_refunded_minor == PRICE
    assert request.idempotency_key == "session:ses_sim:refund:pi_1:1"
    result = RefundResult(
        refund_id="re_1", amount_minor=PRICE, refunded_total_minor=PRICE, captured_minor=PRICE
    )
    announced = machine.apply_refund_result(session, request, result)
    assert announced is not None and announced.amount_minor == PRICE
    notice = machine.announce_refund(session, request, result, announced.amount_minor, START - 47 * H)
    assert notice.type is NotificationType.REFUND_ISSUED and notice.fields["amount_minor"] == PRICE
    # The session's own payment is untouched, and nothing more is owed.
    payment = session.payment
    assert (payment.payment_intent_id, payment.amount_paid_minor, payment.amount_refunded_minor) == (
        "pi_2",
        PRICE,
        0,
    )
    assert session.status is SessionStatus.PAID
    assert machine.next_step(session) == NextStep(Step.SESSION_END, session.end)
    # A redelivered or late webhook of it changes nothing.
    machine.apply_payment_event(session, succeeded("pi_1", START - 46 * H, 2))
    assert machine.next_step(session) == NextStep(Step.SESSION_END, session.end)


def test_a_second_payment_reported_while_the_first_charge_was_in_flight_is_refunded() -> None:
    session = book()
    pending = machine.begin_charge(session, START - 48 * H)
    machine.apply_payment_event(session, succeeded("pi_1", START - 48 * H))  # in flight: noted
    machine.finish_charge(session, pending, SUCCEEDED.model_copy(update={"payment_intent_id": "pi_2"}))

    assert machine.next_step(session) == NextStep(Step.REFUND, None)
    assert machine.begin_refund(session).payment_intent_id == "pi_1"


def test_a_decline_after_an_outage_past_the_start_never_cancels_a_session_that_went_ahead() -> None:
    session = book()
    unreachable(session, START - 2 * H)  # tried again at start − 1 h + 5 min, then after the start
    at = START + 10 * MINUTE

    notices = charge(session, at, SOFT)  # Stripe answers at last, after the start: a decline

    assert [n.type for n in notices] == [NotificationType.CHARGE_FAILED]  # told as any decline
    plan = machine.next_step(session)
    assert plan is not None
    if plan.step is Step.AUTO_CANCEL:
        assert machine.auto_cancel(session) == []
        plan = machine.next_step(session)
    assert not session.status.is_cancelled
    assert session.payment.ops_blocked == "unpaid_at_start"  # ops and the therapist see it
    assert plan == NextStep(Step.SESSION_END, session.end)
    machine.end_session(session)
    attendance.check_attendance(session, AttendanceUpdate(outcome=AttendanceOutcome.ATTENDED), session.end)


def test_outage_retries_stop_some_hours_after_the_end_and_the_session_awaits_its_update() -> None:
    session = book()
    at = START - 48 * H
    for _ in range(200):
        plan = machine.next_step(session)
        assert plan is not None
        if plan.step is not Step.CHARGE:
            break
        at = plan.at or at
        unreachable(session, at)
    else:
        pytest.fail("outage retries never stop")
    payment = session.payment
    assert payment.ops_blocked == "stripe_unreachable"
    assert payment.next_charge_at is None
    assert at <= session.end + session.policy.stripe_outage_retry_limit_after_end
    assert plan == NextStep(Step.SESSION_END, session.end)
    machine.end_session(session)
    assert session.status is SessionStatus.AWAITING_UPDATE  # the update can be filed


def test_a_request_stripe_refused_is_never_told_as_a_card_decline() -> None:
    session = book()
    refused = machine.refused_charge("IdempotencyError")

    notices = charge(session, START - 48 * H, refused)

    assert notices == []  # ops see it (the workflow logs an ERROR); the client is told nothing
    [attempt] = session.payment.attempts
    assert (attempt.outcome, attempt.code) == (ChargeOutcome.FAILED, "IdempotencyError")
    assert machine.next_step(session) == NextStep(Step.CHARGE, START - 24 * H)  # tried again
    # Histories from before the rule replay the notice they sent.
    told = book()
    pending = machine.begin_charge(told, START - 48 * H)
    assert [n.type for n in machine.finish_charge(told, pending, refused, tell_refusals=True)] == [
        NotificationType.CHARGE_FAILED
    ]
