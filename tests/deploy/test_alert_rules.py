"""deploy/prometheus/alerts.yaml: valid for promtool, unit-tested by promtool (alerts_test.yaml shows
every alert firing and not firing), exactly the alerts the runbooks are named after, each with its
severity, text and runbook, reading only metrics that are documented."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from contract.metrics import (
    HISTOGRAM_BUCKETS,
    PRACTICE_STATE_BYTES,
    PRACTICE_STATE_PAGE_BYTES,
    PRACTICE_STATE_WARN_BYTES,
)
from tests.deploy.alerting import (
    ALERT_NAMES,
    ALERT_TESTS,
    ALERTS,
    RUNBOOK_URL,
    alert_rules,
    documented_metrics,
    metric_names,
    promtool,
)

CODE_LABELS = frozenset(
    {"namespace", "task_queue", "workflow_type", "failure_reason", "operation", "resource", "condition"}
)
"""Labels an annotation may quote: codes the processes export, never an id."""


def test_the_alert_rules_pass_promtool_check() -> None:
    checked = promtool("check", "rules", ALERTS)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS" in checked.stdout


def test_every_alert_behaves_as_its_promtool_unit_tests_say() -> None:
    tested = promtool("test", "rules", *ALERT_TESTS)
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_promtool_check_would_catch_a_broken_rule(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        yaml.safe_dump({"groups": [{"name": "g", "rules": [{"alert": "A", "expr": "rate(x[5m]"}]}]})
    )
    assert promtool("check", "rules", broken).returncode != 0


def test_the_rules_are_exactly_the_alerts_the_runbooks_are_named_after() -> None:
    assert {rule["alert"] for rule in alert_rules()} == ALERT_NAMES


def test_every_alert_has_a_severity_a_summary_a_description_and_its_runbook() -> None:
    for rule in alert_rules():
        name = rule["alert"]
        assert rule["labels"]["severity"] in {"page", "ticket"}, name
        annotations = rule["annotations"]
        assert set(annotations) == {"summary", "description", "runbook_url"}, name
        assert annotations["runbook_url"] == RUNBOOK_URL.format(name)


def test_annotations_quote_only_code_labels() -> None:
    for rule in alert_rules():
        for text in rule["annotations"].values():
            quoted = set(re.findall(r"\$labels\.(\w+)", text))
            assert quoted <= CODE_LABELS, (rule["alert"], quoted - CODE_LABELS)


def test_every_alert_is_shown_firing_and_not_firing() -> None:
    firing: set[str] = set()
    quiet: set[str] = set()
    cases = [case for path in ALERT_TESTS for case in yaml.safe_load(path.read_text())["tests"]]
    for case in cases:
        for check in case["alert_rule_test"]:
            (firing if check["exp_alerts"] else quiet).add(check["alertname"])
            for expected in check["exp_alerts"]:
                # A firing case states what the alert carries, not only that it fires.
                assert expected["exp_labels"]["severity"] in {"page", "ticket"}
                assert set(expected["exp_annotations"]) == {"summary", "description", "runbook_url"}
    assert firing == ALERT_NAMES
    assert quiet == ALERT_NAMES


def test_every_metric_the_rules_read_is_documented() -> None:
    used = set().union(*(metric_names(rule["expr"]) for rule in alert_rules()))
    assert used, "no metric found in the rules"
    assert used <= documented_metrics(), sorted(used - documented_metrics())


def test_the_practice_state_alerts_read_buckets_the_workflow_records() -> None:
    # A bucket the histogram does not have would never count anything, and the alert never fire.
    practice = [rule for rule in alert_rules() if rule["alert"] == "PracticeStateNearLimit"]
    expressions = {rule["labels"]["severity"]: rule["expr"] for rule in practice}
    assert f'le="{PRACTICE_STATE_WARN_BYTES}"' in expressions["ticket"]
    assert f'le="{PRACTICE_STATE_PAGE_BYTES}"' in expressions["page"]
    buckets = set(HISTOGRAM_BUCKETS[PRACTICE_STATE_BYTES])
    assert {PRACTICE_STATE_WARN_BYTES, PRACTICE_STATE_PAGE_BYTES} <= buckets
