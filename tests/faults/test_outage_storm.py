"""Fault case (issue 11, hazard 4): a Stripe outage longer than a Stripe call's retry budget during a
storm of charges for sessions with the same start. No false decline, nothing charged twice, every
charge spread after start − 48 h. The scenario and its checks: ``faults/outage_storm.py``.

Uses the suite-wide dev server, stand-in and sink like the workflow tests; the Stripe call's budget
(an hour in production) is shortened to seconds so the outage can outlast it on the real clock.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from datetime import timedelta

import pytest
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from dev.notification_sink import NotificationSink
from dev.stripe_standin import StripeStandIn
from faults.outage_storm import StormOptions, run_outage_storm

OPTIONS = StormOptions(sessions=20)


@pytest.fixture
def short_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    # workflows.calls is passed through the sandbox, so the workflow reads this very binding.
    monkeypatch.setattr("workflows.calls.STRIPE_SCHEDULE_TO_CLOSE", timedelta(seconds=4))


@pytest.fixture
def faults(standin: StripeStandIn) -> Iterator[StripeStandIn]:
    yield standin
    standin.clear_faults()


async def test_an_outage_during_a_charge_storm_declines_nobody_and_charges_each_once(
    env: WorkflowEnvironment,
    short_budget: None,
    worker: Worker,
    faults: StripeStandIn,
    notification_sink: NotificationSink,
) -> None:
    report = await asyncio.wait_for(
        run_outage_storm(env.client, worker.task_queue, faults, notification_sink, OPTIONS), 240
    )

    sys.stdout.write(f"outage storm: {report.counts}\n")  # shown with `pytest -s`
    assert report.ok, "\n".join(report.violations)
    counts = report.counts
    assert counts["sessions"] == OPTIONS.sessions
    assert counts["charges_given_up_in_the_outage"] == OPTIONS.sessions
    assert counts["false_decline_notices"] == 0
    assert counts["charges_succeeded"] == OPTIONS.sessions and counts["duplicates_found"] == 0
    assert counts["distinct_charge_instants"] > 1  # spread, not one storm
