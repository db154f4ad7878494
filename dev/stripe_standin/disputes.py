"""Disputes: a client's bank questions a charge (issue 14 §3).

Stripe opens a dispute itself (a cardholder's bank files a chargeback); nobody creates one through
the API. So the stand-in opens one through its control API (``POST /_standin/charges/{id}/dispute``
or :meth:`StripeStandIn.open_dispute`) and closes it there too, as the bank's decision
(``POST /_standin/disputes/{id}/close`` with ``won`` or ``lost``). Between the two, the merchant
answers through the real routes: ``POST /v1/disputes/{id}`` (``evidence[…]``, ``metadata``,
``submit``), ``GET /v1/disputes/{id}``, ``GET /v1/disputes`` (``charge``, ``payment_intent``) and
``POST /v1/disputes/{id}/close`` (the merchant accepts it: lost).

The objects and events are shaped as Stripe's: a ``dp_…`` Dispute (``needs_response``, every
``evidence`` field present and null until given, ``evidence_details``), the charge's
``disputed: true``, and ``charge.dispute.created`` / ``.updated`` / ``.closed``. A refund of a
charged-back charge fails as Stripe fails it (``charge_disputed``) while the dispute is open or
lost (:func:`refusal_of_refund`); an inquiry (``warning_…``) or a won dispute leaves it refundable.
"""

from __future__ import annotations

import copy
import time
from typing import Final

from .errors import ApiError, invalid_request
from .routes import register_routes, route
from .store import PLATFORM, Json, RequestContext, Store, new_id

__all__ = [
    "DISPUTE_REASONS",
    "EVIDENCE_FIELDS",
    "close_dispute",
    "get_dispute",
    "list_disputes",
    "merchant_closes_dispute",
    "open_dispute",
    "refusal_of_refund",
    "update_dispute",
]

DISPUTE_REASONS: Final = (
    "bank_cannot_process",
    "check_returned",
    "credit_not_processed",
    "customer_initiated",
    "debit_not_authorized",
    "duplicate",
    "fraudulent",
    "general",
    "incorrect_account_details",
    "insufficient_funds",
    "noncompliant",
    "product_not_received",
    "product_unacceptable",
    "subscription_canceled",
    "unrecognized",
)

EVIDENCE_FIELDS: Final = (
    "access_activity_log",
    "billing_address",
    "cancellation_policy",
    "cancellation_policy_disclosure",
    "cancellation_rebuttal",
    "customer_communication",
    "customer_email_address",
    "customer_name",
    "customer_purchase_ip",
    "customer_signature",
    "duplicate_charge_documentation",
    "duplicate_charge_explanation",
    "duplicate_charge_id",
    "product_description",
    "receipt",
    "refund_policy",
    "refund_policy_disclosure",
    "refund_refusal_explanation",
    "service_date",
    "service_documentation",
    "shipping_address",
    "shipping_carrier",
    "shipping_date",
    "shipping_documentation",
    "shipping_tracking_number",
    "uncategorized_file",
    "uncategorized_text",
)

_OPEN: Final = ("warning_needs_response", "warning_under_review", "needs_response", "under_review")
_CLOSED: Final = ("warning_closed", "won", "lost")
# Stripe gives the merchant about three weeks to answer a chargeback.
_RESPONSE_WINDOW_SECONDS: Final = 21 * 24 * 3600
# Stripe limits the combined evidence text to 150,000 characters.
_EVIDENCE_LIMIT: Final = 150_000


def _now() -> int:
    return int(time.time())


def _dispute(store: Store, dispute_id: str, ctx: RequestContext) -> Json:
    """The dispute as the request's account sees it: a connected account's charge's dispute lives
    on that account (another account's id is "No such dispute", as for every object)."""
    return store._get(store.disputes, "dispute", dispute_id, ctx)


def _on_owner(store: Store, object_id: str) -> RequestContext:
    """A context on the account that owns ``object_id``: the bank's decisions come from no
    request, and their events belong where the charge lives (a Connect event carries ``account``)."""
    owner = store.owner_of(object_id)
    return RequestContext(account=None if owner == PLATFORM else owner)


