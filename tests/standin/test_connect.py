"""Stripe Connect in the stand-in, driven through the real stripe client: the ``Stripe-Account``
header, connected accounts, payment method clones and application fees (direct charges)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import stripe
from stripe import RequestOptions
from stripe.params import PaymentIntentCreateParams

from dev.stripe_standin import PLATFORM, StripeStandIn

stripe.enable_telemetry = False

API_KEY = "sk_test_standin_connect"


@pytest.fixture(scope="module")
def standin() -> Iterator[StripeStandIn]:
    with StripeStandIn() as server:
        yield server


@pytest.fixture(autouse=True)
def _fresh(standin: StripeStandIn) -> None:
    standin.reset()
    standin.configure_webhook(None, None)


@pytest.fixture
def client(standin: StripeStandIn) -> stripe.StripeClient:
    return stripe.StripeClient(
        API_KEY,
        base_addresses={"api": standin.url},
        http_client=stripe.HTTPXClient(timeout=5.0, allow_sync_methods=True),
        max_network_retries=0,
    )


def on(account: str, key: str | None = None) -> RequestOptions:
    """Request options acting on a connected account (the SDK sends ``Stripe-Account``)."""
    options: RequestOptions = {"stripe_account": account}
    if key is not None:
        options["idempotency_key"] = key
    return options


def new_account(client: stripe.StripeClient) -> str:
    return client.v1.accounts.create({"type": "standard", "country": "GB"}).id


def direct_charge(amount: int = 6000, **extra: Any) -> PaymentIntentCreateParams:
    """An off-session charge with Stripe's own test card, usable on any account."""
    params: dict[str, Any] = {
        "amount": amount,
        "currency": "gbp",
        "payment_method": "pm_card_visa",
        "off_session": True,
        "confirm": True,
        "metadata": {"session_id": "s-1"},
        **extra,
    }
    return params  # type: ignore[return-value]


def missing(exc: pytest.ExceptionInfo[stripe.InvalidRequestError], status: int = 404) -> None:
    assert exc.value.http_status == status
    assert exc.value.code == "resource_missing"


# --- the Stripe-Account header --------------------------------------------------------------


def test_an_object_made_on_a_connected_account_is_missing_for_the_platform_and_other_accounts(
    client: stripe.StripeClient,
) -> None:
    a, b = new_account(client), new_account(client)
    pi = client.v1.payment_intents.create(direct_charge(), on(a))
    platform_pi = client.v1.payment_intents.create({"amount": 500, "currency": "gbp"})

    assert client.v1.payment_intents.retrieve(pi.id, options=on(a)).status == "succeeded"
    platform_options: RequestOptions = {}
    for options in (platform_options, on(b)):
        with pytest.raises(stripe.InvalidRequestError) as exc:
            client.v1.payment_intents.retrieve(pi.id, options=options)
        missing(exc)
        with pytest.raises(stripe.InvalidRequestError) as exc:
            client.v1.charges.retrieve(str(pi.latest_charge), options=options)
        missing(exc)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.payment_intents.cancel(platform_pi.id, options=on(a))
    missing(exc)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.payment_intents.confirm(platform_pi.id, {"payment_method": "pm_card_visa"}, on(a))
    missing(exc)
    # A refund names its charge in the body: an unknown one is a 400 on that param, like Stripe.
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.refunds.create({"payment_intent": pi.id}, on(b))
    missing(exc, 400)
    assert exc.value.param == "payment_intent"
    refund = client.v1.refunds.create({"payment_intent": pi.id, "amount": 100}, on(a))
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.refunds.retrieve(refund.id)
    missing(exc)


