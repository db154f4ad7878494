"""README rule 1: a client cancellation is free iff ``received_at < start − 48 h`` (elapsed time).

The instant ``start − 48 h`` itself is late. "48 hours" is elapsed time, so across a daylight
saving change the deadline is *not* the same wall-clock time two days earlier.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.policy import SessionPolicy, cancellation_deadline, is_free_cancellation

LONDON = ZoneInfo("Europe/London")
NOTICE = timedelta(hours=48)
SECOND = timedelta(seconds=1)
MICROSECOND = timedelta(microseconds=1)

# Europe/London in 2027: clocks forward at 01:00 UTC on 28 March, back at 01:00 UTC on 31 October.
SPRING_FORWARD = datetime(2027, 3, 28, 1, 0, tzinfo=UTC)
FALL_BACK = datetime(2027, 10, 31, 1, 0, tzinfo=UTC)


def elapsed(later: datetime, earlier: datetime) -> timedelta:
    """``later − earlier`` in elapsed time, whatever the zones (Python's ``-`` is wall-clock
    arithmetic when both share one ZoneInfo)."""
    return later.astimezone(UTC) - earlier.astimezone(UTC)


def naive_two_days_earlier(start: datetime) -> datetime:
    """The wrong reading of the rule: the same local wall clock two calendar days earlier."""
    return start.replace(tzinfo=None) - timedelta(days=2)


# ------------------------------------------------------------------------- the exact boundary


SUMMER_START = datetime(2027, 6, 15, 10, 0, tzinfo=LONDON)


@pytest.mark.parametrize(
    ("notice", "free"),
    [
        pytest.param(NOTICE, False, id="exactly-48h-is-late"),
        pytest.param(NOTICE + SECOND, True, id="48h+1s-is-free"),
        pytest.param(NOTICE - SECOND, False, id="48h-1s-is-late"),
        pytest.param(NOTICE + MICROSECOND, True, id="48h+1us-is-free"),
        pytest.param(NOTICE - MICROSECOND, False, id="48h-1us-is-late"),
        pytest.param(timedelta(days=30), True, id="a-month-ahead-is-free"),
        pytest.param(timedelta(minutes=5), False, id="five-minutes-before-is-late"),
        pytest.param(timedelta(0), False, id="at-start-is-late"),
        pytest.param(-timedelta(hours=1), False, id="after-start-is-late"),
    ],
)
def test_cancellation_is_free_only_with_strictly_more_than_48_hours_notice(
    notice: timedelta, free: bool
) -> None:
    received_at = SUMMER_START.astimezone(UTC) - notice
    assert is_free_cancellation(SUMMER_START, received_at) is free
    # The same instant written in the therapist's zone or another zone decides the same way.
    assert is_free_cancellation(SUMMER_START, received_at.astimezone(LONDON)) is free
    assert is_free_cancellation(SUMMER_START, received_at.astimezone(ZoneInfo("Asia/Tokyo"))) is free


def test_deadline_is_the_first_late_instant_48_elapsed_hours_before_start() -> None:
    deadline = cancellation_deadline(SUMMER_START)
    assert elapsed(SUMMER_START, deadline) == NOTICE
    assert not is_free_cancellation(SUMMER_START, deadline)
    assert is_free_cancellation(SUMMER_START, deadline - MICROSECOND)


def test_policy_notice_is_respected_at_its_own_boundary() -> None:
    policy = SessionPolicy(free_cancellation_notice=timedelta(hours=24))
    received_at = SUMMER_START - timedelta(hours=24)
    assert not is_free_cancellation(SUMMER_START, received_at, policy)
    assert is_free_cancellation(SUMMER_START, received_at - SECOND, policy)
    # 30 hours' notice is late under the default policy but free under a 24-hour one.
    assert is_free_cancellation(SUMMER_START, SUMMER_START - timedelta(hours=30), policy)
    assert not is_free_cancellation(SUMMER_START, SUMMER_START - timedelta(hours=30))


# ------------------------------------------------------------------ property: any zone, any instant

aware_instants = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.timezones()
)
notices = st.timedeltas(min_value=-timedelta(days=5), max_value=timedelta(days=5))
near_boundary = st.integers(min_value=-5_000_000, max_value=5_000_000).map(
    lambda micros: NOTICE + timedelta(microseconds=micros)
)


@settings(max_examples=300)
@given(start=aware_instants, notice=st.one_of(notices, near_boundary), other_zone=st.timezones())
def test_free_cancellation_matches_the_elapsed_time_definition_in_every_zone(
    start: datetime, notice: timedelta, other_zone: tzinfo
) -> None:
    received_utc = start.astimezone(UTC) - notice
    expected = elapsed(start, received_utc) > NOTICE
    # received_at in UTC, in the start's own zone (same tzinfo object: the wall-clock trap), and
    # in an unrelated zone must all give the elapsed-time answer.
    for received_at in (
        received_utc,
        received_utc.astimezone(start.tzinfo),
        received_utc.astimezone(other_zone),
    ):
        assert is_free_cancellation(start, received_at) is expected


@settings(max_examples=300)
@given(start=aware_instants, zone=st.timezones())
def test_deadline_is_always_exactly_48_elapsed_hours_before_start(start: datetime, zone: tzinfo) -> None:
    deadline = cancellation_deadline(start)
    assert elapsed(start, deadline) == NOTICE
    assert not is_free_cancellation(start, deadline.astimezone(zone))
    assert not is_free_cancellation(start, (deadline + MICROSECOND).astimezone(start.tzinfo))
    assert is_free_cancellation(start, (deadline - MICROSECOND).astimezone(start.tzinfo))


def _offset_changes(zone: ZoneInfo, year: int) -> list[datetime]:
    """UTC hours in ``year`` at which ``zone``'s UTC offset changes (its DST transitions)."""
    hour = datetime(year, 1, 1, tzinfo=UTC)
    changes = []
    previous = hour.astimezone(zone).utcoffset()
    while hour.year == year:
        hour += timedelta(hours=1)
        offset = hour.astimezone(zone).utcoffset()
        if offset != previous:
            changes.append(hour)
        previous = offset
    return changes


