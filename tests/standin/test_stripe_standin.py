"""Behavioural tests of the loopback Stripe stand-in, driven through the real stripe client."""

from __future__ import annotations

import contextlib
import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
import stripe
from stripe.params import PaymentIntentCreateParams

from dev.stripe_standin import FaultRule, StripeStandIn
from dev.stripe_standin.forms import decode_form

stripe.enable_telemetry = False

API_KEY = "sk_test_standin_tests"
WEBHOOK_SECRET = "whsec_standin_tests"


# --- fixtures and helpers ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def standin() -> Iterator[StripeStandIn]:
    with StripeStandIn() as server:
        yield server


@pytest.fixture(autouse=True)
def _fresh(standin: StripeStandIn) -> None:
    standin.reset()
    standin.configure_webhook(None, None)


def make_client(standin: StripeStandIn, *, retries: int = 0, timeout: float = 5.0) -> stripe.StripeClient:
    return stripe.StripeClient(
        API_KEY,
        base_addresses={"api": standin.url},
        http_client=stripe.HTTPXClient(timeout=timeout, allow_sync_methods=True),
        max_network_retries=retries,
    )


@pytest.fixture
def client(standin: StripeStandIn) -> stripe.StripeClient:
    return make_client(standin)


def pm(name: str) -> str:
    """A unique test pm id that still maps to Stripe's named behaviour."""
    return f"{name}_{uuid.uuid4().hex[:8]}"


def charge_params(pm_id: str, *, amount: int = 6000, customer: str = "cus_test") -> PaymentIntentCreateParams:
    """The off-session charge the service makes at T-48h."""
    return {
        "amount": amount,
        "currency": "gbp",
        "customer": customer,
        "payment_method": pm_id,
        "off_session": True,
        "confirm": True,
        "metadata": {"session_id": "s-1"},
    }


