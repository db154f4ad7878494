"""Payment activities on a therapist's connected account (issue 14) against the loopback stand-in,
through the real stripe client: a direct charge with the commission as its application fee, the
card cloned onto the account, refunds there returning the fee or not."""

from __future__ import annotations

from typing import Any

import pytest
import stripe
from temporalio.testing import ActivityEnvironment

from activities.payments import PaymentActivities, card_clone_idempotency_key
from dev.stripe_standin import StripeStandIn
from domain.payments import (
    ChargeOutcome,
    ChargeRequest,
    ChargeResult,
    PaymentReadRequest,
    RefundRequest,
    VoidRequest,
)
from settings import Settings
from tests.workflows.support import unique

AMOUNT = 4500
FEE = 540  # 10 % + 20 % VAT on it


@pytest.fixture
def payments(stripe_client: stripe.StripeClient, settings: Settings) -> PaymentActivities:
    return PaymentActivities(stripe_client, return_url=settings.payment_return_url)


@pytest.fixture
def account(standin: StripeStandIn) -> str:
    return str(standin.create_account()["id"])


def charge_request(account: str, payment_method: str = "pm_card_visa", **overrides: object) -> ChargeRequest:
    fields: dict[str, object] = {
        "session_id": unique("ses"),
        "attempt": 1,
        "amount_minor": AMOUNT,
        "currency": "gbp",
        "customer_id": unique("cus"),
        "payment_method_id": unique(payment_method),
        "connected_account_id": account,
        "application_fee_minor": FEE,
    }
    fields.update(overrides)
    return ChargeRequest.model_validate(fields)


async def charged(payments: PaymentActivities, account: str) -> tuple[ChargeRequest, ChargeResult]:
    request = charge_request(account)
    result = await ActivityEnvironment().run(payments.charge, request)
    assert result.outcome is ChargeOutcome.SUCCEEDED and result.payment_intent_id is not None
    return request, result


def refund_request(request: ChargeRequest, result: ChargeResult, target: int, returns: bool) -> RefundRequest:
    assert result.payment_intent_id is not None
    return RefundRequest(
        session_id=request.session_id,
        refund_number=1,
        payment_intent_id=result.payment_intent_id,
        target_refunded_minor=target,
        connected_account_id=request.connected_account_id,
        refund_application_fee=returns,
    )


def stripe_account(request: Any) -> str | None:
    """The ``Stripe-Account`` header a recorded request carried (header names are case-blind)."""
    return next((v for k, v in request.headers.items() if k.lower() == "stripe-account"), None)


async def test_a_charge_on_a_connected_account_is_a_direct_charge_with_the_commission_as_its_fee(
    payments: PaymentActivities, standin: StripeStandIn, account: str
) -> None:
    request, result = await charged(payments, account)

    assert (result.connected_account_id, result.application_fee_minor) == (account, FEE)
    [intent] = standin.payment_intents(metadata_session_id=request.session_id)
    assert standin.account_of(intent["id"]) == account
    assert intent["application_fee_amount"] == FEE
    # The card the intent used is a clone on the account, not the platform customer's card.
    assert intent["payment_method"] != request.payment_method_id
    assert standin.account_of(intent["payment_method"]) == account
    assert intent["customer"] is None
    [charge] = standin.charges(payment_intent=intent["id"], account=account)
    assert charge["application_fee_amount"] == FEE


async def test_every_request_of_a_direct_charge_carries_the_connected_account(
    payments: PaymentActivities, standin: StripeStandIn, account: str
) -> None:
    request, _ = await charged(payments, account)

    mine = [r for r in standin.requests if request.session_id in (r.idempotency_key or "")]
    assert mine and all(stripe_account(r) == account for r in mine)
    [clone] = [r for r in mine if r.path == "/v1/payment_methods"]
    assert clone.idempotency_key == card_clone_idempotency_key(request.session_id, request.payment_method_id)
    assert clone.params == {"customer": request.customer_id, "payment_method": request.payment_method_id}


