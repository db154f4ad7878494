"""(e) Actions per path: what one session costs in Temporal Actions, path by path, counted from
real histories on the bench's own stack, with Stripe webhooks delivered and the clients' billed
calls included.

Usage::

    python -m bench.paths [--charge-offset S] [--keep]     # ~2 minutes, writes bench/results/paths.json

A fresh dev server, the real worker, the Stripe stand-in delivering signed webhooks to the real
API, and a driver sending each path's commands over HTTP as the party who would send them
(``Acting-Party``). Sessions are booked by the driver with a compressed policy (48 h → a few
seconds, 1-minute sessions: ``bench.lifecycle.compressed_policy``) exactly as the API books them
(a describe, the practice's update-with-start, the start); the API always books under the real
policy. The paths, each a whole session from booking to its close:

* ``free cancel``: the client cancels with more than 48 h notice;
* ``late cancel``: charged at start − 48 h, then the client cancels (late: the charge stands);
* ``declined then paid``: the charge is declined (insufficient funds, a soft decline); the client
  enters a new card (on-session retry) → paid; attended at the end;
* ``SCA``: the off-session charge needs 3-D Secure; the client completes it in the browser and
  ``payment_intent.succeeded`` reaches the session by webhook → paid; attended at the end;
* ``no-show``: charged; the attendance update says ``client_no_show``;
* ``ended relationship``: charged; attended, and the update ends the relationship;
* ``full lifecycle``: charged at start − 48 h → attended → a follow-up at the same weekly time,
  booked with the client's agreement.

For each path: the Actions of the session's own history by kind (``bench.actions``), the
Actions its practice workflow gained while serving it (each path has its own therapist, whose
practice is created beforehand by a session elsewhere in the calendar, so the practice's start is
not billed to the path), the follow-up's start when it is a client start (a child start is
already in the parent's history), and the Temporal calls the clients made while serving it —
the API, the worker's activities and the booking — read from ``sessionflow_temporal_calls_total``
before and after each step — a driver command, or the charge timer's firing, each held until its
notices and Stripe's webhooks are answered (steps are serialised so one path's calls never land
in another's reading). Billed total = history Actions + practice Actions + client-started follow-up
+ queries + updates rejected (sent but never accepted: billed, yet absent from any history).
Signals and accepted updates are billed once, where the history shows them. Cost per 1,000
sessions at Temporal Cloud's list price, $50 per million Actions.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from prometheus_client import generate_latest
from temporalio.client import Client
from temporalio.service import RPCError

from bench.actions import billed, count_actions
from bench.lifecycle import SESSION_MINUTES, compressed_policy, sleep_until
from bench.sink import TimingSink
from bench.stack import BenchStack, free_port, machine
from contract.ids import practice_workflow_id, session_workflow_id
from domain.booking import SessionBooking
from domain.ids import follow_up_session_id
from domain.notifications import NotificationType
from domain.policy import SessionPolicy
from domain.status import BookingKind
from settings import LOCAL_API_TOKEN, STANDIN_WEBHOOK_SECRET
from temporal_client.call_metrics import CALLS, parse_calls
from temporal_client.session_client import book_session

PRICE_PER_MILLION_ACTIONS = 50.0  # USD, Temporal Cloud's list price (Developer plan; Business from $50)
RESULTS = Path(__file__).parent / "results" / "paths.json"
CHARGE_OFFSET = timedelta(seconds=5)
PATH_STAGGER_SECONDS = 5.0
"""Each path starts this long after the previous one, so their charge timers fire apart."""
BOOKING_LEAD_SECONDS = 2.0
"""A path's session is booked this long before its charge time (start − 48 h, compressed)."""
END_MARGIN_SECONDS = 1.0
PRE_CHARGE_SECONDS = 0.3
"""The charge step begins this long before the timer fires (its calls are then its own)."""
WEBHOOK_POLL_SECONDS = 0.05
"""The stand-in records its deliveries but tells nobody: the driver reads its state this often."""
STEP_TIMEOUT_SECONDS = 60.0
CLOSE_TIMEOUT_SECONDS = 20.0
BILLED_CALLS = ("query",)
"""Calls billed on top of the histories (signals and accepted updates are in them)."""
ACCEPTED = "WORKFLOW_EXECUTION_UPDATE_ACCEPTED"
CHILD_START = "START_CHILD_WORKFLOW_EXECUTION_INITIATED"
SHOWN_CALLS = ("query", "signal", "update", "update_with_start", "start", "describe", "list")
WEBHOOK = "/v1/stripe/webhook"