def open_dispute(
    store: Store, charge_id: str, *, reason: str = "general", amount: int | None = None, inquiry: bool = False
) -> Json:
    """The client's bank disputes ``charge_id``: a ``needs_response`` dispute (``inquiry``: a
    ``warning_needs_response`` one, which is no chargeback yet) and ``charge.dispute.created``.
    Raises ``KeyError`` for an unknown charge and ``ValueError`` for what a bank could not file."""
    charge = store.charges.get(charge_id)
    if charge is None:
        raise KeyError(charge_id)
    if reason not in DISPUTE_REASONS:
        raise ValueError(f"unknown dispute reason {reason!r}; expected one of {', '.join(DISPUTE_REASONS)}")
    if not charge["captured"] or charge["status"] != "succeeded":
        raise ValueError(f"charge {charge_id} took no money to dispute")
    if any(d["charge"] == charge_id and d["status"] in _OPEN for d in store.disputes.values()):
        raise ValueError(f"charge {charge_id} already has an open dispute")
    disputed = charge["amount_captured"] if amount is None else amount
    if not 0 < disputed <= charge["amount_captured"]:
        raise ValueError(f"amount must be within 1..{charge['amount_captured']}")
    created = _now()
    dispute: Json = {
        "id": new_id("dp"),
        "object": "dispute",
        "amount": disputed,
        "balance_transactions": [],
        "charge": charge_id,
        "created": created,
        "currency": charge["currency"],
        "enhanced_eligibility_types": [],
        "evidence": {**dict.fromkeys(EVIDENCE_FIELDS), "enhanced_evidence": {}},
        "evidence_details": {
            "due_by": created + _RESPONSE_WINDOW_SECONDS,
            "enhanced_eligibility": {},
            "has_evidence": False,
            "past_due": False,
            "submission_count": 0,
        },
        "is_charge_refundable": inquiry,
        "livemode": False,
        "metadata": {},
        "network_reason_code": None,
        "payment_intent": charge["payment_intent"],
        "payment_method_details": {
            "card": {
                "brand": "visa",
                "case_type": "inquiry" if inquiry else "chargeback",
                "network_reason_code": None,
            },
            "type": "card",
        },
        "reason": reason,
        "status": "warning_needs_response" if inquiry else "needs_response",
    }
    ctx = _on_owner(store, charge_id)
    store.disputes[dispute["id"]] = dispute
    store._own(dispute, ctx)
    charge["disputed"] = True
    store._emit("charge.dispute.created", dispute, ctx)
    return copy.deepcopy(dispute)


def _evidence_param(params: Json) -> Json | None:
    value = params.get("evidence")
    if value is None:
        return None
    if not isinstance(value, dict):
        raise invalid_request("Invalid hash", param="evidence")
    unknown = sorted(set(value) - {*EVIDENCE_FIELDS, "enhanced_evidence"})
    if unknown:
        raise invalid_request(
            f"Received unknown parameter: evidence[{unknown[0]}]", param=f"evidence[{unknown[0]}]"
        )
    for key, text in value.items():
        if key != "enhanced_evidence" and not isinstance(text, str):
            raise invalid_request(f"Invalid string: {text!r}", param=f"evidence[{key}]")
    total = sum(len(text) for key, text in value.items() if key != "enhanced_evidence")
    if total > _EVIDENCE_LIMIT:
        raise invalid_request(
            f"The combined character count of the evidence fields must be at most {_EVIDENCE_LIMIT}.",
            param="evidence",
        )
    return dict(value)


def update_dispute(store: Store, dispute_id: str, params: Json, ctx: RequestContext) -> Json:
    """``POST /v1/disputes/{id}``: stage evidence (``submit=false``) or submit it (the default):
    a chargeback goes ``under_review`` (an inquiry ``warning_under_review``);
    ``charge.dispute.updated`` either way."""
    dispute = _dispute(store, dispute_id, ctx)
    evidence = _evidence_param(params)
    metadata = params.get("metadata")
    if (
        metadata is not None
        and metadata != ""
        and not (isinstance(metadata, dict) and all(isinstance(v, str) for v in metadata.values()))
    ):
        raise invalid_request("Invalid metadata: must be a map of strings", param="metadata")
    submit_value = params.get("submit", True)
    if submit_value in ("", None):
        submit_value = True
    if not isinstance(submit_value, bool):
        raise invalid_request(f"Invalid boolean: {submit_value}", param="submit")
    if dispute["status"] in _CLOSED:
        raise invalid_request(f"This dispute is already {dispute['status']}; it can no longer be updated.")
    if evidence is not None and dispute["status"] in ("under_review", "warning_under_review"):
        raise invalid_request("This dispute's evidence was already submitted; it can no longer be changed.")
    if evidence is not None:
        for key, text in evidence.items():
            dispute["evidence"][key] = text or None if key != "enhanced_evidence" else text
        dispute["evidence_details"]["has_evidence"] = any(
            dispute["evidence"][key] is not None for key in EVIDENCE_FIELDS
        )
    if isinstance(metadata, dict):
        merged = dict(dispute["metadata"])
        for key, value in metadata.items():
            if value == "":
                merged.pop(key, None)
            else:
                merged[key] = value
        dispute["metadata"] = merged
    elif metadata == "":
        dispute["metadata"] = {}
    if submit_value and dispute["status"] in ("needs_response", "warning_needs_response"):
        dispute["status"] = (
            "under_review" if dispute["status"] == "needs_response" else "warning_under_review"
        )
        dispute["evidence_details"]["submission_count"] += 1
    store._emit("charge.dispute.updated", dispute, ctx)
    return copy.deepcopy(dispute)


