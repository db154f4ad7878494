"""A therapist holds one session at a time: every booking, move and follow-up claims its time in
the practice's serialised updates (issue 11, hazard 2), and a cancelled session frees it.

Before claims, the practice checked one-off bookings but never recorded them: a second client
could book, move into or be rebooked at a time another client already held."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from contract.practice import PRACTICE_STATE
from domain.attendance import AttendanceOutcome, AttendanceUpdate, ContinueChoice
from domain.booking import SessionBooking
from domain.commands import CancelRequest, RescheduleRequest
from domain.errors import RuleViolation
from domain.ids import follow_up_session_id
from domain.practice import PracticeState
from domain.status import Actor, CancelReason, SessionStatus
from temporal_client.messages import query_workflow
from temporal_client.practice_client import practice_handle
from temporal_client.session_client import session_handle
from tests.workflows.support import (
    HOUR,
    WAIT,
    SessionHandle,
    advance_to,
    make_booking,
    real_now,
    start,
    state_of,
    wait_for_state,
    wait_for_status,
)
from workflows.session import SessionWorkflow

SECOND = timedelta(seconds=1)
WEEK = timedelta(days=7)


async def practice_state(env: WorkflowEnvironment, therapist_id: str) -> PracticeState:
    return await asyncio.wait_for(
        query_workflow(practice_handle(env.client, therapist_id), PRACTICE_STATE), WAIT
    )


async def claimed_starts(env: WorkflowEnvironment, therapist_id: str) -> dict[str, datetime]:
    state = await practice_state(env, therapist_id)
    return {session_id: claim.start for session_id, claim in state.claims.items()}


def refusal_code(failure: WorkflowUpdateFailedError) -> str | None:
    cause = failure.cause
    return cause.type if isinstance(cause, ApplicationError) else None


async def book_beside(
    env: WorkflowEnvironment, worker: Worker, session: SessionBooking, at: datetime
) -> tuple[SessionBooking, SessionHandle]:
    """Another client's session with the same therapist."""
    other = make_booking(start=at, therapist_id=session.therapist_id)
    return other, await start(env.client, other, worker.task_queue)


async def test_a_follow_up_at_a_time_another_client_has_booked_is_refused(
    env: WorkflowEnvironment, worker: Worker
) -> None:
    session = make_booking(start=real_now() + 72 * HOUR)
    handle = await start(env.client, session, worker.task_queue)
    # Another client has booked the very time "same time next week" lands on.
    other, _ = await book_beside(env, worker, session, session.start + WEEK)
    await advance_to(env, handle, session.start - 47 * HOUR)
    await wait_for_state(handle, lambda s: s.status is SessionStatus.PAID, "the charge")
    await advance_to(env, handle, session.end + SECOND)
    await wait_for_status(env, handle, SessionStatus.AWAITING_UPDATE, "the session's end")
    same_time = AttendanceUpdate(
        outcome=AttendanceOutcome.ATTENDED, continue_sessions=ContinueChoice.SAME_TIME, client_agreed=True
    )

    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await asyncio.wait_for(handle.execute_update(SessionWorkflow.file_attendance, same_time), WAIT)
    # An hour later is free: the follow-up is booked there and claims it.
    later = same_time.model_copy(
        update={"continue_sessions": ContinueChoice.DIFFERENT_TIME, "new_start": session.start + WEEK + HOUR}
    )
    filed = await asyncio.wait_for(handle.execute_update(SessionWorkflow.file_attendance, later), WAIT)

    assert refusal_code(refused.value) == "time_taken"
    assert other.session_id in str(refused.value.cause)
    assert filed.follow_up_session_id == follow_up_session_id(session.session_id)
    claims = await claimed_starts(env, session.therapist_id)
    assert claims[other.session_id] == other.start
    assert claims[filed.follow_up_session_id] == session.start + WEEK + HOUR


