"""A session whose charge was still held when it started (its therapist's account paused,
``therapist_paused_at_start``) is not closed at the unreported deadline: the resume would still
charge it. On a real server with time skipping; the rule is pinned at unit speed in
``tests/unit/test_unreported_held_charge.py``.

A held session reaches its start when its last look at the account (start − 1 h) gets no answer
from Stripe until after the start: the look is tried again (5, 15, 30 min, 1 h later), and the
held answer that comes after the start lets the session go ahead, held. The Stripe call's budget
is shortened to a few real seconds as in ``test_charge_outage.py`` (time skipping never
fast-forwards past an activity in flight)."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import pytest
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from dev.stripe_standin import FaultRule, StripeStandIn
from domain.payments import AccountChargesFact
from domain.status import PaymentStatus, SessionStatus
from tests.workflows.support import (
    HOUR,
    WAIT,
    advance_to,
    make_booking,
    real_now,
    result_of,
    start,
    succeeded_charges,
    wait_for_state,
)
from tests.workflows.test_paused_therapist import _practice_with_account
from workflows.session import SessionWorkflow

SECOND = timedelta(seconds=1)
DAY = 24 * HOUR
DEADLINE = 30 * DAY


@pytest.fixture
def short_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("workflows.calls.STRIPE_SCHEDULE_TO_CLOSE", timedelta(seconds=4))


async def test_a_session_held_at_its_start_waits_past_its_unreported_deadline_and_is_charged_on_resume(
    env: WorkflowEnvironment,
    short_budget: None,
    worker: Worker,
    standin: StripeStandIn,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="temporalio.workflow")
    account_id = standin.create_account()["id"]
    therapist_id = await _practice_with_account(env, worker.task_queue, account_id)
    booking = make_booking(start=real_now() + 72 * HOUR, therapist_id=therapist_id)
    handle = await start(env.client, booking, worker.task_queue)
    standin.set_account_status(account_id, charges_enabled=False, disabled_reason="requirements.past_due")
    await advance_to(env, handle, booking.start - 12 * HOUR + SECOND)
    await wait_for_state(handle, lambda s: s.payment.next_charge_at is None, "held at − 12 h")
    # Stripe does not answer the account read of the last look, until after the start.
    account = rf"^/v1/accounts/{account_id}$"
    standin.add_fault(FaultRule(kind="error_500", method="GET", path=account, times=100_000))
    try:
        await advance_to(env, handle, booking.start + 30 * 60 * SECOND)
    finally:
        standin.clear_faults()
    await advance_to(env, handle, booking.start + 2 * HOUR)
    held = await wait_for_state(
        handle, lambda s: s.payment.ops_blocked == "therapist_paused_at_start", "held at the start"
    )
    assert held.payment.status is PaymentStatus.ON_HOLD

    await advance_to(env, handle, booking.end + DEADLINE + DAY)
    waiting = await wait_for_state(handle, lambda s: s.reminders_sent == 3, "past the deadline")
    assert waiting.status is SessionStatus.AWAITING_UPDATE and waiting.payment.status is PaymentStatus.ON_HOLD
    description = await asyncio.wait_for(handle.describe(), WAIT)
    assert description.status is not None and description.status.name == "RUNNING"  # not closed
    # Ops are told at the deadline, with opaque ids and the machine code only.
    [told] = [r for r in caplog.records if "waiting for the held charge's resume" in r.getMessage()]
    assert told.levelno == logging.WARNING
    assert (told.__dict__["session_id"], told.__dict__["reason"]) == (
        booking.session_id,
        "therapist_paused_at_start",
    )

    standin.set_account_status(account_id, charges_enabled=True, disabled_reason=None)
    fact = AccountChargesFact(account_id=account_id, charges_enabled=True)
    await asyncio.wait_for(handle.signal(SessionWorkflow.payment_account_event, fact), WAIT)
    final = await result_of(handle)

    assert final.status is SessionStatus.UNREPORTED
    assert final.payment.status is PaymentStatus.PAID
    assert len(succeeded_charges(standin, booking.session_id)) == 1