@dataclass
class PathRun:
    """One path's session and what was counted for it."""

    name: str
    card: str
    session_id: str
    therapist_id: str
    client_id: str
    calls: Counter[str] = field(default_factory=Counter)
    practice_before: Counter[str] = field(default_factory=Counter)
    closed: bool = False
    outcome: dict[str, Any] = field(default_factory=dict)

    def booking(self, start: datetime, kind: BookingKind = BookingKind.THERAPIST_FOLLOW_UP) -> SessionBooking:
        return SessionBooking(
            session_id=self.session_id,
            therapist_id=self.therapist_id,
            client_id=self.client_id,
            kind=kind,
            start=start,
            duration_minutes=SESSION_MINUTES,
            therapist_timezone="Europe/London",
            amount_minor=6000,
            currency="gbp",
            stripe_customer_id=f"cus_{self.session_id}",
            # The stand-in's test card by prefix, unique per session (its state never collides).
            payment_method_id=f"{self.card}_{self.session_id}",
            client_agreed=True,
        )


PATHS: tuple[tuple[str, str], ...] = (
    ("free cancel", "pm_card_visa"),
    ("late cancel", "pm_card_visa"),
    ("declined then paid", "pm_card_chargeDeclinedInsufficientFunds"),
    ("SCA", "pm_card_authenticationRequired"),
    ("no-show", "pm_card_visa"),
    ("ended relationship", "pm_card_visa"),
    ("full lifecycle", "pm_card_visa"),
)


def path_runs(run_id: str) -> list[PathRun]:
    """One session and one therapist (so one practice) per path; opaque ids only."""
    return [
        PathRun(name, card, f"pa{run_id}_{index}", f"pa{run_id}_t{index}", f"pa{run_id}_c{index}")
        for index, (name, card) in enumerate(PATHS)
    ]


def cost_per_thousand(actions: float) -> float:
    """USD for 1,000 sessions of ``actions`` Actions each at the list price."""
    return round(actions * 1000 * PRICE_PER_MILLION_ACTIONS / 1_000_000, 4)


def rejected_updates(calls: Mapping[str, int], accepted: int) -> int:
    """Updates sent but never accepted (a validator refused them): billed, in no history."""
    return max(0, calls.get("update", 0) + calls.get("update_with_start", 0) - accepted)


def path_total(
    session_kinds: Mapping[str, int],
    practice_kinds: Mapping[str, int],
    follow_up_client_start: int,
    calls: Mapping[str, int],
) -> dict[str, int]:
    """The billed Actions of one path, by where they come from. ``practice_kinds``: the Actions
    the practice's history gained while serving the path, by kind."""
    accepted = session_kinds.get(ACCEPTED, 0) + practice_kinds.get(ACCEPTED, 0)
    parts = {
        "session_history": billed(Counter(session_kinds)),
        "practice": billed(Counter(practice_kinds)),
        "follow_up_start": follow_up_client_start,
        "queries": sum(calls.get(call, 0) for call in BILLED_CALLS),
        "rejected_updates": rejected_updates(calls, accepted),
    }
    parts["total"] = sum(parts.values())
    return parts


def _of_session(obj: Mapping[str, Any], session_id: str) -> bool:
    metadata = obj.get("metadata") or {}
    return bool(metadata.get("session_id") == session_id)


