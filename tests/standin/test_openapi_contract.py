"""Every stand-in response the project relies on has the shape Stripe publishes for it.

Each scenario below drives the stand-in over HTTP, as the stripe client does, and validates every
response against the vendored subset of Stripe's OpenAPI specification (tests/standin/openapi/):
the operation's 200 schema for a success, its ``default`` (error) schema for anything else, and an
event's ``data.object`` as the object it is. Webhook bodies are validated as they arrive. The
last test holds every route of dev/stripe_standin/routes.py to at least one validated response,
counted from the responses that were actually checked, so a route added later cannot escape.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from dev.stripe_standin import FaultRule, StripeStandIn
from dev.stripe_standin.routes import ROUTES, Route, match_route
from tests.standin.openapi.contract import Contract

Json = dict[str, Any]

CONTRACT = Contract()
API_KEY = "sk_test_contract"


@pytest.fixture(scope="module")
def standin() -> Iterator[StripeStandIn]:
    # A stand-in of its own: the scenarios reset it, which the session's shared one must not see.
    with StripeStandIn() as server:
        yield server


@dataclass(frozen=True)
class Validated:
    method: str
    template: str  # the spec's path of the operation
    status: int
    route: Route | None  # the stand-in's route that answered; None for a 404 of no route

    def __str__(self) -> str:
        return f"{self.method} {self.template} {self.status}"


@dataclass
class Api:
    """Raw HTTP to the stand-in (form bodies as the stripe client encodes them); every response
    is validated against Stripe's schema for its operation and status, and recorded."""

    standin: StripeStandIn
    validated: list[Validated] = field(default_factory=list)

    def call(
        self,
        method: str,
        path: str,
        params: Json | None = None,
        *,
        expect: int = 200,
        idempotency_key: str | None = None,
        account: str | None = None,
    ) -> Json:
        headers = {"Authorization": f"Bearer {API_KEY}"}
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        if account is not None:
            headers["Stripe-Account"] = account
        encoded = "&".join(f"{k}={quote(v)}" for k, v in _form(params or {}))
        with httpx.Client(base_url=self.standin.url, timeout=5.0) as http:
            if method == "GET":
                response = http.get(f"{path}?{encoded}" if encoded else path, headers=headers)
            else:
                headers["Content-Type"] = "application/x-www-form-urlencoded"
                response = http.request(method, path, content=encoded, headers=headers)
        body: Json = response.json()
        assert response.status_code == expect, (response.status_code, body)
        violations = CONTRACT.check(method, path, response.status_code, body)
        assert not violations, f"{method} {path} {response.status_code}:\n" + "\n".join(violations)
        found = match_route(method, path)
        template = CONTRACT.operation(method, path).template if CONTRACT.serves(method, path) else path
        self.validated.append(Validated(method, template, response.status_code, found and found[0]))
        return body


def _form(params: Json, prefix: str = "") -> list[tuple[str, str]]:
    """Stripe's form encoding: ``metadata[k]=v``, ``expand[0]=x``, booleans as ``true``."""
    pairs: list[tuple[str, str]] = []
    for key, value in params.items():
        name = f"{prefix}[{key}]" if prefix else key
        if isinstance(value, dict):
            pairs += _form(value, name)
        elif isinstance(value, list):
            pairs += _form({str(i): item for i, item in enumerate(value)}, name)
        elif isinstance(value, bool):
            pairs.append((name, "true" if value else "false"))
        else:
            pairs.append((name, str(value)))
    return pairs


def card(name: str) -> str:
    return f"{name}_{uuid.uuid4().hex[:8]}"


def charge(
    api: Api, pm_id: str, *, expect: int = 200, idempotency_key: str | None = None, **extra: Any
) -> Json:
    """The off-session charge the service makes at T-48h."""
    params = {
        "amount": 6000,
        "currency": "gbp",
        "customer": "cus_contract",
        "payment_method": pm_id,
        "off_session": True,
        "confirm": True,
        "metadata": {"session_id": "s-1"},
        **extra,
    }
    return api.call("POST", "/v1/payment_intents", params, expect=expect, idempotency_key=idempotency_key)


# --- scenarios --------------------------------------------------------------------------------

Scenario = Callable[[Api], None]
SCENARIOS: list[Scenario] = []


def scenario(fn: Scenario) -> Scenario:
    SCENARIOS.append(fn)
    return fn


