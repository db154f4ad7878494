"""The bench's targets as issue 13 states them: ratios of one run, from made-up figures (no server,
no timings)."""

from __future__ import annotations

import re
from typing import Any

from bench.__main__ import actions_cost, api_update_ratio, lifecycle_billing, parse_args, results, table
from bench.baseline import Baseline
from bench.capacity import Capacity
from bench.lanes import Phase
from bench.lifecycle import Lifecycle, Window

MIB = 1024 * 1024


def _phase(name: str, *, ok: int = 100, seconds: float = 10.0, p99_s: float = 0.2) -> Phase:
    """``ok`` items in ``seconds``, the slowest 1 % taking ``p99_s``."""
    latencies = tuple(sorted([p99_s / 2] * (ok - ok // 100) + [p99_s] * (ok // 100)))
    return Phase(name, ok, 50, seconds, ok, {}, latencies)


def _baseline(*, starts_per_second: float = 100.0, update_p99_s: float = 0.2) -> Baseline:
    return Baseline(
        throughput=_phase("minimal workflow", ok=300, seconds=6.0),
        server_cpu_cores=1.0,
        worker_cpu_cores=0.5,
        cpu_seconds_per_workflow=0.03,
        parked=_phase("start parked"),
        update=_phase("bare update", p99_s=update_p99_s),
        worker_rss_before=100 * MIB,
        worker_rss_parked=105 * MIB,
        worker_rss_updated=106 * MIB,
        starts=_phase("parked starts", ok=300, seconds=300 / starts_per_second),
        starts_server_cpu_cores=1.2,
        starts_worker_cpu_cores=0.4,
        sample_workflow_ids=("bm-0", "bu-0", "bp-0"),
    )


def _lifecycle(*, attendance_p99_s: float, bookings_per_second: float = 25.0) -> Lifecycle:
    history: dict[str, object] = {"total": 16, "all_samples": [16, 16, 16], "by_kind": {"timer_started": 3}}
    return Lifecycle(
        sessions=100,
        concurrency=50,
        per_therapist=1,
        charge_offset_seconds=5.0,
        book=_phase("book", seconds=100 / bookings_per_second),
        attendance=_phase("attendance", p99_s=attendance_p99_s),
        windows=(Window("book", 4.0, 4.0, 2.0), Window("charge", 3.0, 3.0, 1.0)),
        charged=100,
        charged_before_timer=0,
        follow_ups_booked=100,
        worker_rss_before=200 * MIB,
        worker_rss_parked=205 * MIB,
        worker_rss_charged=210 * MIB,
        actions={"session lifecycle": history},
    )


def _capacity(*, parks_per_second: float) -> Capacity:
    return Capacity(
        sessions=1000,
        per_therapist=20,
        park=_phase("park", ok=1000, seconds=1000 / parks_per_second),
        cancel=_phase("cancel storm", ok=1000),
        server_rss_before=0,
        server_rss_parked=MIB,
        worker_rss_before=0,
        worker_rss_parked=MIB,
        db_bytes_before=0,
        db_bytes_parked=MIB,
        worker_cache=1000,
        actions={"total": 3},
    )


def _api(*, cancel_p99_ms: float, attendance_p99_ms: float) -> dict[str, Any]:
    def phase(p99: float) -> dict[str, Any]:
        return {"p50_ms": p99 / 2, "p99_ms": p99, "statuses": {"200": 49, "409": 1}, "refusals": {"409 x": 1}}

    return {
        "cancel": phase(cancel_p99_ms),
        "attendance": phase(attendance_p99_ms),
        "baseline": phase(10.0),
    }


def _run(
    *,
    attendance_p99_s: float = 0.3,
    api: dict[str, Any] | None = None,
    capacity: Capacity | None = None,
    bookings_per_second: float = 25.0,
) -> dict[str, Any]:
    return results(
        parse_args(["--quick"]),
        {"cpus": 2},
        _baseline(),
        {},
        _lifecycle(attendance_p99_s=attendance_p99_s, bookings_per_second=bookings_per_second),
        api,
        capacity,
        100.0,
    )


def test_an_attendance_update_passes_up_to_one_and_a_half_times_the_bare_updates_p99() -> None:
    assert _run(attendance_p99_s=0.3)["targets"]["update_p99"] == {
        "ratio": 1.5,
        "target": "<= 1.5",
        "verdict": "PASS",
    }
    assert _run(attendance_p99_s=0.32)["targets"]["update_p99"]["verdict"] == "MISS"


def test_the_api_attendance_p99_is_judged_against_the_api_cancel_p99_of_the_same_run() -> None:
    targets = _run(api=_api(cancel_p99_ms=800.0, attendance_p99_ms=1200.0))["targets"]
    assert targets["api_update_p99"] == {"ratio": 1.5, "target": "<= 1.5", "verdict": "PASS"}
    missed = _run(api=_api(cancel_p99_ms=800.0, attendance_p99_ms=2000.0))["targets"]["api_update_p99"]
    assert (missed["ratio"], missed["verdict"]) == (2.5, "MISS")
    # The API phase skipped (--api-requests 0): no ratio, no verdict.
    assert _run(api=None)["targets"]["api_update_p99"]["verdict"] == "n/a"
    assert api_update_ratio(None) is None


def test_the_park_rate_is_set_against_the_minimal_workflows_start_rate_without_a_verdict() -> None:
    without_capacity = _run(bookings_per_second=25.0)["targets"]
    assert without_capacity["booking_rate"] == {"ratio": 0.25, "target": "-", "verdict": "info"}
    assert without_capacity["capacity_park_rate"]["verdict"] == "n/a"
    with_capacity = _run(capacity=_capacity(parks_per_second=40.0))["targets"]
    assert with_capacity["capacity_park_rate"]["ratio"] == 0.4


def test_a_thousand_lifecycles_cost_their_billed_actions_at_fifty_dollars_a_million() -> None:
    assert actions_cost(18) == 0.9
    assert actions_cost(10, sessions=1_000_000) == 500.0
    billing = lifecycle_billing({"session lifecycle": {"total": 16}}, {"a query": 1})
    assert billing is not None
    assert (billing["actions_billed"], billing["usd_per_1000_sessions"]) == (17, 0.85)
    assert lifecycle_billing({}, {}) is None


def test_the_table_prints_every_ratio_of_the_run_and_the_lifecycles_cost() -> None:
    printed = table(
        _run(
            api=_api(cancel_p99_ms=800.0, attendance_p99_ms=1200.0), capacity=_capacity(parks_per_second=40.0)
        )
    )
    for label in (
        "attendance update p99 ÷ bare update p99",
        "API attendance p99 ÷ API cancel p99",
        "booking storm rate ÷ minimal parked starts/s",
        "capacity park rate ÷ minimal parked starts/s",
        "minimal parked starts/s",
    ):
        assert label in printed
    # 16 Actions in the history and no query (the paths count none since the follow-up claims its time
    # by a practice update): $0.80.
    assert re.search(r"Actions cost per 1,000 sessions +\$0\.80 ", printed)
    assert re.search(
        r"API attendance p50 / p99 \(ms\) +600.0 / 1200.0  \{'200': 49, '409': 1\} \{'409 x': 1\}", printed
    )
