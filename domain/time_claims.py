"""The therapist's booked one-off times (README rule 9): one claim per live session.

A therapist holds one session at a time, and a reserved weekly slot blocks its time for every
other client. Checking either with a read and acting on it later lets two requests racing each
other both pass (a booking and a reservation of Monday 18:00; two follow-ups at one time), so
every change of a session's time is a *claim* made inside the practice's serialised updates:

- a session's claim is keyed by its id: claiming again (a move) replaces its earlier time;
- a claim is refused when it overlaps another session's live claim (``time_taken``) or another
  client's reserved slot (``slot_conflict``); a reservation is refused when one of its weekly
  occurrences overlaps another client's claim (``time_taken``);
- a claim is live until its session ends (pruned once its end has passed) or it is released (the
  session was cancelled, or the request that claimed it was then refused).

Pure functions over the claims and slots the practice holds; ``domain.practice`` applies them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, BaseModel, ConfigDict

from domain.errors import RuleViolation
from domain.ids import OpaqueId
from domain.slots import MAX_RANGE_DAYS, WeeklySlotRule, occurrences


class TimeClaim(BaseModel):
    """One live session's time at the therapist's practice."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    session_id: OpaqueId
    client_id: OpaqueId
    start: AwareDatetime
    end: AwareDatetime


def overlaps(a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime) -> bool:
    """Half-open intervals: a session ending exactly when the next starts does not overlap it."""
    return a_start < b_end and b_start < a_end


def prune_ended(claims: dict[str, TimeClaim], now: datetime) -> None:
    """Forget claims whose session has ended: a past time can no longer be booked or moved to."""
    for session_id in [held.session_id for held in claims.values() if held.end <= now]:
        del claims[session_id]


def check_claim(claims: Mapping[str, TimeClaim], candidate: TimeClaim) -> None:
    """Refuse ``candidate`` when another session's live claim overlaps it (its own earlier claim
    is the time it moves from, and never conflicts)."""
    for held in sorted(claims.values(), key=lambda claim: claim.start):
        if held.session_id == candidate.session_id:
            continue
        if overlaps(held.start, held.end, candidate.start, candidate.end):
            raise RuleViolation(
                "time_taken",
                f"the therapist already has session {held.session_id} at this time",
            )


def check_rule_against_claims(
    rule: WeeklySlotRule, zone: str, client_id: str, claims: Iterable[TimeClaim]
) -> None:
    """Refuse a weekly reservation for ``client_id`` that would cover another client's booked
    session: the slot would block a time that is already taken. The client's own sessions never
    conflict with their own slot."""
    tz = ZoneInfo(zone)
    for held in sorted(claims, key=lambda claim: claim.start):
        if held.client_id == client_id:
            continue
        first = held.start.astimezone(tz).date() - timedelta(days=1)
        last = held.end.astimezone(tz).date()
        if (last - first).days + 1 > MAX_RANGE_DAYS:  # a claim is one session: never this long
            raise ValueError("a claimed session spans more than the bookable range")
        for start, end in occurrences(rule, zone, first, last):
            if overlaps(start, end, held.start, held.end):
                raise RuleViolation(
                    "time_taken",
                    f"the weekly time {rule.label} covers session {held.session_id} of another client",
                )