@scenario
def a_customer_is_created_retrieved_and_missing(api: Api) -> None:
    customer = api.call("POST", "/v1/customers", {"metadata": {"client_id": "c-1"}})
    api.call("GET", f"/v1/customers/{customer['id']}")
    api.call("GET", "/v1/customers/cus_missing", expect=404)


@scenario
def an_off_session_charge_succeeds_and_its_charge_is_listed_and_expanded(api: Api) -> None:
    pi = charge(api, card("pm_card_visa"))
    api.call("GET", f"/v1/payment_intents/{pi['id']}", {"expand": ["latest_charge"]})
    api.call("GET", "/v1/payment_intents", {"customer": "cus_contract", "limit": 5})
    api.call("GET", f"/v1/charges/{pi['latest_charge']}")
    api.call("GET", "/v1/charges", {"payment_intent": pi["id"]})
    api.call("GET", "/v1/payment_intents/pi_missing", expect=404)
    api.call("GET", "/v1/charges/ch_missing", expect=404)


@scenario
def a_declined_card_is_a_402_carrying_the_payment_intent(api: Api) -> None:
    for name in (
        "pm_card_chargeDeclinedInsufficientFunds",
        "pm_card_chargeDeclined",
        "pm_card_chargeDeclinedExpiredCard",
    ):
        error = charge(api, card(name), expect=402)["error"]
        assert (
            error["type"] == "card_error" and error["payment_intent"]["status"] == "requires_payment_method"
        )
    declined = charge(api, card("pm_card_chargeDeclinedLostCard"), expect=402)["error"]["payment_intent"]
    # Confirming the same PaymentIntent again, declined again, then with a card that pays.
    path = f"/v1/payment_intents/{declined['id']}/confirm"
    api.call(
        "POST", path, {"payment_method": card("pm_card_chargeDeclined"), "off_session": True}, expect=402
    )
    api.call("POST", path, {"payment_method": card("pm_card_visa"), "off_session": True})


@scenario
def an_sca_card_is_declined_off_session_and_asks_for_action_on_session(api: Api) -> None:
    error = charge(api, card("pm_card_authenticationRequired"), expect=402)["error"]
    assert error["code"] == "authentication_required"
    pi = api.call(
        "POST",
        "/v1/payment_intents",
        {"amount": 4500, "currency": "gbp", "payment_method": card("pm_card_authenticationRequired")},
    )
    confirmed = api.call(
        "POST",
        f"/v1/payment_intents/{pi['id']}/confirm",
        {"return_url": "https://example.test/return"},
    )
    assert confirmed["status"] == "requires_action"


@scenario
def a_payment_intent_is_updated_captured_and_cancelled(api: Api) -> None:
    pi = api.call(
        "POST",
        "/v1/payment_intents",
        {"amount": 4500, "currency": "gbp", "capture_method": "manual", "customer": "cus_contract"},
    )
    api.call("POST", f"/v1/payment_intents/{pi['id']}", {"metadata": {"attempt": "2"}, "description": "x"})
    api.call(
        "POST",
        f"/v1/payment_intents/{pi['id']}/confirm",
        {"payment_method": card("pm_card_visa"), "off_session": True},
    )
    api.call("POST", f"/v1/payment_intents/{pi['id']}/capture", {"amount_to_capture": 4000})
    api.call("POST", f"/v1/payment_intents/{pi['id']}/cancel", expect=400)
    api.call("POST", f"/v1/payment_intents/{pi['id']}/capture", expect=400)
    other = api.call("POST", "/v1/payment_intents", {"amount": 4500, "currency": "gbp"})
    api.call(
        "POST", f"/v1/payment_intents/{other['id']}/cancel", {"cancellation_reason": "requested_by_customer"}
    )
    api.call("POST", f"/v1/payment_intents/{other['id']}", {"amount": 100}, expect=400)


@scenario
def refunds_full_partial_and_refused(api: Api) -> None:
    pi = charge(api, card("pm_card_visa"))
    partial = api.call("POST", "/v1/refunds", {"payment_intent": pi["id"], "amount": 1000})
    api.call("GET", f"/v1/refunds/{partial['id']}")
    api.call("POST", "/v1/refunds", {"payment_intent": pi["id"], "amount": 99999}, expect=400)
    api.call("POST", "/v1/refunds", {"charge": pi["latest_charge"], "reason": "requested_by_customer"})
    api.call("POST", "/v1/refunds", {"payment_intent": pi["id"]}, expect=400)
    api.call("POST", "/v1/refunds", {"payment_intent": "pi_missing"}, expect=400)
    api.call("GET", "/v1/refunds/re_missing", expect=404)


