"""The Dispute API activities against the stand-in over HTTP: ``read_dispute`` (a refunds workflow
that waited Stripe's whole dispute timeline reads the dispute before handing it to ops)."""

from __future__ import annotations

import pytest
import stripe
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.disputes import DisputeActivities
from activities.payments import PaymentActivities
from dev.stripe_standin import StripeStandIn
from domain.disputes import DisputeLookup, DisputeStatus
from settings import Settings
from tests.activities.test_payments import charge_request


async def test_reading_a_dispute_returns_its_status_as_stripe_holds_it_now(
    stripe_client: stripe.StripeClient, standin: StripeStandIn, settings: Settings
) -> None:
    payments = PaymentActivities(stripe_client, return_url=settings.payment_return_url)
    charged = await ActivityEnvironment().run(payments.charge, charge_request("pm_card_visa"))
    [charge] = standin.charges(payment_intent=charged.payment_intent_id)
    dispute_id = standin.open_dispute(charge["id"])["id"]
    read = DisputeActivities(stripe_client).read
    lookup = DisputeLookup(session_id="ses_read", dispute_id=dispute_id)

    assert (await ActivityEnvironment().run(read, lookup)).status is DisputeStatus.NEEDS_RESPONSE
    standin.close_dispute(dispute_id, "won")
    assert (await ActivityEnvironment().run(read, lookup)).status is DisputeStatus.WON


async def test_reading_a_dispute_stripe_does_not_know_fails_without_retries(
    stripe_client: stripe.StripeClient,
) -> None:
    lookup = DisputeLookup(session_id="ses_read", dispute_id="dp_unknown")
    with pytest.raises(ApplicationError) as refused:
        await ActivityEnvironment().run(DisputeActivities(stripe_client).read, lookup)
    assert refused.value.non_retryable and refused.value.type == "InvalidRequestError"
