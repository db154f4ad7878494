"""Disputes reaching a running session (issue 14 §3): a refund owed against a disputed charge is
held while the dispute is open, paid once it is won, never paid once it is lost; the refund command
is refused ``charge_disputed``; the therapist is told."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
import stripe
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from contract.ids import session_refunds_workflow_id
from dev.notification_sink import NotificationSink
from dev.stripe_standin import StripeStandIn
from domain.commands import CancelRequest
from domain.disputes import DISPUTE_DECISION_BOUND, DisputeFact, DisputeStatus, dispute_fact_from_stripe
from domain.notifications import NotificationType
from domain.refunds import DISPUTE_OPEN_PAST_BOUND, ClosedSessionRefunds, SessionRefund, SessionRefundResult
from domain.status import Actor, CancelReason, RefundReason, SessionStatus
from settings import Settings
from temporal_client.refunds_client import dispute_closed_session, refund_session
from tests.workflows.support import (
    STARTED,
    WAIT,
    SessionHandle,
    fast_forward,
    history_at_rest,
    notices_sent,
    paid_follow_up,
    real_now,
    result_of,
    running_worker,
    scheduled_activities,
    unique,
    virtual_now,
    wait_for_state,
)
from workflows.refunds import SessionRefundsWorkflow
from workflows.session import SessionWorkflow

RefundsHandle = WorkflowHandle[Any, Any]
"""A closed session's refunds workflow (untyped, as the replay test's list holds it)."""

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
    _, handle, paid = await paid_follow_up(env, worker.task_queue)
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
    # The evidence pack is still read once the session has closed (the query replays its history).
    evidence = await asyncio.wait_for(handle.query(SessionWorkflow.dispute_evidence), WAIT)
    assert (
        evidence.cancellation_rebuttal is not None and "by the practitioner" in evidence.cancellation_rebuttal
    )
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
    booking, handle, paid = await paid_follow_up(env, worker.task_queue)
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
        booking, handle, paid = await paid_follow_up(env, task_queue)
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


async def test_a_dispute_of_a_closed_session_reaches_its_refunds_workflow_which_holds_refunds_until_won(
    env: WorkflowEnvironment,
    worker: Worker,
    standin: StripeStandIn,
    notification_sink: NotificationSink,
) -> None:
    # Paid, then cancelled late by the client: the charge stands and the session closes.
    booking, handle, paid = await paid_follow_up(env, worker.task_queue)
    late = CancelRequest(requested_by=Actor.CLIENT, reason=CancelReason.CLIENT_REQUEST)
    await asyncio.wait_for(handle.execute_update(SessionWorkflow.cancel, late), WAIT)
    assert (await result_of(handle)).status is SessionStatus.CANCELLED_LATE
    intent_id = paid.payment.payment_intent_id
    [charge] = standin.charges(payment_intent=intent_id)

    # Weeks later the client's bank disputes it ("credit not processed"): the session's workflow
    # has closed, so its refunds workflow takes the fact.
    dispute_id = standin.open_dispute(charge["id"], reason="credit_not_processed")["id"]
    created = fact_of(standin, dispute_id, "charge.dispute.created")
    with pytest.raises(RPCError):
        await signal(handle, created)  # a closed workflow cannot be signalled

    async def to_closed_session(fact: DisputeFact) -> bool:
        taken = await dispute_closed_session(
            env.client, booking.session_id, fact, task_queue=worker.task_queue, now=real_now()
        )
        return taken

    assert await asyncio.wait_for(to_closed_session(created), WAIT)
    refunds = env.client.get_workflow_handle(session_refunds_workflow_id(booking.session_id))
    STARTED.append(refunds)  # its history is recorded for the replay test

    async def refund(request_id: str) -> SessionRefundResult:
        request = SessionRefund(reason=RefundReason.GOODWILL, amount_minor=2000)
        return await asyncio.wait_for(
            refund_session(
                env.client,
                booking.session_id,
                request,
                request_id=request_id,
                task_queue=worker.task_queue,
                now=real_now(),
            ),
            WAIT,
        )

    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await refund("while-disputed")
    cause = refused.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "charge_disputed"
    [opened] = await notification_sink.wait_for_async(
        lambda n: n.type is NotificationType.DISPUTE_OPENED and n.session_id == booking.session_id, WAIT
    )
    assert opened.codes == {"reason": "credit_not_processed", "status": "needs_response"}

    standin.close_dispute(dispute_id, "won")
    assert await asyncio.wait_for(
        to_closed_session(fact_of(standin, dispute_id, "charge.dispute.closed")), WAIT
    )
    assert await asyncio.wait_for(to_closed_session(created), WAIT)  # late and repeated: nothing changes
    granted = await refund("after-the-win")
    assert granted.amount_minor == 2000
    await notification_sink.wait_for_async(
        lambda n: n.type is NotificationType.REFUND_ISSUED and n.session_id == booking.session_id, WAIT
    )
    state = await asyncio.wait_for(refunds.query(SessionRefundsWorkflow.state), WAIT)
    assert state.dispute is not None and state.dispute.status is DisputeStatus.WON
    assert [r["amount"] for r in standin.refunds(payment_intent=intent_id)] == [2000]
    await refunds.terminate("test over")


# ------------------------------------------------------------- review 14: findings 5 and 6


async def test_a_dispute_from_another_account_never_reaches_the_session(
    env: WorkflowEnvironment, worker: Worker, standin: StripeStandIn
) -> None:
    booking, handle, paid = await paid_follow_up(env, worker.task_queue)
    [charge] = standin.charges(payment_intent=paid.payment.payment_intent_id)
    dispute_id = standin.open_dispute(charge["id"])["id"]
    real = fact_of(standin, dispute_id, "charge.dispute.created")
    # The same dispute claimed by another account's event, then one of a PaymentIntent the session
    # never had: neither is the session's (another account can write any session_id in metadata).
    await signal(handle, real.model_copy(update={"event_id": "evt_foreign_1", "account": "acct_other"}))
    await signal(
        handle,
        real.model_copy(
            update={"event_id": "evt_foreign_2", "dispute_id": "dp_x", "payment_intent_id": "pi_x"}
        ),
    )
    await signal(handle, real)  # the session's own is recorded: the foreign ones masked nothing
    state = await wait_for_state(handle, lambda s: s.dispute is not None, "the dispute")
    assert [record.dispute_id for record in state.disputes] == [dispute_id]
    await history_at_rest(handle)  # the opened notice has gone out
    sent = await notices_sent(handle)
    assert [key for key in sent if ":dispute_opened:" in key] == [
        f"{booking.session_id}:dispute_opened:{dispute_id}"
    ]
    await handle.terminate("test over")


async def test_an_inquiry_escalated_to_a_chargeback_is_answered_again(
    env: WorkflowEnvironment,
    standin: StripeStandIn,
    stripe_client: stripe.StripeClient,
    settings: Settings,
    task_queue: str,
) -> None:
    submitting = settings.model_copy(update={"dispute_evidence_submit": True})
    async with running_worker(env.client, task_queue, stripe_client, submitting):
        booking, handle, paid = await paid_follow_up(env, task_queue)
        [charge] = standin.charges(payment_intent=paid.payment.payment_intent_id)
        dispute_id = standin.open_dispute(charge["id"], reason="fraudulent", inquiry=True)["id"]
        await signal(handle, fact_of(standin, dispute_id, "charge.dispute.created"))
        await wait_for_state(handle, lambda s: s.dispute is not None, "the inquiry")
        await history_at_rest(handle)  # its evidence's activity has run
        [inquiry] = standin.disputes(charge=charge["id"])
        assert inquiry["status"] == "warning_under_review"  # the inquiry answered

        standin.escalate_dispute(dispute_id)
        await signal(handle, fact_of(standin, dispute_id, "charge.dispute.updated"))
        await wait_for_state(
            handle,
            lambda s: s.dispute is not None and s.dispute.status is DisputeStatus.NEEDS_RESPONSE,
            "the escalation",
        )
        await history_at_rest(handle)
        [chargeback] = standin.disputes(charge=charge["id"])
        assert chargeback["status"] == "under_review"  # the chargeback answered too
        assert chargeback["evidence_details"]["submission_count"] == 2
        assert chargeback["evidence"]["service_date"] == booking.start.date().isoformat()
        await handle.terminate("test over")


async def test_a_dispute_of_a_closed_session_is_answered_with_its_evidence_pack(
    env: WorkflowEnvironment,
    standin: StripeStandIn,
    stripe_client: stripe.StripeClient,
    settings: Settings,
    task_queue: str,
) -> None:
    submitting = settings.model_copy(update={"dispute_evidence_submit": True})
    async with running_worker(env.client, task_queue, stripe_client, submitting):
        booking, handle, paid = await paid_follow_up(env, task_queue)
        late = CancelRequest(requested_by=Actor.CLIENT, reason=CancelReason.CLIENT_REQUEST)
        await asyncio.wait_for(handle.execute_update(SessionWorkflow.cancel, late), WAIT)
        assert (await result_of(handle)).status is SessionStatus.CANCELLED_LATE
        [charge] = standin.charges(payment_intent=paid.payment.payment_intent_id)

        dispute_id = standin.open_dispute(charge["id"], reason="credit_not_processed")["id"]
        created = fact_of(standin, dispute_id, "charge.dispute.created")
        # Another account's claim on the closed session starts nothing.
        foreign = created.model_copy(update={"event_id": "evt_foreign_closed", "account": "acct_other"})
        refused = dispute_closed_session(
            env.client, booking.session_id, foreign, task_queue=task_queue, now=real_now()
        )
        assert not await asyncio.wait_for(refused, WAIT)
        taken = dispute_closed_session(
            env.client, booking.session_id, created, task_queue=task_queue, now=real_now()
        )
        assert await asyncio.wait_for(taken, WAIT)
        refunds = env.client.get_workflow_handle(session_refunds_workflow_id(booking.session_id))
        STARTED.append(refunds)  # its history is recorded for the replay test
        await history_at_rest(refunds)
        [dispute] = standin.disputes(charge=charge["id"])
        assert dispute["status"] == "under_review"
        rebuttal = dispute["evidence"]["cancellation_rebuttal"]
        assert isinstance(rebuttal, str) and "late cancellation" in rebuttal
        await refunds.terminate("test over")


# ------------------------------------------- the refund period ends while a dispute holds a refund


async def closed_refund_held_by_a_dispute(
    env: WorkflowEnvironment, worker: Worker, standin: StripeStandIn
) -> tuple[str, str, str, RefundsHandle]:
    """A closed session's refund held by an open dispute when its 180-day refund period ends.

    The client's bank disputes the charge; the therapist refunds the closed session before the
    dispute's webhook arrives, so Stripe refuses the refund (``charge_disputed``); the dispute then
    reaches the refunds workflow, which holds the refund. Then the period passes."""
    booking, handle, paid = await paid_follow_up(env, worker.task_queue)
    late = CancelRequest(requested_by=Actor.CLIENT, reason=CancelReason.CLIENT_REQUEST)
    await asyncio.wait_for(handle.execute_update(SessionWorkflow.cancel, late), WAIT)
    assert (await result_of(handle)).status is SessionStatus.CANCELLED_LATE
    intent_id = paid.payment.payment_intent_id
    assert intent_id is not None
    [charge] = standin.charges(payment_intent=intent_id)
    dispute_id = standin.open_dispute(charge["id"], reason="credit_not_processed")["id"]

    granted = await asyncio.wait_for(
        refund_session(
            env.client,
            booking.session_id,
            SessionRefund(reason=RefundReason.GOODWILL, amount_minor=2000),
            request_id=unique("goodwill"),
            task_queue=worker.task_queue,
            now=real_now(),
        ),
        WAIT,
    )
    assert granted.amount_minor == 2000
    refunds: RefundsHandle = env.client.get_workflow_handle(
        session_refunds_workflow_id(booking.session_id), result_type=ClosedSessionRefunds
    )
    STARTED.append(refunds)  # its history is recorded for the replay test
    await refunds_state(refunds, lambda s: s.blocked_reason is not None, "Stripe's refusal")
    assert standin.refunds(payment_intent=intent_id) == []

    created = fact_of(standin, dispute_id, "charge.dispute.created")
    assert await asyncio.wait_for(
        dispute_closed_session(
            env.client, booking.session_id, created, task_queue=worker.task_queue, now=real_now()
        ),
        WAIT,
    )
    held = await refunds_state(
        refunds,
        lambda s: s.dispute is not None and s.dispute.refund_held_minor == 2000,
        "the refund held by the dispute",
    )
    await fast_forward(env, refunds, held.closes_at - await virtual_now(env, refunds) + timedelta(days=1))
    return booking.session_id, intent_id, dispute_id, refunds


async def refunds_state(
    refunds: RefundsHandle,
    predicate: Callable[[ClosedSessionRefunds], bool],
    what: str,
) -> ClosedSessionRefunds:
    """Poll the refunds workflow's state until ``predicate`` holds (bounded)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    while not predicate(state := await asyncio.wait_for(refunds.query(SessionRefundsWorkflow.state), WAIT)):
        if loop.time() > deadline:
            raise AssertionError(
                f"timed out waiting for {what}; last state: {state.model_dump_json(indent=1)}"
            )
        await asyncio.sleep(0.05)
    return state