@scenario
def invalid_requests_and_idempotency_errors_are_stripes_error_object(api: Api) -> None:
    api.call("POST", "/v1/payment_intents", {"currency": "gbp"}, expect=400)
    api.call("POST", "/v1/payment_intents", {"amount": "lots", "currency": "gbp"}, expect=400)
    pm_id = card("pm_card_visa")
    charge(api, pm_id, idempotency_key="booking:1:charge:1")
    replay = charge(api, pm_id, idempotency_key="booking:1:charge:1")
    assert replay["status"] == "succeeded"
    error = charge(api, pm_id, amount=7000, idempotency_key="booking:1:charge:1", expect=400)["error"]
    assert error["type"] == "idempotency_error"
    api.call("GET", "/v1/payment_intents", {"limit": 1000}, expect=400)
    api.call("GET", "/v1/nothing_here", expect=404)


@scenario
def a_request_whose_key_is_in_flight_is_a_409(api: Api) -> None:
    api.standin.add_fault(FaultRule(kind="delay", path=r"^/v1/payment_intents$", delay_seconds=0.5))
    pm_id = card("pm_card_visa")
    first = threading.Thread(target=lambda: charge(api, pm_id, idempotency_key="dup"))
    first.start()
    try:
        assert api.standin.wait_until_in_flight("dup", timeout=5)
        error = charge(api, pm_id, idempotency_key="dup", expect=409)["error"]
    finally:
        first.join(timeout=5)
    assert error["code"] == "idempotency_key_in_use"


@scenario
def injected_server_errors_and_rate_limits_are_stripes_error_object(api: Api) -> None:
    for kind, status in (("error_500", 500), ("rate_limit_429", 429), ("conflict_409", 409)):
        api.standin.add_fault(FaultRule(kind=kind, method="POST", path=r"^/v1/payment_intents$"))  # type: ignore[arg-type]
        charge(api, card("pm_card_visa"), expect=status)


@scenario
def events_are_listed_retrieved_and_each_data_object_is_its_own_kind(api: Api) -> None:
    pi = charge(api, card("pm_card_visa"))
    charge(api, card("pm_card_chargeDeclined"), expect=402)
    api.call("POST", "/v1/refunds", {"payment_intent": pi["id"]})
    listing = api.call("GET", "/v1/events", {"limit": 10})
    assert {e["type"] for e in listing["data"]} >= {
        "payment_intent.succeeded",
        "payment_intent.payment_failed",
        "charge.refunded",
    }
    for event in listing["data"]:
        api.call("GET", f"/v1/events/{event['id']}")
    api.call("GET", "/v1/events", {"type": "charge.refunded"})
    api.call("GET", "/v1/events/evt_missing", expect=404)


@scenario
def a_dispute_is_answered_with_evidence_listed_and_closed(api: Api) -> None:
    pi = charge(api, card("pm_card_visa"))
    opened = api.standin.open_dispute(pi["latest_charge"], reason="product_not_received")
    assert CONTRACT.check_object(opened) == []
    path = f"/v1/disputes/{opened['id']}"
    api.call("GET", path, {"expand": ["charge"]})
    api.call("POST", path, {"evidence": {"service_date": "2027-03-01"}, "submit": False})
    api.call("POST", path, {"metadata": {"session_id": "s-1"}})
    api.call("POST", path, {"evidence": {"service_date": "2027-03-02"}}, expect=400)
    api.call("GET", "/v1/disputes", {"payment_intent": pi["id"]})
    api.call("POST", "/v1/refunds", {"payment_intent": pi["id"]}, expect=400)  # charge_disputed
    api.standin.close_dispute(opened["id"], "won")
    other = charge(api, card("pm_card_visa"))
    accepted = api.standin.open_dispute(other["latest_charge"], inquiry=True)
    api.call("POST", f"/v1/disputes/{accepted['id']}/close")
    api.call("POST", f"/v1/disputes/{accepted['id']}/close", expect=400)
    api.call("GET", "/v1/disputes/dp_missing", expect=404)
    for event in api.call("GET", "/v1/events", {"limit": 100})["data"]:
        api.call("GET", f"/v1/events/{event['id']}")
    kinds = {e["type"] for e in api.standin.events()}
    assert {"charge.dispute.created", "charge.dispute.updated", "charge.dispute.closed"} <= kinds


