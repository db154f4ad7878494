"""Issue 12 §5, what a therapist may do: refund in full or in part, mark a no-show from the start,
book a manual session (inside the window, or dated in the past)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from contract.ids import session_refunds_workflow_id
from contract.refunds import SESSION_REFUNDS_STATE
from contract.search_attributes import SESSION_STATUS
from dev.notification_sink import NotificationSink
from dev.stripe_standin import StripeStandIn
from domain.attendance import AttendanceOutcome, AttendanceResult, AttendanceUpdate
from domain.notifications import NotificationType
from domain.refunds import SessionRefund, SessionRefundResult
from domain.session_attendance import NoShowRequest, NoShowResult
from domain.status import Actor, BookingKind, RefundReason, SessionStatus
from temporal_client.messages import query_workflow
from temporal_client.refunds_client import refund_session
from tests.workflows.support import (
    HOUR,
    STARTED,
    WAIT,
    SessionHandle,
    advance_to,
    make_booking,
    real_now,
    result_of,
    start,
    state_of,
    wait_for_state,
    wait_for_status,
)
from workflows.session import SessionWorkflow

SECOND = timedelta(seconds=1)


async def file(handle: SessionHandle, update: AttendanceUpdate) -> AttendanceResult:
    return await asyncio.wait_for(handle.execute_update(SessionWorkflow.file_attendance, update), WAIT)


async def refund(handle: SessionHandle, request: SessionRefund) -> SessionRefundResult:
    return await asyncio.wait_for(handle.execute_update(SessionWorkflow.refund, request), WAIT)


async def mark_no_show(handle: SessionHandle) -> NoShowResult:
    return await asyncio.wait_for(handle.execute_update(SessionWorkflow.mark_no_show, NoShowRequest()), WAIT)


async def paid_session(env: WorkflowEnvironment, worker: Worker) -> tuple[object, SessionHandle]:
    session = make_booking(start=real_now() + 72 * HOUR)
    handle = await start(env.client, session, worker.task_queue)
    await advance_to(env, handle, session.start - 47 * HOUR)
    await wait_for_state(handle, lambda s: s.status is SessionStatus.PAID, "the charge")
    return session, handle


async def test_a_no_show_session_stays_client_no_show_after_it_ends(
    env: WorkflowEnvironment, worker: Worker
) -> None:
    session = make_booking(start=real_now() + 72 * HOUR)
    handle = await start(env.client, session, worker.task_queue)
    await advance_to(env, handle, session.start - 47 * HOUR)
    await wait_for_state(handle, lambda s: s.status is SessionStatus.PAID, "the charge")
    await advance_to(env, handle, session.end + SECOND)
    await wait_for_status(env, handle, SessionStatus.AWAITING_UPDATE, "the session's end")

    await file(handle, AttendanceUpdate(outcome=AttendanceOutcome.CLIENT_NO_SHOW))

    final = await result_of(handle)
    assert final.status is SessionStatus.CLIENT_NO_SHOW
    described = await asyncio.wait_for(handle.describe(), WAIT)  # lists find it as a no-show
    assert described.typed_search_attributes.get(SESSION_STATUS) == "client_no_show"


async def refunded_on_stripe(standin: StripeStandIn, session_id: str) -> int:
    charges = [
        charge
        for charge in standin.charges()
        if (charge.get("metadata") or {}).get("session_id") == session_id
        and charge.get("status") == "succeeded"
    ]
    return sum(int(charge.get("amount_refunded") or 0) for charge in charges)


async def test_a_therapist_refunds_part_of_a_paid_session_and_partial_refunds_add_up(
    env: WorkflowEnvironment, worker: Worker, standin: StripeStandIn, notification_sink: NotificationSink
) -> None:
    session, handle = await paid_session(env, worker)
    session_id = session.session_id  # type: ignore[attr-defined]

    first = await refund(handle, SessionRefund(reason=RefundReason.GOODWILL, amount_minor=1000))
    second = await refund(handle, SessionRefund(reason=RefundReason.THERAPIST_LATE, amount_minor=2000))
    with pytest.raises(WorkflowUpdateFailedError) as too_much:
        await refund(handle, SessionRefund(reason=RefundReason.OTHER, amount_minor=3001))

    assert (first.grant_number, first.amount_minor, first.refundable_minor) == (1, 1000, 5000)
    assert (second.grant_number, second.refunded_total_minor, second.refundable_minor) == (2, 3000, 3000)
    assert isinstance(too_much.value.cause, ApplicationError)
    assert too_much.value.cause.type == "refund_exceeds_captured"
    state = await wait_for_state(handle, lambda s: s.payment.amount_refunded_minor == 3000, "the refunds")
    assert [grant.reason for grant in state.payment.granted_refunds] == [
        RefundReason.GOODWILL,
        RefundReason.THERAPIST_LATE,
    ]
    assert state.status is SessionStatus.PAID  # the session still takes place
    notices = await notification_sink.wait_for_async(
        lambda n: n.type is NotificationType.REFUND_ISSUED and n.session_id == session_id, WAIT, count=2
    )
    assert sorted(n.amount_minor or 0 for n in notices) == [1000, 2000]
    assert await refunded_on_stripe(standin, session_id) == 3000


async def test_a_client_may_not_refund(env: WorkflowEnvironment, worker: Worker) -> None:
    _session, handle = await paid_session(env, worker)
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await refund(handle, SessionRefund(reason=RefundReason.OTHER, requested_by=Actor.CLIENT))
    assert isinstance(refused.value.cause, ApplicationError) and refused.value.cause.type == "not_allowed"


async def test_the_attendance_updates_refund_takes_an_amount(
    env: WorkflowEnvironment, worker: Worker, standin: StripeStandIn
) -> None:
    session, handle = await paid_session(env, worker)
    await advance_to(env, handle, session.end + SECOND)  # type: ignore[attr-defined]
    await wait_for_status(env, handle, SessionStatus.AWAITING_UPDATE, "the session's end")

    result = await file(
        handle,
        AttendanceUpdate(outcome=AttendanceOutcome.CLIENT_NO_SHOW, refund=True, refund_amount_minor=2500),
    )

    final = await result_of(handle)
    assert result.refund_minor == 2500
    assert final.payment.amount_refunded_minor == 2500 and final.status is SessionStatus.CLIENT_NO_SHOW
    assert await refunded_on_stripe(standin, session.session_id) == 2500  # type: ignore[attr-defined]


async def test_a_no_show_marked_from_the_start_stays_through_the_end_and_the_update(
    env: WorkflowEnvironment, worker: Worker
) -> None:
    session, handle = await paid_session(env, worker)
    start_at = session.start  # type: ignore[attr-defined]
    with pytest.raises(WorkflowUpdateFailedError) as too_early:
        await mark_no_show(handle)
    await advance_to(env, handle, start_at + 10 * 60 * SECOND)

    marked = await mark_no_show(handle)
    again = await mark_no_show(handle)
    await advance_to(env, handle, session.end + 25 * HOUR)  # type: ignore[attr-defined]
    reminded = await wait_for_state(handle, lambda s: s.reminders_sent == 1, "the first reminder")
    with pytest.raises(WorkflowUpdateFailedError) as contradicted:
        await file(handle, AttendanceUpdate(outcome=AttendanceOutcome.ATTENDED))
    await file(handle, AttendanceUpdate(outcome=AttendanceOutcome.CLIENT_NO_SHOW))

    assert isinstance(too_early.value.cause, ApplicationError)
    assert too_early.value.cause.type == "session_not_started"
    assert marked.status is SessionStatus.CLIENT_NO_SHOW and not marked.already_marked
    assert again.already_marked and again.marked_at == marked.marked_at
    assert reminded.status is SessionStatus.CLIENT_NO_SHOW  # the end did not make it awaiting_update
    assert isinstance(contradicted.value.cause, ApplicationError)
    assert contradicted.value.cause.type == "no_show_marked"
    final = await result_of(handle)
    assert final.status is SessionStatus.CLIENT_NO_SHOW and final.no_show is not None


async def test_a_therapist_books_a_session_inside_the_window_and_it_is_charged_at_once(
    env: WorkflowEnvironment, worker: Worker
) -> None:
    booking = make_booking(BookingKind.THERAPIST_MANUAL, start=real_now() + 10 * HOUR, client_agreed=True)
    handle = await start(env.client, booking, worker.task_queue)

    paid = await wait_for_state(handle, lambda s: s.status is SessionStatus.PAID, "the charge at once")
    assert [attempt.number for attempt in paid.payment.attempts] == [1]


async def test_a_past_dated_manual_session_is_charged_at_once_and_awaits_the_attendance_update(
    env: WorkflowEnvironment, worker: Worker
) -> None:
    booking = make_booking(BookingKind.THERAPIST_MANUAL, start=real_now() - 3 * HOUR, client_agreed=True)
    handle = await start(env.client, booking, worker.task_queue)

    awaiting = await wait_for_status(env, handle, SessionStatus.AWAITING_UPDATE, "the attendance update")
    await file(handle, AttendanceUpdate(outcome=AttendanceOutcome.ATTENDED))

    assert awaiting.payment.amount_paid_minor == 6000
    assert (await result_of(handle)).status is SessionStatus.COMPLETED
    assert (await state_of(handle)).payment.ops_blocked is None


async def test_a_refund_after_the_session_closed_continues_its_refunds_and_never_repeats_one(
    env: WorkflowEnvironment, worker: Worker, standin: StripeStandIn, notification_sink: NotificationSink
) -> None:
    session, handle = await paid_session(env, worker)
    session_id = session.session_id  # type: ignore[attr-defined]
    await refund(handle, SessionRefund(reason=RefundReason.THERAPIST_LATE, amount_minor=1000))
    await advance_to(env, handle, session.end + SECOND)  # type: ignore[attr-defined]
    await wait_for_status(env, handle, SessionStatus.AWAITING_UPDATE, "the session's end")
    await file(handle, AttendanceUpdate(outcome=AttendanceOutcome.ATTENDED))
    final = await result_of(handle)
    assert final.payment.amount_refunded_minor == 1000 and final.payment.refund_requests == 1

    async def later(amount: int | None, request_id: str) -> SessionRefundResult:
        request = SessionRefund(reason=RefundReason.GOODWILL, amount_minor=amount)
        return await asyncio.wait_for(
            refund_session(
                env.client,
                session_id,
                request,
                request_id=request_id,
                task_queue=worker.task_queue,
                now=real_now(),
            ),
            WAIT,
        )

    first = await later(2000, "after-close-1")
    repeated = await later(2000, "after-close-1")
    rest = await later(None, "after-close-2")
    refunds = env.client.get_workflow_handle(session_refunds_workflow_id(session_id))
    STARTED.append(refunds)  # its history is recorded for the replay test
    with pytest.raises(WorkflowUpdateFailedError) as too_much:
        await later(1, "after-close-3")

    assert (first.grant_number, first.amount_minor, first.refundable_minor) == (2, 2000, 3000)
    assert repeated == first
    assert rest.amount_minor == 3000 and rest.refundable_minor == 0
    assert isinstance(too_much.value.cause, ApplicationError)
    assert too_much.value.cause.type == "refund_exceeds_captured"
    notices = await notification_sink.wait_for_async(
        lambda n: n.type is NotificationType.REFUND_ISSUED and n.session_id == session_id, WAIT, count=3
    )
    assert sorted(n.amount_minor or 0 for n in notices) == [1000, 2000, 3000]
    # The refund numbering (each one's Stripe key and event id) carries on from the session's.
    assert len({n.event_id for n in notices}) == 3
    assert f"{session_id}:refund_issued:1" in {n.event_id for n in notices}
    assert await refunded_on_stripe(standin, session_id) == 6000


async def test_a_refund_retried_after_the_session_closed_is_not_granted_again(
    env: WorkflowEnvironment, worker: Worker, standin: StripeStandIn
) -> None:
    session, handle = await paid_session(env, worker)
    session_id = session.session_id  # type: ignore[attr-defined]
    request = SessionRefund(reason=RefundReason.TECHNICAL_PROBLEM, amount_minor=1500)

    async def send() -> SessionRefundResult:
        return await asyncio.wait_for(
            refund_session(
                env.client,
                session_id,
                request,
                request_id="refund-lost-answer",
                task_queue=worker.task_queue,
                now=real_now(),
            ),
            WAIT,
        )

    first = await send()  # granted by the running session; say its answer was lost
    await advance_to(env, handle, session.end + SECOND)  # type: ignore[attr-defined]
    await wait_for_status(env, handle, SessionStatus.AWAITING_UPDATE, "the session's end")
    await file(handle, AttendanceUpdate(outcome=AttendanceOutcome.ATTENDED))
    await result_of(handle)
    retried = await send()  # the same request, now through the refunds workflow
    refunds = env.client.get_workflow_handle(session_refunds_workflow_id(session_id))
    STARTED.append(refunds)

    assert retried == first and first.amount_minor == 1500
    state = await asyncio.wait_for(query_workflow(refunds, SESSION_REFUNDS_STATE), WAIT)
    assert [grant.request_id for grant in state.payment.granted_refunds] == ["refund-lost-answer"]
    assert await refunded_on_stripe(standin, session_id) == 1500


async def test_a_refund_granted_while_the_session_is_closing_is_paid_before_it_closes(
    env: WorkflowEnvironment, worker: Worker, standin: StripeStandIn, notification_sink: NotificationSink
) -> None:
    session, handle = await paid_session(env, worker)
    session_id = session.session_id  # type: ignore[attr-defined]
    await advance_to(env, handle, session.end + SECOND)  # type: ignore[attr-defined]
    await wait_for_status(env, handle, SessionStatus.AWAITING_UPDATE, "the session's end")
    # The attendance refund's notice is delivered slowly (two 503s, retried after 2 s and 4 s):
    # the session has done everything else and waits for it before closing.
    notification_sink.fail_next(2)
    await file(
        handle,
        AttendanceUpdate(outcome=AttendanceOutcome.ATTENDED, refund=True, refund_amount_minor=2000),
    )
    await wait_for_state(handle, lambda s: s.payment.amount_refunded_minor == 2000, "the first refund")

    granted = await refund(handle, SessionRefund(reason=RefundReason.SESSION_CUT_SHORT, amount_minor=1000))

    final = await result_of(handle)
    assert granted.amount_minor == 1000
    assert final.payment.amount_refunded_minor == 3000 and final.status is SessionStatus.COMPLETED
    assert await refunded_on_stripe(standin, session_id) == 3000