class Counters:
    """The clients' ``sessionflow_temporal_calls_total``: the API's and the worker's over HTTP,
    the driver's (its bookings) from its own registry."""

    def __init__(self, http: httpx.AsyncClient, sources: list[str]) -> None:
        self._http = http
        self._sources = sources
        self.lock = asyncio.Lock()

    async def read(self) -> Counter[str]:
        total: Counter[str] = Counter({k: int(v) for k, v in parse_calls(generate_latest().decode()).items()})
        for url in self._sources:
            response = await self._http.get(url, timeout=10)
            response.raise_for_status()
            total.update({k: int(v) for k, v in parse_calls(response.text).items()})
        return total

    @contextlib.asynccontextmanager
    async def step(self, run: PathRun) -> AsyncIterator[None]:
        """One driver step of a path, alone: the calls made meanwhile are the path's."""
        async with self.lock:
            before = await self.read()
            try:
                yield
            finally:
                after = await self.read()
                run.calls.update({k: after[k] - before[k] for k in CALLS if after[k] != before[k]})


@dataclass
class Driver:
    client: Client  # counted: the bookings are the path's calls
    observer: Client  # not counted: the driver's own waits and readings
    http: httpx.AsyncClient  # the API
    standin: httpx.AsyncClient  # the stand-in's control API
    sink: TimingSink
    counters: Counters
    task_queue: str
    policy: SessionPolicy

    async def book(self, run: PathRun, start: datetime) -> None:
        """As the API books: a describe (is it booked already?), then the practice and the start."""
        handle = self.client.get_workflow_handle(session_workflow_id(run.session_id))
        with contextlib.suppress(RPCError):
            await handle.describe()
        await book_session(
            self.client,
            run.booking(start),
            task_queue=self.task_queue,
            now=datetime.now(UTC),
            policy=self.policy,
        )

    async def command(self, run: PathRun, path: str, body: dict[str, Any], acting: str) -> dict[str, Any]:
        response = await self.http.post(
            f"/v1/sessions/{run.session_id}/{path}",
            json=body,
            headers={"Idempotency-Key": f"paths-{uuid.uuid4().hex}", "Acting-Party": acting},
        )
        if response.status_code != 200:
            raise RuntimeError(f"{run.name}: {path} answered {response.status_code} {response.text}")
        answer: dict[str, Any] = response.json()
        return answer

    async def notified(self, run: PathRun, kind: NotificationType, since: float) -> None:
        """Until the system itself tells this session's party of ``kind`` (no Temporal polling)."""
        deadline = time.monotonic() + STEP_TIMEOUT_SECONDS
        while not any(a.session_id == run.session_id for a in self.sink.of_type(kind.value, since)):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"{run.name}: no {kind.value} notification")
            await self.sink.reach(kind.value, len(self.sink.of_type(kind.value, since)) + 1, since, remaining)

    async def closed(self, run: PathRun) -> None:
        """Until the session's workflow closes (a long poll), or ``CLOSE_TIMEOUT_SECONDS``."""
        handle = self.observer.get_workflow_handle(session_workflow_id(run.session_id))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(handle.result(), CLOSE_TIMEOUT_SECONDS)
            run.closed = True

    async def practice_actions(self, therapist_id: str) -> Counter[str]:
        """The practice's Actions so far, by kind."""
        history = await self.observer.get_workflow_handle(practice_workflow_id(therapist_id)).fetch_history()
        return count_actions(history)[1]

    async def webhooks_settled(self, run: PathRun) -> None:
        """Until every Stripe event of this session's payments has been answered by the API (the
        stand-in's own record of its deliveries), so its signal lands in this step."""
        deadline = time.monotonic() + STEP_TIMEOUT_SECONDS
        while True:
            state = (await self.standin.get("/_standin/state")).json()
            intents = {pi["id"] for pi in state["payment_intents"] if _of_session(pi, run.session_id)}
            events = {
                event["id"]
                for event in state["events"]
                if _of_session(event["data"]["object"], run.session_id)
                or event["data"]["object"].get("payment_intent") in intents
            }
            answered = {d["event_id"] for d in state["deliveries"] if d["status"] is not None}
            if events <= answered:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{run.name}: webhooks {sorted(events - answered)} not answered")
            await asyncio.sleep(WEBHOOK_POLL_SECONDS)

    async def payment_intent(self, run: PathRun) -> str:
        state = (await self.standin.get("/_standin/state")).json()
        [intent] = [
            pi for pi in state["payment_intents"] if pi["metadata"].get("session_id") == run.session_id
        ]
        return str(intent["id"])


