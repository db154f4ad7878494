"""The readable state of one session: what the ``state`` query returns and the workflow result."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from domain.attendance import AttendanceRecord, AttendanceResult
from domain.booking import SessionBooking
from domain.disputes import DisputeRecord
from domain.ids import OpaqueId
from domain.payments import ChargeOutcome
from domain.policy import SessionPolicy
from domain.status import (
    Actor,
    BookingKind,
    CancelReason,
    DeclineKind,
    PaymentStatus,
    RefundReason,
    SessionStatus,
)


class ChargeAttempt(BaseModel):
    number: int
    at: datetime
    outcome: ChargeOutcome
    decline_kind: DeclineKind | None = None
    code: str | None = None
    decline_code: str | None = None
    advice_code: str | None = None
    on_session: bool = False
    """Made while the client was present (customer-initiated); False: off-session, the merchant's."""


class RefundRecord(BaseModel):
    number: int
    refund_id: str | None
    amount_minor: int
    at: datetime


class RefundGrant(BaseModel):
    """A refund a therapist or admin granted (``refund``), in full or in part, with its reason code."""

    number: int
    amount_minor: int
    reason: RefundReason
    requested_by: Actor
    at: datetime
    covers_minor: int = 0
    """Refunded outside the service (Stripe's dashboard) beyond what was owed when this was
    granted: the grant comes on top of it, so the client gets ``amount_minor`` more."""
    request_id: str | None = None
    """The request's id (its update id): the same request reaching the session's refunds workflow
    after the session closed finds it here and is answered with this grant, never granted again."""
    refunded_total_minor: int = 0
    """Granted or owed back in all right after this grant (its result, repeated to a retry)."""
    refundable_minor: int = 0
    """Still refundable right after this grant (its result, repeated to a retry)."""


class ExtraPayment(BaseModel):
    """A PaymentIntent of this session that succeeded although the session is paid with another
    (a try that went unanswered in an outage went through, and a later one charged too): the
    client paid twice, so it is refunded in full and announced as a refund."""

    payment_intent_id: str
    refunded_minor: int = 0
    """Refunded on it so far, as Stripe last reported."""
    announced_minor: int = 0
    """Of that, announced to the client and therapist."""
    refunded: bool = False
    """Stripe reports it refunded in full: nothing more is owed on it."""


class PaymentLedger(BaseModel):
    """Everything the session knows about its money; the workflow's single source for it."""

    status: PaymentStatus = PaymentStatus.NOT_DUE
    amount_minor: int
    currency: str
    payment_method_id: str | None = None
    payment_intent_id: str | None = None
    client_secret: str | None = None
    amount_paid_minor: int = 0
    amount_refunded_minor: int = 0
    next_charge_at: datetime | None = None
    retry_now: bool = False
    attempts: list[ChargeAttempt] = Field(default_factory=list)
    refunds: list[RefundRecord] = Field(default_factory=list)
    last_attempted_payment_method_id: str | None = None
    refund_requests: int = 0
    """Refund requests made (each with its own idempotency key), successful or not."""
    void_requests: int = 0
    """Void requests made (the second and later get keys of their own), successful or not."""
    voided: bool = False
    charge_kept_by_late_move: bool = False
    """The client moved the session with 48 h notice or less: its charge stands (rule 6)."""
    blocked_reason: str | None = None
    """Stripe refused a refund or void: retried later; ops can see why here."""
    unreachable_tries: int = 0
    """Tries of the current charge attempt that never got an answer from Stripe (its call's whole
    retry budget spent on timeouts, 5xx, 429…). Not a decline: 0 again once Stripe answers."""
    unreachable_since: datetime | None = None
    """When the first of those tries began; ``None`` once Stripe answered."""
    unreachable_reason: str | None = None
    """The last such failure's type (``TimeoutError``, ``APIError``…), for ops."""
    charge_key_generation: int = 0
    """Which key of the current attempt is in use (``domain.payments.charge_idempotency_key``)."""
    charge_key_first_used_at: datetime | None = None
    """When the current attempt's key was first sent: it is reused only within the policy's
    ``charge_key_reuse_limit`` of this."""
    unanswered_charge: bool = False
    """Some try never got an answer: a PaymentIntent may exist whose id we never learnt."""
    ops_blocked: str | None = None
    """The charge was given up and needs a person (ops, with the therapist), never the client's
    fault: ``unpaid_at_start`` — the session's start came while its charge was still outstanding
    because Stripe had been unreachable, so it went ahead (never cancelled unpaid once started);
    ``stripe_unreachable`` — Stripe still unanswered ``stripe_outage_retry_limit_after_end``
    after the session's end. No further charge is planned."""
    extra_payments: list[ExtraPayment] = Field(default_factory=list)
    """Succeeded PaymentIntents of this session besides ``payment_intent_id``: refunded in full."""
    granted_refunds: list[RefundGrant] = Field(default_factory=list)
    """Refunds a therapist or admin granted (``domain.refunds``): they add to what the rules owe
    back, and all together never exceed what was captured."""


