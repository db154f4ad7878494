"""How charge results and webhook facts move a session's payment ledger (pure transitions)."""

from __future__ import annotations

from datetime import datetime

from domain.payments import ChargeOutcome, ChargeResult
from domain.policy import SessionPolicy, next_retry_at
from domain.state import ChargeAttempt, PaymentLedger
from domain.status import DeclineKind, PaymentStatus

_AWAITING_MONEY = frozenset(
    {PaymentStatus.DECLINED_SOFT, PaymentStatus.DECLINED_HARD, PaymentStatus.REQUIRES_ACTION}
)


def mark_paid(ledger: PaymentLedger) -> None:
    ledger.status = PaymentStatus.PAID
    ledger.amount_paid_minor = ledger.amount_minor
    ledger.client_secret = None
    ledger.next_charge_at = None
    ledger.retry_now = False


def record_charge(
    ledger: PaymentLedger,
    *,
    attempt: int,
    at: datetime,
    result: ChargeResult,
    start: datetime,
    policy: SessionPolicy,
    on_session: bool = False,
) -> None:
    """Apply one charge attempt's outcome: paid, a retry time, or a wait for the client."""
    ledger.attempts.append(
        ChargeAttempt(
            number=attempt,
            at=at,
            outcome=result.outcome,
            decline_kind=result.decline_kind,
            code=result.code,
            decline_code=result.decline_code,
            advice_code=result.advice_code,
            on_session=on_session,
        )
    )
    if result.payment_intent_id is not None:
        ledger.payment_intent_id = result.payment_intent_id
    ledger.retry_now = False
    if result.outcome is ChargeOutcome.SUCCEEDED:
        mark_paid(ledger)
    elif result.outcome is ChargeOutcome.REQUIRES_ACTION:
        ledger.status = PaymentStatus.REQUIRES_ACTION
        ledger.client_secret = result.client_secret
        ledger.next_charge_at = None
    elif result.decline_kind is DeclineKind.HARD:
        ledger.status = PaymentStatus.DECLINED_HARD
        ledger.next_charge_at = None
        _keep_secret(ledger, result)
    else:
        # Soft declines and requests Stripe refused outright both wait for the next attempt time.
        ledger.status = PaymentStatus.DECLINED_SOFT
        ledger.next_charge_at = next_retry_at(start, at, policy)
        _keep_secret(ledger, result)


def _keep_secret(ledger: PaymentLedger, result: ChargeResult) -> None:
    """A declined intent stays open: the client may pay it on-session from a payment link (their
    browser confirms it with this secret, with another card; the webhook settles the session)."""
    if result.client_secret is not None:
        ledger.client_secret = result.client_secret


def apply_succeeded_intent(
    ledger: PaymentLedger, payment_intent_id: str, *, held_settles: bool = False
) -> bool:
    """A ``payment_intent.succeeded`` fact; True when it settled an unpaid session.

    Only a session waiting for money moves: a late or duplicated event never moves a paid,
    refunded or voided session backwards, and an in-flight charge reports for itself.
    ``held_settles``: a held charge waits for money too — a try whose answer was lost may have gone
    through before the account was paused (sessions past ``charge-held-settles``).
    """
    awaiting = _AWAITING_MONEY | {PaymentStatus.ON_HOLD} if held_settles else _AWAITING_MONEY
    if ledger.status not in awaiting:
        return False
    if ledger.payment_intent_id is None:
        # An attempt whose answer was lost created this intent; the webhook was routed to this
        # session by its metadata, so it is ours.
        ledger.payment_intent_id = payment_intent_id
    if ledger.payment_intent_id != payment_intent_id:
        return False
    mark_paid(ledger)
    return True


def apply_refunded_amount(ledger: PaymentLedger, payment_intent_id: str, amount_refunded: int) -> None:
    """A ``charge.refunded`` fact carries the cumulative amount: it can only grow."""
    if ledger.payment_intent_id == payment_intent_id:
        ledger.amount_refunded_minor = max(ledger.amount_refunded_minor, amount_refunded)


def awaits_money(ledger: PaymentLedger) -> bool:
    return ledger.status in _AWAITING_MONEY


def may_hold_open_intent(ledger: PaymentLedger, *, held_tries: bool = False) -> bool:
    """An unpaid session that may have a PaymentIntent the client could still pay: void it
    before the session closes. A failed attempt may have created one without telling us; so may a
    held one that was a real try (``held_tries``: sessions past ``charge-held-settles``) — the
    void's lookup finds it, and one that went through is refunded instead."""
    if ledger.voided or ledger.status in (PaymentStatus.PAID, PaymentStatus.VOIDED):
        return False
    if ledger.payment_intent_id is not None or ledger.unanswered_charge:
        return True
    unknown = {ChargeOutcome.FAILED, ChargeOutcome.HELD} if held_tries else {ChargeOutcome.FAILED}
    return any(attempt.outcome in unknown for attempt in ledger.attempts)
