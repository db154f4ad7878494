"""docs/retention.md states the bounds of every workflow's life: each figure in its table is the
code's (or the deploy files'), so the page cannot drift from what runs."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import yaml

from domain.disputes import DISPUTE_DECISION_BOUND
from domain.policy import DEFAULT_POLICY, DEFAULT_UNREPORTED_AFTER
from domain.practice import MAX_RELEASED_SLOTS, MAX_REMEMBERED_REQUESTS, OUTCOME_RETENTION
from domain.refunds import REFUND_PERIOD_AFTER_CLOSE
from domain.session import BLOCKED_MONEY_RETRY
from settings import Settings
from workflows.activity_options import NOTIFICATION_SCHEDULE_TO_CLOSE

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "retention.md"
DISPUTE_WINDOW = timedelta(days=120)
"""How long after a charge a cardholder can dispute it under the common card schemes' rules."""


def figure(value: timedelta | int) -> str:
    """A bound as the page writes it: "30 days", "48 h", or a count."""
    if isinstance(value, int):
        return str(value)
    if value % timedelta(days=1) == timedelta(0) and value >= timedelta(days=7):
        return f"{value.days} days"
    assert value % timedelta(hours=1) == timedelta(0)
    return f"{int(value / timedelta(hours=1))} h"


def documented() -> dict[str, str]:
    text = DOC.read_text()
    table = text.split("<!-- retention table")[1].split("<!-- end of the retention table -->")[0]
    rows = re.findall(r"^\| `([a-z_]+)` \| ([^|]+?) \|", table, flags=re.MULTILINE)
    return dict(rows)


def days_default(path: Path, variable: str) -> int:
    """The ``${VARIABLE:-Nd}`` default (or ``VARIABLE=Nd``) a deploy file gives a retention."""
    match = re.search(rf"{variable}(?::-|=)(\d+)d\b", path.read_text())
    assert match, f"{variable} has no default in {path.relative_to(ROOT)}"
    return int(match.group(1))


def test_every_bound_on_the_page_is_the_codes() -> None:
    expected = {
        "namespace_retention": figure(
            timedelta(days=days_default(ROOT / "deploy/temporal/create-namespace.sh", "NAMESPACE_RETENTION"))
        ),
        "refund_period_after_close": figure(REFUND_PERIOD_AFTER_CLOSE),
        "dispute_decision_bound": figure(DISPUTE_DECISION_BOUND),
        "unreported_after": figure(DEFAULT_UNREPORTED_AFTER),
        "last_attendance_reminder": figure(DEFAULT_POLICY.attendance_reminder_offsets[-1]),
        "max_booking_horizon": figure(DEFAULT_POLICY.max_booking_horizon),
        "auto_cancel_before": figure(DEFAULT_POLICY.auto_cancel_before),
        "outage_retries_after_end": figure(DEFAULT_POLICY.stripe_outage_retry_limit_after_end),
        "blocked_money_retry": figure(BLOCKED_MONEY_RETRY),
        "notification_retries": figure(NOTIFICATION_SCHEDULE_TO_CLOSE),
        "practice_outcomes": figure(OUTCOME_RETENTION),
        "practice_remembered_requests": figure(MAX_REMEMBERED_REQUESTS),
        "practice_released_slots": figure(MAX_RELEASED_SLOTS),
    }
    assert documented() == expected


def test_the_deploy_files_agree_on_the_namespace_retention_and_it_outlives_refunds_and_disputes() -> None:
    script = days_default(ROOT / "deploy/temporal/create-namespace.sh", "NAMESPACE_RETENTION")
    compose = days_default(ROOT / "deploy/compose.yaml", "SESSIONFLOW_NAMESPACE_RETENTION")
    example = days_default(ROOT / "deploy/.env.example", "SESSIONFLOW_NAMESPACE_RETENTION")
    assert script == compose == example
    retention = timedelta(days=script)
    # A refund or a dispute of a closed session starts its refunds workflow from the closed history.
    assert retention >= REFUND_PERIOD_AFTER_CLOSE
    assert retention >= DISPUTE_WINDOW


def test_the_unreported_deadline_is_configured_alike_everywhere_and_after_the_last_reminder() -> None:
    configmap = yaml.safe_load((ROOT / "deploy/k8s/configmap.yaml").read_text())["data"]
    compose = re.search(
        r"SESSIONFLOW_UNREPORTED_AFTER_DAYS:-(\d+)\}", (ROOT / "deploy/compose.yaml").read_text()
    )
    assert compose is not None
    days = {
        Settings().unreported_after_days,
        int(configmap["SESSIONFLOW_UNREPORTED_AFTER_DAYS"]),
        int(compose.group(1)),
        DEFAULT_UNREPORTED_AFTER.days,
    }
    assert days == {30}
    assert DEFAULT_POLICY.attendance_reminder_offsets[-1] < DEFAULT_UNREPORTED_AFTER
    assert DEFAULT_POLICY.unreported_after == DEFAULT_UNREPORTED_AFTER


def test_the_page_is_linked_from_both_readmes() -> None:
    assert "docs/retention.md" in (ROOT / "README.md").read_text()
    assert "../docs/retention.md" in (ROOT / "deploy/README.md").read_text()
