"""The unreported close and a charge held at the session's start (review 15 finding 8).

A session whose charge was still held when it started (the therapist's connected account paused:
``HELD_AT_START``) goes ahead and is charged automatically once the account can charge again
(``resume_held``). Its attendance update may never come; closing it at the unreported deadline
would lose that charge for good, so the deadline does not close it: it waits for the resume (then
is charged and closes unreported at once, the charge kept) or for the attendance update, which it
still takes. Every other session's close is unchanged."""

from __future__ import annotations

from datetime import datetime

from domain import session as machine
from domain import session_attendance as attendance
from domain.attendance import AttendanceOutcome, AttendanceUpdate
from domain.payments import AccountChargesFact
from domain.policy import DEFAULT_POLICY
from domain.session import NextStep, Step
from domain.state import SessionWorkflowInput
from domain.status import PaymentStatus, SessionStatus
from domain.unreported import UnreportedMoney, unreported_deadline
from tests.unit.test_held_charge import ACCOUNT, BOOKED, HELD, PAID, START, H, held_booking

ENABLED = AccountChargesFact(account_id=ACCOUNT, charges_enabled=True)


def held_at_start_and_unreported() -> tuple[machine.Session, datetime]:
    """A session held at its start, ended, reminded three times: its deadline is next."""
    booking = held_booking()
    session = machine.open_session(
        SessionWorkflowInput(booking=booking, booked_at=BOOKED, policy=DEFAULT_POLICY), BOOKED
    )
    at = START + 1 * H
    machine.hold_charge(session, machine.begin_charge(session, at), HELD, at)
    assert machine.cancel_held(session, at) == []
    assert session.payment.ops_blocked == machine.HELD_AT_START
    machine.end_session(session)
    for _ in session.policy.attendance_reminder_offsets:
        machine.remind(session)
    deadline = unreported_deadline(session.end, session.policy)
    assert deadline is not None
    return session, deadline


def test_a_session_held_at_its_start_is_not_closed_unreported_while_its_charge_waits() -> None:
    session, deadline = held_at_start_and_unreported()
    # The deadline's timer is still planned (the same command as any session's) ...
    assert machine.next_step(session) == NextStep(Step.CLOSE_UNREPORTED, deadline)

    # ... but at it the session does not close: it waits for the resume, and ops are told once.
    assert machine.close_unreported(session, deadline) == []
    assert machine.defer_unreported(session, deadline)
    assert not machine.defer_unreported(session, deadline + H)  # told once
    assert not session.closed and session.status is SessionStatus.AWAITING_UPDATE
    assert machine.next_step(session) is None  # only the resume or the update moves it now


def test_a_held_session_past_its_deadline_is_charged_on_resume_then_closes_with_the_charge_kept() -> None:
    session, deadline = held_at_start_and_unreported()
    machine.defer_unreported(session, deadline)
    late = deadline + 20 * 24 * H

    assert machine.resume_held(session, ENABLED)
    assert machine.next_step(session) == NextStep(Step.CHARGE, None)
    pending = machine.begin_charge(session, late)
    machine.finish_charge(session, pending, PAID)
    assert session.payment.status is PaymentStatus.PAID

    # Paid, it ends again at once (its end is long past), as any charge resumed after the end ...
    assert machine.next_step(session) == NextStep(Step.SESSION_END, session.end)
    machine.end_session(session)
    # ... and its deadline, long past too, closes it now: the charge kept.
    assert machine.next_step(session) == NextStep(Step.CLOSE_UNREPORTED, deadline)
    [notice] = machine.close_unreported(session, late)
    assert session.closed and session.status is SessionStatus.UNREPORTED
    assert notice.fields["codes"]["money"] == UnreportedMoney.CHARGE_KEPT.value
    assert notice.fields["amount_minor"] == 6000


def test_a_held_session_past_its_deadline_still_takes_its_attendance_update() -> None:
    session, deadline = held_at_start_and_unreported()
    machine.defer_unreported(session, deadline)
    update = AttendanceUpdate(outcome=AttendanceOutcome.ATTENDED)
    attendance.check_attendance(session, update, deadline + 24 * H)  # not attendance_window_closed


def test_a_session_that_went_ahead_unpaid_for_another_reason_still_closes_left_to_ops() -> None:
    session, deadline = held_at_start_and_unreported()
    session.payment.ops_blocked = "unpaid_at_start"  # an outage at the start, not a paused account
    assert not machine.defer_unreported(session, deadline)
    [notice] = machine.close_unreported(session, deadline)
    assert session.closed and session.status is SessionStatus.UNREPORTED
    assert notice.fields["codes"]["money"] == UnreportedMoney.LEFT_TO_OPS.value
