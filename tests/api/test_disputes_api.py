"""Disputes over real HTTP: the stand-in opens and decides a dispute and posts its signed
``charge.dispute.*`` events to the API, which confirms each with Stripe and signals the session; the
refund a cancellation owes is held until the dispute is won, and the evidence pack is exported."""

from __future__ import annotations

import asyncio
import contextlib
import json

import httpx
import stripe
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from api.stripe_confirmation import confirmed_dispute
from contract.ids import session_refunds_workflow_id
from dev.stripe_standin import StripeStandIn
from domain.commands import CancelRequest
from domain.disputes import DisputeStatus
from domain.status import Actor, CancelReason, SessionStatus
from settings import Settings
from tests.api.conftest import acting
from tests.api.test_stripe_webhook_api import WEBHOOK, secret_of, signed, stripe_event
from tests.api.test_stripe_webhook_api import webhooks_to_api as webhooks_to_api  # the fixture
from tests.workflows.support import (
    WAIT,
    paid_follow_up,
    result_of,
    unique,
    wait_for_state,
)
from workflows.refunds import SessionRefundsWorkflow
from workflows.session import SessionWorkflow

THERAPIST_CANCELS = CancelRequest(requested_by=Actor.THERAPIST, reason=CancelReason.THERAPIST_UNAVAILABLE)


async def test_a_dispute_reaches_the_session_through_the_webhook_holds_its_refund_until_won(
    env: WorkflowEnvironment,
    worker: Worker,
    standin: StripeStandIn,
    webhooks_to_api: None,
    http: httpx.AsyncClient,
) -> None:
    booking, handle, paid = await paid_follow_up(env, worker.task_queue)
    intent_id = paid.payment.payment_intent_id
    [charge] = standin.charges(payment_intent=intent_id)

    dispute = await asyncio.to_thread(standin.open_dispute, charge["id"], reason="credit_not_processed")
    opened = await wait_for_state(handle, lambda s: s.dispute is not None, "charge.dispute.created")
    assert opened.dispute is not None
    assert (opened.dispute.dispute_id, opened.dispute.status) == (dispute["id"], DisputeStatus.NEEDS_RESPONSE)
    assert opened.dispute.reason == "credit_not_processed"

    # The therapist's refund is refused while the dispute is open; a cancellation's is held.
    therapist = acting("therapist", booking.therapist_id)
    refused = await http.post(
        f"/v1/sessions/{booking.session_id}/refund",
        json={"reason": "goodwill", "amount_minor": 1000},
        headers={**therapist, "Idempotency-Key": "refund-while-disputed"},
    )
    assert refused.status_code == 409 and refused.json()["code"] == "charge_disputed"
    await asyncio.wait_for(handle.execute_update(SessionWorkflow.cancel, THERAPIST_CANCELS), WAIT)
    await wait_for_state(
        handle, lambda s: s.dispute is not None and s.dispute.refund_held_minor == 6000, "the held refund"
    )
    assert standin.refunds(payment_intent=intent_id) == []

    # The evidence pack, for admins only.
    admin = acting("admin", "adm_ops")
    evidence = await http.get(f"/v1/sessions/{booking.session_id}/dispute-evidence", headers=admin)
    assert evidence.status_code == 200
    assert evidence.json()["service_date"] == booking.start.date().isoformat()
    assert "cancelled by the practitioner" in evidence.json()["cancellation_rebuttal"]
    not_for_therapist = await http.get(
        f"/v1/sessions/{booking.session_id}/dispute-evidence", headers=therapist
    )
    assert not_for_therapist.status_code == 409

    await asyncio.to_thread(standin.close_dispute, dispute["id"], "won")
    final = await result_of(handle)
    assert final.dispute is not None and final.dispute.status is DisputeStatus.WON
    [refund] = standin.refunds(payment_intent=intent_id)
    assert refund["amount"] == 6000

    # Stripe's late redelivery of the "created" event after the session closed: acknowledged.
    [created] = [
        e for e in standin.events(type="charge.dispute.created") if e["data"]["object"]["id"] == dispute["id"]
    ]
    statuses = await asyncio.to_thread(standin.deliver_event, created["id"], 1)
    assert statuses == [200]