FIRST_NOTICE = {
    "declined then paid": NotificationType.CHARGE_FAILED,
    "SCA": NotificationType.ACTION_REQUIRED,
}
"""What the system tells after the scheduled charge (else ``charge_succeeded``)."""


def attendance_body(path: str) -> dict[str, Any]:
    """The therapist's attendance update that ends each path after the session."""
    if path == "no-show":
        return {"outcome": "client_no_show"}
    if path == "ended relationship":
        return {"outcome": "attended", "end_relationship": True, "end_reason": "treatment_complete"}
    if path == "full lifecycle":
        return {"outcome": "attended", "continue_sessions": "same_time", "client_agreed": True}
    return {"outcome": "attended"}


async def drive(driver: Driver, run: PathRun) -> None:
    """One path from its booking to its session's close. Every step that makes Temporal calls —
    the driver's commands and the charge timer's firing, each until its notices and Stripe's
    webhooks are through — is a counted, lone step."""
    client = f"client:{run.client_id}"
    therapist = f"therapist:{run.therapist_id}"
    began = time.monotonic()
    offset = driver.policy.charge_attempt_offsets[0]
    free = run.name == "free cancel"
    # The free cancel's session starts well after its notice; every other is charged by timer.
    lead = timedelta(seconds=BOOKING_LEAD_SECONDS + (30 if free else 0))
    start = (datetime.now(UTC) + offset + lead).replace(microsecond=0) + timedelta(seconds=1)
    to_mono = time.monotonic() - datetime.now(UTC).timestamp()
    charge_mono = (start - offset).timestamp() + to_mono
    end_mono = (start + timedelta(minutes=SESSION_MINUTES)).timestamp() + to_mono
    async with driver.counters.step(run):
        await driver.book(run, start)

    if free:
        async with driver.counters.step(run):
            run.outcome = await driver.command(
                run, "cancel", {"requested_by": "client", "reason": "client_request"}, client
            )
            await driver.closed(run)
        return

    await sleep_until(charge_mono - PRE_CHARGE_SECONDS)
    async with driver.counters.step(run):
        await driver.notified(run, FIRST_NOTICE.get(run.name, NotificationType.CHARGE_SUCCEEDED), began)
        await driver.webhooks_settled(run)

    if run.name == "declined then paid":
        async with driver.counters.step(run):
            card = {"payment_method_id": f"pm_card_visa_{run.session_id}"}
            answer = await driver.command(run, "payment-method", card, client)
            await driver.notified(run, NotificationType.CHARGE_SUCCEEDED, began)
            await driver.webhooks_settled(run)
        run.outcome["payment_method"] = answer.get("status")
    elif run.name == "SCA":
        intent = await driver.payment_intent(run)
        async with driver.counters.step(run):
            # The client's browser completes 3-D Secure; Stripe's webhook settles the session.
            response = await driver.standin.post(f"/_standin/payment_intents/{intent}/authenticate", json={})
            response.raise_for_status()
            await driver.notified(run, NotificationType.CHARGE_SUCCEEDED, began)
            await driver.webhooks_settled(run)

    if run.name == "late cancel":
        async with driver.counters.step(run):
            run.outcome = await driver.command(
                run, "cancel", {"requested_by": "client", "reason": "client_request"}, client
            )
            await driver.closed(run)
            await driver.webhooks_settled(run)
        return

    await sleep_until(end_mono + END_MARGIN_SECONDS)
    async with driver.counters.step(run):
        answer = await driver.command(run, "attendance", attendance_body(run.name), therapist)
        # Held until the session closes: the calls its worker makes after the answer are its own.
        await driver.closed(run)
        await driver.webhooks_settled(run)
    run.outcome = {**run.outcome, "follow_up_session_id": answer.get("follow_up_session_id")}


