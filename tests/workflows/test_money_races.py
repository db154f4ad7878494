"""Money stays right when things happen at awkward moments: a client paying while a void is on
its way, Stripe refusing a refund (and ops hearing of it: ``sessionflow_money_blocked_total``, the
counter behind SessionMoneyBlockedOnCancelled), a late move before a cancellation, a cancellation
that raced the charge timer, a late cancellation whose charge never came in."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
import stripe
from temporalio.client import WorkflowExecutionStatus, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from dev.stripe_standin import FaultRule, StripeStandIn
from domain.commands import CancelRequest, PaymentMethodUpdate, RescheduleRequest
from domain.session import BLOCKED_MONEY_RETRY
from domain.status import Actor, BookingKind, CancelReason, PaymentStatus, SessionStatus
from settings import Settings
from tests.workflows.support import (
    HOUR,
    WAIT,
    SessionHandle,
    advance_to,
    declined_at_the_charge,
    exporting_client,
    intents_for,
    make_booking,
    paid_at_checkout,
    real_now,
    result_of,
    running_worker,
    start,
    state_of,
    succeeded_charges,
    virtual_now,
    wait_for_state,
)
from workflows.session import SessionWorkflow

SECOND = timedelta(seconds=1)
DAY = timedelta(days=1)
CLIENT = CancelRequest(requested_by=Actor.CLIENT, reason=CancelReason.CLIENT_REQUEST)
THERAPIST = CancelRequest(requested_by=Actor.THERAPIST, reason=CancelReason.THERAPIST_UNAVAILABLE)


@pytest.fixture
def faults(standin: StripeStandIn) -> Iterator[StripeStandIn]:
    yield standin
    standin.clear_faults()


async def cancel(handle: SessionHandle, request: CancelRequest) -> None:
    await asyncio.wait_for(handle.execute_update(SessionWorkflow.cancel, request), WAIT)


async def test_a_client_who_pays_on_session_just_before_a_therapist_cancels_is_refunded(
    env: WorkflowEnvironment, worker: Worker, standin: StripeStandIn
) -> None:
    booking = make_booking(start=real_now() + 72 * HOUR, payment_method="pm_card_authenticationRequired")
    handle = await start(env.client, booking, worker.task_queue)
    await advance_to(env, handle, booking.start - 47 * HOUR)
    waiting = await wait_for_state(handle, lambda s: s.status is SessionStatus.AWAITING_CLIENT_ACTION, "SCA")
    assert waiting.payment.payment_intent_id is not None
    # The client completes 3-D Secure; its webhook has not reached us when the therapist cancels.
    standin.authenticate_on_session(waiting.payment.payment_intent_id)

    await cancel(handle, THERAPIST)

    final = await result_of(handle)
    assert final.status is SessionStatus.CANCELLED_BY_THERAPIST
    assert final.payment.status is PaymentStatus.PAID
    assert final.payment.amount_refunded_minor == 6000
    assert [r["amount"] for r in standin.refunds(payment_intent=waiting.payment.payment_intent_id)] == [6000]


async def test_a_refund_refused_on_a_cancelled_session_is_counted_as_money_blocked(
    env: WorkflowEnvironment,
    task_queue: str,
    faults: StripeStandIn,
    stripe_client: stripe.StripeClient,
    settings: Settings,
) -> None:
    client, address = await exporting_client(env)
    intent_id = await paid_at_checkout(stripe_client)
    booking = make_booking(
        BookingKind.INITIAL_PREPAID, start=real_now() + 72 * HOUR, prepaid_payment_intent_id=intent_id
    )
    faults.add_fault(FaultRule(kind="invalid_request_400", method="POST", path=r"^/v1/refunds$", times=1))
    async with running_worker(client, task_queue, stripe_client, settings):
        handle = await start(client, booking, task_queue)
        await cancel(handle, THERAPIST)
        await wait_for_state(handle, lambda s: s.payment.blocked_reason is not None, "the refusal")

        async with httpx.AsyncClient(timeout=WAIT) as http:
            scraped = (await http.get(f"http://{address}/metrics")).text
        blocked = "sessionflow_money_blocked_total{"
        counted = [line for line in scraped.splitlines() if line.startswith(blocked)]
        assert len(counted) == 1, scraped
        assert 'operation="refund"' in counted[0] and 'session_status="cancelled_by_therapist"' in counted[0]
        assert 'workflow_type="SessionWorkflow"' in counted[0]
        assert counted[0].endswith(" 1")
        # A metric, not a command: recorded histories that refused a refund replay unchanged
        # (tests/workflows/test_replay.py).
        await handle.terminate("test over")


async def test_a_refund_stripe_refuses_keeps_the_session_open_and_is_retried(
    env: WorkflowEnvironment, worker: Worker, faults: StripeStandIn, stripe_client: stripe.StripeClient
) -> None:
    intent_id = await paid_at_checkout(stripe_client)
    booking = make_booking(
        BookingKind.INITIAL_PREPAID, start=real_now() + 72 * HOUR, prepaid_payment_intent_id=intent_id
    )
    handle = await start(env.client, booking, worker.task_queue)
    faults.add_fault(FaultRule(kind="invalid_request_400", method="POST", path=r"^/v1/refunds$", times=1))

    await cancel(handle, THERAPIST)

    blocked = await wait_for_state(handle, lambda s: s.payment.blocked_reason is not None, "the refusal")
    assert blocked.payment.blocked_reason == "refund: InvalidRequestError"
    assert blocked.payment.amount_refunded_minor == 0
    assert (await handle.describe()).status is WorkflowExecutionStatus.RUNNING
    assert faults.refunds(payment_intent=intent_id) == []
    await advance_to(env, handle, await virtual_now(env, handle) + BLOCKED_MONEY_RETRY + SECOND)
    final = await result_of(handle)
    assert final.payment.amount_refunded_minor == 6000 and final.payment.blocked_reason is None
    assert [r["amount"] for r in faults.refunds(payment_intent=intent_id)] == [6000]
    assert [r.number for r in final.payment.refunds] == [2]  # a new key for the new request


async def test_a_refund_never_exceeds_what_checkout_captured(
    env: WorkflowEnvironment, worker: Worker, standin: StripeStandIn, stripe_client: stripe.StripeClient
) -> None:
    checkout = await stripe_client.v1.payment_intents.create_async(
        {
            "amount": 5000,
            "currency": "gbp",
            "payment_method": "pm_card_visa",
            "confirm": True,
            "automatic_payment_methods": {"enabled": True, "allow_redirects": "never"},
        }
    )
    booking = make_booking(
        BookingKind.INITIAL_PREPAID, start=real_now() + 72 * HOUR, prepaid_payment_intent_id=checkout.id
    )  # the booking says 6000
    handle = await start(env.client, booking, worker.task_queue)

    await cancel(handle, CLIENT)

    final = await result_of(handle)
    assert final.payment.amount_refunded_minor == 5000
    assert [r["amount"] for r in standin.refunds(payment_intent=checkout.id)] == [5000]


async def test_moving_a_session_late_then_cancelling_does_not_make_the_cancellation_free(
    env: WorkflowEnvironment, worker: Worker, standin: StripeStandIn, stripe_client: stripe.StripeClient
) -> None:
    intent_id = await paid_at_checkout(stripe_client)
    booking = make_booking(
        BookingKind.INITIAL_PREPAID, start=real_now() + 20 * HOUR, prepaid_payment_intent_id=intent_id
    )
    handle = await start(env.client, booking, worker.task_queue)
    moved = RescheduleRequest(requested_by=Actor.CLIENT, new_start=booking.start + 7 * DAY)
    await asyncio.wait_for(handle.execute_update(SessionWorkflow.reschedule, moved), WAIT)

    result = await asyncio.wait_for(handle.execute_update(SessionWorkflow.cancel, CLIENT), WAIT)

    assert result.status is SessionStatus.CANCELLED_LATE and result.charge_kept and result.refund_minor == 0
    final = await result_of(handle)
    assert final.payment.amount_refunded_minor == 0
    assert standin.refunds(payment_intent=intent_id) == []


async def test_a_cancellation_received_before_the_deadline_is_free_even_if_processed_after_it(
    env: WorkflowEnvironment, worker: Worker, standin: StripeStandIn
) -> None:
    booking = make_booking(start=real_now() + 72 * HOUR)
    handle = await start(env.client, booking, worker.task_queue)
    deadline = booking.start - 48 * HOUR
    # Our API received the cancellation a second before the deadline; the workflow only gets to
    # it after the charge timer has fired and the card has been charged.
    await advance_to(env, handle, deadline + 2 * SECOND)
    await wait_for_state(handle, lambda s: s.status is SessionStatus.PAID, "the charge")

    request = CLIENT.model_copy(update={"received_at": deadline - SECOND})
    result = await asyncio.wait_for(handle.execute_update(SessionWorkflow.cancel, request), WAIT)

    assert result.status is SessionStatus.CANCELLED_FREE and result.refund_minor == 6000
    final = await result_of(handle)
    assert final.payment.amount_refunded_minor == 6000
    [intent] = intents_for(standin, booking.session_id)
    assert [r["amount"] for r in standin.refunds(payment_intent=intent["id"])] == [6000]


async def test_a_receipt_stamp_far_in_the_past_is_not_trusted(
    env: WorkflowEnvironment, worker: Worker
) -> None:
    booking = make_booking(start=real_now() + 72 * HOUR)
    handle = await start(env.client, booking, worker.task_queue)
    await advance_to(env, handle, booking.start - 30 * HOUR)
    await wait_for_state(handle, lambda s: s.status is SessionStatus.PAID, "the charge")

    request = CLIENT.model_copy(update={"received_at": booking.start - 50 * HOUR})
    result = await asyncio.wait_for(handle.execute_update(SessionWorkflow.cancel, request), WAIT)

    assert result.status is SessionStatus.CANCELLED_LATE


async def test_a_late_cancellation_whose_charge_never_came_in_voids_the_open_payment(
    env: WorkflowEnvironment, worker: Worker, standin: StripeStandIn
) -> None:
    booking, handle, _ = await declined_at_the_charge(
        env, worker.task_queue, "pm_card_chargeDeclinedInsufficientFunds"
    )
    await cancel(handle, CLIENT)  # late: the charge stands and is still collected

    for offset in (24, 12):
        await advance_to(env, handle, booking.start - offset * HOUR + SECOND)
    await advance_to(env, handle, booking.start - HOUR + SECOND)

    final = await result_of(handle)
    assert final.status is SessionStatus.CANCELLED_LATE
    assert final.payment.status is PaymentStatus.VOIDED
    assert len(final.payment.attempts) == 3
    [intent] = intents_for(standin, booking.session_id)
    assert intent["status"] == "canceled"
    assert succeeded_charges(standin, booking.session_id) == []


async def test_a_declined_session_moved_into_the_window_is_charged_at_once(
    env: WorkflowEnvironment, worker: Worker, standin: StripeStandIn
) -> None:
    booking, handle, _ = await declined_at_the_charge(
        env, worker.task_queue, "pm_card_chargeDeclinedInsufficientFunds"
    )
    assert booking.payment_method_id is not None
    standin.set_payment_method_behaviour(booking.payment_method_id, "visa")

    now = await virtual_now(env, handle)
    moved = RescheduleRequest(requested_by=Actor.THERAPIST, new_start=now + 5 * HOUR)
    result = await asyncio.wait_for(handle.execute_update(SessionWorkflow.reschedule, moved), WAIT)

    assert result.next_charge_at is not None and result.next_charge_at <= now + 5 * SECOND
    paid = await wait_for_state(handle, lambda s: s.status is SessionStatus.PAID, "the charge at once")
    assert len(paid.payment.attempts) == 2
    assert len(succeeded_charges(standin, booking.session_id)) == 1
    assert (await state_of(handle)).start == now + 5 * HOUR


async def test_the_same_declined_card_given_again_is_not_retried_off_schedule(
    env: WorkflowEnvironment, worker: Worker, standin: StripeStandIn
) -> None:
    booking, handle, _ = await declined_at_the_charge(
        env, worker.task_queue, "pm_card_chargeDeclinedInsufficientFunds"
    )
    assert booking.payment_method_id is not None

    same = PaymentMethodUpdate(payment_method_id=booking.payment_method_id)
    result = await asyncio.wait_for(handle.execute_update(SessionWorkflow.update_payment_method, same), WAIT)

    assert not result.retrying_now
    state = await state_of(handle)
    assert len(state.payment.attempts) == 1 and state.payment.next_charge_at == booking.start - 24 * HOUR


async def test_a_receipt_stamp_cannot_reopen_a_session_that_has_started(
    env: WorkflowEnvironment, worker: Worker, standin: StripeStandIn, stripe_client: stripe.StripeClient
) -> None:
    intent_id = await paid_at_checkout(stripe_client)
    booking = make_booking(
        BookingKind.INITIAL_PREPAID, start=real_now() + 72 * HOUR, prepaid_payment_intent_id=intent_id
    )
    handle = await start(env.client, booking, worker.task_queue)
    await advance_to(env, handle, booking.start + 60 * SECOND)

    stamped_before_start = THERAPIST.model_copy(update={"received_at": booking.start - SECOND})
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await cancel(handle, stamped_before_start)

    assert isinstance(refused.value.cause, ApplicationError) and refused.value.cause.type == "session_started"
    assert standin.refunds(payment_intent=intent_id) == []
