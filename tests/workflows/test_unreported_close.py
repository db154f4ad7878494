"""A session whose attendance update never comes closes as ``unreported`` at its policy's deadline
(``domain.unreported``; end + 30 days by default), on a real server with time skipping. The exact
boundary (an update received a microsecond before the deadline is in time, at it late) is pinned at
unit speed in ``tests/unit/test_unreported.py``; here the session's own clock and timer do it."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from contract.search_attributes import SESSION_STATUS
from dev.notification_sink import NotificationSink
from domain.attendance import AttendanceOutcome, AttendanceUpdate
from domain.notifications import NotificationType
from domain.status import PaymentStatus, SessionStatus
from tests.workflows.support import (
    HOUR,
    WAIT,
    advance_to,
    event_types,
    paid_follow_up,
    result_of,
    virtual_now,
    wait_for_state,
    wait_for_status,
)
from workflows.session import SessionWorkflow

SECOND = timedelta(seconds=1)
DAY = 24 * HOUR
DEADLINE = 30 * DAY  # TEST_POLICY's, the API's default


async def test_a_session_whose_attendance_update_never_comes_closes_unreported_with_its_charge(
    env: WorkflowEnvironment, worker: Worker, notification_sink: NotificationSink
) -> None:
    booking, handle, _paid = await paid_follow_up(env, worker.task_queue)

    # No attendance update ever comes: three reminders, then the deadline.
    await advance_to(env, handle, booking.end + DEADLINE + SECOND)
    final = await result_of(handle)

    assert final.status is SessionStatus.UNREPORTED
    assert final.reminders_sent == 3 and final.attendance is None
    # The charge is kept: nothing refunded, nothing assumed.
    assert final.payment.status is PaymentStatus.PAID
    assert (final.payment.amount_paid_minor, final.payment.amount_refunded_minor) == (6000, 0)
    [notice, *repeats] = await notification_sink.wait_for_async(
        lambda n: n.type is NotificationType.SESSION_UNREPORTED and n.session_id == booking.session_id, WAIT
    )
    assert {n.event_id for n in repeats} <= {notice.event_id}, [n.event_id for n in repeats]  # at least once
    assert notice.audience.value == "therapist" and notice.codes == {
        "attendance": "unreported",
        "money": "charge_kept",
    }
    # At the deadline (the skipper may fire the timer a moment past it, as it does reminders).
    assert booking.end + DEADLINE <= notice.occurred_at <= booking.end + DEADLINE + 5 * 60 * SECOND
    assert not [
        n
        for n in notification_sink.received
        if n.session_id == booking.session_id
        and n.audience.value != "therapist"
        and n.occurred_at > booking.end
    ]  # the client hears nothing after the session: their charge and receipt stand
    # Ops and the API's status route read it from the search attribute.
    described = await asyncio.wait_for(handle.describe(), WAIT)
    assert described.typed_search_attributes.get(SESSION_STATUS) == SessionStatus.UNREPORTED.value


async def test_an_attendance_update_filed_before_the_deadline_wins_and_nothing_closes_it(
    env: WorkflowEnvironment, worker: Worker, notification_sink: NotificationSink
) -> None:
    booking, handle, _paid = await paid_follow_up(env, worker.task_queue)
    await advance_to(env, handle, booking.end + DEADLINE - HOUR)
    await wait_for_state(handle, lambda s: s.reminders_sent == 3, "the last reminder")
    await wait_for_status(env, handle, SessionStatus.AWAITING_UPDATE, "awaiting the update")
    assert await virtual_now(env, handle) < booking.end + DEADLINE

    update = AttendanceUpdate(outcome=AttendanceOutcome.ATTENDED)
    result = await asyncio.wait_for(handle.execute_update(SessionWorkflow.file_attendance, update), WAIT)
    final = await result_of(handle)

    assert result.status is SessionStatus.ATTENDED
    assert final.status is SessionStatus.COMPLETED
    assert not [
        n
        for n in notification_sink.received
        if n.type is NotificationType.SESSION_UNREPORTED and n.session_id == booking.session_id
    ]
    # The deadline's timer was planned, then cancelled when the update woke the session.
    assert "TIMER_CANCELED" in await event_types(handle)
