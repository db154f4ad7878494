"""Exactly one PaymentIntent and one successful charge whatever fails in between: Stripe errors,
lost responses, a worker killed mid-charge (idempotency keys from business state)."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
import stripe
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from dev.stripe_standin import FaultRule, RecordedRequest, StripeStandIn
from domain.status import SessionStatus
from settings import Settings
from tests.workflows.support import (
    HOUR,
    WAIT,
    intents_for,
    make_booking,
    real_now,
    running_worker,
    spawn_worker,
    start,
    succeeded_charges,
    wait_for_state,
)

CREATE_INTENT = r"^/v1/payment_intents$"


@pytest.fixture
def faults(standin: StripeStandIn) -> Iterator[StripeStandIn]:
    yield standin
    standin.clear_faults()


def charge_requests(standin: StripeStandIn, session_id: str) -> list[RecordedRequest]:
    key = f"session:{session_id}:charge:1"
    return [r for r in standin.requests if r.idempotency_key == key]


async def test_stripe_500s_are_retried_with_the_same_key_into_one_charge(
    env: WorkflowEnvironment, worker: Worker, faults: StripeStandIn
) -> None:
    # Two 500s exhaust the SDK's own retry; Temporal's activity retry then gets through.
    faults.add_fault(FaultRule(kind="error_500", method="POST", path=CREATE_INTENT, times=2))
    booking = make_booking(start=real_now() + 30 * HOUR)
    handle = await start(env.client, booking, worker.task_queue)

    paid = await wait_for_state(handle, lambda s: s.status is SessionStatus.PAID, "the charge")

    assert len(paid.payment.attempts) == 1
    assert len(intents_for(faults, booking.session_id)) == 1
    assert len(succeeded_charges(faults, booking.session_id)) == 1
    statuses = [r.status for r in charge_requests(faults, booking.session_id)]
    assert statuses == [500, 500, 200]


async def test_a_response_lost_after_stripe_committed_replays_instead_of_charging_twice(
    env: WorkflowEnvironment, worker: Worker, faults: StripeStandIn
) -> None:
    faults.add_fault(FaultRule(kind="drop_after_commit", method="POST", path=CREATE_INTENT, times=2))
    booking = make_booking(start=real_now() + 30 * HOUR)
    handle = await start(env.client, booking, worker.task_queue)

    paid = await wait_for_state(handle, lambda s: s.status is SessionStatus.PAID, "the charge")

    assert len(paid.payment.attempts) == 1
    assert len(intents_for(faults, booking.session_id)) == 1
    assert len(succeeded_charges(faults, booking.session_id)) == 1
    requests = charge_requests(faults, booking.session_id)
    assert [r.status for r in requests] == [None, None, 200]
    assert requests[-1].replayed


async def test_rate_limits_are_retried_by_temporal(
    env: WorkflowEnvironment, worker: Worker, faults: StripeStandIn
) -> None:
    faults.add_fault(FaultRule(kind="rate_limit_429", method="POST", path=CREATE_INTENT, times=1))
    booking = make_booking(start=real_now() + 30 * HOUR)
    handle = await start(env.client, booking, worker.task_queue)

    await wait_for_state(handle, lambda s: s.status is SessionStatus.PAID, "the charge")

    assert [r.status for r in charge_requests(faults, booking.session_id)] == [429, 200]
    assert len(succeeded_charges(faults, booking.session_id)) == 1


async def wait_for_request_held_by_stripe(standin: StripeStandIn, session_id: str) -> None:
    key = f"session:{session_id}:charge:1"
    held = await asyncio.to_thread(standin.wait_until_in_flight, key, WAIT)
    assert held, "the first worker never sent the charge request"


async def test_a_worker_killed_during_the_charge_is_replaced_without_a_second_charge(
    env: WorkflowEnvironment,
    faults: StripeStandIn,
    task_queue: str,
    stripe_client: stripe.StripeClient,
    settings: Settings,
    tmp_path: Path,
) -> None:
    # Stripe is slow to answer: the first worker dies while its request is in flight, after
    # Stripe has received it. The charge commits anyway.
    faults.add_fault(FaultRule(kind="delay", method="POST", path=CREATE_INTENT, times=1, delay_seconds=3.0))
    first = spawn_worker(env, task_queue, faults, tmp_path / "worker-1.log")
    try:
        booking = make_booking(start=real_now() + 30 * HOUR)
        handle = await start(env.client, booking, task_queue)
        await wait_for_request_held_by_stripe(faults, booking.session_id)
        first.send_signal(signal.SIGKILL)
        assert first.wait(timeout=WAIT) == -signal.SIGKILL
    finally:
        if first.poll() is None:
            first.kill()

    async with running_worker(env.client, task_queue, stripe_client, settings):
        # The activity's start-to-close timeout (20 s) hands the charge to this worker.
        paid = await wait_for_state(
            handle, lambda s: s.status is SessionStatus.PAID, "the charge", timeout=60
        )

    assert len(paid.payment.attempts) == 1
    assert len(intents_for(faults, booking.session_id)) == 1
    assert len(succeeded_charges(faults, booking.session_id)) == 1
    requests = charge_requests(faults, booking.session_id)
    assert len(requests) == 2 and requests[1].replayed
