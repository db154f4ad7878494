"""Latency of the API's cancel command under concurrency, against a local `make run` stack.

Usage::

    python -m bench.api_latency [--requests N] [--concurrency C] [--base-url URL] [--token T]

Books N therapist follow-ups through the API (far in the future, unique ids, a few therapists),
then sends the N client cancellations (each a Temporal update, with its own Idempotency-Key) C at
a time and reports p50/p95/p99/max latency and throughput. The baseline, measured in the same run
at the same concurrency, is N ``GET /healthz`` (no Temporal): the ratio shows what the update
itself costs. Then the attendance update: N more sessions booked to start a few seconds later
(inside the 48-hour window, so charged at once; all at one instant, so each with its own
therapist: a therapist holds one session at a time), and once they have started (by the clock) the N
attendance updates — attended, same time next week, the client agreed — C at a time, each booking
the follow-up. Results are also written to ``bench/results/api_latency.json``.

``python -m bench`` runs the same measurement against an API process it starts on its own server.

Loopback only: a base URL on another machine is refused. Counts and time are bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from bench.lanes import percentile, run_lanes
from settings import LOCAL_API_TOKEN, Settings, is_loopback

MAX_REQUESTS = 5000
MAX_CONCURRENCY = 500
THERAPISTS = 10
"""Bookings are spread over this many therapists (each has one practice workflow)."""
# httpx's own timeout (60 s) fires first; this only bounds a request that hangs past it.
REQUEST_TIMEOUT_SECONDS = 90.0
RESULTS = Path(__file__).parent / "results" / "api_latency.json"
ATTENDANCE_LEAD_SECONDS = 10.0
ATTENDANCE_BOOKING_RATE_GUESS = 10.0
"""Bookings/s assumed when choosing the attendance sessions' start (measured ~24/s at 50 concurrent)."""


@dataclass(frozen=True)
class Phase:
    name: str
    requests: int
    concurrency: int
    seconds: float
    throughput_per_second: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    statuses: dict[str, int]
    refusals: dict[str, int]
    """Non-2xx answers by status and the body's machine code (``409 time_taken``): a broken phase
    says which rule refused it."""


async def run_phase(
    name: str, count: int, concurrency: int, send: Callable[[int], Awaitable[httpx.Response]]
) -> Phase:
    """Send ``count`` requests, at most ``concurrency`` in flight; time each one."""
    statuses: Counter[str] = Counter()
    refusals: Counter[str] = Counter()

    async def item(index: int) -> None:
        try:
            response = await send(index)
        except httpx.HTTPError as exc:
            statuses[type(exc).__name__] += 1
            raise
        statuses[str(response.status_code)] += 1
        if not response.is_success:
            refusals[refusal(response)] += 1

    phase = await run_lanes(name, count, concurrency, item, timeout=REQUEST_TIMEOUT_SECONDS)
    ordered = phase.latencies or (0.0,)
    return Phase(
        name=name,
        requests=count,
        concurrency=concurrency,
        seconds=round(phase.seconds, 3),
        throughput_per_second=round(count / phase.seconds, 1) if phase.seconds else 0.0,
        p50_ms=round(percentile(ordered, 0.50) * 1000, 2),
        p95_ms=round(percentile(ordered, 0.95) * 1000, 2),
        p99_ms=round(percentile(ordered, 0.99) * 1000, 2),
        max_ms=round(ordered[-1] * 1000, 2),
        statuses=dict(statuses),
        refusals=dict(refusals),
    )