@scenario
def a_direct_charge_on_a_connected_account_with_a_cloned_card(api: Api) -> None:
    account = api.call("POST", "/v1/accounts", {"type": "standard", "country": "GB"})
    acct = account["id"]
    api.call("GET", f"/v1/accounts/{acct}")
    api.call("GET", "/v1/accounts", {"limit": 3})
    api.call("GET", "/v1/accounts/acct_missing", expect=403)
    customer = api.call("POST", "/v1/customers", {"metadata": {"client_id": "c-1"}})
    saved_card = card("pm_card_visa")
    api.call("GET", f"/v1/payment_methods/{saved_card}")
    clone = api.call(
        "POST",
        "/v1/payment_methods",
        {"customer": customer["id"], "payment_method": saved_card},
        account=acct,
        idempotency_key=f"clone:{saved_card}",
    )
    api.call("GET", f"/v1/payment_methods/{clone['id']}", account=acct)
    api.call("GET", f"/v1/payment_methods/{clone['id']}", expect=404)
    api.call("POST", "/v1/payment_methods", {"payment_method": saved_card}, account=acct, expect=400)
    pi = api.call(
        "POST",
        "/v1/payment_intents",
        {
            "amount": 6000,
            "currency": "gbp",
            "payment_method": clone["id"],
            "off_session": True,
            "confirm": True,
            "application_fee_amount": 720,
        },
        account=acct,
    )
    api.call("GET", f"/v1/charges/{pi['latest_charge']}", account=acct)
    api.call("GET", f"/v1/payment_intents/{pi['id']}", expect=404)
    api.call("POST", "/v1/refunds", {"payment_intent": pi["id"], "amount": 1000}, account=acct)
    api.call("POST", "/v1/payment_intents", {"amount": 1, "currency": "gbp"}, account="acct_nope", expect=403)
    api.standin.set_account_status(acct, charges_enabled=False, disabled_reason="requirements.past_due")
    api.call(
        "POST",
        "/v1/payment_intents",
        {
            "amount": 6000,
            "currency": "gbp",
            "payment_method": "pm_card_visa",
            "off_session": True,
            "confirm": True,
        },
        account=acct,
        expect=400,
    )
    api.call("GET", f"/v1/accounts/{acct}")
    events = api.call("GET", "/v1/events", {"limit": 100}, account=acct)["data"]
    assert {"account.updated", "payment_intent.succeeded", "charge.refunded"} <= {e["type"] for e in events}
    for event in events:
        api.call("GET", f"/v1/events/{event['id']}", account=acct)


@scenario
def the_commission_is_an_application_fee_refunded_with_the_charge_or_on_its_own(api: Api) -> None:
    acct = api.call("POST", "/v1/accounts", {"type": "standard", "country": "GB"})["id"]
    direct = {"amount": 6000, "currency": "gbp", "payment_method": "pm_card_visa", "off_session": True}
    pi = api.call(
        "POST",
        "/v1/payment_intents",
        {**direct, "confirm": True, "application_fee_amount": 1000},
        account=acct,
    )
    charge_id = pi["latest_charge"]
    fee_id = api.call("GET", f"/v1/charges/{charge_id}", account=acct)["application_fee"]
    api.call("GET", f"/v1/application_fees/{fee_id}", {"expand": ["charge"]})
    api.call("GET", f"/v1/application_fees/{fee_id}", account=acct, expect=404)
    api.call("GET", "/v1/application_fees", {"charge": charge_id})
    api.call(
        "POST",
        "/v1/refunds",
        {"payment_intent": pi["id"], "amount": 2000, "refund_application_fee": True},
        account=acct,
    )
    own = api.call("POST", f"/v1/application_fees/{fee_id}/refunds", {"amount": 100, "metadata": {"k": "v"}})
    api.call("POST", f"/v1/application_fees/{fee_id}/refunds", {"amount": 99999}, expect=400)
    api.call("GET", f"/v1/application_fees/{fee_id}/refunds")
    api.call("GET", f"/v1/application_fees/{fee_id}/refunds/{own['id']}")
    api.call("GET", f"/v1/application_fees/{fee_id}/refunds/fr_missing", expect=404)
    api.call("GET", "/v1/application_fees/fee_missing", expect=404)
    api.call(
        "POST", "/v1/payment_intents", {**direct, "confirm": True, "application_fee_amount": 600}, expect=400
    )
    kinds = {e["type"] for e in api.call("GET", "/v1/events", {"limit": 100})["data"]}
    assert {"application_fee.created", "application_fee.refunded"} <= kinds
    for event in api.call("GET", "/v1/events", {"limit": 100})["data"]:
        api.call("GET", f"/v1/events/{event['id']}")


# --- webhooks ---------------------------------------------------------------------------------


