"""The fault-injection suite, reduced: ~50 lifecycles under every kind of fault, zero violations.

The same code as ``make faults`` (``python -m faults``), on its own stack: a Temporal dev server
on its own SQLite file and free ports (never 7233/8233 or the suite-wide test environment), the
worker and two API replicas as processes, the Stripe stand-in, the notification sink and the
webhook relay. One policy hour lasts one second, so lifecycles take about a minute; the run
takes ~1.5 minutes on 2 idle cores. The seeded mix includes ``paid_at_the_wire`` lifecycles (an
on-session payment just before the auto-cancel, its webhook held until after it). Every await
inside is bounded (the suite's own deadlines, and ``asyncio.wait_for`` around the whole run).
"""

from __future__ import annotations

import asyncio
import io
import sys
from pathlib import Path

import pytest

from faults.scripts import LifecyclePath
from faults.suite import SuiteOptions, run_suite

LIFECYCLES = 50
# The run's own bound; pytest-timeout's (above it) only catches a hang outside the event loop.
RUN_LIMIT_SECONDS = 420


@pytest.mark.timeout(RUN_LIMIT_SECONDS + 60)
async def test_sessions_keep_their_money_guarantees_under_faults(tmp_path: Path) -> None:
    options = SuiteOptions(
        lifecycles=LIFECYCLES,
        seed=20270328,
        concurrency=200,  # all in flight together: launched over ~15 s
        kills=1,
        restarts=1,
        outages=2,  # one refusing connections, one answering 503
        hour_seconds=1.0,
        settle_seconds=120.0,
        data_dir=tmp_path / "faults",
    )
    out = io.StringIO()

    report = await asyncio.wait_for(run_suite(options, out), RUN_LIMIT_SECONDS)
    report.print(sys.stdout)  # the counts, shown with `pytest -s` (and on failure)

    counts = report.counts
    listing = "\n".join(f"{v.session_id}: {v.reason}" for v in report.violations)
    assert report.ok, f"{len(report.violations)} violations:\n{listing}\n{out.getvalue()}"
    assert counts["lifecycles"] == LIFECYCLES
    assert counts["worker_kills"] >= 1
    assert counts["server_restarts"] >= 1
    assert sum(counts["notification_outages"].values()) == 2
    assert sum(counts["stripe_faults_injected"].values()) > 0
    webhooks = counts["webhooks_relayed"]
    assert webhooks["sent_twice"] > 0 and webhooks["overtaken"] > 0 and webhooks["redelivered_at_end"] > 0
    assert set(counts["lifecycle_paths"]) == {path.value for path in LifecyclePath}
    # Paid on-session just before the auto-cancel, its webhook held past it.
    assert counts["lifecycle_paths"]["paid_at_the_wire"] >= 1
    assert webhooks["held_for_a_session"] >= counts["lifecycle_paths"]["paid_at_the_wire"]
    assert counts["charges_succeeded"] > 0 and counts["refunds"] > 0
    assert counts["duplicates_found"] == 0
    assert counts["replay_failures"] == 0
    assert counts["histories_replayed"] >= counts["session_workflows"]
    assert counts["notifications_scheduled"] > 0
