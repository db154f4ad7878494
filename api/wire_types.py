"""Request field types whose JSON Schema states exactly what their validator accepts.

pydantic's own ``time`` accepts an offset (``09:30Z``), a comma fraction, seven fraction digits and
a bare number of seconds, while its schema says only ``format: time``; a client generated from the
OpenAPI would send values the validator refuses, or the validator would take values the schema
forbids. These types put one regular expression in front of the parse and state that expression
in the schema, so the two cannot disagree.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from typing import Annotated, Any

from pydantic import AwareDatetime, BeforeValidator, StringConstraints, WithJsonSchema

from domain.slots import WALL_CLOCK_PATTERN, WallClock

_WALL_CLOCK = re.compile(WALL_CLOCK_PATTERN)

BASE64_PATTERN = r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"
"""Standard base64 with its padding (RFC 4648 §4), nothing else: what ``b64decode(validate=True)`` reads."""


def _wall_clock(value: Any) -> Any:
    if isinstance(value, time):  # built in Python (a test, a follow-up): checked by the caller's rule
        if value.tzinfo is not None:
            raise ValueError("a wall-clock time in the therapist's zone: give it no offset")
        return value
    if not isinstance(value, str) or _WALL_CLOCK.fullmatch(value) is None:
        raise ValueError("a wall-clock time HH:MM[:SS[.ffffff]] in the therapist's zone, without an offset")
    return value


WallClockTime = Annotated[WallClock, BeforeValidator(_wall_clock)]
"""A wall-clock time of day without an offset (``09:30``), as the schema's pattern says."""

Base64 = Annotated[str, StringConstraints(pattern=BASE64_PATTERN)]
"""Base64 text (standard alphabet, padded)."""

CALENDAR_DATE_PATTERN = (
    r"^([0-9]{3}[1-9]|[0-9]{2}[1-9][0-9]|[0-9][1-9][0-9]{2}|[1-9][0-9]{3})"
    r"-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
)
"""``YYYY-MM-DD``, years 0001–9999 (what Python's ``date`` holds); the day must exist (``format``)."""
_CALENDAR_DATE = re.compile(CALENDAR_DATE_PATTERN)


def _calendar_date(value: Any) -> Any:
    # pydantic's date also takes "2024-01-01T00:00:00" and "0" (a Unix time at midnight).
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or _CALENDAR_DATE.fullmatch(value) is None:
        raise ValueError("a calendar date YYYY-MM-DD")
    return value


CalendarDate = Annotated[
    date,
    BeforeValidator(_calendar_date),
    WithJsonSchema({"type": "string", "format": "date", "pattern": CALENDAR_DATE_PATTERN}),
]
"""A calendar date ``YYYY-MM-DD``, as the schema's format and pattern say."""

_YEAR_2_TO_9998 = r"(000[2-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9]|999[0-8])"
INSTANT_PATTERN = (
    rf"^{_YEAR_2_TO_9998}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
    r"T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,6})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$"
)
"""RFC 3339 with an offset, seconds given, at most microseconds, years 0002–9998: the first and last
years are left out because an instant there can fall outside what UTC can hold
(``0001-01-01T00:00:00+14:00``), and every rule compares in UTC."""
_INSTANT = re.compile(INSTANT_PATTERN)


def _instant(value: Any) -> Any:
    # pydantic's datetime also takes a Unix time, a space or "_" for "T", "+0100", 7+ digits.
    if isinstance(value, datetime):  # built in Python: only the range matters
        if not 2 <= value.year <= 9998:
            raise ValueError("the instant is outside the years 0002-9998")
        return value
    if not isinstance(value, str) or _INSTANT.fullmatch(value) is None:
        raise ValueError(
            "an RFC 3339 date-time with an offset, YYYY-MM-DDTHH:MM:SS[.ffffff](Z|±HH:MM), years 0002-9998"
        )
    return value


Instant = Annotated[
    AwareDatetime,
    BeforeValidator(_instant),
    WithJsonSchema({"type": "string", "format": "date-time", "pattern": INSTANT_PATTERN}),
]
"""An aware instant every rule can compare in UTC, in the one spelling the schema states."""
