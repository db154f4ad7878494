"""Issue 13's lean lifecycle in the session machine: no step of its own at the end, the first
reminder ends it, a late payment fact finds it ended, and reads derive ``awaiting_update``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain import session as machine
from domain.payments import ChargeOutcome, ChargeResult
from domain.session import NextStep, Session, Step
from domain.status import BookingKind, SessionStatus, status_as_of
from tests.unit.session_sim import open_session

H = timedelta(hours=1)
SECOND = timedelta(seconds=1)
START = datetime(2027, 3, 28, 0, 30, tzinfo=UTC)  # the night London's clocks go forward
BOOKED = START - 10 * 24 * H


def lean(kind: BookingKind = BookingKind.THERAPIST_FOLLOW_UP) -> Session:
    session = open_session(kind, START, BOOKED)
    session.lean = True
    return session


def paid(session: Session) -> Session:
    pending = machine.begin_charge(session, START - 48 * H)
    machine.finish_charge(
        session, pending, ChargeResult(outcome=ChargeOutcome.SUCCEEDED, payment_intent_id="pi_1")
    )
    return session


def test_a_paid_lean_session_sleeps_from_its_charge_to_its_first_reminder() -> None:
    session = paid(lean())
    assert session.status is SessionStatus.PAID
    assert machine.next_step(session) == NextStep(Step.REMIND, session.end + 24 * H)


def test_a_session_from_before_still_takes_a_step_at_its_end() -> None:
    session = paid(open_session(BookingKind.THERAPIST_FOLLOW_UP, START, BOOKED))
    assert machine.next_step(session) == NextStep(Step.SESSION_END, session.end)


def test_the_first_reminder_of_a_lean_session_is_also_its_end() -> None:
    session = paid(lean())
    notice = machine.remind(session)
    assert session.status is SessionStatus.AWAITING_UPDATE
    assert notice.fields == {"reminder_number": 1}
    assert machine.next_step(session) == NextStep(Step.REMIND, session.end + 72 * H)


def test_a_prepaid_lean_session_waits_for_its_first_reminder_too() -> None:
    session = lean(BookingKind.INITIAL_PREPAID)
    assert machine.next_step(session) == NextStep(Step.REMIND, session.end + 24 * H)


def test_a_payment_fact_after_the_end_finds_a_lean_session_ended() -> None:
    session = paid(lean())
    machine.catch_up_end(session, session.end - SECOND)
    before = session.status
    machine.catch_up_end(session, session.end)
    assert (before, session.status) == (SessionStatus.PAID, SessionStatus.AWAITING_UPDATE)  # at the end


def test_catching_up_leaves_sessions_from_before_and_cancelled_ones_alone() -> None:
    old = paid(open_session(BookingKind.THERAPIST_FOLLOW_UP, START, BOOKED))
    machine.catch_up_end(old, old.end + H)
    assert old.status is SessionStatus.PAID
    cancelled = lean()
    cancelled.status = SessionStatus.CANCELLED_FREE
    machine.catch_up_end(cancelled, cancelled.end + H)
    assert cancelled.status is SessionStatus.CANCELLED_FREE


def test_a_read_shows_a_scheduled_or_paid_session_past_its_end_as_awaiting_its_update() -> None:
    end = START + 50 * timedelta(minutes=1)
    for status in (SessionStatus.PAID, SessionStatus.SCHEDULED):
        assert status_as_of(status, end, end - SECOND) is status
        assert status_as_of(status, end, end) is SessionStatus.AWAITING_UPDATE  # at the end exactly
    for status in (SessionStatus.CANCELLED_LATE, SessionStatus.ATTENDED, SessionStatus.PAYMENT_FAILED):
        assert status_as_of(status, end, end + H) is status