async def test_a_dispute_won_after_the_refund_period_pays_the_refund_it_held_once(
    env: WorkflowEnvironment, worker: Worker, standin: StripeStandIn, notification_sink: NotificationSink
) -> None:
    session_id, intent_id, dispute_id, refunds = await closed_refund_held_by_a_dispute(env, worker, standin)
    after_the_period = (await refunds_state(refunds, lambda s: True, "the state")).closes_at + timedelta(
        days=1
    )

    standin.close_dispute(dispute_id, "won")
    closed = fact_of(standin, dispute_id, "charge.dispute.closed")

    def deliver() -> Awaitable[bool]:
        return asyncio.wait_for(
            dispute_closed_session(
                env.client, session_id, closed, task_queue=worker.task_queue, now=after_the_period
            ),
            WAIT,
        )

    assert await deliver()
    # Stripe delivers it again: taken by the workflow if it still runs, refused once it has closed
    # (a closed refunds workflow is never started again); either way the refund is paid once.
    await deliver()
    final = await asyncio.wait_for(refunds.result(), WAIT)
    assert not await deliver()
    assert final.dispute is not None and final.dispute.status is DisputeStatus.WON
    assert final.payment.amount_refunded_minor == 2000
    assert [r["amount"] for r in standin.refunds(payment_intent=intent_id)] == [2000]
    [issued] = await notification_sink.wait_for_async(
        lambda n: n.type is NotificationType.REFUND_ISSUED and n.session_id == session_id, WAIT
    )
    assert issued.amount_minor == 2000
    [told] = await notification_sink.wait_for_async(
        lambda n: n.type is NotificationType.DISPUTE_CLOSED and n.session_id == session_id, WAIT
    )
    assert told.codes == {"reason": "credit_not_processed", "outcome": "won"}


