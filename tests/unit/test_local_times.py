"""Both parties' time zones (issue 12 §2): a notification gives the start in the client's and the
therapist's zone, and flags when the client's local clock time differs from their previous
session's — a weekly London chain seen from New York, where the clocks change on other Sundays.

Dates from the pinned tzdata (2026f): New York springs forward on 8 March 2026 and 14 March 2027,
London on 29 March 2026 and 28 March 2027; London falls back on 25 October 2026 and 31 October
2027, New York on 1 November 2026 and 7 November 2027.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from domain.local_times import (
    booking_terms,
    client_local_time_changed,
    local_start,
    notice_code,
    session_times,
)
from domain.policy import DEFAULT_POLICY, SessionPolicy, cancellation_deadline, is_free_cancellation
from domain.slots import resolve_local

LONDON = "Europe/London"
NEW_YORK = "America/New_York"


def london_18(day: date) -> datetime:
    """The therapist's weekly 18:00 in London on ``day`` (as the weekly chain books it)."""
    return resolve_local(day, time(18, 0), LONDON)


def new_york_clock(start: datetime) -> time:
    return local_start(start, NEW_YORK).time()


def weekly_chain(first: date, weeks: int) -> list[datetime]:
    return [london_18(first + timedelta(weeks=n)) for n in range(weeks)]


# ── spring: New York moves first ─────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("year", "thursdays", "new_york_times"),
    [
        (
            2026,
            # 5 Mar: both on winter time; 12-26 Mar: New York on summer time, London not yet; 2 Apr: both.
            [date(2026, 3, 5), date(2026, 3, 12), date(2026, 3, 19), date(2026, 3, 26), date(2026, 4, 2)],
            [time(13), time(14), time(14), time(14), time(13)],
        ),
        (
            2027,
            [date(2027, 3, 11), date(2027, 3, 18), date(2027, 3, 25), date(2027, 4, 1)],
            [time(13), time(14), time(14), time(13)],
        ),
    ],
    ids=["2026", "2027"],
)
def test_a_london_18_00_is_14_00_in_new_york_between_the_two_spring_changes(
    year: int, thursdays: list[date], new_york_times: list[time]
) -> None:
    starts = [london_18(day) for day in thursdays]

    assert [local_start(start, LONDON).time() for start in starts] == [time(18)] * len(starts)
    assert [new_york_clock(start) for start in starts] == new_york_times


def test_the_client_is_told_their_clock_time_moved_in_the_spring_weeks_and_back_again() -> None:
    chain = weekly_chain(date(2026, 3, 5), 5)  # Thursdays 5 March … 2 April 2026

    flags = [client_local_time_changed(chain[0], None, NEW_YORK)] + [
        client_local_time_changed(start, previous, NEW_YORK) for previous, start in pairwise(chain)
    ]

    # 12 March: 13:00 → 14:00 (New York changed); 19, 26 March: 14:00 again; 2 April: back to 13:00.
    assert flags == [None, True, False, False, True]


def test_the_therapist_in_london_sees_no_change_when_only_new_york_moves() -> None:
    chain = weekly_chain(date(2026, 3, 5), 5)

    assert [client_local_time_changed(b, a, LONDON) for a, b in pairwise(chain)] == [False] * 4


# ── autumn: London moves first ───────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("thursdays", "new_york_times", "flags"),
    [
        # 22 Oct 2026: both on summer time; 29 Oct: London on winter time, New York not yet; 5 Nov: both.
        (
            [date(2026, 10, 22), date(2026, 10, 29), date(2026, 11, 5)],
            [time(13), time(14), time(13)],
            [True, True],
        ),
        (
            [date(2027, 10, 28), date(2027, 11, 4), date(2027, 11, 11)],
            [time(13), time(14), time(13)],
            [True, True],
        ),
    ],
    ids=["2026", "2027"],
)
def test_a_london_18_00_is_14_00_in_new_york_between_the_two_autumn_changes(
    thursdays: list[date], new_york_times: list[time], flags: list[bool]
) -> None:
    starts = [london_18(day) for day in thursdays]

    assert [new_york_clock(start) for start in starts] == new_york_times
    assert [client_local_time_changed(b, a, NEW_YORK) for a, b in pairwise(starts)] == flags


