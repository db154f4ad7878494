"""Fault case (issue 14 §4): disputes arriving out of order. Every session ends with its dispute's
final status and no refund is made against a disputed charge. The scenario and its checks:
``faults/dispute_storm.py``.

Uses the suite-wide dev server, worker and stand-in like the workflow tests, with the API served
over real HTTP: the stand-in signs and posts Stripe's events to it, shuffled and repeated.
"""

from __future__ import annotations

import asyncio
import sys

import stripe
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from api.app import create_app
from dev.stripe_standin import StripeStandIn
from faults.dispute_storm import DisputeStormOptions, run_dispute_storm
from settings import Settings
from tests.api.serving import serving

OPTIONS = DisputeStormOptions(sessions=24)


async def test_disputes_delivered_shuffled_and_twice_end_in_their_final_status_with_no_refund_while_disputed(
    env: WorkflowEnvironment,
    worker: Worker,
    standin: StripeStandIn,
    stripe_client: stripe.StripeClient,
    settings: Settings,
) -> None:
    app = create_app(settings, client=env.client)
    async with serving(app) as url:
        report = await asyncio.wait_for(
            run_dispute_storm(
                env.client,
                worker.task_queue,
                standin,
                stripe_client,
                f"{url}/v1/stripe/webhook",
                settings.stripe_webhook_secret.get_secret_value(),
                OPTIONS,
            ),
            240,
        )

    sys.stdout.write(f"dispute storm: {report.counts}\n")  # shown with `pytest -s`
    assert report.ok, "\n".join(report.violations)
    counts = report.counts
    assert counts["sessions"] == OPTIONS.sessions
    assert counts["won"] + counts["lost"] == OPTIONS.sessions and counts["won"] and counts["lost"]
    assert counts["deliveries"] > counts["dispute_events"]  # duplicates were delivered
    assert counts["overtaken"] > 0  # and out of order
    assert counts["refunds"] == counts["won"]
    assert counts["refunds_refused_charge_disputed"] == 0
    assert counts["on_connected_accounts"] == OPTIONS.sessions // 2  # Connect events, direct charges