async def test_a_follow_up_with_its_reserved_slot_is_claimed_in_one_step(
    env: WorkflowEnvironment, worker: Worker
) -> None:
    session = make_booking(start=real_now() + 72 * HOUR)
    handle = await start(env.client, session, worker.task_queue)
    # Another client's one-off session two weeks on falls on the weekly time: the slot cannot be
    # reserved over it, so neither the follow-up nor the slot is granted.
    await book_beside(env, worker, session, session.start + 2 * WEEK)
    await advance_to(env, handle, session.start - 47 * HOUR)
    await wait_for_state(handle, lambda s: s.status is SessionStatus.PAID, "the charge")
    await advance_to(env, handle, session.end + SECOND)
    await wait_for_status(env, handle, SessionStatus.AWAITING_UPDATE, "the session's end")
    reserving = AttendanceUpdate(
        outcome=AttendanceOutcome.ATTENDED,
        continue_sessions=ContinueChoice.SAME_TIME,
        client_agreed=True,
        reserve_slot=True,
    )

    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await asyncio.wait_for(handle.execute_update(SessionWorkflow.file_attendance, reserving), WAIT)
    practice = await practice_state(env, session.therapist_id)

    assert refusal_code(refused.value) == "time_taken"
    assert follow_up_session_id(session.session_id) not in practice.claims
    assert not [slot for slot in practice.slots.values() if slot.active]
    assert (await state_of(handle)).attendance is None


async def test_a_move_onto_another_sessions_time_is_refused_and_a_cancellation_frees_the_time(
    env: WorkflowEnvironment, worker: Worker
) -> None:
    first = make_booking(start=real_now() + 120 * HOUR)
    first_handle = await start(env.client, first, worker.task_queue)
    second, second_handle = await book_beside(env, worker, first, first.start + 3 * HOUR)
    onto_first = RescheduleRequest(
        requested_by=Actor.THERAPIST, new_start=first.start + 30 * timedelta(minutes=1)
    )

    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await asyncio.wait_for(second_handle.execute_update(SessionWorkflow.reschedule, onto_first), WAIT)
    unmoved = await state_of(second_handle)
    claims_after_refusal = await claimed_starts(env, first.therapist_id)

    free_cancel = CancelRequest(requested_by=Actor.CLIENT, reason=CancelReason.CLIENT_REQUEST)
    await asyncio.wait_for(first_handle.execute_update(SessionWorkflow.cancel, free_cancel), WAIT)
    # The cancelled session frees its time before it closes.
    await asyncio.wait_for(first_handle.result(), WAIT)
    moved = await asyncio.wait_for(second_handle.execute_update(SessionWorkflow.reschedule, onto_first), WAIT)

    assert refusal_code(refused.value) == "time_taken" and first.session_id in str(refused.value.cause)
    assert unmoved.start == second.start and not unmoved.reschedules
    assert claims_after_refusal == {first.session_id: first.start, second.session_id: second.start}
    assert moved.start == onto_first.new_start
    assert await claimed_starts(env, first.therapist_id) == {second.session_id: onto_first.new_start}


async def test_a_booking_over_another_sessions_time_is_refused(
    env: WorkflowEnvironment, worker: Worker
) -> None:
    first = make_booking(start=real_now() + 120 * HOUR)
    await start(env.client, first, worker.task_queue)
    overlapping = make_booking(start=first.start + timedelta(minutes=49), therapist_id=first.therapist_id)
    back_to_back = make_booking(start=first.end, therapist_id=first.therapist_id)

    with pytest.raises(RuleViolation) as refused:
        await start(env.client, overlapping, worker.task_queue)
    await start(env.client, back_to_back, worker.task_queue)

    assert refused.value.code == "time_taken"
    assert await claimed_starts(env, first.therapist_id) == {
        first.session_id: first.start,
        back_to_back.session_id: back_to_back.start,
    }
    # The refused booking never started.
    with pytest.raises(RPCError) as missing:
        await session_handle(env.client, overlapping.session_id).describe()
    assert missing.value.status is RPCStatusCode.NOT_FOUND