def test_lists_show_only_the_requesting_accounts_own_objects(
    standin: StripeStandIn, client: stripe.StripeClient
) -> None:
    a, b = new_account(client), new_account(client)
    on_a = client.v1.payment_intents.create(direct_charge(), on(a))
    on_b = client.v1.payment_intents.create(direct_charge(), on(b))
    saved_card = f"pm_card_visa_{uuid.uuid4().hex[:6]}"
    platform = client.v1.payment_intents.create(direct_charge(payment_method=saved_card))

    assert [p.id for p in client.v1.payment_intents.list(options=on(a)).data] == [on_a.id]
    assert [p.id for p in client.v1.payment_intents.list().data] == [platform.id]
    charges_on_b = client.v1.charges.list({"payment_intent": on_b.id}, on(b)).data
    assert [c.payment_intent for c in charges_on_b] == [on_b.id]
    assert client.v1.charges.list({"payment_intent": on_b.id}, on(a)).data == []
    assert [e.data.object["id"] for e in client.v1.events.list(options=on(a)).data] == [on_a.id]

    # The control API filters the same way; without a filter it sees every account.
    assert [p["id"] for p in standin.payment_intents(account=a)] == [on_a.id]
    assert [p["id"] for p in standin.payment_intents(account=PLATFORM)] == [platform.id]
    assert len(standin.payment_intents()) == 3
    assert [c["payment_intent"] for c in standin.charges(account=b)] == [on_b.id]
    assert standin.account_of(on_b.id) == b
    assert standin.account_of(platform.id) == PLATFORM


def test_idempotency_keys_are_scoped_per_account(standin: StripeStandIn, client: stripe.StripeClient) -> None:
    a, b = new_account(client), new_account(client)
    key = "session:s-1:charge:1"
    first = client.v1.payment_intents.create(direct_charge(6000), on(a, key))
    # The same key with other parameters on another account (or the platform) is a new request…
    on_b = client.v1.payment_intents.create(direct_charge(7000), on(b, key))
    on_platform = client.v1.payment_intents.create(
        {"amount": 100, "currency": "gbp"}, {"idempotency_key": key}
    )
    # …and on the same account it replays the first answer.
    again = client.v1.payment_intents.create(direct_charge(6000), on(a, key))

    assert again.id == first.id
    assert len({first.id, on_b.id, on_platform.id}) == 3
    assert len(standin.payment_intents(account=a)) == 1
    with pytest.raises(stripe.IdempotencyError):
        client.v1.payment_intents.create(direct_charge(9999), on(a, key))


def test_events_caused_on_a_connected_account_carry_it_and_platform_events_do_not(
    standin: StripeStandIn, client: stripe.StripeClient
) -> None:
    a = new_account(client)
    on_a = client.v1.payment_intents.create(direct_charge(), on(a))
    client.v1.payment_intents.create(direct_charge(payment_method="pm_card_visa"))

    connect_event, platform_event = (
        standin.events(type="payment_intent.succeeded", account=a)[0],
        standin.events(type="payment_intent.succeeded", account=PLATFORM)[0],
    )
    assert connect_event["account"] == a
    assert connect_event["data"]["object"]["id"] == on_a.id
    assert "account" not in platform_event
    # A Connect event is read back on its account, as a webhook handler confirms it.
    assert client.v1.events.retrieve(connect_event["id"], options=on(a)).account == a
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.events.retrieve(connect_event["id"])
    missing(exc)


def test_a_header_naming_an_account_the_platform_does_not_have_is_refused_with_403(
    standin: StripeStandIn, client: stripe.StripeClient
) -> None:
    with pytest.raises(stripe.PermissionError) as exc:
        client.v1.payment_intents.create(direct_charge(), on("acct_NotConnected00000", "k-1"))
    assert exc.value.http_status == 403
    # stripe-python keeps the code of a 403 on the error object only.
    assert exc.value.error is not None and exc.value.error.code == "account_invalid"
    assert "does not have access to account 'acct_NotConnected00000'" in str(exc.value.user_message)
    assert standin.payment_intents() == []
    with pytest.raises(stripe.PermissionError):
        client.v1.accounts.retrieve("acct_NotConnected00000")


def test_a_customers_saved_card_and_customer_on_the_platform_are_missing_on_a_connected_account(
    client: stripe.StripeClient,
) -> None:
    a = new_account(client)
    customer = client.v1.customers.create({"metadata": {"client_id": "c-1"}})
    saved_card = f"pm_card_visa_{uuid.uuid4().hex[:6]}"
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.payment_intents.create(direct_charge(payment_method=saved_card), on(a))
    missing(exc, 400)
    assert exc.value.param == "payment_method"
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.payment_intents.create(direct_charge(customer=customer.id), on(a))
    missing(exc, 400)
    assert exc.value.param == "customer"
    # Stripe's own test ids work on every account.
    assert client.v1.payment_intents.create(direct_charge(), on(a)).status == "succeeded"


