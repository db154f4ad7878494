"""In-memory Stripe objects and the business rules of the endpoints the project uses.

Handlers validate every parameter before mutating anything, so a validation error (never saved
under an idempotency key) leaves no half-created object behind. Card outcomes mutate state and
then raise a storable 402, exactly like Stripe, where a declined PaymentIntent exists and the
decline is replayed for the same key.
"""

from __future__ import annotations

import contextlib
import copy
import json
import secrets
import string
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from . import shapes
from .behaviours import BEHAVIOURS, Behaviour, behaviour_for_pm, card_details, payment_method_object
from .errors import DOC_BASE, ApiError, invalid_request, parameter_missing, resource_missing

__all__ = ["API_VERSION", "Json", "RequestContext", "Store"]

Json = dict[str, Any]

API_VERSION: Final = "2026-10-28.endive"

_ID_ALPHABET: Final = string.ascii_letters + string.digits
_CONFIRMABLE: Final = ("requires_payment_method", "requires_confirmation", "requires_action")
_CANCELABLE: Final = (*_CONFIRMABLE, "requires_capture")
_CAPTURE_METHODS: Final = ("automatic", "automatic_async", "manual")
_CANCELLATION_REASONS: Final = ("duplicate", "fraudulent", "requested_by_customer", "abandoned")
_REFUND_REASONS: Final = ("duplicate", "fraudulent", "requested_by_customer")
_KIND_BY_PREFIX: Final = {
    "cus": "customers",
    "pi": "payment_intents",
    "ch": "charges",
    "re": "refunds",
    "evt": "events",
    "dp": "disputes",
}


def new_id(prefix: str, length: int = 24) -> str:
    return prefix + "_" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(length))


def _now() -> int:
    return int(time.time())


@dataclass(frozen=True)
class RequestContext:
    """Where a mutation came from; copied into Event.request like Stripe does."""

    request_id: str | None = None
    idempotency_key: str | None = None


EventSink = Callable[[str, bytes], None]


# --- parameter validation -------------------------------------------------------------------


def _int_param(params: Json, name: str, *, required: bool, minimum: int = 1) -> int | None:
    value = params.get(name)
    if value is None or value == "":
        if required:
            raise parameter_missing(name)
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid_request(f"Invalid integer: {value}", code="parameter_invalid_integer", param=name)
    if value < minimum:
        raise invalid_request(
            f"This value must be greater than or equal to {minimum}.",
            code="parameter_invalid_integer",
            param=name,
        )
    return value


def _str_param(params: Json, name: str, *, required: bool = False) -> str | None:
    value = params.get(name)
    if value is None or value == "":
        if required:
            raise parameter_missing(name)
        return None
    if not isinstance(value, str):
        raise invalid_request(f"Invalid string: {value!r}", code="parameter_invalid_string", param=name)
    return value


def _choice_param(params: Json, name: str, choices: tuple[str, ...]) -> str | None:
    value = _str_param(params, name)
    if value is not None and value not in choices:
        raise invalid_request(f"Invalid {name}: must be one of {', '.join(choices)}", param=name)
    return value


def _bool_param(params: Json, name: str) -> bool:
    value = params.get(name)
    if value is None or value == "":
        return False
    if isinstance(value, bool):
        return value
    raise invalid_request(f"Invalid boolean: {value}", param=name)


def _off_session_param(params: Json) -> bool:
    # The SDK also allows "one_off"/"recurring", which both mean the customer is absent.
    value = params.get("off_session")
    if value in ("one_off", "recurring"):
        return True
    return _bool_param(params, "off_session")


_RETURN_URL_REQUIRED: Final = (
    "A `return_url` must be specified because this Payment Intent is configured to automatically "
    "accept the payment methods enabled in the Dashboard, some of which may require a full page "
    "redirect to succeed. If you do not want to accept redirect-based payment methods, set "
    "`automatic_payment_methods[enabled]` to `true` and `automatic_payment_methods[allow_redirects]` "
    "to `never` when creating Setup Intents and Payment Intents."
)


