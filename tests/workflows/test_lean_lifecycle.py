"""Issue 13: a session's lifecycle at the engine's floor — what each path costs in Actions, counted
from the real history, with every notice the terms require still sent."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import stripe
from temporalio.client import WithStartWorkflowOperation, WorkflowHistory
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from bench.actions import count_actions
from contract.ids import session_workflow_id
from contract.search_attributes import PAYMENT_INTENT, SESSION_END, SESSION_STATUS, session_search_attributes
from contract.session import SESSION_WORKFLOW_TYPE
from dev.notification_sink import NotificationSink
from dev.stripe_standin import StripeStandIn
from domain.attendance import AttendanceOutcome, AttendanceUpdate, ContinueChoice
from domain.booking import SessionBooking
from domain.commands import CancelRequest, PaymentMethodUpdate
from domain.notifications import Notification, NotificationType
from domain.practice import EndReason
from domain.state import SessionState, SessionWorkflowInput
from domain.status import Actor, CancelReason, PaymentStatus, SessionStatus, status_as_of
from settings import Settings
from temporal_client.session_client import session_handle
from tests.workflows.support import (
    HOUR,
    STARTED,
    TEST_POLICY,
    WAIT,
    SessionHandle,
    advance_to,
    event_types,
    make_booking,
    real_now,
    result_of,
    running_worker,
    scheduled_activities,
    start,
    unique,
    virtual_now,
    wait_for_state,
)
from tests.workflows.test_payment_failures import webhook_fact
from workflows.session import SessionWorkflow

SECOND = timedelta(seconds=1)
CLIENT_CANCELS = CancelRequest(requested_by=Actor.CLIENT, reason=CancelReason.CLIENT_REQUEST)
SAME_TIME_AGREED = AttendanceUpdate(
    outcome=AttendanceOutcome.ATTENDED, continue_sessions=ContinueChoice.SAME_TIME, client_agreed=True
)


def _of(kind: NotificationType, session_id: str) -> Callable[[Notification], bool]:
    return lambda n: n.type is kind and n.session_id == session_id


async def actions_of(handle: SessionHandle) -> tuple[int, dict[str, int]]:
    history: WorkflowHistory = await asyncio.wait_for(handle.fetch_history(), WAIT)
    total, by_kind, _harness = count_actions(history)
    return total, dict(by_kind)


async def test_a_charged_attended_and_rebooked_session_costs_at_most_ten_actions(
    env: WorkflowEnvironment, worker: Worker, notification_sink: NotificationSink
) -> None:
    booking = make_booking(start=real_now() + 72 * HOUR)
    handle = await start(env.client, booking, worker.task_queue)
    await advance_to(env, handle, booking.start - 47 * HOUR)
    await wait_for_state(handle, lambda s: s.status is SessionStatus.PAID, "the charge")
    await advance_to(env, handle, booking.end + SECOND)

    result = await asyncio.wait_for(
        handle.execute_update(SessionWorkflow.file_attendance, SAME_TIME_AGREED), WAIT
    )
    final = await result_of(handle)

    assert final.status is SessionStatus.COMPLETED
    assert result.follow_up_session_id is not None and result.incomplete_effects == []
    follow_up = session_handle(env.client, result.follow_up_session_id)
    assert (await asyncio.wait_for(follow_up.describe(), WAIT)).status is not None
    # Every notice of the terms still goes out: the booking to both, the receipt, the follow-up.
    for kind, session_id in (
        (NotificationType.BOOKING_CONFIRMED, booking.session_id),
        (NotificationType.FOLLOW_UP_BOOKED, booking.session_id),
        (NotificationType.CHARGE_SUCCEEDED, booking.session_id),
        (NotificationType.FOLLOW_UP_BOOKED, result.follow_up_session_id),
    ):
        await notification_sink.wait_for_async(_of(kind, session_id), WAIT)
    total, by_kind = await actions_of(handle)
    # start 1, charge timer 1, charge 1, paid upsert 1, timer to the first reminder 1, update 1,
    # completed upsert 1, local activities 3 (the booking's notices, the receipt, the update's
    # claim and follow-up start): 10.
    assert total <= 10, by_kind
    assert "START_CHILD_WORKFLOW_EXECUTION_INITIATED" not in by_kind
    described = await asyncio.wait_for(handle.describe(), WAIT)
    attributes = described.typed_search_attributes
    assert attributes.get(SESSION_STATUS) == SessionStatus.COMPLETED.value
    assert attributes.get(PAYMENT_INTENT) == final.payment.payment_intent_id
    assert attributes.get(SESSION_END) == booking.end


async def test_a_paid_session_past_its_end_reads_as_awaiting_its_update_without_a_timer_of_its_own(
    env: WorkflowEnvironment, worker: Worker
) -> None:
    booking = make_booking(start=real_now() + 72 * HOUR)
    handle = await start(env.client, booking, worker.task_queue)
    await advance_to(env, handle, booking.start - 47 * HOUR)
    paid = await wait_for_state(handle, lambda s: s.status is SessionStatus.PAID, "the charge")
    now = await advance_to(env, handle, booking.end + SECOND)

    types = await event_types(handle)
    described = await asyncio.wait_for(handle.describe(), WAIT)
    assert described.typed_search_attributes.get(SESSION_STATUS) == SessionStatus.PAID.value
    assert described.typed_search_attributes.get(PAYMENT_INTENT) == paid.payment.payment_intent_id
    # The charge timer, then one timer to the first reminder: the end itself costs nothing.
    assert types.count("TIMER_STARTED") == 2
    assert status_as_of(SessionStatus.PAID, booking.end, now) is SessionStatus.AWAITING_UPDATE
    assert status_as_of(SessionStatus.PAID, booking.end, booking.end - SECOND) is SessionStatus.PAID
    assert await virtual_now(env, handle) >= booking.end


# ----------------------------------------------------------------------------- each path's Actions
# Each path run to its close on a real server; the bound is what the path needs (counted in the
# comment), so a change that adds an Action to a path fails here. Histories recorded for replay.


async def book_paid(
    env: WorkflowEnvironment, worker: Worker, payment_method: str = "pm_card_visa"
) -> tuple[SessionBooking, SessionHandle]:
    booking = make_booking(start=real_now() + 72 * HOUR, payment_method=payment_method)
    handle = await start(env.client, booking, worker.task_queue)
    await advance_to(env, handle, booking.start - 47 * HOUR)
    return booking, handle


async def paid_session(env: WorkflowEnvironment, worker: Worker) -> tuple[SessionBooking, SessionHandle]:
    booking, handle = await book_paid(env, worker)
    await wait_for_state(handle, lambda s: s.status is SessionStatus.PAID, "the charge")
    return booking, handle


async def attend(
    env: WorkflowEnvironment, handle: SessionHandle, booking: SessionBooking, update: AttendanceUpdate
) -> SessionState:
    await advance_to(env, handle, booking.end + SECOND)
    await asyncio.wait_for(handle.execute_update(SessionWorkflow.file_attendance, update), WAIT)
    return await result_of(handle)


async def test_a_free_cancellation_costs_seven_actions(env: WorkflowEnvironment, worker: Worker) -> None:
    booking = make_booking(start=real_now() + 72 * HOUR)
    handle = await start(env.client, booking, worker.task_queue)
    await asyncio.wait_for(handle.execute_update(SessionWorkflow.cancel, CLIENT_CANCELS), WAIT)
    final = await result_of(handle)
    assert final.status is SessionStatus.CANCELLED_FREE
    total, by_kind = await actions_of(handle)
    # start, charge timer, booking notices, update + its notices, release of the time, final upsert
    assert total <= 7, by_kind


async def test_a_late_cancellation_keeps_the_charge_in_eleven_actions(
    env: WorkflowEnvironment, worker: Worker
) -> None:
    _booking, handle = await paid_session(env, worker)
    await asyncio.wait_for(handle.execute_update(SessionWorkflow.cancel, CLIENT_CANCELS), WAIT)
    final = await result_of(handle)
    assert final.status is SessionStatus.CANCELLED_LATE and final.payment.status is PaymentStatus.PAID
    total, by_kind = await actions_of(handle)
    # start, booking notices, charge timer, charge, receipt, paid upsert, the timer to the first
    # reminder (cancelled), update + its notices, release of the time, final upsert
    assert total <= 11, by_kind


async def test_a_declined_card_then_a_new_one_paid_and_attended(
    env: WorkflowEnvironment, worker: Worker
) -> None:
    booking, handle = await book_paid(env, worker, "pm_card_chargeDeclinedLostCard")
    await wait_for_state(handle, lambda s: s.status is SessionStatus.PAYMENT_FAILED, "the decline")
    await asyncio.wait_for(
        handle.execute_update(
            SessionWorkflow.update_payment_method,
            PaymentMethodUpdate(payment_method_id=unique("pm_card_visa")),
        ),
        WAIT,
    )
    await wait_for_state(handle, lambda s: s.status is SessionStatus.PAID, "the new card's charge")
    final = await attend(env, handle, booking, AttendanceUpdate(outcome=AttendanceOutcome.ATTENDED))
    assert final.status is SessionStatus.COMPLETED and len(final.payment.attempts) == 2
    total, by_kind = await actions_of(handle)
    # the full lifecycle's 10 without the follow-up, plus the declined try and its notices, the
    # payment_failed upsert, the new card's update, its charge and the later timers
    assert total <= 16, by_kind


async def test_an_authenticated_payment_settled_by_its_webhook_then_attended(
    env: WorkflowEnvironment, worker: Worker, standin: StripeStandIn
) -> None:
    booking, handle = await book_paid(env, worker, "pm_card_authenticationRequired")
    waiting = await wait_for_state(
        handle, lambda s: s.status is SessionStatus.AWAITING_CLIENT_ACTION, "the SCA"
    )
    intent_id = waiting.payment.payment_intent_id
    assert intent_id is not None
    standin.authenticate_on_session(intent_id)
    fact = webhook_fact(standin, "payment_intent.succeeded", intent_id)
    await asyncio.wait_for(handle.signal(SessionWorkflow.payment_event, fact), WAIT)
    await wait_for_state(handle, lambda s: s.status is SessionStatus.PAID, "the webhook")
    final = await attend(env, handle, booking, AttendanceUpdate(outcome=AttendanceOutcome.ATTENDED))
    assert final.status is SessionStatus.COMPLETED
    total, by_kind = await actions_of(handle)
    assert total <= 14, by_kind


async def test_a_no_show_stays_a_no_show(env: WorkflowEnvironment, worker: Worker) -> None:
    booking, handle = await paid_session(env, worker)
    final = await attend(env, handle, booking, AttendanceUpdate(outcome=AttendanceOutcome.CLIENT_NO_SHOW))
    assert final.status is SessionStatus.CLIENT_NO_SHOW
    total, by_kind = await actions_of(handle)
    # start, booking notices, charge timer, charge, receipt, paid upsert, timer to the first
    # reminder, update + its practice call (the client's slot released), final upsert
    assert total <= 10, by_kind


async def test_an_ended_relationship(env: WorkflowEnvironment, worker: Worker) -> None:
    booking, handle = await paid_session(env, worker)
    update = AttendanceUpdate(
        outcome=AttendanceOutcome.ATTENDED, end_relationship=True, end_reason=EndReason.TREATMENT_COMPLETE
    )
    final = await attend(env, handle, booking, update)
    assert final.status is SessionStatus.COMPLETED
    assert final.attendance_result is not None and final.attendance_result.relationship_ended
    total, by_kind = await actions_of(handle)
    # as a no-show, plus the practice's end (a local activity of the update's task, with its
    # notices)
    assert total <= 10, by_kind


async def test_a_notice_the_backend_keeps_refusing_does_not_hold_back_the_sessions_later_notices(
    env: WorkflowEnvironment, worker: Worker, notification_sink: NotificationSink
) -> None:
    # The therapist's booking confirmation keeps failing (503): it is handed to an activity of its
    # own, retried for a day, while the cancellation that follows is told at once (found by review).
    notification_sink.fail_events(":booking_confirmed:")
    booking = make_booking(start=real_now() + 72 * HOUR)
    handle = await start(env.client, booking, worker.task_queue)
    await notification_sink.wait_for_async(_of(NotificationType.FOLLOW_UP_BOOKED, booking.session_id), WAIT)

    await asyncio.wait_for(handle.execute_update(SessionWorkflow.cancel, CLIENT_CANCELS), WAIT)

    await notification_sink.wait_for_async(_of(NotificationType.SESSION_CANCELLED, booking.session_id), WAIT)
    confirmation = f"{booking.session_id}:{NotificationType.BOOKING_CONFIRMED.value}"
    refused = [r for r in notification_sink.requests if r.event_id and r.event_id.startswith(confirmation)]
    assert refused and all(r.status == 503 for r in refused)
    # Once the backend takes it, the confirmation's own retries deliver it and the session closes.
    notification_sink.stop_failing_events()
    await notification_sink.wait_for_async(_of(NotificationType.BOOKING_CONFIRMED, booking.session_id), WAIT)
    assert (await result_of(handle)).status is SessionStatus.CANCELLED_FREE
    assert "deliver_notification" in await scheduled_activities(handle)


async def test_a_command_delivered_with_the_first_task_runs_the_lean_lifecycle_too(
    env: WorkflowEnvironment, stripe_client: stripe.StripeClient, settings: Settings
) -> None:
    # The SDK runs a handler of the first workflow task before the run starts: the lifecycle is
    # decided at its first use, so the cancellation's notices still leave together (found by
    # review: they went out as one activity each, its status as an upsert of its own).
    booking = make_booking(start=real_now() + 72 * HOUR)
    task_queue = unique("first-task")
    start_operation: WithStartWorkflowOperation[Any, SessionState] = WithStartWorkflowOperation(
        SESSION_WORKFLOW_TYPE,
        SessionWorkflowInput(booking=booking, policy=TEST_POLICY, booked_at=real_now(), time_claimed=False),
        id=session_workflow_id(booking.session_id),
        id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
        task_queue=task_queue,
        result_type=SessionState,
        search_attributes=session_search_attributes(booking),
    )
    cancelling = asyncio.create_task(
        env.client.execute_update_with_start_workflow(
            SessionWorkflow.cancel, CLIENT_CANCELS, start_workflow_operation=start_operation
        )
    )
    async with running_worker(env.client, task_queue, stripe_client, settings):
        cancelled = await asyncio.wait_for(cancelling, WAIT)
        handle = await asyncio.wait_for(start_operation.workflow_handle(), WAIT)
        STARTED.append(handle)  # its history is recorded for replay like every started session's
        final = await asyncio.wait_for(handle.result(), WAIT)
    assert cancelled.status is final.status is SessionStatus.CANCELLED_FREE
    ran = await scheduled_activities(handle)
    assert "deliver_notification" not in ran and "deliver_notifications" in ran, ran