def test_a_connect_event_reaches_the_webhook_with_its_account(standin: StripeStandIn) -> None:
    received: list[dict[str, Any]] = []
    sink = _Sink(received)
    with sink:
        standin.configure_webhook(sink.url, "whsec_connect")
        client = stripe.StripeClient(
            API_KEY,
            base_addresses={"api": standin.url},
            http_client=stripe.HTTPXClient(timeout=5.0, allow_sync_methods=True),
        )
        a = new_account(client)
        client.v1.payment_intents.create(direct_charge(), on(a))
        standin.wait_for_deliveries(1)
    assert [(e["type"], e.get("account")) for e in received] == [("payment_intent.succeeded", a)]


class _Sink:
    """A loopback webhook receiver that keeps the decoded events."""

    def __init__(self, received: list[dict[str, Any]]) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/webhooks/stripe"

    def __enter__(self) -> None:
        self._thread.start()

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


# --- connected accounts ---------------------------------------------------------------------


def test_the_platform_creates_and_reads_a_connected_account_shaped_like_stripes(
    standin: StripeStandIn, client: stripe.StripeClient
) -> None:
    created = client.v1.accounts.create(
        {"type": "standard", "country": "FR", "email": "t@example.test", "metadata": {"practice_id": "p-1"}}
    )
    assert created.id.startswith("acct_")
    read = client.v1.accounts.retrieve(created.id)
    assert read.to_dict() == created.to_dict()
    assert read.object == "account"
    assert (read.type, read.country, read.default_currency) == ("standard", "FR", "eur")
    assert read.email == "t@example.test"
    assert (read.charges_enabled, read.payouts_enabled, read.details_submitted) == (True, True, True)
    assert read.requirements is not None and read.requirements.disabled_reason is None
    assert read.capabilities is not None and read.capabilities.card_payments == "active"
    assert read.to_dict()["metadata"] == {"practice_id": "p-1"}
    assert [a["id"] for a in standin.accounts()] == [created.id]
    assert [a.id for a in client.v1.accounts.list().data] == [created.id]
    # An account reads itself; it cannot create accounts of its own.
    assert client.v1.accounts.retrieve(created.id, options=on(created.id)).id == created.id
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.accounts.create({"type": "standard"}, on(created.id))
    assert exc.value.code == "platform_account_required"


def test_stripe_disabling_an_accounts_charges_sends_account_updated_with_what_changed(
    standin: StripeStandIn, client: stripe.StripeClient
) -> None:
    a = new_account(client)
    account = standin.set_account_status(a, charges_enabled=False, disabled_reason="requirements.past_due")
    assert account["charges_enabled"] is False
    assert account["requirements"]["disabled_reason"] == "requirements.past_due"
    assert account["capabilities"]["card_payments"] == "inactive"

    [event] = standin.events(type="account.updated")
    assert event["account"] == a
    assert event["data"]["object"]["id"] == a
    assert event["data"]["previous_attributes"] == {
        "charges_enabled": True,
        "capabilities": {"card_payments": "active"},
        "requirements": {"disabled_reason": None},
    }
    assert client.v1.events.retrieve(event["id"], options=on(a)).type == "account.updated"
    assert client.v1.accounts.retrieve(a).charges_enabled is False
    # Setting what already holds changes nothing and sends nothing.
    standin.set_account_status(a, charges_enabled=False)
    assert len(standin.events(type="account.updated")) == 1


def test_a_charge_on_an_account_with_charges_disabled_is_refused_and_runs_once_re_enabled(
    standin: StripeStandIn, client: stripe.StripeClient
) -> None:
    a = new_account(client)
    waiting = client.v1.payment_intents.create({"amount": 6000, "currency": "gbp"}, on(a))
    standin.set_account_status(a, charges_enabled=False, disabled_reason="requirements.past_due")

    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.payment_intents.create(direct_charge(), on(a, "session:s-1:charge:1"))
    assert exc.value.http_status == 400
    assert exc.value.code is None  # Stripe documents no code for it: read the account's state
    assert "cannot currently make live charges" in str(exc.value.user_message)
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.payment_intents.confirm(
            waiting.id, {"payment_method": "pm_card_visa", "off_session": True}, on(a)
        )
    assert standin.charges(account=a) == []

    standin.set_account_status(a, charges_enabled=True, disabled_reason=None)
    # The refusal was not saved under the key: the same key now charges.
    charged = client.v1.payment_intents.create(direct_charge(), on(a, "session:s-1:charge:1"))
    assert charged.status == "succeeded"
    [reenabled] = standin.events(type="account.updated")[1:]
    assert reenabled["data"]["previous_attributes"]["charges_enabled"] is False


