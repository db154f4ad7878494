"""Request bodies of the HTTP API: strict (unknown fields refused), and without the fields the
server sets itself — a request's receipt time is stamped here, never taken from the caller."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from domain.attendance import AttendanceOutcome, ContinueChoice
from domain.booking import BookableMinutes, SessionBooking
from domain.ids import OpaqueId, StripeId
from domain.money import AmountMinor
from domain.practice import EndReason, IanaZone, RelationshipEnded
from domain.slots import WeeklySlotRule
from domain.status import Actor, CancelReason, RefundReason, SessionStatus


def _fits_utc(value: datetime) -> datetime:
    try:
        value.astimezone(UTC)
    except OverflowError:
        # 0001-01-01T00:00+14:00 or 9999-12-31T23:59-14:00: every rule compares in UTC.
        raise ValueError("the instant is outside the representable range") from None
    return value


Instant = Annotated[AwareDatetime, AfterValidator(_fits_utc)]
"""An aware datetime the rules can compare in UTC (the conversion would overflow otherwise)."""


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BookSessionBody(SessionBooking):
    model_config = ConfigDict(extra="forbid", frozen=True)

    start: Instant
    duration_minutes: BookableMinutes = 50


class BookingResponse(_Body):
    session_id: OpaqueId
    workflow_id: str
    status: SessionStatus
    created: bool
    """False when this exact booking already existed (an idempotent retry)."""


class CancelBody(_Body):
    requested_by: Actor
    reason: CancelReason
    submitted_by: Actor | None = None
    discretionary_refund: bool = False


class RescheduleBody(_Body):
    requested_by: Actor
    new_start: Instant


class AttendanceBody(_Body):
    outcome: AttendanceOutcome
    continue_sessions: ContinueChoice = ContinueChoice.NO
    new_start: Instant | None = None
    client_agreed: bool = False
    reserve_slot: bool = False
    end_relationship: bool = False
    end_reason: EndReason | None = None
    cancel_future_sessions: bool = False
    refund: bool = False
    refund_amount_minor: AmountMinor | None = None
    """Only with ``refund``: how much to refund (minor units); absent, the whole payment."""
    submitted_by: Actor = Actor.THERAPIST


class RefundBody(_Body):
    reason: RefundReason
    """Why, as a code (never free text)."""
    amount_minor: AmountMinor | None = None
    """How much (minor units); absent, everything still refundable."""
    requested_by: Actor = Actor.THERAPIST
    """The therapist or an admin; a client's request is refused (``not_allowed``)."""


class NoShowBody(_Body):
    requested_by: Actor = Actor.THERAPIST
    """The therapist or an admin; a client's request is refused (``not_allowed``)."""


class PaymentMethodBody(_Body):
    payment_method_id: StripeId


class Health(_Body):
    status: str


class ReserveSlotBody(_Body):
    client_id: OpaqueId
    weekday: int = Field(ge=0, le=6, description="0 = Monday … 6 = Sunday")
    local_time: time = Field(description="wall-clock start in the therapist's zone, without an offset")
    duration_minutes: int = Field(ge=15, le=240)
    timezone: IanaZone = Field(description="the therapist's IANA zone; used only if this starts the practice")

    @field_validator("local_time")
    @classmethod
    def _naive_wall_clock(cls, value: time) -> time:
        if value.tzinfo is not None:
            raise ValueError("local_time is a wall-clock time in the therapist's zone: give it no offset")
        return value

    def rule(self) -> WeeklySlotRule:
        return WeeklySlotRule(
            weekday=self.weekday, local_time=self.local_time, duration_minutes=self.duration_minutes
        )


class EndRelationshipBody(_Body):
    reason: EndReason
    cancel_future_sessions: bool = False
    """Also cancel the client's sessions starting after now, as the therapist's cancellations."""
    timezone: IanaZone = Field(description="the therapist's IANA zone; used only if this starts the practice")


class RelationshipEndedResponse(RelationshipEnded):
    cancelled_session_ids: list[str] = Field(default_factory=list)
    """Future sessions this request cancelled (only with ``cancel_future_sessions``)."""
