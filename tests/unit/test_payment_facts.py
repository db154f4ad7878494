"""Which Stripe webhook facts the API need not signal: only those a describe proves the session
already has (``domain.payment_facts``). When in doubt it signals: a missed fact can lose money."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from domain.payment_facts import KnownFact, known_fact
from domain.payments import PaymentEvent, PaymentEventType
from domain.status import SessionStatus

PAID_INTENT = "pi_paid"
OTHER_INTENT = "pi_other"


def _event(type: PaymentEventType, intent: str = PAID_INTENT) -> PaymentEvent:
    return PaymentEvent(
        event_id="evt_1",
        type=type,
        payment_intent_id=intent,
        created=datetime(2026, 12, 1, tzinfo=UTC),
        amount_refunded_minor=1000 if type == "charge.refunded" else None,
    )


S = SessionStatus
SUCCEEDED = "payment_intent.succeeded"
FAILED = "payment_intent.payment_failed"
REFUNDED = "charge.refunded"

CASES: list[tuple[str, str, str | None, str | None, KnownFact | None]] = [
    # (event type, event's intent, SessionStatus, SessionPaymentIntent, skipped because)
    # The session was paid with this very intent and says so: nothing to settle, nothing extra.
    (SUCCEEDED, PAID_INTENT, S.PAID, PAID_INTENT, KnownFact.PAYMENT_KNOWN),
    (SUCCEEDED, PAID_INTENT, S.AWAITING_UPDATE, PAID_INTENT, KnownFact.PAYMENT_KNOWN),
    (SUCCEEDED, PAID_INTENT, S.ATTENDED, PAID_INTENT, KnownFact.PAYMENT_KNOWN),
    (SUCCEEDED, PAID_INTENT, S.CLIENT_NO_SHOW, PAID_INTENT, KnownFact.PAYMENT_KNOWN),
    (SUCCEEDED, PAID_INTENT, S.COMPLETED, PAID_INTENT, KnownFact.PAYMENT_KNOWN),
    # closed without its attendance update, paid with this PaymentIntent: the charge was kept
    (SUCCEEDED, PAID_INTENT, S.UNREPORTED, PAID_INTENT, KnownFact.PAYMENT_KNOWN),
    # Another intent of a paid session is a second payment: refunded only if the session hears it.
    (SUCCEEDED, OTHER_INTENT, S.PAID, PAID_INTENT, None),
    # A session started before SessionPaymentIntent existed proves nothing.
    (SUCCEEDED, PAID_INTENT, S.PAID, None, None),
    # Unpaid or cancelled: the payment settles it, or is owed back.
    (SUCCEEDED, PAID_INTENT, S.PAYMENT_DUE, None, None),
    (SUCCEEDED, PAID_INTENT, S.AWAITING_CLIENT_ACTION, None, None),
    (SUCCEEDED, PAID_INTENT, S.PAYMENT_FAILED, None, None),
    (SUCCEEDED, PAID_INTENT, S.SCHEDULED, None, None),
    (SUCCEEDED, PAID_INTENT, S.PAYMENT_ON_HOLD, None, None),
    (SUCCEEDED, PAID_INTENT, S.CANCELLED_LATE, PAID_INTENT, None),
    (SUCCEEDED, PAID_INTENT, S.CANCELLED_BY_THERAPIST, PAID_INTENT, None),
    (SUCCEEDED, PAID_INTENT, S.CANCELLED_FREE, PAID_INTENT, None),
    (SUCCEEDED, PAID_INTENT, S.CANCELLED_UNPAID, None, None),
    # A failure moves no session; it is news only to money work Stripe refused, which needs money.
    (FAILED, PAID_INTENT, S.SCHEDULED, None, KnownFact.FAILURE_IGNORED),
    (FAILED, PAID_INTENT, S.PAYMENT_DUE, None, KnownFact.FAILURE_IGNORED),
    (FAILED, PAID_INTENT, S.PAYMENT_FAILED, None, KnownFact.FAILURE_IGNORED),
    (FAILED, PAID_INTENT, S.AWAITING_CLIENT_ACTION, None, KnownFact.FAILURE_IGNORED),
    (FAILED, PAID_INTENT, S.PAYMENT_ON_HOLD, None, KnownFact.FAILURE_IGNORED),
    # A paid, ended or cancelled session may hold a refund or void Stripe refused: signal.
    (FAILED, OTHER_INTENT, S.PAID, PAID_INTENT, None),
    (FAILED, OTHER_INTENT, S.AWAITING_UPDATE, None, None),
    (FAILED, OTHER_INTENT, S.ATTENDED, None, None),
    (FAILED, OTHER_INTENT, S.COMPLETED, None, None),
    (FAILED, OTHER_INTENT, S.UNREPORTED, None, None),
    (FAILED, PAID_INTENT, S.CANCELLED_LATE, None, None),
    (FAILED, PAID_INTENT, S.CANCELLED_UNPAID, None, None),
    (FAILED, PAID_INTENT, S.CANCELLED_FREE, None, None),
    (FAILED, PAID_INTENT, S.CANCELLED_BY_THERAPIST, None, None),
    (FAILED, OTHER_INTENT, S.CLIENT_NO_SHOW, None, None),
    # A refund may carry an amount the session has not seen: always signalled.
    (REFUNDED, PAID_INTENT, S.PAID, PAID_INTENT, None),
    (REFUNDED, PAID_INTENT, S.COMPLETED, PAID_INTENT, None),
    (REFUNDED, PAID_INTENT, S.CANCELLED_BY_THERAPIST, PAID_INTENT, None),
    (REFUNDED, PAID_INTENT, S.SCHEDULED, None, None),
]


@pytest.mark.parametrize(("event_type", "intent", "status", "paid_intent", "expected"), CASES)
def test_only_a_fact_the_session_provably_has_is_not_signalled(
    event_type: PaymentEventType,
    intent: str,
    status: str | None,
    paid_intent: str | None,
    expected: KnownFact | None,
) -> None:
    assert known_fact(_event(event_type, intent), status, paid_intent) is expected


@pytest.mark.parametrize("event_type", [SUCCEEDED, FAILED, REFUNDED])
def test_a_session_whose_status_is_unknown_is_always_signalled(event_type: PaymentEventType) -> None:
    assert known_fact(_event(event_type), None, PAID_INTENT) is None
    assert known_fact(_event(event_type), "a_status_of_a_later_release", PAID_INTENT) is None


def test_every_status_is_decided_for_a_succeeded_and_a_failed_payment() -> None:
    # A status added later must be placed deliberately (it is signalled until it is).
    decided = {(event_type, status) for event_type, _, status, _, _ in CASES}
    for status in SessionStatus:
        assert (SUCCEEDED, status) in decided
        assert (FAILED, status) in decided
