"""What a confirmation does, keyed by the test PaymentMethod id (mirrors Stripe's test cards)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Final, Literal

__all__ = [
    "BEHAVIOURS",
    "Behaviour",
    "behaviour_for_pm",
    "card_details",
    "is_shared_test_pm",
    "payment_method_object",
]

Outcome = Literal["succeed", "decline", "authenticate"]


@dataclass(frozen=True)
class Behaviour:
    name: str
    outcome: Outcome
    brand: str
    last4: str
    code: str | None = None
    decline_code: str | None = None
    advice_code: str | None = None
    message: str = ""
    param: str | None = None


BEHAVIOURS: Final[dict[str, Behaviour]] = {
    b.name: b
    for b in (
        Behaviour("visa", "succeed", "visa", "4242"),
        Behaviour("mastercard", "succeed", "mastercard", "4444"),
        Behaviour(
            "insufficient_funds",
            "decline",
            "visa",
            "9995",
            code="card_declined",
            decline_code="insufficient_funds",
            advice_code="try_again_later",
            message="Your card has insufficient funds.",
        ),
        Behaviour(
            "generic_decline",
            "decline",
            "visa",
            "0002",
            code="card_declined",
            decline_code="generic_decline",
            message="Your card was declined.",
        ),
        Behaviour(
            "processing_error",
            "decline",
            "visa",
            "0119",
            code="processing_error",
            message="An error occurred while processing your card. Try again in a little bit.",
        ),
        Behaviour(
            "lost_card",
            "decline",
            "visa",
            "9987",
            code="card_declined",
            decline_code="lost_card",
            advice_code="do_not_try_again",
            message="Your card was declined.",
        ),
        Behaviour(
            "expired_card",
            "decline",
            "visa",
            "0069",
            code="expired_card",
            decline_code="expired_card",
            message="Your card has expired.",
            param="exp_month",
        ),
        Behaviour(
            "authentication_required",
            "authenticate",
            "visa",
            "3184",
            code="authentication_required",
            decline_code="authentication_required",
            message="Your card was declined. This transaction requires authentication.",
        ),
    )
}

# A pm id matches a prefix exactly or as ``prefix_<suffix>``; requiring the "_" keeps
# ``pm_card_chargeDeclined_x`` from being mistaken for ``pm_card_chargeDeclinedLostCard``.
_PM_PREFIXES: Final[dict[str, str]] = {
    "pm_card_visa": "visa",
    "pm_card_mastercard": "mastercard",
    "pm_card_chargeDeclinedInsufficientFunds": "insufficient_funds",
    "pm_card_chargeDeclined": "generic_decline",
    "pm_card_chargeDeclinedProcessingError": "processing_error",
    "pm_card_chargeDeclinedLostCard": "lost_card",
    "pm_card_chargeDeclinedExpiredCard": "expired_card",
    "pm_card_authenticationRequired": "authentication_required",
}


def is_shared_test_pm(pm_id: str) -> bool:
    """Stripe's own test ids (``pm_card_visa`` exactly) work on every account, like Stripe's.

    A suffixed id (``pm_card_visa_ab12``) is the stand-in's model of one customer's saved card on
    the platform: a connected account cannot use it until it is cloned there, as with Stripe."""
    return pm_id in _PM_PREFIXES


def behaviour_for_pm(pm_id: str, overrides: dict[str, str]) -> Behaviour | None:
    """Resolve a pm id: exact override first, then ``name`` or ``name_<suffix>`` test ids."""
    override = overrides.get(pm_id)
    if override is not None:
        return BEHAVIOURS[override]
    for prefix, name in _PM_PREFIXES.items():
        if pm_id == prefix or pm_id.startswith(prefix + "_"):
            return BEHAVIOURS[name]
    return None


def card_details(behaviour: Behaviour) -> dict[str, Any]:
    """The test card's own facts, shared by its PaymentMethod and the charges made on it."""
    return {
        "brand": behaviour.brand,
        "last4": behaviour.last4,
        "exp_month": 12,
        "exp_year": 2034,
        "country": "GB",
        "funding": "credit",
    }


def payment_method_object(
    pm_id: str,
    behaviour: Behaviour,
    created: int,
    *,
    fingerprint: str | None = None,
    metadata: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A card PaymentMethod shaped as Stripe's (``openapi/fixtures3.json``, ``payment_method``).

    ``fingerprint`` names the card itself: a clone on a connected account is the same card, so
    it keeps its original's fingerprint (Stripe's rule for telling the same card apart)."""
    return {
        "id": pm_id,
        "object": "payment_method",
        "allow_redisplay": "unspecified",
        "billing_details": {
            "address": {
                "city": None,
                "country": None,
                "line1": None,
                "line2": None,
                "postal_code": None,
                "state": None,
            },
            "email": None,
            "name": None,
            "phone": None,
            "tax_id": None,
        },
        "card": {
            "brand": behaviour.brand,
            "checks": {"address_line1_check": None, "address_postal_code_check": None, "cvc_check": "pass"},
            "country": "GB",
            "display_brand": behaviour.brand,
            "exp_month": 12,
            "exp_year": 2034,
            "fingerprint": fingerprint or _fingerprint(pm_id),
            "funding": "credit",
            "generated_from": None,
            "last4": behaviour.last4,
            "networks": {"available": [behaviour.brand], "preferred": None},
            "regulated_status": "unregulated",
            "three_d_secure_usage": {"supported": True},
            "wallet": None,
        },
        "created": created,
        "customer": None,
        "customer_account": None,
        "livemode": False,
        "metadata": dict(metadata or {}),
        "type": "card",
    }


def _fingerprint(pm_id: str) -> str:
    return hashlib.sha256(pm_id.encode()).hexdigest()[:16]