async def test_a_dispute_lost_after_the_refund_period_refunds_nothing_and_the_refunds_close(
    env: WorkflowEnvironment, worker: Worker, standin: StripeStandIn, notification_sink: NotificationSink
) -> None:
    session_id, intent_id, dispute_id, refunds = await closed_refund_held_by_a_dispute(env, worker, standin)
    after_the_period = (await refunds_state(refunds, lambda s: True, "the state")).closes_at + timedelta(
        days=1
    )

    standin.close_dispute(dispute_id, "lost")
    closed = fact_of(standin, dispute_id, "charge.dispute.closed")
    assert await asyncio.wait_for(
        dispute_closed_session(
            env.client, session_id, closed, task_queue=worker.task_queue, now=after_the_period
        ),
        WAIT,
    )

    final = await asyncio.wait_for(refunds.result(), WAIT)
    assert final.dispute is not None and final.dispute.status is DisputeStatus.LOST
    assert final.payment.amount_refunded_minor == 0
    assert standin.refunds(payment_intent=intent_id) == []
    [told] = await notification_sink.wait_for_async(
        lambda n: n.type is NotificationType.DISPUTE_CLOSED and n.session_id == session_id, WAIT
    )
    assert told.codes == {"reason": "credit_not_processed", "outcome": "lost"}


