"""What the alert, dashboard and monitoring tests share: promtool, the rule files, the metric names
an expression reads, and the metrics deploy/README.md documents."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = ROOT / "deploy" / "prometheus"
ALERTS = PROMETHEUS / "alerts.yaml"
ALERT_TESTS = (PROMETHEUS / "alerts_test.yaml", PROMETHEUS / "alerts_test_hours.yaml")
"""promtool unit tests: minute by minute, and over hours (evaluated every 10 minutes, to stay fast)."""
DASHBOARD = ROOT / "deploy" / "grafana" / "sessionflow.json"
DEPLOY_README = ROOT / "deploy" / "README.md"

ALERT_NAMES = frozenset(
    {
        "TemporalWorkflowScheduleToStartHigh",
        "TemporalActivityScheduleToStartHigh",
        "TemporalWorkflowTaskFailing",
        "TemporalNondeterminism",
        "TemporalStickyCacheMisses",
        "TemporalRequestsThrottled",
        "SessionPaymentDueTooLong",
        "SessionMoneyBlockedOnCancelled",
        "SessionAttendanceUpdateOverdue",
        "NotificationDeliveryFailing",
        "PracticeStateNearLimit",
        "StripeRateLimited",
    }
)
"""Fixed for issue 15: each has its runbook, deploy/runbooks/<name>.md."""
RUNBOOK_URL = "https://github.com/sessionflow/sessionflow/blob/main/deploy/runbooks/{}.md"

_METRIC = re.compile(r"\b((?:temporal|sessionflow)_[a-z0-9_]+)\b")
_HISTOGRAM_SERIES = re.compile(r"_(bucket|count|sum)$")


def promtool(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """Run promtool; fails (never skips) the test where it is missing."""
    binary = shutil.which("promtool")
    if binary is None:
        pytest.fail(
            "promtool is missing: install Debian's prometheus package (`apt-get install prometheus`; "
            ".ci/run does) — the alert rules are checked with it"
        )
    return subprocess.run(
        [binary, *map(str, args)], capture_output=True, text=True, timeout=60, check=False, cwd=ROOT
    )


def alert_rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load(ALERTS.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def metric_names(expr: str) -> set[str]:
    """The metric families an expression reads (a histogram's _bucket/_count/_sum as its family)."""
    return {_HISTOGRAM_SERIES.sub("", name) for name in _METRIC.findall(expr)}


def documented_metrics() -> set[str]:
    """The metric names deploy/README.md's "Alerts and dashboards" section lists."""
    text = DEPLOY_README.read_text()
    section = text.split("## Alerts and dashboards", 1)[1].split("\n## ", 1)[0]
    return {_HISTOGRAM_SERIES.sub("", name) for name in _METRIC.findall(section)}