def test_a_chain_clear_of_both_changes_never_flags_a_change() -> None:
    chain = weekly_chain(date(2026, 6, 4), 8)

    assert {client_local_time_changed(b, a, NEW_YORK) for a, b in pairwise(chain)} == {False}


def test_the_same_zone_for_both_parties_never_flags_a_weekly_chain() -> None:
    chain = weekly_chain(date(2026, 3, 5), 40)  # through both 2026 changes

    assert {client_local_time_changed(b, a, LONDON) for a, b in pairwise(chain)} == {False}


# ── the fields a notification carries ────────────────────────────────────────────────────────


def test_a_notification_gives_the_start_in_utc_and_as_each_partys_local_time_with_its_offset() -> None:
    start = london_18(date(2026, 3, 12))
    previous = london_18(date(2026, 3, 5))

    times = session_times(start, client_timezone=NEW_YORK, therapist_timezone=LONDON, previous_start=previous)

    assert times.start == datetime(2026, 3, 12, 18, 0, tzinfo=UTC) and times.start.utcoffset() == timedelta(0)
    assert times.start_local_client.isoformat() == "2026-03-12T14:00:00-04:00"
    assert times.start_local_therapist.isoformat() == "2026-03-12T18:00:00+00:00"
    assert times.client_timezone == NEW_YORK and times.therapist_timezone == LONDON
    assert times.client_local_time_changed is True
    # The JSON a backend reads: ISO-8601 local date-times with their offsets.
    dumped = times.model_dump(mode="json")
    assert dumped["start_local_client"] == "2026-03-12T14:00:00-04:00"
    assert dumped["start_local_therapist"] == "2026-03-12T18:00:00Z"  # Z: offset +00:00 that day


def test_without_a_previous_session_the_change_flag_is_null() -> None:
    times = session_times(london_18(date(2026, 3, 12)), client_timezone=NEW_YORK, therapist_timezone=LONDON)

    assert times.client_local_time_changed is None


def test_local_times_refuse_naive_instants_and_unknown_zones() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        session_times(datetime(2026, 3, 12, 18), client_timezone=NEW_YORK, therapist_timezone=LONDON)
    with pytest.raises(ValueError, match="unknown IANA time zone"):
        session_times(london_18(date(2026, 3, 12)), client_timezone="Mars/Base", therapist_timezone=LONDON)


# ── the booking terms: the charge date and the 48-hour policy ────────────────────────────────


def test_free_cancellation_lasts_until_exactly_48_hours_before_the_start_as_the_cancellation_rule_says() -> (
    None
):
    start = london_18(date(2026, 3, 31))  # across London's spring change: 48 h is elapsed time
    terms = booking_terms(start, charge_at=start - timedelta(hours=48))

    assert terms.free_cancellation_until == datetime(2026, 3, 29, 17, 0, tzinfo=UTC)
    assert terms.free_cancellation_until == cancellation_deadline(start)
    assert is_free_cancellation(start, terms.free_cancellation_until - timedelta(seconds=1))
    assert not is_free_cancellation(start, terms.free_cancellation_until)
    assert terms.cancellation_policy == "48h"
    assert terms.charge_at == datetime(2026, 3, 29, 17, 0, tzinfo=UTC)


def test_a_session_with_nothing_to_charge_states_no_charge_date() -> None:
    assert booking_terms(london_18(date(2026, 5, 7)), charge_at=None).charge_at is None


def test_the_policy_code_follows_the_configured_notice() -> None:
    policy = SessionPolicy(free_cancellation_notice=timedelta(hours=24))

    assert booking_terms(london_18(date(2026, 5, 7)), None, policy).cancellation_policy == "24h"
    assert notice_code(timedelta(minutes=90)) == "90m"
    assert notice_code(DEFAULT_POLICY.free_cancellation_notice) == "48h"


def test_local_start_keeps_the_instant() -> None:
    start = london_18(date(2026, 10, 29))

    assert local_start(start, NEW_YORK) == start
    assert local_start(start, NEW_YORK).tzinfo == ZoneInfo(NEW_YORK)
