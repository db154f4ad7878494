"""Fault case (issue 14 §2): a therapist paused mid-storm. Many sessions of one therapist reach
their charge while Stripe has disabled the therapist's account; it is enabled again in the middle.
Nothing is charged while paused, nobody is declined, every held charge runs once after the resume,
nothing is charged twice. The scenario and its checks: ``faults/paused_storm.py``."""

from __future__ import annotations

import asyncio
import sys

import stripe
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from dev.notification_sink import NotificationSink
from dev.stripe_standin import StripeStandIn
from faults.paused_storm import PausedStormOptions, run_paused_storm

OPTIONS = PausedStormOptions(sessions=20)


async def test_a_therapist_paused_mid_storm_is_never_charged_while_paused_and_each_held_charge_runs_once(
    env: WorkflowEnvironment,
    worker: Worker,
    standin: StripeStandIn,
    notification_sink: NotificationSink,
    stripe_client: stripe.StripeClient,
) -> None:
    report = await asyncio.wait_for(
        run_paused_storm(env.client, worker.task_queue, standin, notification_sink, stripe_client, OPTIONS),
        180,
    )

    sys.stdout.write(f"paused storm: {report.counts}\n")  # shown with `pytest -s`
    assert report.ok, "\n".join(report.violations)
    counts = report.counts
    assert counts["sessions"] == OPTIONS.sessions
    assert counts["held"] >= 1 and counts["charge_requests_while_paused"] == 0
    assert counts["decline_notices"] == 0
    assert counts["charges_succeeded"] == OPTIONS.sessions and counts["duplicates_found"] == 0
