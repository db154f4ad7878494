"""Payment activities against the loopback stand-in through the real stripe client.

A decline is data, an outage is an exception, a refused request is a non-retryable error.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import stripe
from prometheus_client import REGISTRY
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.payments import PaymentActivities
from dev.stripe_standin import FaultRule, StripeStandIn
from domain.payments import (
    ChargeOutcome,
    ChargeRequest,
    PaymentRead,
    PaymentReadRequest,
    RefundRequest,
    VoidRequest,
)
from domain.status import DeclineKind
from settings import Settings
from stripe_client import stripe_resource
from tests.workflows.support import unique


@pytest.fixture
def payments(stripe_client: stripe.StripeClient, settings: Settings) -> PaymentActivities:
    return PaymentActivities(stripe_client, return_url=settings.payment_return_url)


@pytest.fixture
def faults(standin: StripeStandIn) -> Iterator[StripeStandIn]:
    yield standin
    standin.clear_faults()


def charge_request(payment_method: str, **overrides: object) -> ChargeRequest:
    fields: dict[str, object] = {
        "session_id": unique("ses"),
        "attempt": 1,
        "amount_minor": 4500,
        "currency": "gbp",
        "customer_id": unique("cus"),
        "payment_method_id": unique(payment_method),
    }
    fields.update(overrides)
    return ChargeRequest.model_validate(fields)


async def test_a_successful_charge_returns_the_payment_intent(payments: PaymentActivities) -> None:
    result = await ActivityEnvironment().run(payments.charge, charge_request("pm_card_visa"))

    assert result.outcome is ChargeOutcome.SUCCEEDED
    assert result.payment_intent_id is not None and result.payment_intent_status == "succeeded"
    assert result.client_secret is None


async def test_a_soft_decline_is_returned_as_data(payments: PaymentActivities) -> None:
    result = await ActivityEnvironment().run(
        payments.charge, charge_request("pm_card_chargeDeclinedInsufficientFunds")
    )

    assert result.outcome is ChargeOutcome.DECLINED
    assert result.decline_kind is DeclineKind.SOFT
    assert (result.code, result.decline_code, result.advice_code) == (
        "card_declined",
        "insufficient_funds",
        "try_again_later",
    )
    assert result.payment_intent_id is not None and result.payment_intent_status == "requires_payment_method"


async def test_a_lost_card_is_a_hard_decline(payments: PaymentActivities) -> None:
    result = await ActivityEnvironment().run(
        payments.charge, charge_request("pm_card_chargeDeclinedLostCard")
    )

    assert result.decline_kind is DeclineKind.HARD and result.decline_code == "lost_card"


async def test_authentication_required_returns_the_client_secret(payments: PaymentActivities) -> None:
    result = await ActivityEnvironment().run(
        payments.charge, charge_request("pm_card_authenticationRequired")
    )

    assert result.outcome is ChargeOutcome.REQUIRES_ACTION
    assert result.decline_kind is DeclineKind.AUTHENTICATION_REQUIRED
    assert result.client_secret is not None and result.client_secret.startswith(
        result.payment_intent_id or "-"
    )


async def test_a_request_stripe_refuses_is_non_retryable(payments: PaymentActivities) -> None:
    with pytest.raises(ApplicationError) as refused:
        await ActivityEnvironment().run(payments.charge, charge_request("pm_unknown_card"))

    assert refused.value.non_retryable
    assert refused.value.type == "InvalidRequestError"


async def test_a_stripe_outage_raises_for_temporal_to_retry(
    payments: PaymentActivities, faults: StripeStandIn
) -> None:
    faults.add_fault(FaultRule(kind="error_500", method="POST", path=r"^/v1/payment_intents$", times=2))

    with pytest.raises(stripe.APIError):
        await ActivityEnvironment().run(payments.charge, charge_request("pm_card_visa"))


async def test_every_429_from_stripe_is_counted_by_resource_for_the_rate_limit_alert(
    payments: PaymentActivities, faults: StripeStandIn
) -> None:
    # sessionflow_stripe_rate_limited_total feeds StripeRateLimited; counted in the Stripe client.
    def limited() -> float:
        labels = {"resource": "payment_intents"}
        return REGISTRY.get_sample_value("sessionflow_stripe_rate_limited_total", labels) or 0.0

    before = limited()
    faults.add_fault(FaultRule(kind="rate_limit_429", method="POST", path=r"^/v1/payment_intents$", times=1))
    request = charge_request("pm_card_visa")

    with pytest.raises(stripe.RateLimitError):
        await ActivityEnvironment().run(payments.charge, request)
    assert limited() - before == 1.0

    retried = await ActivityEnvironment().run(payments.charge, request)
    assert retried.outcome is ChargeOutcome.SUCCEEDED
    assert limited() - before == 1.0  # an answered request is not a rate limit


def test_the_rate_limit_label_is_the_resource_never_an_id() -> None:
    assert stripe_resource("http://127.0.0.1:1/v1/payment_intents/pi_123/confirm") == "payment_intents"
    assert stripe_resource("https://api.stripe.com/v1/refunds") == "refunds"
    assert stripe_resource("https://api.stripe.com/v2/core/events") == "other"


async def test_a_later_attempt_finds_the_intent_an_earlier_attempt_created(
    payments: PaymentActivities, standin: StripeStandIn
) -> None:
    first = charge_request("pm_card_chargeDeclinedInsufficientFunds")
    declined = await ActivityEnvironment().run(payments.charge, first)
    standin.set_payment_method_behaviour(first.payment_method_id, "visa")

    # Attempt 2 without the PaymentIntent id (its answer was lost for good) re-confirms it.
    second = first.model_copy(update={"attempt": 2})
    result = await ActivityEnvironment().run(payments.charge, second)

    assert result.outcome is ChargeOutcome.SUCCEEDED
    assert result.payment_intent_id == declined.payment_intent_id
    assert len(standin.payment_intents(metadata_session_id=first.session_id)) == 1


async def test_reconfirming_a_paid_intent_reports_it_without_charging_again(
    payments: PaymentActivities, standin: StripeStandIn
) -> None:
    first = charge_request("pm_card_visa")
    paid = await ActivityEnvironment().run(payments.charge, first)

    again = await ActivityEnvironment().run(
        payments.charge, first.model_copy(update={"attempt": 2, "payment_intent_id": paid.payment_intent_id})
    )

    assert again.outcome is ChargeOutcome.SUCCEEDED
    assert len(standin.charges(payment_intent=paid.payment_intent_id)) == 1


async def test_refund_is_idempotent_on_its_business_key(
    payments: PaymentActivities, standin: StripeStandIn
) -> None:
    charge = charge_request("pm_card_visa")
    paid = await ActivityEnvironment().run(payments.charge, charge)
    assert paid.payment_intent_id is not None
    refund = RefundRequest(
        session_id=charge.session_id,
        refund_number=1,
        payment_intent_id=paid.payment_intent_id,
        target_refunded_minor=4500,
    )

    first = await ActivityEnvironment().run(payments.refund, refund)
    again = await ActivityEnvironment().run(payments.refund, refund)
    with_a_new_key = await ActivityEnvironment().run(
        payments.refund, refund.model_copy(update={"refund_number": 2})
    )

    assert first.refund_id is not None and first.amount_minor == 4500 and first.refunded_total_minor == 4500
    assert (again.refund_id, again.refunded_total_minor) == (None, 4500)
    assert (with_a_new_key.refund_id, with_a_new_key.amount_minor) == (None, 0)
    assert len(standin.refunds(payment_intent=paid.payment_intent_id)) == 1


async def test_refund_tops_up_to_the_target_and_never_beyond_the_capture(
    payments: PaymentActivities, standin: StripeStandIn, stripe_client: stripe.StripeClient
) -> None:
    charge = charge_request("pm_card_visa")
    paid = await ActivityEnvironment().run(payments.charge, charge)
    assert paid.payment_intent_id is not None
    # Someone refunded part of it in the Stripe dashboard.
    await stripe_client.v1.refunds.create_async({"payment_intent": paid.payment_intent_id, "amount": 1000})

    result = await ActivityEnvironment().run(
        payments.refund,
        RefundRequest(
            session_id=charge.session_id,
            refund_number=1,
            payment_intent_id=paid.payment_intent_id,
            target_refunded_minor=9000,  # more than the 4500 captured
        ),
    )

    assert (result.amount_minor, result.refunded_total_minor, result.captured_minor) == (3500, 4500, 4500)
    assert sum(r["amount"] for r in standin.refunds(payment_intent=paid.payment_intent_id)) == 4500


async def test_void_cancels_an_intent_found_by_session_when_its_id_was_lost(
    payments: PaymentActivities, standin: StripeStandIn
) -> None:
    charge = charge_request("pm_card_chargeDeclinedInsufficientFunds")
    declined = await ActivityEnvironment().run(payments.charge, charge)

    result = await ActivityEnvironment().run(
        payments.void, VoidRequest(session_id=charge.session_id, customer_id=charge.customer_id)
    )

    assert result.voided and result.payment_intent_id == declined.payment_intent_id
    [intent] = standin.payment_intents(metadata_session_id=charge.session_id)
    assert intent["status"] == "canceled"


async def test_void_of_a_session_without_any_intent_is_nothing_to_do(payments: PaymentActivities) -> None:
    result = await ActivityEnvironment().run(
        payments.void, VoidRequest(session_id=unique("ses"), customer_id=unique("cus"))
    )

    assert result.voided and result.payment_intent_status == "none" and result.payment_intent_id is None


async def test_void_reports_a_payment_that_already_succeeded(payments: PaymentActivities) -> None:
    charge = charge_request("pm_card_visa")
    paid = await ActivityEnvironment().run(payments.charge, charge)
    assert paid.payment_intent_id is not None

    result = await ActivityEnvironment().run(
        payments.void,
        VoidRequest(
            session_id=charge.session_id,
            customer_id=charge.customer_id,
            payment_intent_id=paid.payment_intent_id,
        ),
    )

    assert not result.voided and result.payment_intent_status == "succeeded"


async def test_stripe_sees_opaque_ids_only(payments: PaymentActivities, standin: StripeStandIn) -> None:
    charge = charge_request("pm_card_visa")
    await ActivityEnvironment().run(payments.charge, charge)

    [request] = [r for r in standin.requests if r.idempotency_key == charge.idempotency_key]
    assert request.params["metadata"] == {"session_id": charge.session_id, "attempt": "1"}
    assert set(request.params) == {
        "amount",
        "currency",
        "customer",
        "payment_method",
        "off_session",
        "confirm",
        "metadata",
    }


async def test_reading_the_payment_finds_one_made_on_session_even_without_its_id(
    payments: PaymentActivities, standin: StripeStandIn
) -> None:
    request = charge_request("pm_card_authenticationRequired")
    pending = await ActivityEnvironment().run(payments.charge, request)
    assert pending.payment_intent_id is not None
    read = PaymentReadRequest(session_id=request.session_id, customer_id=request.customer_id)

    before = await ActivityEnvironment().run(payments.read, read)
    standin.authenticate_on_session(pending.payment_intent_id)
    after = await ActivityEnvironment().run(payments.read, read)  # looked up by metadata.session_id

    # Off-session, the bank's authentication request leaves the intent waiting for the client.
    assert before.payment_intent_id == pending.payment_intent_id
    assert before.payment_intent_status != "succeeded"
    assert after == PaymentRead(
        payment_intent_id=pending.payment_intent_id, payment_intent_status="succeeded"
    )
    nothing = PaymentReadRequest(session_id=unique("ses"), customer_id=request.customer_id)
    assert await ActivityEnvironment().run(payments.read, nothing) == PaymentRead(
        payment_intent_status="none"
    )


async def test_an_intent_found_under_its_own_create_key_is_confirmed_under_a_key_of_its_own(
    payments: PaymentActivities, standin: StripeStandIn
) -> None:
    # Attempt 2 created the PaymentIntent (no earlier attempt had) and its answer was lost.
    request = charge_request("pm_card_chargeDeclinedInsufficientFunds", attempt=2)
    created = await ActivityEnvironment().run(payments.charge, request)
    standin.set_payment_method_behaviour(request.payment_method_id, "visa")

    # The same try again: the lookup finds it; confirming it under the create's key would be
    # refused by Stripe (same key, another request) and told as a failed charge.
    result = await ActivityEnvironment().run(payments.charge, request)

    assert result.outcome is ChargeOutcome.SUCCEEDED
    assert result.payment_intent_id == created.payment_intent_id
    keys = [r.idempotency_key for r in standin.requests if request.session_id in (r.idempotency_key or "")]
    assert f"{request.idempotency_key}:confirm" in keys


# --- present or absent ----------------------------------------------------------------------


async def test_a_scheduled_charge_is_off_session_and_an_sca_card_is_declined_as_authentication_required(
    payments: PaymentActivities, standin: StripeStandIn
) -> None:
    charge = charge_request("pm_card_authenticationRequired")
    assert charge.off_session

    result = await ActivityEnvironment().run(payments.charge, charge)

    [request] = [r for r in standin.requests if r.idempotency_key == charge.idempotency_key]
    assert request.params["off_session"] is True
    assert result.outcome is ChargeOutcome.REQUIRES_ACTION
    assert (result.code, result.decline_code) == ("authentication_required", "authentication_required")
    assert result.payment_intent_status == "requires_payment_method"
    assert result.client_secret is not None  # for the client to pay on-session later


async def test_an_on_session_charge_sends_no_off_session_and_returns_the_client_secret_for_3ds(
    payments: PaymentActivities, standin: StripeStandIn
) -> None:
    charge = charge_request("pm_card_authenticationRequired", off_session=False)

    result = await ActivityEnvironment().run(payments.charge, charge)

    [request] = [r for r in standin.requests if r.idempotency_key == charge.idempotency_key]
    assert "off_session" not in request.params and "setup_future_usage" not in request.params
    # Stripe.js runs the challenge in the page; the return URL is where a redirect would come back.
    assert request.params["use_stripe_sdk"] is True and request.params["return_url"].startswith("http")
    assert result.outcome is ChargeOutcome.REQUIRES_ACTION
    assert result.payment_intent_status == "requires_action" and result.code is None
    assert result.client_secret is not None and result.client_secret.startswith(
        f"{result.payment_intent_id}_secret_"
    )
    assert result.decline_kind is DeclineKind.AUTHENTICATION_REQUIRED


async def test_an_on_session_retry_reconfirms_the_declined_intent_for_the_clients_browser(
    payments: PaymentActivities, standin: StripeStandIn
) -> None:
    declined = await ActivityEnvironment().run(
        payments.charge, charge_request("pm_card_chargeDeclinedLostCard")
    )
    assert declined.payment_intent_id is not None
    retry = charge_request(
        "pm_card_authenticationRequired",
        attempt=2,
        payment_intent_id=declined.payment_intent_id,
        off_session=False,
    )

    result = await ActivityEnvironment().run(payments.charge, retry)

    [confirm] = [r for r in standin.requests if r.idempotency_key == retry.idempotency_key]
    assert confirm.path.endswith(f"/{declined.payment_intent_id}/confirm")
    assert "off_session" not in confirm.params
    assert result.payment_intent_id == declined.payment_intent_id
    assert result.payment_intent_status == "requires_action" and result.client_secret is not None


async def test_an_on_session_charge_without_a_return_url_is_refused_like_stripe_does(
    stripe_client: stripe.StripeClient,
) -> None:
    """Stripe refuses to confirm on-session a PaymentIntent that may redirect without a return URL
    (SESSIONFLOW_STRIPE_RETURN_URL with real Stripe): a refusal for ops, never a card decline."""
    unconfigured = PaymentActivities(stripe_client)
    charge = charge_request("pm_card_authenticationRequired", off_session=False)

    with pytest.raises(ApplicationError) as refused:
        await ActivityEnvironment().run(unconfigured.charge, charge)

    assert refused.value.type == "InvalidRequestError" and refused.value.non_retryable
