"""The webhook's payment fact keeps what a client-present payment received (the ledger kept after an
erasure reads it: ``temporal_client.erasure.history_money``); nothing else gets an amount."""

from __future__ import annotations

from typing import Any

import pytest

from domain.payments import payment_event_from_stripe


def intent_event(event_type: str, **intent: Any) -> dict[str, object]:
    return {
        "id": "evt_1",
        "type": event_type,
        "created": 1_800_000_000,
        "data": {"object": {"id": "pi_1", "metadata": {"session_id": "ses_1"}, **intent}},
    }


def test_a_succeeded_payment_keeps_the_amount_received_and_its_currency() -> None:
    mapped = payment_event_from_stripe(
        intent_event("payment_intent.succeeded", amount=6000, amount_received=6000, currency="gbp")
    )

    assert mapped is not None
    assert (mapped[1].amount_received_minor, mapped[1].currency) == (6000, "gbp")


def test_a_failed_payment_keeps_no_amount() -> None:
    mapped = payment_event_from_stripe(
        intent_event("payment_intent.payment_failed", amount=6000, amount_received=0, currency="gbp")
    )

    assert mapped is not None
    assert (mapped[1].amount_received_minor, mapped[1].currency) == (None, None)


@pytest.mark.parametrize(
    ("received", "currency", "kept"),
    [
        (True, "gbp", (None, "gbp")),
        (-1, "gbp", (None, "gbp")),
        ("6000", "gbp", (None, "gbp")),
        (6000, "pounds", (6000, None)),
        (6000, None, (6000, None)),
    ],
)
def test_an_implausible_amount_or_currency_is_not_kept(
    received: object, currency: object, kept: tuple[int | None, str | None]
) -> None:
    mapped = payment_event_from_stripe(
        intent_event("payment_intent.succeeded", amount_received=received, currency=currency)
    )

    assert mapped is not None
    assert (mapped[1].amount_received_minor, mapped[1].currency) == kept
