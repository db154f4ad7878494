"""Reserved slots (README rule 9): weekly wall-clock rules in the therapist's zone.

A slot is "Tuesdays at 18:00 in Europe/London", not "every 168 hours from an instant": adding
7×24 h to a UTC instant drifts by an hour at every DST change. So each occurrence is resolved
date by date with ``zoneinfo``. Local times that do not exist (spring-forward gap) are shifted
forward by the gap and repeated ones (autumn fold) take the first instance, as RFC 5545 §3.3.5 does.

Overlap between two rules is judged in wall-clock time on a circular week. That is exact on every
ordinary day; on a changeover night it can differ from elapsed time only for a slot running through
the gap or the fold itself (the small hours of a Sunday in Europe and North America). A check that
must be exact there compares the ``occurrences`` of both rules instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, field_validator

from domain.errors import RuleViolation

WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MAX_RANGE_DAYS = 366
"""Longest inclusive date range ``occurrences`` expands: a leap year, and the booking horizon."""

WALL_CLOCK_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?$"
"""``HH:MM``, ``HH:MM:SS`` or ``HH:MM:SS.ffffff``, 24-hour, never an offset: a wall-clock time."""
WallClock = Annotated[
    time, WithJsonSchema({"type": "string", "pattern": WALL_CLOCK_PATTERN, "examples": ["09:30", "18:00:00"]})
]
"""A naive time of day, stated as such in JSON Schema (``format: time`` demands an offset)."""

_DAY_US = 24 * 60 * 60 * 1_000_000
_WEEK_US = 7 * _DAY_US
_WEEK = timedelta(days=7)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        # OSError: a directory of the zone database such as "Europe" (IsADirectoryError).
        raise ValueError(f"unknown IANA time zone {name!r}") from exc


def _require_aware(instant: datetime) -> None:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError("start must be timezone-aware")


def _time_of_day_us(value: time) -> int:
    return ((value.hour * 60 + value.minute) * 60 + value.second) * 1_000_000 + value.microsecond


def _format_time(value: time) -> str:
    return value.strftime("%H:%M:%S" if value.second or value.microsecond else "%H:%M")


SLOT_MIN_MINUTES = 15
SLOT_MAX_MINUTES = 240
"""A reserved weekly slot's length; a session outside it cannot have its time reserved."""


class WeeklySlotRule(BaseModel):
    """A weekly wall-clock interval in the therapist's zone; the zone itself is held by the owner."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    weekday: int = Field(ge=0, le=6)
    """0 = Monday … 6 = Sunday, as ``date.weekday()``."""
    local_time: WallClock
    """Wall-clock start in the therapist's zone (naive)."""
    duration_minutes: int = Field(ge=SLOT_MIN_MINUTES, le=SLOT_MAX_MINUTES)

    @field_validator("local_time")
    @classmethod
    def _naive_wall_clock(cls, value: time) -> time:
        if value.tzinfo is not None:
            # A fixed offset would silently pin the slot to winter or summer time.
            raise ValueError("local_time is a wall-clock time in the therapist's zone: give it no offset")
        # fold=1 would make resolve_local pick the second instance of a repeated hour.
        return value.replace(fold=0)

    @property
    def duration(self) -> timedelta:
        return timedelta(minutes=self.duration_minutes)

    @property
    def end_local(self) -> time:
        """Wall-clock end; earlier than ``local_time`` when the slot crosses midnight."""
        return (datetime.combine(date(2000, 1, 1), self.local_time) + self.duration).time()

    @property
    def label(self) -> str:
        """E.g. ``Tuesday 18:00, 50 min``: safe to show and to log (no personal data)."""
        return f"{WEEKDAY_NAMES[self.weekday]} {_format_time(self.local_time)}, {self.duration_minutes} min"

    @classmethod
    def from_start(
        cls, start: datetime, zone: str, duration_minutes: int, at: time | None = None
    ) -> WeeklySlotRule:
        """The rule repeating ``start`` weekly at its local weekday and wall-clock time in ``zone``
        (``at`` when the start was shifted out of a DST gap: the rule keeps the time it stands for)."""
        _require_aware(start)
        local = start.astimezone(_zone(zone))
        local_time = local.time() if at is None else at
        return cls(weekday=local.weekday(), local_time=local_time, duration_minutes=duration_minutes)


