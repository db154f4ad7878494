"""The faults made to happen at random times while the lifecycles run.

Process faults (a worker SIGKILLed and replaced, the Temporal server stopped and started again on
its SQLite file) run one at a time, in a seeded order at seeded times, each waiting until the
stack is back before the next; notification outages run on their own timeline and may overlap
them. Stripe's 10 % failures and the webhook relay's duplicates and reordering are continuous
(configured in the stand-in and the relay).
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field
from enum import StrEnum

from faults.sink import OutageMode
from faults.stack import FaultStack


class ChaosKind(StrEnum):
    KILL_WORKER = "kill_worker"
    RESTART_SERVER = "restart_server"
    NOTIFICATION_OUTAGE = "notification_outage"


@dataclass(frozen=True)
class ChaosEvent:
    at_seconds: float
    """From the start of the lifecycle phase."""
    kind: ChaosKind
    seconds: float = 0.0
    """Server downtime or outage length."""
    mode: OutageMode = "refused"


@dataclass
class ChaosLog:
    done: list[tuple[float, str, float]] = field(default_factory=list)
    """(seconds from the start, kind, how long it took until the stack was back)."""
    failures: list[str] = field(default_factory=list)


def plan(
    *,
    seed: int,
    span_seconds: float,
    kills: int,
    restarts: int,
    outages: int,
    downtime: tuple[float, float],
    outage_length: tuple[float, float],
) -> list[ChaosEvent]:
    """Seeded times in the busy part of the run: after warm-up, before the last lifecycles end."""
    rng = random.Random(seed ^ 0xC4A05)
    early, late = min(8.0, span_seconds * 0.1), max(10.0, span_seconds * 0.8)
    events = [ChaosEvent(rng.uniform(early, late), ChaosKind.KILL_WORKER) for _ in range(kills)]
    events += [
        ChaosEvent(rng.uniform(early, late), ChaosKind.RESTART_SERVER, rng.uniform(*downtime))
        for _ in range(restarts)
    ]
    modes: tuple[OutageMode, ...] = ("refused", "503")
    events += [
        ChaosEvent(
            rng.uniform(early, late), ChaosKind.NOTIFICATION_OUTAGE, rng.uniform(*outage_length), modes[i % 2]
        )
        for i in range(outages)
    ]
    return sorted(events, key=lambda event: event.at_seconds)


async def run(stack: FaultStack, events: list[ChaosEvent], began: float, log: ChaosLog) -> None:
    """Carry out ``events`` (times relative to ``began``, a ``time.monotonic()``)."""
    process_events = [event for event in events if event.kind is not ChaosKind.NOTIFICATION_OUTAGE]
    outage_events = [event for event in events if event.kind is ChaosKind.NOTIFICATION_OUTAGE]
    await asyncio.gather(
        _process_chaos(stack, process_events, began, log), _outages(stack, outage_events, began, log)
    )


async def _at(began: float, at_seconds: float) -> None:
    # The chaos plan's own clock: when to strike, not a synchronisation.
    delay = began + at_seconds - time.monotonic()
    if delay > 0:
        await asyncio.sleep(delay)


async def _process_chaos(stack: FaultStack, events: list[ChaosEvent], began: float, log: ChaosLog) -> None:
    for event in events:
        await _at(began, event.at_seconds)
        struck = time.monotonic()
        try:
            await stack.ensure_worker()
            if event.kind is ChaosKind.KILL_WORKER:
                await stack.kill_worker()
            else:
                await stack.restart_server(event.seconds)
                # A worker that died while the server was away is replaced (and counted).
                await stack.ensure_worker()
        except Exception as exc:  # the stack not coming back is a finding; keep going
            log.failures.append(f"{event.kind.value}: {type(exc).__name__}: {exc}")
        log.done.append((struck - began, event.kind.value, time.monotonic() - struck))


async def _outages(stack: FaultStack, events: list[ChaosEvent], began: float, log: ChaosLog) -> None:
    for event in events:
        await _at(began, event.at_seconds)
        struck = time.monotonic()
        try:
            await stack.notification_outage(event.mode, event.seconds)
        except Exception as exc:
            log.failures.append(f"notification outage: {type(exc).__name__}: {exc}")
        log.done.append((struck - began, f"{event.kind.value}:{event.mode}", time.monotonic() - struck))