async def test_a_dispute_event_stripe_does_not_confirm_is_acknowledged_and_signals_nothing(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    forged = stripe_event(
        "charge.dispute.created",
        {"id": "dp_forged", "object": "dispute", "payment_intent": "pi_forged", "status": "needs_response"},
    )
    answer = await http.post(WEBHOOK, content=forged, headers=signed(forged, secret_of(settings)))
    assert answer.status_code == 200 and answer.json() == {"received": True, "handled": False}


async def test_a_dispute_of_a_connected_accounts_charge_is_confirmed_on_that_account(
    standin: StripeStandIn, stripe_client: stripe.StripeClient
) -> None:
    account = (await stripe_client.v1.accounts.create_async({"type": "standard", "country": "GB"})).id
    session_id = unique("ses")
    intent = await stripe_client.v1.payment_intents.create_async(
        {
            "amount": 6000,
            "currency": "gbp",
            "payment_method": "pm_card_visa",
            "off_session": True,
            "confirm": True,
            "metadata": {"session_id": session_id},
        },
        {"stripe_account": account},
    )
    dispute = await asyncio.to_thread(standin.open_dispute, str(intent.latest_charge), reason="fraudulent")
    [event] = [
        e for e in standin.events(type="charge.dispute.created") if e["data"]["object"]["id"] == dispute["id"]
    ]
    assert event["account"] == account

    confirmed = await confirmed_dispute(stripe_client, event)
    assert confirmed is not None
    found_session, fact = confirmed
    assert found_session == session_id
    assert (fact.dispute_id, fact.payment_intent_id, fact.account) == (dispute["id"], intent.id, account)
    assert (fact.status, fact.reason) == (DisputeStatus.NEEDS_RESPONSE, "fraudulent")
    # The same event claimed for the platform: Stripe has no such dispute there.
    assert await confirmed_dispute(stripe_client, {k: v for k, v in event.items() if k != "account"}) is None


async def test_a_dispute_of_a_closed_session_refuses_its_refunds_through_the_api_until_won(
    env: WorkflowEnvironment,
    worker: Worker,
    standin: StripeStandIn,
    webhooks_to_api: None,
    http: httpx.AsyncClient,
) -> None:
    booking, handle, paid = await paid_follow_up(env, worker.task_queue)
    late = CancelRequest(requested_by=Actor.CLIENT, reason=CancelReason.CLIENT_REQUEST)
    await asyncio.wait_for(handle.execute_update(SessionWorkflow.cancel, late), WAIT)
    assert (await result_of(handle)).status is SessionStatus.CANCELLED_LATE  # closed, charge kept
    [charge] = standin.charges(payment_intent=paid.payment.payment_intent_id)

    # The stand-in posts charge.dispute.created to the API; the session has closed, so its refunds
    # workflow is started from the final ledger and takes the fact.
    dispute = await asyncio.to_thread(standin.open_dispute, charge["id"], reason="credit_not_processed")
    refunds = env.client.get_workflow_handle(session_refunds_workflow_id(booking.session_id))

    async def dispute_of_refunds_workflow() -> DisputeStatus | None:
        with contextlib.suppress(RPCError):  # not started yet
            state = await refunds.query(SessionRefundsWorkflow.state)
            return state.dispute.status if state.dispute is not None else None
        return None

    async def dispute_reached(status: DisputeStatus) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT
        while await dispute_of_refunds_workflow() is not status:
            assert loop.time() < deadline, f"the refunds workflow never recorded {status.value}"
            await asyncio.sleep(0.05)

    await dispute_reached(DisputeStatus.NEEDS_RESPONSE)
    therapist = acting("therapist", booking.therapist_id)

    async def refund(key: str) -> httpx.Response:
        return await http.post(
            f"/v1/sessions/{booking.session_id}/refund",
            json={"reason": "goodwill", "amount_minor": 1500},
            headers={**therapist, "Idempotency-Key": key},
        )

    refused = await refund("closed-while-disputed")
    assert refused.status_code == 409 and refused.json()["code"] == "charge_disputed"

    await asyncio.to_thread(standin.close_dispute, dispute["id"], "won")
    await dispute_reached(DisputeStatus.WON)
    granted = await refund("closed-after-the-win")
    assert granted.status_code == 200 and granted.json()["amount_minor"] == 1500
    await refunds.terminate("test over")


async def test_a_dispute_from_another_account_never_reaches_the_session(
    env: WorkflowEnvironment,
    worker: Worker,
    standin: StripeStandIn,
    stripe_client: stripe.StripeClient,
    webhooks_to_api: None,
    http: httpx.AsyncClient,
    settings: Settings,
) -> None:
    booking, handle, paid = await paid_follow_up(env, worker.task_queue)

    # Another account writes this session's id into its own PaymentIntent and disputes it.
    other = (await stripe_client.v1.accounts.create_async({"type": "standard", "country": "GB"})).id
    intent = await stripe_client.v1.payment_intents.create_async(
        {
            "amount": 6000,
            "currency": "gbp",
            "payment_method": "pm_card_visa",
            "off_session": True,
            "confirm": True,
            "metadata": {"session_id": booking.session_id},
        },
        {"stripe_account": other},
    )
    foreign = await asyncio.to_thread(standin.open_dispute, str(intent.latest_charge), reason="fraudulent")
    [event] = [
        e for e in standin.events(type="charge.dispute.created") if e["data"]["object"]["id"] == foreign["id"]
    ]
    body = json.dumps({**event, "id": unique("evt")}).encode()
    answer = await http.post(WEBHOOK, content=body, headers=signed(body, secret_of(settings)))
    assert answer.status_code == 200 and answer.json() == {"received": True, "handled": False}

    # The session's own dispute is recorded as usual: nothing masked it.
    [charge] = standin.charges(payment_intent=paid.payment.payment_intent_id)
    real = await asyncio.to_thread(standin.open_dispute, charge["id"])
    state = await wait_for_state(handle, lambda s: s.dispute is not None, "the session's dispute")
    assert [record.dispute_id for record in state.disputes] == [real["id"]]
    await handle.terminate("test over")
