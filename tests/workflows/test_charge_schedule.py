"""When a session is charged (README rule 2), on a real dev server with time skipping."""

from __future__ import annotations

from datetime import timedelta

import stripe
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from contract.search_attributes import SESSION_END, SESSION_STATUS, THERAPIST_ID
from dev.stripe_standin import StripeStandIn
from domain.status import BookingKind, PaymentStatus, SessionStatus, status_as_of
from tests.workflows.support import (
    HOUR,
    advance_to,
    intents_for,
    make_booking,
    paid_at_checkout,
    real_now,
    start,
    state_of,
    succeeded_charges,
    virtual_now,
    wait_for_state,
    wait_for_status,
)

SECOND = timedelta(seconds=1)


async def test_therapist_follow_up_is_charged_off_session_at_start_minus_48h(
    env: WorkflowEnvironment, worker: Worker, standin: StripeStandIn
) -> None:
    booking = make_booking(start=real_now() + 72 * HOUR)
    handle = await start(env.client, booking, worker.task_queue)
    charge_at = booking.start - 48 * HOUR

    await advance_to(env, handle, charge_at - 60 * SECOND)
    before = await state_of(handle)
    assert before.status is SessionStatus.SCHEDULED
    assert before.payment.next_charge_at == charge_at
    assert intents_for(standin, booking.session_id) == []

    await advance_to(env, handle, charge_at + 2 * SECOND)
    paid = await wait_for_state(handle, lambda s: s.status is SessionStatus.PAID, "the charge")

    assert len(paid.payment.attempts) == 1
    assert charge_at <= paid.payment.attempts[0].at <= charge_at + 5 * SECOND
    [intent] = intents_for(standin, booking.session_id)
    assert intent["status"] == "succeeded"
    assert intent["amount"] == 6000 and intent["currency"] == "gbp"
    assert intent["customer"] == booking.stripe_customer_id
    assert intent["metadata"] == {"session_id": booking.session_id, "attempt": "1"}
    assert len(succeeded_charges(standin, booking.session_id)) == 1
    [request] = [
        r
        for r in standin.requests
        if r.method == "POST"
        and r.path == "/v1/payment_intents"
        and r.params.get("metadata", {}).get("session_id") == booking.session_id
    ]
    assert request.idempotency_key == f"session:{booking.session_id}:charge:1"
    assert request.params["off_session"] is True and request.params["confirm"] is True


async def test_client_booked_follow_up_is_charged_at_once(
    env: WorkflowEnvironment, worker: Worker, standin: StripeStandIn
) -> None:
    booking = make_booking(BookingKind.CLIENT_FOLLOW_UP, start=real_now() + 10 * 24 * HOUR)
    handle = await start(env.client, booking, worker.task_queue)

    paid = await wait_for_state(handle, lambda s: s.status is SessionStatus.PAID, "the immediate charge")

    assert paid.payment.attempts[0].at < booking.start - 9 * 24 * HOUR
    assert len(succeeded_charges(standin, booking.session_id)) == 1


async def test_therapist_booking_inside_the_window_is_charged_at_once(
    env: WorkflowEnvironment, worker: Worker, standin: StripeStandIn
) -> None:
    booking = make_booking(start=real_now() + 30 * HOUR)
    handle = await start(env.client, booking, worker.task_queue)

    await wait_for_state(handle, lambda s: s.status is SessionStatus.PAID, "the immediate charge")

    assert len(succeeded_charges(standin, booking.session_id)) == 1


async def test_initial_session_paid_at_booking_is_never_charged_again(
    env: WorkflowEnvironment, worker: Worker, standin: StripeStandIn, stripe_client: stripe.StripeClient
) -> None:
    checkout_intent_id = await paid_at_checkout(stripe_client)
    booking = make_booking(
        BookingKind.INITIAL_PREPAID,
        start=real_now() + 72 * HOUR,
        prepaid_payment_intent_id=checkout_intent_id,
    )
    handle = await start(env.client, booking, worker.task_queue)

    await advance_to(env, handle, booking.end + SECOND)
    done = await wait_for_status(env, handle, SessionStatus.AWAITING_UPDATE, "session end")

    assert done.payment.status is PaymentStatus.PAID
    assert done.payment.payment_intent_id == checkout_intent_id
    assert done.payment.attempts == []
    assert intents_for(standin, booking.session_id) == []


async def test_session_awaits_the_attendance_update_after_it_ends(
    env: WorkflowEnvironment, worker: Worker
) -> None:
    booking = make_booking(start=real_now() + 72 * HOUR)
    handle = await start(env.client, booking, worker.task_queue)

    await advance_to(env, handle, booking.start - 48 * HOUR + SECOND)
    await wait_for_state(handle, lambda s: s.status is SessionStatus.PAID, "the charge")
    await advance_to(env, handle, booking.start + 10 * 60 * SECOND)
    assert (await state_of(handle)).status is SessionStatus.PAID  # started, not ended
    await advance_to(env, handle, booking.end + SECOND)

    await wait_for_status(env, handle, SessionStatus.AWAITING_UPDATE, "session end")
    description = await handle.describe()
    # Lists read it from the search attributes: the status and the end (no upsert at the end).
    listed = description.typed_search_attributes
    status, end = listed.get(SESSION_STATUS), listed.get(SESSION_END)
    assert status is not None and end is not None
    now = await virtual_now(env, handle)
    assert status_as_of(SessionStatus(status), end, now) is SessionStatus.AWAITING_UPDATE
    assert description.typed_search_attributes.get(THERAPIST_ID) == booking.therapist_id


async def test_status_search_attribute_lists_sessions_by_status(
    env: WorkflowEnvironment, client: Client, worker: Worker
) -> None:
    booking = make_booking(start=real_now() + 72 * HOUR)
    handle = await start(env.client, booking, worker.task_queue)
    await advance_to(env, handle, booking.start - 48 * HOUR + SECOND)
    await wait_for_state(handle, lambda s: s.status is SessionStatus.PAID, "the charge")

    query = f"TherapistId = '{booking.therapist_id}' AND SessionStatus = 'paid'"
    found = [execution.id async for execution in client.list_workflows(query)]

    assert found == [handle.id]
