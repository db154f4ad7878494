"""A charge on a paused therapist's account (issue 14 §2) against the loopback stand-in: the charge
activity reads the connected account first and holds the charge when Stripe has disabled its
charges; Stripe refusing the charge itself because the account cannot charge (disabled between the
read and the charge) is held all the same, never a failure for ops nor a decline."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Iterator

import pytest
import stripe
from temporalio.testing import ActivityEnvironment

from activities.payments import PaymentActivities, account_refusal_is_a_pause, card_clone_idempotency_key
from api.account_events import not_connected
from dev.stripe_standin import FaultRule, StripeStandIn
from domain.payments import ChargeOutcome, ChargeRequest
from settings import Settings
from tests.workflows.support import unique


@pytest.fixture
def payments(stripe_client: stripe.StripeClient, settings: Settings) -> PaymentActivities:
    return PaymentActivities(stripe_client, return_url=settings.payment_return_url)


@pytest.fixture
def faults(standin: StripeStandIn) -> Iterator[StripeStandIn]:
    yield standin
    standin.clear_faults()


def charge_request(account: str) -> ChargeRequest:
    return ChargeRequest(
        session_id=unique("ses"),
        attempt=1,
        amount_minor=4500,
        currency="gbp",
        customer_id=unique("cus"),
        payment_method_id=unique("pm_card_visa"),
        connected_account_id=account,
        application_fee_minor=540,
    )


def charge_posts(standin: StripeStandIn, request: ChargeRequest) -> int:
    return sum(
        1
        for r in standin.requests
        if r.method == "POST"
        and r.path.startswith("/v1/payment_intents")
        and request.session_id in (r.idempotency_key or "")
    )


async def test_a_charge_on_a_disabled_account_is_held_without_a_request_to_charge(
    payments: PaymentActivities, standin: StripeStandIn
) -> None:
    account = standin.create_account()["id"]
    standin.set_account_status(account, charges_enabled=False, disabled_reason="requirements.past_due")
    request = charge_request(account)

    result = await ActivityEnvironment().run(payments.charge, request)

    assert result.outcome is ChargeOutcome.HELD and not result.attempted
    assert result.code == "requirements.past_due"
    assert charge_posts(standin, request) == 0


async def test_an_account_no_longer_connected_holds_the_charge(payments: PaymentActivities) -> None:
    result = await ActivityEnvironment().run(payments.charge, charge_request("acct_disconnected1"))

    assert result.outcome is ChargeOutcome.HELD and result.code == "account_unavailable"


async def test_stripe_refusing_the_charge_because_the_account_was_just_disabled_is_held(
    payments: PaymentActivities, faults: StripeStandIn
) -> None:
    account = faults.create_account()["id"]
    request = charge_request(account)
    # The card's clone onto the account is held a moment: the account is disabled meanwhile, after
    # the activity read it as able to charge, so the PaymentIntent itself is refused by Stripe.
    faults.add_fault(FaultRule(kind="delay", method="POST", path=r"^/v1/payment_methods$", delay_seconds=1.0))
    charging = asyncio.create_task(ActivityEnvironment().run(payments.charge, request))
    clone_key = card_clone_idempotency_key(request.session_id, request.payment_method_id)
    assert await asyncio.to_thread(faults.wait_until_in_flight, clone_key, 10.0)
    faults.set_account_status(account, charges_enabled=False, disabled_reason="requirements.past_due")

    result = await asyncio.wait_for(charging, 20)

    assert result.outcome is ChargeOutcome.HELD and result.attempted
    assert result.code == "requirements.past_due"
    refused = [
        r
        for r in faults.requests
        if r.method == "POST" and r.path == "/v1/payment_intents" and r.status == 400
    ]
    assert any(request.session_id in (r.idempotency_key or "") for r in refused)


def retry_of_the_activity() -> ActivityEnvironment:
    """Temporal's retry of the same activity (its attempt > 1), as the worker runs it."""
    environment = ActivityEnvironment()
    environment.info = dataclasses.replace(environment.info, attempt=2)
    return environment


async def test_a_charge_whose_answer_was_lost_is_never_reported_held(
    payments: PaymentActivities, standin: StripeStandIn
) -> None:
    account = standin.create_account()["id"]
    request = charge_request(account)
    # The first try commits the charge at Stripe (its answer is what gets lost in production).
    first = await ActivityEnvironment().run(payments.charge, request)
    assert first.outcome is ChargeOutcome.SUCCEEDED
    # Stripe disables the account before Temporal's retry of the same activity.
    standin.set_account_status(account, charges_enabled=False, disabled_reason="requirements.past_due")

    retried = await retry_of_the_activity().run(payments.charge, request)

    assert retried.outcome is ChargeOutcome.SUCCEEDED
    assert retried.payment_intent_id == first.payment_intent_id
    assert charge_posts(standin, request) == 1  # reported from Stripe, never charged again


async def test_a_retry_on_a_disabled_account_that_finds_no_charge_is_held_as_a_real_try(
    payments: PaymentActivities, standin: StripeStandIn
) -> None:
    account = standin.create_account()["id"]
    standin.set_account_status(account, charges_enabled=False, disabled_reason="requirements.past_due")
    request = charge_request(account)

    retried = await retry_of_the_activity().run(payments.charge, request)

    # The first try may have used the key: the next try takes a new one and looks again.
    assert retried.outcome is ChargeOutcome.HELD and retried.attempted
    assert retried.payment_intent_id is None
    assert charge_posts(standin, request) == 0


def forbidden(code: str) -> stripe.PermissionError:
    """A 403 as stripe-python raises it: its code only in the error object Stripe sent."""
    body = {"error": {"type": "invalid_request_error", "code": code, "message": "forbidden"}}
    return stripe.PermissionError("forbidden", http_body=json.dumps(body), http_status=403, json_body=body)


def test_only_stripes_account_invalid_refusal_is_a_pause_never_our_keys_missing_permission() -> None:
    # The activity (a charge held) and the webhook route (a pause recorded) tell them apart alike.
    assert account_refusal_is_a_pause(forbidden("account_invalid"))
    assert not_connected(forbidden("account_invalid"))
    assert not account_refusal_is_a_pause(forbidden("secret_key_required"))
    assert not not_connected(forbidden("secret_key_required"))
