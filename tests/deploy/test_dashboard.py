"""deploy/grafana/sessionflow.json: a dashboard Grafana imports (its required fields, unique panel
ids), whose every query is valid PromQL (checked by promtool as recording rules), reads only
documented metrics, and shows the signal of every alert."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from tests.deploy.alerting import ALERT_NAMES, DASHBOARD, documented_metrics, metric_names, promtool

TEMPLATE_VALUES = {"$namespace": ".*"}
"""Grafana's variables, as the query reaches Prometheus with "All" selected."""


def dashboard() -> dict[str, Any]:
    loaded = json.loads(DASHBOARD.read_text())
    assert isinstance(loaded, dict)
    return loaded


def queries() -> list[tuple[str, str]]:
    """(panel id and refId, expression) of every panel target."""
    found = []
    for panel in dashboard()["panels"]:
        for target in panel.get("targets", []):
            expr = target["expr"]
            for variable, value in TEMPLATE_VALUES.items():
                expr = expr.replace(variable, value)
            found.append((f"{panel['id']}_{target['refId']}", expr))
    return found


def test_the_dashboard_has_what_grafana_needs_to_import_it() -> None:
    board = dashboard()
    for field in ("uid", "title", "schemaVersion", "panels", "templating", "time"):
        assert field in board, field
    assert {variable["name"] for variable in board["templating"]["list"]} >= {"datasource"}
    for panel in board["panels"]:
        assert {"id", "type", "title", "gridPos"} <= set(panel), panel.get("title")
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        if panel["type"] != "row":
            assert panel["datasource"]["type"] == "prometheus", panel["title"]
            refs = [target["refId"] for target in panel["targets"]]
            assert refs and len(refs) == len(set(refs)), panel["title"]


def test_panel_ids_are_unique() -> None:
    ids = [panel["id"] for panel in dashboard()["panels"]]
    assert len(ids) == len(set(ids))


def test_every_query_is_valid_promql(tmp_path: Path) -> None:
    rules = [{"record": f"dashboard:panel_{ref}", "expr": expr} for ref, expr in queries()]
    assert rules
    path = tmp_path / "dashboard_rules.yaml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    checked = promtool("check", "rules", path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(rules)} rules found" in checked.stdout


def test_a_broken_query_would_fail_the_check(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    rule = {"record": "dashboard:broken", "expr": "sum by (le (rate(temporal_request[5m]))"}
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": [rule]}]}))
    assert promtool("check", "rules", path).returncode != 0


def test_every_metric_the_dashboard_reads_is_documented() -> None:
    used = set().union(*(metric_names(expr) for _, expr in queries()))
    assert used <= documented_metrics(), sorted(used - documented_metrics())


def test_every_alert_has_a_panel_showing_its_signal() -> None:
    descriptions = " ".join(panel.get("description", "") for panel in dashboard()["panels"])
    assert {name for name in ALERT_NAMES if name in descriptions} == ALERT_NAMES
