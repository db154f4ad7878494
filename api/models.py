"""Request bodies of the HTTP API: strict (unknown fields refused), and without the fields the
server sets itself — a request's receipt time is stamped here, never taken from the caller."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from domain.attendance import AttendanceOutcome, ContinueChoice
from domain.booking import BookableMinutes, SessionBooking
from domain.commands import PaymentMethodUpdateResult
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
    connected_account_id: None = Field(
        default=None,
        description="never given by the caller: the session is charged on the connected account "
        "the therapist's practice holds at booking (`PUT /v1/therapists/{id}/payment-account`)",
    )


class BookingResponse(_Body):
    session_id: OpaqueId
    workflow_id: str
    status: SessionStatus
    created: bool
    """False when this exact booking already existed (an idempotent retry)."""
    charge_answered: bool | None = Field(
        default=None,
        description="Only for a booking charged at once while the client is present "
        "(`client_follow_up`, on-session): true when Stripe answered within the API's wait "
        "(`status` is then the session's after it), false when it had not (read "
        "`GET /v1/sessions/{id}` later). Absent (null): the booking caused no such charge.",
    )
    payment_intent_client_secret: str | None = Field(
        default=None,
        description="Only when the client's bank asks for 3-D Secure (`status` = "
        "`awaiting_client_action`): hand it to the client's browser, which completes the payment "
        "with Stripe.js (`stripe.handleNextAction({clientSecret})`); the "
        "`payment_intent.succeeded` webhook then settles the session. Never log it.",
    )


class SessionStatusView(_Body):
    """What a UI polls: where a session stands and when it is — read from Temporal's record of the
    workflow (a describe, not billed), never a query of it. Nothing private."""

    session_id: OpaqueId
    status: SessionStatus = Field(
        description="As of the API's clock: a `scheduled` or `paid` session past its end is "
        "`awaiting_update` (its attendance update is due)."
    )
    start: datetime | None = None
    end: datetime | None = Field(
        default=None, description="Absent for a session booked before the end was published."
    )


class CancelBody(_Body):
    requested_by: Actor
    reason: CancelReason
    submitted_by: Actor | None = None
    """The acting party's role (the default); naming another role is a 422."""
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
    submitted_by: Actor | None = None
    """The acting party's role (the default); naming another role is a 422."""


class RefundBody(_Body):
    """Who refunds is the ``Acting-Party`` (the session's therapist or an admin)."""

    reason: RefundReason
    """Why, as a code (never free text)."""
    amount_minor: AmountMinor | None = None
    """How much (minor units); absent, everything still refundable."""


class NoShowBody(_Body):
    """Who marks it is the ``Acting-Party`` (the session's therapist or an admin); nothing else."""


class PaymentMethodBody(_Body):
    payment_method_id: StripeId


class PaymentMethodResponse(PaymentMethodUpdateResult):
    """The update's result, and — when it retried the charge at once for a client who is present —
    the answer to that retry."""

    charge_answered: bool | None = Field(
        default=None,
        description="Only when `retrying_now` for the client (on-session): true when Stripe "
        "answered within the API's wait (`status` is then the session's after it), false when it "
        "had not. Absent (null): no retry the client waits for.",
    )
    payment_intent_client_secret: str | None = Field(
        default=None,
        description="Only when the client's bank asks for 3-D Secure (`status` = "
        "`awaiting_client_action`): their browser completes the payment with it "
        "(`stripe.handleNextAction({clientSecret})`); the `payment_intent.succeeded` webhook "
        "settles the session. Never log it.",
    )


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


class PaymentAccountBody(_Body):
    account_id: StripeId = Field(
        pattern=r"^acct_[A-Za-z0-9_]{1,250}$",
        description="the therapist's connected Stripe account, `acct_…`",
    )
    timezone: IanaZone = Field(description="the therapist's IANA zone; used only if this starts the practice")


class EndRelationshipBody(_Body):
    reason: EndReason
    cancel_future_sessions: bool = False
    """Also cancel the client's sessions starting after now, as the therapist's cancellations."""
    timezone: IanaZone = Field(description="the therapist's IANA zone; used only if this starts the practice")


class RelationshipEndedResponse(RelationshipEnded):
    cancelled_session_ids: list[str] = Field(default_factory=list)
    """Future sessions this request cancelled (only with ``cancel_future_sessions``)."""
