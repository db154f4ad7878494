"""Both parties' zones through a real worker (issue 12 §2): a weekly follow-up booked by the
therapist tells the client, through a receiver that verifies it with ``standardwebhooks``, its
start in their zone and the therapist's, that their clock time moved (New York changed its clocks
and London had not), when the card is charged and until when cancelling is free."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from dev.notification_sink import NotificationSink
from domain.attendance import AttendanceOutcome, AttendanceUpdate, ContinueChoice
from domain.notifications import NotificationType
from domain.policy import charge_spread_offset
from domain.status import SessionStatus
from temporal_client.session_client import session_handle
from tests.workflows.support import (
    HOUR,
    TEST_POLICY,
    WAIT,
    advance_to,
    make_booking,
    start,
    state_of,
    wait_for_state,
    wait_for_status,
)
from workflows.session import SessionWorkflow

SECOND = timedelta(seconds=1)
SAME_TIME_AGREED = AttendanceUpdate(
    outcome=AttendanceOutcome.ATTENDED, continue_sessions=ContinueChoice.SAME_TIME, client_agreed=True
)


async def test_a_weekly_follow_up_tells_a_new_york_client_their_time_moved_to_14_00_with_the_terms(
    env: WorkflowEnvironment, worker: Worker, notification_sink: NotificationSink
) -> None:
    # Thursday 11 March 2027, 18:00 in London = 13:00 in New York. New York moves its clocks on
    # 14 March, London on 28 March: the same time next week, 18:00 London, is 14:00 in New York.
    first = make_booking(
        start=datetime(2027, 3, 11, 18, 0, tzinfo=UTC),
        therapist_timezone="Europe/London",
        client_timezone="America/New_York",
    )
    handle = await start(env.client, first, worker.task_queue)
    await advance_to(env, handle, first.start - 47 * HOUR)
    await wait_for_state(handle, lambda s: s.status is SessionStatus.PAID, "the charge")
    await advance_to(env, handle, first.end + SECOND)
    await wait_for_status(env, handle, SessionStatus.AWAITING_UPDATE, "the session's end")

    result = await asyncio.wait_for(
        handle.execute_update(SessionWorkflow.file_attendance, SAME_TIME_AGREED), WAIT
    )
    # The follow-up announces itself (issue 12 §1: every booking is confirmed by its own session).
    [told] = await notification_sink.wait_for_async(
        lambda n: n.session_id == result.follow_up_session_id and n.type is NotificationType.FOLLOW_UP_BOOKED,
        timeout=WAIT,
    )

    follow_up_start = datetime(2027, 3, 18, 18, 0, tzinfo=UTC)
    assert told.related_session_id == first.session_id and result.follow_up_start == follow_up_start
    assert told.start == follow_up_start
    assert told.start_local_client is not None and told.start_local_therapist is not None
    assert told.start_local_client.isoformat() == "2027-03-18T14:00:00-04:00"
    assert told.start_local_therapist.isoformat() == "2027-03-18T18:00:00+00:00"
    assert told.client_local_time_changed is True
    assert told.free_cancellation_until == follow_up_start - 48 * HOUR
    assert told.codes["cancellation_policy"] == "48h"
    assert result.follow_up_session_id is not None
    follow_up = await state_of(session_handle(env.client, result.follow_up_session_id))
    spread = charge_spread_offset(result.follow_up_session_id, TEST_POLICY)
    assert told.charge_at == follow_up.payment.next_charge_at == follow_up_start - 48 * HOUR + spread
    assert follow_up.client_timezone == "America/New_York"
    assert [r.verified for r in notification_sink.requests if r.event_id == told.event_id][:1] == [True]