async def test_a_retried_direct_charge_replays_the_clone_and_the_intent(
    payments: PaymentActivities, standin: StripeStandIn, account: str
) -> None:
    request, first = await charged(payments, account)

    again = await ActivityEnvironment().run(payments.charge, request)

    assert again.payment_intent_id == first.payment_intent_id
    assert len(standin.payment_intents(metadata_session_id=request.session_id)) == 1
    assert len(standin.charges(payment_intent=first.payment_intent_id, account=account)) == 1


async def test_a_later_attempt_finds_the_intent_on_the_account_when_the_first_answer_was_lost(
    payments: PaymentActivities, standin: StripeStandIn, account: str
) -> None:
    first = charge_request(account, "pm_card_chargeDeclinedInsufficientFunds")
    declined = await ActivityEnvironment().run(payments.charge, first)
    assert declined.outcome is ChargeOutcome.DECLINED
    standin.set_payment_method_behaviour(first.payment_method_id, "visa")

    # The second attempt never learnt the first intent's id: it must find it on the account (the
    # clone there has no customer, so the customer's list on the platform would find nothing).
    second = first.model_copy(update={"attempt": 2, "payment_intent_id": None})
    result = await ActivityEnvironment().run(payments.charge, second)

    assert result.outcome is ChargeOutcome.SUCCEEDED
    assert result.payment_intent_id == declined.payment_intent_id
    assert len(standin.payment_intents(metadata_session_id=first.session_id)) == 1


async def test_reads_and_voids_find_the_intent_on_the_account(
    payments: PaymentActivities, standin: StripeStandIn, account: str
) -> None:
    request = charge_request(account, "pm_card_chargeDeclinedInsufficientFunds")
    declined = await ActivityEnvironment().run(payments.charge, request)
    common = {
        "session_id": request.session_id,
        "customer_id": request.customer_id,
        "connected_account_id": account,
    }

    read = await ActivityEnvironment().run(payments.read, PaymentReadRequest.model_validate(common))
    voided = await ActivityEnvironment().run(payments.void, VoidRequest.model_validate(common))

    assert read.payment_intent_id == declined.payment_intent_id
    assert read.payment_intent_status == "requires_payment_method"
    assert voided.voided and voided.payment_intent_id == declined.payment_intent_id


async def test_a_full_refund_that_returns_the_commission_returns_all_of_it(
    payments: PaymentActivities, standin: StripeStandIn, account: str
) -> None:
    request, result = await charged(payments, account)

    refund = await ActivityEnvironment().run(payments.refund, refund_request(request, result, AMOUNT, True))

    assert (refund.amount_minor, refund.refunded_total_minor) == (AMOUNT, AMOUNT)
    assert (refund.application_fee_minor, refund.application_fee_refunded_minor) == (FEE, FEE)
    assert refund.connected_account_id == account
    [made] = standin.refunds(payment_intent=result.payment_intent_id, account=account)
    assert made["amount"] == AMOUNT


async def test_a_part_refund_returns_the_commission_in_proportion(
    payments: PaymentActivities, account: str
) -> None:
    request, result = await charged(payments, account)

    refund = await ActivityEnvironment().run(payments.refund, refund_request(request, result, 1500, True))

    assert refund.amount_minor == 1500
    assert refund.application_fee_refunded_minor == FEE * 1500 // AMOUNT  # 180


async def test_a_refund_that_keeps_the_commission_returns_none_of_it(
    payments: PaymentActivities, standin: StripeStandIn, account: str
) -> None:
    request, result = await charged(payments, account)

    refund = await ActivityEnvironment().run(payments.refund, refund_request(request, result, 2000, False))

    assert refund.amount_minor == 2000
    assert (refund.application_fee_minor, refund.application_fee_refunded_minor) == (FEE, 0)
    [made] = standin.refunds(payment_intent=result.payment_intent_id, account=account)
    assert made["amount"] == 2000


