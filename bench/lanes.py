"""Closed-loop load: ``concurrency`` lanes each take the next item until ``count`` are done, timing
each one. Percentiles are nearest-rank (``bench.api_latency`` reports with the same lanes)."""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    rank = max(1, math.ceil(q * len(sorted_values)))
    return sorted_values[rank - 1]


@dataclass(frozen=True)
class Phase:
    name: str
    count: int
    concurrency: int
    seconds: float
    ok: int
    errors: dict[str, int]
    latencies: tuple[float, ...]  # seconds, successful items only, sorted

    @property
    def per_second(self) -> float:
        return self.ok / self.seconds if self.seconds > 0 else 0.0

    def quantile_ms(self, q: float) -> float | None:
        return percentile(self.latencies, q) * 1000 if self.latencies else None

    def summary(self) -> dict[str, object]:
        return {
            "count": self.count,
            "concurrency": self.concurrency,
            "seconds": round(self.seconds, 3),
            "ok": self.ok,
            "errors": self.errors,
            "per_second": round(self.per_second, 2),
            **{f"p{int(q * 100)}_ms": _round(self.quantile_ms(q)) for q in (0.5, 0.95, 0.99)},
            "max_ms": _round(self.latencies[-1] * 1000 if self.latencies else None),
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


async def run_lanes(
    name: str,
    count: int,
    concurrency: int,
    item: Callable[[int], Awaitable[float | None]],
    *,
    timeout: float,  # noqa: ASYNC109 - bounds each item, not the phase
) -> Phase:
    """Run ``item(i)`` for i in 0..count-1, at most ``concurrency`` at once.

    ``item`` returns the latency to record (seconds) or None to record its whole duration. An
    exception is counted by type and the lane moves on; ``timeout`` bounds every item so a stuck
    workflow shows as ``TimeoutError`` instead of hanging the run.
    """
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    next_index = 0

    async def lane() -> None:
        nonlocal next_index
        while next_index < count:
            index = next_index
            next_index += 1
            began = time.perf_counter()
            try:
                measured = await asyncio.wait_for(item(index), timeout)
            except Exception as exc:
                errors[_error_name(exc)] += 1
                continue
            latencies.append(time.perf_counter() - began if measured is None else measured)

    began = time.perf_counter()
    async with asyncio.TaskGroup() as lanes:
        for _ in range(min(concurrency, count)):
            lanes.create_task(lane())
    elapsed = time.perf_counter() - began
    return Phase(name, count, concurrency, elapsed, len(latencies), dict(errors), tuple(sorted(latencies)))


def _error_name(exc: BaseException) -> str:
    # A refused update carries the rule's code (payment_pending, session_started, …): say which.
    cause = getattr(exc, "cause", None)
    code = getattr(cause, "type", None)
    return f"{type(exc).__name__}:{code}" if code else type(exc).__name__


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return round(numerator / denominator, 3)
