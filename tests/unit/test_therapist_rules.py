"""Issue 12 §5 as pure rules: refunds in part and in full never above what was captured; a no-show
marked from the start stays one; a therapist's manual booking (inside the window, or dated in the
past); a client's own booking needs the policy's notice (24 h by default, at least 2 h)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from domain import refunds as rules
from domain import session as machine
from domain import session_attendance as attendance
from domain import session_commands as commands
from domain.attendance import AttendanceOutcome, AttendanceUpdate
from domain.booking import SessionBooking, check_booking
from domain.commands import CancelRequest
from domain.errors import RULE_CODES, RuleViolation
from domain.notifications import Audience, Channel
from domain.payments import ChargeOutcome, ChargeResult, RefundResult
from domain.policy import DEFAULT_POLICY, SessionPolicy, first_charge_at
from domain.refunds import SessionRefund
from domain.session import Session, Step
from domain.session_attendance import NoShowRequest
from domain.status import Actor, BookingKind, CancelReason, PaymentStatus, RefundReason, SessionStatus
from tests.unit.session_sim import PRICE, open_session
from tests.unit.test_notification_catalogue import validate

H = timedelta(hours=1)
NO_SHOW = AttendanceUpdate(outcome=AttendanceOutcome.CLIENT_NO_SHOW)
START = datetime(2027, 6, 15, 17, 0, tzinfo=UTC)
BOOKED = START - 10 * 24 * H
PAID = ChargeResult(outcome=ChargeOutcome.SUCCEEDED, payment_intent_id="pi_1")


def paid_session() -> Session:
    session = open_session(BookingKind.THERAPIST_FOLLOW_UP, START, BOOKED)
    at = START - 48 * H
    machine.finish_charge(session, machine.begin_charge(session, at), PAID)
    assert session.payment.status is PaymentStatus.PAID
    return session


def refund(amount: int | None = None, by: Actor = Actor.THERAPIST) -> SessionRefund:
    return SessionRefund(reason=RefundReason.GOODWILL, amount_minor=amount, requested_by=by)


def booking(kind: BookingKind, start: datetime, **fields: object) -> SessionBooking:
    return SessionBooking.model_validate(
        {
            "session_id": "ses_1",
            "therapist_id": "thr_1",
            "client_id": "cli_1",
            "kind": kind,
            "start": start,
            "amount_minor": PRICE,
            "currency": "gbp",
            "stripe_customer_id": "cus_1",
            "payment_method_id": "pm_card_visa",
            "client_agreed": kind.booked_by_therapist,
            **fields,
        }
    )


# ----------------------------------------------------------------------------- refunds


def test_a_therapist_refunds_part_of_a_paid_session_and_the_main_loop_pays_it() -> None:
    session = paid_session()

    result = commands.refund(session, refund(1500), START - 40 * H)

    assert (result.amount_minor, result.refunded_total_minor, result.refundable_minor) == (1500, 1500, 4500)
    assert machine.refund_due(session) == 1500
    assert machine.next_step(session) == machine.NextStep(Step.REFUND, None)
    assert machine.begin_refund(session).target_refunded_minor == 1500


def test_refunds_never_exceed_what_was_captured() -> None:
    session = paid_session()
    commands.refund(session, refund(2000), START)
    commands.refund(session, refund(3000), START)  # partial refunds add up: 5000 of 6000

    with pytest.raises(RuleViolation) as refused:
        commands.check_session_refund(session, refund(1001))
    last = commands.refund(session, refund(), START)  # no amount: all that is left

    assert refused.value.code == "refund_exceeds_captured" and "1000" in refused.value.message
    assert last.amount_minor == 1000 and last.refundable_minor == 0
    assert machine.refund_target(session) == PRICE
    with pytest.raises(RuleViolation) as nothing_left:
        commands.check_session_refund(session, refund(1))
    assert nothing_left.value.code == "refund_exceeds_captured"


def test_a_refund_after_a_full_cancellation_refund_is_refused() -> None:
    session = paid_session()
    request = CancelRequest(requested_by=Actor.THERAPIST, reason=CancelReason.ILLNESS)
    commands.cancel(session, request, START - 30 * H, START - 30 * H)

    with pytest.raises(RuleViolation) as refused:
        commands.check_session_refund(session, refund(100))

    assert refused.value.code == "refund_exceeds_captured"


def test_a_late_cancellation_can_be_refunded_in_part_afterwards() -> None:
    session = paid_session()
    request = CancelRequest(requested_by=Actor.CLIENT, reason=CancelReason.CLIENT_REQUEST)
    commands.cancel(session, request, START - 10 * H, START - 10 * H)
    assert session.status is SessionStatus.CANCELLED_LATE and machine.refund_due(session) == 0

    commands.refund(session, refund(3000), START + 24 * H)

    assert machine.refund_due(session) == 3000 and not machine.is_finished(session)


def test_nothing_captured_nothing_to_refund_and_a_client_may_not_refund() -> None:
    unpaid = open_session(BookingKind.THERAPIST_FOLLOW_UP, START, BOOKED)
    with pytest.raises(RuleViolation) as nothing:
        commands.check_session_refund(unpaid, refund(100))
    with pytest.raises(RuleViolation) as client:
        commands.check_session_refund(paid_session(), refund(100, by=Actor.CLIENT))
    assert (nothing.value.code, client.value.code) == ("nothing_captured", "not_allowed")


def test_a_refund_reason_is_a_code_never_free_text() -> None:
    with pytest.raises(ValidationError):
        SessionRefund.model_validate({"reason": "client was upset about her diagnosis"})
    with pytest.raises(ValidationError):
        SessionRefund.model_validate({"reason": "goodwill", "amount_minor": 0})


def test_the_attendance_updates_refund_takes_an_amount_within_what_was_captured() -> None:
    session = paid_session()
    ended = START + 2 * H
    machine.end_session(session)
    update = AttendanceUpdate(outcome=AttendanceOutcome.CLIENT_NO_SHOW, refund=True, refund_amount_minor=2500)
    too_much = update.model_copy(update={"refund_amount_minor": PRICE + 1})

    with pytest.raises(RuleViolation) as refused:
        attendance.check_attendance(session, too_much, ended)
    attendance.record_attendance(session, update, ended)

    assert refused.value.code == "refund_exceeds_captured"
    assert machine.refund_target(session) == 2500
    with pytest.raises(ValidationError):  # an amount without a refund contradicts itself
        AttendanceUpdate(outcome=AttendanceOutcome.ATTENDED, refund_amount_minor=100)


# ----------------------------------------------------------------------------- no-show


def test_a_no_show_is_marked_from_the_start_and_stays_after_it_completes() -> None:
    session = paid_session()
    with pytest.raises(RuleViolation) as early:
        attendance.check_no_show(session, NoShowRequest(), START - timedelta(seconds=1))
    attendance.mark_no_show(session, NoShowRequest(), START)
    # The end passes: still a no-show, and the attendance update is reminded of.
    assert machine.next_step(session) == machine.NextStep(Step.REMIND, session.end + 24 * H)

    with pytest.raises(RuleViolation) as contradicted:
        attendance.check_attendance(session, AttendanceUpdate(outcome=AttendanceOutcome.ATTENDED), START + H)
    attendance.record_attendance(
        session, AttendanceUpdate(outcome=AttendanceOutcome.CLIENT_NO_SHOW), START + H
    )
    session.attendance_result = attendance.finish_attendance(
        session,
        AttendanceUpdate(outcome=AttendanceOutcome.CLIENT_NO_SHOW),
        _plan(),
        attendance.AttendanceEffects(),
    )
    machine.complete(session)

    assert early.value.code == "session_not_started"
    assert contradicted.value.code == "no_show_marked"
    assert session.status is SessionStatus.CLIENT_NO_SHOW and machine.is_finished(session)


def test_histories_from_before_the_rule_complete_a_no_show_as_completed() -> None:
    session = paid_session()
    machine.end_session(session)
    attendance.record_attendance(
        session, AttendanceUpdate(outcome=AttendanceOutcome.CLIENT_NO_SHOW), START + H
    )
    machine.complete(session, keep_no_show=False)
    assert session.status is SessionStatus.COMPLETED and machine.is_finished(session)


def test_only_a_therapist_or_admin_marks_a_no_show_of_a_live_session() -> None:
    session = paid_session()
    with pytest.raises(RuleViolation) as client:
        attendance.check_no_show(session, NoShowRequest(requested_by=Actor.CLIENT), START + H)
    request = CancelRequest(requested_by=Actor.CLIENT, reason=CancelReason.CLIENT_REQUEST)
    commands.cancel(session, request, START - H, START - H)
    with pytest.raises(RuleViolation) as cancelled:
        attendance.check_no_show(session, NoShowRequest(), START + H)
    assert (client.value.code, cancelled.value.code) == ("not_allowed", "session_cancelled")


def _plan() -> attendance.AttendancePlan:
    return attendance.AttendancePlan(
        follow_up_start=None,
        follow_up_weekly_time=None,
        release_slots=False,
        end_relationship=False,
        cancel_future_sessions=False,
    )


# ----------------------------------------------------------------------------- manual bookings


def test_a_manual_booking_needs_the_clients_agreement() -> None:
    with pytest.raises(ValidationError):
        booking(BookingKind.THERAPIST_MANUAL, START, client_agreed=False)
    assert booking(BookingKind.THERAPIST_MANUAL, START).booked_by is Actor.THERAPIST


def test_a_therapist_books_a_session_inside_the_window_and_it_is_charged_at_once() -> None:
    now = START - 10 * H
    check_booking(booking(BookingKind.THERAPIST_MANUAL, START), now)
    assert first_charge_at(BookingKind.THERAPIST_MANUAL, START, now) == now
    ahead = START - 5 * 24 * H
    assert first_charge_at(BookingKind.THERAPIST_MANUAL, START, ahead) == START - 48 * H


def test_a_therapists_manual_session_may_be_past_dated_within_the_limit_and_is_charged_at_once() -> None:
    now = START + 3 * 24 * H
    check_booking(booking(BookingKind.THERAPIST_MANUAL, START), now)
    assert first_charge_at(BookingKind.THERAPIST_MANUAL, START, now) == now
    with pytest.raises(RuleViolation) as too_far:
        check_booking(booking(BookingKind.THERAPIST_MANUAL, START), START + 15 * 24 * H)
    assert too_far.value.code == "start_too_far_back"


@pytest.mark.parametrize("kind", [BookingKind.CLIENT_FOLLOW_UP, BookingKind.THERAPIST_FOLLOW_UP])
def test_no_other_booking_is_past_dated(kind: BookingKind) -> None:
    with pytest.raises(RuleViolation) as refused:
        check_booking(booking(kind, START), START + H)
    assert refused.value.code == "start_in_past"


# ----------------------------------------------------------------------------- client notice


def test_a_client_booking_needs_24_hours_notice() -> None:
    client = booking(BookingKind.CLIENT_FOLLOW_UP, START)
    check_booking(client, START - 24 * H)
    with pytest.raises(RuleViolation) as refused:
        check_booking(client, START - 24 * H + timedelta(seconds=1))
    assert refused.value.code == "notice_too_short" and "24 hours" in refused.value.message
    assert "notice_too_short" in RULE_CODES


def test_a_therapists_booking_is_not_bound_by_the_clients_notice() -> None:
    for kind in (BookingKind.THERAPIST_FOLLOW_UP, BookingKind.THERAPIST_MANUAL):
        check_booking(booking(kind, START), START - H)


def test_the_clients_notice_can_be_reduced_to_2_hours_never_below_nor_above_24() -> None:
    two_hours = SessionPolicy(client_min_notice=2 * H)
    check_booking(booking(BookingKind.CLIENT_FOLLOW_UP, START), START - 2 * H, two_hours)
    with pytest.raises(RuleViolation):
        check_booking(
            booking(BookingKind.CLIENT_FOLLOW_UP, START), START - 2 * H + timedelta(seconds=1), two_hours
        )
    for wrong in (H, 25 * H):
        with pytest.raises(ValidationError):
            SessionPolicy(client_min_notice=wrong)
    assert DEFAULT_POLICY.client_min_notice == 24 * H


# ----------------------------------------------------------------------------- after the close


def closed_with_a_refund() -> rules.ClosedSessionRefunds:
    session = paid_session()
    commands.refund(session, refund(1000), START)
    request = machine.begin_refund(session)
    machine.apply_refund_result(
        session,
        request,
        RefundResult(refund_id="re_1", amount_minor=1000, refunded_total_minor=1000, captured_minor=PRICE),
    )
    return rules.ClosedSessionRefunds.of_closed_session(session.snapshot(), START + 2 * H)


def test_a_closed_sessions_refunds_carry_on_from_its_ledger() -> None:
    closed = closed_with_a_refund()
    assert (closed.refunded_at_close, closed.grants_at_close, closed.refund_due()) == (1000, 1, 0)

    granted = rules.grant_closed_refund(closed, refund(2000), START + 30 * 24 * H)
    request = rules.begin_closed_refund(closed)

    assert (granted.grant_number, granted.refunded_total_minor, granted.refundable_minor) == (2, 3000, 3000)
    # Its Stripe key and event id follow the session's first refund: never one of the session's.
    assert request.refund_number == 2 and request.target_refunded_minor == 3000
    result = RefundResult(
        refund_id="re_2", amount_minor=2000, refunded_total_minor=3000, captured_minor=PRICE
    )
    assert rules.apply_closed_refund_result(closed, request, result) == 2000
    notice = rules.refund_issued(closed, request, result, 2000, START + 30 * 24 * H)
    assert notice.event_id == "ses_sim:refund_issued:2" and notice.amount_minor == 2000
    # The same answer again (a retry after a lost answer) announces nothing more.
    assert rules.apply_closed_refund_result(closed, request, result) == 0


def test_a_closed_session_is_refunded_at_most_what_was_captured_and_only_within_the_period() -> None:
    closed = closed_with_a_refund()
    with pytest.raises(RuleViolation) as too_much:
        rules.check_closed_refund(closed, refund(5001), START + H)
    with pytest.raises(RuleViolation) as too_late:
        rules.check_closed_refund(closed, refund(100), closed.closes_at)
    assert too_much.value.code == "refund_exceeds_captured"
    assert too_late.value.code == "refund_window_closed"
    assert closed.closes_at == START + 2 * H + rules.REFUND_PERIOD_AFTER_CLOSE


def test_a_refund_granted_after_one_made_in_stripes_dashboard_comes_on_top_of_it() -> None:
    session = paid_session()
    session.payment.amount_refunded_minor = 1000  # charge.refunded: someone refunded in the dashboard

    result = commands.refund(session, refund(2000), START)

    assert (result.refunded_total_minor, result.refundable_minor) == (3000, 3000)
    assert machine.refund_target(session) == 3000 and machine.refund_due(session) == 2000


def test_a_refund_after_the_session_closed_is_told_to_the_client_alone_as_its_schema_says() -> None:
    closed = closed_with_a_refund()
    rules.grant_closed_refund(closed, refund(2000), START + 30 * 24 * H)
    request = rules.begin_closed_refund(closed)
    result = RefundResult(
        refund_id="re_2", amount_minor=2000, refunded_total_minor=3000, captured_minor=PRICE
    )
    rules.apply_closed_refund_result(closed, request, result)

    notice = rules.refund_issued(closed, request, result, 2000, START + 30 * 24 * H)

    assert notice.audience is Audience.CLIENT and notice.channel is Channel.EMAIL
    assert notice.start == START and notice.start_local_client is not None
    validate(notice)  # the published docs/notifications/schemas/refund_issued.json