def test_the_control_api_creates_accounts_and_sets_their_status(
    standin: StripeStandIn, client: stripe.StripeClient
) -> None:
    a = new_account(client)
    reply = httpx.post(f"{standin.url}/_standin/accounts/{a}", json={"payouts_enabled": False})
    assert reply.status_code == 200
    assert reply.json()["payouts_enabled"] is False
    assert standin.events(type="account.updated")[0]["data"]["previous_attributes"] == {
        "payouts_enabled": True,
        "capabilities": {"transfers": "active"},
    }
    assert httpx.post(f"{standin.url}/_standin/accounts/acct_nope", json={}).status_code == 404
    made = httpx.post(f"{standin.url}/_standin/accounts", json={"country": "IE", "metadata": {"p": "1"}})
    assert made.status_code == 200
    assert (made.json()["country"], made.json()["default_currency"]) == ("IE", "eur")
    assert client.v1.accounts.retrieve(made.json()["id"]).charges_enabled is True
    assert httpx.post(f"{standin.url}/_standin/accounts", json={"type": "odd"}).status_code == 400
    assert (
        httpx.post(f"{standin.url}/_standin/accounts/{a}", json={"charges_enabled": "no"}).status_code == 400
    )


# --- payment method clones ------------------------------------------------------------------


def clone(client: stripe.StripeClient, account: str, card: str, customer: str = "cus_platform") -> str:
    pm = client.v1.payment_methods.create(
        {"customer": customer, "payment_method": card}, on(account, f"clone:{card}")
    )
    return pm.id


def test_a_clone_is_a_new_card_on_the_connected_account_with_the_originals_fingerprint(
    standin: StripeStandIn, client: stripe.StripeClient
) -> None:
    a = new_account(client)
    customer = client.v1.customers.create({"metadata": {"client_id": "c-1"}}).id
    saved_card = f"pm_card_visa_{uuid.uuid4().hex[:6]}"
    cloned = client.v1.payment_methods.create(
        {"customer": customer, "payment_method": saved_card}, on(a, "k")
    )

    assert cloned.id.startswith("pm_") and cloned.id != saved_card
    assert cloned.customer is None  # not attached to any customer on the connected account
    original = client.v1.payment_methods.retrieve(saved_card)
    assert cloned.card is not None and original.card is not None
    assert (cloned.card.fingerprint, cloned.card.last4) == (original.card.fingerprint, "4242")
    assert client.v1.payment_methods.retrieve(cloned.id, options=on(a)).id == cloned.id
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.payment_methods.retrieve(cloned.id)
    missing(exc)
    assert [pm["id"] for pm in standin.payment_methods(account=a)] == [cloned.id]
    assert standin.cloned_from(cloned.id) == saved_card
    # Replayed under its key, like any POST.
    again = client.v1.payment_methods.create({"customer": customer, "payment_method": saved_card}, on(a, "k"))
    assert again.id == cloned.id

    charged = client.v1.payment_intents.create(direct_charge(payment_method=cloned.id), on(a))
    assert charged.status == "succeeded"
    assert client.v1.charges.retrieve(str(charged.latest_charge), options=on(a)).payment_method == cloned.id


def test_a_clone_declines_and_asks_for_authentication_like_its_original(
    standin: StripeStandIn, client: stripe.StripeClient
) -> None:
    a = new_account(client)
    declining = clone(client, a, f"pm_card_chargeDeclinedInsufficientFunds_{uuid.uuid4().hex[:6]}")
    with pytest.raises(stripe.CardError) as exc:
        client.v1.payment_intents.create(direct_charge(payment_method=declining), on(a))
    assert exc.value.error is not None and exc.value.error.decline_code == "insufficient_funds"

    sca = clone(client, a, f"pm_card_authenticationRequired_{uuid.uuid4().hex[:6]}")
    with pytest.raises(stripe.CardError) as exc:
        client.v1.payment_intents.create(direct_charge(payment_method=sca), on(a))
    assert exc.value.code == "authentication_required"
    assert exc.value.error is not None and exc.value.error.payment_intent is not None
    recovered = standin.authenticate_on_session(exc.value.error.payment_intent.id)
    assert recovered["status"] == "succeeded"
    assert standin.account_of(recovered["id"]) == a