class WebhookReceiver:
    """A loopback endpoint that records posts and answers with scripted statuses."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.posts: list[tuple[bytes, str | None]] = []
        self._statuses = list(statuses or [])
        self._cond = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver._cond:
                    receiver.posts.append((body, self.headers.get("Stripe-Signature")))
                    status = receiver._statuses.pop(0) if receiver._statuses else 200
                    receiver._cond.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/webhooks/stripe"

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def wait_for(self, count: int, timeout: float = 5.0) -> list[tuple[bytes, str | None]]:
        with self._cond:
            assert self._cond.wait_for(lambda: len(self.posts) >= count, timeout), (
                f"expected {count} webhook posts, got {len(self.posts)}"
            )
            return list(self.posts)


# --- form decoding ----------------------------------------------------------------------------


def test_form_decoding_nests_lists_and_coerces_only_known_fields() -> None:
    body = (
        "amount=4500&currency=gbp&off_session=true&confirm=false&metadata[booking_id]=b-1"
        "&metadata[flag]=true&payment_method_types[0]=card&expand[0]=latest_charge"
        "&expand[1]=customer&a[b][c]=deep&tags[]=x&tags[]=y&description=123"
    )
    assert decode_form(body) == {
        "amount": 4500,
        "currency": "gbp",
        "off_session": True,
        "confirm": False,
        "metadata": {"booking_id": "b-1", "flag": "true"},
        "payment_method_types": ["card"],
        "expand": ["latest_charge", "customer"],
        "a": {"b": {"c": "deep"}},
        "tags": ["x", "y"],
        "description": "123",
    }


# --- successful charges -----------------------------------------------------------------------


def test_visa_create_and_confirm_succeeds_with_charge_and_event(
    standin: StripeStandIn, client: stripe.StripeClient
) -> None:
    customer = client.v1.customers.create({"email": "client@example.test"})
    pi = client.v1.payment_intents.create(
        {"amount": 6000, "currency": "GBP", "customer": customer.id, "metadata": {"session_id": "s1"}}
    )
    assert pi.status == "requires_payment_method"
    assert pi.client_secret is not None and pi.client_secret.startswith(f"{pi.id}_secret_")

    confirmed = client.v1.payment_intents.confirm(
        pi.id, {"payment_method": pm("pm_card_visa"), "off_session": True}
    )
    assert confirmed.status == "succeeded"
    assert confirmed.amount_received == 6000
    assert confirmed.currency == "gbp"
    charge = standin.charges(payment_intent=pi.id)
    assert [c["status"] for c in charge] == ["succeeded"]
    assert charge[0]["metadata"] == {"session_id": "s1"}
    assert confirmed.latest_charge == charge[0]["id"]
    events = standin.events(type="payment_intent.succeeded")
    assert [e["data"]["object"]["id"] for e in events] == [pi.id]
    assert events[0]["api_version"] == "2026-10-28.endive"
    assert client.v1.customers.retrieve(customer.id).email == "client@example.test"


def test_retrieve_expands_latest_charge_and_list_filters_by_customer(
    client: stripe.StripeClient,
) -> None:
    first = client.v1.payment_intents.create(charge_params(pm("pm_card_mastercard")))
    client.v1.payment_intents.create(charge_params(pm("pm_card_visa"), customer="cus_other"))
    third = client.v1.payment_intents.create(charge_params(pm("pm_card_visa")))

    expanded = client.v1.payment_intents.retrieve(first.id, {"expand": ["latest_charge"]})
    assert not isinstance(expanded.latest_charge, str)
    assert expanded.latest_charge is not None and expanded.latest_charge.amount == 6000

    listing = client.v1.payment_intents.list({"customer": "cus_test", "limit": 1})
    assert [p.id for p in listing.data] == [third.id]
    assert listing.has_more is True
    assert listing.url == "/v1/payment_intents"


async def test_async_client_create_works(standin: StripeStandIn) -> None:
    http = stripe.HTTPXClient(timeout=5)
    client = stripe.StripeClient(API_KEY, base_addresses={"api": standin.url}, http_client=http)
    try:
        pi = await client.v1.payment_intents.create_async(charge_params(pm("pm_card_visa")))
        with pytest.raises(stripe.CardError) as declined:
            await client.v1.payment_intents.create_async(charge_params("pm_card_chargeDeclined"))
    finally:
        await http.close_async()  # type: ignore[no-untyped-call]
    assert pi.status == "succeeded"
    assert declined.value.error is not None
    assert declined.value.error.decline_code == "generic_decline"


# --- declines ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pm_name", "code", "decline_code", "advice_code"),
    [
        ("pm_card_chargeDeclinedInsufficientFunds", "card_declined", "insufficient_funds", "try_again_later"),
        ("pm_card_chargeDeclined", "card_declined", "generic_decline", None),
        ("pm_card_chargeDeclinedProcessingError", "processing_error", None, None),
        ("pm_card_chargeDeclinedLostCard", "card_declined", "lost_card", "do_not_try_again"),
        ("pm_card_chargeDeclinedExpiredCard", "expired_card", "expired_card", None),
    ],
)
def test_declines_raise_card_error_and_leave_pi_requiring_payment_method(
    standin: StripeStandIn,
    client: stripe.StripeClient,
    pm_name: str,
    code: str,
    decline_code: str | None,
    advice_code: str | None,
) -> None:
    pm_id = pm(pm_name)
    with pytest.raises(stripe.CardError) as caught:
        client.v1.payment_intents.create(charge_params(pm_id), {"idempotency_key": "decline-1"})
    err = caught.value
    assert err.http_status == 402
    assert err.code == code
    assert err.error is not None
    assert err.error.type == "card_error"
    assert err.error.decline_code == decline_code
    assert err.error.advice_code == advice_code
    assert err.error.payment_method is not None and err.error.payment_method.id == pm_id
    assert err.error.payment_intent is not None
    pi_id = err.error.payment_intent.id
    assert err.error.payment_intent.status == "requires_payment_method"
    assert str(err.error.payment_intent.client_secret).startswith(f"{pi_id}_secret_")

    [stored] = standin.payment_intents()
    assert stored["id"] == pi_id
    assert stored["status"] == "requires_payment_method"
    assert stored["last_payment_error"]["code"] == code
    assert stored["payment_method"] is None
    [charge] = standin.charges(payment_intent=pi_id)
    assert charge["status"] == "failed" and charge["id"] == err.error.charge
    assert [e["type"] for e in standin.events()] == ["payment_intent.payment_failed"]

    # The decline was produced by execution, so the same key replays it byte-for-byte.
    with pytest.raises(stripe.CardError) as replayed:
        client.v1.payment_intents.create(charge_params(pm_id), {"idempotency_key": "decline-1"})
    assert replayed.value.http_body == err.http_body
    assert len(standin.payment_intents()) == 1


def test_declined_pi_can_be_confirmed_again_with_a_new_card(
    standin: StripeStandIn, client: stripe.StripeClient
) -> None:
    with pytest.raises(stripe.CardError) as caught:
        client.v1.payment_intents.create(charge_params(pm("pm_card_chargeDeclinedInsufficientFunds")))
    assert caught.value.error is not None and caught.value.error.payment_intent is not None
    pi_id = caught.value.error.payment_intent.id
    retried = client.v1.payment_intents.confirm(
        pi_id, {"payment_method": pm("pm_card_visa"), "off_session": True}
    )
    assert retried.status == "succeeded"
    assert retried.last_payment_error is None
    assert [c["status"] for c in standin.charges(payment_intent=pi_id)] == ["failed", "succeeded"]


def test_payment_method_override_and_unknown_payment_method(
    standin: StripeStandIn, client: stripe.StripeClient
) -> None:
    special = pm("pm_card_visa")
    standin.set_payment_method_behaviour(special, "lost_card")
    with pytest.raises(stripe.CardError) as caught:
        client.v1.payment_intents.create(charge_params(special))
    assert caught.value.error is not None and caught.value.error.decline_code == "lost_card"
    # Only the exact id is overridden.
    assert client.v1.payment_intents.create(charge_params(pm("pm_card_visa"))).status == "succeeded"

    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.payment_intents.create(charge_params("pm_nonexistent"))
    assert missing.value.code == "resource_missing"
    assert missing.value.param == "payment_method"
    assert len(standin.payment_intents()) == 2
    with pytest.raises(ValueError):
        standin.set_payment_method_behaviour("pm_x", "no_such_behaviour")


# --- authentication required ------------------------------------------------------------------


def test_authentication_required_off_session_declines_on_session_requires_action(
    standin: StripeStandIn, client: stripe.StripeClient
) -> None:
    pm_id = pm("pm_card_authenticationRequired")
    with pytest.raises(stripe.CardError) as caught:
        client.v1.payment_intents.create(charge_params(pm_id))
    assert caught.value.code == "authentication_required"
    assert caught.value.error is not None
    assert caught.value.error.decline_code == "authentication_required"
    assert caught.value.error.payment_intent is not None
    assert caught.value.error.payment_intent.status == "requires_payment_method"

    on_session = client.v1.payment_intents.create(
        {
            "amount": 6000,
            "currency": "gbp",
            "payment_method": pm_id,
            "confirm": True,
            "automatic_payment_methods": {"enabled": True, "allow_redirects": "never"},
        }
    )
    assert on_session.status == "requires_action"
    assert on_session.next_action is not None and on_session.next_action.type == "use_stripe_sdk"
    assert standin.events(type="payment_intent.succeeded") == []

    authenticated = standin.authenticate_on_session(on_session.id)
    assert authenticated["status"] == "succeeded"
    assert authenticated["amount_received"] == 6000
    assert client.v1.payment_intents.retrieve(on_session.id).status == "succeeded"
    [event] = standin.events(type="payment_intent.succeeded")
    assert event["data"]["object"]["id"] == on_session.id
    assert event["request"] == {"id": None, "idempotency_key": None}


def test_authenticate_on_session_recovers_an_off_session_failure(
    standin: StripeStandIn, client: stripe.StripeClient
) -> None:
    with pytest.raises(stripe.CardError) as caught:
        client.v1.payment_intents.create(charge_params(pm("pm_card_authenticationRequired")))
    assert caught.value.error is not None and caught.value.error.payment_intent is not None
    pi_id = caught.value.error.payment_intent.id
    assert standin.authenticate_on_session(pi_id)["status"] == "succeeded"
    with pytest.raises(ValueError):
        standin.authenticate_on_session(pi_id)
    with pytest.raises(KeyError):
        standin.authenticate_on_session("pi_missing")


# --- idempotency ------------------------------------------------------------------------------


def test_same_key_same_params_replays_the_same_payment_intent(
    standin: StripeStandIn, client: stripe.StripeClient
) -> None:
    params = charge_params(pm("pm_card_visa"))
    first = client.v1.payment_intents.create(params, {"idempotency_key": "booking:1:charge:1"})
    second = client.v1.payment_intents.create(params, {"idempotency_key": "booking:1:charge:1"})
    assert second.id == first.id
    assert second.last_response is not None
    assert second.last_response.headers["Idempotent-Replayed"] == "true"
    assert second.last_response.idempotency_key == "booking:1:charge:1"
    assert len(standin.payment_intents()) == 1
    assert len(standin.events(type="payment_intent.succeeded")) == 1
    assert [r.replayed for r in standin.requests] == [False, True]


def test_same_key_different_params_is_an_idempotency_error(
    standin: StripeStandIn, client: stripe.StripeClient
) -> None:
    client.v1.payment_intents.create(charge_params(pm("pm_card_visa")), {"idempotency_key": "k"})
    with pytest.raises(stripe.IdempotencyError) as caught:
        client.v1.payment_intents.create(
            charge_params(pm("pm_card_visa"), amount=7000), {"idempotency_key": "k"}
        )
    assert caught.value.http_status == 400
    assert "Try using a key other than 'k'" in str(caught.value.user_message)
    assert len(standin.payment_intents()) == 1


def test_concurrent_request_with_key_in_flight_gets_409(
    standin: StripeStandIn, client: stripe.StripeClient
) -> None:
    params = charge_params(pm("pm_card_visa"))
    standin.add_fault(FaultRule(kind="delay", path=r"^/v1/payment_intents$", delay_seconds=0.5))
    results: dict[str, Any] = {}

    def first_call() -> None:
        results["pi"] = make_client(standin).v1.payment_intents.create(params, {"idempotency_key": "dup"})

    worker = threading.Thread(target=first_call)
    worker.start()
    try:
        assert standin.wait_until_in_flight("dup", timeout=5)
        with pytest.raises(stripe.APIError) as caught:
            client.v1.payment_intents.create(params, {"idempotency_key": "dup"})
    finally:
        worker.join(timeout=5)
    assert caught.value.http_status == 409
    assert caught.value.error is not None and caught.value.error.code == "idempotency_key_in_use"
    assert results["pi"].status == "succeeded"
    assert len(standin.payment_intents()) == 1


def test_missing_params_are_not_saved_under_the_key(
    standin: StripeStandIn, client: stripe.StripeClient
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.payment_intents.create({"currency": "gbp"}, {"idempotency_key": "k"})  # type: ignore[typeddict-item]
    assert caught.value.code == "parameter_missing"
    assert caught.value.param == "amount"
    # A different body under the same key is accepted: the failed validation saved nothing.
    pi = client.v1.payment_intents.create({"amount": 100, "currency": "gbp"}, {"idempotency_key": "k"})
    assert pi.amount == 100
    assert len(standin.payment_intents()) == 1


# --- faults -----------------------------------------------------------------------------------


def test_error_500_is_not_saved_and_a_manual_retry_with_the_same_key_creates_one_pi(
    standin: StripeStandIn, client: stripe.StripeClient
) -> None:
    standin.add_fault(FaultRule(kind="error_500", method="POST", path=r"^/v1/payment_intents"))
    params = charge_params(pm("pm_card_visa"))
    with pytest.raises(stripe.APIError) as caught:
        client.v1.payment_intents.create(params, {"idempotency_key": "k500"})
    assert caught.value.http_status == 500
    assert standin.payment_intents() == []

    pi = client.v1.payment_intents.create(params, {"idempotency_key": "k500"})
    assert pi.status == "succeeded"
    assert len(standin.payment_intents()) == 1
    assert [(r.status, r.fault) for r in standin.requests] == [(500, "error_500"), (200, None)]


def test_sdk_retries_a_500_with_the_same_key(standin: StripeStandIn) -> None:
    standin.add_fault(FaultRule(kind="error_500"))
    pi = make_client(standin, retries=1).v1.payment_intents.create(charge_params(pm("pm_card_visa")))
    assert pi.status == "succeeded"
    keys = [r.idempotency_key for r in standin.requests]
    assert len(keys) == 2 and keys[0] == keys[1] and keys[0] is not None
    assert len(standin.payment_intents()) == 1


def test_drop_after_commit_loses_the_response_but_the_retry_replays(
    standin: StripeStandIn, client: stripe.StripeClient
) -> None:
    standin.add_fault(FaultRule(kind="drop_after_commit"))
    params = charge_params(pm("pm_card_visa"))
    with pytest.raises(stripe.APIConnectionError) as caught:
        client.v1.payment_intents.create(params, {"idempotency_key": "lost"})
    assert caught.value.should_retry is True
    [committed] = standin.payment_intents()
    assert committed["status"] == "succeeded"

    retried = client.v1.payment_intents.create(params, {"idempotency_key": "lost"})
    assert retried.id == committed["id"]
    assert len(standin.payment_intents()) == 1
    assert [(r.status, r.fault, r.replayed) for r in standin.requests] == [
        (None, "drop_after_commit", False),
        (200, None, True),
    ]


def test_drop_before_commit_creates_nothing(standin: StripeStandIn, client: stripe.StripeClient) -> None:
    standin.add_fault(FaultRule(kind="drop_before_commit"))
    params = charge_params(pm("pm_card_visa"))
    with pytest.raises(stripe.APIConnectionError):
        client.v1.payment_intents.create(params, {"idempotency_key": "early"})
    assert standin.payment_intents() == []
    assert client.v1.payment_intents.create(params, {"idempotency_key": "early"}).status == "succeeded"
    assert len(standin.payment_intents()) == 1


def test_delay_past_client_timeout_still_commits_and_retry_replays(
    standin: StripeStandIn,
) -> None:
    standin.add_fault(FaultRule(kind="delay", delay_seconds=0.6))
    impatient = make_client(standin, timeout=0.2)
    params = charge_params(pm("pm_card_visa"))
    with pytest.raises(stripe.APIConnectionError):
        impatient.v1.payment_intents.create(params, {"idempotency_key": "slow"})
    assert standin.wait_until_settled("slow", timeout=5)
    [committed] = standin.payment_intents()
    assert committed["status"] == "succeeded"

    retried = impatient.v1.payment_intents.create(params, {"idempotency_key": "slow"})
    assert retried.id == committed["id"]
    assert len(standin.payment_intents()) == 1


def test_rate_limit_429_raises_and_is_not_saved(standin: StripeStandIn, client: stripe.StripeClient) -> None:
    standin.add_fault(FaultRule(kind="rate_limit_429", times=2))
    params = charge_params(pm("pm_card_visa"))
    for _ in range(2):
        with pytest.raises(stripe.RateLimitError):
            client.v1.payment_intents.create(params, {"idempotency_key": "busy"})
    assert standin.payment_intents() == []
    assert client.v1.payment_intents.create(params, {"idempotency_key": "busy"}).status == "succeeded"


def test_fault_rules_match_method_and_path_only(standin: StripeStandIn, client: stripe.StripeClient) -> None:
    standin.add_fault(FaultRule(kind="conflict_409", method="GET", path=r"^/v1/payment_intents"))
    standin.add_fault(FaultRule(kind="conflict_409", method="POST", path=r"^/v1/refunds"))
    pi = client.v1.payment_intents.create(charge_params(pm("pm_card_visa")))
    with pytest.raises(stripe.APIError) as read_conflict:
        client.v1.payment_intents.retrieve(pi.id)
    assert read_conflict.value.http_status == 409
    with pytest.raises(stripe.APIError) as refund_conflict:
        client.v1.refunds.create({"payment_intent": pi.id})
    assert refund_conflict.value.http_status == 409
    # Both rules are spent after one hit each.
    assert client.v1.payment_intents.retrieve(pi.id).id == pi.id
    assert client.v1.refunds.create({"payment_intent": pi.id}).status == "succeeded"
    assert [r.fault for r in standin.requests] == [None, "conflict_409", "conflict_409", None, None]
    with pytest.raises(ValueError):
        FaultRule(kind="explode")  # type: ignore[arg-type]


def test_random_faults_are_reproducible_for_a_seed(
    standin: StripeStandIn, client: stripe.StripeClient
) -> None:
    def run() -> list[str | None]:
        standin.reset()
        standin.set_random_faults(rate=0.5, seed=7, kinds=("error_500", "rate_limit_429"))
        for _ in range(12):
            with contextlib.suppress(stripe.APIError, stripe.RateLimitError):
                client.v1.payment_intents.list()
        return [r.fault for r in standin.requests]

    first = run()
    assert first == run()
    assert {None, "error_500", "rate_limit_429"} <= set(first)
    standin.set_random_faults(rate=0, seed=7)
    client.v1.payment_intents.list()
    assert standin.requests[-1].fault is None


# --- refunds and cancellation -----------------------------------------------------------------


def test_refunds_full_partial_and_over_refund(standin: StripeStandIn, client: stripe.StripeClient) -> None:
    pi = client.v1.payment_intents.create(charge_params(pm("pm_card_visa")))
    partial = client.v1.refunds.create(
        {"payment_intent": pi.id, "amount": 2000, "metadata": {"reason": "late"}},
        {"idempotency_key": "refund-1"},
    )
    assert (partial.amount, partial.status, partial.charge) == (2000, "succeeded", pi.latest_charge)
    replayed = client.v1.refunds.create(
        {"payment_intent": pi.id, "amount": 2000, "metadata": {"reason": "late"}},
        {"idempotency_key": "refund-1"},
    )
    assert replayed.id == partial.id

    with pytest.raises(stripe.InvalidRequestError) as too_large:
        client.v1.refunds.create({"payment_intent": pi.id, "amount": 5000})
    assert too_large.value.code == "amount_too_large"

    rest = client.v1.refunds.create({"payment_intent": pi.id})
    assert rest.amount == 4000
    assert client.v1.refunds.retrieve(rest.id).payment_intent == pi.id

    with pytest.raises(stripe.InvalidRequestError) as done:
        client.v1.refunds.create({"payment_intent": pi.id})
    assert done.value.code == "charge_already_refunded"

    events = standin.events(type="charge.refunded")
    assert [e["data"]["object"]["amount_refunded"] for e in events] == [2000, 6000]
    assert events[-1]["data"]["object"]["refunded"] is True
    assert events[-1]["data"]["object"]["payment_intent"] == pi.id
    assert events[-1]["data"]["object"]["metadata"] == {"session_id": "s-1"}
    assert [r["amount"] for r in standin.refunds(payment_intent=pi.id)] == [2000, 4000]


def test_refund_of_unpaid_payment_intent_is_rejected(client: stripe.StripeClient) -> None:
    pi = client.v1.payment_intents.create({"amount": 100, "currency": "gbp"})
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.refunds.create({"payment_intent": pi.id})
    assert caught.value.code == "payment_intent_unexpected_state"


def test_cancel_and_confirm_respect_payment_intent_state(
    standin: StripeStandIn, client: stripe.StripeClient
) -> None:
    open_pi = client.v1.payment_intents.create({"amount": 100, "currency": "gbp"})
    canceled = client.v1.payment_intents.cancel(open_pi.id, {"cancellation_reason": "requested_by_customer"})
    assert canceled.status == "canceled"
    assert canceled.canceled_at is not None
    assert canceled.cancellation_reason == "requested_by_customer"
    assert [e["type"] for e in standin.events()] == ["payment_intent.canceled"]

    paid = client.v1.payment_intents.create(charge_params(pm("pm_card_visa")))
    for pi_id in (open_pi.id, paid.id):
        with pytest.raises(stripe.InvalidRequestError) as cancel_err:
            client.v1.payment_intents.cancel(pi_id)
        assert cancel_err.value.code == "payment_intent_unexpected_state"
        with pytest.raises(stripe.InvalidRequestError) as confirm_err:
            client.v1.payment_intents.confirm(pi_id, {"payment_method": pm("pm_card_visa")})
        assert confirm_err.value.code == "payment_intent_unexpected_state"

    waiting = client.v1.payment_intents.create(
        {
            "amount": 100,
            "currency": "gbp",
            "payment_method": pm("pm_card_authenticationRequired"),
            "confirm": True,
            "automatic_payment_methods": {"enabled": True, "allow_redirects": "never"},
        }
    )
    assert client.v1.payment_intents.cancel(waiting.id).status == "canceled"


# --- auth, routing, recording -----------------------------------------------------------------


def test_requests_without_a_test_key_get_401(standin: StripeStandIn) -> None:
    response = httpx.post(f"{standin.url}/v1/customers", data={"email": "x@example.test"})
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "invalid_request_error"
    live = stripe.StripeClient("sk_live_nope", base_addresses={"api": standin.url})
    with pytest.raises(stripe.AuthenticationError):
        live.v1.customers.create({"email": "x@example.test"})
    assert standin.customers() == []


def test_unknown_route_is_404_with_stripe_message(standin: StripeStandIn) -> None:
    response = httpx.get(f"{standin.url}/v1/x", headers={"Authorization": f"Bearer {API_KEY}"})
    assert response.status_code == 404
    assert response.json()["error"]["message"] == "Unrecognized request URL (GET: /v1/x)"
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Request-Id"].startswith("req_")
    with pytest.raises(stripe.InvalidRequestError):
        make_client(standin).v1.payment_intents.retrieve("pi_does_not_exist")


def test_recorded_requests_show_exactly_what_reached_stripe(
    standin: StripeStandIn, client: stripe.StripeClient
) -> None:
    client.v1.customers.create({"metadata": {"client_ref": "c-42"}}, {"idempotency_key": "cust"})
    [request] = standin.requests
    assert (request.method, request.path, request.status) == ("POST", "/v1/customers", 200)
    assert request.params == {"metadata": {"client_ref": "c-42"}}
    assert request.idempotency_key == "cust"
    assert "email" not in request.raw_body


# --- webhooks ---------------------------------------------------------------------------------


def test_webhook_is_signed_and_verifiable_and_redeliverable() -> None:
    with (
        WebhookReceiver() as receiver,
        StripeStandIn(webhook_url=receiver.url, webhook_secret=WEBHOOK_SECRET) as standin,
    ):
        client = make_client(standin)
        pi = client.v1.payment_intents.create(charge_params(pm("pm_card_visa")), {"idempotency_key": "wh-1"})
        [(payload, header)] = receiver.wait_for(1)
        assert [d.status for d in standin.wait_for_deliveries(1)] == [200]
        event = stripe.Webhook.construct_event(payload, header, WEBHOOK_SECRET)
        assert event.type == "payment_intent.succeeded"
        assert event.data.object["id"] == pi.id
        assert event.request is not None and event.request.idempotency_key == "wh-1"
        with pytest.raises(stripe.SignatureVerificationError):
            stripe.Webhook.construct_event(payload, header, "whsec_wrong")

        assert standin.deliver_event(event.id, times=3) == [200, 200, 200]
        posts = receiver.wait_for(4)
        redelivered = [stripe.Webhook.construct_event(p, h, WEBHOOK_SECRET) for p, h in posts[1:]]
        assert [e.id for e in redelivered] == [event.id] * 3
        assert all(p == payload for p, _ in posts)
        assert [d.manual for d in standin.deliveries] == [False, True, True, True]


def test_webhook_delivery_retries_after_a_failure(standin: StripeStandIn) -> None:
    with WebhookReceiver(statuses=[500]) as receiver:
        standin.configure_webhook(receiver.url, WEBHOOK_SECRET)
        make_client(standin).v1.payment_intents.create(charge_params(pm("pm_card_visa")))
        posts = receiver.wait_for(2)
        deliveries = standin.wait_for_deliveries(2)
    assert posts[0][0] == posts[1][0]
    assert [(d.attempt, d.status) for d in deliveries] == [(1, 500), (2, 200)]


# --- control API ------------------------------------------------------------------------------


def test_control_api_drives_faults_behaviours_authentication_and_reset(
    standin: StripeStandIn, client: stripe.StripeClient
) -> None:
    control = httpx.Client(base_url=f"{standin.url}/_standin")
    assert control.get("/health").json()["status"] == "ok"

    assert control.post("/faults", json={"kind": "error_500", "path": "^/v1/customers"}).status_code == 200
    assert control.post("/faults", json={"kind": "nope"}).status_code == 400
    with pytest.raises(stripe.APIError):
        client.v1.customers.create()
    assert client.v1.customers.create().id.startswith("cus_")

    control.post("/faults", json={"kind": "rate_limit_429"})
    assert control.delete("/faults").status_code == 200
    client.v1.customers.create()

    control.post("/payment_methods/pm_custom_1", json={"behaviour": "authentication_required"})
    pi = client.v1.payment_intents.create(
        {
            "amount": 500,
            "currency": "gbp",
            "payment_method": "pm_custom_1",
            "confirm": True,
            "automatic_payment_methods": {"enabled": True, "allow_redirects": "never"},
        }
    )
    assert pi.status == "requires_action"
    authenticated = control.post(f"/payment_intents/{pi.id}/authenticate")
    assert authenticated.json()["status"] == "succeeded"
    assert control.post("/payment_intents/pi_nope/authenticate").status_code == 404

    state = control.get("/state").json()
    assert [p["id"] for p in state["payment_intents"]] == [pi.id]
    # Stripe announces the wait for the customer, then the payment.
    assert [e["type"] for e in state["events"]] == [
        "payment_intent.requires_action",
        "payment_intent.succeeded",
    ]
    assert control.post(f"/events/{state['events'][0]['id']}/deliver").status_code == 400

    chaos = {"rate": 1.0, "seed": 1, "kinds": ["error_500"]}
    assert control.post("/random_faults", json=chaos).status_code == 200
    with pytest.raises(stripe.APIError):
        client.v1.customers.create()

    assert control.post("/reset").json() == {"ok": True}
    cleared = control.get("/state").json()
    assert cleared["payment_intents"] == [] and cleared["events"] == [] and cleared["requests"] == []
    assert client.v1.customers.create().id.startswith("cus_")
    control.close()


def test_standin_refuses_non_loopback_hosts() -> None:
    with pytest.raises(ValueError):
        StripeStandIn(host="0.0.0.0")
    with pytest.raises(ValueError):
        StripeStandIn(webhook_url="http://127.0.0.1:1/x")


def test_list_response_and_events_endpoint(client: stripe.StripeClient, standin: StripeStandIn) -> None:
    pi = client.v1.payment_intents.create(charge_params(pm("pm_card_visa")))
    [event_json] = standin.events()
    event = client.v1.events.retrieve(event_json["id"])
    assert event.type == "payment_intent.succeeded"
    assert event.data.object["id"] == pi.id
    listed = client.v1.events.list({"type": "payment_intent.succeeded"})
    assert [e.id for e in listed.data] == [event.id]
    raw = json.loads(
        httpx.get(
            f"{standin.url}/v1/payment_intents?customer=cus_none",
            headers={"Authorization": f"Bearer {API_KEY}"},
        ).text
    )
    assert raw == {"object": "list", "url": "/v1/payment_intents", "data": [], "has_more": False}


# --- who is present: on-session and off-session ---------------------------------------------


def test_an_sca_card_is_declined_off_session_and_asks_the_present_customer_on_a_reconfirmation(
    standin: StripeStandIn, client: stripe.StripeClient
) -> None:
    """The same PaymentIntent, as the service uses it: its off-session try is declined
    authentication_required (nobody can authenticate); confirmed again while the client is present
    it waits in requires_action for their browser, under the same client secret."""
    pm_id = pm("pm_card_authenticationRequired")
    with pytest.raises(stripe.CardError) as caught:
        client.v1.payment_intents.create(charge_params(pm_id))
    assert caught.value.code == "authentication_required"
    assert caught.value.error is not None and caught.value.error.payment_intent is not None
    declined = caught.value.error.payment_intent
    assert declined.status == "requires_payment_method"

    # The service confirms with its return URL, and use_stripe_sdk for Stripe.js in the browser.
    present = client.v1.payment_intents.confirm(
        declined.id,
        {"payment_method": pm_id, "return_url": "https://marketplace.example/paid", "use_stripe_sdk": True},
    )
    assert present.status == "requires_action"
    assert present.client_secret == declined.client_secret
    assert present.next_action is not None and present.next_action.type == "use_stripe_sdk"
    assert present.last_payment_error is None
    [event] = standin.events(type="payment_intent.requires_action")
    assert event["data"]["object"]["id"] == declined.id
    assert standin.authenticate_on_session(declined.id)["status"] == "succeeded"


def test_an_on_session_confirmation_with_a_return_url_redirects_the_customer_to_authenticate(
    client: stripe.StripeClient,
) -> None:
    waiting = client.v1.payment_intents.create(
        {
            "amount": 6000,
            "currency": "gbp",
            "payment_method": pm("pm_card_authenticationRequired"),
            "confirm": True,
            "return_url": "https://marketplace.example/sessions/s-1/paid",
        }
    )
    assert waiting.status == "requires_action"
    assert waiting.next_action is not None and waiting.next_action.type == "redirect_to_url"
    redirect = waiting.next_action.redirect_to_url
    assert redirect is not None and redirect.return_url == "https://marketplace.example/sessions/s-1/paid"


def test_a_card_without_authentication_is_charged_the_same_on_and_off_session(
    client: stripe.StripeClient,
) -> None:
    off = client.v1.payment_intents.create(charge_params(pm("pm_card_visa")))
    on = client.v1.payment_intents.create(
        {
            "amount": 6000,
            "currency": "gbp",
            "payment_method": pm("pm_card_visa"),
            "confirm": True,
            "automatic_payment_methods": {"enabled": True, "allow_redirects": "never"},
        }
    )
    assert (off.status, on.status) == ("succeeded", "succeeded")
    with pytest.raises(stripe.CardError) as caught:
        client.v1.payment_intents.create(
            {
                "amount": 6000,
                "currency": "gbp",
                "payment_method": pm("pm_card_chargeDeclinedInsufficientFunds"),
                "confirm": True,
                "automatic_payment_methods": {"enabled": True, "allow_redirects": "never"},
            }
        )
    assert caught.value.error is not None and caught.value.error.decline_code == "insufficient_funds"


def test_an_on_session_confirmation_that_may_redirect_needs_a_return_url_and_an_off_session_one_none(
    standin: StripeStandIn, client: stripe.StripeClient
) -> None:
    """Like Stripe since API version 2023-08-16: a PaymentIntent created without
    payment_method_types accepts redirect-based methods, so a confirmation with the customer
    present must say where the browser comes back to — even for a card; off-session none can be
    redirected, and none is needed."""
    pm_id = pm("pm_card_authenticationRequired")
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.payment_intents.create(
            {"amount": 6000, "currency": "gbp", "payment_method": pm_id, "confirm": True}
        )
    assert refused.value.param == "return_url"
    assert standin.payment_intents() == []  # refused before anything was created

    with pytest.raises(stripe.CardError):
        client.v1.payment_intents.create(charge_params(pm_id))  # off-session: no return_url needed
    [declined] = standin.payment_intents()
    assert declined["automatic_payment_methods"] == {"enabled": True, "allow_redirects": "always"}
    with pytest.raises(stripe.InvalidRequestError) as again:
        client.v1.payment_intents.confirm(declined["id"], {"payment_method": pm_id})
    assert again.value.param == "return_url"

    never = client.v1.payment_intents.create(
        {
            "amount": 6000,
            "currency": "gbp",
            "payment_method": pm_id,
            "confirm": True,
            "automatic_payment_methods": {"enabled": True, "allow_redirects": "never"},
        }
    )
    assert never.status == "requires_action"


def test_a_customer_on_a_payment_link_pays_a_declined_intent_with_another_card(
    standin: StripeStandIn, client: stripe.StripeClient
) -> None:
    with pytest.raises(stripe.CardError) as caught:
        client.v1.payment_intents.create(charge_params(pm("pm_card_chargeDeclinedLostCard")))
    assert caught.value.error is not None and caught.value.error.payment_intent is not None
    pi_id = caught.value.error.payment_intent.id
    control = httpx.Client(base_url=f"{standin.url}/_standin")

    paid = control.post(f"/payment_intents/{pi_id}/authenticate", json={"payment_method": pm("pm_card_visa")})

    assert paid.status_code == 200 and paid.json()["status"] == "succeeded"
    assert paid.json()["payment_method"].startswith("pm_card_visa_")
    control.close()
