"""Cancellations by client, therapist and admin under the 48-hour rule (README rules 1, 4, 5)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
import stripe
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from dev.stripe_standin import StripeStandIn
from domain.booking import SessionBooking
from domain.commands import CancelRequest, CancelResult
from domain.status import Actor, BookingKind, CancelReason, PaymentStatus, SessionStatus
from tests.workflows.support import (
    HOUR,
    WAIT,
    SessionHandle,
    advance_to,
    declined_at_the_charge,
    event_types,
    intents_for,
    make_booking,
    paid_at_checkout,
    real_now,
    result_of,
    scheduled_activities,
    start,
    state_of,
    succeeded_charges,
    wait_for_state,
)
from workflows.session import SessionWorkflow

SECOND = timedelta(seconds=1)
CLIENT_CANCELS = CancelRequest(requested_by=Actor.CLIENT, reason=CancelReason.CLIENT_REQUEST)
THERAPIST_CANCELS = CancelRequest(requested_by=Actor.THERAPIST, reason=CancelReason.THERAPIST_UNAVAILABLE)


async def cancel(handle: SessionHandle, request: CancelRequest, update_id: str | None = None) -> CancelResult:
    return await asyncio.wait_for(handle.execute_update(SessionWorkflow.cancel, request, id=update_id), WAIT)


async def prepaid_session(
    env: WorkflowEnvironment, worker: Worker, stripe_client: stripe.StripeClient, hours_ahead: int
) -> tuple[SessionBooking, str, SessionHandle]:
    checkout_intent_id = await paid_at_checkout(stripe_client)
    booking = make_booking(
        BookingKind.INITIAL_PREPAID,
        start=real_now() + hours_ahead * HOUR,
        prepaid_payment_intent_id=checkout_intent_id,
    )
    return booking, checkout_intent_id, await start(env.client, booking, worker.task_queue)


async def test_cancel_one_second_before_the_deadline_is_free_and_the_charge_never_happens(
    env: WorkflowEnvironment, worker: Worker, standin: StripeStandIn
) -> None:
    booking = make_booking(start=real_now() + 72 * HOUR)
    handle = await start(env.client, booking, worker.task_queue)
    landed = await advance_to(env, handle, booking.start - 48 * HOUR - SECOND)
    assert landed < booking.start - 48 * HOUR

    outcome = await cancel(handle, CLIENT_CANCELS)

    assert outcome.status is SessionStatus.CANCELLED_FREE
    assert outcome.free and not outcome.charge_kept and outcome.refund_minor == 0
    final = await result_of(handle)
    assert final.status is SessionStatus.CANCELLED_FREE
    assert final.payment.attempts == []
    assert intents_for(standin, booking.session_id) == []
    events = await event_types(handle)
    assert "TIMER_CANCELED" in events and "TIMER_FIRED" not in events
    # The booking's two notices (issue 12: follow_up_booked to the client, booking_confirmed to the
    # therapist) in one local activity, the cancellation's two (the therapist told, the client's
    # confirmation) in another (issue 13: a task's notices leave together), and the session's time
    # freed at the practice; no charge.
    assert sorted(await scheduled_activities(handle)) == ["deliver_notifications"] * 2 + [
        "practice_release_time"
    ]


async def test_cancel_at_exactly_the_deadline_is_late_and_the_charge_stands(
    env: WorkflowEnvironment, worker: Worker, standin: StripeStandIn
) -> None:
    booking = make_booking(start=real_now() + 72 * HOUR)
    handle = await start(env.client, booking, worker.task_queue)
    await advance_to(env, handle, booking.start - 48 * HOUR)

    outcome = await cancel(handle, CLIENT_CANCELS)

    assert outcome.status is SessionStatus.CANCELLED_LATE
    assert outcome.charge_kept and not outcome.free and outcome.refund_minor == 0
    final = await result_of(handle)
    assert final.status is SessionStatus.CANCELLED_LATE
    assert final.payment.status is PaymentStatus.PAID
    assert final.payment.refunds == []
    assert len(succeeded_charges(standin, booking.session_id)) == 1
    assert standin.refunds(payment_intent=final.payment.payment_intent_id) == []


async def test_therapist_cancellation_after_the_charge_refunds_in_full(
    env: WorkflowEnvironment, worker: Worker, standin: StripeStandIn
) -> None:
    booking = make_booking(start=real_now() + 72 * HOUR)
    handle = await start(env.client, booking, worker.task_queue)
    await advance_to(env, handle, booking.start - 30 * HOUR)
    paid = await wait_for_state(handle, lambda s: s.status is SessionStatus.PAID, "the charge")

    outcome = await cancel(handle, THERAPIST_CANCELS)

    assert outcome.status is SessionStatus.CANCELLED_BY_THERAPIST
    assert outcome.refund_minor == 6000 and outcome.free
    final = await result_of(handle)
    assert final.payment.amount_refunded_minor == 6000
    assert [r.amount_minor for r in final.payment.refunds] == [6000]
    [refund] = standin.refunds(payment_intent=paid.payment.payment_intent_id)
    assert refund["amount"] == 6000
    assert refund["metadata"] == {"session_id": booking.session_id, "refund": "1"}
    assert final.cancellation is not None
    assert final.cancellation.requested_by is Actor.THERAPIST
    assert final.cancellation.reason is CancelReason.THERAPIST_UNAVAILABLE


async def test_admin_cancellation_is_treated_as_the_therapists_and_refunds(
    env: WorkflowEnvironment, worker: Worker, standin: StripeStandIn, stripe_client: stripe.StripeClient
) -> None:
    _, intent_id, handle = await prepaid_session(env, worker, stripe_client, hours_ahead=5)

    outcome = await cancel(
        handle, CancelRequest(requested_by=Actor.ADMIN, reason=CancelReason.ADMIN_CORRECTION)
    )

    assert outcome.status is SessionStatus.CANCELLED_BY_THERAPIST
    final = await result_of(handle)
    assert final.cancellation is not None and final.cancellation.recorded_by is Actor.ADMIN
    assert [r["amount"] for r in standin.refunds(payment_intent=intent_id)] == [6000]


async def test_client_cancellation_with_notice_refunds_a_prepaid_session_in_full(
    env: WorkflowEnvironment, worker: Worker, standin: StripeStandIn, stripe_client: stripe.StripeClient
) -> None:
    _, intent_id, handle = await prepaid_session(env, worker, stripe_client, hours_ahead=72)

    outcome = await cancel(handle, CLIENT_CANCELS)

    assert outcome.status is SessionStatus.CANCELLED_FREE and outcome.refund_minor == 6000
    final = await result_of(handle)
    assert final.payment.amount_refunded_minor == 6000
    assert [r["amount"] for r in standin.refunds(payment_intent=intent_id)] == [6000]


async def test_late_client_cancellation_of_a_prepaid_session_keeps_the_payment(
    env: WorkflowEnvironment, worker: Worker, standin: StripeStandIn, stripe_client: stripe.StripeClient
) -> None:
    _, intent_id, handle = await prepaid_session(env, worker, stripe_client, hours_ahead=47)

    outcome = await cancel(handle, CLIENT_CANCELS)

    assert outcome.status is SessionStatus.CANCELLED_LATE and outcome.charge_kept
    final = await result_of(handle)
    assert final.payment.amount_refunded_minor == 0
    assert standin.refunds(payment_intent=intent_id) == []


async def test_therapist_may_grant_a_discretionary_refund_on_a_late_cancellation(
    env: WorkflowEnvironment, worker: Worker, standin: StripeStandIn, stripe_client: stripe.StripeClient
) -> None:
    _, intent_id, handle = await prepaid_session(env, worker, stripe_client, hours_ahead=20)

    outcome = await cancel(
        handle,
        CancelRequest(
            requested_by=Actor.CLIENT,
            reason=CancelReason.ILLNESS,
            submitted_by=Actor.THERAPIST,
            discretionary_refund=True,
        ),
    )

    assert outcome.status is SessionStatus.CANCELLED_LATE
    assert outcome.refund_minor == 6000 and not outcome.charge_kept
    await result_of(handle)
    assert [r["amount"] for r in standin.refunds(payment_intent=intent_id)] == [6000]


async def test_therapist_cancellation_voids_a_pending_declined_payment(
    env: WorkflowEnvironment, worker: Worker, standin: StripeStandIn
) -> None:
    booking, handle, _ = await declined_at_the_charge(
        env, worker.task_queue, "pm_card_chargeDeclinedInsufficientFunds"
    )

    await cancel(handle, THERAPIST_CANCELS)

    final = await result_of(handle)
    assert final.payment.status is PaymentStatus.VOIDED
    [intent] = intents_for(standin, booking.session_id)
    assert intent["status"] == "canceled"
    assert succeeded_charges(standin, booking.session_id) == []


async def test_cancellation_after_the_start_is_rejected_and_never_enters_history(
    env: WorkflowEnvironment, worker: Worker
) -> None:
    booking = make_booking(start=real_now() + 72 * HOUR)
    handle = await start(env.client, booking, worker.task_queue)
    await advance_to(env, handle, booking.start + SECOND)
    await wait_for_state(handle, lambda s: s.status is SessionStatus.PAID, "the charge")

    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await cancel(handle, CLIENT_CANCELS)

    cause = refused.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "session_started"
    assert "has started" in cause.message
    assert (await state_of(handle)).status is SessionStatus.PAID
    assert "WORKFLOW_EXECUTION_UPDATE_ACCEPTED" not in await event_types(handle)


async def test_late_cancellation_of_a_declined_session_still_collects_and_refuses_a_second_cancel(
    env: WorkflowEnvironment, worker: Worker, standin: StripeStandIn
) -> None:
    booking, handle, _ = await declined_at_the_charge(
        env, worker.task_queue, "pm_card_chargeDeclinedInsufficientFunds"
    )
    await cancel(handle, CLIENT_CANCELS)

    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await cancel(handle, THERAPIST_CANCELS)

    assert isinstance(refused.value.cause, ApplicationError)
    assert refused.value.cause.type == "session_cancelled"
    # The late charge stands: the retry at start - 24 h still collects it.
    assert booking.payment_method_id is not None
    standin.set_payment_method_behaviour(booking.payment_method_id, "visa")
    await advance_to(env, handle, booking.start - 24 * HOUR + SECOND)
    final = await result_of(handle)
    assert final.status is SessionStatus.CANCELLED_LATE
    assert final.payment.status is PaymentStatus.PAID
    assert len(succeeded_charges(standin, booking.session_id)) == 1
