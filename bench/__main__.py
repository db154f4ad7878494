"""``python -m bench`` (``make bench``): Sessionflow against the engine's own ceiling, in one run.

On one fresh dev server it starts itself (temporary directory, free ports): (a) the baseline — a
minimal workflow and a bare update through a worker process like ours; (b) the full session
lifecycle through the real worker and the Stripe stand-in; (d) the API over real HTTP; (e) the
Actions of one session per path (``bench.paths``); (c) the capacity run — many sessions parked on
their charge timers, then a cancel storm. Prints a table
with the targets as ratios (PASS/MISS, informational) and writes JSON to ``bench/results/``.
See ``bench/README.md`` for what each figure means.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import time
import traceback
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any

from bench import api_latency
from bench.baseline import Baseline, run_baseline
from bench.capacity import Capacity, run_capacity
from bench.lanes import ratio
from bench.lifecycle import Lifecycle, actions_of, run_lifecycle
from bench.paths import run_paths
from bench.paths import table as paths_table
from bench.sink import TimingSink
from bench.stack import BenchStack, machine
from domain.notifications import NotificationType
from settings import LOCAL_API_TOKEN, Settings

RESULTS_DIR = Path(__file__).parent / "results"
KIB = 1024

# Targets from issues 6 and 13, as ratios measured in the same run.
TARGET_THROUGHPUT = 0.9  # lifecycle sessions/s ≥ 0.9 × minimal workflows/s (issue 6)
TARGET_UPDATE_P99 = 1.5  # attendance update p99 ≤ 1.5 × bare update p99 (issue 13)
TARGET_API_UPDATE_P99 = 1.5  # API attendance p99 ≤ 1.5 × API cancel p99 (issue 13)
TARGET_MEMORY = 1.0  # worker RSS per cached session ≤ the minimal workflow's
# Booking throughput (the park rate) ÷ the minimal parked workflow's start rate: issue 13 asks for
# the ratio, with no target, so it is printed without a verdict.
USD_PER_MILLION_ACTIONS = 50.0
"""Temporal Cloud's list price (from $50 per million Actions; shared/reference/temporal.md §5.3)."""


@dataclass(frozen=True)
class Options:
    sessions: int
    concurrency: int
    baseline_workflows: int
    capacity: int  # 0: skipped
    per_therapist: int
    capacity_per_therapist: int
    charge_offset: timedelta
    api_requests: int  # 0: skipped
    quick: bool
    keep: bool


def parse_args(argv: Sequence[str] | None) -> Options:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__.splitlines()[0] if __doc__ else ""
    )
    parser.add_argument("--quick", action="store_true", help="small counts, no capacity run: ~4 minutes")
    parser.add_argument("--sessions", type=int, help="lifecycle sessions (default 500; quick 100)")
    parser.add_argument("--concurrency", type=int, default=50, help="requests in flight (default 50)")
    parser.add_argument("--baseline-workflows", type=int, help="minimal workflows (default 1000; quick 300)")
    parser.add_argument("--capacity", type=int, help="sessions parked for the capacity run (default 20000)")
    parser.add_argument("--skip-capacity", action="store_true", help="no capacity run (quick skips it too)")
    parser.add_argument(
        "--api-requests", type=int, help="cancel and attendance requests (default 200; quick 50; 0 skips)"
    )
    parser.add_argument(
        "--per-therapist",
        type=int,
        default=10,
        help="warm-up sessions per therapist (the storm books one each: one session at a time)",
    )
    parser.add_argument(
        "--charge-offset", type=float, help="seconds that stand for 48 h (default 10; quick 5)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, SQLite)")
    args = parser.parse_args(argv)
    quick = bool(args.quick)
    capacity = args.capacity if args.capacity is not None else (0 if quick else 20_000)
    options = Options(
        sessions=args.sessions or (100 if quick else 500),
        concurrency=args.concurrency,
        baseline_workflows=args.baseline_workflows or (300 if quick else 1000),
        capacity=0 if args.skip_capacity else capacity,
        per_therapist=args.per_therapist,
        capacity_per_therapist=20,
        charge_offset=timedelta(seconds=args.charge_offset or (5.0 if quick else 10.0)),
        api_requests=args.api_requests if args.api_requests is not None else (50 if quick else 200),
        quick=quick,
        keep=bool(args.keep),
    )
    if not 1 <= options.concurrency <= 500:
        parser.error("--concurrency must be 1..500")
    if options.sessions < 1 or options.baseline_workflows < 1 or options.capacity < 0:
        parser.error("counts must be positive")
    if not 1 <= options.api_requests <= api_latency.MAX_REQUESTS and options.api_requests != 0:
        parser.error(f"--api-requests must be 0..{api_latency.MAX_REQUESTS}")
    return options


