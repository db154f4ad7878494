"""Present or absent (README rule 11): the client's own booking and the retry their new card causes
are charged on-session — the bank's 3-D Secure request goes back to the client, whose browser
completes it, and the webhook settles the session — while every scheduled charge stays off-session."""

from __future__ import annotations

import asyncio

from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from dev.stripe_standin import StripeStandIn
from domain.commands import PaymentMethodUpdate
from domain.presence import ChargeAnswerRequest
from domain.status import BookingKind, PaymentStatus, SessionStatus
from tests.workflows.support import (
    HOUR,
    WAIT,
    charge_requests,
    declined_at_the_charge,
    intents_for,
    make_booking,
    real_now,
    start,
    succeeded_charges,
    unique,
    wait_for_state,
)
from tests.workflows.test_payment_failures import webhook_fact
from workflows.session import SessionWorkflow


async def test_a_client_booking_is_charged_on_session_and_its_answer_waited_for_a_bounded_time(
    env: WorkflowEnvironment, worker: Worker, standin: StripeStandIn
) -> None:
    booking = make_booking(
        BookingKind.CLIENT_FOLLOW_UP,
        start=real_now() + 10 * 24 * HOUR,
        payment_method="pm_card_authenticationRequired",
    )
    handle = await start(env.client, booking, worker.task_queue)

    answer = await asyncio.wait_for(
        handle.execute_update(SessionWorkflow.charge_answer, ChargeAnswerRequest()), WAIT
    )

    assert answer.answered and answer.status is SessionStatus.AWAITING_CLIENT_ACTION
    [intent] = intents_for(standin, booking.session_id)
    assert intent["status"] == "requires_action"  # not declined: the client can authenticate now
    assert answer.payment_intent_client_secret == intent["client_secret"]
    [create] = charge_requests(standin, booking.session_id, intent["id"])
    assert "off_session" not in create

    standin.authenticate_on_session(intent["id"])  # the client's browser: handleNextAction
    await handle.signal(
        SessionWorkflow.payment_event, webhook_fact(standin, "payment_intent.succeeded", intent["id"])
    )
    paid = await wait_for_state(handle, lambda s: s.status is SessionStatus.PAID, "the webhook")
    assert paid.payment.attempts[0].on_session and paid.payment.client_secret is None
    assert len(succeeded_charges(standin, booking.session_id)) == 1


async def test_a_client_entering_a_new_card_after_a_decline_authenticates_in_their_browser(
    env: WorkflowEnvironment, worker: Worker, standin: StripeStandIn
) -> None:
    booking, handle, declined = await declined_at_the_charge(
        env, worker.task_queue, "pm_card_chargeDeclinedLostCard"
    )
    intent_id = declined.payment.payment_intent_id
    assert intent_id is not None and not declined.payment.attempts[0].on_session

    result = await asyncio.wait_for(
        handle.execute_update(
            SessionWorkflow.update_payment_method,
            PaymentMethodUpdate(payment_method_id=unique("pm_card_authenticationRequired")),
        ),
        WAIT,
    )
    assert result.retrying_now
    answer = await asyncio.wait_for(
        handle.execute_update(SessionWorkflow.charge_answer, ChargeAnswerRequest()), WAIT
    )

    assert answer.status is SessionStatus.AWAITING_CLIENT_ACTION
    assert answer.payment_status is PaymentStatus.REQUIRES_ACTION
    assert answer.payment_intent_client_secret is not None
    assert answer.payment_intent_client_secret.startswith(f"{intent_id}_secret_")  # the same intent
    [first, retry] = charge_requests(standin, booking.session_id, intent_id)
    assert first["off_session"] is True and "off_session" not in retry

    standin.authenticate_on_session(intent_id)
    await handle.signal(
        SessionWorkflow.payment_event, webhook_fact(standin, "payment_intent.succeeded", intent_id)
    )
    paid = await wait_for_state(handle, lambda s: s.status is SessionStatus.PAID, "the webhook")
    assert [a.on_session for a in paid.payment.attempts] == [False, True]
    assert len(succeeded_charges(standin, booking.session_id)) == 1
