"""Sessions charged on the therapist's connected account (issue 14): a direct charge with the
marketplace's commission as the application fee, and refunds there that return the commission or
keep it, per the rule (``domain.commission``). Real Temporal, the real stripe client, the stand-in."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import stripe
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from contract.ids import session_refunds_workflow_id
from contract.practice import PRACTICE_SET_PAYMENT_ACCOUNT
from contract.refunds import SESSION_REFUNDS_STATE
from dev.stripe_standin import StripeStandIn
from domain.attendance import AttendanceOutcome, AttendanceUpdate, ContinueChoice
from domain.booking import SessionBooking
from domain.commands import CancelRequest
from domain.commission import CommissionRates
from domain.practice import SetPaymentAccount
from domain.refunds import ClosedSessionRefunds, SessionRefund
from domain.state import SessionState
from domain.status import Actor, BookingKind, CancelReason, RefundReason, SessionStatus
from temporal_client.practice_client import practice_update
from temporal_client.refunds_client import refund_session
from temporal_client.session_client import book_session, session_handle
from tests.workflows.support import (
    HOUR,
    TEST_POLICY,
    WAIT,
    SessionHandle,
    advance_to,
    intents_for,
    make_booking,
    real_now,
    result_of,
    start,
    state_of,
    unique,
    wait_for_state,
    wait_for_status,
)
from workflows.session import SessionWorkflow

PRICE = 6000
FOLLOW_UP_FEE = 720  # 10 % commission (600) + 20 % VAT on it (120)
SECOND = timedelta(seconds=1)


def on_account(standin: StripeStandIn, kind: BookingKind = BookingKind.THERAPIST_FOLLOW_UP) -> SessionBooking:
    account = str(standin.create_account()["id"])
    return make_booking(kind, start=real_now() + 72 * HOUR, connected_account_id=account)


async def paid_on_account(
    env: WorkflowEnvironment, worker: Worker, booking: SessionBooking
) -> tuple[SessionHandle, SessionState]:
    handle = await start(env.client, booking, worker.task_queue)
    if booking.kind is BookingKind.THERAPIST_FOLLOW_UP:
        await advance_to(env, handle, booking.start - 48 * HOUR + SECOND)
    paid = await wait_for_state(handle, lambda s: s.status is SessionStatus.PAID, "the charge")
    return handle, paid


def the_intent(standin: StripeStandIn, booking: SessionBooking) -> dict[str, Any]:
    [intent] = intents_for(standin, booking.session_id)
    return intent


async def fee_returned(
    stripe_client: stripe.StripeClient, standin: StripeStandIn, booking: SessionBooking
) -> int:
    """What the platform's ApplicationFee of the session's charge says is back with the therapist."""
    intent = the_intent(standin, booking)
    [charge] = standin.charges(payment_intent=intent["id"], account=booking.connected_account_id)
    fee = await asyncio.wait_for(
        stripe_client.v1.application_fees.retrieve_async(charge["application_fee"]), WAIT
    )
    assert fee.amount == FOLLOW_UP_FEE
    return fee.amount_refunded


async def settled_refunds(
    handle: WorkflowHandle[Any, Any], predicate: Callable[[ClosedSessionRefunds], bool]
) -> ClosedSessionRefunds:
    """The closed session's refunds workflow once ``predicate`` holds (its refund is paid by its
    own loop after the grant is answered); bounded like every wait."""

    async def poll() -> ClosedSessionRefunds:
        while True:
            state: ClosedSessionRefunds = await handle.query(
                SESSION_REFUNDS_STATE.name, result_type=ClosedSessionRefunds
            )
            if predicate(state):
                return state
            await asyncio.sleep(0.05)

    return await asyncio.wait_for(poll(), WAIT)


async def cancel(handle: SessionHandle, by: Actor) -> None:
    reason = CancelReason.THERAPIST_UNAVAILABLE if by is Actor.THERAPIST else CancelReason.CLIENT_REQUEST
    request = CancelRequest(requested_by=by, reason=reason)
    await asyncio.wait_for(handle.execute_update(SessionWorkflow.cancel, request), WAIT)


async def test_a_follow_up_is_charged_on_the_therapists_account_with_the_commission_as_its_fee(
    env: WorkflowEnvironment, worker: Worker, standin: StripeStandIn
) -> None:
    booking = on_account(standin)

    _, paid = await paid_on_account(env, worker, booking)

    intent = the_intent(standin, booking)
    assert standin.account_of(intent["id"]) == booking.connected_account_id
    assert (intent["amount"], intent["application_fee_amount"], intent["status"]) == (
        PRICE,
        FOLLOW_UP_FEE,
        "succeeded",
    )
    assert paid.payment.connected_account_id == booking.connected_account_id
    assert paid.payment.application_fee_minor == FOLLOW_UP_FEE
    assert paid.payment.application_fee_refunded_minor == 0


async def test_a_therapists_cancellation_refunds_the_client_in_full_and_returns_the_commission(
    env: WorkflowEnvironment, worker: Worker, standin: StripeStandIn, stripe_client: stripe.StripeClient
) -> None:
    booking = on_account(standin)
    handle, _ = await paid_on_account(env, worker, booking)

    await cancel(handle, Actor.THERAPIST)

    final = await result_of(handle)
    assert final.status is SessionStatus.CANCELLED_BY_THERAPIST
    assert final.payment.amount_refunded_minor == PRICE
    assert final.payment.application_fee_refunded_minor == FOLLOW_UP_FEE
    [refund] = standin.refunds(
        payment_intent=the_intent(standin, booking)["id"], account=booking.connected_account_id
    )
    assert refund["amount"] == PRICE
    assert await fee_returned(stripe_client, standin, booking) == FOLLOW_UP_FEE


async def test_a_clients_free_cancellation_after_payment_refunds_in_full_and_returns_the_commission(
    env: WorkflowEnvironment, worker: Worker, standin: StripeStandIn, stripe_client: stripe.StripeClient
) -> None:
    booking = on_account(standin, BookingKind.CLIENT_FOLLOW_UP)  # charged at once, 72 h ahead
    handle, _ = await paid_on_account(env, worker, booking)

    await cancel(handle, Actor.CLIENT)

    final = await result_of(handle)
    assert final.status is SessionStatus.CANCELLED_FREE
    assert final.payment.amount_refunded_minor == PRICE
    assert final.payment.application_fee_refunded_minor == FOLLOW_UP_FEE
    assert await fee_returned(stripe_client, standin, booking) == FOLLOW_UP_FEE


async def test_a_discretionary_refund_keeps_the_commission_by_default(
    env: WorkflowEnvironment, worker: Worker, standin: StripeStandIn, stripe_client: stripe.StripeClient
) -> None:
    booking = on_account(standin)
    handle, _ = await paid_on_account(env, worker, booking)

    granted = SessionRefund(reason=RefundReason.GOODWILL, amount_minor=2000)
    await asyncio.wait_for(handle.execute_update(SessionWorkflow.refund, granted), WAIT)

    state = await wait_for_state(handle, lambda s: s.payment.amount_refunded_minor == 2000, "the refund")
    assert state.status is SessionStatus.PAID  # the session still takes place
    assert state.payment.application_fee_refunded_minor == 0
    [refund] = standin.refunds(
        payment_intent=the_intent(standin, booking)["id"], account=booking.connected_account_id
    )
    assert refund["amount"] == 2000
    assert await fee_returned(stripe_client, standin, booking) == 0


async def test_a_refund_after_the_session_closed_is_made_on_the_account_and_keeps_the_commission(
    env: WorkflowEnvironment, worker: Worker, standin: StripeStandIn, stripe_client: stripe.StripeClient
) -> None:
    booking = on_account(standin)
    handle, _ = await paid_on_account(env, worker, booking)
    await advance_to(env, handle, booking.end + SECOND)
    await wait_for_status(env, handle, SessionStatus.AWAITING_UPDATE, "the session's end")
    attended = AttendanceUpdate(outcome=AttendanceOutcome.ATTENDED)
    await asyncio.wait_for(handle.execute_update(SessionWorkflow.file_attendance, attended), WAIT)
    closed = await result_of(handle)
    assert closed.payment.connected_account_id == booking.connected_account_id

    granted = await asyncio.wait_for(
        refund_session(
            env.client,
            booking.session_id,
            SessionRefund(reason=RefundReason.GOODWILL, amount_minor=1500),
            request_id="after-close-1",
            task_queue=worker.task_queue,
            now=real_now(),
        ),
        WAIT,
    )

    assert granted.amount_minor == 1500
    refunds = env.client.get_workflow_handle(session_refunds_workflow_id(booking.session_id))
    refunded = await settled_refunds(refunds, lambda s: s.payment.amount_refunded_minor == 1500)
    assert refunded.payment.connected_account_id == booking.connected_account_id
    assert refunded.payment.application_fee_refunded_minor == 0
    intent = the_intent(standin, booking)
    [refund] = standin.refunds(payment_intent=intent["id"], account=booking.connected_account_id)
    assert refund["amount"] == 1500
    assert await fee_returned(stripe_client, standin, booking) == 0


async def test_the_commission_is_the_one_in_force_when_the_session_was_booked(
    env: WorkflowEnvironment, worker: Worker, standin: StripeStandIn
) -> None:
    booking = on_account(standin)
    rates = CommissionRates(follow_up_bp=1_500, vat_bp=0)
    handle = await book_session(
        env.client,
        booking,
        task_queue=worker.task_queue,
        now=real_now(),
        policy=TEST_POLICY,
        commission=rates,
    )
    await advance_to(env, handle, booking.start - 48 * HOUR + SECOND)

    paid = await wait_for_state(handle, lambda s: s.status is SessionStatus.PAID, "the charge")

    assert the_intent(standin, booking)["application_fee_amount"] == 900
    assert paid.payment.commission == rates and paid.payment.application_fee_minor == 900


async def test_a_therapists_follow_up_is_booked_on_the_practices_current_account(
    env: WorkflowEnvironment, worker: Worker, standin: StripeStandIn
) -> None:
    # A chain booked before the therapist connected (charged on the platform): the attendance
    # update's time claim answers with the account the practice holds now, and the follow-up is
    # booked there.
    booking = make_booking(start=real_now() + 72 * HOUR)
    handle = await start(env.client, booking, worker.task_queue)
    await advance_to(env, handle, booking.start - 47 * HOUR)
    paid = await wait_for_state(handle, lambda s: s.status is SessionStatus.PAID, "the charge")
    assert paid.payment.connected_account_id is None  # booked before the therapist connected
    account_id = str(standin.create_account()["id"])
    await asyncio.wait_for(
        practice_update(
            env.client,
            booking.therapist_id,
            booking.therapist_timezone,
            PRACTICE_SET_PAYMENT_ACCOUNT,
            SetPaymentAccount(account_id=account_id),
            request_id=unique("set"),
            task_queue=worker.task_queue,
        ),
        WAIT,
    )
    await advance_to(env, handle, booking.end + SECOND)
    await wait_for_status(env, handle, SessionStatus.AWAITING_UPDATE, "the session's end")

    update = AttendanceUpdate(
        outcome=AttendanceOutcome.ATTENDED, continue_sessions=ContinueChoice.SAME_TIME, client_agreed=True
    )
    result = await asyncio.wait_for(handle.execute_update(SessionWorkflow.file_attendance, update), WAIT)

    assert result.follow_up_session_id is not None
    booked = await state_of(session_handle(env.client, result.follow_up_session_id))
    assert booked.payment.connected_account_id == account_id
    assert booked.payment.application_fee_minor == FOLLOW_UP_FEE


async def test_a_therapists_cancellation_after_a_part_refund_returns_the_whole_commission(
    env: WorkflowEnvironment, worker: Worker, standin: StripeStandIn, stripe_client: stripe.StripeClient
) -> None:
    # The goodwill part kept its fee (discretionary); the therapist's cancellation then refunds the
    # rest, and Stripe would return only that part's proportion of the fee: the platform returns
    # the rest of its fee itself, since the session never took place.
    booking = on_account(standin)
    handle, _ = await paid_on_account(env, worker, booking)
    granted = SessionRefund(reason=RefundReason.GOODWILL, amount_minor=2000)
    await asyncio.wait_for(handle.execute_update(SessionWorkflow.refund, granted), WAIT)
    await wait_for_state(handle, lambda s: s.payment.amount_refunded_minor == 2000, "the part refund")

    await cancel(handle, Actor.THERAPIST)

    final = await result_of(handle)
    assert final.status is SessionStatus.CANCELLED_BY_THERAPIST
    assert final.payment.amount_refunded_minor == PRICE
    assert final.payment.application_fee_refunded_minor == FOLLOW_UP_FEE
    assert await fee_returned(stripe_client, standin, booking) == FOLLOW_UP_FEE
