"""One run of the suite: start the stack, play the scripts under chaos, settle, check, report."""

from __future__ import annotations

import asyncio
import random
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO

from temporalio.client import Client

from contract.session import SESSION_STATE, SESSION_WORKFLOW_TYPE
from contract.visibility import sessions_query
from domain.notifications import Notification
from domain.state import SessionState
from faults import chaos
from faults.checks import (
    Judgement,
    StripeEvidence,
    Violation,
    WorkflowEvidence,
    gather_workflows,
    judge_notifications,
    judge_sessions,
    judge_workflows,
    list_workflows,
    replay_all,
    session_id_of,
    session_statuses,
    states_of,
)
from faults.driver import LifecycleDriver, LifecycleRecord
from faults.report import Report
from faults.scripts import LifecyclePath, Script, compressed_policy, generate
from faults.stack import FaultStack, StackOptions
from temporal_client.messages import query_workflow
from temporal_client.session_client import session_handle

# Stripe's failures, as the issue lists them: 500, 429, 409, delays past the client timeout and
# connections dropped after the commit.
STRIPE_FAULT_KINDS = ("error_500", "rate_limit_429", "conflict_409", "delay", "drop_after_commit")
POLICY_HOURS_PER_LIFECYCLE = 64.0
"""Booking to attendance, in policy hours (start 56–62 h out, moves add up to 10 h)."""


@dataclass(frozen=True)
class SuiteOptions:
    lifecycles: int = 1000
    seed: int = 20270328
    concurrency: int = 250
    kills: int = 6
    restarts: int = 4
    outages: int = 6
    hour_seconds: float = 2.0
    """Real seconds per policy hour: 48 h of notice last 96 s."""
    stripe_fault_rate: float = 0.10
    stripe_delay_seconds: float = 3.0
    stripe_http_timeout_seconds: float = 2.0
    webhook_duplicate_rate: float = 0.3
    webhook_max_hold_seconds: float = 2.0
    redeliver_share: float = 0.1
    """Share of all Stripe events delivered twice more at the end, shuffled (stale and out of order)."""
    server_downtime_seconds: tuple[float, float] = (1.0, 4.0)
    outage_seconds: tuple[float, float] = (4.0, 12.0)
    settle_seconds: float = 240.0
    data_dir: Path | None = None
    keep_data: bool = False


@dataclass
class RunState:
    records: list[LifecycleRecord] = field(default_factory=list)
    log: chaos.ChaosLog = field(default_factory=chaos.ChaosLog)
    redelivered_events: int = 0
    settle_seconds: float = 0.0
    stuck_at_settle: int = 0


# Restarted workers (and, in the strict sandbox, every new run) load code from disk: an edit to these
# during a run mixes versions (and breaks replay), so the suite notices and says so.
WATCHED_SOURCES = ("workflows", "domain", "contract", "activities", "temporal_client")


def source_fingerprint(root: Path) -> dict[str, int]:
    return {
        str(path.relative_to(root)): path.stat().st_mtime_ns
        for folder in WATCHED_SOURCES
        for path in sorted((root / folder).glob("*.py"))
    }


def _say(out: IO[str], text: str) -> None:
    out.write(f"[faults] {text}\n")
    out.flush()


