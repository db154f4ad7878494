"""Stripe Connect objects of the stand-in: connected accounts and their status.

Shapes follow Stripe's own fixtures (``stripe/openapi`` ``openapi/fixtures3.json``, resource
``account``) so a contract test can hold them to the published schema.

What the stand-in simplifies, on purpose:

* A connected account is created **as if its owner had finished Stripe's onboarding**
  (``charges_enabled``, ``payouts_enabled``, ``details_submitted`` all true, nothing due): the
  stand-in has no hosted onboarding to walk through. ``StripeStandIn.set_account_status`` (or
  ``POST /_standin/accounts/{id}``) then models Stripe restricting or re-enabling it, and sends
  the ``account.updated`` Connect event Stripe sends.
* ``capabilities.card_payments`` follows ``charges_enabled`` and ``capabilities.transfers``
  follows ``payouts_enabled`` (``active`` / ``inactive``).
"""

from __future__ import annotations

import copy
from typing import Any, Final

__all__ = [
    "ACCOUNT_TYPES",
    "APPLICATION_FEE_NEEDS_CONNECT",
    "CHARGES_DISABLED_MESSAGE",
    "CONNECT_APPLICATION",
    "UNSET",
    "account_object",
    "application_fee_object",
    "apply_account_status",
    "fee_refund_object",
    "proportional_fee_refund",
]

Json = dict[str, Any]

ACCOUNT_TYPES: Final = ("standard", "express", "custom")

# The platform's Connect application, named on the objects its requests make on connected
# accounts (``application`` of a PaymentIntent, a Charge, an ApplicationFee).
CONNECT_APPLICATION: Final = "ca_StandInPlatformApplication00"

# Stripe's answer to a charge on a connected account whose charges are disabled: HTTP 400,
# ``invalid_request_error``, no ``code``. Sources: the message as users reported it
# (github.com/opencollective/opencollective/issues/5997); status 400, that type and no code as a
# Stripe iOS SDK error test models this very message (found by code search). Stripe's error-code
# list (docs.stripe.com/error-codes) has no code for it, so a caller tells it apart by the
# account's state (``charges_enabled`` / ``account.updated``), never by a code.
CHARGES_DISABLED_MESSAGE: Final = (
    "This Connect account cannot currently make live charges. The `requirements.disabled_reason` "
    "property on the account will provide information about why this account is currently "
    "disabled. If you are a customer trying to make a purchase, please contact the owner of this "
    "site. Your transaction has not been processed."
)

_CURRENCY_BY_COUNTRY: Final = {
    "GB": "gbp",
    "US": "usd",
    "CA": "cad",
    "AU": "aud",
    "NZ": "nzd",
    "CH": "chf",
    "SE": "sek",
    "NO": "nok",
    "DK": "dkk",
    "PL": "pln",
}
_EURO: Final = frozenset(
    {
        *("AT", "BE", "CY", "DE", "EE", "ES", "FI", "FR", "GR", "HR"),
        *("IE", "IT", "LT", "LU", "LV", "MT", "NL", "PT", "SI", "SK"),
    }
)


def default_currency(country: str) -> str:
    if country in _EURO:
        return "eur"
    return _CURRENCY_BY_COUNTRY.get(country, "usd")


def _requirements(disabled_reason: str | None) -> Json:
    return {
        "alternatives": [],
        "current_deadline": None,
        "currently_due": [],
        "disabled_reason": disabled_reason,
        "errors": [],
        "eventually_due": [],
        "past_due": [],
        "pending_verification": [],
    }


def account_object(
    account_id: str,
    *,
    account_type: str,
    country: str,
    email: str | None,
    metadata: dict[str, str],
    created: int,
) -> Json:
    """A connected account as Stripe shows it to its platform, onboarding already completed."""
    return {
        "id": account_id,
        "object": "account",
        "business_profile": {
            "annual_revenue": {"amount": None, "currency": None, "fiscal_year_end": None},
            "estimated_worker_count": None,
            "mcc": None,
            "minority_owned_business_designation": None,
            "name": None,
            "product_description": None,
            "support_address": {
                "city": None,
                "country": None,
                "line1": None,
                "line2": None,
                "postal_code": None,
                "state": None,
            },
            "support_email": None,
            "support_phone": None,
            "support_url": None,
            "url": None,
        },
        "business_type": None,
        "capabilities": {"card_payments": "active", "transfers": "active"},
        "charges_enabled": True,
        "controller": {"type": "account"} if account_type == "standard" else {"type": "application"},
        "country": country,
        "created": created,
        "default_currency": default_currency(country),
        "details_submitted": True,
        "email": email,
        "external_accounts": {
            "object": "list",
            "data": [],
            "has_more": False,
            "url": f"/v1/accounts/{account_id}/external_accounts",
        },
        "future_requirements": _requirements(None),
        "metadata": metadata,
        "payouts_enabled": True,
        "requirements": _requirements(None),
        "settings": {
            "bacs_debit_payments": {"display_name": None, "service_user_number": None},
            "branding": {"icon": None, "logo": None, "primary_color": None, "secondary_color": None},
            "card_issuing": {"tos_acceptance": {"date": None, "ip": None}},
            "card_payments": {
                "decline_on": {"avs_failure": True, "cvc_failure": True},
                "statement_descriptor_prefix": None,
                "statement_descriptor_prefix_kana": None,
                "statement_descriptor_prefix_kanji": None,
            },
            "dashboard": {"display_name": None, "timezone": "Etc/UTC"},
            "invoices": {"default_account_tax_ids": None, "hosted_payment_method_save": None},
            "payments": {
                "statement_descriptor": None,
                "statement_descriptor_kana": None,
                "statement_descriptor_kanji": None,
                "statement_descriptor_prefix_kana": None,
                "statement_descriptor_prefix_kanji": None,
            },
            "payouts": {
                "debit_negative_balances": True,
                "schedule": {"delay_days": 2, "interval": "daily"},
                "statement_descriptor": None,
            },
            "sepa_debit_payments": {},
        },
        "tos_acceptance": {"date": None, "ip": None, "user_agent": None},
        "type": account_type,
    }