async def count_path(driver: Driver, run: PathRun) -> dict[str, Any]:
    """The path's Actions from the histories and the calls counted while serving it."""
    session = await driver.observer.get_workflow_handle(session_workflow_id(run.session_id)).fetch_history()
    _, kinds, _ = count_actions(session)
    practice = await driver.practice_actions(run.therapist_id)
    practice.subtract(run.practice_before)
    practice = +practice  # the kinds it gained
    follow_up: dict[str, Any] | None = None
    follow_up_start = 0
    if run.outcome.get("follow_up_session_id"):
        handle = driver.observer.get_workflow_handle(
            session_workflow_id(follow_up_session_id(run.session_id))
        )
        follow_total, follow_kinds, _ = count_actions(await handle.fetch_history())
        follow_up = {"total_so_far": follow_total, "by_kind": _lower(follow_kinds)}
        # A child start is billed in the parent (2); a client start is the child's own start event.
        if not kinds.get(CHILD_START):
            follow_up_start = follow_kinds.get("WORKFLOW_EXECUTION_STARTED", 0)
    calls = dict(run.calls)
    parts = path_total(kinds, practice, follow_up_start, calls)
    signals = kinds.get("WORKFLOW_EXECUTION_SIGNALED", 0)
    return {
        "path": run.name,
        "session_history": {"total": parts["session_history"], "by_kind": _lower(kinds)},
        "practice": {"total": parts["practice"], "by_kind": _lower(practice)},
        "follow_up": follow_up,
        "client_calls": {call: calls.get(call, 0) for call in SHOWN_CALLS},
        "signals_in_history": signals,
        "billed": parts,
        "total": parts["total"],
        "usd_per_1000_sessions": cost_per_thousand(parts["total"]),
        "closed": run.closed,
        "outcome": {k: v for k, v in run.outcome.items() if k in ("status", "free", "follow_up_session_id")},
    }


def _lower(kinds: Mapping[str, int]) -> dict[str, int]:
    return {kind.lower(): n for kind, n in sorted(kinds.items())}


async def run_paths(
    client: Client,
    stack: BenchStack,
    sink: TimingSink,
    *,
    task_queue: str,
    charge_offset: timedelta = CHARGE_OFFSET,
) -> dict[str, Any]:
    """Every path on ``stack``: its own worker (counters on) and API, webhooks to the API."""
    run_id = uuid.uuid4().hex[:8]
    metrics_port = free_port()
    await stack.start_worker("paths-worker", "worker", task_queue, client, app_metrics_port=metrics_port)
    await stack.start_api(task_queue)
    began = time.monotonic()
    observer = Client(client.service_client, namespace=client.namespace, data_converter=client.data_converter)
    headers = {"Authorization": f"Bearer {LOCAL_API_TOKEN}"}
    try:
        async with (
            httpx.AsyncClient(base_url=f"http://{stack.api}", headers=headers, timeout=60) as http,
            httpx.AsyncClient(base_url=f"http://{stack.standin}", timeout=10) as standin,
            httpx.AsyncClient() as metrics,
        ):
            # The stand-in signs and delivers every event to the API, as in `make run`.
            hook = {"url": f"http://{stack.api}{WEBHOOK}", "secret": STANDIN_WEBHOOK_SECRET}
            (await standin.post("/_standin/webhook", json=hook)).raise_for_status()
            counters = Counters(
                metrics, [f"http://{stack.api}/metrics", f"http://127.0.0.1:{metrics_port}/metrics"]
            )
            policy = compressed_policy(charge_offset)
            driver = Driver(client, observer, http, standin, sink, counters, task_queue, policy)
            runs = path_runs(run_id)
            await warm_practices(driver, runs)

            async def staggered(index: int, run: PathRun) -> None:
                await asyncio.sleep(index * PATH_STAGGER_SECONDS)
                await drive(driver, run)

            await asyncio.gather(*(staggered(i, run) for i, run in enumerate(runs)))
            rows = [await count_path(driver, run) for run in runs]
            (await standin.post("/_standin/webhook", json={"url": None, "secret": None})).raise_for_status()
    finally:
        stack.stop_child("api")
        stack.stop_child("paths-worker")
    return {
        "charge_offset_seconds": charge_offset.total_seconds(),
        "price_usd_per_million_actions": PRICE_PER_MILLION_ACTIONS,
        "seconds": round(time.monotonic() - began, 1),
        "paths": rows,
    }


