"""Disputes reaching a running session (issue 14 §3): a refund owed against a disputed charge is
held while the dispute is open, paid once it is won, never paid once it is lost; the refund command
is refused ``charge_disputed``; the therapist is told."""

from __future__ import annotations

import asyncio

import pytest
import stripe
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from dev.stripe_standin import StripeStandIn
from domain.commands import CancelRequest
from domain.disputes import DisputeFact, DisputeStatus, dispute_fact_from_stripe
from domain.refunds import SessionRefund
from domain.status import Actor, CancelReason, RefundReason, SessionStatus
from settings import Settings
from tests.workflows.support import (
    HOUR,
    WAIT,
    SessionHandle,
    advance_to,
    history_at_rest,
    make_booking,
    notices_sent,
    real_now,
    result_of,
    running_worker,
    scheduled_activities,
    start,
    wait_for_state,
)
from workflows.session import SessionWorkflow

THERAPIST_CANCELS = CancelRequest(requested_by=Actor.THERAPIST, reason=CancelReason.THERAPIST_UNAVAILABLE)


def fact_of(standin: StripeStandIn, dispute_id: str, event_type: str) -> DisputeFact:
    """The fact the webhook route would signal for the stand-in's latest event of this type."""
    event = next(
        e for e in reversed(standin.events(type=event_type)) if e["data"]["object"]["id"] == dispute_id
    )
    [dispute] = [d for d in standin.disputes() if d["id"] == dispute_id]
    fact = dispute_fact_from_stripe(event, dispute)
    assert fact is not None
    return fact


async def signal(handle: SessionHandle, fact: DisputeFact) -> None:
    await asyncio.wait_for(handle.signal(SessionWorkflow.dispute_event, fact), WAIT)


async def disputed_then_cancelled(
    env: WorkflowEnvironment, worker: Worker, standin: StripeStandIn
) -> tuple[SessionHandle, str, str]:
    """A paid session whose charge the client's bank disputes, then the therapist cancels it."""
    booking = make_booking(start=real_now() + 72 * HOUR)
    handle = await start(env.client, booking, worker.task_queue)
    await advance_to(env, handle, booking.start - 30 * HOUR)
    paid = await wait_for_state(handle, lambda s: s.status is SessionStatus.PAID, "the charge")
    intent_id = paid.payment.payment_intent_id
    assert intent_id is not None
    [charge] = standin.charges(payment_intent=intent_id)
    dispute_id = standin.open_dispute(charge["id"], reason="product_not_received")["id"]
    await signal(handle, fact_of(standin, dispute_id, "charge.dispute.created"))
    await wait_for_state(handle, lambda s: s.dispute is not None, "the dispute")

    outcome = await asyncio.wait_for(handle.execute_update(SessionWorkflow.cancel, THERAPIST_CANCELS), WAIT)
    assert outcome.status is SessionStatus.CANCELLED_BY_THERAPIST
    held = await wait_for_state(
        handle, lambda s: s.dispute is not None and s.dispute.refund_held_minor == 6000, "the held refund"
    )
    assert held.payment.amount_refunded_minor == 0
    assert standin.refunds(payment_intent=intent_id) == []
    return handle, intent_id, dispute_id


async def test_a_dispute_opened_holds_the_refund_of_a_later_cancellation_and_a_win_pays_it(
    env: WorkflowEnvironment, worker: Worker, standin: StripeStandIn
) -> None:
    handle, intent_id, dispute_id = await disputed_then_cancelled(env, worker, standin)

    standin.close_dispute(dispute_id, "won")
    await signal(handle, fact_of(standin, dispute_id, "charge.dispute.closed"))

    final = await result_of(handle)
    assert final.dispute is not None and final.dispute.status is DisputeStatus.WON
    assert final.payment.amount_refunded_minor == 6000
    [refund] = standin.refunds(payment_intent=intent_id)
    assert refund["amount"] == 6000
    sent = await notices_sent(handle)
    assert f"{final.session_id}:dispute_opened:{dispute_id}" in sent
    assert f"{final.session_id}:dispute_closed:{dispute_id}" in sent


