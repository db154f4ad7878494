"""A preview, then the real command at the same instant, on a running session (issue 12 §6): the
preview query answers exactly what the update then does, and adds nothing to the history.

Both carry the same receipt stamp (``received_at``, as the API stamps them), so they are judged at
the same instant on the same state.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import stripe
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from contract.session import (
    SESSION_CANCEL,
    SESSION_CANCEL_PREVIEW,
    SESSION_RESCHEDULE,
    SESSION_RESCHEDULE_PREVIEW,
)
from domain.acting import ActingParty
from domain.booking import SessionBooking
from domain.commands import CancelPreview, CancelRequest, CancelResult, ReschedulePreview, RescheduleRequest
from domain.status import Actor, BookingKind, CancelReason, SessionStatus
from temporal_client.messages import execute_update, query_workflow
from tests.workflows.support import (
    HOUR,
    WAIT,
    SessionHandle,
    event_types,
    history_at_rest,
    make_booking,
    paid_at_checkout,
    real_now,
    start,
    unique,
)

SECOND = timedelta(seconds=1)
PRICE = 6000


def client_of(booking: SessionBooking) -> ActingParty:
    return ActingParty(role=Actor.CLIENT, id=booking.client_id)


def therapist_of(booking: SessionBooking) -> ActingParty:
    return ActingParty(role=Actor.THERAPIST, id=booking.therapist_id)


async def preview_then_cancel(
    handle: SessionHandle, request: CancelRequest
) -> tuple[CancelPreview, CancelResult]:
    before = await history_at_rest(handle)  # the booking's notices sent, no task under way
    answer = await asyncio.wait_for(query_workflow(handle, SESSION_CANCEL_PREVIEW, request), WAIT)
    assert await event_types(handle) == before  # a query adds nothing to the history
    assert answer.preview is not None, answer.refused
    result = await asyncio.wait_for(execute_update(handle, SESSION_CANCEL, request, id=unique("upd")), WAIT)
    return answer.preview, result


async def prepaid(
    env: WorkflowEnvironment, worker: Worker, stripe_client: stripe.StripeClient, begins: datetime
) -> tuple[SessionBooking, SessionHandle]:
    booking = make_booking(
        BookingKind.INITIAL_PREPAID,
        start=begins,
        prepaid_payment_intent_id=await paid_at_checkout(stripe_client),
    )
    return booking, await start(env.client, booking, worker.task_queue)


async def test_a_clients_preview_more_than_48_hours_ahead_says_free_and_the_cancellation_is_free(
    env: WorkflowEnvironment, worker: Worker
) -> None:
    booking = make_booking(start=real_now() + 72 * HOUR)
    handle = await start(env.client, booking, worker.task_queue)
    request = CancelRequest(
        requested_by=Actor.CLIENT,
        reason=CancelReason.CLIENT_REQUEST,
        received_at=real_now() - SECOND,
        acting_party=client_of(booking),
    )

    preview, result = await preview_then_cancel(handle, request)

    assert preview.outcome == result
    assert result.status is SessionStatus.CANCELLED_FREE and result.free and result.refund_minor == 0
    assert preview.free_before == booking.start - 48 * HOUR and preview.charge_minor == 0


async def test_a_clients_preview_at_exactly_48_hours_says_late_and_the_cancellation_keeps_the_payment(
    env: WorkflowEnvironment, worker: Worker, stripe_client: stripe.StripeClient
) -> None:
    # Free only with MORE than 48 hours' notice: the request is stamped at start − 48 h exactly.
    booking, handle = await prepaid(env, worker, stripe_client, real_now() + 48 * HOUR - 2 * SECOND)
    request = CancelRequest(
        requested_by=Actor.CLIENT,
        reason=CancelReason.CLIENT_REQUEST,
        received_at=booking.start - 48 * HOUR,
        acting_party=client_of(booking),
    )

    preview, result = await preview_then_cancel(handle, request)

    assert preview.outcome == result
    assert result.status is SessionStatus.CANCELLED_LATE and not result.free and result.charge_kept
    assert result.refund_minor == 0 and preview.charge_minor == PRICE
    assert preview.free_before == request.received_at  # that instant itself was already late


async def test_a_therapists_preview_on_a_paid_session_says_free_with_a_full_refund_and_so_it_is(
    env: WorkflowEnvironment, worker: Worker, stripe_client: stripe.StripeClient
) -> None:
    booking, handle = await prepaid(env, worker, stripe_client, real_now() + 30 * HOUR)
    request = CancelRequest(
        requested_by=Actor.THERAPIST,
        reason=CancelReason.THERAPIST_UNAVAILABLE,
        received_at=real_now() - SECOND,
        acting_party=therapist_of(booking),
    )

    preview, result = await preview_then_cancel(handle, request)

    assert preview.outcome == result
    assert result.status is SessionStatus.CANCELLED_BY_THERAPIST and result.free
    assert result.refund_minor == PRICE and preview.charge_minor == 0 and preview.free_before == booking.start


async def test_a_clients_preview_on_a_paid_session_more_than_48_hours_ahead_says_refunded_and_so_it_is(
    env: WorkflowEnvironment, worker: Worker, stripe_client: stripe.StripeClient
) -> None:
    booking, handle = await prepaid(env, worker, stripe_client, real_now() + 72 * HOUR)
    request = CancelRequest(
        requested_by=Actor.CLIENT,
        reason=CancelReason.CLIENT_REQUEST,
        received_at=real_now() - SECOND,
        acting_party=client_of(booking),
    )

    preview, result = await preview_then_cancel(handle, request)

    assert preview.outcome == result
    assert result.status is SessionStatus.CANCELLED_FREE and result.refund_minor == PRICE


async def test_a_move_preview_says_when_the_card_is_charged_and_the_move_does_so(
    env: WorkflowEnvironment, worker: Worker
) -> None:
    booking = make_booking(start=real_now() + 72 * HOUR)
    handle = await start(env.client, booking, worker.task_queue)
    request = RescheduleRequest(
        requested_by=Actor.CLIENT,
        new_start=booking.start + 7 * 24 * HOUR,
        received_at=real_now() - SECOND,
        acting_party=client_of(booking),
    )

    before = await history_at_rest(handle)  # the booking's notices sent, no task under way
    answer = await asyncio.wait_for(query_workflow(handle, SESSION_RESCHEDULE_PREVIEW, request), WAIT)
    assert await event_types(handle) == before
    preview: ReschedulePreview | None = answer.preview
    assert preview is not None, answer.refused
    result = await asyncio.wait_for(
        execute_update(handle, SESSION_RESCHEDULE, request, id=unique("upd")), WAIT
    )

    assert preview.outcome == result
    assert not preview.late and not preview.charge_kept and preview.charge_minor == PRICE
    assert preview.charge_at == result.next_charge_at and result.next_charge_at is not None
    assert result.next_charge_at >= request.new_start - 48 * HOUR


async def test_a_preview_for_a_stranger_is_refused_as_not_found_like_the_command(
    env: WorkflowEnvironment, worker: Worker
) -> None:
    booking = make_booking(start=real_now() + 72 * HOUR)
    handle = await start(env.client, booking, worker.task_queue)
    stranger = ActingParty(role=Actor.THERAPIST, id="thr_someone_else")
    request = CancelRequest(
        requested_by=Actor.THERAPIST, reason=CancelReason.THERAPIST_UNAVAILABLE, acting_party=stranger
    )

    answer = await asyncio.wait_for(query_workflow(handle, SESSION_CANCEL_PREVIEW, request), WAIT)

    assert answer.preview is None and answer.refused is not None and answer.refused.code == "not_found"