class CancellationRecord(BaseModel):
    requested_by: Actor
    recorded_by: Actor
    reason: CancelReason
    at: datetime
    discretionary_refund: bool


class RescheduleRecord(BaseModel):
    requested_by: Actor
    at: datetime
    old_start: datetime
    new_start: datetime


class NoShowRecord(BaseModel):
    """The therapist marked the client as not attending, before the full attendance update."""

    requested_by: Actor
    at: datetime


class SessionState(BaseModel):
    model_config = ConfigDict(extra="ignore")

    session_id: OpaqueId
    therapist_id: OpaqueId
    client_id: OpaqueId
    kind: BookingKind
    status: SessionStatus
    start: datetime
    end: datetime
    therapist_timezone: str
    client_timezone: str | None = None
    """The client's IANA zone (the booking's; None in states recorded before it existed)."""
    payment: PaymentLedger
    cancellation: CancellationRecord | None = None
    reschedules: list[RescheduleRecord] = Field(default_factory=list)
    attendance: AttendanceRecord | None = None
    attendance_result: AttendanceResult | None = None
    no_show: NoShowRecord | None = None
    """Marked ``client_no_show`` from the start (``mark_no_show``); the attendance update follows."""
    reminders_sent: int = 0
    tzdata_version: str | None = None
    """The IANA zone data release in force when the session was booked (None: booked before it
    was recorded). Its instants are UTC and never move with a later release (README)."""
    dispute: DisputeRecord | None = None
    """The client's bank disputes the charge (``domain.disputes``); None: no dispute heard of."""


class SessionWorkflowInput(BaseModel):
    """The workflow's one argument: the booking and the policy agreed at booking time."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    booking: SessionBooking
    policy: SessionPolicy = SessionPolicy()
    booked_at: datetime | None = None
    """When the booking was accepted (validated against this clock); the workflow's start time
    when absent. Charges due "at once" are due from here, even if the worker was slow to start."""
    tzdata_version: str | None = None
    """The IANA zone data release the booking was validated with (``settings.zone_data_version``,
    filled by ``book_session``); absent in inputs recorded before it existed."""
    time_claimed: bool = False
    """The session's time is claimed at the therapist's practice (``domain.time_claims``): a
    cancellation releases it. False in inputs recorded before claims existed."""


class FollowUpStart(BaseModel):
    """What ``start_follow_up`` is asked: the follow-up's input, and the session that booked it."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    follow_up: SessionWorkflowInput
    booked_by_session_id: OpaqueId


class FollowUpStarted(BaseModel):
    """What ``start_follow_up`` returns: the follow-up's session id; ``already`` when an earlier
    attempt had started it."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    session_id: OpaqueId
    already: bool = False