async def test_a_platform_charge_sends_no_account_and_no_fee(
    payments: PaymentActivities, standin: StripeStandIn
) -> None:
    request = charge_request("acct_unused").model_copy(
        update={"connected_account_id": None, "application_fee_minor": None}
    )

    result = await ActivityEnvironment().run(payments.charge, request)

    assert result.outcome is ChargeOutcome.SUCCEEDED
    assert (result.connected_account_id, result.application_fee_minor) == (None, None)
    mine = [r for r in standin.requests if request.session_id in (r.idempotency_key or "")]
    assert [r.path for r in mine] == ["/v1/payment_intents"]  # no clone
    [create] = mine
    assert stripe_account(create) is None
    assert "application_fee_amount" not in create.params
    assert create.params["customer"] == request.customer_id


async def test_a_refund_that_completes_the_charge_returns_the_rest_of_the_commission(
    payments: PaymentActivities, standin: StripeStandIn, account: str
) -> None:
    # A part refund kept the fee, then the therapist cancelled: Stripe returns only this refund's
    # proportion of the fee (300 of 540); the platform returns the other 240 itself.
    request, result = await charged(payments, account)
    await ActivityEnvironment().run(payments.refund, refund_request(request, result, 2000, False))
    completing = refund_request(request, result, AMOUNT, True).model_copy(
        update={"refund_number": 2, "return_whole_fee": True}
    )

    refund = await ActivityEnvironment().run(payments.refund, completing)

    assert (refund.amount_minor, refund.refunded_total_minor) == (AMOUNT - 2000, AMOUNT)
    assert (refund.application_fee_minor, refund.application_fee_refunded_minor) == (FEE, FEE)
    [fee] = standin.application_fees(account=account)
    assert (fee["amount_refunded"], fee["refunded"]) == (FEE, True)
    assert sorted(r["amount"] for r in fee["refunds"]["data"]) == [240, 300]

    # A retry (the answer lost) finds the money and the fee back and sends nothing more.
    again = await ActivityEnvironment().run(payments.refund, completing)
    assert (again.amount_minor, again.application_fee_refunded_minor) == (0, FEE)
    assert len(standin.application_fees(account=account)[0]["refunds"]["data"]) == 2


async def test_a_completing_refund_without_the_whole_fee_rule_returns_only_its_proportion(
    payments: PaymentActivities, account: str
) -> None:
    request, result = await charged(payments, account)
    await ActivityEnvironment().run(payments.refund, refund_request(request, result, 2000, False))
    completing = refund_request(request, result, AMOUNT, True).model_copy(update={"refund_number": 2})

    refund = await ActivityEnvironment().run(payments.refund, completing)

    assert refund.application_fee_refunded_minor == FEE * (AMOUNT - 2000) // AMOUNT  # 300


async def test_a_retry_after_a_decline_on_a_connected_account_charges_with_a_fresh_clone_of_the_card(
    payments: PaymentActivities, standin: StripeStandIn, account: str
) -> None:
    """A card cloned onto the therapist's account has no customer there, and Stripe lets such a
    PaymentMethod serve one payment only (how strictly after a decline it does not say): each try
    clones the card afresh, so the retry at start − 24 h after a soft decline never depends on a
    clone an earlier try used."""
    first = charge_request(account, payment_method="pm_card_chargeDeclinedInsufficientFunds")
    declined = await ActivityEnvironment().run(payments.charge, first)
    assert declined.outcome is ChargeOutcome.DECLINED and declined.payment_intent_id is not None

    standin.set_payment_method_behaviour(first.payment_method_id, "visa")  # the client topped up
    retry = first.model_copy(update={"attempt": 2, "payment_intent_id": declined.payment_intent_id})
    paid = await ActivityEnvironment().run(payments.charge, retry)

    assert paid.outcome is ChargeOutcome.SUCCEEDED
    assert paid.payment_intent_id == declined.payment_intent_id
    clones = {
        c["payment_method"]
        for c in standin.charges(payment_intent=declined.payment_intent_id, account=account)
    }
    assert len(clones) == 2  # one clone per try, each used once