def _payment_method_config(params: Json) -> tuple[list[str], Json | None]:
    """``payment_method_types`` and ``automatic_payment_methods`` of a new PaymentIntent: since
    API version 2023-08-16 a PI created without a list of types accepts the Dashboard's payment
    methods, redirects allowed unless ``automatic_payment_methods[allow_redirects]=never``."""
    # ``allowed_payment_method_types`` is the 2026 API's name for the list.
    types = params.get("payment_method_types") or params.get("allowed_payment_method_types")
    if types not in (None, ""):
        if not isinstance(types, list) or not types or not all(isinstance(t, str) for t in types):
            raise invalid_request("Invalid array", param="payment_method_types")
        return list(types), None
    automatic = params.get("automatic_payment_methods")
    allow = "always"
    if isinstance(automatic, dict):
        allow = automatic.get("allow_redirects") or "always"
        if allow not in ("always", "never"):
            raise invalid_request(
                "Invalid automatic_payment_methods[allow_redirects]: must be one of always, never",
                param="automatic_payment_methods[allow_redirects]",
            )
    return ["card"], {"enabled": True, "allow_redirects": allow}


def _check_return_url(pi: Json, *, off_session: bool, return_url: str | None) -> None:
    """Stripe refuses an on-session confirmation of a PI that may redirect without a
    ``return_url``, even for a card (which only redirects for 3-D Secure); an off-session one can
    redirect nobody and needs none."""
    automatic = pi.get("automatic_payment_methods")
    may_redirect = isinstance(automatic, dict) and automatic.get("allow_redirects") != "never"
    if may_redirect and not off_session and return_url is None:
        raise invalid_request(_RETURN_URL_REQUIRED, param="return_url")


def _metadata_param(params: Json) -> dict[str, str] | None:
    value = params.get("metadata")
    if value is None:
        return None
    if value == "":
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise invalid_request("Invalid metadata: must be a map of strings", param="metadata")
    return dict(value)


def _merge_metadata(current: dict[str, str], update: dict[str, str]) -> dict[str, str]:
    # Stripe semantics: an empty value deletes the key, others are upserted.
    merged = dict(current)
    for key, value in update.items():
        if value == "":
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def _currency_param(params: Json) -> str:
    currency = _str_param(params, "currency", required=True)
    assert currency is not None
    if len(currency) != 3 or not currency.isalpha():
        raise invalid_request(f"Invalid currency: {currency}", param="currency")
    return currency.lower()


def _expand_param(params: Json) -> list[str]:
    value = params.get("expand")
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise invalid_request("Invalid array", param="expand")


def _next_action(pi: Json, return_url: str | None) -> Json:
    """What the customer's browser must do to authenticate: Stripe answers ``use_stripe_sdk`` (for
    Stripe.js ``handleNextAction`` with the client secret) unless the confirmation gave a
    ``return_url``, then a page to redirect the customer to."""
    if return_url is None:
        return {"type": "use_stripe_sdk", "use_stripe_sdk": {"type": "three_d_secure_redirect"}}
    return {
        "type": "redirect_to_url",
        "redirect_to_url": {
            "url": f"https://hooks.stripe.com/3d_secure_2/hosted?payment_intent={pi['id']}",
            "return_url": return_url,
        },
    }


def _list_window(params: Json, items: list[Json]) -> Json:
    limit = _int_param(params, "limit", required=False) or 10
    if limit > 100:
        raise invalid_request("This value must be less than or equal to 100.", param="limit")
    newest_first = list(reversed(items))
    after = _str_param(params, "starting_after")
    if after is not None:
        ids = [item["id"] for item in newest_first]
        if after not in ids:
            raise resource_missing("object", after, param="starting_after", status=400)
        newest_first = newest_first[ids.index(after) + 1 :]
    return {"data": newest_first[:limit], "has_more": len(newest_first) > limit}