def test_a_behaviour_set_on_the_original_after_cloning_holds_for_the_clone_unless_the_clone_has_its_own(
    standin: StripeStandIn, client: stripe.StripeClient
) -> None:
    a = new_account(client)
    saved_card = f"pm_card_visa_{uuid.uuid4().hex[:6]}"
    cloned = clone(client, a, saved_card)
    standin.set_payment_method_behaviour(saved_card, "lost_card")
    with pytest.raises(stripe.CardError) as exc:
        client.v1.payment_intents.create(direct_charge(payment_method=cloned), on(a))
    assert exc.value.error is not None and exc.value.error.decline_code == "lost_card"

    standin.set_payment_method_behaviour(cloned, "visa")
    assert client.v1.payment_intents.create(direct_charge(payment_method=cloned), on(a)).status == "succeeded"


def test_cloning_needs_the_connected_accounts_header_a_known_card_and_the_cards_customer(
    client: stripe.StripeClient,
) -> None:
    a, b = new_account(client), new_account(client)
    saved_card = f"pm_card_visa_{uuid.uuid4().hex[:6]}"
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.payment_methods.create({"customer": "cus_platform", "payment_method": saved_card})
    assert exc.value.param == "payment_method"
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.payment_methods.create({"payment_method": saved_card}, on(a))
    assert exc.value.param == "customer"
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.payment_methods.create({"customer": "cus_platform", "payment_method": "pm_nope"}, on(a))
    missing(exc, 400)
    # A clone belongs to its account: it is no card of the platform's or of another account.
    on_a = clone(client, a, saved_card)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.payment_methods.create({"customer": "cus_platform", "payment_method": on_a}, on(b))
    missing(exc, 400)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.payment_intents.create(direct_charge(payment_method=on_a), on(b))
    missing(exc, 400)


# --- application fees -----------------------------------------------------------------------


def test_a_direct_charge_with_an_application_fee_pays_the_fee_to_the_platform(
    standin: StripeStandIn, client: stripe.StripeClient
) -> None:
    a = new_account(client)
    pi = client.v1.payment_intents.create(direct_charge(6000, application_fee_amount=720), on(a))
    assert (pi.status, pi.application_fee_amount) == ("succeeded", 720)

    [charge] = client.v1.charges.list({"payment_intent": pi.id}, on(a)).data
    assert charge.application_fee_amount == 720
    assert isinstance(charge.application_fee, str) and charge.application_fee.startswith("fee_")
    # The fee lives on the platform, never on the connected account.
    fee = client.v1.application_fees.retrieve(charge.application_fee)
    assert (fee.object, fee.account, fee.amount, fee.charge, fee.currency) == (
        "application_fee",
        a,
        720,
        charge.id,
        "gbp",
    )
    assert (fee.amount_refunded, fee.refunded, fee.refunds.data) == (0, False, [])
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.application_fees.retrieve(fee.id, options=on(a))
    missing(exc)
    assert [f.id for f in client.v1.application_fees.list({"charge": charge.id}).data] == [fee.id]
    assert [f["id"] for f in standin.application_fees(account=a)] == [fee.id]
    [created] = standin.events(type="application_fee.created")
    assert "account" not in created  # a platform event
    assert created["data"]["object"]["id"] == fee.id


def test_a_first_session_fee_may_take_the_whole_amount_but_never_more(client: stripe.StripeClient) -> None:
    a = new_account(client)
    whole = client.v1.payment_intents.create(direct_charge(6000, application_fee_amount=6000), on(a))
    assert whole.status == "succeeded"
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.payment_intents.create(direct_charge(6000, application_fee_amount=6001), on(a))
    assert exc.value.param == "application_fee_amount"