async def warm_practices(driver: Driver, runs: list[PathRun]) -> None:
    """Each therapist's practice exists before its path (a session a month ahead): a practice's
    start is once per therapist, not per session."""
    now = datetime.now(UTC)
    for index, run in enumerate(runs):
        warm = PathRun(run.name, "pm_card_visa", f"{run.session_id}w", run.therapist_id, f"{run.client_id}w")
        await book_session(
            driver.client,
            warm.booking(now + timedelta(days=30, hours=index)),
            task_queue=driver.task_queue,
            now=now,
            policy=driver.policy,
        )
        run.practice_before = await driver.practice_actions(run.therapist_id)


def table(result: Mapping[str, Any]) -> str:
    header = (
        f"{'path':<20} {'history':>7} {'practice':>8} {'f-up':>4} {'queries':>7} {'rej.upd':>7} "
        f"{'total':>5} {'$/1000':>7}  client calls (q/s/u/uws/start/desc/list)  session history by kind"
    )
    lines = [header]
    for row in result["paths"]:
        b, c = row["billed"], row["client_calls"]
        calls = "/".join(str(c[k]) for k in SHOWN_CALLS)
        kinds = ", ".join(f"{k}={n}" for k, n in row["session_history"]["by_kind"].items())
        closed = "" if row["closed"] else " (still open)"
        lines.append(
            f"{row['path']:<20} {b['session_history']:>7} {b['practice']:>8} {b['follow_up_start']:>4} "
            f"{b['queries']:>7} {b['rejected_updates']:>7} {b['total']:>5} "
            f"{row['usd_per_1000_sessions']:>7.2f}  {calls:<40} {kinds}{closed}"
        )
    for row in result["paths"]:
        if row.get("follow_up"):
            kinds = ", ".join(f"{k}={n}" for k, n in row["follow_up"]["by_kind"].items())
            lines.append(
                f"{row['path']}: its follow-up's own history so far, not in the total (its start "
                f"is billed above; the rest is the next session's): "
                f"{row['follow_up']['total_so_far']}  [{kinds}]"
            )
    lines.append(
        f"$/1000: USD per 1,000 sessions at ${result['price_usd_per_million_actions']:.0f} per million "
        "Actions; history: the session's own (signals and accepted updates included); practice: "
        "its practice's Actions while serving it; f-up: a follow-up started by a client call"
    )
    return "\n".join(lines)


def summary(result: Mapping[str, Any]) -> dict[str, Any]:
    """The figures per path, for the README and the before/after comparison."""
    return {
        row["path"]: {
            "total": row["total"],
            "session_history": row["billed"]["session_history"],
            "practice": row["billed"]["practice"],
            "queries": row["billed"]["queries"],
            "usd_per_1000_sessions": row["usd_per_1000_sessions"],
        }
        for row in result["paths"]
    }


async def main_async(args: argparse.Namespace, stack: BenchStack) -> dict[str, Any]:
    sink = TimingSink()
    await sink.start()
    stack.notify_url = sink.url
    try:
        client = await stack.start()
        return await run_paths(
            client,
            stack,
            sink,
            task_queue=f"bench-paths-{uuid.uuid4().hex[:8]}",
            charge_offset=timedelta(seconds=args.charge_offset),
        )
    finally:
        await sink.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.paths", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--charge-offset", type=float, default=CHARGE_OFFSET.total_seconds(), help="seconds for 48 h"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, SQLite)")
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"JSON results (default {RESULTS})")
    args = parser.parse_args(argv)
    host = machine()
    stack = BenchStack()
    failed = False
    try:
        result = asyncio.run(asyncio.wait_for(main_async(args, stack), 300))
    except BaseException:
        failed = True
        sys.stderr.write(f"logs: {stack.root / 'logs'}\n")
        raise
    finally:
        stack.stop(keep=args.keep or failed)
    result = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": "python -m bench.paths " + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": host,
        **result,
        "summary": summary(result),
    }
    sys.stdout.write(table(result) + "\n")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    sys.stdout.write(f"written to {args.output}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


__all__ = ["run_paths", "summary", "table"]
