"""Failed charges (README rule 3): soft declines retried at −24 h and −12 h, SCA sent on-session,
hard declines waiting for a new card, auto-cancellation at −1 h; webhook facts deduplicated."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from dev.stripe_standin import StripeStandIn
from domain.commands import PaymentMethodUpdate
from domain.payments import ChargeOutcome, PaymentEvent, payment_event_from_stripe
from domain.state import SessionState
from domain.status import DeclineKind, PaymentStatus, SessionStatus
from tests.workflows.support import (
    HOUR,
    WAIT,
    advance_to,
    declined_at_the_charge,
    event_types,
    intents_for,
    make_booking,
    real_now,
    result_of,
    start,
    state_of,
    succeeded_charges,
    unique,
    wait_for_state,
)
from workflows.session import SessionWorkflow

SECOND = timedelta(seconds=1)


def made_attempts(count: int) -> Callable[[SessionState], bool]:
    return lambda state: len(state.payment.attempts) == count


def webhook_fact(standin: StripeStandIn, event_type: str, intent_id: str) -> PaymentEvent:
    [event] = [
        e
        for e in standin.events(type=event_type)
        if (e["data"]["object"].get("payment_intent") or e["data"]["object"]["id"]) == intent_id
    ]
    mapped = payment_event_from_stripe(event)
    assert mapped is not None
    return mapped[1]


async def test_soft_decline_is_retried_at_minus_24h_and_succeeds(
    env: WorkflowEnvironment, worker: Worker, standin: StripeStandIn
) -> None:
    booking, handle, failed = await declined_at_the_charge(
        env, worker.task_queue, "pm_card_chargeDeclinedInsufficientFunds"
    )

    [attempt] = failed.payment.attempts
    assert attempt.decline_kind is DeclineKind.SOFT and attempt.decline_code == "insufficient_funds"
    assert failed.payment.next_charge_at == booking.start - 24 * HOUR
    assert booking.payment_method_id is not None
    standin.set_payment_method_behaviour(booking.payment_method_id, "visa")  # funds arrive
    await advance_to(env, handle, booking.start - 24 * HOUR - 60 * SECOND)
    assert len((await state_of(handle)).payment.attempts) == 1
    await advance_to(env, handle, booking.start - 24 * HOUR + SECOND)
    paid = await wait_for_state(handle, lambda s: s.status is SessionStatus.PAID, "the retry")

    assert [a.outcome for a in paid.payment.attempts] == [ChargeOutcome.DECLINED, ChargeOutcome.SUCCEEDED]
    assert booking.start - 24 * HOUR <= paid.payment.attempts[1].at <= booking.start - 24 * HOUR + 5 * SECOND
    [intent] = intents_for(standin, booking.session_id)  # one PaymentIntent, re-confirmed
    assert intent["status"] == "succeeded"
    keys = [
        r.idempotency_key
        for r in standin.requests
        if r.idempotency_key and booking.session_id in r.idempotency_key
    ]
    assert (
        f"session:{booking.session_id}:charge:1" in keys and f"session:{booking.session_id}:charge:2" in keys
    )


async def test_three_declines_cancel_the_session_unpaid_at_minus_1h(
    env: WorkflowEnvironment, worker: Worker, standin: StripeStandIn
) -> None:
    booking = make_booking(
        start=real_now() + 72 * HOUR, payment_method="pm_card_chargeDeclinedInsufficientFunds"
    )
    handle = await start(env.client, booking, worker.task_queue)

    for offset, attempts in ((48, 1), (24, 2), (12, 3)):
        await advance_to(env, handle, booking.start - offset * HOUR + SECOND)
        await wait_for_state(handle, made_attempts(attempts), f"attempt {attempts}")
    before = await state_of(handle)
    assert before.status is SessionStatus.PAYMENT_FAILED and before.payment.next_charge_at is None
    await advance_to(env, handle, booking.start - HOUR - 60 * SECOND)
    assert (await state_of(handle)).status is SessionStatus.PAYMENT_FAILED
    await advance_to(env, handle, booking.start - HOUR + SECOND)

    final = await result_of(handle)
    assert final.status is SessionStatus.CANCELLED_UNPAID
    assert final.payment.status is PaymentStatus.VOIDED
    assert all(a.outcome is ChargeOutcome.DECLINED for a in final.payment.attempts)
    for attempt, offset in zip(final.payment.attempts, (48, 24, 12), strict=True):
        assert booking.start - offset * HOUR <= attempt.at <= booking.start - offset * HOUR + 5 * SECOND
    [intent] = intents_for(standin, booking.session_id)
    assert intent["status"] == "canceled"
    assert succeeded_charges(standin, booking.session_id) == []


async def test_authentication_required_sends_the_client_on_session_and_the_webhook_settles_it(
    env: WorkflowEnvironment, worker: Worker, standin: StripeStandIn
) -> None:
    booking = make_booking(start=real_now() + 72 * HOUR, payment_method="pm_card_authenticationRequired")
    handle = await start(env.client, booking, worker.task_queue)
    await advance_to(env, handle, booking.start - 48 * HOUR + SECOND)
    waiting = await wait_for_state(
        handle, lambda s: s.status is SessionStatus.AWAITING_CLIENT_ACTION, "the SCA decline"
    )
    intent_id = waiting.payment.payment_intent_id
    assert intent_id is not None
    assert waiting.payment.client_secret is not None and waiting.payment.client_secret.startswith(intent_id)
    assert waiting.payment.next_charge_at is None  # never retried off-session

    standin.authenticate_on_session(intent_id)  # the client pays in the browser
    fact = webhook_fact(standin, "payment_intent.succeeded", intent_id)
    for _ in range(3):  # Stripe delivers at least once: the same event three times
        await handle.signal(SessionWorkflow.payment_event, fact)

    paid = await wait_for_state(handle, lambda s: s.status is SessionStatus.PAID, "the webhook")
    assert paid.payment.client_secret is None
    assert len(paid.payment.attempts) == 1
    assert len(succeeded_charges(standin, booking.session_id)) == 1
    await advance_to(env, handle, booking.start - 24 * HOUR)
    assert len((await state_of(handle)).payment.attempts) == 1


async def test_a_new_card_after_a_hard_decline_is_charged_at_once(
    env: WorkflowEnvironment, worker: Worker, standin: StripeStandIn
) -> None:
    booking, handle, declined = await declined_at_the_charge(
        env, worker.task_queue, "pm_card_chargeDeclinedLostCard"
    )
    assert declined.payment.status is PaymentStatus.DECLINED_HARD
    assert declined.payment.next_charge_at is None  # a lost card is never retried

    result = await asyncio.wait_for(
        handle.execute_update(
            SessionWorkflow.update_payment_method,
            PaymentMethodUpdate(payment_method_id=unique("pm_card_visa")),
        ),
        WAIT,
    )

    assert result.retrying_now
    paid = await wait_for_state(
        handle, lambda s: s.status is SessionStatus.PAID, "the retry with the new card"
    )
    assert len(paid.payment.attempts) == 2
    assert len(intents_for(standin, booking.session_id)) == 1
    assert len(succeeded_charges(standin, booking.session_id)) == 1


async def test_expired_card_is_a_hard_decline(
    env: WorkflowEnvironment, worker: Worker, standin: StripeStandIn
) -> None:
    booking = make_booking(start=real_now() + 30 * HOUR, payment_method="pm_card_chargeDeclinedExpiredCard")
    handle = await start(env.client, booking, worker.task_queue)

    declined = await wait_for_state(handle, lambda s: s.status is SessionStatus.PAYMENT_FAILED, "the decline")

    assert declined.payment.status is PaymentStatus.DECLINED_HARD
    assert declined.payment.attempts[0].code == "expired_card"


async def test_duplicated_and_stale_webhooks_do_not_move_a_session_backwards(
    env: WorkflowEnvironment, worker: Worker, standin: StripeStandIn
) -> None:
    booking = make_booking(start=real_now() + 72 * HOUR)
    handle = await start(env.client, booking, worker.task_queue)
    await advance_to(env, handle, booking.start - 47 * HOUR)
    paid = await wait_for_state(handle, lambda s: s.status is SessionStatus.PAID, "the charge")
    intent_id = paid.payment.payment_intent_id
    assert intent_id is not None

    stale_failure = PaymentEvent(
        event_id=unique("evt"),
        type="payment_intent.payment_failed",
        payment_intent_id=intent_id,
        created=booking.start - 49 * HOUR,
        code="card_declined",
    )
    refunded_twice = PaymentEvent(
        event_id=unique("evt"),
        type="charge.refunded",
        payment_intent_id=intent_id,
        created=booking.start - 46 * HOUR,
        amount_refunded_minor=1000,
    )
    older_refund = refunded_twice.model_copy(update={"event_id": unique("evt"), "amount_refunded_minor": 500})
    for fact in (stale_failure, refunded_twice, refunded_twice, refunded_twice, older_refund):
        await handle.signal(SessionWorkflow.payment_event, fact)

    after = await wait_for_state(handle, lambda s: s.payment.amount_refunded_minor == 1000, "the refund fact")
    assert after.status is SessionStatus.PAID
    assert after.payment.status is PaymentStatus.PAID
    # No-op facts never woke the workflow: only the charge timer and the session-end timer ran.
    assert (await event_types(handle)).count("TIMER_STARTED") == 2


async def test_a_payment_made_on_session_just_before_the_auto_cancel_wins(
    env: WorkflowEnvironment, worker: Worker, standin: StripeStandIn
) -> None:
    """The client completes the on-session payment shortly before start − 1 h and Stripe's webhook
    has not arrived yet: the auto-cancel reads the PaymentIntent first, and the payment wins."""
    booking = make_booking(start=real_now() + 72 * HOUR, payment_method="pm_card_authenticationRequired")
    handle = await start(env.client, booking, worker.task_queue)
    await advance_to(env, handle, booking.start - 48 * HOUR + SECOND)
    waiting = await wait_for_state(
        handle, lambda s: s.status is SessionStatus.AWAITING_CLIENT_ACTION, "the SCA decline"
    )
    assert waiting.payment.payment_intent_id is not None
    standin.authenticate_on_session(waiting.payment.payment_intent_id)  # no webhook (yet)

    await advance_to(env, handle, booking.start - HOUR + SECOND)
    settled = await wait_for_state(
        handle,
        lambda s: s.status in (SessionStatus.PAID, SessionStatus.CANCELLED_UNPAID),
        "the auto-cancel time",
    )

    assert settled.status is SessionStatus.PAID
    assert settled.payment.status is PaymentStatus.PAID
    assert settled.payment.refunds == [] and settled.payment.refund_requests == 0
    assert len(succeeded_charges(standin, booking.session_id)) == 1
