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
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Final

from . import shapes
from .behaviours import (
    BEHAVIOURS,
    Behaviour,
    behaviour_for_pm,
    card_details,
    is_shared_test_pm,
    payment_method_object,
)
from .connect import (
    ACCOUNT_TYPES,
    APPLICATION_FEE_NEEDS_CONNECT,
    CHARGES_DISABLED_MESSAGE,
    CONNECT_APPLICATION,
    UNSET,
    account_object,
    application_fee_object,
    apply_account_status,
    fee_refund_object,
    proportional_fee_refund,
)
from .errors import DOC_BASE, ApiError, account_invalid, invalid_request, parameter_missing, resource_missing

__all__ = ["API_VERSION", "PLATFORM", "Json", "RequestContext", "Store"]

Json = dict[str, Any]

API_VERSION: Final = "2026-10-28.endive"

# The owner of an object made without a ``Stripe-Account`` header: the platform itself.
PLATFORM: Final = ""

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
    "acct": "accounts",
    "fee": "application_fees",
    "dp": "disputes",
}


def new_id(prefix: str, length: int = 24) -> str:
    return prefix + "_" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(length))


def _now() -> int:
    return int(time.time())


@dataclass(frozen=True)
class RequestContext:
    """Where a request came from: Event.request copies the first two, like Stripe does.

    ``account`` is the ``Stripe-Account`` header (None: the platform acting for itself). Every
    object belongs to the account it was made on; a request only ever sees its own account's.
    """

    request_id: str | None = None
    idempotency_key: str | None = None
    account: str | None = None

    @property
    def owner(self) -> str:
        return self.account or PLATFORM


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
        # Connect: the platform's connected accounts, and which account owns each object id
        # (PLATFORM for the platform's own). Stripe objects carry no owner field, so it is kept
        # beside them rather than in them.
        self.accounts: dict[str, Json] = {}
        self.owners: dict[str, str] = {}
        # PaymentMethods cloned onto connected accounts, and the platform card each one copies.
        self.payment_methods: dict[str, Json] = {}
        self.pm_sources: dict[str, str] = {}
        # Clones without a customer that have paid, and the PaymentIntent each paid: Stripe lets
        # such a PaymentMethod serve one payment ("previously used with a PaymentIntent without
        # Customer attachment … may not be used again"), so another PaymentIntent using it is a
        # 400. Only a payment spends it here: what Stripe does after a decline is not documented,
        # and the service clones afresh for every try either way.
        self.spent_clones: dict[str, str] = {}
        # The platform's application fees, and the charges one of whose refunds kept its fee
        # (their last refund then returns only its proportional share, not the rest).
        self.application_fees: dict[str, Json] = {}
        self.fee_kept_on_refund: dict[str, bool] = {}
        self.disputes: dict[str, Json] = {}  # dev/stripe_standin/disputes.py

    def _tables(self) -> tuple[dict[str, Any], ...]:
        """Every table reset() clears; a module adding a table adds it here."""
        return (
            self.customers,
            self.payment_intents,
            self.charges,
            self.refunds,
            self.events,
            self.event_payloads,
            self.pm_overrides,
            self.accounts,
            self.owners,
            self.payment_methods,
            self.pm_sources,
            self.spent_clones,
            self.application_fees,
            self.fee_kept_on_refund,
            self.disputes,
        )

    def reset(self) -> None:
        for table in self._tables():
            table.clear()

    def set_pm_behaviour(self, pm_id: str, behaviour: str) -> None:
        if behaviour not in BEHAVIOURS:
            raise ValueError(f"unknown behaviour {behaviour!r}; expected one of {sorted(BEHAVIOURS)}")
        self.pm_overrides[pm_id] = behaviour

    # --- ownership (Stripe-Account) -----------------------------------------------------------

    def _own(self, obj: Json, ctx: RequestContext) -> None:
        self.owners[obj["id"]] = ctx.owner

    def owner_of(self, object_id: str) -> str:
        """The account an object was made on; PLATFORM for the platform's (and unknown ids)."""
        return self.owners.get(object_id, PLATFORM)

    def _visible(self, object_id: str, ctx: RequestContext) -> bool:
        # Stripe keeps each account's objects apart: another account's id (or the platform's,
        # seen through a Stripe-Account header, and vice versa) is simply "No such ...".
        return self.owner_of(object_id) == ctx.owner

    def _mine(self, items: Iterable[Json], ctx: RequestContext) -> list[Json]:
        return [item for item in items if self._visible(item["id"], ctx)]

    def has_account(self, account_id: str) -> bool:
        return account_id in self.accounts

    # --- helpers ------------------------------------------------------------------------------

    def _pm_visible(self, pm_id: str, ctx: RequestContext) -> bool:
        if pm_id in self.owners or not pm_id.startswith("pm_card_"):
            return self._visible(pm_id, ctx)
        # A test card id: Stripe's own ones anywhere, a saved card (suffixed) on the platform only.
        return ctx.account is None or is_shared_test_pm(pm_id)

    def _pm_behaviour(self, pm_id: str) -> Behaviour | None:
        """What confirming with this card does. A clone is the same card as its original: it
        follows the original's behaviour, including one set after cloning, unless the clone has
        a behaviour of its own (set on the clone's id)."""
        override = self.pm_overrides.get(pm_id)
        if override is not None:
            return BEHAVIOURS[override]
        source = self.pm_sources.get(pm_id)
        if source is not None:
            return self._pm_behaviour(source)
        return behaviour_for_pm(pm_id, self.pm_overrides)

    def _resolve_pm(self, pm_id: str, ctx: RequestContext) -> Behaviour:
        behaviour = self._pm_behaviour(pm_id) if self._pm_visible(pm_id, ctx) else None
        if behaviour is None:
            raise resource_missing("PaymentMethod", pm_id, param="payment_method", status=400)
        return behaviour

    def _check_customer(self, params: Json, ctx: RequestContext) -> str | None:
        """The ``customer`` param. An id the stand-in made must belong to the request's account;
        on a connected account it must be one made there (a platform customer is not visible to
        a direct charge, exactly as on Stripe). The platform may still name customers the
        stand-in never made, as the tests always have."""
        customer = _str_param(params, "customer")
        if customer is None:
            return None
        known = customer in self.customers
        if (known and not self._visible(customer, ctx)) or (not known and ctx.account is not None):
            raise resource_missing("customer", customer, param="customer", status=400)
        return customer

    def _lookup(self, object_id: str, ctx: RequestContext) -> Json | None:
        """The object an id names, as the request's account sees it (None: not visible)."""
        if object_id.startswith("pm_"):
            return self._payment_method(object_id, ctx)
        if not self._visible(object_id, ctx):
            return None
        kind = _KIND_BY_PREFIX.get(object_id.split("_", 1)[0])
        if kind is not None:
            found: Json | None = getattr(self, kind).get(object_id)
            return found
        return None

    def _payment_method(self, pm_id: str, ctx: RequestContext) -> Json | None:
        if not self._pm_visible(pm_id, ctx):
            return None
        clone = self.payment_methods.get(pm_id)
        if clone is not None:
            return clone
        behaviour = self._pm_behaviour(pm_id)
        return None if behaviour is None else payment_method_object(pm_id, behaviour, _now())

    # --- payment methods ----------------------------------------------------------------------

    def create_payment_method(self, params: Json, ctx: RequestContext) -> Json:
        """Clone a platform customer's card onto the connected account of the Stripe-Account
        header (docs.stripe.com/connect/direct-charges-multiple-accounts: ``customer`` +
        ``payment_method``, with the header). The clone is a new ``pm_…`` of that account, not
        attached to any customer there, with the original card's fingerprint. Creating a card
        from raw details is not modelled (tests use Stripe's test ids)."""
        source = _str_param(params, "payment_method")
        if source is None:
            raise parameter_missing("payment_method")
        if ctx.account is None:
            # Wording is a guess: Stripe only documents cloning *to* a connected account.
            raise invalid_request(
                "To clone a PaymentMethod, send the request with the Stripe-Account header of the "
                "connected account to clone it to.",
                param="payment_method",
            )
        platform = RequestContext()
        customer = _str_param(params, "customer")
        if customer is not None and customer in self.customers and not self._visible(customer, platform):
            raise resource_missing("customer", customer, param="customer", status=400)
        behaviour = self._pm_behaviour(source) if self._pm_visible(source, platform) else None
        if behaviour is None:
            raise resource_missing("payment_method", source, param="payment_method", status=400)
        if customer is None and not is_shared_test_pm(source):
            # A customer's saved card is cloned together with the customer it is attached to.
            raise parameter_missing("customer")
        metadata = _metadata_param(params) or {}
        clone = payment_method_object(
            new_id("pm"), behaviour, _now(), fingerprint=self._fingerprint(source), metadata=metadata
        )
        self.payment_methods[clone["id"]] = clone
        self.pm_sources[clone["id"]] = source
        self._own(clone, ctx)
        return self._expand(clone, params, ctx)

    def _fingerprint(self, pm_id: str) -> str:
        clone = self.payment_methods.get(pm_id)
        if clone is not None:
            return str(clone["card"]["fingerprint"])
        behaviour = self._pm_behaviour(pm_id)
        assert behaviour is not None
        return str(payment_method_object(pm_id, behaviour, 0)["card"]["fingerprint"])

    def get_payment_method(self, pm_id: str, params: Json, ctx: RequestContext) -> Json:
        found = self._payment_method(pm_id, ctx)
        if found is None:
            raise resource_missing("payment_method", pm_id)
        return self._expand(found, params, ctx)

    def _expand(self, obj: Json, params: Json, ctx: RequestContext) -> Json:
        result = copy.deepcopy(obj)
        for path in _expand_param(params):
            self._expand_path(result, path.split("."), ctx)
        return result

    def _expand_path(self, node: Json, parts: list[str], ctx: RequestContext) -> None:
        head, rest = parts[0], parts[1:]
        if node.get("object") == "list" and head == "data":
            for item in node["data"]:
                if rest:
                    self._expand_path(item, rest, ctx)
            return
        value = node.get(head)
        if isinstance(value, str):
            found = self._lookup(value, ctx)
            if found is not None:
                value = copy.deepcopy(found)
                node[head] = value
        if isinstance(value, dict) and rest:
            self._expand_path(value, rest, ctx)

    def _get(self, table: dict[str, Json], kind: str, object_id: str, ctx: RequestContext) -> Json:
        found = table.get(object_id)
        if found is None or not self._visible(object_id, ctx):
            raise resource_missing(kind, object_id)
        return found

    def _list(self, items: list[Json], params: Json, url: str, ctx: RequestContext) -> Json:
        """A list page of ``items`` the request's account owns (newest first)."""
        window = _list_window(params, self._mine(items, ctx))
        listing = {"object": "list", "url": url, **window}
        return self._expand(listing, params, ctx)

    def _emit(
        self,
        event_type: str,
        obj: Json,
        ctx: RequestContext,
        *,
        on_platform: bool = False,
        previous_attributes: Json | None = None,
    ) -> None:
        """Record and send an event on the request's account.

        An event caused on a connected account is a Connect event: it carries ``account`` and
        belongs to that account (retrieved with its Stripe-Account header). A platform event has
        no ``account`` field at all. ``on_platform`` puts an event on the platform whatever the
        request's account (an application fee is the platform's object).
        """
        account = None if on_platform else ctx.account
        event: Json = {"id": new_id("evt"), "object": "event"}
        if account is not None:
            event["account"] = account
        data: Json = {"object": copy.deepcopy(obj)}
        if previous_attributes is not None:
            data["previous_attributes"] = copy.deepcopy(previous_attributes)
        event |= {
            "api_version": API_VERSION,
            "created": _now(),
            "data": data,
            "livemode": False,
            "pending_webhooks": 1 if self.webhooks_enabled else 0,
            "request": {"id": ctx.request_id, "idempotency_key": ctx.idempotency_key},
            "type": event_type,
        }
        # Serialised once so every (re)delivery of this event is byte-identical.
        payload = json.dumps(event, indent=2).encode()
        self.events[event["id"]] = event
        self.owners[event["id"]] = account or PLATFORM
        self.event_payloads[event["id"]] = payload
        self._on_event(event["id"], payload)

    def _new_charge(self, pi: Json, pm_id: str, behaviour: Behaviour, *, succeeded: bool) -> Json:
        captured = succeeded and pi["capture_method"] != "manual"
        charge: Json = {
            **shapes.charge_fields(card_details(behaviour), self._fingerprint(pm_id)),
            "id": new_id("ch"),
            "object": "charge",
            "amount": pi["amount"],
            "amount_captured": pi["amount"] if captured else 0,
            "amount_refunded": 0,
            "application": pi["application"],
            "application_fee": None,
            "application_fee_amount": pi["application_fee_amount"] if succeeded else None,
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
        self.owners[charge["id"]] = self.owner_of(pi["id"])
        return charge

    def _check_clone_unspent(self, pm_id: str, pi_id: str) -> None:
        """A clone without a customer that has paid serves no other PaymentIntent, like Stripe's:
        confirming another with it is refused before anything changes."""
        if self.spent_clones.get(pm_id, pi_id) != pi_id:
            raise invalid_request(
                "The provided PaymentMethod was previously used with a PaymentIntent without Customer "
                "attachment, shared with a connected account without Customer attachment, or was "
                "detached from a Customer. It may not be used again. To use a PaymentMethod multiple "
                "times, you must attach it to a Customer first.",
                param="payment_method",
            )

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
        self._check_clone_unspent(pm_id, pi["id"])
        pi["last_payment_error"] = None
        pi["next_action"] = None
        if behaviour.outcome == "succeed" or (behaviour.outcome == "authenticate" and authenticated):
            charge = self._new_charge(pi, pm_id, behaviour, succeeded=True)
            clone = self.payment_methods.get(pm_id)
            if clone is not None and clone.get("customer") is None:
                self.spent_clones[pm_id] = pi["id"]
            pi["payment_method"] = pm_id
            pi["latest_charge"] = charge["id"]
            if pi["capture_method"] == "manual":
                pi["status"] = "requires_capture"
                pi["amount_capturable"] = pi["amount"]
                return
            pi["status"] = "succeeded"
            pi["amount_received"] = pi["amount"]
            self._emit("payment_intent.succeeded", pi, ctx)
            self._collect_fee(charge, ctx)
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
            "payment_method": copy.deepcopy(self.payment_methods.get(pm_id))
            or payment_method_object(pm_id, behaviour, _now()),
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

    # --- connected accounts -------------------------------------------------------------------

    def _platform_only(self, ctx: RequestContext, what: str) -> None:
        if ctx.account is not None:
            # A guess at Stripe's wording; the code is Stripe's documented one for this case.
            raise invalid_request(
                f"Only a Connect platform can {what}; send this request without a Stripe-Account header.",
                code="platform_account_required",
            )

    def create_account(self, params: Json, ctx: RequestContext) -> Json:
        self._platform_only(ctx, "create connected accounts")
        account_type = _choice_param(params, "type", ACCOUNT_TYPES)
        controller = params.get("controller")
        if account_type is None and not isinstance(controller, dict):
            raise invalid_request(
                "You must specify either `type` or `controller` when creating an account.", param="type"
            )
        country = (_str_param(params, "country") or "US").upper()
        if len(country) != 2 or not country.isalpha():
            raise invalid_request(f"Invalid country: {country}", param="country")
        account = account_object(
            new_id("acct", 16),
            account_type=account_type or "standard",
            country=country,
            email=_str_param(params, "email"),
            metadata=_metadata_param(params) or {},
            created=_now(),
        )
        self.accounts[account["id"]] = account
        return self._expand(account, params, ctx)

    def account(self, account_id: str) -> Json:
        """The account for a control call; KeyError when the platform has no such account."""
        return self.accounts[account_id]

    def get_account(self, account_id: str, params: Json, ctx: RequestContext) -> Json:
        # A connected account may read itself; the platform reads all of its accounts.
        if account_id not in self.accounts or ctx.account not in (None, account_id):
            raise account_invalid(account_id)
        return self._expand(self.accounts[account_id], params, ctx)

    def set_account_status(
        self,
        account_id: str,
        *,
        charges_enabled: bool | None = None,
        payouts_enabled: bool | None = None,
        disabled_reason: Any = UNSET,
    ) -> Json:
        """Stripe restricting or re-enabling a connected account (a control call; KeyError for an
        unknown account). What changed goes out as ``account.updated`` on that account, with
        ``data.previous_attributes``; nothing changed, no event, as with Stripe."""
        account = self.accounts[account_id]
        previous = apply_account_status(
            account,
            charges_enabled=charges_enabled,
            payouts_enabled=payouts_enabled,
            disabled_reason=disabled_reason,
        )
        if previous:
            self._emit(
                "account.updated", account, RequestContext(account=account_id), previous_attributes=previous
            )
        return copy.deepcopy(account)

    def _check_charges_enabled(self, ctx: RequestContext) -> None:
        # Refused before anything is made and never saved under the idempotency key: the same
        # key charges for real once Stripe enables the account again.
        if ctx.account is not None and not self.accounts[ctx.account]["charges_enabled"]:
            raise invalid_request(CHARGES_DISABLED_MESSAGE)

    def list_accounts(self, params: Json, ctx: RequestContext) -> Json:
        self._platform_only(ctx, "list connected accounts")
        window = _list_window(params, list(self.accounts.values()))
        return self._expand({"object": "list", "url": "/v1/accounts", **window}, params, ctx)

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
        self._own(customer, ctx)
        return self._expand(customer, params, ctx)

    def get_customer(self, customer_id: str, params: Json, ctx: RequestContext) -> Json:
        return self._expand(self._get(self.customers, "customer", customer_id, ctx), params, ctx)

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
        behaviour = self._resolve_pm(pm_id, ctx) if pm_id is not None else None
        customer = self._check_customer(params, ctx)
        assert amount is not None  # required=True
        fee = self._application_fee_param(params, amount, ctx)
        if confirm and pm_id is None:
            raise parameter_missing("payment_method")
        metadata = _metadata_param(params) or {}
        method_types, automatic = _payment_method_config(params)
        return_url = _str_param(params, "return_url")
        if confirm:
            pending = {"automatic_payment_methods": automatic}
            _check_return_url(pending, off_session=off_session, return_url=return_url)
        self._check_charges_enabled(ctx)

        pi_id = new_id("pi")
        pi: Json = {
            **shapes.payment_intent_fields(),
            "id": pi_id,
            "object": "payment_intent",
            "amount": amount,
            "amount_capturable": 0,
            "amount_received": 0,
            "application": None if ctx.account is None else CONNECT_APPLICATION,
            "application_fee_amount": fee,
            "canceled_at": None,
            "cancellation_reason": None,
            "capture_method": capture_method,
            "client_secret": f"{pi_id}_secret_{secrets.token_urlsafe(18)}",
            "confirmation_method": "automatic",
            "created": _now(),
            "currency": currency,
            "customer": customer,
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
        self._own(pi, ctx)
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
        return self._expand(pi, params, ctx)

    def get_payment_intent(self, pi_id: str, params: Json, ctx: RequestContext) -> Json:
        return self._expand(self._get(self.payment_intents, "payment_intent", pi_id, ctx), params, ctx)

    def list_payment_intents(self, params: Json, ctx: RequestContext) -> Json:
        customer = _str_param(params, "customer")
        items = [pi for pi in self.payment_intents.values() if customer is None or pi["customer"] == customer]
        return self._list(items, params, "/v1/payment_intents", ctx)

    def _unexpected_state(self, pi: Json, action: str, allowed: tuple[str, ...]) -> ApiError:
        done = {"cancel": "canceled", "capture": "captured", "confirm": "confirmed"}.get(action, "updated")
        return invalid_request(
            f"You cannot {action} this PaymentIntent because it has a status of {pi['status']}."
            f" Only a PaymentIntent with one of the following statuses may be {done}: "
            f"{', '.join(allowed)}.",
            code="payment_intent_unexpected_state",
        )

    def update_payment_intent(self, pi_id: str, params: Json, ctx: RequestContext) -> Json:
        pi = self._get(self.payment_intents, "payment_intent", pi_id, ctx)
        metadata = _metadata_param(params)
        amount = _int_param(params, "amount", required=False)
        pm_id = _str_param(params, "payment_method")
        if pm_id is not None:
            self._resolve_pm(pm_id, ctx)
        description = _str_param(params, "description")
        fee = self._application_fee_param(params, pi["amount"] if amount is None else amount, ctx)
        if fee is None and amount is not None and (pi["application_fee_amount"] or 0) > amount:
            self._application_fee_param({"application_fee_amount": pi["application_fee_amount"]}, amount, ctx)
        changes_payment = amount is not None or pm_id is not None or fee is not None
        if changes_payment and pi["status"] not in _CONFIRMABLE:
            raise self._unexpected_state(pi, "update", _CONFIRMABLE)
        if metadata is not None:
            pi["metadata"] = _merge_metadata(pi["metadata"], metadata)
        if description is not None:
            pi["description"] = description
        if amount is not None:
            pi["amount"] = amount
        if fee is not None:
            pi["application_fee_amount"] = fee
        if pm_id is not None:
            pi["payment_method"] = pm_id
            pi["status"] = "requires_confirmation"
            pi["next_action"] = None
        return self._expand(pi, params, ctx)

    def confirm_payment_intent(self, pi_id: str, params: Json, ctx: RequestContext) -> Json:
        pi = self._get(self.payment_intents, "payment_intent", pi_id, ctx)
        if pi["status"] not in _CONFIRMABLE:
            raise self._unexpected_state(pi, "confirm", _CONFIRMABLE)
        pm_id = _str_param(params, "payment_method") or pi["payment_method"]
        if pm_id is None:
            raise parameter_missing("payment_method")
        behaviour = self._resolve_pm(pm_id, ctx)
        off_session = _off_session_param(params)
        return_url = _str_param(params, "return_url")
        _check_return_url(pi, off_session=off_session, return_url=return_url)
        self._check_charges_enabled(ctx)
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
        return self._expand(pi, params, ctx)

    def cancel_payment_intent(self, pi_id: str, params: Json, ctx: RequestContext) -> Json:
        pi = self._get(self.payment_intents, "payment_intent", pi_id, ctx)
        reason = _choice_param(params, "cancellation_reason", _CANCELLATION_REASONS)
        if pi["status"] not in _CANCELABLE:
            raise self._unexpected_state(pi, "cancel", _CANCELABLE)
        pi["status"] = "canceled"
        pi["canceled_at"] = _now()
        pi["cancellation_reason"] = reason
        pi["next_action"] = None
        pi["amount_capturable"] = 0
        self._emit("payment_intent.canceled", pi, ctx)
        return self._expand(pi, params, ctx)

    def capture_payment_intent(self, pi_id: str, params: Json, ctx: RequestContext) -> Json:
        pi = self._get(self.payment_intents, "payment_intent", pi_id, ctx)
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
        self._collect_fee(charge, ctx)
        return self._expand(pi, params, ctx)

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
        # The browser talks to the account the PaymentIntent is on.
        ctx = RequestContext(account=self.owner_of(pi_id) or None)
        behaviour = self._resolve_pm(pm_id, ctx)
        try:
            self._check_charges_enabled(ctx)
        except ApiError as exc:
            raise ValueError(str(exc)) from exc
        # A card that declines after authentication leaves the PI in requires_payment_method
        # with the decline recorded, which is what the caller inspects.
        with contextlib.suppress(ApiError):
            self._attempt(pi, pm_id, behaviour, off_session=False, authenticated=True, ctx=ctx)
        return copy.deepcopy(pi)

    # --- charges and refunds ------------------------------------------------------------------

    def get_charge(self, charge_id: str, params: Json, ctx: RequestContext) -> Json:
        return self._expand(self._get(self.charges, "charge", charge_id, ctx), params, ctx)

    def list_charges(self, params: Json, ctx: RequestContext) -> Json:
        pi_id = _str_param(params, "payment_intent")
        customer = _str_param(params, "customer")
        items = [
            ch
            for ch in self.charges.values()
            if (pi_id is None or ch["payment_intent"] == pi_id)
            and (customer is None or ch["customer"] == customer)
        ]
        return self._list(items, params, "/v1/charges", ctx)

    def _refundable_charge(self, params: Json, ctx: RequestContext) -> Json:
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
            if pi is None or not self._visible(pi_id, ctx):
                raise resource_missing("payment_intent", pi_id, param="payment_intent", status=400)
            if pi["status"] != "succeeded":
                raise invalid_request(
                    f"This PaymentIntent ({pi_id}) does not have a successful charge to refund.",
                    code="payment_intent_unexpected_state",
                    param="payment_intent",
                )
            charge_id = pi["latest_charge"]
        charge = self.charges.get(charge_id)
        if charge is None or not self._visible(charge_id, ctx):
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
        charge = self._refundable_charge(params, ctx)
        from .disputes import refusal_of_refund  # disputes.py builds on this module

        if (refused := refusal_of_refund(self, charge)) is not None:
            raise refused
        remaining = charge["amount_captured"] - charge["amount_refunded"]
        amount = _int_param(params, "amount", required=False)
        reason = _choice_param(params, "reason", _REFUND_REASONS)
        metadata = _metadata_param(params) or {}
        refund_fee = _bool_param(params, "refund_application_fee")
        if _bool_param(params, "reverse_transfer"):
            # Stripe reverses the transfer of a destination charge (transfer_data); a direct
            # charge has none, and the stand-in models no other. Refusing (rather than ignoring)
            # is the stand-in's choice: the wording is a guess.
            raise invalid_request(
                f"Charge {charge['id']} has no transfer to reverse: `reverse_transfer` only applies "
                "to a destination charge (transfer_data[destination]).",
                param="reverse_transfer",
            )
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
        self._own(refund, ctx)
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] >= charge["amount_captured"]
        self._emit("charge.refunded", charge, ctx)
        fee_id = charge["application_fee"]
        if fee_id is not None:
            if refund_fee:
                fee = self.application_fees[fee_id]
                completes = charge["refunded"] and not self.fee_kept_on_refund.get(charge["id"], False)
                share = proportional_fee_refund(
                    fee, charge_amount=charge["amount_captured"], refund_amount=amount, completes=completes
                )
                self._refund_fee(fee, share, {}, ctx)
            else:
                self.fee_kept_on_refund[charge["id"]] = True
        return self._expand(refund, params, ctx)

    def get_refund(self, refund_id: str, params: Json, ctx: RequestContext) -> Json:
        return self._expand(self._get(self.refunds, "refund", refund_id, ctx), params, ctx)

    # --- application fees (the platform's commission on a direct charge) ----------------------

    def _application_fee_param(self, params: Json, amount: int, ctx: RequestContext) -> int | None:
        fee = _int_param(params, "application_fee_amount", required=False, minimum=0)
        if params.get("transfer_data") not in (None, ""):
            raise invalid_request(
                "The stand-in models direct charges only (Stripe-Account header); destination "
                "charges (transfer_data) are not supported.",
                param="transfer_data",
            )
        if fee is None:
            return None
        if ctx.account is None:
            raise invalid_request(
                APPLICATION_FEE_NEEDS_CONNECT, code="parameter_missing", param="application_fee_amount"
            )
        if fee > amount:
            # Stripe caps the fee at the amount; this wording is a guess.
            raise invalid_request(
                f"The application_fee_amount ({fee}) must not be greater than the amount ({amount}).",
                code="parameter_invalid_integer",
                param="application_fee_amount",
            )
        return fee

    def _collect_fee(self, charge: Json, ctx: RequestContext) -> None:
        """A captured direct charge with ``application_fee_amount`` moves the fee to the
        platform: an ApplicationFee there (with ``application_fee.created``, a platform event),
        named by the charge. A fee of 0 moves nothing and makes no object (the stand-in's
        choice)."""
        amount = charge["application_fee_amount"]
        if ctx.account is None or not amount or charge["application_fee"] is not None:
            return
        fee = application_fee_object(
            new_id("fee"), account=ctx.account, charge=charge, amount=amount, created=_now()
        )
        self.application_fees[fee["id"]] = fee
        self.owners[fee["id"]] = PLATFORM
        charge["application_fee"] = fee["id"]
        self._emit("application_fee.created", fee, ctx, on_platform=True)

    def _refund_fee(
        self, fee: Json, amount: int, metadata: dict[str, str], ctx: RequestContext
    ) -> Json | None:
        if amount <= 0:
            return None
        fee_refund = fee_refund_object(
            new_id("fr"), fee=fee, amount=amount, metadata=metadata, created=_now()
        )
        fee["amount_refunded"] += amount
        fee["refunded"] = fee["amount_refunded"] >= fee["amount"]
        fee["refunds"]["data"].insert(0, fee_refund)
        self._emit("application_fee.refunded", fee, ctx, on_platform=True)
        return fee_refund

    def get_application_fee(self, fee_id: str, params: Json, ctx: RequestContext) -> Json:
        return self._expand(self._get(self.application_fees, "application fee", fee_id, ctx), params, ctx)

    def list_application_fees(self, params: Json, ctx: RequestContext) -> Json:
        charge = _str_param(params, "charge")
        items = [f for f in self.application_fees.values() if charge is None or f["charge"] == charge]
        return self._list(items, params, "/v1/application_fees", ctx)

    def list_fee_refunds(self, fee_id: str, params: Json, ctx: RequestContext) -> Json:
        fee = self._get(self.application_fees, "application fee", fee_id, ctx)
        window = _list_window(params, list(reversed(fee["refunds"]["data"])))
        listing = {"object": "list", "url": fee["refunds"]["url"], **window}
        return self._expand(listing, params, ctx)

    def get_fee_refund(self, fee_id: str, refund_id: str, params: Json, ctx: RequestContext) -> Json:
        fee = self._get(self.application_fees, "application fee", fee_id, ctx)
        for fee_refund in fee["refunds"]["data"]:
            if fee_refund["id"] == refund_id:
                return self._expand(fee_refund, params, ctx)
        raise resource_missing("fee refund", refund_id)

    def create_fee_refund(self, fee_id: str, params: Json, ctx: RequestContext) -> Json:
        """``POST /v1/application_fees/{id}/refunds``: the platform returns (part of) its fee on
        its own, e.g. a commission rule that differs from the charge refund's."""
        fee = self._get(self.application_fees, "application fee", fee_id, ctx)
        remaining = fee["amount"] - fee["amount_refunded"]
        amount = _int_param(params, "amount", required=False)
        metadata = _metadata_param(params) or {}
        if remaining <= 0:
            raise invalid_request(f"Application fee {fee_id} has already been refunded.")
        if amount is None:
            amount = remaining
        if amount > remaining:
            raise invalid_request(
                f"Refund amount ({amount}) is greater than unrefunded amount on fee ({remaining})",
                code="amount_too_large",
                param="amount",
            )
        fee_refund = self._refund_fee(fee, amount, metadata, ctx)
        assert fee_refund is not None
        return self._expand(fee_refund, params, ctx)

    # --- events -------------------------------------------------------------------------------

    def get_event(self, event_id: str, params: Json, ctx: RequestContext) -> Json:
        return self._expand(self._get(self.events, "event", event_id, ctx), params, ctx)

    def list_events(self, params: Json, ctx: RequestContext) -> Json:
        event_type = _str_param(params, "type")
        items = [e for e in self.events.values() if event_type is None or e["type"] == event_type]
        return self._list(items, params, "/v1/events", ctx)

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
                "accounts": list(self.accounts.values()),
                "payment_methods": list(self.payment_methods.values()),
                "payment_method_sources": dict(self.pm_sources),
                "application_fees": list(self.application_fees.values()),
                "owners": {k: v for k, v in self.owners.items() if v != PLATFORM},
            }
        )
