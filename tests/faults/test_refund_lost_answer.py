"""Found by the fault suite: a refund whose answer was lost after Stripe committed it must still be
announced to the client.

Stripe refunds, but both the answer and the SDK's same-key retry are lost; Temporal retries the
activity, which finds the money already back and reports no new refund. The session used to stay
silent (no ``refund_issued``); now it announces what came back. Uses the suite-wide dev server,
stand-in and sink like the workflow tests.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from dev.notification_sink import NotificationSink
from dev.stripe_standin import FaultRule, StripeStandIn
from domain.commands import CancelRequest
from domain.notifications import NotificationType
from domain.status import Actor, CancelReason, SessionStatus
from tests.workflows.support import (
    HOUR,
    WAIT,
    make_booking,
    real_now,
    result_of,
    start,
    unique,
    wait_for_state,
)
from workflows.session import SessionWorkflow


@pytest.fixture
def faults(standin: StripeStandIn) -> Iterator[StripeStandIn]:
    yield standin
    standin.clear_faults()


async def test_a_refund_whose_answer_was_lost_is_still_announced(
    env: WorkflowEnvironment, worker: Worker, faults: StripeStandIn, notification_sink: NotificationSink
) -> None:
    booking = make_booking(start=real_now() + 30 * HOUR)  # inside the window: charged at once
    handle = await start(env.client, booking, worker.task_queue)
    await wait_for_state(handle, lambda s: s.status is SessionStatus.PAID, "the charge")
    # The refund commits; its answer, and the answer to the SDK's retry with the same key, are lost.
    faults.add_fault(FaultRule(kind="drop_after_commit", method="POST", path=r"^/v1/refunds$", times=2))

    await asyncio.wait_for(
        handle.execute_update(
            SessionWorkflow.cancel,
            CancelRequest(requested_by=Actor.THERAPIST, reason=CancelReason.THERAPIST_UNAVAILABLE),
            id=unique("req"),
        ),
        WAIT,
    )
    done = await result_of(handle)

    assert done.payment.amount_refunded_minor == booking.amount_minor
    assert [
        r["amount"] for r in faults.refunds() if r["metadata"].get("session_id") == booking.session_id
    ] == [booking.amount_minor]
    announced = [
        notification.amount_minor
        for notification in notification_sink.received
        if notification.session_id == booking.session_id
        and notification.type is NotificationType.REFUND_ISSUED
    ]
    assert announced == [booking.amount_minor]
