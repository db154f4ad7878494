"""Payment activity inputs/results, idempotency keys and webhook facts.

Idempotency keys come from business state (session id + purpose + business attempt number kept in
workflow state) so an activity retry replays the first request instead of charging again.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from domain.ids import OpaqueId, StripeId
from domain.money import AmountMinor, Currency
from domain.status import DeclineKind


def charge_idempotency_key(session_id: str, attempt: int, key_generation: int = 0) -> str:
    """One key per business attempt; a later generation of it only after Stripe may have forgotten
    the first (a retry after a long outage), and only after looking the PaymentIntent up."""
    key = f"session:{session_id}:charge:{attempt}"
    return key if key_generation == 0 else f"{key}:{key_generation}"


def refund_idempotency_key(session_id: str, refund_number: int) -> str:
    return f"session:{session_id}:refund:{refund_number}"


def extra_refund_idempotency_key(session_id: str, payment_intent_id: str, refund_number: int) -> str:
    """A second payment's refund: named by its PaymentIntent, and by the request (a refused one is
    never replayed from Stripe's cache)."""
    return f"session:{session_id}:refund:{payment_intent_id}:{refund_number}"


def void_idempotency_key(session_id: str, request_number: int = 1) -> str:
    # A retried void (after Stripe refused one) gets a new key, so a stored error is not replayed.
    return (
        f"session:{session_id}:void" if request_number == 1 else f"session:{session_id}:void:{request_number}"
    )


class _Payload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class ChargeRequest(_Payload):
    session_id: OpaqueId
    attempt: int = Field(ge=1)
    amount_minor: AmountMinor
    currency: Currency
    customer_id: StripeId
    payment_method_id: StripeId
    payment_intent_id: StripeId | None = None
    """Known after the first attempt: later attempts re-confirm the same PaymentIntent."""
    key_generation: int = Field(default=0, ge=0)
    """0: the attempt's own key. More: tried again after Stripe was unreachable for longer than it
    keeps keys (or with another card); the activity looks the PaymentIntent up before creating."""
    off_session: bool = True
    """Nobody is present (merchant-initiated: the charge time, its retries): a card that needs
    authentication is declined ``authentication_required``. False: the client is present
    (``domain.presence``) and the bank may ask for 3-D Secure in their browser."""
    connected_account_id: StripeId | None = None
    """The therapist's connected account: the saved card is cloned onto it and the PaymentIntent
    is created and confirmed there (``Stripe-Account``), a direct charge. ``None``: the platform's
    own charge (every session booked before connected accounts)."""
    application_fee_minor: int | None = Field(default=None, ge=0)
    """The marketplace's commission on a direct charge (``application_fee_amount``;
    ``domain.commission``); ``None`` without a connected account."""

    @property
    def idempotency_key(self) -> str:
        return charge_idempotency_key(self.session_id, self.attempt, self.key_generation)

    @property
    def confirm_idempotency_key(self) -> str:
        """The key of a confirmation of an intent found by lookup: never the create's, which an
        unanswered try of the same attempt may have used for the intent found."""
        return f"{self.idempotency_key}:confirm"

    @property
    def may_have_created_intent(self) -> bool:
        """An earlier try (an attempt, or this attempt under an older key) may have created the
        session's PaymentIntent without us learning its id."""
        return self.payment_intent_id is None and (self.attempt > 1 or self.key_generation > 0)


class ChargeOutcome(StrEnum):
    SUCCEEDED = "succeeded"
    DECLINED = "declined"
    REQUIRES_ACTION = "requires_action"
    FAILED = "failed"
    """Stripe refused the request itself (configuration, invalid state): needs ops, not the client."""
    HELD = "held"
    """Not attempted: the therapist's connected account cannot take charges (Stripe disabled them).
    Neither the client's fault nor a decline: the session holds the charge until the account can."""


