"""A weekly time that does not exist on the spring-forward night (or exists twice on the autumn
one): the session that night is held at the shifted instant, and "same time next week" and a
reservation made from it keep the weekly time it stands for, in London and New York.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from domain import session as machine
from domain import session_attendance as attendance
from domain import session_commands
from domain.attendance import AttendanceOutcome, AttendanceUpdate, ContinueChoice
from domain.booking import SessionBooking
from domain.commands import RescheduleRequest
from domain.session import Session
from domain.slots import resolve_local
from domain.state import SessionWorkflowInput
from domain.status import Actor, BookingKind

LONDON, NEW_YORK = "Europe/London", "America/New_York"


def session_at(zone: str, day: date, weekly: time, *, stands_for: time | None = None) -> Session:
    start = resolve_local(day, weekly, zone)
    booking = SessionBooking(
        session_id="ses_dst",
        therapist_id="thr_dst",
        client_id="cli_dst",
        kind=BookingKind.THERAPIST_FOLLOW_UP,
        start=start,
        therapist_timezone=zone,
        amount_minor=6000,
        currency="gbp",
        stripe_customer_id="cus_dst",
        payment_method_id="pm_card_visa",
        client_agreed=True,
        wall_clock_start=stands_for,
    )
    booked_at = start - timedelta(days=5)
    session = machine.open_session(SessionWorkflowInput(booking=booking, booked_at=booked_at), booked_at)
    machine.end_session(session)  # paid or not, the attendance rules here only read the times
    return session


SAME_TIME = AttendanceUpdate(
    outcome=AttendanceOutcome.ATTENDED, continue_sessions=ContinueChoice.SAME_TIME, client_agreed=True
)
KEEP_SLOT = AttendanceUpdate(outcome=AttendanceOutcome.ATTENDED, reserve_slot=True)


@pytest.mark.parametrize(
    ("zone", "gap_night", "weekly", "held_at_utc", "next_week_utc"),
    [
        # 2027-03-28 London: 01:00 GMT -> 02:00 BST; 01:30 is held at 02:30 BST.
        (LONDON, date(2027, 3, 28), time(1, 30), datetime(2027, 3, 28, 1, 30, tzinfo=UTC),
         datetime(2027, 4, 4, 0, 30, tzinfo=UTC)),
        # 2027-03-14 New York: 02:00 EST -> 03:00 EDT; 02:30 is held at 03:30 EDT.
        (NEW_YORK, date(2027, 3, 14), time(2, 30), datetime(2027, 3, 14, 7, 30, tzinfo=UTC),
         datetime(2027, 3, 21, 6, 30, tzinfo=UTC)),
    ],
)  # fmt: skip
def test_from_the_spring_forward_night_next_week_is_the_weekly_time_again(
    zone: str, gap_night: date, weekly: time, held_at_utc: datetime, next_week_utc: datetime
) -> None:
    session = session_at(zone, gap_night, weekly, stands_for=weekly)
    assert session.start == held_at_utc  # the shifted instant, as the slot's occurrence is

    assert attendance.follow_up_start(session, SAME_TIME) == next_week_utc
    plan = attendance.record_attendance(session, SAME_TIME, session.end)
    follow_up = attendance.follow_up_input(session, plan, session.end).booking
    assert follow_up.start == next_week_utc and follow_up.wall_clock_start is None  # not shifted

    rule = attendance.reserved_slot_rule(session_at(zone, gap_night, weekly, stands_for=weekly), KEEP_SLOT)
    assert rule is not None and rule.local_time == weekly and rule.weekday == 6


@pytest.mark.parametrize(
    ("zone", "week_before", "weekly"),
    [(LONDON, date(2027, 3, 21), time(1, 30)), (NEW_YORK, date(2027, 3, 7), time(2, 30))],
)
def test_a_follow_up_landing_in_the_gap_remembers_the_time_it_stands_for(
    zone: str, week_before: date, weekly: time
) -> None:
    session = session_at(zone, week_before, weekly)
    plan = attendance.record_attendance(session, SAME_TIME, session.end)
    follow_up = attendance.follow_up_input(session, plan, session.end).booking
    assert follow_up.start == resolve_local(week_before + timedelta(days=7), weekly, zone)  # shifted
    assert follow_up.wall_clock_start == weekly

    after = session_at(zone, week_before + timedelta(days=7), weekly, stands_for=follow_up.wall_clock_start)
    assert attendance.follow_up_start(after, SAME_TIME) == resolve_local(
        week_before + timedelta(days=14), weekly, zone
    )


@pytest.mark.parametrize(
    ("zone", "fold_night", "weekly"),
    [(LONDON, date(2027, 10, 31), time(1, 30)), (NEW_YORK, date(2027, 11, 7), time(1, 30))],
)
def test_the_repeated_hour_of_the_autumn_night_keeps_the_weekly_time(
    zone: str, fold_night: date, weekly: time
) -> None:
    session = session_at(zone, fold_night, weekly)  # the first of the two 01:30s
    next_week = attendance.follow_up_start(session, SAME_TIME)
    assert next_week == resolve_local(fold_night + timedelta(days=7), weekly, zone)
    rule = attendance.reserved_slot_rule(session, KEEP_SLOT)
    assert rule is not None and rule.local_time == weekly


def test_a_weekly_time_the_start_does_not_stand_for_is_refused() -> None:
    with pytest.raises(ValueError, match="wall_clock_start must be the start's own"):
        session_at(LONDON, date(2027, 3, 21), time(1, 30), stands_for=time(2, 30))


def test_a_moved_session_stands_for_its_new_time() -> None:
    session = session_at(LONDON, date(2027, 3, 28), time(1, 30), stands_for=time(1, 30))
    session.status = machine.initial_status(session.booking)
    new_start = resolve_local(date(2027, 3, 28), time(18, 0), LONDON)
    move = RescheduleRequest(requested_by=Actor.THERAPIST, new_start=new_start)
    session_commands.reschedule(session, move, new_start - timedelta(days=4), new_start - timedelta(days=4))
    assert attendance.weekly_time(session) == time(18, 0)