def test_an_application_fee_needs_a_connected_account(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.payment_intents.create(direct_charge(6000, application_fee_amount=600))
    assert exc.value.param == "application_fee_amount"
    assert "Stripe-Account header" in str(exc.value.user_message)


def test_refunding_with_the_application_fee_returns_the_commission_in_proportion(
    standin: StripeStandIn, client: stripe.StripeClient
) -> None:
    a = new_account(client)
    pi = client.v1.payment_intents.create(direct_charge(6000, application_fee_amount=1000), on(a))
    [charge] = standin.charges(account=a)

    # 1/3 of the charge returns 1/3 of the fee, rounded half up: 333.33 -> 333.
    client.v1.refunds.create({"payment_intent": pi.id, "amount": 2000, "refund_application_fee": True}, on(a))
    fee = client.v1.application_fees.retrieve(charge["application_fee"])
    assert (fee.amount_refunded, fee.refunded) == (333, False)
    [fee_refund] = fee.refunds.data
    assert (fee_refund.object, fee_refund.amount, fee_refund.fee) == ("fee_refund", 333, fee.id)
    assert fee_refund.id.startswith("fr_")

    # The refund that completes the charge returns all that is left of the fee.
    client.v1.refunds.create({"payment_intent": pi.id, "refund_application_fee": True}, on(a))
    fee = client.v1.application_fees.retrieve(charge["application_fee"])
    assert (fee.amount_refunded, fee.refunded) == (1000, True)
    assert [r.amount for r in fee.refunds.data] == [667, 333]
    assert [r.amount for r in client.v1.application_fees.refunds.list(fee.id).data] == [667, 333]
    assert [
        e["data"]["object"]["amount_refunded"] for e in standin.events(type="application_fee.refunded")
    ] == [
        333,
        1000,
    ]
    refunded = client.v1.charges.list({"payment_intent": pi.id}, on(a)).data[0]
    assert (refunded.refunded, refunded.application_fee_amount) == (True, 1000)


def test_a_refund_without_the_fee_keeps_the_commission_and_a_later_one_returns_only_its_share(
    client: stripe.StripeClient,
) -> None:
    a = new_account(client)
    pi = client.v1.payment_intents.create(direct_charge(6000, application_fee_amount=600), on(a))
    client.v1.refunds.create({"payment_intent": pi.id, "amount": 3000}, on(a))
    client.v1.refunds.create({"payment_intent": pi.id, "refund_application_fee": True}, on(a))
    [fee] = client.v1.application_fees.list().data
    assert (fee.amount_refunded, fee.refunded) == (300, False)


def test_the_platform_returns_part_of_its_fee_on_its_own(client: stripe.StripeClient) -> None:
    a = new_account(client)
    client.v1.payment_intents.create(direct_charge(6000, application_fee_amount=600), on(a))
    [fee] = client.v1.application_fees.list().data
    returned = client.v1.application_fees.refunds.create(fee.id, {"amount": 100, "metadata": {"rule": "r-1"}})
    assert (returned.amount, returned.fee) == (100, fee.id)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.application_fees.refunds.create(fee.id, {"amount": 501})
    assert exc.value.code == "amount_too_large"


def test_reverse_transfer_is_refused_on_a_direct_charge(client: stripe.StripeClient) -> None:
    a = new_account(client)
    pi = client.v1.payment_intents.create(direct_charge(6000, application_fee_amount=600), on(a))
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.refunds.create({"payment_intent": pi.id, "reverse_transfer": True}, on(a))
    assert exc.value.param == "reverse_transfer"


def test_a_platform_charge_has_no_application_fee(
    standin: StripeStandIn, client: stripe.StripeClient
) -> None:
    pi = client.v1.payment_intents.create(direct_charge())
    [charge] = standin.charges(payment_intent=pi.id)
    assert (charge["application"], charge["application_fee"], charge["application_fee_amount"]) == (
        None,
        None,
        None,
    )
    assert pi.application is None and pi.application_fee_amount is None


def test_a_fee_refund_is_read_back_through_its_fee(client: stripe.StripeClient) -> None:
    a = new_account(client)
    client.v1.payment_intents.create(direct_charge(6000, application_fee_amount=600), on(a))
    [fee] = client.v1.application_fees.list().data
    returned = client.v1.application_fees.refunds.create(fee.id)
    assert returned.amount == 600
    assert client.v1.application_fees.refunds.retrieve(fee.id, returned.id).id == returned.id
    assert client.v1.application_fees.retrieve(fee.id).refunded is True
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.application_fees.refunds.create(fee.id)