async def test_a_dispute_lost_refunds_nothing_and_the_session_closes(
    env: WorkflowEnvironment, worker: Worker, standin: StripeStandIn
) -> None:
    handle, intent_id, dispute_id = await disputed_then_cancelled(env, worker, standin)
    # A late, duplicated "created" after the close changes nothing: the dispute never reopens.
    created = fact_of(standin, dispute_id, "charge.dispute.created")
    standin.close_dispute(dispute_id, "lost")
    await signal(handle, fact_of(standin, dispute_id, "charge.dispute.closed"))
    await signal(handle, created)

    final = await result_of(handle)
    assert final.dispute is not None and final.dispute.status is DisputeStatus.LOST
    assert final.payment.amount_refunded_minor == 0
    assert standin.refunds(payment_intent=intent_id) == []


async def test_a_therapists_refund_of_a_disputed_charge_is_refused_charge_disputed(
    env: WorkflowEnvironment, worker: Worker, standin: StripeStandIn
) -> None:
    booking = make_booking(start=real_now() + 72 * HOUR)
    handle = await start(env.client, booking, worker.task_queue)
    await advance_to(env, handle, booking.start - 30 * HOUR)
    paid = await wait_for_state(handle, lambda s: s.status is SessionStatus.PAID, "the charge")
    [charge] = standin.charges(payment_intent=paid.payment.payment_intent_id)
    dispute_id = standin.open_dispute(charge["id"])["id"]
    await signal(handle, fact_of(standin, dispute_id, "charge.dispute.created"))
    await wait_for_state(handle, lambda s: s.dispute is not None, "the dispute")

    request = SessionRefund(reason=RefundReason.GOODWILL, amount_minor=1000)
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await asyncio.wait_for(handle.execute_update(SessionWorkflow.refund, request), WAIT)
    cause = refused.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "charge_disputed"
    evidence = await asyncio.wait_for(handle.query(SessionWorkflow.dispute_evidence), WAIT)
    assert evidence.service_date == booking.start.date().isoformat()
    await handle.terminate("test over")


async def test_a_dispute_needing_a_response_is_answered_with_the_evidence_pack_when_configured(
    env: WorkflowEnvironment,
    standin: StripeStandIn,
    stripe_client: stripe.StripeClient,
    settings: Settings,
    task_queue: str,
) -> None:
    submitting = settings.model_copy(update={"dispute_evidence_submit": True})
    async with running_worker(env.client, task_queue, stripe_client, submitting):
        booking = make_booking(start=real_now() + 72 * HOUR)
        handle = await start(env.client, booking, task_queue)
        await advance_to(env, handle, booking.start - 30 * HOUR)
        paid = await wait_for_state(handle, lambda s: s.status is SessionStatus.PAID, "the charge")
        [charge] = standin.charges(payment_intent=paid.payment.payment_intent_id)
        dispute_id = standin.open_dispute(charge["id"], reason="product_not_received")["id"]
        await signal(handle, fact_of(standin, dispute_id, "charge.dispute.created"))

        await history_at_rest(handle)  # the evidence's activity has run
        submitted = [d for d in standin.disputes() if d["id"] == dispute_id and d["status"] == "under_review"]
        [dispute] = submitted
        evidence = dispute["evidence"]
        assert isinstance(evidence, dict)
        assert evidence["service_date"] == booking.start.date().isoformat()
        assert "48 hours" in evidence["cancellation_policy_disclosure"]
        assert evidence["customer_name"] is None and evidence["customer_email_address"] is None
        assert dispute["metadata"] == {"session_id": booking.session_id}
        assert "submit_dispute_evidence" in await scheduled_activities(handle)
        await handle.terminate("test over")