class ChargeResult(_Payload):
    outcome: ChargeOutcome
    payment_intent_id: StripeId | None = None
    payment_intent_status: str | None = None
    client_secret: str | None = None
    """For an on-session payment by the client (authentication required)."""
    decline_kind: DeclineKind | None = None
    code: str | None = None
    decline_code: str | None = None
    advice_code: str | None = None
    application_fee_minor: int | None = None
    """The application fee Stripe took on the charge (its ``application_fee_amount``) when it
    succeeded on a connected account; ``None`` otherwise."""
    connected_account_id: StripeId | None = None
    """The connected account the PaymentIntent lives on (the request's), for the history."""
    attempted: bool = True
    """False for a ``HELD`` charge found before anything was sent (the account's check): no key
    was used. True when Stripe refused a real attempt because the account cannot charge."""


class AccountChargesFact(_Payload):
    """Stripe's current word on a therapist's connected account, sent to the sessions held on it
    when the account can take charges again (read from Stripe after an ``account.updated``)."""

    account_id: StripeId
    charges_enabled: bool


class VoidRequest(_Payload):
    session_id: OpaqueId
    request_number: int = Field(default=1, ge=1)
    customer_id: StripeId
    payment_intent_id: StripeId | None = None
    """``None`` when a charge attempt's answer was lost: the activity looks the intent up."""
    connected_account_id: StripeId | None = None
    """The connected account the session's PaymentIntent lives on; ``None``: the platform."""

    @property
    def idempotency_key(self) -> str:
        return void_idempotency_key(self.session_id, self.request_number)


class VoidResult(_Payload):
    voided: bool
    """True when nothing can be collected any more: cancelled now or before, or no intent exists."""
    payment_intent_id: StripeId | None = None
    payment_intent_status: str
    """``succeeded`` when the client paid before the void arrived: the workflow refunds instead;
    ``none`` when no PaymentIntent exists for the session."""


class PaymentReadRequest(_Payload):
    """Where the session's PaymentIntent stands now (read before giving up on an unpaid session)."""

    session_id: OpaqueId
    customer_id: StripeId
    payment_intent_id: StripeId | None = None
    """``None`` when a charge attempt's answer was lost: the activity looks the intent up."""
    connected_account_id: StripeId | None = None
    """The connected account the session's PaymentIntent lives on; ``None``: the platform."""


class PaymentRead(_Payload):
    payment_intent_id: StripeId | None = None
    payment_intent_status: str
    """Stripe's status (``succeeded`` when the client paid); ``none`` when no PaymentIntent exists."""


class RefundRequest(_Payload):
    """Bring the session's refunds up to ``target_refunded_minor`` in total.

    The activity reads what the charge has already refunded and refunds only the difference, so
    a retry after a lost answer (or a refund made elsewhere) never refunds twice.
    """

    session_id: OpaqueId
    refund_number: int = Field(ge=1)
    payment_intent_id: StripeId
    target_refunded_minor: AmountMinor
    extra: bool = False
    """The PaymentIntent is not the one the session is paid with but a second payment of it (two
    tries went through in an outage): refunded in full, under a key that names it."""
    connected_account_id: StripeId | None = None
    """The connected account the charge was made on (refunded there, borne by the therapist);
    ``None``: the platform's own charge."""
    refund_application_fee: bool | None = None
    """Give the marketplace's commission back with the refund, in proportion to the amount
    refunded (Stripe's ``refund_application_fee``; ``domain.commission.refund_returns_commission``).
    Only for a connected account's charge; ``None`` on the platform's own."""
    return_whole_fee: bool = False
    """After the refund, the platform returns whatever it still holds of the charge's fee itself
    (``POST /v1/application_fees/{fee}/refunds``; ``domain.commission.returns_whole_fee``): the
    commission goes back and this refund completes the charge. False in requests recorded before."""

    @property
    def idempotency_key(self) -> str:
        if self.extra:
            return extra_refund_idempotency_key(self.session_id, self.payment_intent_id, self.refund_number)
        return refund_idempotency_key(self.session_id, self.refund_number)

    @property
    def fee_refund_idempotency_key(self) -> str:
        """The fee's own refund after this request's refund: named by the request, so a retry
        replays it and a later request's return is a new one."""
        return f"{self.idempotency_key}:fee"


