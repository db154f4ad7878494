"""Reserved slots keep their wall-clock time across DST and never overlap one another (README rule 9)."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from domain.errors import RuleViolation
from domain.slots import (
    WeeklySlotRule,
    check_no_conflict,
    occurrences,
    resolve_local,
    rules_overlap,
    same_time_next_week,
)

LONDON_NAME = "Europe/London"
NEW_YORK_NAME = "America/New_York"
LONDON = ZoneInfo(LONDON_NAME)
NEW_YORK = ZoneInfo(NEW_YORK_NAME)
MONDAY, TUESDAY, WEDNESDAY, THURSDAY, FRIDAY, SATURDAY, SUNDAY = range(7)
WEEK = timedelta(days=7)
HOUR = timedelta(hours=1)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def rule(weekday: int, hour: int, minute: int = 0, duration: int = 50) -> WeeklySlotRule:
    return WeeklySlotRule(weekday=weekday, local_time=time(hour, minute), duration_minutes=duration)


# --- resolve_local: DST vectors --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "local_time", "zone", "expected_utc", "expected_local"),
    [
        # London 2027-03-28: 01:00 GMT -> 02:00 BST; 01:30 does not exist.
        (date(2027, 3, 28), time(1, 30), LONDON_NAME, utc(2027, 3, 28, 1, 30), time(2, 30)),
        # London 2027-10-31: 02:00 BST -> 01:00 GMT; 01:30 happens twice, first one is BST.
        (date(2027, 10, 31), time(1, 30), LONDON_NAME, utc(2027, 10, 31, 0, 30), time(1, 30)),
        # New York 2027-03-14: 02:00 EST -> 03:00 EDT; 02:30 does not exist.
        (date(2027, 3, 14), time(2, 30), NEW_YORK_NAME, utc(2027, 3, 14, 7, 30), time(3, 30)),
        # New York 2027-11-07: 02:00 EDT -> 01:00 EST; 01:30 repeated, first one is EDT.
        (date(2027, 11, 7), time(1, 30), NEW_YORK_NAME, utc(2027, 11, 7, 5, 30), time(1, 30)),
    ],
    ids=["london-gap", "london-fold", "new-york-gap", "new-york-fold"],
)
def test_resolve_local_shifts_gaps_forward_and_takes_the_first_of_a_fold(
    day: date, local_time: time, zone: str, expected_utc: datetime, expected_local: time
) -> None:
    resolved = resolve_local(day, local_time, zone)
    assert resolved == expected_utc
    assert resolved.tzinfo is UTC
    local = resolved.astimezone(ZoneInfo(zone))
    assert (local.date(), local.time()) == (day, expected_local)
    assert local.fold == 0


def test_the_first_instance_of_a_fold_is_an_hour_before_the_second() -> None:
    first = resolve_local(date(2027, 10, 31), time(1, 30), LONDON_NAME)
    second = datetime(2027, 10, 31, 1, 30, tzinfo=LONDON, fold=1).astimezone(UTC)
    assert second - first == HOUR
    # Asking with fold=1 still yields the first instance: the rule, not the caller's flag, decides.
    assert resolve_local(date(2027, 10, 31), time(1, 30, fold=1), LONDON_NAME) == first


def test_resolve_local_on_an_ordinary_day_uses_that_days_offset() -> None:
    assert resolve_local(date(2027, 1, 12), time(18, 0), LONDON_NAME) == utc(2027, 1, 12, 18, 0)
    assert resolve_local(date(2027, 7, 13), time(18, 0), LONDON_NAME) == utc(2027, 7, 13, 17, 0)
    assert resolve_local(date(2027, 7, 13), time(18, 0), NEW_YORK_NAME) == utc(2027, 7, 13, 22, 0)


@pytest.mark.parametrize("zone", ["Mars/Olympus", "Europe", "", "../etc/passwd", "europe/london"])
def test_unknown_zone_is_refused_with_a_clear_message(zone: str) -> None:
    with pytest.raises(ValueError, match="unknown IANA time zone"):
        resolve_local(date(2027, 1, 1), time(18, 0), zone)
    with pytest.raises(ValueError, match="unknown IANA time zone"):
        occurrences(rule(MONDAY, 18), zone, date(2027, 1, 1), date(2027, 1, 2))
    with pytest.raises(ValueError, match="unknown IANA time zone"):
        same_time_next_week(utc(2027, 1, 1, 18), zone)
    with pytest.raises(ValueError, match="unknown IANA time zone"):
        WeeklySlotRule.from_start(utc(2027, 1, 1, 18), zone, 50)


def test_resolve_local_refuses_a_time_with_an_offset() -> None:
    with pytest.raises(ValueError, match="naive"):
        resolve_local(date(2027, 1, 1), time(18, 0, tzinfo=UTC), LONDON_NAME)


# --- occurrences -----------------------------------------------------------------------------------


def test_weekly_london_slot_keeps_18_00_local_from_march_to_november() -> None:
    slot = rule(THURSDAY, 18)
    found = occurrences(slot, LONDON_NAME, date(2027, 3, 1), date(2027, 11, 30))

    thursdays = [
        date(2027, 3, 4) + WEEK * k for k in range(40) if date(2027, 3, 4) + WEEK * k <= date(2027, 11, 30)
    ]
    assert len(found) == len(thursdays) == 39
    for (start, end), thursday in zip(found, thursdays, strict=True):
        local = start.astimezone(LONDON)
        assert (local.date(), local.time()) == (thursday, time(18, 0))
        summer = date(2027, 3, 28) <= thursday < date(2027, 10, 31)
        assert start.hour == (17 if summer else 18)
        assert start.tzinfo is UTC
        assert end - start == timedelta(minutes=50)

    # One per calendar week; elapsed gaps differ by the hour only across the two changes.
    gaps = [later[0] - earlier[0] for earlier, later in itertools.pairwise(found)]
    assert gaps.count(WEEK - HOUR) == 1  # week containing 28 March
    assert gaps.count(WEEK + HOUR) == 1  # week containing 31 October
    assert gaps.count(WEEK) == len(gaps) - 2

    # The +7×24 h bug this replaces would have drifted to 19:00 BST after 28 March.
    drifted = found[0][0] + WEEK * 4
    assert drifted.astimezone(LONDON).time() == time(19, 0)
    assert found[4][0] != drifted


def test_new_york_02_30_slot_is_03_30_in_the_gap_week_and_02_30_again_after() -> None:
    slot = rule(SUNDAY, 2, 30)
    found = occurrences(slot, NEW_YORK_NAME, date(2027, 3, 1), date(2027, 3, 31))
    local = [start.astimezone(NEW_YORK) for start, _ in found]
    assert [(moment.date(), moment.time()) for moment in local] == [
        (date(2027, 3, 7), time(2, 30)),
        (date(2027, 3, 14), time(3, 30)),
        (date(2027, 3, 21), time(2, 30)),
        (date(2027, 3, 28), time(2, 30)),
    ]
    assert [start for start, _ in found] == [
        utc(2027, 3, 7, 7, 30),
        utc(2027, 3, 14, 7, 30),
        utc(2027, 3, 21, 6, 30),
        utc(2027, 3, 28, 6, 30),
    ]


def test_occurrence_end_is_elapsed_time_across_the_fold() -> None:
    # 01:00 BST + 60 min ends at 01:00 GMT (the clock shows 01:00 twice), not at 02:00 local.
    [(start, end)] = occurrences(rule(SUNDAY, 1, 0, 60), LONDON_NAME, date(2027, 10, 31), date(2027, 10, 31))
    assert start == utc(2027, 10, 31, 0, 0)
    assert end == utc(2027, 10, 31, 1, 0)
    end_local = end.astimezone(LONDON)
    assert (end_local.time(), end_local.fold) == (time(1, 0), 1)


def test_occurrences_include_both_ends_of_the_range() -> None:
    found = occurrences(rule(TUESDAY, 9), LONDON_NAME, date(2027, 1, 5), date(2027, 1, 19))
    assert [start.date() for start, _ in found] == [date(2027, 1, 5), date(2027, 1, 12), date(2027, 1, 19)]
    assert occurrences(rule(TUESDAY, 9), LONDON_NAME, date(2027, 1, 6), date(2027, 1, 11)) == []


def test_occurrences_use_the_local_date_not_the_utc_date() -> None:
    # Monday 00:30 in London during BST is Sunday 23:30Z; it still belongs to Monday's date.
    found = occurrences(rule(MONDAY, 0, 30), LONDON_NAME, date(2027, 7, 5), date(2027, 7, 5))
    assert [start for start, _ in found] == [utc(2027, 7, 4, 23, 30)]


def test_occurrences_range_validation() -> None:
    slot = rule(MONDAY, 18)
    with pytest.raises(ValueError, match="before"):
        occurrences(slot, LONDON_NAME, date(2027, 2, 1), date(2027, 1, 31))
    # A whole leap year (366 days inclusive) is allowed; one day more is not.
    assert len(occurrences(slot, LONDON_NAME, date(2028, 1, 1), date(2028, 12, 31))) == 52
    with pytest.raises(ValueError, match="366"):
        occurrences(slot, LONDON_NAME, date(2028, 1, 1), date(2029, 1, 1))
    # A single day is a valid range.
    assert len(occurrences(slot, LONDON_NAME, date(2027, 1, 4), date(2027, 1, 4))) == 1


@given(
    weekday=st.integers(0, 6),
    local_time=st.times(),
    duration=st.integers(15, 240),
    first=st.dates(date(2026, 1, 1), date(2030, 12, 31)),
    span=st.integers(0, 365),
    zone=st.sampled_from([LONDON_NAME, NEW_YORK_NAME, "Australia/Sydney", "UTC"]),
)
def test_occurrences_are_one_per_matching_local_date(
    weekday: int, local_time: time, duration: int, first: date, span: int, zone: str
) -> None:
    slot = WeeklySlotRule(weekday=weekday, local_time=local_time, duration_minutes=duration)
    last = first + timedelta(days=span)
    found = occurrences(slot, zone, first, last)
    expected_dates = [
        first + timedelta(days=i) for i in range(span + 1) if (first + timedelta(days=i)).weekday() == weekday
    ]
    assert len(found) == len(expected_dates)
    for (start, end), day in zip(found, expected_dates, strict=True):
        assert start == resolve_local(day, local_time, zone)
        assert end - start == timedelta(minutes=duration)
    for earlier, later in itertools.pairwise(found):
        assert abs(later[0] - earlier[0] - WEEK) <= HOUR


DST_ZONES = (LONDON_NAME, NEW_YORK_NAME, "Australia/Sydney", "Australia/Lord_Howe")


def change_days(zone: str, year: int) -> list[date]:
    """Local dates in ``year`` on which ``zone`` changes its UTC offset."""
    tz = ZoneInfo(zone)
    days = [date(year, 1, 1) + timedelta(days=i) for i in range(365)]
    return [
        day
        for day in days
        if datetime.combine(day, time(0), tzinfo=tz).utcoffset()
        != datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).utcoffset()
    ]


@st.composite
def zone_and_day(draw: st.DrawFn) -> tuple[str, date]:
    # Random dates almost never land on a changeover, so half the examples are changeover days.
    zone = draw(st.sampled_from(DST_ZONES))
    any_day = st.dates(date(2026, 1, 1), date(2030, 12, 31))
    changeover = st.sampled_from([day for year in (2026, 2027, 2030) for day in change_days(zone, year)])
    return zone, draw(st.one_of(any_day, changeover))


def test_change_days_finds_the_2027_changes() -> None:
    assert change_days(LONDON_NAME, 2027) == [date(2027, 3, 28), date(2027, 10, 31)]
    assert change_days(NEW_YORK_NAME, 2027) == [date(2027, 3, 14), date(2027, 11, 7)]


@given(zone_and_day(), st.times())
def test_resolve_local_is_the_wall_time_or_the_gap_shift_and_the_earliest_match(
    zone_day: tuple[str, date], local_time: time
) -> None:
    zone, day = zone_day
    tz = ZoneInfo(zone)
    resolved = resolve_local(day, local_time, zone)
    local = resolved.astimezone(tz)
    wall = datetime.combine(day, local_time)
    shown = local.replace(tzinfo=None)
    if shown != wall:
        # Only a gap moves the time, forward by exactly the gap's size (an offset change).
        before, after = ((resolved + d).astimezone(tz).utcoffset() for d in (-3 * HOUR, 3 * HOUR))
        assert before is not None and after is not None and after > before
        assert shown - wall == after - before
    # No earlier instant shows the same wall time (first instance of a fold).
    for back in (timedelta(minutes=30), HOUR, 2 * HOUR):
        assert (resolved - back).astimezone(tz).replace(tzinfo=None) != shown


# --- same_time_next_week ---------------------------------------------------------------------------


def test_same_time_next_week_across_spring_forward_keeps_18_00_london() -> None:
    start = datetime(2027, 3, 25, 18, 0, tzinfo=LONDON)
    assert start == utc(2027, 3, 25, 18, 0)
    following = same_time_next_week(start, LONDON_NAME)
    assert following == utc(2027, 4, 1, 17, 0)
    assert following.tzinfo is UTC
    assert following.astimezone(LONDON).replace(tzinfo=None) == datetime(2027, 4, 1, 18, 0)
    assert following - start == WEEK - HOUR


def test_same_time_next_week_across_fall_back_keeps_18_00_london() -> None:
    start = utc(2027, 10, 28, 17, 0)  # 18:00 BST, given in UTC: the zone argument decides.
    following = same_time_next_week(start, LONDON_NAME)
    assert following == utc(2027, 11, 4, 18, 0)
    assert following.astimezone(LONDON).replace(tzinfo=None) == datetime(2027, 11, 4, 18, 0)
    assert following - start == WEEK + HOUR


def test_same_time_next_week_into_a_gap_shifts_forward() -> None:
    following = same_time_next_week(datetime(2027, 3, 7, 2, 30, tzinfo=NEW_YORK), NEW_YORK_NAME)
    assert following.astimezone(NEW_YORK).replace(tzinfo=None) == datetime(2027, 3, 14, 3, 30)


def test_same_time_next_week_refuses_a_naive_start() -> None:
    with pytest.raises(ValueError, match="aware"):
        same_time_next_week(datetime(2027, 3, 25, 18, 0), LONDON_NAME)


# --- the rule model --------------------------------------------------------------------------------


def test_from_start_reads_the_local_weekday_and_time_in_the_zone() -> None:
    # 23:30Z on a Sunday in July is 00:30 Monday in London.
    built = WeeklySlotRule.from_start(utc(2027, 7, 4, 23, 30), LONDON_NAME, 50)
    assert built == rule(MONDAY, 0, 30)
    assert WeeklySlotRule.from_start(utc(2027, 7, 4, 23, 30), NEW_YORK_NAME, 50) == rule(SUNDAY, 19, 30)
    with pytest.raises(ValueError, match="aware"):
        WeeklySlotRule.from_start(datetime(2027, 7, 4, 23, 30), LONDON_NAME, 50)


def test_end_local_may_cross_midnight() -> None:
    assert rule(TUESDAY, 18, 0, 50).end_local == time(18, 50)
    assert rule(SUNDAY, 23, 30, 60).end_local == time(0, 30)


@pytest.mark.parametrize(
    "fields",
    [
        {"weekday": 7, "local_time": "18:00", "duration_minutes": 50},
        {"weekday": -1, "local_time": "18:00", "duration_minutes": 50},
        {"weekday": 1, "local_time": "18:00", "duration_minutes": 14},
        {"weekday": 1, "local_time": "18:00", "duration_minutes": 241},
        {"weekday": 1, "local_time": "18:00+01:00", "duration_minutes": 50},
        {"weekday": 1, "local_time": "25:00", "duration_minutes": 50},
    ],
    ids=["weekday-7", "weekday-negative", "too-short", "too-long", "with-offset", "bad-time"],
)
def test_rule_refuses_bad_fields(fields: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        WeeklySlotRule.model_validate(fields)


def test_rule_is_frozen_ignores_unknown_fields_and_round_trips() -> None:
    slot = WeeklySlotRule.model_validate(
        {"weekday": 1, "local_time": "18:00", "duration_minutes": 50, "client_name": "ignored"}
    )
    assert slot == rule(TUESDAY, 18)
    assert "client_name" not in slot.model_dump()
    assert WeeklySlotRule.model_validate_json(slot.model_dump_json()) == slot
    with pytest.raises(ValidationError):
        slot.weekday = 2  # type: ignore[misc]


# --- overlap ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (rule(TUESDAY, 18, 0, 50), rule(TUESDAY, 18, 30, 50), True),
        (rule(TUESDAY, 18, 0, 60), rule(TUESDAY, 18, 15, 15), True),  # one inside the other
        (rule(TUESDAY, 18, 0, 50), rule(TUESDAY, 18, 50, 50), False),  # touching
        (rule(TUESDAY, 18, 0, 50), rule(TUESDAY, 18, 51, 50), False),
        (rule(TUESDAY, 18, 0, 50), rule(WEDNESDAY, 18, 0, 50), False),  # different days
        (rule(SUNDAY, 23, 30, 60), rule(MONDAY, 0, 0, 15), True),  # wraps the week
        (rule(SUNDAY, 23, 30, 30), rule(MONDAY, 0, 0, 15), False),  # ends at the wrap: touching
        (rule(TUESDAY, 23, 30, 60), rule(WEDNESDAY, 0, 15, 30), True),  # crosses midnight
        (rule(TUESDAY, 23, 30, 60), rule(WEDNESDAY, 0, 30, 30), False),
        (rule(TUESDAY, 23, 30, 60), rule(TUESDAY, 0, 15, 30), False),  # same weekday, not next day
    ],
)
def test_rules_overlap(a: WeeklySlotRule, b: WeeklySlotRule, expected: bool) -> None:
    assert rules_overlap(a, b) is expected
    assert rules_overlap(b, a) is expected


def test_rules_overlap_counts_seconds() -> None:
    a = rule(TUESDAY, 18, 0, 50)
    assert rules_overlap(a, WeeklySlotRule(weekday=TUESDAY, local_time=time(18, 49, 59), duration_minutes=15))
    assert not rules_overlap(a, WeeklySlotRule(weekday=TUESDAY, local_time=time(18, 50), duration_minutes=15))


rules = st.builds(
    WeeklySlotRule,
    weekday=st.integers(0, 6),
    local_time=st.times().map(lambda t: t.replace(second=0, microsecond=0)),
    duration_minutes=st.integers(15, 240),
)


def minutes_of_week(slot: WeeklySlotRule) -> set[int]:
    first = slot.weekday * 24 * 60 + slot.local_time.hour * 60 + slot.local_time.minute
    return {(first + m) % (7 * 24 * 60) for m in range(slot.duration_minutes)}


@given(rules, rules)
def test_overlap_is_symmetric_and_matches_counting_minutes(a: WeeklySlotRule, b: WeeklySlotRule) -> None:
    assert rules_overlap(a, b) == rules_overlap(b, a)
    assert rules_overlap(a, b) == bool(minutes_of_week(a) & minutes_of_week(b))


@given(rules)
def test_a_rule_overlaps_itself_but_not_the_slot_right_after_it(slot: WeeklySlotRule) -> None:
    assert rules_overlap(slot, slot)
    after = datetime.combine(date(2027, 1, 4) + timedelta(days=slot.weekday), slot.local_time) + slot.duration
    following = WeeklySlotRule(weekday=after.weekday(), local_time=after.time(), duration_minutes=15)
    assert not rules_overlap(slot, following)


# --- check_no_conflict -----------------------------------------------------------------------------


def test_check_no_conflict_names_the_conflicting_slot() -> None:
    existing = {
        "slot_mon": rule(MONDAY, 18),
        "slot_abc": rule(TUESDAY, 18, 0, 50),
        "slot_xyz": rule(TUESDAY, 19, 0, 50),
    }
    with pytest.raises(RuleViolation) as raised:
        check_no_conflict(rule(TUESDAY, 18, 30, 20), existing)
    assert raised.value.code == "slot_conflict"
    assert raised.value.message == "overlaps reserved slot slot_abc (Tuesday 18:00, 50 min)"
    assert str(raised.value) == raised.value.message


def test_check_no_conflict_reports_the_first_overlap_in_mapping_order() -> None:
    existing = {"slot_b": rule(TUESDAY, 18, 30, 50), "slot_a": rule(TUESDAY, 18, 0, 50)}
    with pytest.raises(RuleViolation, match="slot_b"):
        check_no_conflict(rule(TUESDAY, 18, 20, 30), existing)


def test_check_no_conflict_passes_touching_and_other_days() -> None:
    existing = {"slot_abc": rule(TUESDAY, 18, 0, 50), "slot_sun": rule(SUNDAY, 23, 0, 60)}
    check_no_conflict(rule(TUESDAY, 18, 50, 50), existing)
    check_no_conflict(rule(TUESDAY, 17, 10, 50), existing)
    check_no_conflict(rule(MONDAY, 0, 0, 50), existing)
    check_no_conflict(rule(TUESDAY, 18, 0, 50), {})