class Store:
    """All stand-in state. Every public method must be called with ``lock`` held."""

    def __init__(self, on_event: EventSink) -> None:
        self.lock = threading.RLock()
        self._on_event = on_event
        self.webhooks_enabled = False
        self.customers: dict[str, Json] = {}
        self.payment_intents: dict[str, Json] = {}
        self.charges: dict[str, Json] = {}
        self.refunds: dict[str, Json] = {}
        self.events: dict[str, Json] = {}
        self.event_payloads: dict[str, bytes] = {}
        self.pm_overrides: dict[str, str] = {}
        self.disputes: dict[str, Json] = {}  # dev/stripe_standin/disputes.py

    def reset(self) -> None:
        for table in (
            self.customers,
            self.payment_intents,
            self.charges,
            self.refunds,
            self.events,
            self.event_payloads,
            self.pm_overrides,
            self.disputes,
        ):
            table.clear()

    def set_pm_behaviour(self, pm_id: str, behaviour: str) -> None:
        if behaviour not in BEHAVIOURS:
            raise ValueError(f"unknown behaviour {behaviour!r}; expected one of {sorted(BEHAVIOURS)}")
        self.pm_overrides[pm_id] = behaviour

    # --- helpers ------------------------------------------------------------------------------

    def _resolve_pm(self, pm_id: str) -> Behaviour:
        behaviour = behaviour_for_pm(pm_id, self.pm_overrides)
        if behaviour is None:
            raise resource_missing("PaymentMethod", pm_id, param="payment_method", status=400)
        return behaviour

    def _lookup(self, object_id: str) -> Json | None:
        kind = _KIND_BY_PREFIX.get(object_id.split("_", 1)[0])
        if kind is not None:
            found: Json | None = getattr(self, kind).get(object_id)
            return found
        if object_id.startswith("pm_"):
            behaviour = behaviour_for_pm(object_id, self.pm_overrides)
            if behaviour is not None:
                return payment_method_object(object_id, behaviour, _now())
        return None

    def _expand(self, obj: Json, params: Json) -> Json:
        result = copy.deepcopy(obj)
        for path in _expand_param(params):
            self._expand_path(result, path.split("."))
        return result

    def _expand_path(self, node: Json, parts: list[str]) -> None:
        head, rest = parts[0], parts[1:]
        if node.get("object") == "list" and head == "data":
            for item in node["data"]:
                if rest:
                    self._expand_path(item, rest)
            return
        value = node.get(head)
        if isinstance(value, str):
            found = self._lookup(value)
            if found is not None:
                value = copy.deepcopy(found)
                node[head] = value
        if isinstance(value, dict) and rest:
            self._expand_path(value, rest)

    def _get(self, table: dict[str, Json], kind: str, object_id: str) -> Json:
        found = table.get(object_id)
        if found is None:
            raise resource_missing(kind, object_id)
        return found

    def _list(self, items: list[Json], params: Json, url: str) -> Json:
        window = _list_window(params, items)
        listing = {"object": "list", "url": url, **window}
        return self._expand(listing, params)

    def _emit(self, event_type: str, obj: Json, ctx: RequestContext) -> None:
        event: Json = {
            "id": new_id("evt"),
            "object": "event",
            "api_version": API_VERSION,
            "created": _now(),
            "data": {"object": copy.deepcopy(obj)},
            "livemode": False,
            "pending_webhooks": 1 if self.webhooks_enabled else 0,
            "request": {"id": ctx.request_id, "idempotency_key": ctx.idempotency_key},
            "type": event_type,
        }
        # Serialised once so every (re)delivery of this event is byte-identical.
        payload = json.dumps(event, indent=2).encode()
        self.events[event["id"]] = event
        self.event_payloads[event["id"]] = payload
        self._on_event(event["id"], payload)

    def _new_charge(self, pi: Json, pm_id: str, behaviour: Behaviour, *, succeeded: bool) -> Json:
        captured = succeeded and pi["capture_method"] != "manual"
        charge: Json = {
            **shapes.charge_fields(card_details(behaviour)),
            "id": new_id("ch"),
            "object": "charge",
            "amount": pi["amount"],
            "amount_captured": pi["amount"] if captured else 0,
            "amount_refunded": 0,
            "balance_transaction": None,
            "captured": captured,
            "created": _now(),
            "currency": pi["currency"],
            "customer": pi["customer"],
            "description": pi["description"],
            "disputed": False,
            "failure_code": None if succeeded else behaviour.code,
            "failure_message": None if succeeded else behaviour.message,
            "livemode": False,
            "metadata": dict(pi["metadata"]),
            "outcome": {
                "network_status": "approved_by_network" if succeeded else "declined_by_network",
                "reason": None if succeeded else behaviour.decline_code or behaviour.code,
                "risk_level": "normal",
                "seller_message": "Payment complete."
                if succeeded
                else f"The bank returned the decline code `{behaviour.decline_code or behaviour.code}`.",
                "type": "authorized" if succeeded else "issuer_declined",
            },
            "paid": succeeded,
            "payment_intent": pi["id"],
            "payment_method": pm_id,
            "refunded": False,
            "status": "succeeded" if succeeded else "failed",
        }
        self.charges[charge["id"]] = charge
        return charge

    def _attempt(
        self,
        pi: Json,
        pm_id: str,
        behaviour: Behaviour,
        *,
        off_session: bool,
        authenticated: bool,
        ctx: RequestContext,
        return_url: str | None = None,
        use_stripe_sdk: bool = False,
    ) -> None:
        """Run one confirmation; raises the 402 for declines after storing the failed state.

        A card that needs authentication tells who is present apart, as Stripe does: off-session
        (nobody can authenticate) it is declined ``authentication_required`` and the PI goes back
        to ``requires_payment_method``; on-session the PI waits in ``requires_action`` for the
        customer's browser (``next_action``: ``use_stripe_sdk``, or ``redirect_to_url`` when the
        confirmation gave a ``return_url`` and not ``use_stripe_sdk``) and Stripe sends
        ``payment_intent.requires_action``."""
        pi["last_payment_error"] = None
        pi["next_action"] = None
        if behaviour.outcome == "succeed" or (behaviour.outcome == "authenticate" and authenticated):
            charge = self._new_charge(pi, pm_id, behaviour, succeeded=True)
            pi["payment_method"] = pm_id
            pi["latest_charge"] = charge["id"]
            if pi["capture_method"] == "manual":
                pi["status"] = "requires_capture"
                pi["amount_capturable"] = pi["amount"]
                return
            pi["status"] = "succeeded"
            pi["amount_received"] = pi["amount"]
            self._emit("payment_intent.succeeded", pi, ctx)
            return
        if behaviour.outcome == "authenticate" and not off_session:
            pi["payment_method"] = pm_id
            pi["status"] = "requires_action"
            pi["next_action"] = _next_action(pi, None if use_stripe_sdk else return_url)
            self._emit("payment_intent.requires_action", pi, ctx)
            return

        charge = self._new_charge(pi, pm_id, behaviour, succeeded=False)
        assert behaviour.code is not None
        error: Json = {
            "type": "card_error",
            "code": behaviour.code,
            "message": behaviour.message,
            "doc_url": f"{DOC_BASE}#{behaviour.code.replace('_', '-')}",
            "charge": charge["id"],
            "payment_method": payment_method_object(pm_id, behaviour, _now()),
        }
        if behaviour.decline_code is not None:
            error["decline_code"] = behaviour.decline_code
        if behaviour.advice_code is not None:
            error["advice_code"] = behaviour.advice_code
        if behaviour.param is not None:
            error["param"] = behaviour.param
        # Real Stripe detaches the failed method from the PI; callers find it in
        # last_payment_error.payment_method (what Stripe's own recovery sample reads).
        pi["payment_method"] = None
        pi["latest_charge"] = charge["id"]
        pi["status"] = "requires_payment_method"
        pi["last_payment_error"] = copy.deepcopy(error)
        self._emit("payment_intent.payment_failed", pi, ctx)
        raise ApiError(402, {**error, "payment_intent": copy.deepcopy(pi)}, storable=True)

    # --- customers ----------------------------------------------------------------------------

    def create_customer(self, params: Json, ctx: RequestContext) -> Json:
        metadata = _metadata_param(params) or {}
        customer: Json = {
            **shapes.customer_fields(),
            "id": new_id("cus", 14),
            "object": "customer",
            "created": _now(),
            "description": _str_param(params, "description"),
            "email": _str_param(params, "email"),
            "name": _str_param(params, "name"),
            "livemode": False,
            "metadata": metadata,
        }
        self.customers[customer["id"]] = customer
        return self._expand(customer, params)

    def get_customer(self, customer_id: str, params: Json) -> Json:
        return self._expand(self._get(self.customers, "customer", customer_id), params)

    # --- payment intents ----------------------------------------------------------------------

    def create_payment_intent(self, params: Json, ctx: RequestContext) -> Json:
        amount = _int_param(params, "amount", required=True)
        currency = _currency_param(params)
        confirm = _bool_param(params, "confirm")
        off_session = _off_session_param(params)
        if off_session and not confirm:
            raise invalid_request("off_session can only be used when confirm=true.", param="off_session")
        capture_method = _choice_param(params, "capture_method", _CAPTURE_METHODS) or "automatic"
        pm_id = _str_param(params, "payment_method")
        behaviour = self._resolve_pm(pm_id) if pm_id is not None else None
        if confirm and pm_id is None:
            raise parameter_missing("payment_method")
        metadata = _metadata_param(params) or {}
        method_types, automatic = _payment_method_config(params)
        return_url = _str_param(params, "return_url")
        if confirm:
            pending = {"automatic_payment_methods": automatic}
            _check_return_url(pending, off_session=off_session, return_url=return_url)

        pi_id = new_id("pi")
        pi: Json = {
            **shapes.payment_intent_fields(),
            "id": pi_id,
            "object": "payment_intent",
            "amount": amount,
            "amount_capturable": 0,
            "amount_received": 0,
            "canceled_at": None,
            "cancellation_reason": None,
            "capture_method": capture_method,
            "client_secret": f"{pi_id}_secret_{secrets.token_urlsafe(18)}",
            "confirmation_method": "automatic",
            "created": _now(),
            "currency": currency,
            "customer": _str_param(params, "customer"),
            "description": _str_param(params, "description"),
            "last_payment_error": None,
            "latest_charge": None,
            "livemode": False,
            "metadata": metadata,
            "next_action": None,
            "payment_method": pm_id,
            "payment_method_types": method_types,
            "automatic_payment_methods": automatic,
            "setup_future_usage": _str_param(params, "setup_future_usage"),
            "status": "requires_confirmation" if pm_id else "requires_payment_method",
        }
        self.payment_intents[pi_id] = pi
        if confirm:
            assert pm_id is not None and behaviour is not None
            self._attempt(
                pi,
                pm_id,
                behaviour,
                off_session=off_session,
                authenticated=False,
                ctx=ctx,
                return_url=return_url,
                use_stripe_sdk=_bool_param(params, "use_stripe_sdk"),
            )
        return self._expand(pi, params)

    def get_payment_intent(self, pi_id: str, params: Json) -> Json:
        return self._expand(self._get(self.payment_intents, "payment_intent", pi_id), params)

    def list_payment_intents(self, params: Json) -> Json:
        customer = _str_param(params, "customer")
        items = [pi for pi in self.payment_intents.values() if customer is None or pi["customer"] == customer]
        return self._list(items, params, "/v1/payment_intents")

    def _unexpected_state(self, pi: Json, action: str, allowed: tuple[str, ...]) -> ApiError:
        done = {"cancel": "canceled", "capture": "captured", "confirm": "confirmed"}.get(action, "updated")
        return invalid_request(
            f"You cannot {action} this PaymentIntent because it has a status of {pi['status']}."
            f" Only a PaymentIntent with one of the following statuses may be {done}: "
            f"{', '.join(allowed)}.",
            code="payment_intent_unexpected_state",
        )

    def update_payment_intent(self, pi_id: str, params: Json, ctx: RequestContext) -> Json:
        pi = self._get(self.payment_intents, "payment_intent", pi_id)
        metadata = _metadata_param(params)
        amount = _int_param(params, "amount", required=False)
        pm_id = _str_param(params, "payment_method")
        if pm_id is not None:
            self._resolve_pm(pm_id)
        description = _str_param(params, "description")
        changes_payment = amount is not None or pm_id is not None
        if changes_payment and pi["status"] not in _CONFIRMABLE:
            raise self._unexpected_state(pi, "update", _CONFIRMABLE)
        if metadata is not None:
            pi["metadata"] = _merge_metadata(pi["metadata"], metadata)
        if description is not None:
            pi["description"] = description
        if amount is not None:
            pi["amount"] = amount
        if pm_id is not None:
            pi["payment_method"] = pm_id
            pi["status"] = "requires_confirmation"
            pi["next_action"] = None
        return self._expand(pi, params)

    def confirm_payment_intent(self, pi_id: str, params: Json, ctx: RequestContext) -> Json:
        pi = self._get(self.payment_intents, "payment_intent", pi_id)
        if pi["status"] not in _CONFIRMABLE:
            raise self._unexpected_state(pi, "confirm", _CONFIRMABLE)
        pm_id = _str_param(params, "payment_method") or pi["payment_method"]
        if pm_id is None:
            raise parameter_missing("payment_method")
        behaviour = self._resolve_pm(pm_id)
        off_session = _off_session_param(params)
        return_url = _str_param(params, "return_url")
        _check_return_url(pi, off_session=off_session, return_url=return_url)
        self._attempt(
            pi,
            pm_id,
            behaviour,
            off_session=off_session,
            authenticated=False,
            ctx=ctx,
            return_url=return_url,
            use_stripe_sdk=_bool_param(params, "use_stripe_sdk"),
        )
        return self._expand(pi, params)

    def cancel_payment_intent(self, pi_id: str, params: Json, ctx: RequestContext) -> Json:
        pi = self._get(self.payment_intents, "payment_intent", pi_id)
        reason = _choice_param(params, "cancellation_reason", _CANCELLATION_REASONS)
        if pi["status"] not in _CANCELABLE:
            raise self._unexpected_state(pi, "cancel", _CANCELABLE)
        pi["status"] = "canceled"
        pi["canceled_at"] = _now()
        pi["cancellation_reason"] = reason
        pi["next_action"] = None
        pi["amount_capturable"] = 0
        self._emit("payment_intent.canceled", pi, ctx)
        return self._expand(pi, params)

    def capture_payment_intent(self, pi_id: str, params: Json, ctx: RequestContext) -> Json:
        pi = self._get(self.payment_intents, "payment_intent", pi_id)
        if pi["status"] != "requires_capture":
            raise self._unexpected_state(pi, "capture", ("requires_capture",))
        amount = _int_param(params, "amount_to_capture", required=False) or pi["amount_capturable"]
        if amount > pi["amount_capturable"]:
            raise invalid_request(
                "The amount to capture is greater than the amount capturable.",
                code="amount_too_large",
                param="amount_to_capture",
            )
        charge = self.charges[pi["latest_charge"]]
        charge["captured"] = True
        charge["amount_captured"] = amount
        pi["amount_capturable"] = 0
        pi["amount_received"] = amount
        pi["status"] = "succeeded"
        self._emit("payment_intent.succeeded", pi, ctx)
        return self._expand(pi, params)

    def authenticate_on_session(self, pi_id: str, payment_method: str | None = None) -> Json:
        """The customer returns and completes 3DS in the browser for this PaymentIntent.

        Accepts a PI waiting for action, or one whose off-session attempt failed (the browser
        then confirms with ``last_payment_error.payment_method``, as Stripe's recovery sample
        does, or with ``payment_method``: a new card the customer entered on a payment link).
        Raises KeyError for an unknown PI and ValueError when nothing can be confirmed.
        """
        pi = self.payment_intents.get(pi_id)
        if pi is None:
            raise KeyError(pi_id)
        if pi["status"] not in _CONFIRMABLE:
            raise ValueError(f"PaymentIntent {pi_id} has status {pi['status']}; nothing to authenticate")
        pm_id = payment_method or pi["payment_method"]
        if pm_id is None and pi["last_payment_error"] is not None:
            pm_id = pi["last_payment_error"]["payment_method"]["id"]
        if pm_id is None:
            raise ValueError(f"PaymentIntent {pi_id} has no payment method to authenticate")
        behaviour = self._resolve_pm(pm_id)
        # A card that declines after authentication leaves the PI in requires_payment_method
        # with the decline recorded, which is what the caller inspects.
        with contextlib.suppress(ApiError):
            self._attempt(pi, pm_id, behaviour, off_session=False, authenticated=True, ctx=RequestContext())
        return copy.deepcopy(pi)

    # --- charges and refunds ------------------------------------------------------------------

    def get_charge(self, charge_id: str, params: Json) -> Json:
        return self._expand(self._get(self.charges, "charge", charge_id), params)

    def list_charges(self, params: Json) -> Json:
        pi_id = _str_param(params, "payment_intent")
        customer = _str_param(params, "customer")
        items = [
            ch
            for ch in self.charges.values()
            if (pi_id is None or ch["payment_intent"] == pi_id)
            and (customer is None or ch["customer"] == customer)
        ]
        return self._list(items, params, "/v1/charges")

    def _refundable_charge(self, params: Json) -> Json:
        pi_id = _str_param(params, "payment_intent")
        charge_id = _str_param(params, "charge")
        if pi_id is None and charge_id is None:
            raise invalid_request(
                "One of the following params should be provided for this request: payment_intent or charge.",
                code="parameter_missing",
            )
        if charge_id is None:
            assert pi_id is not None
            pi = self.payment_intents.get(pi_id)
            if pi is None:
                raise resource_missing("payment_intent", pi_id, param="payment_intent", status=400)
            if pi["status"] != "succeeded":
                raise invalid_request(
                    f"This PaymentIntent ({pi_id}) does not have a successful charge to refund.",
                    code="payment_intent_unexpected_state",
                    param="payment_intent",
                )
            charge_id = pi["latest_charge"]
        charge = self.charges.get(charge_id)
        if charge is None:
            raise resource_missing("charge", charge_id, param="charge", status=400)
        if pi_id is not None and charge["payment_intent"] != pi_id:
            raise invalid_request("The charge does not belong to this PaymentIntent.", param="charge")
        if charge["status"] != "succeeded" or not charge["captured"]:
            raise invalid_request(
                f"Charge {charge_id} has not been captured or did not succeed.",
                code="charge_not_refundable",
                param="charge",
            )
        return charge

    def create_refund(self, params: Json, ctx: RequestContext) -> Json:
        charge = self._refundable_charge(params)
        from .disputes import refusal_of_refund  # disputes.py builds on this module

        if (refused := refusal_of_refund(self, charge)) is not None:
            raise refused
        remaining = charge["amount_captured"] - charge["amount_refunded"]
        amount = _int_param(params, "amount", required=False)
        reason = _choice_param(params, "reason", _REFUND_REASONS)
        metadata = _metadata_param(params) or {}
        if remaining <= 0:
            raise invalid_request(
                f"Charge {charge['id']} has already been refunded.",
                code="charge_already_refunded",
            )
        if amount is None:
            amount = remaining
        if amount > remaining:
            raise invalid_request(
                f"Refund amount ({amount}) is greater than unrefunded amount on charge ({remaining})",
                code="amount_too_large",
                param="amount",
            )
        refund: Json = {
            **shapes.refund_fields(charge),
            "id": new_id("re"),
            "object": "refund",
            "amount": amount,
            "charge": charge["id"],
            "created": _now(),
            "currency": charge["currency"],
            "metadata": metadata,
            "payment_intent": charge["payment_intent"],
            "reason": reason,
            "status": "succeeded",
        }
        self.refunds[refund["id"]] = refund
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] >= charge["amount_captured"]
        self._emit("charge.refunded", charge, ctx)
        return self._expand(refund, params)

    def get_refund(self, refund_id: str, params: Json) -> Json:
        return self._expand(self._get(self.refunds, "refund", refund_id), params)

    # --- events -------------------------------------------------------------------------------

    def get_event(self, event_id: str, params: Json) -> Json:
        return self._expand(self._get(self.events, "event", event_id), params)

    def list_events(self, params: Json) -> Json:
        event_type = _str_param(params, "type")
        items = [e for e in self.events.values() if event_type is None or e["type"] == event_type]
        return self._list(items, params, "/v1/events")

    # --- snapshots for tests ------------------------------------------------------------------

    def snapshot(self) -> Json:
        return copy.deepcopy(
            {
                "customers": list(self.customers.values()),
                "payment_intents": list(self.payment_intents.values()),
                "charges": list(self.charges.values()),
                "refunds": list(self.refunds.values()),
                "events": list(self.events.values()),
                "disputes": list(self.disputes.values()),
                "payment_method_overrides": dict(self.pm_overrides),
            }
        )