async def run_suite(options: SuiteOptions, out: IO[str] = sys.stdout) -> Report:
    """Run everything and return the report (``ok`` when no rule was broken)."""
    began = time.monotonic()
    data_dir = options.data_dir or Path(tempfile.mkdtemp(prefix="sessionflow-faults-"))
    data_dir.mkdir(parents=True, exist_ok=True)
    task_queue = f"faults-{options.seed}"
    stack = FaultStack(
        StackOptions(
            data_dir=data_dir,
            task_queue=task_queue,
            seed=options.seed,
            stripe_http_timeout_seconds=options.stripe_http_timeout_seconds,
            webhook_max_hold_seconds=options.webhook_max_hold_seconds,
            webhook_duplicate_rate=options.webhook_duplicate_rate,
        )
    )
    report = Report(options={k: str(v) if isinstance(v, Path) else v for k, v in asdict(options).items()})
    report.data_dir = str(data_dir)
    run = RunState()
    root = Path.cwd()
    sources = source_fingerprint(root)
    try:
        _say(out, f"starting the stack in {data_dir} (Temporal on {stack.temporal_address})")
        await stack.start()
        await _play(stack, options, task_queue, run, out)
        await _settle(stack, options, run, out)
        _say(out, "gathering evidence from Temporal, Stripe and the notification sink")
        await _check(stack, options, run, report)
        now_sources = source_fingerprint(root)
        changed = sorted(
            name for name in set(sources) | set(now_sources) if sources.get(name) != now_sources.get(name)
        )
        if changed:
            report.violations.append(
                Violation("-", f"source changed during the run (results mix versions): {', '.join(changed)}")
            )
            report.counts["violations"] = len(report.violations)
    finally:
        await stack.stop()
        report.wall_seconds = time.monotonic() - began
        if report.ok and not options.keep_data and options.data_dir is None:
            shutil.rmtree(data_dir, ignore_errors=True)
            report.data_dir = f"{data_dir} (removed)"
    report.chaos_timeline = run.log.done
    return report


async def _play(
    stack: FaultStack, options: SuiteOptions, task_queue: str, run: RunState, out: IO[str]
) -> None:
    policy = compressed_policy(options.hour_seconds)
    lifecycle_seconds = POLICY_HOURS_PER_LIFECYCLE * options.hour_seconds
    scripts = generate(options.lifecycles, options.seed, options.concurrency, lifecycle_seconds)
    span = (scripts[-1].launch_delay_seconds if scripts else 0) + lifecycle_seconds
    events = chaos.plan(
        seed=options.seed,
        span_seconds=span,
        kills=options.kills,
        restarts=options.restarts,
        outages=options.outages,
        downtime=options.server_downtime_seconds,
        outage_length=options.outage_seconds,
    )
    await stack.standin_control(
        "POST",
        "random_faults",
        {
            "rate": options.stripe_fault_rate,
            "seed": options.seed,
            "kinds": list(STRIPE_FAULT_KINDS),
            "delay_seconds": options.stripe_delay_seconds,
        },
    )
    driver = LifecycleDriver(stack, policy, options.hour_seconds, task_queue)
    semaphore = asyncio.Semaphore(options.concurrency)
    started = time.monotonic()
    _say(
        out,
        f"{len(scripts)} lifecycles over ~{span:.0f} s (1 policy hour = {options.hour_seconds} s); chaos: "
        f"{options.kills} worker kills, {options.restarts} server restarts, {options.outages} notification "
        f"outages; Stripe fails {options.stripe_fault_rate:.0%} of requests",
    )

    async def one(script: Script) -> LifecycleRecord:
        # Launch times are part of the seeded plan (a steady stream of bookings).
        await asyncio.sleep(max(0.0, started + script.launch_delay_seconds - time.monotonic()))
        async with semaphore:
            return await driver.run(script)

    async def watchdog() -> None:
        while True:
            await asyncio.sleep(2.0)
            await stack.ensure_worker()

    watching = asyncio.create_task(watchdog())
    chaos_task = asyncio.create_task(chaos.run(stack, events, started, run.log))
    progress = asyncio.create_task(_progress(out, started, lambda: len(run.records), len(scripts)))
    try:
        tasks = [asyncio.create_task(one(script)) for script in scripts]
        for finished in asyncio.as_completed(tasks):
            run.records.append(await finished)
        await asyncio.wait_for(chaos_task, span + 600)
    finally:
        for task in (watching, progress, chaos_task):
            task.cancel()
    run.records.sort(key=lambda record: record.script.index)
    _say(out, f"all lifecycles played in {time.monotonic() - started:.0f} s")


async def _progress(out: IO[str], started: float, done: Callable[[], int], total: int) -> None:
    while True:
        await asyncio.sleep(30.0)
        _say(out, f"  {done()}/{total} lifecycles finished after {time.monotonic() - started:.0f} s")