def say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


async def run(options: Options, stack: BenchStack) -> dict[str, Any]:
    run_id = uuid.uuid4().hex[:8]
    began = time.monotonic()
    host = machine()  # before the run: its load average is what else the machine was doing
    sink = TimingSink()
    await sink.start()
    stack.notify_url = sink.url
    try:
        say(f"starting a fresh Temporal dev server on {stack.temporal} (state under {stack.root})…")
        client = await stack.start()
        cache = Settings().max_cached_workflows

        baseline_queue = f"bench-baseline-{run_id}"
        worker = await stack.start_worker("baseline-worker", "bench.baseline_worker", baseline_queue, client)
        updates = min(options.sessions, cache)
        say(f"(a) baseline: {options.baseline_workflows} minimal workflows, {updates} bare updates…")
        baseline = await run_baseline(
            client,
            baseline_queue,
            workflows=options.baseline_workflows,
            updates=updates,
            starts=options.baseline_workflows,
            concurrency=options.concurrency,
            server_pid=stack.temporal_pid,
            worker_pid=worker.process.pid,
        )
        baseline_actions = {
            "minimal workflow": await actions_of(client, [baseline.sample_workflow_ids[0]]),
            "bare update (parked)": await actions_of(client, [baseline.sample_workflow_ids[1]]),
            "minimal parked (timer)": await actions_of(client, [baseline.sample_workflow_ids[2]]),
        }
        stack.stop_child("baseline-worker")

        queue = f"bench-sessionflow-{run_id}"
        worker = await stack.start_worker("worker", "worker", queue, client)
        say(f"(b) lifecycle: {options.sessions} sessions at concurrency {options.concurrency}…")
        lifecycle = await run_lifecycle(
            client,
            queue,
            sink,
            sessions=options.sessions,
            concurrency=options.concurrency,
            per_therapist=options.per_therapist,
            charge_offset=options.charge_offset,
            # Booking is several round trips; guess low so every booking precedes the charge time.
            booking_rate_guess=baseline.throughput.per_second / 4,
            server_pid=stack.temporal_pid,
            worker_pid=worker.process.pid,
        )

        api: dict[str, Any] | None = None
        if options.api_requests:
            say(f"(d) API: {options.api_requests} cancels and attendance updates over HTTP…")
            await stack.start_api(queue)
            api = await api_latency.bench(
                f"http://{stack.api}",
                LOCAL_API_TOKEN,
                options.api_requests,
                options.concurrency,
                # The system's own output says when the sessions are paid (the sink, no polling).
                charged=lambda count, since: sink.reach(
                    NotificationType.CHARGE_SUCCEEDED.value,
                    count,
                    since=since,
                    timeout=api_latency.CHARGED_TIMEOUT_SECONDS,
                ),
            )
            stack.stop_child("api")

        say("(e) Actions per path: seven sessions, one per path, webhooks delivered…")
        paths = await run_paths(client, stack, sink, task_queue=f"bench-paths-{run_id}")

        capacity: Capacity | None = None
        if options.capacity:
            say(f"(c) capacity: parking {options.capacity} sessions, then cancelling them all…")
            capacity = await run_capacity(
                client,
                queue,
                stack,
                sessions=options.capacity,
                concurrency=options.concurrency,
                per_therapist=options.capacity_per_therapist,
                worker_pid=worker.process.pid,
                worker_cache=cache,
            )
    finally:
        await sink.stop()
    seconds = time.monotonic() - began
    out = results(options, host, baseline, baseline_actions, lifecycle, api, capacity, seconds)
    out["actions_per_path"] = paths
    return out