async def test_a_dispute_close_that_never_arrives_is_read_from_stripe_after_its_timeline_and_a_win_pays(
    env: WorkflowEnvironment, worker: Worker, standin: StripeStandIn
) -> None:
    _, intent_id, dispute_id, refunds = await closed_refund_held_by_a_dispute(env, worker, standin)
    standin.close_dispute(dispute_id, "won")  # its charge.dispute.closed never reaches the service

    await fast_forward(env, refunds, DISPUTE_DECISION_BOUND)
    final = await asyncio.wait_for(refunds.result(), WAIT)
    assert final.dispute is not None and final.dispute.status is DisputeStatus.WON
    assert [r["amount"] for r in standin.refunds(payment_intent=intent_id)] == [2000]
    assert final.blocked_reason is None
    assert "read_dispute" in await scheduled_activities(refunds)


async def test_a_dispute_still_open_after_its_timeline_hands_the_held_refund_to_ops(
    env: WorkflowEnvironment, worker: Worker, standin: StripeStandIn
) -> None:
    session_id, intent_id, dispute_id, refunds = await closed_refund_held_by_a_dispute(env, worker, standin)

    await fast_forward(env, refunds, DISPUTE_DECISION_BOUND)
    final = await asyncio.wait_for(refunds.result(), WAIT)
    assert final.blocked_reason == DISPUTE_OPEN_PAST_BOUND
    assert final.dispute is not None and final.dispute.refund_held_minor == 2000
    assert standin.refunds(payment_intent=intent_id) == []
    # Closed: a close after it is acknowledged for ops (the webhook route logs it), never paid here.
    standin.close_dispute(dispute_id, "won")
    late = fact_of(standin, dispute_id, "charge.dispute.closed")
    assert not await asyncio.wait_for(
        dispute_closed_session(
            env.client,
            session_id,
            late,
            task_queue=worker.task_queue,
            now=final.closes_at + DISPUTE_DECISION_BOUND,
        ),
        WAIT,
    )


async def test_a_dispute_of_a_session_whose_history_is_gone_starts_nothing(
    env: WorkflowEnvironment, worker: Worker, standin: StripeStandIn
) -> None:
    # Retention deleted the closed session's history and no refunds workflow waits for its dispute.
    _, handle, paid = await paid_follow_up(env, worker.task_queue)
    [charge] = standin.charges(payment_intent=paid.payment.payment_intent_id)
    fact = fact_of(standin, standin.open_dispute(charge["id"])["id"], "charge.dispute.created")
    await handle.terminate("test over")
    gone = unique("ses")
    assert not await asyncio.wait_for(
        dispute_closed_session(env.client, gone, fact, task_queue=worker.task_queue, now=real_now()), WAIT
    )
    with pytest.raises(RPCError):
        await env.client.get_workflow_handle(session_refunds_workflow_id(gone)).describe()