class Receiver:
    """A loopback webhook endpoint that keeps each body it is posted."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self._cond = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver._cond:
                    receiver.bodies.append(body)
                    receiver._cond.notify_all()
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/webhooks/stripe"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def wait_for(self, count: int, timeout: float = 5.0) -> list[bytes]:
        with self._cond:
            assert self._cond.wait_for(lambda: len(self.bodies) >= count, timeout), len(self.bodies)
            return list(self.bodies)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def test_every_webhook_body_the_stand_in_delivers_is_a_stripe_event(standin: StripeStandIn) -> None:
    receiver = Receiver()
    standin.configure_webhook(receiver.url, "whsec_contract")
    try:
        api = Api(standin)
        pi = charge(api, card("pm_card_visa"))
        charge(api, card("pm_card_chargeDeclined"), expect=402)
        charge(api, card("pm_card_authenticationRequired"), expect=402)
        on_session = api.call(
            "POST",
            "/v1/payment_intents",
            {"amount": 100, "currency": "gbp", "payment_method": card("pm_card_authenticationRequired")},
        )
        api.call(
            "POST",
            f"/v1/payment_intents/{on_session['id']}/confirm",
            {"return_url": "https://example.test/return"},
        )
        api.call("POST", f"/v1/payment_intents/{on_session['id']}/cancel")
        api.call("POST", "/v1/refunds", {"payment_intent": pi["id"]})
        acct = api.call("POST", "/v1/accounts", {"type": "standard", "country": "GB"})["id"]
        direct = api.call(
            "POST",
            "/v1/payment_intents",
            {
                "amount": 6000,
                "currency": "gbp",
                "payment_method": "pm_card_visa",
                "off_session": True,
                "confirm": True,
                "application_fee_amount": 720,
            },
            account=acct,
        )
        refund = {"payment_intent": direct["id"], "refund_application_fee": True}
        api.call("POST", "/v1/refunds", refund, account=acct)
        standin.set_account_status(acct, charges_enabled=False, disabled_reason="requirements.past_due")
        disputed = charge(api, card("pm_card_visa"))
        standin.close_dispute(standin.open_dispute(disputed["latest_charge"])["id"], "lost")
        expected = len(standin.events())
        bodies = receiver.wait_for(expected)
    finally:
        standin.configure_webhook(None, None)
        receiver.close()
    events = [json.loads(body) for body in bodies]
    for event in events:
        violations = CONTRACT.check_object(event)
        assert not violations, f"{event['type']}:\n" + "\n".join(violations)
    assert {e["type"] for e in events} == {
        "payment_intent.succeeded",
        "payment_intent.payment_failed",
        "payment_intent.requires_action",
        "payment_intent.canceled",
        "charge.refunded",
        "account.updated",
        "application_fee.created",
        "application_fee.refunded",
        "charge.dispute.created",
        "charge.dispute.closed",
    }
    assert any(e.get("account") == acct for e in events)  # Connect events carry their account


# --- the scenarios, then the coverage they give -----------------------------------------------

RESULTS: dict[str, list[Validated]] = {}


@pytest.fixture
def api(standin: StripeStandIn) -> Iterator[Api]:
    standin.reset()
    standin.configure_webhook(None, None)
    yield Api(standin)
    standin.clear_faults()


def _run(fn: Scenario, api: Api) -> None:
    fn(api)
    RESULTS[fn.__name__] = api.validated


@pytest.mark.parametrize("fn", SCENARIOS, ids=[fn.__name__ for fn in SCENARIOS])
def test_each_stand_in_response_matches_stripes_published_schema(fn: Scenario, api: Api) -> None:
    _run(fn, api)


def test_every_stand_in_route_has_a_response_validated_against_stripes_schema(
    standin: StripeStandIn,
) -> None:
    # Scenarios this session did not run (a -k selection) run here: coverage is always measured.
    for fn in SCENARIOS:
        if fn.__name__ not in RESULTS:
            standin.reset()
            api = Api(standin)
            try:
                _run(fn, api)
            finally:
                standin.clear_faults()
    validated = [v for results in RESULTS.values() for v in results]
    covered = {id(v.route) for v in validated if v.route is not None}
    missing = [f"{route.method} {route.pattern.pattern}" for route in ROUTES if id(route) not in covered]
    assert not missing, f"routes with no response validated against Stripe's schema: {missing}"
    # What the contract covers, for the docs (pytest -rP prints it).
    print("\n".join(sorted({str(v) for v in validated})))  # noqa: T201