# ── results ──────────────────────────────────────────────────────────────────────────────────


def verdict(value: float | None, target: float, *, at_least: bool) -> str:
    if value is None:
        return "n/a"
    return "PASS" if (value >= target if at_least else value <= target) else "MISS"


def judged(value: float | None, target: float, *, at_least: bool) -> dict[str, Any]:
    """A ratio with its target and verdict, as the JSON and the table show it."""
    return {
        "ratio": value,
        "target": f"{'>=' if at_least else '<='} {target}",
        "verdict": verdict(value, target, at_least=at_least),
    }


def informational(value: float | None) -> dict[str, Any]:
    """A ratio the issue asks to see, without a target."""
    return {"ratio": value, "target": "-", "verdict": "info" if value is not None else "n/a"}


def api_update_ratio(api: dict[str, Any] | None) -> float | None:
    """API attendance p99 ÷ API cancel p99 (both HTTP round trips of one update): None when the
    API phase was skipped."""
    if not api:
        return None
    return ratio(api["attendance"]["p99_ms"], api["cancel"]["p99_ms"])


def actions_cost(actions_per_session: int, sessions: int = 1000) -> float:
    """US dollars for ``sessions`` sessions' Actions at Temporal Cloud's list price."""
    return round(actions_per_session * sessions * USD_PER_MILLION_ACTIONS / 1_000_000, 4)


def lifecycle_billing(
    actions: dict[str, dict[str, object]], queries: dict[str, int]
) -> dict[str, Any] | None:
    """The billed Actions of one session's lifecycle — its history's plus the queries that never
    enter a history — and what 1,000 of them cost. None when the history was not counted."""
    counted = actions.get("session lifecycle")
    if counted is None or not isinstance(counted.get("total"), int):
        return None
    in_history = int(str(counted["total"]))
    billed = in_history + sum(queries.values())
    return {
        "actions_in_history": in_history,
        "queries": sum(queries.values()),
        "actions_billed": billed,
        "usd_per_million_actions": USD_PER_MILLION_ACTIONS,
        "usd_per_1000_sessions": actions_cost(billed),
    }


