"""Stripe Connect events over real HTTP: the therapists' connected accounts send their events from
a Connect endpoint with its own signing secret, and what such an event claims is confirmed on the
account it names."""

from __future__ import annotations

import json

import httpx
import stripe
from pydantic import SecretStr
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.stripe_confirmation import confirmed_event
from dev.stripe_standin import StripeStandIn
from settings import Settings
from tests.api.serving import serving
from tests.api.test_stripe_webhook_api import WEBHOOK, secret_of, signed, stripe_event
from tests.workflows.support import WAIT, unique

CONNECT_SECRET = "whsec_connect_endpoint_for_this_test"


async def test_an_event_signed_by_the_connect_endpoint_is_received_and_one_signed_by_neither_is_refused(
    env: WorkflowEnvironment, settings: Settings
) -> None:
    with_connect = settings.model_copy(update={"stripe_connect_webhook_secret": SecretStr(CONNECT_SECRET)})
    app = create_app(with_connect, client=env.client)
    customer = {"id": unique("cus"), "object": "customer", "metadata": {}}
    from_connect = stripe_event("customer.created", customer)
    from_platform = stripe_event("customer.created", {**customer, "id": unique("cus")})
    forged = stripe_event("customer.created", {**customer, "id": unique("cus")})

    async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=WAIT) as http:
        connect = await http.post(WEBHOOK, content=from_connect, headers=signed(from_connect, CONNECT_SECRET))
        platform = await http.post(
            WEBHOOK, content=from_platform, headers=signed(from_platform, secret_of(with_connect))
        )
        neither = await http.post(WEBHOOK, content=forged, headers=signed(forged, "whsec_someone_else"))

    assert connect.status_code == 200 and connect.json() == {"received": True, "handled": False}
    assert platform.status_code == 200 and platform.json() == {"received": True, "handled": False}
    assert neither.status_code == 401 and neither.json()["code"] == "bad_signature"


async def test_without_a_connect_secret_only_the_platform_endpoint_is_trusted(
    env: WorkflowEnvironment, settings: Settings
) -> None:
    app = create_app(settings, client=env.client)
    payload = stripe_event("customer.created", {"id": unique("cus"), "object": "customer", "metadata": {}})

    async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=WAIT) as http:
        answer = await http.post(WEBHOOK, content=payload, headers=signed(payload, CONNECT_SECRET))

    assert answer.status_code == 401 and answer.json()["code"] == "bad_signature"


async def test_a_connected_accounts_payment_event_is_confirmed_on_that_account_and_only_there(
    standin: StripeStandIn, stripe_client: stripe.StripeClient
) -> None:
    """A therapist's direct charge lives on their account: Stripe knows it only under their
    Stripe-Account header, so the confirmation asks there, and nowhere else."""
    account = standin.create_account()["id"]
    session_id = unique("ses")
    intent = await stripe_client.v1.payment_intents.create_async(
        {
            "amount": 6000,
            "currency": "gbp",
            "payment_method": "pm_card_visa",
            "confirm": True,
            "off_session": True,
            "application_fee_amount": 720,
            "metadata": {"session_id": session_id},
        },
        {"stripe_account": account},
    )
    event = json.loads(stripe_event("payment_intent.succeeded", intent.to_dict()))

    on_its_account = await confirmed_event(stripe_client, {**event, "account": account})
    without_the_account = await confirmed_event(stripe_client, event)
    on_another_account = await confirmed_event(
        stripe_client, {**event, "account": standin.create_account()["id"]}
    )

    assert on_its_account is not None
    assert on_its_account["data"]["object"]["metadata"] == {"session_id": session_id}
    assert on_its_account["data"]["object"]["status"] == "succeeded"
    assert without_the_account is None and on_another_account is None