def close_dispute(store: Store, dispute_id: str, outcome: str) -> Json:
    """The bank decides: ``won`` (the money returns to the merchant; the charge is refundable
    again) or ``lost`` (it stays with the client); ``charge.dispute.closed``. Raises ``KeyError``
    for an unknown dispute and ``ValueError`` for one closed already or another outcome."""
    dispute = store.disputes.get(dispute_id)
    if dispute is None:
        raise KeyError(dispute_id)
    if outcome not in ("won", "lost"):
        raise ValueError("outcome must be won or lost")
    if dispute["status"] in _CLOSED:
        raise ValueError(f"dispute {dispute_id} is already {dispute['status']}")
    inquiry = dispute["status"].startswith("warning_")
    # An inquiry that the bank drops never became a chargeback: Stripe closes it warning_closed.
    dispute["status"] = "warning_closed" if inquiry and outcome == "won" else outcome
    dispute["is_charge_refundable"] = dispute["status"] != "lost"
    dispute["evidence_details"]["past_due"] = False
    store._emit("charge.dispute.closed", dispute, _on_owner(store, dispute_id))
    return copy.deepcopy(dispute)


def merchant_closes_dispute(store: Store, dispute_id: str, ctx: RequestContext) -> Json:
    """``POST /v1/disputes/{id}/close``: the merchant accepts the dispute, which is lost."""
    dispute = _dispute(store, dispute_id, ctx)
    if dispute["status"] in _CLOSED:
        raise invalid_request(f"This dispute is already {dispute['status']}.", code="dispute_already_closed")
    dispute["status"] = "lost"
    dispute["is_charge_refundable"] = False
    store._emit("charge.dispute.closed", dispute, ctx)
    return copy.deepcopy(dispute)


def get_dispute(store: Store, dispute_id: str, params: Json, ctx: RequestContext) -> Json:
    return store._expand(_dispute(store, dispute_id, ctx), params, ctx)


def list_disputes(store: Store, params: Json, ctx: RequestContext) -> Json:
    charge = params.get("charge") or None
    intent = params.get("payment_intent") or None
    items = [
        d
        for d in store.disputes.values()
        if (charge is None or d["charge"] == charge) and (intent is None or d["payment_intent"] == intent)
    ]
    return store._list(items, params, "/v1/disputes", ctx)


def refusal_of_refund(store: Store, charge: Json) -> ApiError | None:
    """Stripe refuses to refund a charge that was charged back (``charge_disputed``) while its
    dispute is open or lost; None when the refund may go ahead."""
    if not charge.get("disputed"):
        return None
    for dispute in store.disputes.values():
        if dispute["charge"] == charge["id"] and not dispute["is_charge_refundable"]:
            return invalid_request(
                f"Charge {charge['id']} has been charged back; cannot issue a refund.",
                code="charge_disputed",
                param="charge",
            )
    return None


_ID = r"(?P<id>[A-Za-z0-9_]+)"

register_routes(
    route("GET", r"^/v1/disputes$", lambda s, m, p, c: list_disputes(s, p, c)),
    route("GET", rf"^/v1/disputes/{_ID}$", lambda s, m, p, c: get_dispute(s, m["id"], p, c)),
    route("POST", rf"^/v1/disputes/{_ID}$", lambda s, m, p, c: update_dispute(s, m["id"], p, c)),
    route("POST", rf"^/v1/disputes/{_ID}/close$", lambda s, m, p, c: merchant_closes_dispute(s, m["id"], c)),
)
