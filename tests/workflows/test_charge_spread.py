"""Charge storms (issue 11, hazard 4): sessions start on the hour, so their charges at start − 48 h
fall due together. The API's policy spreads each scheduled charge over a window *after* that
instant, by a stable hash of the session id, and every Stripe call runs on the Stripe task queue,
rate-limited by the server."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from domain.booking import SessionBooking
from domain.policy import DEFAULT_POLICY, charge_spread_offset
from domain.status import SessionStatus
from tests.workflows.support import (
    HOUR,
    WAIT,
    advance_to,
    make_booking,
    real_now,
    start,
    state_of,
    wait_for_state,
)

SECOND = timedelta(seconds=1)


def booking_with_offset_of_at_least(minimum: timedelta) -> tuple[SessionBooking, timedelta]:
    """A booking whose charge falls at least ``minimum`` into the window (ids are random)."""
    start_at = real_now() + 72 * HOUR
    while True:
        booking = make_booking(start=start_at)
        offset = charge_spread_offset(booking.session_id, DEFAULT_POLICY)
        if offset >= minimum:
            return booking, offset


async def test_the_charge_falls_at_the_sessions_offset_after_start_minus_48h_on_the_stripe_queue(
    env: WorkflowEnvironment, worker: Worker
) -> None:
    booking, offset = booking_with_offset_of_at_least(timedelta(minutes=2))
    handle = await start(env.client, booking, worker.task_queue, policy=DEFAULT_POLICY)
    deadline = booking.start - 48 * HOUR

    booked = await state_of(handle)
    assert booked.payment.next_charge_at == deadline + offset
    assert offset < DEFAULT_POLICY.charge_spread_window

    await advance_to(env, handle, deadline + offset - SECOND)  # past start − 48 h, before its offset
    waiting = await state_of(handle)
    assert waiting.status is SessionStatus.SCHEDULED and waiting.payment.attempts == []

    await advance_to(env, handle, deadline + offset + SECOND)
    paid = await wait_for_state(handle, lambda s: s.status is SessionStatus.PAID, "the spread charge")
    assert deadline + offset <= paid.payment.attempts[0].at <= deadline + offset + 5 * SECOND

    history = await asyncio.wait_for(handle.fetch_history(), WAIT)
    queues = {
        event.activity_task_scheduled_event_attributes.activity_type.name: (
            event.activity_task_scheduled_event_attributes.task_queue.name
        )
        for event in history.events
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    }
    # Only Stripe calls leave for the rate-limited queue; the notices run as local activities on the
    # session's own worker (issue 13).
    assert queues == {"charge_session": f"{worker.task_queue}-stripe"}
