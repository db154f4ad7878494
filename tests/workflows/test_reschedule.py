"""Rearrangements (README rule 6): a paid session keeps its payment; an unpaid one's charge
follows the new start; a client's late move keeps the charge."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from contract.search_attributes import SESSION_START
from dev.stripe_standin import StripeStandIn
from domain.commands import RescheduleRequest, RescheduleResult
from domain.status import Actor, SessionStatus
from tests.workflows.support import (
    HOUR,
    WAIT,
    SessionHandle,
    advance_to,
    event_types,
    intents_for,
    make_booking,
    real_now,
    start,
    state_of,
    succeeded_charges,
    wait_for_state,
    wait_for_status,
)
from workflows.session import SessionWorkflow

SECOND = timedelta(seconds=1)
WEEK = timedelta(days=7)


async def move(
    handle: SessionHandle, requested_by: Actor, new_start: datetime, update_id: str | None = None
) -> RescheduleResult:
    request = RescheduleRequest(requested_by=requested_by, new_start=new_start)
    return await asyncio.wait_for(
        handle.execute_update(SessionWorkflow.reschedule, request, id=update_id), WAIT
    )


async def test_a_paid_session_moved_a_week_later_is_never_charged_again(
    env: WorkflowEnvironment, worker: Worker, standin: StripeStandIn
) -> None:
    booking = make_booking(start=real_now() + 72 * HOUR)
    handle = await start(env.client, booking, worker.task_queue)
    await advance_to(env, handle, booking.start - 47 * HOUR)
    await wait_for_state(handle, lambda s: s.status is SessionStatus.PAID, "the charge")
    new_start = booking.start + WEEK

    moved = await move(handle, Actor.THERAPIST, new_start)

    assert moved.payment_carried and moved.status is SessionStatus.PAID and moved.start == new_start
    await advance_to(env, handle, new_start - 47 * HOUR)
    await advance_to(env, handle, new_start + timedelta(hours=1))
    done = await wait_for_status(env, handle, SessionStatus.AWAITING_UPDATE, "the new end")
    assert len(done.payment.attempts) == 1
    assert len(intents_for(standin, booking.session_id)) == 1
    assert len(succeeded_charges(standin, booking.session_id)) == 1
    assert (await handle.describe()).typed_search_attributes.get(SESSION_START) == new_start


async def test_an_unpaid_session_is_charged_48h_before_its_new_start(
    env: WorkflowEnvironment, worker: Worker, standin: StripeStandIn
) -> None:
    booking = make_booking(start=real_now() + 72 * HOUR)
    handle = await start(env.client, booking, worker.task_queue)
    new_start = booking.start + WEEK

    moved = await move(handle, Actor.CLIENT, new_start)

    assert not moved.payment_carried
    assert moved.next_charge_at == new_start - 48 * HOUR
    await advance_to(env, handle, booking.start - 47 * HOUR)
    assert (await state_of(handle)).payment.attempts == []
    assert intents_for(standin, booking.session_id) == []
    await advance_to(env, handle, new_start - 48 * HOUR + SECOND)
    paid = await wait_for_state(handle, lambda s: s.status is SessionStatus.PAID, "the charge")
    assert new_start - 48 * HOUR <= paid.payment.attempts[0].at <= new_start - 48 * HOUR + 5 * SECOND


async def test_moving_an_unpaid_session_into_the_window_charges_at_once(
    env: WorkflowEnvironment, worker: Worker, standin: StripeStandIn
) -> None:
    booking = make_booking(start=real_now() + 100 * HOUR)
    handle = await start(env.client, booking, worker.task_queue)

    await move(handle, Actor.THERAPIST, real_now() + 30 * HOUR)

    await wait_for_state(handle, lambda s: s.status is SessionStatus.PAID, "the immediate charge")
    assert len(succeeded_charges(standin, booking.session_id)) == 1


async def test_a_clients_late_move_keeps_the_charge_that_was_due(
    env: WorkflowEnvironment, worker: Worker, standin: StripeStandIn
) -> None:
    booking = make_booking(start=real_now() + 72 * HOUR)
    handle = await start(env.client, booking, worker.task_queue)
    await advance_to(env, handle, booking.start - 48 * HOUR)

    await move(handle, Actor.CLIENT, booking.start + WEEK)

    paid = await wait_for_state(handle, lambda s: s.status is SessionStatus.PAID, "the charge that stands")
    assert paid.payment.attempts[0].at < booking.start
    assert len(succeeded_charges(standin, booking.session_id)) == 1


async def test_a_move_after_the_start_or_into_the_past_is_rejected_before_history(
    env: WorkflowEnvironment, worker: Worker
) -> None:
    booking = make_booking(start=real_now() + 72 * HOUR)
    handle = await start(env.client, booking, worker.task_queue)

    with pytest.raises(WorkflowUpdateFailedError) as into_past:
        await move(handle, Actor.THERAPIST, real_now() - HOUR)
    await advance_to(env, handle, booking.start + SECOND)
    await wait_for_state(handle, lambda s: s.status is SessionStatus.PAID, "the charge")
    with pytest.raises(WorkflowUpdateFailedError) as after_start:
        await move(handle, Actor.THERAPIST, booking.start + WEEK)

    assert (
        isinstance(into_past.value.cause, ApplicationError) and into_past.value.cause.type == "start_in_past"
    )
    assert isinstance(after_start.value.cause, ApplicationError)
    assert after_start.value.cause.type == "session_started"
    assert "WORKFLOW_EXECUTION_UPDATE_ACCEPTED" not in await event_types(handle)


async def test_a_repeated_request_id_returns_the_first_outcome_and_changes_nothing(
    env: WorkflowEnvironment, worker: Worker
) -> None:
    booking = make_booking(start=real_now() + 100 * HOUR)
    handle = await start(env.client, booking, worker.task_queue)

    first = await move(handle, Actor.THERAPIST, booking.start + WEEK, update_id="req-move-1")
    again = await move(handle, Actor.THERAPIST, booking.start + WEEK, update_id="req-move-1")

    assert again == first
    state = await state_of(handle)
    assert len(state.reschedules) == 1
    assert (await event_types(handle)).count("WORKFLOW_EXECUTION_UPDATE_ACCEPTED") == 1