def results(
    options: Options,
    host: dict[str, object],
    baseline: Baseline,
    baseline_actions: dict[str, dict[str, object]],
    lifecycle: Lifecycle,
    api: dict[str, Any] | None,
    capacity: Capacity | None,
    seconds: float,
) -> dict[str, Any]:
    throughput_ratio = ratio(lifecycle.per_second, baseline.throughput.per_second)
    update_ratio = ratio(lifecycle.attendance.quantile_ms(0.99), baseline.update.quantile_ms(0.99))
    memory_ratio = ratio(lifecycle.rss_per_session_parked, baseline.rss_per_parked)
    start_rate = baseline.starts.per_second
    # Queries never enter a history; (e) counts them at the clients: none on any path since the
    # follow-up's time is claimed by a practice update (the booking checks inside register_client).
    queries: dict[str, int] = {}
    out: dict[str, Any] = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": "python -m bench " + " ".join(sys.argv[1:]),
        "machine": host,
        "options": {
            "sessions": options.sessions,
            "concurrency": options.concurrency,
            "baseline_workflows": options.baseline_workflows,
            "capacity": options.capacity,
            "per_therapist": options.per_therapist,
            "charge_offset_seconds": options.charge_offset.total_seconds(),
            "api_requests": options.api_requests,
            "quick": options.quick,
            "workflow_sandbox": Settings().workflow_sandbox,
        },
        "run_seconds": round(seconds, 1),
        # Other work on the machine disturbs every figure: compare with load_average_at_start.
        "load_average_at_end": [round(value, 2) for value in os.getloadavg()],
        "baseline": {
            "minimal_workflows": baseline.throughput.summary(),
            "server_cpu_cores": round(baseline.server_cpu_cores, 2),
            "worker_cpu_cores": round(baseline.worker_cpu_cores, 2),
            "cpu_seconds_per_workflow": round(baseline.cpu_seconds_per_workflow, 4),
            "bare_update": baseline.update.summary(),
            "bare_update_parked": baseline.parked.summary(),
            "minimal_parked_starts": baseline.starts.summary(),
            "minimal_parked_starts_server_cpu_cores": round(baseline.starts_server_cpu_cores, 2),
            "minimal_parked_starts_worker_cpu_cores": round(baseline.starts_worker_cpu_cores, 2),
            "worker_rss_per_cached_workflow_parked_bytes": round(baseline.rss_per_parked),
            "worker_rss_per_cached_workflow_updated_bytes": round(baseline.rss_per_updated),
            "actions": baseline_actions,
        },
        "lifecycle": {
            "sessions": lifecycle.sessions,
            "book": lifecycle.book.summary(),
            "attendance_update": lifecycle.attendance.summary(),
            "windows": [
                {
                    "name": w.name,
                    "seconds": round(w.seconds, 3),
                    "server_cpu_seconds": round(w.server_cpu_seconds, 2),
                    "worker_cpu_seconds": round(w.worker_cpu_seconds, 2),
                }
                for w in lifecycle.windows
            ],
            "busy_seconds": round(lifecycle.busy_seconds, 3),
            "sessions_per_second": round(lifecycle.per_second, 2),
            "server_cpu_cores": round(lifecycle.server_cpu_cores, 2),
            "worker_cpu_cores": round(lifecycle.worker_cpu_cores, 2),
            "cpu_seconds_per_session": round(lifecycle.cpu_seconds_per_session, 4),
            "charged": lifecycle.charged,
            "charged_before_their_timer": lifecycle.charged_before_timer,
            "follow_ups_booked": lifecycle.follow_ups_booked,
            "worker_rss_per_session_parked_bytes": round(lifecycle.rss_per_session_parked),
            "worker_rss_per_session_charged_bytes": round(lifecycle.rss_per_session_charged),
            "actions": lifecycle.actions,
            "queries_per_session_not_in_history": queries,
            "billing": lifecycle_billing(lifecycle.actions, queries),
        },
        "targets": {
            "throughput": judged(throughput_ratio, TARGET_THROUGHPUT, at_least=True),
            "update_p99": judged(update_ratio, TARGET_UPDATE_P99, at_least=False),
            "api_update_p99": judged(api_update_ratio(api), TARGET_API_UPDATE_P99, at_least=False),
            "worker_memory_per_cached": judged(memory_ratio, TARGET_MEMORY, at_least=False),
            # The park rate against the engine's: the lifecycle's booking storm, and the capacity
            # run's park phase when it ran (filled in below).
            "booking_rate": informational(ratio(lifecycle.book.per_second, start_rate)),
            "capacity_park_rate": informational(None),
            "cpu_cost_ratio_minimal_over_session": ratio(
                baseline.cpu_seconds_per_workflow, lifecycle.cpu_seconds_per_session
            ),
        },
        "api": api,
        "capacity": None,
    }
    if capacity is not None:
        out["capacity"] = {
            "sessions": capacity.sessions,
            "per_therapist": capacity.per_therapist,
            "park": capacity.park.summary(),
            "cancel_storm": capacity.cancel.summary(),
            "server_rss_bytes": [capacity.server_rss_before, capacity.server_rss_parked],
            "server_rss_per_session_bytes": round(capacity.server_bytes_per_session),
            "sqlite_bytes_per_session": round(capacity.db_bytes_per_session),
            "worker_rss_bytes": [capacity.worker_rss_before, capacity.worker_rss_parked],
            "worker_cache": capacity.worker_cache,
            "worker_rss_per_cached_session_bytes": round(capacity.worker_bytes_per_cached),
            "actions_parked_then_cancelled": capacity.actions,
        }
        out["targets"]["capacity_park_rate"] = informational(ratio(capacity.park.per_second, start_rate))
    return out