async def _settle(stack: FaultStack, options: SuiteOptions, run: RunState, out: IO[str]) -> None:
    """Faults off; Stripe redelivers a share of its events twice, shuffled; then wait until the
    sessions that should close have closed and every webhook has been acknowledged."""
    settle_began = time.monotonic()
    await stack.standin_control("POST", "random_faults", {"rate": 0})
    await stack.ensure_worker()
    state = await stack.standin_control("GET", "state", limit_seconds=120)
    event_ids = [event["id"] for event in state["events"]]
    rng = random.Random(options.seed ^ 0xDE1)
    chosen = rng.sample(
        event_ids, k=min(len(event_ids), max(1, int(len(event_ids) * options.redeliver_share)))
    )
    for event_id in chosen:
        await stack.standin_control("POST", f"events/{event_id}/deliver", {"times": 2})
    run.redelivered_events = len(chosen)
    relay = stack.relay
    assert relay is not None and stack.client is not None
    await relay.drained(options.settle_seconds)
    expected_running = sum(
        1
        for record in run.records
        if record.script.path is LifecyclePath.UNFILED and record.booked_at is not None
    ) + sum(
        1 for record in run.records if record.follow_up_id is not None and record.follow_up_cancel is None
    )
    loop = asyncio.get_running_loop()
    deadline = loop.time() + options.settle_seconds
    running: int | None = None
    while loop.time() < deadline:
        running = await _count(stack.client, sessions_query(running=True))
        if running is not None and running <= expected_running:
            break
        await asyncio.sleep(1.0)
    run.stuck_at_settle = max(0, (running or 0) - expected_running)
    await relay.drained(30)
    run.settle_seconds = time.monotonic() - settle_began
    _say(
        out,
        f"settled in {run.settle_seconds:.0f} s ({running} sessions running, {expected_running} expected)",
    )


async def _count(client: Client, query: str) -> int | None:
    try:
        counted = await asyncio.wait_for(client.count_workflows(query), 10)
    except Exception:  # a read while the stack recovers: the caller asks again
        return None
    return int(counted.count)


async def _running_states(client: Client, evidence: list[WorkflowEvidence]) -> dict[str, SessionState]:
    states: dict[str, SessionState] = {}
    for item in evidence:
        if item.workflow_type == SESSION_WORKFLOW_TYPE and item.status == "RUNNING":
            handle = session_handle(client, session_id_of(item.workflow_id))
            for _ in range(5):
                try:
                    states[session_id_of(item.workflow_id)] = await asyncio.wait_for(
                        query_workflow(handle, SESSION_STATE, rpc_timeout=timedelta(seconds=10)), 15
                    )
                    break
                except Exception:  # the next try; a session never answering is judged missing
                    await asyncio.sleep(1.0)
    return states


async def _wait_for_notifications(
    stack: FaultStack, evidence: list[WorkflowEvidence], seconds: float
) -> list[Notification]:
    """Notifications still being retried (the last outage) get a bounded time to arrive."""
    sink = stack.sink
    assert sink is not None
    wanted = {event_id for item in evidence for event_id in item.notifications}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        received = sink.received
        if wanted <= {notification.event_id for notification in received} or loop.time() >= deadline:
            return received
        await asyncio.sleep(1.0)


