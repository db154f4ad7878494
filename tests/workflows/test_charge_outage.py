"""An outage is not a decline (issue 11, hazard 4): a charge whose Stripe call never gets an answer
within its whole retry budget uses no decline attempt, tells the client nothing, and is tried again
soon with the same idempotency key; when Stripe is back the session is charged exactly once.

The Stripe call's budget (``STRIPE_SCHEDULE_TO_CLOSE``, an hour in production) is shortened to a
few real seconds here: time skipping never fast-forwards past an activity in flight, so the outage
must outlast the budget on the real clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from prometheus_client import REGISTRY
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from dev.notification_sink import NotificationSink
from dev.stripe_standin import FaultRule, StripeStandIn
from domain.notifications import NotificationType
from domain.payments import ChargeOutcome
from domain.status import PaymentStatus, SessionStatus
from tests.workflows.support import (
    HOUR,
    advance_to,
    intents_for,
    make_booking,
    notices_sent,
    real_now,
    start,
    succeeded_charges,
    wait_for_state,
)

SECOND = timedelta(seconds=1)
BUDGET = timedelta(seconds=4)
"""The shortened retry budget of one Stripe call: a few activity attempts (1 s, 2 s backoff)."""
CREATE_INTENT = r"^/v1/payment_intents$"


@pytest.fixture
def short_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    # workflows.calls is passed through the sandbox, so the workflow reads this very binding.
    monkeypatch.setattr("workflows.calls.STRIPE_SCHEDULE_TO_CLOSE", BUDGET)


@pytest.fixture
def faults(standin: StripeStandIn) -> Iterator[StripeStandIn]:
    yield standin
    standin.clear_faults()


def unavailable_count() -> float:
    value = REGISTRY.get_sample_value(
        "sessionflow_stripe_unavailable_total", {"operation": "charge", "error": "APIError"}
    )
    return value or 0.0


async def test_a_stripe_outage_longer_than_the_retry_budget_is_not_a_decline(
    env: WorkflowEnvironment,
    short_budget: None,
    worker: Worker,
    faults: StripeStandIn,
    notification_sink: NotificationSink,
) -> None:
    booking = make_booking(start=real_now() + 72 * HOUR)
    handle = await start(env.client, booking, worker.task_queue)
    # Stripe answers every charge with a 500, for longer than the call's whole budget.
    faults.add_fault(FaultRule(kind="error_500", method="POST", path=CREATE_INTENT, times=100_000))
    unavailable_before = unavailable_count()

    await advance_to(env, handle, booking.start - 48 * HOUR + SECOND)
    given_up = await wait_for_state(
        handle,
        lambda s: bool(s.payment.attempts) or getattr(s.payment, "unreachable_tries", 0) >= 1,
        "the charge's budget to run out",
    )

    # Not a decline: no attempt used, the session is still due (not failed), nothing told.
    assert given_up.payment.attempts == [], given_up.payment.attempts
    assert given_up.status is SessionStatus.PAYMENT_DUE
    assert given_up.payment.status is PaymentStatus.PROCESSING
    # Only the booking's two notices (issue 12) went out: nothing about the charge.
    assert len(await notices_sent(handle)) == 2
    # Ops see it: on the session, and in the metric.
    assert given_up.payment.unreachable_tries == 1
    assert given_up.payment.unreachable_reason is not None
    assert given_up.payment.unreachable_since is not None
    retry_at = given_up.payment.next_charge_at
    assert retry_at is not None
    assert given_up.payment.unreachable_since + timedelta(minutes=5) <= retry_at
    assert retry_at <= given_up.payment.unreachable_since + timedelta(minutes=6)
    assert unavailable_count() > unavailable_before

    faults.clear_faults()  # Stripe is back
    await advance_to(env, handle, retry_at + SECOND)
    paid = await wait_for_state(handle, lambda s: s.status is SessionStatus.PAID, "the charge")

    [attempt] = paid.payment.attempts
    assert (attempt.number, attempt.outcome) == (1, ChargeOutcome.SUCCEEDED)
    assert paid.payment.unreachable_tries == 0 and paid.payment.unreachable_since is None
    assert len(intents_for(faults, booking.session_id)) == 1
    assert len(succeeded_charges(faults, booking.session_id)) == 1
    keys = {r.idempotency_key for r in faults.requests if booking.session_id in (r.idempotency_key or "")}
    assert keys == {f"session:{booking.session_id}:charge:1"}  # the retry reused the attempt's key
    delivered = await notices_sent(handle)
    # The booking's two notices, then charge_succeeded, and nothing between them.
    assert len(delivered) == 3 and delivered[-1].split(":")[1] == NotificationType.CHARGE_SUCCEEDED
    received = [n.type for n in notification_sink.received if n.session_id == booking.session_id]
    assert NotificationType.CHARGE_FAILED not in received