DST_ZONES = [
    "Europe/London",
    "Europe/Dublin",  # "negative" DST in the zone database
    "America/New_York",
    "America/Santiago",
    "Australia/Lord_Howe",  # 30-minute DST shift
    "Pacific/Chatham",
    "America/St_Johns",
]
DST_CHANGES = [
    (ZoneInfo(key), change) for key in DST_ZONES for change in _offset_changes(ZoneInfo(key), 2027)
]


def test_every_sampled_zone_has_dst_changes_in_2027() -> None:
    zones_with_changes = {zone.key for zone, _ in DST_CHANGES}
    assert zones_with_changes == set(DST_ZONES)
    assert (LONDON, SPRING_FORWARD) in DST_CHANGES
    assert (LONDON, FALL_BACK) in DST_CHANGES


@settings(max_examples=300)
@given(
    change=st.sampled_from(DST_CHANGES),
    start_after_change=st.integers(min_value=-72 * 3600, max_value=72 * 3600),
    notice_seconds=st.integers(min_value=40 * 3600, max_value=56 * 3600),
)
def test_dst_change_inside_the_window_never_shifts_the_48_hour_boundary(
    change: tuple[ZoneInfo, datetime], start_after_change: int, notice_seconds: int
) -> None:
    zone, changed_at = change
    start = (changed_at + timedelta(seconds=start_after_change)).astimezone(zone)
    received_at = (start.astimezone(UTC) - timedelta(seconds=notice_seconds)).astimezone(zone)
    assert is_free_cancellation(start, received_at) is (notice_seconds > 48 * 3600)
    assert elapsed(start, cancellation_deadline(start)) == NOTICE


# --------------------------------------------------------------------- Europe/London DST in 2027

# Sessions whose 48-hour window contains the change: the deadline is 48 elapsed hours earlier, which
# on the local clock is an hour away from "the same time two days earlier".
STRADDLING = [
    pytest.param(
        datetime(2027, 3, 29, 18, 0, tzinfo=LONDON),
        datetime(2027, 3, 27, 17, 0, tzinfo=LONDON),
        id="spring-forward-evening",
    ),
    pytest.param(
        datetime(2027, 3, 29, 9, 0, tzinfo=LONDON),
        datetime(2027, 3, 27, 8, 0, tzinfo=LONDON),
        id="spring-forward-morning",
    ),
    pytest.param(
        datetime(2027, 11, 1, 18, 0, tzinfo=LONDON),
        datetime(2027, 10, 30, 19, 0, tzinfo=LONDON),
        id="fall-back-evening",
    ),
    pytest.param(
        datetime(2027, 11, 1, 9, 0, tzinfo=LONDON),
        datetime(2027, 10, 30, 10, 0, tzinfo=LONDON),
        id="fall-back-morning",
    ),
]


