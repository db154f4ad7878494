"""The fields Stripe returns on every object that the stand-in's rules never touch.

Each function gives one object's untouched fields with the values Stripe returns for what the
project does (a card payment in test mode, no Connect options unless a handler sets them). A
handler spreads them first and its own fields after, so a field it models always wins:
``{**shapes.charge_fields(card, fingerprint), "id": …}``. tests/standin/test_openapi_contract.py
holds every object to Stripe's published shape (its fields, types, nulls and no unknown field).
"""

from __future__ import annotations

import secrets
import string
from typing import Any

__all__ = [
    "charge_fields",
    "customer_fields",
    "payment_intent_fields",
    "refund_fields",
]

Json = dict[str, Any]


def _address() -> Json:
    return {"city": None, "country": None, "line1": None, "line2": None, "postal_code": None, "state": None}


def _billing_details() -> Json:
    return {"address": _address(), "email": None, "name": None, "phone": None}


def _card_checks() -> Json:
    return {"address_line1_check": None, "address_postal_code_check": None, "cvc_check": "pass"}


def customer_fields() -> Json:
    return {
        "address": None,
        "balance": 0,
        "currency": None,
        "default_source": None,
        "delinquent": False,
        "discount": None,
        # Stripe's is 8 upper-case letters and digits, unique per account.
        "invoice_prefix": "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(8)),
        "invoice_settings": {
            "custom_fields": None,
            "default_payment_method": None,
            "footer": None,
            "rendering_options": None,
        },
        "next_invoice_sequence": 1,
        "phone": None,
        "preferred_locales": [],
        "shipping": None,
        "tax_exempt": "none",
        "test_clock": None,
    }


def payment_intent_fields() -> Json:
    return {
        "amount_details": {"tip": {}},
        "application": None,
        "application_fee_amount": None,
        "customer_account": None,
        "excluded_payment_method_types": None,
        "managed_payments": None,
        "on_behalf_of": None,
        "payment_method_configuration_details": None,
        "payment_method_options": {
            "card": {
                "installments": None,
                "mandate_options": None,
                "network": None,
                "request_three_d_secure": "automatic",
            }
        },
        "processing": None,
        "receipt_email": None,
        "review": None,
        "shipping": None,
        "source": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "transfer_data": None,
        "transfer_group": None,
    }


def charge_fields(card: Json, fingerprint: str) -> Json:
    """``card``: brand, last4, exp_month, exp_year, country and funding of the card the charge
    was made on; ``fingerprint``: its PaymentMethod's (the same card, the same fingerprint)."""
    return {
        "application": None,
        "application_fee": None,
        "application_fee_amount": None,
        "billing_details": _billing_details(),
        "calculated_statement_descriptor": "SESSIONFLOW",
        "disputed": False,
        "failure_balance_transaction": None,
        "fraud_details": {},
        "on_behalf_of": None,
        "payment_method_details": {
            "card": {
                **card,
                "checks": _card_checks(),
                "fingerprint": fingerprint,
                "installments": None,
                "mandate": None,
                "network": card["brand"],
                "network_token": {"used": False},
                "three_d_secure": None,
                "wallet": None,
            },
            "type": "card",
        },
        "receipt_email": None,
        "receipt_number": None,
        "receipt_url": "https://pay.stripe.com/receipts/payment/" + secrets.token_urlsafe(48),
        "review": None,
        "shipping": None,
        "source": None,
        "source_transfer": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "transfer_data": None,
        "transfer_group": None,
    }


def refund_fields(charge: Json) -> Json:
    return {
        "balance_transaction": None,
        "customer": charge.get("customer"),
        "customer_account": None,
        "destination_details": {"card": {"type": "refund"}, "type": "card"},
        "payment_method": charge.get("payment_method"),
        "receipt_number": None,
        "source_transfer_reversal": None,
        "transfer_reversal": None,
    }
