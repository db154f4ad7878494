"""A session's start as both parties see it, and the booking terms a notification states.

A booking carries the therapist's IANA zone and the client's. A weekly chain keeps the therapist's
wall-clock time (18:00 in London every week, ``domain.slots``), so the client's local time of the
same session can move when only one of the two zones changes its clocks: London and New York
change on different Sundays (in 2026 New York springs forward on 8 March and London on 29 March;
London falls back on 25 October and New York on 1 November), so a London 18:00 is 13:00 in New
York most of the year and 14:00 in the weeks between. A notification says so
(``client_local_time_changed``) so the client is not caught out.

Everything here is a pure function of instants and zone names (the zone rules are the pinned
``tzdata`` package's, see ``settings.pin_zone_data``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AwareDatetime, BaseModel, ConfigDict

from domain.policy import DEFAULT_POLICY, SessionPolicy, cancellation_deadline

CANCELLATION_POLICY_CODE = "cancellation_policy"
"""The ``codes`` key naming the free-cancellation notice, e.g. ``{"cancellation_policy": "48h"}``."""


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        # OSError: a directory of the zone database such as "Europe" (IsADirectoryError).
        raise ValueError(f"unknown IANA time zone {name!r}") from exc


def _require_aware(*instants: datetime) -> None:
    if any(instant.tzinfo is None or instant.utcoffset() is None for instant in instants):
        raise ValueError("times must be timezone-aware")


def local_start(start: datetime, zone: str) -> datetime:
    """``start`` as a local date-time in ``zone``, with that zone's offset at that instant."""
    _require_aware(start)
    return start.astimezone(_zone(zone))


def client_local_time_changed(
    start: datetime, previous_start: datetime | None, client_timezone: str
) -> bool | None:
    """Whether the client's local clock time of ``start`` differs from ``previous_start``'s.

    ``None`` when there is no previous session. Only the time of day is compared (a weekly chain
    moves the date by design); both instants are read in the client's zone.
    """
    if previous_start is None:
        return None
    _require_aware(start, previous_start)
    now_local = local_start(start, client_timezone).time().replace(fold=0)
    before_local = local_start(previous_start, client_timezone).time().replace(fold=0)
    return now_local != before_local


class SessionTimes(BaseModel):
    """The time fields of a notification about a session (``domain.notifications.Notification``)."""

    model_config = ConfigDict(frozen=True)

    start: AwareDatetime
    """The instant, in UTC."""
    start_local_client: AwareDatetime
    start_local_therapist: AwareDatetime
    client_timezone: str
    therapist_timezone: str
    client_local_time_changed: bool | None


def session_times(
    start: datetime,
    *,
    client_timezone: str,
    therapist_timezone: str,
    previous_start: datetime | None = None,
) -> SessionTimes:
    """The start in UTC and as each party's local date-time, and whether the client's clock time
    moved since ``previous_start`` (the previous session of the chain; ``None``: there is none)."""
    _require_aware(start)
    return SessionTimes(
        start=start.astimezone(UTC),
        start_local_client=local_start(start, client_timezone),
        start_local_therapist=local_start(start, therapist_timezone),
        client_timezone=client_timezone,
        therapist_timezone=therapist_timezone,
        client_local_time_changed=client_local_time_changed(start, previous_start, client_timezone),
    )


def notice_code(notice: timedelta) -> str:
    """A duration as a machine code: ``48h``, or ``90m`` when it is not whole hours."""
    seconds = int(notice.total_seconds())
    if seconds % 3600 == 0:
        return f"{seconds // 3600}h"
    return f"{seconds // 60}m"


class BookingTerms(BaseModel):
    """What a booking notification states besides the times: the charge date and the 48-hour rule."""

    model_config = ConfigDict(frozen=True)

    charge_at: AwareDatetime | None
    """When the saved card is charged (UTC); ``None``: nothing is to be charged (paid already)."""
    free_cancellation_until: AwareDatetime
    """A client's cancellation received before this instant (start − 48 h) is free; from it, late."""
    cancellation_policy: str
    """The notice as a code, ``48h`` under the default policy."""


def booking_terms(
    start: datetime, charge_at: datetime | None, policy: SessionPolicy = DEFAULT_POLICY
) -> BookingTerms:
    """The terms of a session starting at ``start``: the very deadline the cancellation rule uses
    (``domain.policy.cancellation_deadline``), so the notice and the outcome cannot disagree."""
    _require_aware(start)
    return BookingTerms(
        charge_at=charge_at.astimezone(UTC) if charge_at is not None else None,
        free_cancellation_until=cancellation_deadline(start, policy),
        cancellation_policy=notice_code(policy.free_cancellation_notice),
    )