def refusal(response: httpx.Response) -> str:
    """``409 time_taken``: the status and the error body's ``code`` (the status alone if none)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    code = body.get("code") if isinstance(body, dict) else None
    return f"{response.status_code} {code}" if isinstance(code, str) else str(response.status_code)


def booking(run_id: str, index: int, now: datetime) -> dict[str, Any]:
    """A therapist follow-up ~200 days ahead: its charge timer never fires during the bench."""
    start = (now + timedelta(days=200) + timedelta(hours=index)).replace(microsecond=0)
    return {
        "session_id": f"bench_{run_id}_{index}",
        "therapist_id": f"bench_thr_{run_id}_{index % THERAPISTS}",
        "client_id": f"bench_cli_{run_id}_{index}",
        "kind": "therapist_follow_up",
        "start": start.isoformat(),
        "duration_minutes": 50,
        "therapist_timezone": "Europe/London",
        "amount_minor": 6000,
        "currency": "gbp",
        "stripe_customer_id": f"cus_bench_{run_id}_{index}",
        "payment_method_id": f"pm_card_visa_bench_{run_id}_{index}",
        "client_agreed": True,
    }


def soon_booking(run_id: str, index: int, now: datetime, start: datetime) -> dict[str, Any]:
    """A therapist follow-up starting at ``start``, the one instant every attendance session shares.

    Each has its own therapist: a therapist holds one session at a time (the practice claims each
    session's time), so a second booking of one therapist at that instant is ``409 time_taken``,
    as it would be from a real backend. A marketplace's sessions starting at one instant are
    different therapists' sessions.
    """
    return booking(run_id, index, now) | {
        "session_id": f"bench_{run_id}_a{index}",
        "therapist_id": f"bench_thr_{run_id}_a{index}",
        "start": start.isoformat(),
    }


def _acting(role: str, party_id: str) -> dict[str, str]:
    """The ``Acting-Party`` header: each request as the party who would send it."""
    return {"Acting-Party": f"{role}:{party_id}"}


Charged = Callable[[int, float], Awaitable[bool]]
"""``charged(count, since)``: until ``count`` sessions' charges succeeded after the monotonic instant
``since`` (False when they did not in time)."""
CHARGED_TIMEOUT_SECONDS = 120.0


async def bench(
    base_url: str, token: str, count: int, concurrency: int, charged: Charged | None = None
) -> dict[str, Any]:
    """``charged``, when the caller hears the system's notifications (``python -m bench``'s sink),
    holds the attendance updates until every session is paid, as a therapist's update arrives after
    the payment settled; without it the driver waits only for the start, by the clock."""
    run_id = uuid.uuid4().hex[:10]
    now = datetime.now(UTC)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, limits=limits, timeout=60) as http:
        ready = await http.get("/readyz")
        if ready.status_code != 200:
            raise SystemExit(f"{base_url}/readyz answered {ready.status_code}: is `make run` up?")

        async def book(index: int) -> httpx.Response:
            body = booking(run_id, index, now)
            return await http.post(
                "/v1/sessions", json=body, headers=_acting("therapist", body["therapist_id"])
            )

        async def cancel(index: int) -> httpx.Response:
            return await http.post(
                f"/v1/sessions/bench_{run_id}_{index}/cancel",
                json={"requested_by": "client", "reason": "client_request"},
                headers={
                    "Idempotency-Key": f"bench-{run_id}-{index}-{uuid.uuid4().hex}",
                    **_acting("client", booking(run_id, index, now)["client_id"]),
                },
            )

        async def healthz(_: int) -> httpx.Response:
            return await http.get("/healthz")

        booked = await run_phase("book (setup)", count, concurrency, book)
        if booked.statuses.get("201") != count:
            raise SystemExit(f"booking failed: {booked.statuses} {booked.refusals}")
        baseline = await run_phase("GET /healthz", count, concurrency, healthz)
        cancelled = await run_phase("POST cancel", count, concurrency, cancel)

        # Sessions that start soon: booked with the start far enough ahead for all the bookings
        # (and their immediate charges) to land first; then the driver waits for it by the clock.
        lead = timedelta(seconds=ATTENDANCE_LEAD_SECONDS + count / ATTENDANCE_BOOKING_RATE_GUESS)
        soon = (datetime.now(UTC) + lead).replace(microsecond=0)

        async def book_soon(index: int) -> httpx.Response:
            body = soon_booking(run_id, index, now, soon)
            return await http.post(
                "/v1/sessions", json=body, headers=_acting("therapist", body["therapist_id"])
            )

        async def attend(index: int) -> httpx.Response:
            return await http.post(
                f"/v1/sessions/bench_{run_id}_a{index}/attendance",
                json={"outcome": "attended", "continue_sessions": "same_time", "client_agreed": True},
                headers={
                    "Idempotency-Key": f"bench-{run_id}-a{index}-{uuid.uuid4().hex}",
                    **_acting("therapist", soon_booking(run_id, index, now, soon)["therapist_id"]),
                },
            )

        booking_began = time.monotonic()
        booked_soon = await run_phase("book soon (setup)", count, concurrency, book_soon)
        if booked_soon.statuses.get("201") != count:
            raise SystemExit(f"booking failed: {booked_soon.statuses} {booked_soon.refusals}")
        await asyncio.sleep(max(0.0, (soon - datetime.now(UTC)).total_seconds() + 1.0))
        # Inside the 48-hour window each booking is charged at once; on a busy machine the charge
        # can still be running at the start, and an update then is `409 payment_pending`.
        all_paid = await charged(count, booking_began) if charged is not None else None
        attended = await run_phase("POST attendance", count, concurrency, attend)
    return {
        "base_url": base_url,
        "run_id": run_id,
        "measured_at": now.isoformat(),
        "setup": asdict(booked),
        "baseline": asdict(baseline),
        "cancel": asdict(cancelled),
        "attendance_setup": asdict(booked_soon),
        "attendance_all_paid_first": all_paid,
        "attendance": asdict(attended),
        "ratio_cancel_to_healthz": {
            metric: round(getattr(cancelled, metric) / max(getattr(baseline, metric), 1e-9), 1)
            for metric in ("p50_ms", "p95_ms", "p99_ms", "max_ms")
        },
    }


def report(results: dict[str, Any]) -> str:
    lines = [
        f"{'phase':<17} {'n':>5} {'conc':>4} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} "
        f"{'p99 ms':>8} {'max ms':>8}  statuses"
    ]
    for key in ("setup", "baseline", "cancel", "attendance_setup", "attendance"):
        p = results[key]
        lines.append(
            f"{p['name']:<17} {p['requests']:>5} {p['concurrency']:>4} {p['throughput_per_second']:>8} "
            f"{p['p50_ms']:>8} {p['p95_ms']:>8} {p['p99_ms']:>8} {p['max_ms']:>8}  {p['statuses']}"
            + (f" {p['refusals']}" if p["refusals"] else "")
        )
    ratio = results["ratio_cancel_to_healthz"]
    lines.append(
        "cancel / healthz: "
        + ", ".join(f"{metric.removesuffix('_ms')} ×{value}" for metric, value in ratio.items())
    )
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    settings = Settings()
    parser = argparse.ArgumentParser(prog="python -m bench.api_latency", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--requests", type=int, default=200, help=f"sessions to book and cancel (≤ {MAX_REQUESTS})"
    )
    parser.add_argument(
        "--concurrency", type=int, default=50, help=f"requests in flight (≤ {MAX_CONCURRENCY})"
    )
    parser.add_argument("--base-url", default=f"http://{settings.api_host}:{settings.api_port}")
    parser.add_argument("--token", default=LOCAL_API_TOKEN, help="bearer token (default: the local one)")
    parser.add_argument("--time-limit", type=float, default=300.0, help="seconds before the run is abandoned")
    args = parser.parse_args(argv)
    if not 1 <= args.requests <= MAX_REQUESTS:
        parser.error(f"--requests must be 1..{MAX_REQUESTS}")
    if not 1 <= args.concurrency <= MAX_CONCURRENCY:
        parser.error(f"--concurrency must be 1..{MAX_CONCURRENCY}")
    parts = urlsplit(args.base_url)
    if parts.scheme not in {"http", "https"} or not is_loopback(parts.hostname or ""):
        parser.error(f"--base-url must be an http(s) URL on this machine (loopback), not {args.base_url!r}")
    args.base_url = args.base_url.rstrip("/")
    return args


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    async with asyncio.timeout(args.time_limit):
        return await bench(args.base_url, args.token, args.requests, args.concurrency)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        results = asyncio.run(main_async(args))
    except TimeoutError:
        sys.stderr.write(f"abandoned after {args.time_limit} s\n")
        return 1
    except httpx.ConnectError as exc:
        sys.stderr.write(f"cannot reach {args.base_url} ({exc}): start the stack with `make run`\n")
        return 1
    sys.stdout.write(report(results) + "\n")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    sys.stdout.write(f"written to {RESULTS}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