UNSET: Final[Any] = object()  # "leave as it is", where None is a value (disabled_reason)


def apply_account_status(
    account: Json,
    *,
    charges_enabled: bool | None = None,
    payouts_enabled: bool | None = None,
    disabled_reason: Any = UNSET,
) -> Json:
    """Change an account's status in place; return Stripe's ``previous_attributes`` (the old
    values of exactly what changed, nested like the object), empty when nothing changed."""
    previous: Json = {}
    if charges_enabled is not None and account["charges_enabled"] != charges_enabled:
        previous["charges_enabled"] = account["charges_enabled"]
        account["charges_enabled"] = charges_enabled
    if payouts_enabled is not None and account["payouts_enabled"] != payouts_enabled:
        previous["payouts_enabled"] = account["payouts_enabled"]
        account["payouts_enabled"] = payouts_enabled
    capabilities = {
        "card_payments": "active" if account["charges_enabled"] else "inactive",
        "transfers": "active" if account["payouts_enabled"] else "inactive",
    }
    changed = {k: v for k, v in account["capabilities"].items() if capabilities.get(k, v) != v}
    if changed:
        previous["capabilities"] = changed
        account["capabilities"] = {**account["capabilities"], **capabilities}
    if disabled_reason is not UNSET and account["requirements"]["disabled_reason"] != disabled_reason:
        previous["requirements"] = {"disabled_reason": account["requirements"]["disabled_reason"]}
        requirements = copy.deepcopy(account["requirements"])
        account["requirements"] = {**requirements, "disabled_reason": disabled_reason}
    return previous


# --- application fees -----------------------------------------------------------------------

# Stripe's refusal of ``application_fee_amount`` on a PaymentIntent that moves no money for a
# connected account; wording as Stripe returns it (quoted widely, e.g. in code search hits),
# code as its ``doc_url`` names it there (parameter_missing).
APPLICATION_FEE_NEEDS_CONNECT: Final = (
    "Can only apply an application_fee_amount when the PaymentIntent is attempting a direct "
    "payment (using an OAuth key or Stripe-Account header) or destination payment (using "
    "`transfer_data[destination]`)."
)


def application_fee_object(fee_id: str, *, account: str, charge: Json, amount: int, created: int) -> Json:
    """The platform's ApplicationFee for a direct charge (shape: fixtures3 ``application_fee``)."""
    return {
        "id": fee_id,
        "object": "application_fee",
        "account": account,
        "amount": amount,
        "amount_refunded": 0,
        "application": CONNECT_APPLICATION,
        "balance_transaction": None,
        "charge": charge["id"],
        "created": created,
        "currency": charge["currency"],
        "fee_source": {"charge": charge["id"], "type": "charge"},
        "livemode": False,
        "originating_transaction": None,
        "refunded": False,
        "refunds": {
            "object": "list",
            "data": [],
            "has_more": False,
            "url": f"/v1/application_fees/{fee_id}/refunds",
        },
    }


def fee_refund_object(
    refund_id: str, *, fee: Json, amount: int, metadata: dict[str, str], created: int
) -> Json:
    """A ``fee_refund`` (shape: fixtures3 ``fee_refund``)."""
    return {
        "id": refund_id,
        "object": "fee_refund",
        "amount": amount,
        "balance_transaction": None,
        "created": created,
        "currency": fee["currency"],
        "fee": fee["id"],
        "metadata": metadata,
    }


def proportional_fee_refund(fee: Json, *, charge_amount: int, refund_amount: int, completes: bool) -> int:
    """The part of an application fee a charge refund with ``refund_application_fee`` returns.

    Stripe: "If a full charge refund is given, the full application fee will be refunded.
    Otherwise, the application fee will be refunded in an amount proportional to the amount of
    the charge refunded" (API reference, ``refund_application_fee``; changelog 2013-12-03).
    Stripe does not document the rounding: the stand-in rounds half up (a guess) and lets the
    refund that completes the charge return whatever fee is left, so a fee refunded in parts
    along with its whole charge is returned to the minor unit.
    """
    remaining: int = fee["amount"] - fee["amount_refunded"]
    if completes:
        return remaining
    share: int = (2 * fee["amount"] * refund_amount + charge_amount) // (2 * charge_amount)
    return min(remaining, share)
