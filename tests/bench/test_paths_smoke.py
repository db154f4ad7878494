"""``bench.paths`` without a server: the paths it drives, how a path's billed total is made up,
the price, and the reading of the clients' call counter. Counts only, never timings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bench.lifecycle import compressed_policy
from bench.paths import (
    PATHS,
    attendance_body,
    cost_per_thousand,
    path_runs,
    path_total,
    table,
)
from domain.booking import check_booking
from domain.ids import is_opaque_id
from temporal_client.call_metrics import CALLS, TEMPORAL_CALLS, parse_calls

SESSION_KINDS = {
    "WORKFLOW_EXECUTION_STARTED": 1,
    "TIMER_STARTED": 3,
    "WORKFLOW_EXECUTION_UPDATE_ACCEPTED": 1,
    "WORKFLOW_EXECUTION_SIGNALED": 1,
    "CHANGE_VERSION_UPSERT": 2,
}


def test_every_path_the_issue_names_is_driven_each_with_its_own_opaque_session_and_therapist() -> None:
    runs = path_runs("abc123")
    assert [run.name for run in runs] == [name for name, _ in PATHS]
    assert {name for name, _ in PATHS} >= {
        "free cancel",
        "late cancel",
        "declined then paid",
        "SCA",
        "no-show",
        "ended relationship",
        "full lifecycle",
    }
    assert len({run.therapist_id for run in runs}) == len(runs)  # one practice per path
    now = datetime.now(UTC)
    policy = compressed_policy(timedelta(seconds=5))
    for run in runs:
        assert all(is_opaque_id(i) for i in (run.session_id, run.therapist_id, run.client_id))
        check_booking(run.booking(now + timedelta(seconds=10)), now, policy)


def test_the_attendance_update_says_what_each_path_is() -> None:
    assert attendance_body("no-show") == {"outcome": "client_no_show"}
    assert attendance_body("ended relationship")["end_relationship"] is True
    assert attendance_body("full lifecycle") == {
        "outcome": "attended",
        "continue_sessions": "same_time",
        "client_agreed": True,
    }


def test_a_paths_total_adds_queries_and_rejected_updates_to_the_histories_never_a_signal_twice() -> None:
    practice = {"WORKFLOW_EXECUTION_UPDATE_ACCEPTED": 2}
    calls = {"query": 1, "signal": 1, "update": 2, "update_with_start": 2, "describe": 3, "list": 1}

    parts = path_total(SESSION_KINDS, practice, 0, calls)

    # 6 in the session's history (the change-version upserts exempt), 2 in the practice's, the
    # query, and the one update sent that no history accepted; the signal is in the history.
    assert parts == {
        "session_history": 6,
        "practice": 2,
        "follow_up_start": 0,
        "queries": 1,
        "rejected_updates": 1,
        "total": 10,
    }


def test_a_thousand_sessions_of_twenty_actions_cost_a_dollar_at_the_list_price() -> None:
    assert cost_per_thousand(20) == 1.0
    assert cost_per_thousand(10) == 0.5


def test_the_call_counter_shows_every_kind_and_reads_back_from_its_exposition() -> None:
    text = (
        "# TYPE sessionflow_temporal_calls_total counter\n"
        'sessionflow_temporal_calls_total{call="query"} 3.0\n'
        'sessionflow_temporal_calls_total{call="signal"} 1.0\n'
        'sessionflow_temporal_calls_created{call="query"} 1.7e9\n'
    )
    assert parse_calls(text) == {"query": 3.0, "signal": 1.0}
    [metric] = TEMPORAL_CALLS.collect()
    assert set(CALLS) <= {sample.labels["call"] for sample in metric.samples}


def test_the_table_prints_one_row_per_path_with_its_cost() -> None:
    row = {
        "path": "full lifecycle",
        "billed": path_total(SESSION_KINDS, {}, 1, {}),
        "client_calls": dict.fromkeys(
            ("query", "signal", "update", "update_with_start", "start", "describe", "list"), 0
        ),
        "session_history": {"by_kind": {"timer_started": 3}},
        "usd_per_1000_sessions": 0.35,
        "closed": True,
    }
    printed = table({"paths": [row], "price_usd_per_million_actions": 50.0})
    assert "full lifecycle" in printed and "0.35" in printed and "$50 per million" in printed