TARGET_LABELS = (
    ("throughput", "lifecycle sessions/s ÷ minimal workflows/s"),
    ("update_p99", "attendance update p99 ÷ bare update p99"),
    ("api_update_p99", "API attendance p99 ÷ API cancel p99"),
    ("worker_memory_per_cached", "worker RSS per cached session ÷ minimal's"),
    ("booking_rate", "booking storm rate ÷ minimal parked starts/s"),
    ("capacity_park_rate", "capacity park rate ÷ minimal parked starts/s"),
)
"""The ratios of the targets table, in the order printed."""


def _ms(phase: dict[str, Any]) -> str:
    return f"{phase['p50_ms']} / {phase['p95_ms']} / {phase['p99_ms']}"


def _answers(phase: dict[str, Any]) -> str:
    """An HTTP phase's statuses, and the rule codes of its refusals if any."""
    refusals = phase.get("refusals")
    return f"{phase['statuses']}" + (f" {refusals}" if refusals else "")


def _errors(phase: dict[str, Any]) -> str:
    return f"{phase['ok']}/{phase['count']} ok" + (f", errors {phase['errors']}" if phase["errors"] else "")


def table(r: dict[str, Any]) -> str:
    b, lc, t = r["baseline"], r["lifecycle"], r["targets"]
    rows: list[tuple[str, str]] = [
        (
            "(a) minimal workflows/s (start + 1 activity)",
            f"{b['minimal_workflows']['per_second']}  [{_errors(b['minimal_workflows'])}]",
        ),
        ("    server / worker CPU (cores)", f"{b['server_cpu_cores']} / {b['worker_cpu_cores']}"),
        ("    bare update p50 / p95 / p99 (ms)", _ms(b["bare_update"])),
        (
            "    minimal parked starts/s (start + timer)",
            f"{b['minimal_parked_starts']['per_second']}  [{_errors(b['minimal_parked_starts'])}; "
            f"server / worker CPU {b['minimal_parked_starts_server_cpu_cores']} / "
            f"{b['minimal_parked_starts_worker_cpu_cores']} cores]",
        ),
        (
            "    worker RSS per cached workflow",
            f"{b['worker_rss_per_cached_workflow_parked_bytes'] / KIB:.0f} KiB parked "
            f"(after its update: {b['worker_rss_per_cached_workflow_updated_bytes'] / KIB:.0f} KiB)",
        ),
        (
            "(b) lifecycle sessions/s (busy time)",
            f"{lc['sessions_per_second']}  "
            f"[{lc['sessions']} sessions, busy {lc['busy_seconds']} s: "
            + ", ".join(f"{w['name']} {w['seconds']:.1f}" for w in lc["windows"])
            + "]",
        ),
        ("    booking p50 / p95 / p99 (ms)", f"{_ms(lc['book'])}  [{_errors(lc['book'])}]"),
        ("    booking storm (park rate)", f"{lc['book']['per_second']}/s"),
        (
            "    charged / before timer / follow-ups",
            f"{lc['charged']} / {lc['charged_before_their_timer']} / {lc['follow_ups_booked']}",
        ),
        (
            "    attendance update p50 / p95 / p99 (ms)",
            f"{_ms(lc['attendance_update'])}  [{_errors(lc['attendance_update'])}]",
        ),
        ("    server / worker CPU (cores)", f"{lc['server_cpu_cores']} / {lc['worker_cpu_cores']}"),
        (
            "    CPU s per unit: session vs minimal",
            f"{lc['cpu_seconds_per_session']} vs {b['cpu_seconds_per_workflow']}",
        ),
        (
            "    worker RSS per cached session",
            f"{lc['worker_rss_per_session_parked_bytes'] / KIB:.0f} KiB parked "
            f"(after its charge: {lc['worker_rss_per_session_charged_bytes'] / KIB:.0f} KiB)",
        ),
    ]
    for name, counted in {**b["actions"], **lc["actions"]}.items():
        extra = f", {counted['per_session']} per session" if "per_session" in counted else ""
        rows.append((f"    Actions: {name}", f"{counted['total']}{extra}  {counted['by_kind']}"))
    queries = lc["queries_per_session_not_in_history"]
    rows.append(
        ("    + queries per session (not in history)", f"{sum(queries.values())}  {', '.join(queries)}")
    )
    billing = lc.get("billing")
    if billing:
        rows.append(
            (
                "    Actions cost per 1,000 sessions",
                f"${billing['usd_per_1000_sessions']:.2f}  [{billing['actions_billed']} Actions per "
                f"lifecycle ({billing['actions_in_history']} in history + {billing['queries']} by query)"
                f" at ${billing['usd_per_million_actions']:g} per million, Temporal Cloud list price]",
            )
        )
    api = r.get("api")
    if api:
        rows += [
            (
                "(d) API cancel p50 / p99 (ms)",
                f"{api['cancel']['p50_ms']} / {api['cancel']['p99_ms']}  {_answers(api['cancel'])}",
            ),
            (
                "    API attendance p50 / p99 (ms)",
                f"{api['attendance']['p50_ms']} / {api['attendance']['p99_ms']}  "
                f"{_answers(api['attendance'])}",
            ),
            ("    GET /healthz p50 / p99 (ms)", f"{api['baseline']['p50_ms']} / {api['baseline']['p99_ms']}"),
        ]
    c = r.get("capacity")
    if c:
        rows += [
            (
                "(c) parked sessions: time to park",
                f"{c['park']['seconds']} s ({c['park']['per_second']}/s park rate)  [{_errors(c['park'])}]",
            ),
            (
                "    server RSS / SQLite per session",
                f"{c['server_rss_per_session_bytes'] / KIB:.1f} KiB / "
                f"{c['sqlite_bytes_per_session'] / KIB:.1f} KiB",
            ),
            (
                "    worker RSS per cached session",
                f"{c['worker_rss_per_cached_session_bytes'] / KIB:.0f} KiB (cache {c['worker_cache']})",
            ),
            (
                "    cancel storm",
                f"{c['cancel_storm']['per_second']}/s, p50 / p95 / p99 {_ms(c['cancel_storm'])} ms  "
                f"[{_errors(c['cancel_storm'])}]",
            ),
        ]
    width = max(len(name) for name, _ in rows) + 2
    lines = [f"{name:<{width}}{value}" for name, value in rows]
    if r.get("actions_per_path"):
        lines += ["", "(e) Actions per path (bench/paths.py):", paths_table(r["actions_per_path"])]
    lines.append("")
    lines.append("targets (same run; informational):")
    for name, label in TARGET_LABELS:
        target = t[name]
        lines.append(f"  {label:<52} {target['ratio']!s:>7}  {target['target']:<7} {target['verdict']}")
    lines.append(
        f"  {'CPU per minimal workflow ÷ CPU per session':<52} "
        f"{t['cpu_cost_ratio_minimal_over_session']!s:>7}  (capacity ratio implied by CPU cost)"
    )
    return "\n".join(lines)


def write(r: dict[str, Any], quick: bool) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / ("bench-quick.json" if quick else "bench.json")
    path.write_text(json.dumps(r, indent=2, default=str) + "\n")
    return path


def _interrupt(signum: int, frame: FrameType | None) -> None:
    # Straight out of the event loop into main()'s finally, which stops every child process: a
    # graceful cancel can wait minutes on lanes blocked in long polls.
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(argv)
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _interrupt)
    stack = BenchStack()
    failed = False
    try:
        r = asyncio.run(run(options, stack))
    except KeyboardInterrupt:
        say("interrupted")
        return 130
    except Exception:
        failed = True
        say(f"the benchmark broke:\n{traceback.format_exc()}logs: {stack.root / 'logs'}")
        return 1
    finally:
        stack.stop(keep=options.keep or failed)
    say("")
    say(table(r))
    say(f"\nwritten to {write(r, options.quick)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