class RefundResult(_Payload):
    refund_id: StripeId | None
    """The refund created by this request; ``None`` when nothing was left to refund."""
    amount_minor: int
    """Refunded by this request."""
    refunded_total_minor: int
    """Refunded on the charge in all, this request included."""
    captured_minor: int
    """What the charge actually took: the most that can ever be refunded."""
    application_fee_minor: int | None = None
    """The application fee taken on the charge (a connected account's), as Stripe reports it."""
    application_fee_refunded_minor: int | None = None
    """Of it, returned to the therapist so far (the platform's ApplicationFee ``amount_refunded``
    after this refund); ``None`` without a connected account."""
    connected_account_id: StripeId | None = None
    """The connected account the refund was made on (the request's), for the history."""


PaymentEventType = Literal["payment_intent.succeeded", "payment_intent.payment_failed", "charge.refunded"]


class PaymentEvent(_Payload):
    """A fact reported by a Stripe webhook, delivered to the session as a signal."""

    event_id: str = Field(pattern=r"^evt_[A-Za-z0-9_]{1,250}$")
    type: PaymentEventType
    payment_intent_id: StripeId
    created: datetime
    amount_refunded_minor: int | None = None
    """For ``charge.refunded``: the charge's cumulative refunded amount."""
    amount_received_minor: int | None = None
    """For ``payment_intent.succeeded``: what the client paid. Not used by any decision: it is the
    kept financial fact of a payment the client made present (checkout, 3-D Secure), whose amount
    is otherwise only in the client's erasable payloads (``temporal_client.erasure.history_money``)."""
    currency: str | None = None
    """With ``amount_received_minor``: the PaymentIntent's currency (lower case, as Stripe's)."""
    code: str | None = None
    decline_code: str | None = None


_HANDLED_EVENT_TYPES = frozenset(
    {"payment_intent.succeeded", "payment_intent.payment_failed", "charge.refunded"}
)


def _event_time(created: object) -> datetime:
    """Stripe's ``created`` (Unix seconds); anything that is not a plausible one is refused."""
    if isinstance(created, bool) or not isinstance(created, int | float):
        return datetime.fromtimestamp(0, tz=UTC)
    try:
        return datetime.fromtimestamp(created, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise ValueError("the event's created time is out of range") from None


def _received(intent: dict[str, object]) -> int | None:
    received = intent.get("amount_received")
    return (
        received if isinstance(received, int) and not isinstance(received, bool) and received >= 0 else None
    )


def _currency(intent: dict[str, object]) -> str | None:
    currency = intent.get("currency")
    return currency if isinstance(currency, str) and len(currency) == 3 else None


def payment_event_from_stripe(event: dict[str, object]) -> tuple[str, PaymentEvent] | None:
    """Map a verified Stripe event to ``(session_id, PaymentEvent)``; None when it is not ours.

    Events without ``metadata.session_id`` (created outside Sessionflow) or of other types are
    acknowledged and ignored by the caller.
    """
    event_type = event.get("type")
    data = event.get("data")
    if event_type not in _HANDLED_EVENT_TYPES or not isinstance(data, dict):
        return None
    obj = data.get("object")
    if not isinstance(obj, dict):
        return None
    metadata = obj.get("metadata") or {}
    session_id = metadata.get("session_id") if isinstance(metadata, dict) else None
    intent_id = obj.get("id") if event_type != "charge.refunded" else obj.get("payment_intent")
    if not isinstance(session_id, str) or not isinstance(intent_id, str):
        return None
    error = obj.get("last_payment_error") or {}
    fact = PaymentEvent(
        event_id=str(event.get("id")),
        type=event_type,
        payment_intent_id=intent_id,
        created=_event_time(event.get("created")),
        amount_refunded_minor=obj.get("amount_refunded") if event_type == "charge.refunded" else None,
        amount_received_minor=_received(obj) if event_type == "payment_intent.succeeded" else None,
        currency=_currency(obj) if event_type == "payment_intent.succeeded" else None,
        code=error.get("code") if isinstance(error, dict) else None,
        decline_code=error.get("decline_code") if isinstance(error, dict) else None,
    )
    return session_id, fact
