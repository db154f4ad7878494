"""Request bodies of the HTTP API: strict (unknown fields refused), and without the fields the
server sets itself — a request's receipt time is stamped here, never taken from the caller."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.wire_types import (
    CalendarDate,
    Instant,
    WallClockTime,
    WireAmountMinor,
    WireBookableMinutes,
    WireBool,
    WireInt,
)
from domain.attendance import AttendanceOutcome, ContinueChoice
from domain.booking import SessionBooking
from domain.commands import PaymentMethodUpdateResult
from domain.ids import OpaqueId, StripeId
from domain.money import RequestCurrency
from domain.practice import EndReason, RelationshipEnded
from domain.slots import MAX_RANGE_DAYS, WeeklySlotRule
from domain.status import Actor, BookingKind, CancelReason, RefundReason, SessionStatus
from domain.zones import IanaZone


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _strict_with_examples(*examples: dict[str, Any]) -> ConfigDict:
    """A request body's config: strict, frozen, and the examples the OpenAPI shows for it (each
    one valid: tests/unit/test_openapi_examples.py)."""
    return ConfigDict(extra="forbid", frozen=True, json_schema_extra={"examples": list(examples)})


def _absent_is_the_therapists_zone(schema: dict[str, Any]) -> None:
    zone = {key: schema.pop(key) for key in ("$ref",) if key in schema}
    schema.pop("default", None)
    schema["anyOf"] = [zone, {"type": "null"}]


EXAMPLE_START = "2027-06-07T09:00:00Z"
"""The instant the examples book at. Any future instant within the booking horizon (366 days) works:
one fixed date goes stale (`409 start_in_past` once passed, `409 start_too_far` until it is near)."""
FUTURE_INSTANT = (
    "Any future instant within 366 days (the example's date is only an example: replace it with one "
    "in that range)."
)
PRACTICE_ZONE = (
    "The therapist's IANA zone, used only if this request starts the practice: the therapist's "
    "first request to any `/v1/therapists/{therapist_id}` command (slot, payment account, end of a "
    "relationship) or their first booking (its `therapist_timezone`) creates their practice with "
    "that zone. From then on the practice keeps the zone it was created with — its reserved slots' "
    "wall-clock times and their occurrences are in it — and a later request's `timezone` is ignored."
)


class BookSessionBody(SessionBooking):
    """The booking as the caller sends it. The rules across its fields are checked after its shape,
    a refusal being a `409` with the rule's code: each is stated on the field it concerns.
    `session_id` is the booking's idempotency key (this route takes no `Idempotency-Key`)."""

    model_config = _strict_with_examples(
        {
            "session_id": "ses_7f3a9c",
            "therapist_id": "thr_1",
            "client_id": "cli_1",
            "kind": "therapist_follow_up",
            "start": EXAMPLE_START,
            "duration_minutes": 50,
            "therapist_timezone": "Europe/London",
            "client_timezone": "America/New_York",
            "amount_minor": 6000,
            "currency": "gbp",
            "stripe_customer_id": "cus_1",
            "payment_method_id": "pm_card_visa",
            "client_agreed": True,
        },
        {
            "session_id": "ses_7f3a9d",
            "therapist_id": "thr_1",
            "client_id": "cli_1",
            "kind": "client_follow_up",
            "start": EXAMPLE_START,
            "therapist_timezone": "Europe/London",
            "amount_minor": 6000,
            "currency": "gbp",
            "stripe_customer_id": "cus_1",
            "payment_method_id": "pm_card_visa",
        },
    )

    kind: BookingKind = Field(
        description="Who books which kind: the client books `initial_prepaid` and "
        "`client_follow_up`, the therapist `therapist_follow_up` and `therapist_manual`, an admin "
        'any (another party: `409 not_allowed`, "this kind of booking is made by the …"). '
        "`initial_prepaid` needs `prepaid_payment_intent_id`; every other kind needs "
        "`payment_method_id` and no `prepaid_payment_intent_id`; `therapist_follow_up` and "
        "`therapist_manual` need `client_agreed: true` (else `409 invalid_combination`)."
    )
    start: Instant = Field(
        description="Must be in the future (`409 start_in_past`) and at most 366 days ahead (the "
        "booking horizon: `409 start_too_far`); only `therapist_manual` may be in the past, by at "
        "most 14 days (a session that took place: `409 start_too_far_back` beyond); a client's own "
        "booking needs 24 hours' notice (`409 notice_too_short`). " + FUTURE_INSTANT
    )
    duration_minutes: WireBookableMinutes = 50
    client_timezone: IanaZone = Field(
        # Never used: SessionBooking reads an absent (or null) zone as the therapist's before this
        # default could apply, so the schema states no default a generated client would send.
        default="Europe/London",
        description="The client's IANA zone, for the local times their notices give; absent or "
        "null: the therapist's zone.",
        json_schema_extra=_absent_is_the_therapists_zone,
    )
    amount_minor: WireAmountMinor
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
    client_agreed: WireBool = Field(
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
    model_config = _strict_with_examples(
        {"requested_by": "client", "reason": "client_request"},
        {
            "requested_by": "client",
            "reason": "client_request",
            "submitted_by": "therapist",
            "discretionary_refund": True,
        },
    )

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
    discretionary_refund: WireBool = Field(
        default=False,
        description="Waives a client's late-cancellation charge: only with `requested_by: client` "
        "and filed by a therapist or admin (`409 invalid_combination` otherwise).",
    )


class RescheduleBody(_Body):
    model_config = _strict_with_examples({"requested_by": "client", "new_start": EXAMPLE_START})

    requested_by: Actor = Field(
        description="Whose move it is (it decides the policy): the `Acting-Party`'s role or a lesser "
        "one (client < therapist < admin); a higher one is `409 submitter_not_allowed`."
    )
    new_start: Instant = Field(
        description="Must be in the future (`409 start_in_past`), at most 366 days ahead (the "
        "booking horizon: `409 start_too_far`) and differ from the current start (`409 same_start`). "
        + FUTURE_INSTANT
    )


class AttendanceBody(_Body):
    """The rules across these fields are checked after the body's shape: a body that breaks one is
    refused with `409` and the rule's code, stated on each field below."""

    model_config = _strict_with_examples(
        {"outcome": "attended", "continue_sessions": "same_time", "client_agreed": True},
        {
            "outcome": "attended",
            "continue_sessions": "different_time",
            "new_start": EXAMPLE_START,
            "client_agreed": True,
            "reserve_slot": True,
        },
        {
            "outcome": "client_no_show",
            "end_relationship": True,
            "end_reason": "client_request",
            "refund": True,
            "refund_amount_minor": 3000,
        },
    )

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
    client_agreed: WireBool = Field(
        default=False, description="The client agreed to the follow-up: required for any rebooking."
    )
    reserve_slot: WireBool = Field(
        default=False,
        description="Keep the weekly time for the client; not with `end_relationship` "
        "(`409 contradictory_update`).",
    )
    end_relationship: WireBool = Field(
        default=False,
        description="Needs `end_reason` (`409 end_reason_required`); not with a rebooking or "
        "`reserve_slot` (`409 contradictory_update`).",
    )
    end_reason: EndReason | None = Field(
        default=None, description="Required with `end_relationship: true` (`409 end_reason_required`)."
    )
    cancel_future_sessions: WireBool = Field(
        default=False,
        description="Only with `end_relationship: true` (`409 contradictory_update` otherwise).",
    )
    refund: WireBool = False
    refund_amount_minor: WireAmountMinor | None = Field(
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
    """Who refunds is the `Acting-Party` (the session's therapist or an admin)."""

    model_config = _strict_with_examples({"reason": "goodwill"}, {"reason": "goodwill", "amount_minor": 1500})

    reason: RefundReason
    """Why, as a code (never free text)."""
    amount_minor: WireAmountMinor | None = None
    """How much (minor units); absent, everything still refundable."""


class NoShowBody(_Body):
    """Who marks it is the `Acting-Party` (the session's therapist or an admin); nothing else."""

    model_config = _strict_with_examples({})


class PaymentMethodBody(_Body):
    model_config = _strict_with_examples({"payment_method_id": "pm_card_visa"})

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
    model_config = _strict_with_examples(
        {
            "client_id": "cli_1",
            "weekday": 0,
            "local_time": "09:00",
            "duration_minutes": 50,
            "timezone": "Europe/London",
        }
    )

    client_id: OpaqueId
    weekday: WireInt = Field(ge=0, le=6, description="0 = Monday … 6 = Sunday")
    local_time: WallClockTime = Field(
        description="wall-clock start in the therapist's zone, without an offset"
    )
    duration_minutes: WireInt = Field(ge=15, le=240)
    timezone: IanaZone = Field(description=PRACTICE_ZONE)

    def rule(self) -> WeeklySlotRule:
        return WeeklySlotRule(
            weekday=self.weekday, local_time=self.local_time, duration_minutes=self.duration_minutes
        )


class PaymentAccountBody(_Body):
    model_config = _strict_with_examples({"account_id": "acct_1Nv0FGQ9RKHgCVdK", "timezone": "Europe/London"})

    account_id: StripeId = Field(
        pattern=r"^acct_[A-Za-z0-9_]{1,250}$",
        description="the therapist's connected Stripe account, `acct_…`",
    )
    timezone: IanaZone = Field(description=PRACTICE_ZONE)


class EndRelationshipBody(_Body):
    model_config = _strict_with_examples(
        {"reason": "client_request", "cancel_future_sessions": True, "timezone": "Europe/London"}
    )

    reason: EndReason
    cancel_future_sessions: WireBool = False
    """Also cancel the client's sessions starting after now, as the therapist's cancellations."""
    timezone: IanaZone = Field(description=PRACTICE_ZONE)


class RelationshipEndedResponse(RelationshipEnded):
    cancelled_session_ids: list[str] = Field(default_factory=list)
    """Future sessions this request cancelled (only with ``cancel_future_sessions``)."""


class OccurrencesRange(_Body):
    """Local dates ``[start_date, end_date]`` in the therapist's zone. The range's own rule is the
    domain query's (``OccurrencesQuery``), applied by the route: a ``409`` when broken."""

    # A query string may carry parameters no schema can forbid (a cache-buster ``_=…``): ignored.
    model_config = ConfigDict(extra="ignore", frozen=True)

    start_date: CalendarDate = Field(description="The first local date (inclusive).")
    end_date: CalendarDate = Field(
        description=f"The last local date (inclusive): not before `start_date`, and at most "
        f"{MAX_RANGE_DAYS} days from it counting both (`409 invalid_combination` otherwise)."
    )
