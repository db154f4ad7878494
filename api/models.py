"""Request bodies of the HTTP API: strict (unknown fields refused), and without the fields the
server sets itself — a request's receipt time is stamped here, never taken from the caller."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.wire_types import CalendarDate, Instant, WallClockTime
from domain.attendance import AttendanceOutcome, ContinueChoice
from domain.booking import BookableMinutes, SessionBooking
from domain.commands import PaymentMethodUpdateResult
from domain.ids import OpaqueId, StripeId
from domain.money import AmountMinor, RequestCurrency
from domain.practice import EndReason, RelationshipEnded
from domain.slots import MAX_RANGE_DAYS, WeeklySlotRule
from domain.status import Actor, BookingKind, CancelReason, RefundReason, SessionStatus
from domain.zones import IanaZone


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BookSessionBody(SessionBooking):
    """The booking as the caller sends it. The rules across its fields (``SessionBooking``'s own)
    are applied by the route, a refusal being a ``409``: each is stated on the field it concerns."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: BookingKind = Field(
        description="`initial_prepaid` needs `prepaid_payment_intent_id`; every other kind needs "
        "`payment_method_id` and no `prepaid_payment_intent_id`; `therapist_follow_up` and "
        "`therapist_manual` need `client_agreed: true` (else `409 invalid_combination`)."
    )
    start: Instant = Field(
        description="Must be in the future (`409 start_in_past`) and at most the policy's horizon "
        "ahead (`409 start_too_far`); only `therapist_manual` may be up to 14 days in the past "
        "(`409 start_too_far_back`); a client's own booking needs 24 hours' notice "
        "(`409 notice_too_short`)."
    )
    duration_minutes: BookableMinutes = 50
    previous_start: Instant | None = None
    currency: RequestCurrency
    payment_method_id: StripeId | None = Field(
        default=None,
        description="The saved card charged off-session: required for every kind but "
        "`initial_prepaid` (`409 invalid_combination` when missing).",
    )
    prepaid_payment_intent_id: StripeId | None = Field(
        default=None,
        description="The PaymentIntent that paid the session at checkout: required for "
        "`initial_prepaid`, refused for any other kind (`409 invalid_combination`).",
    )
    client_agreed: bool = Field(
        default=False,
        description="The client explicitly agreed: must be true for `therapist_follow_up` and "
        "`therapist_manual` (`409 invalid_combination`).",
    )
    wall_clock_start: WallClockTime | None = Field(
        default=None,
        description="The weekly wall-clock time (therapist's zone, no offset) the session stands "
        "for: must be `start`'s own local time, or the one a DST gap moved it from "
        "(`409 invalid_combination`).",
    )
    connected_account_id: None = Field(
        default=None,
        description="never given by the caller: the session is charged on the connected account "
        "the therapist's practice holds at booking (`PUT /v1/therapists/{id}/payment-account`)",
    )

    # Same names as SessionBooking's validators, so they replace them here: the route applies them
    # when it builds the SessionBooking (a 409), as JSON Schema cannot say them (a 422 would refuse a
    # request the OpenAPI allows).
    @model_validator(mode="after")
    def _wall_clock_start_is_the_starts(self) -> BookSessionBody:
        return self

    @model_validator(mode="after")
    def _payment_source_matches_kind(self) -> BookSessionBody:
        return self


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
    requested_by: Actor = Field(
        description="Whose cancellation it is (it decides the policy): the filer's role or a lesser "
        "one (client < therapist < admin); a higher one is `409 submitter_not_allowed`."
    )
    reason: CancelReason
    submitted_by: Actor | None = Field(
        default=None,
        description="Who files it: must be the `Acting-Party`'s role, which is the default "
        "(another role: `409 submitter_not_acting_party`), and at least `requested_by`'s authority "
        "(`409 submitter_not_allowed`).",
    )
    discretionary_refund: bool = Field(
        default=False,
        description="Waives a client's late-cancellation charge: only with `requested_by: client` "
        "and filed by a therapist or admin (`409 invalid_combination` otherwise).",
    )


class RescheduleBody(_Body):
    requested_by: Actor = Field(
        description="Whose move it is (it decides the policy): the `Acting-Party`'s role or a lesser "
        "one (client < therapist < admin); a higher one is `409 submitter_not_allowed`."
    )
    new_start: Instant = Field(
        description="Must be in the future (`409 start_in_past`), within the booking horizon "
        "(`409 start_too_far`) and differ from the current start (`409 same_start`)."
    )


class AttendanceBody(_Body):
    """The rules across these fields are the command's own (``domain.attendance``): a body that
    breaks one is refused with ``409`` and the rule's code, stated on each field below."""

    outcome: AttendanceOutcome
    continue_sessions: ContinueChoice = Field(
        default=ContinueChoice.NO,
        description="`different_time` needs `new_start`; any rebooking needs `client_agreed: true` "
        "(`409 consent_required`) and cannot go with `end_relationship` (`409 contradictory_update`).",
    )
    new_start: Instant | None = Field(
        default=None,
        description="The follow-up's start: required with `continue_sessions: different_time` "
        "(`409 new_start_required`), refused with any other choice (`409 new_start_not_allowed`).",
    )
    client_agreed: bool = Field(
        default=False, description="The client agreed to the follow-up: required for any rebooking."
    )
    reserve_slot: bool = Field(
        default=False,
        description="Keep the weekly time for the client; not with `end_relationship` "
        "(`409 contradictory_update`).",
    )
    end_relationship: bool = Field(
        default=False,
        description="Needs `end_reason` (`409 end_reason_required`); not with a rebooking or "
        "`reserve_slot` (`409 contradictory_update`).",
    )
    end_reason: EndReason | None = Field(
        default=None, description="Required with `end_relationship: true` (`409 end_reason_required`)."
    )
    cancel_future_sessions: bool = Field(
        default=False,
        description="Only with `end_relationship: true` (`409 contradictory_update` otherwise).",
    )
    refund: bool = False
    refund_amount_minor: AmountMinor | None = Field(
        default=None,
        description="How much to refund (minor units), absent: the whole payment. Only with "
        "`refund: true` (`409 contradictory_update` otherwise); never more than was captured.",
    )
    submitted_by: Actor | None = Field(
        default=None,
        description="Must be the `Acting-Party`'s role, which is the default (another role: "
        "`409 submitter_not_acting_party`); a client is `409 not_allowed`.",
    )


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
    local_time: WallClockTime = Field(
        description="wall-clock start in the therapist's zone, without an offset"
    )
    duration_minutes: int = Field(ge=15, le=240)
    timezone: IanaZone = Field(description="the therapist's IANA zone; used only if this starts the practice")

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


class OccurrencesRange(_Body):
    """Local dates ``[start_date, end_date]`` in the therapist's zone. The range's own rule is the
    domain query's (``OccurrencesQuery``), applied by the route: a ``409`` when broken."""

    start_date: CalendarDate = Field(description="The first local date (inclusive).")
    end_date: CalendarDate = Field(
        description=f"The last local date (inclusive): not before `start_date`, and at most "
        f"{MAX_RANGE_DAYS} days from it counting both (`409 invalid_combination` otherwise)."
    )
