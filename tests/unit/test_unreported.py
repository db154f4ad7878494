"""A session whose attendance update never comes (``domain.unreported``): when it closes as
``unreported``, what happens to its money, and which update still wins — at unit speed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from domain import session as machine
from domain import session_attendance as attendance
from domain.attendance import AttendanceOutcome, AttendanceUpdate
from domain.booking import SessionBooking
from domain.errors import RuleViolation
from domain.notifications import Audience, NotificationType
from domain.policy import DEFAULT_POLICY, DEFAULT_UNREPORTED_AFTER, SessionPolicy
from domain.session import NextStep, Session, Step
from domain.session_attendance import AttendanceEffects, NoShowRequest
from domain.state import PaymentLedger, SessionWorkflowInput
from domain.status import BookingKind, PaymentStatus, SessionStatus
from domain.unreported import (
    UnreportedMoney,
    check_update_in_time,
    unreported_deadline,
    unreported_money,
    update_in_time,
)
from settings import Settings

H = timedelta(hours=1)
DAY = timedelta(days=1)
MICROSECOND = timedelta(microseconds=1)
LONDON = ZoneInfo("Europe/London")
# Ends on 24 October 2027 at 18:50 London (BST); 30 days later London is on GMT.
START = datetime(2027, 10, 24, 18, 0, tzinfo=LONDON)
ATTENDED = AttendanceUpdate(outcome=AttendanceOutcome.ATTENDED)


def paid_and_over(policy: SessionPolicy = DEFAULT_POLICY) -> Session:
    """A session paid at checkout whose end has passed, with every reminder sent."""
    booking = SessionBooking(
        session_id="ses_unrep",
        therapist_id="thr_unrep",
        client_id="cli_unrep",
        kind=BookingKind.INITIAL_PREPAID,
        start=START,
        amount_minor=6000,
        currency="gbp",
        stripe_customer_id="cus_unrep",
        prepaid_payment_intent_id="pi_unrep",
        client_agreed=True,
    )
    booked_at = START - 10 * DAY
    session = machine.open_session(
        SessionWorkflowInput(booking=booking, policy=policy, booked_at=booked_at), booked_at
    )
    machine.end_session(session)
    for _ in policy.attendance_reminder_offsets:
        machine.remind(session)
    return session


# ----------------------------------------------------------------------------- the deadline


def test_the_deadline_is_thirty_days_of_elapsed_time_after_the_end_by_default() -> None:
    end = START + 50 * timedelta(minutes=1)
    deadline = unreported_deadline(end, DEFAULT_POLICY)
    assert DEFAULT_UNREPORTED_AFTER == 30 * DAY
    # 30 × 24 h after 17:50 UTC, whatever London's clocks did in between (BST ended on 31 October).
    assert deadline == datetime(2027, 11, 23, 17, 50, tzinfo=UTC)
    assert deadline is not None and deadline.astimezone(LONDON).hour == 17  # 18:50 BST → 17:50 GMT


def test_a_policy_recorded_before_the_rule_has_no_deadline() -> None:
    recorded = SessionPolicy.model_validate(SessionPolicy().model_dump(exclude={"unreported_after"}))
    assert recorded.unreported_after is None
    assert unreported_deadline(START, recorded) is None
    assert update_in_time(START, START + 1000 * DAY, recorded)


def test_the_deadline_must_come_after_the_last_reminder() -> None:
    with pytest.raises(ValidationError, match="later than the last attendance reminder"):
        SessionPolicy(unreported_after=7 * DAY)  # the third reminder is at + 7 days
    assert SessionPolicy(unreported_after=7 * DAY + H).unreported_after == 7 * DAY + H


def test_the_deadline_is_configured_in_days_and_fixed_into_the_policy_booked_with() -> None:
    assert Settings().session_policy.unreported_after == 30 * DAY
    policy = Settings(unreported_after_days=45).session_policy
    assert policy.unreported_after == 45 * DAY
    assert policy.model_dump(exclude={"unreported_after"}) == DEFAULT_POLICY.model_dump(
        exclude={"unreported_after"}
    )
    with pytest.raises(ValidationError):
        Settings(unreported_after_days=7)  # not after the last reminder


def test_an_update_received_a_microsecond_before_the_deadline_is_in_time_and_at_it_is_late() -> None:
    end = START + 50 * timedelta(minutes=1)
    deadline = unreported_deadline(end, DEFAULT_POLICY)
    assert deadline is not None
    assert update_in_time(end, deadline - MICROSECOND, DEFAULT_POLICY)
    assert not update_in_time(end, deadline, DEFAULT_POLICY)  # the instant itself is late
    with pytest.raises(RuleViolation) as late:
        check_update_in_time(end, deadline, DEFAULT_POLICY)
    assert late.value.code == "attendance_window_closed"


# ----------------------------------------------------------------------------- the money


def test_a_paid_session_closed_unreported_keeps_its_charge() -> None:
    paid = PaymentLedger(amount_minor=6000, currency="gbp", status=PaymentStatus.PAID, amount_paid_minor=6000)
    assert unreported_money(paid) is UnreportedMoney.CHARGE_KEPT


def test_a_session_that_went_ahead_unpaid_is_left_with_ops() -> None:
    unpaid = PaymentLedger(
        amount_minor=6000, currency="gbp", status=PaymentStatus.DECLINED_SOFT, ops_blocked="unpaid_at_start"
    )
    assert unreported_money(unpaid) is UnreportedMoney.LEFT_TO_OPS


# ----------------------------------------------------------------------------- the session


def test_after_the_last_reminder_the_session_waits_for_the_deadline_then_closes_unreported() -> None:
    session = paid_and_over()
    deadline = session.end.astimezone(UTC) + 30 * DAY
    assert machine.next_step(session) == NextStep(Step.CLOSE_UNREPORTED, deadline)

    assert machine.close_unreported(session, deadline - MICROSECOND) == []  # not yet
    [notice] = machine.close_unreported(session, deadline)

    assert session.status is SessionStatus.UNREPORTED
    assert notice.type is NotificationType.SESSION_UNREPORTED and notice.audience is Audience.THERAPIST
    assert notice.fields["codes"] == {"attendance": "unreported", "money": "charge_kept"}
    assert notice.fields["amount_minor"] == 6000
    assert session.payment.status is PaymentStatus.PAID and session.payment.amount_refunded_minor == 0
    assert machine.refund_due(session) == 0
    assert machine.is_finished(session)
    assert machine.next_step(session) is None


def test_a_session_booked_before_the_rule_still_waits_for_ever() -> None:
    session = paid_and_over(SessionPolicy())
    assert machine.next_step(session) is None
    assert machine.close_unreported(session, session.end + 10_000 * DAY) == []
    assert session.status is SessionStatus.AWAITING_UPDATE and not machine.is_finished(session)


def test_an_update_received_a_microsecond_before_the_deadline_wins_over_the_close() -> None:
    session = paid_and_over()
    deadline = session.end.astimezone(UTC) + 30 * DAY
    attendance.begin_filing(session, ATTENDED, deadline - MICROSECOND)
    # The deadline's timer fires while the update claims its time at the practice: nothing closes,
    # and the session waits for the update (no timer spins at a deadline already past).
    assert machine.close_unreported(session, deadline) == []
    assert machine.next_step(session) is None
    plan = attendance.record_attendance(session, ATTENDED, deadline - MICROSECOND)
    attendance.finish_attendance(session, ATTENDED, plan, AttendanceEffects())
    assert machine.next_step(session) == NextStep(Step.COMPLETE, None)
    machine.complete(session)
    assert session.status is SessionStatus.COMPLETED


def test_an_update_received_at_the_deadline_is_refused() -> None:
    session = paid_and_over()
    deadline = session.end.astimezone(UTC) + 30 * DAY
    with pytest.raises(RuleViolation) as late:
        attendance.check_attendance(session, ATTENDED, deadline)
    assert late.value.code == "attendance_window_closed"
    with pytest.raises(RuleViolation) as late_mark:
        attendance.check_no_show(session, NoShowRequest(), deadline)
    assert late_mark.value.code == "attendance_window_closed"


def test_an_update_stamped_in_time_but_reaching_a_closed_session_is_refused() -> None:
    session = paid_and_over()
    deadline = session.end.astimezone(UTC) + 30 * DAY
    machine.close_unreported(session, deadline)
    with pytest.raises(RuleViolation) as closed:
        attendance.check_attendance(session, ATTENDED, deadline - MICROSECOND)
    assert closed.value.code == "attendance_window_closed"


def test_a_filing_the_practice_refused_after_the_deadline_lets_the_close_happen() -> None:
    session = paid_and_over()
    deadline = session.end.astimezone(UTC) + 30 * DAY
    attendance.begin_filing(session, ATTENDED, deadline - MICROSECOND)
    assert not machine.unreported_due(session, deadline)
    attendance.abandon_filing(session)
    assert machine.unreported_due(session, deadline)
    assert machine.next_step(session) == NextStep(Step.CLOSE_UNREPORTED, deadline)


def test_a_client_marked_as_not_attending_closes_as_a_no_show_with_its_charge() -> None:
    session = paid_and_over()
    attendance.mark_no_show(session, NoShowRequest(), session.start + 10 * timedelta(minutes=1))
    deadline = session.end.astimezone(UTC) + 30 * DAY
    assert machine.next_step(session) == NextStep(Step.CLOSE_UNREPORTED, deadline)

    [notice] = machine.close_unreported(session, deadline)

    assert session.status is SessionStatus.CLIENT_NO_SHOW  # what the therapist said stays
    assert notice.fields["codes"] == {"attendance": "client_no_show", "money": "charge_kept"}
    assert machine.is_finished(session)


def test_a_refund_granted_while_awaiting_the_update_is_paid_before_the_close() -> None:
    from domain import session_commands as commands
    from domain.refunds import SessionRefund
    from domain.status import RefundReason

    session = paid_and_over()
    commands.refund(
        session, SessionRefund(reason=RefundReason.GOODWILL, amount_minor=1000), session.end, None
    )
    assert machine.next_step(session) == NextStep(Step.REFUND, None)  # money first, then the deadline


# ----------------------------------------------------------------------------- where it shows


def test_the_unreported_status_is_offered_by_the_api_the_ops_cli_and_the_visibility_queries() -> None:
    from typer.testing import CliRunner

    from api.app import create_app
    from contract.visibility import awaiting_update_query, sessions_reading_as
    from domain.payment_facts import PAID_OR_LATER
    from ops.cli import app

    schemas = create_app().openapi()["components"]["schemas"]
    assert "unreported" in schemas["SessionStatus"]["enum"]
    help_text = CliRunner().invoke(app, ["sessions", "list", "--help"], env={"COLUMNS": "300"}).output
    assert "unreported" in help_text
    now = datetime(2027, 12, 1, tzinfo=UTC)
    assert sessions_reading_as(SessionStatus.UNREPORTED, now).endswith("SessionStatus = 'unreported'")
    # Closed: never in the therapist's Awaiting Updates list, which lists running sessions only.
    assert "ExecutionStatus = 'Running'" in awaiting_update_query("thr_1", now)
    assert SessionStatus.UNREPORTED in PAID_OR_LATER  # a webhook for its own payment is known
