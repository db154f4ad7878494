"""What the marketplace backend sends when a session is booked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from domain.errors import RuleViolation
from domain.ids import OpaqueId, StripeId
from domain.money import AmountMinor, Currency
from domain.policy import DEFAULT_POLICY, SessionPolicy
from domain.slots import WallClock, resolve_local
from domain.status import Actor, BookingKind
from domain.zones import IanaZone

_MINUTE = timedelta(minutes=1)

BookableMinutes = Annotated[
    int,
    Field(
        ge=DEFAULT_POLICY.min_duration // _MINUTE,
        le=DEFAULT_POLICY.max_duration // _MINUTE,
        description="the session's length in minutes, within the default policy's range",
    ),
]
"""A duration the default policy books (15–240 minutes): for a request body, where anything else
is malformed input (422) rather than a rule's refusal. ``SessionBooking`` itself stays wider."""


class SessionBooking(BaseModel):
    """A booked session. Ids are opaque; no names, e-mails or notes ever travel here."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    session_id: OpaqueId
    therapist_id: OpaqueId
    client_id: OpaqueId
    kind: BookingKind
    start: AwareDatetime
    duration_minutes: int = Field(default=50, ge=1, le=24 * 60)
    """Only a sanity bound: this model is also the workflow's input and every follow-up copies it,
    so a policy allowing other lengths (the fault drills book one minute) must still decode. The
    policy's range is ``check_booking``'s rule; a request body under the default policy declares
    ``BookableMinutes`` instead."""
    therapist_timezone: IanaZone = "Europe/London"
    client_timezone: IanaZone = Field(
        default="Europe/London",
        description="the client's IANA zone; when absent, the therapist's zone",
    )
    """The client's IANA zone, for the local times notifications give them. Absent (as in every
    booking and recorded history before it existed): the therapist's zone, not this default."""
    amount_minor: AmountMinor
    currency: Currency
    stripe_customer_id: StripeId
    payment_method_id: StripeId | None = None
    """The saved card charged off-session; required unless the session was paid at booking."""
    prepaid_payment_intent_id: StripeId | None = None
    """The PaymentIntent that paid an initial session at checkout."""
    client_agreed: bool = False
    """The client explicitly agreed to a therapist-booked session (recorded by the backend)."""
    previous_session_id: OpaqueId | None = None
    previous_start: AwareDatetime | None = None
    """The start of the previous session of a weekly chain (a follow-up's parent): notifications
    flag when the client's local clock time differs from it. Absent: no previous session known."""
    connected_account_id: StripeId | None = None
    """The therapist's connected Stripe account (``acct_…``) the session's money moves on: charged
    there as a direct charge with the marketplace's commission as the application fee, refunded
    there (``domain.commission``). Filled from the therapist's practice at booking; every follow-up
    copies it. ``None`` (every session booked before, every recorded history): the platform's own
    charge, exactly as before."""
    wall_clock_start: WallClock | None = None
    """The weekly wall-clock time (therapist's zone, no offset) this session stands for, when its
    start was shifted out of a DST gap: a Sunday 01:30 slot is held at 02:30 on the spring-forward
    night, and "same time next week" and a reservation from it keep 01:30. Absent: the start's own."""

    @model_validator(mode="before")
    @classmethod
    def _client_zone_defaults_to_the_therapists(cls, data: Any) -> Any:
        # Before validation, so a booking without it (an old workflow input, a body that leaves it
        # out) reads as the therapist's zone, and equal bookings stay equal either way.
        if isinstance(data, dict) and data.get("client_timezone") is None:
            return {**data, "client_timezone": data.get("therapist_timezone", "Europe/London")}
        return data

    @model_validator(mode="after")
    def _wall_clock_start_is_the_starts(self) -> SessionBooking:
        wall = self.wall_clock_start
        if wall is None:
            return self
        if wall.tzinfo is not None:
            raise ValueError(
                "wall_clock_start is a wall-clock time in the therapist's zone: give it no offset"
            )
        local_day = self.start.astimezone(ZoneInfo(self.therapist_timezone)).date()
        if resolve_local(local_day, wall, self.therapist_timezone) != self.start:
            raise ValueError(
                "wall_clock_start must be the start's own wall-clock time, or the one a DST gap moved it from"
            )
        return self

    @model_validator(mode="after")
    def _payment_source_matches_kind(self) -> SessionBooking:
        if self.kind is BookingKind.INITIAL_PREPAID:
            if self.prepaid_payment_intent_id is None:
                raise ValueError("an initial session paid at booking needs prepaid_payment_intent_id")
        else:
            if self.payment_method_id is None:
                raise ValueError(f"a {self.kind.value} session needs the saved payment_method_id")
            if self.prepaid_payment_intent_id is not None:
                raise ValueError("prepaid_payment_intent_id is only for initial_prepaid sessions")
        if self.kind.booked_by_therapist and not self.client_agreed:
            raise ValueError(
                "a therapist may only book a session the client has explicitly agreed to "
                "(client_agreed must be true)"
            )
        return self

    @property
    def booked_by(self) -> Actor:
        return Actor.THERAPIST if self.kind.booked_by_therapist else Actor.CLIENT

    @property
    def duration(self) -> timedelta:
        return timedelta(minutes=self.duration_minutes)

    @property
    def end(self) -> datetime:
        # In elapsed time: ``start + duration`` on a ZoneInfo datetime is wall-clock arithmetic.
        return (self.start.astimezone(UTC) + self.duration).astimezone(self.start.tzinfo)


def check_booking(booking: SessionBooking, now: datetime, policy: SessionPolicy = DEFAULT_POLICY) -> None:
    """The rules of a booking that depend on the clock or the policy."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("times must be timezone-aware")
    start, now = booking.start.astimezone(UTC), now.astimezone(UTC)  # elapsed-time comparisons
    if start <= now:
        check_past_dated(booking, start, now, policy)
    else:
        check_client_notice(booking, start, now, policy)
    if start - now > policy.max_booking_horizon:
        raise RuleViolation(
            "start_too_far", f"sessions can be booked at most {policy.max_booking_horizon.days} days ahead"
        )
    if not policy.min_duration <= booking.duration <= policy.max_duration:
        raise RuleViolation(
            "duration_out_of_range",
            f"duration must be between {policy.min_duration} and {policy.max_duration}",
        )


def check_past_dated(
    booking: SessionBooking, start: datetime, now: datetime, policy: SessionPolicy = DEFAULT_POLICY
) -> None:
    """Only a therapist's manual session may start in the past (it took place and is recorded
    after the fact), and only within ``policy.manual_backdate_limit``; never a client's booking."""
    if booking.kind is not BookingKind.THERAPIST_MANUAL:
        raise RuleViolation("start_in_past", "the session start must be in the future")
    if now - start > policy.manual_backdate_limit:
        raise RuleViolation(
            "start_too_far_back",
            f"a manual session can be dated at most {policy.manual_backdate_limit.days} days back",
        )


def check_client_notice(
    booking: SessionBooking, start: datetime, now: datetime, policy: SessionPolicy = DEFAULT_POLICY
) -> None:
    """A client's own booking needs the policy's minimum notice (24 h by default, 2 h at least);
    a therapist's booking is not bound by it."""
    notice = policy.client_min_notice
    if booking.booked_by is Actor.CLIENT and notice is not None and start - now < notice:
        hours = notice.total_seconds() / 3600
        raise RuleViolation(
            "notice_too_short", f"a client's booking must start at least {hours:g} hours from now"
        )