def resolve_local(day: date, local_time: time, zone: str) -> datetime:
    """The UTC instant of ``local_time`` on ``day`` in ``zone``.

    A non-existent local time (spring-forward gap) is shifted forward by the gap: 02:30 in a
    02:00→03:00 gap becomes 03:30 local. A repeated one (autumn fold) takes the first instance.
    """
    if local_time.tzinfo is not None:
        raise ValueError("local_time must be a naive wall-clock time")
    tz = _zone(zone)
    # PEP 495: with fold=0, zoneinfo reads a gap time with the offset from *before* the gap (which
    # lands that many minutes after the gap's end) and a fold time as the earlier instance; both are
    # exactly the rules above, so no search over offsets is needed.
    wall = datetime.combine(day, local_time.replace(fold=0), tzinfo=tz)
    return wall.astimezone(UTC)


def occurrences(
    rule: WeeklySlotRule, zone: str, start_date: date, end_date: date
) -> list[tuple[datetime, datetime]]:
    """Every occurrence whose local date is in ``[start_date, end_date]``, as UTC (start, end) pairs.

    Each date is resolved on its own (never ``start + 7×24 h``); ``end`` is ``start + duration`` in
    elapsed time, so a slot spanning a DST change still lasts ``duration_minutes``.
    """
    _zone(zone)  # Refuse an unknown zone even when the range holds no matching weekday.
    if end_date < start_date:
        raise ValueError("end_date must not be before start_date")
    if (end_date - start_date).days + 1 > MAX_RANGE_DAYS:
        raise ValueError(f"the date range may span at most {MAX_RANGE_DAYS} days")
    day = start_date + timedelta(days=(rule.weekday - start_date.weekday()) % 7)
    result: list[tuple[datetime, datetime]] = []
    while day <= end_date:
        start = resolve_local(day, rule.local_time, zone)
        result.append((start, start + rule.duration))
        day += _WEEK  # Calendar days on a date: no clock drift.
    return result


def wall_time(start: datetime, zone: str) -> time:
    """The wall-clock time of ``start`` in ``zone`` (naive)."""
    _require_aware(start)
    return start.astimezone(_zone(zone)).time().replace(fold=0)


def same_time_next_week(start: datetime, zone: str, at: time | None = None) -> datetime:
    """The same local wall-clock time 7 calendar days later in ``zone``, as a UTC instant.

    Elapsed time is 7 days ± the DST change in between. The wall time is ``at`` when given — the
    weekly time a session stands for, which differs from its start's own wall time only when that
    start was shifted out of a DST gap (01:30 on the spring-forward night is held at 02:30, and
    next week is 01:30 again) — else read from ``start``.
    """
    _require_aware(start)
    local = start.astimezone(_zone(zone))
    return resolve_local(local.date() + _WEEK, local.time() if at is None else at, zone)


def rules_overlap(a: WeeklySlotRule, b: WeeklySlotRule) -> bool:
    """Whether two weekly wall-clock intervals in the same zone intersect.

    The week is a circle, so a Sunday 23:30 + 60 min slot overlaps Monday 00:00. Intervals are
    half-open: a slot ending exactly when the other starts does not overlap it.
    """
    a_start = a.weekday * _DAY_US + _time_of_day_us(a.local_time)
    b_start = b.weekday * _DAY_US + _time_of_day_us(b.local_time)
    a_len = a.duration_minutes * 60 * 1_000_000
    b_len = b.duration_minutes * 60 * 1_000_000
    # Two arcs shorter than the circle intersect iff either one's start lies inside the other.
    return (b_start - a_start) % _WEEK_US < a_len or (a_start - b_start) % _WEEK_US < b_len


def check_no_conflict(candidate: WeeklySlotRule, existing: Mapping[str, WeeklySlotRule]) -> None:
    """Refuse ``candidate`` if it overlaps any of ``existing`` (slot id → rule) of one therapist.

    The caller leaves out the slot being replaced when moving one. The message names the slot id
    (opaque) and its weekday/time, never the client holding it.
    """
    for slot_id, rule in existing.items():
        if rules_overlap(candidate, rule):
            raise RuleViolation("slot_conflict", f"overlaps reserved slot {slot_id} ({rule.label})")
