"""The Stripe v1 routes the stand-in serves, mapped onto Store methods.

``ROUTES`` is open: a module that models more of Stripe adds its own with ``register_routes``
(at import; ``server`` imports every such module), each handler taking the Store, the path match,
the decoded params and the RequestContext (request id, idempotency key, ``Stripe-Account``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from .store import Json, RequestContext, Store

__all__ = ["ROUTES", "Handler", "Route", "match_route", "register_routes", "route"]

Handler = Callable[[Store, "re.Match[str]", Json, RequestContext], Json]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler


def route(method: str, pattern: str, handler: Handler) -> Route:
    return Route(method, re.compile(pattern), handler)


_route = route

_ID = r"(?P<id>[A-Za-z0-9_]+)"

ROUTES: Final[list[Route]] = [
    _route("POST", r"^/v1/customers$", lambda s, m, p, c: s.create_customer(p, c)),
    _route("GET", rf"^/v1/customers/{_ID}$", lambda s, m, p, c: s.get_customer(m["id"], p, c)),
    _route("POST", r"^/v1/payment_intents$", lambda s, m, p, c: s.create_payment_intent(p, c)),
    _route("GET", r"^/v1/payment_intents$", lambda s, m, p, c: s.list_payment_intents(p, c)),
    _route(
        "GET",
        rf"^/v1/payment_intents/{_ID}$",
        lambda s, m, p, c: s.get_payment_intent(m["id"], p, c),
    ),
    _route(
        "POST",
        rf"^/v1/payment_intents/{_ID}$",
        lambda s, m, p, c: s.update_payment_intent(m["id"], p, c),
    ),
    _route(
        "POST",
        rf"^/v1/payment_intents/{_ID}/confirm$",
        lambda s, m, p, c: s.confirm_payment_intent(m["id"], p, c),
    ),
    _route(
        "POST",
        rf"^/v1/payment_intents/{_ID}/cancel$",
        lambda s, m, p, c: s.cancel_payment_intent(m["id"], p, c),
    ),
    _route(
        "POST",
        rf"^/v1/payment_intents/{_ID}/capture$",
        lambda s, m, p, c: s.capture_payment_intent(m["id"], p, c),
    ),
    _route("GET", r"^/v1/charges$", lambda s, m, p, c: s.list_charges(p, c)),
    _route("GET", rf"^/v1/charges/{_ID}$", lambda s, m, p, c: s.get_charge(m["id"], p, c)),
    _route("POST", r"^/v1/refunds$", lambda s, m, p, c: s.create_refund(p, c)),
    _route("GET", rf"^/v1/refunds/{_ID}$", lambda s, m, p, c: s.get_refund(m["id"], p, c)),
    _route("GET", r"^/v1/events$", lambda s, m, p, c: s.list_events(p, c)),
    _route("GET", rf"^/v1/events/{_ID}$", lambda s, m, p, c: s.get_event(m["id"], p, c)),
    _route("POST", r"^/v1/payment_methods$", lambda s, m, p, c: s.create_payment_method(p, c)),
    _route("GET", rf"^/v1/payment_methods/{_ID}$", lambda s, m, p, c: s.get_payment_method(m["id"], p, c)),
    _route("GET", r"^/v1/application_fees$", lambda s, m, p, c: s.list_application_fees(p, c)),
    _route("GET", rf"^/v1/application_fees/{_ID}$", lambda s, m, p, c: s.get_application_fee(m["id"], p, c)),
    _route(
        "GET",
        rf"^/v1/application_fees/{_ID}/refunds$",
        lambda s, m, p, c: s.list_fee_refunds(m["id"], p, c),
    ),
    _route(
        "POST",
        rf"^/v1/application_fees/{_ID}/refunds$",
        lambda s, m, p, c: s.create_fee_refund(m["id"], p, c),
    ),
    _route(
        "GET",
        rf"^/v1/application_fees/{_ID}/refunds/(?P<refund>[A-Za-z0-9_]+)$",
        lambda s, m, p, c: s.get_fee_refund(m["id"], m["refund"], p, c),
    ),
    _route("POST", r"^/v1/accounts$", lambda s, m, p, c: s.create_account(p, c)),
    _route("GET", r"^/v1/accounts$", lambda s, m, p, c: s.list_accounts(p, c)),
    _route("GET", rf"^/v1/accounts/{_ID}$", lambda s, m, p, c: s.get_account(m["id"], p, c)),
]


def register_routes(*routes: Route) -> None:
    """Serve more Stripe routes (first match wins, so existing routes keep precedence)."""
    ROUTES.extend(routes)


def match_route(method: str, path: str) -> tuple[Route, re.Match[str]] | None:
    for route in ROUTES:
        if route.method == method:
            match = route.pattern.match(path)
            if match is not None:
                return route, match
    return None