@pytest.mark.parametrize(("start", "expected_deadline"), STRADDLING)
def test_deadline_across_a_dst_change_is_48_elapsed_hours_not_the_same_wall_clock(
    start: datetime, expected_deadline: datetime
) -> None:
    window = (cancellation_deadline(start).astimezone(UTC), start.astimezone(UTC))
    assert window[0] < SPRING_FORWARD < window[1] or window[0] < FALL_BACK < window[1]

    deadline = cancellation_deadline(start)
    assert elapsed(start, deadline) == NOTICE
    assert deadline == expected_deadline
    local_deadline = deadline.astimezone(LONDON).replace(tzinfo=None)
    assert abs(local_deadline - naive_two_days_earlier(start)) == timedelta(hours=1)


@pytest.mark.parametrize(("start", "expected_deadline"), STRADDLING)
def test_boundary_across_a_dst_change_holds_to_the_second_on_the_local_clock(
    start: datetime, expected_deadline: datetime
) -> None:
    # received_at written on the therapist's local clock, sharing the start's tzinfo object: the
    # comparison must still be in elapsed time.
    local_deadline = expected_deadline.astimezone(LONDON)
    one_second_early = (local_deadline.astimezone(UTC) - SECOND).astimezone(LONDON)
    one_second_late = (local_deadline.astimezone(UTC) + SECOND).astimezone(LONDON)
    assert is_free_cancellation(start, one_second_early)
    assert not is_free_cancellation(start, local_deadline)
    assert not is_free_cancellation(start, one_second_late)


def test_same_wall_clock_two_days_before_a_spring_forward_session_is_late() -> None:
    # 17:59:59 on 27 March is only 47 h 00 min 01 s before 18:00 BST on 29 March.
    start = datetime(2027, 3, 29, 18, 0, tzinfo=LONDON)
    received_at = datetime(2027, 3, 27, 17, 59, 59, tzinfo=LONDON)
    assert elapsed(start, received_at) == timedelta(hours=47, seconds=1)
    assert not is_free_cancellation(start, received_at)


def test_after_wall_clock_two_days_before_a_fall_back_session_is_still_free() -> None:
    # 18:30 BST on 30 October is 48 h 30 min before 18:00 GMT on 1 November.
    start = datetime(2027, 11, 1, 18, 0, tzinfo=LONDON)
    received_at = datetime(2027, 10, 30, 18, 30, tzinfo=LONDON)
    assert elapsed(start, received_at) == timedelta(hours=48, minutes=30)
    assert is_free_cancellation(start, received_at)


def test_window_without_a_dst_change_keeps_the_local_wall_clock() -> None:
    start = datetime(2027, 3, 31, 9, 0, tzinfo=LONDON)  # both ends in BST
    deadline = cancellation_deadline(start)
    assert deadline.astimezone(LONDON).replace(tzinfo=None) == naive_two_days_earlier(start)


def test_session_in_the_repeated_hour_uses_the_instant_chosen_by_fold() -> None:
    # 01:30 on 31 October 2027 happens twice in London: BST (fold=0) then GMT (fold=1).
    first = datetime(2027, 10, 31, 1, 30, tzinfo=LONDON, fold=0)
    second = datetime(2027, 10, 31, 1, 30, tzinfo=LONDON, fold=1)
    assert elapsed(second, first) == timedelta(hours=1)
    assert elapsed(cancellation_deadline(second), cancellation_deadline(first)) == timedelta(hours=1)
    received_at = datetime(2027, 10, 29, 0, 59, tzinfo=UTC)  # 48 h 31 min before the second
    assert is_free_cancellation(second, received_at)
    assert not is_free_cancellation(first, received_at)


# -------------------------------------------------------------------------------- naive times


class _NoOffset(tzinfo):
    def utcoffset(self, dt: datetime | None) -> None:
        return None

    def dst(self, dt: datetime | None) -> None:
        return None

    def tzname(self, dt: datetime | None) -> None:
        return None


@pytest.mark.parametrize(
    ("start", "received_at"),
    [
        pytest.param(datetime(2027, 6, 15, 10, 0), datetime(2027, 6, 1, tzinfo=UTC), id="naive-start"),
        pytest.param(SUMMER_START, datetime(2027, 6, 1), id="naive-received"),
        pytest.param(datetime(2027, 6, 15), datetime(2027, 6, 1), id="both-naive"),
        pytest.param(
            datetime(2027, 6, 15, tzinfo=_NoOffset()),
            datetime(2027, 6, 1, tzinfo=UTC),
            id="tz-without-offset",
        ),
    ],
)
def test_naive_datetimes_are_refused(start: datetime, received_at: datetime) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        is_free_cancellation(start, received_at)


def test_naive_start_has_no_deadline() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        cancellation_deadline(datetime(2027, 6, 15, 10, 0))