async def _check(stack: FaultStack, options: SuiteOptions, run: RunState, report: Report) -> None:
    client = stack.client
    assert client is not None and stack.sink is not None and stack.relay is not None
    executions = await list_workflows(client)
    evidence = await gather_workflows(client, executions)
    states = states_of(evidence)
    states.update(await _running_states(client, evidence))
    received = await _wait_for_notifications(stack, evidence, 90.0)
    by_session: dict[str, list[Notification]] = {}
    for notification in received:
        by_session.setdefault(notification.session_id or "", []).append(notification)
    stripe_state = await stack.standin_control("GET", "state", limit_seconds=120)
    stripe_side = StripeEvidence.from_state(stripe_state)

    judgement = Judgement()
    policy = compressed_policy(options.hour_seconds)
    # The run is in real time (a compressed policy): a read shows a status as of now.
    judged_at = datetime.now(UTC)
    judge_sessions(
        run.records, states, session_statuses(evidence), stripe_side, by_session, policy, judgement, judged_at
    )
    known = {record.script.session_id for record in run.records} | {
        record.follow_up_id for record in run.records if record.follow_up_id
    }
    judge_workflows(evidence, known, judgement)
    scheduled, unique = judge_notifications(evidence, received, judgement)
    replayed, replay_failures = await replay_all(evidence)
    for workflow_id, failure in replay_failures.items():
        judgement.add(session_id_of(workflow_id), f"history does not replay: {failure}")
    for failure in run.log.failures:
        judgement.add("-", f"chaos step failed: {failure}")
    relay = stack.relay
    if relay.counts.rejected or relay.counts.gave_up:
        judgement.add(
            "-",
            f"webhooks lost: {relay.counts.rejected} rejected, {relay.counts.gave_up} never acknowledged "
            f"({'; '.join(relay.rejections[:3])})",
        )
    if stack.counts.worker_exits_unexpected:
        judgement.add("-", f"the worker exited by itself {stack.counts.worker_exits_unexpected} times")
    report.violations = judgement.violations

    sink_requests = stack.sink.requests
    paths = Counter(record.script.path.value for record in run.records)
    session_evidence = [item for item in evidence if item.workflow_type == SESSION_WORKFLOW_TYPE]
    succeeded = sum(len(charges) for charges in stripe_side.succeeded_charges.values())
    report.counts = {
        "lifecycles": len(run.records),
        "lifecycle_paths": dict(sorted(paths.items())),
        "session_workflows": len(session_evidence),
        "follow_ups_booked": sum(1 for record in run.records if record.follow_up_id),
        "worker_kills": stack.counts.worker_kills,
        "server_restarts": stack.counts.server_restarts,
        "server_downtime_s": round(stack.counts.server_downtime_seconds, 1),
        "notification_outages": dict(stack.counts.notification_outages),
        "notification_outage_s": round(stack.counts.notification_outage_seconds, 1),
        "stripe_requests": stripe_side.requests,
        "stripe_faults_injected": dict(sorted(stripe_side.faults_by_kind.items())),
        "charges_succeeded": succeeded,
        "refunds": sum(stripe_side.refunds_by_session.values()),
        "refunded_minor": sum(stripe_side.refunded_minor.values()),
        "payment_intents_voided": sum(
            1
            for intents in stripe_side.intents_by_session.values()
            for i in intents
            if i["status"] == "canceled"
        ),
        "client_cancels_free_late": f"{judgement.client_cancels_free}/{judgement.client_cancels_late}",
        "soft_declines_retried": judgement.soft_retries_exercised,
        "stripe_events": len(stripe_side.events),
        "webhooks_relayed": {
            "received": relay.counts.received,
            "acknowledged": relay.counts.delivered,
            "sent_twice": relay.counts.duplicates_sent,
            "overtaken": relay.counts.overtaken,
            "retried_posts": relay.counts.retried_posts,
            "held_for_a_session": relay.counts.held_for_session,
            "redelivered_at_end": run.redelivered_events,
        },
        "webhook_answers": dict(sorted(relay.counts.by_status.items())),
        "notification_deliveries": sum(1 for request in sink_requests if request.status == 200),
        "notifications_unique": unique,
        "notifications_redelivered": sum(1 for request in sink_requests if request.duplicate),
        "notifications_scheduled": scheduled,
        "notification_outage_answers": stack.sink.outage_answers,
        "benign_task_failures": sum(item.benign_task_failures for item in evidence),
        "histories_replayed": replayed,
        "replay_failures": len(replay_failures),
        "unexpected_worker_exits": stack.counts.worker_exits_unexpected,
        "driver_command_retries": sum(record.command_retries for record in run.records),
        "driver_state_queries": sum(record.state_queries for record in run.records),
        "settle_s": round(run.settle_seconds, 1),
        "duplicates_found": sum(judgement.duplicates.values()),
        "violations": len(judgement.violations),
    }
