"""Fault injection: scripted rules and seeded random faults for the Stripe stand-in.

Faults model the failures a client of real Stripe must survive. Some happen *in front of* the API
(a load balancer 500, a 429, a dropped connection) and never reach the idempotency layer, so a
retry with the same key executes for real; others (``drop_after_commit``, ``delay``) happen
after Stripe has committed, so the object exists even though the client saw an error.
"""

from __future__ import annotations

import random
import re
import threading
from dataclasses import asdict, dataclass
from typing import Any, Final, Literal, cast

__all__ = [
    "ALL_FAULT_KINDS",
    "PRE_EXECUTION_KINDS",
    "TRANSIENT_FAULT_KINDS",
    "FaultKind",
    "FaultPlan",
    "FaultRule",
]

FaultKind = Literal[
    "error_500",
    "rate_limit_429",
    "conflict_409",
    "delay",
    "drop_before_commit",
    "drop_after_commit",
    "invalid_request_400",
]

ALL_FAULT_KINDS: Final[tuple[FaultKind, ...]] = (
    "error_500",
    "rate_limit_429",
    "conflict_409",
    "delay",
    "drop_before_commit",
    "drop_after_commit",
    "invalid_request_400",
)
# The transient failures random fault mode draws from by default. A 400 is a refusal, not an
# outage: only scripted rules inject it (to test how a caller copes with Stripe saying no).
TRANSIENT_FAULT_KINDS: Final[tuple[FaultKind, ...]] = ALL_FAULT_KINDS[:-1]

PRE_EXECUTION_KINDS: Final[frozenset[str]] = frozenset(
    {"error_500", "rate_limit_429", "conflict_409", "drop_before_commit", "invalid_request_400"}
)


@dataclass(frozen=True)
class FaultRule:
    """One scripted fault: hits the next ``times`` requests whose method and path match."""

    kind: FaultKind
    method: str = "POST"
    path: str = r"^/v1/"
    times: int = 1
    delay_seconds: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in ALL_FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {ALL_FAULT_KINDS}")
        if self.times < 1:
            raise ValueError("times must be at least 1")
        if self.delay_seconds < 0:
            raise ValueError("delay_seconds must not be negative")
        # Compile now so a bad pattern fails where the rule is written, not mid-request.
        re.compile(self.path)
        object.__setattr__(self, "method", self.method.upper())

    def matches(self, method: str, path: str) -> bool:
        return method.upper() == self.method and re.search(self.path, path) is not None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FaultRule:
        allowed = {"kind", "method", "path", "times", "delay_seconds"}
        unknown = set(data) - allowed
        if unknown:
            raise ValueError(f"unknown FaultRule fields: {sorted(unknown)}")
        if "kind" not in data:
            raise ValueError("kind is required")
        return cls(
            kind=cast(FaultKind, data["kind"]),
            method=str(data.get("method", "POST")),
            path=str(data.get("path", r"^/v1/")),
            times=int(data.get("times", 1)),
            delay_seconds=float(data.get("delay_seconds", 0.0)),
        )


@dataclass(frozen=True)
class AppliedFault:
    """The fault chosen for one request."""

    kind: FaultKind
    delay_seconds: float = 0.0


@dataclass
class _RandomFaults:
    rate: float
    rng: random.Random
    kinds: tuple[FaultKind, ...]
    delay_seconds: float


class FaultPlan:
    """Thread-safe set of pending rules plus optional random faults."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self._remaining: list[int] = []
        self._random: _RandomFaults | None = None

    def add(self, rule: FaultRule) -> None:
        with self._lock:
            self._rules.append(rule)
            self._remaining.append(rule.times)

    def clear(self) -> None:
        """Forget scripted rules and switch random faults off."""
        with self._lock:
            self._rules.clear()
            self._remaining.clear()
            self._random = None

    def set_random(
        self,
        rate: float,
        seed: int | None,
        kinds: tuple[str, ...],
        delay_seconds: float,
    ) -> None:
        if not 0.0 <= rate <= 1.0:
            raise ValueError("rate must be between 0 and 1")
        bad = [k for k in kinds if k not in ALL_FAULT_KINDS]
        if bad:
            raise ValueError(f"unknown fault kinds {bad}; expected some of {ALL_FAULT_KINDS}")
        if rate > 0 and not kinds:
            raise ValueError("kinds must not be empty when rate > 0")
        if delay_seconds < 0:
            raise ValueError("delay_seconds must not be negative")
        with self._lock:
            if rate == 0:
                self._random = None
                return
            self._random = _RandomFaults(
                rate=rate,
                rng=random.Random(seed),
                kinds=cast(tuple[FaultKind, ...], tuple(kinds)),
                delay_seconds=delay_seconds,
            )

    def pending(self) -> list[dict[str, Any]]:
        with self._lock:
            return [
                {**rule.to_json(), "remaining": left}
                for rule, left in zip(self._rules, self._remaining, strict=True)
                if left > 0
            ]

    def pick(self, method: str, path: str) -> AppliedFault | None:
        """Consume and return the fault for this request, if any.

        Scripted rules win over random faults so a test's explicit script is never disturbed
        by a random draw.
        """
        with self._lock:
            for index, rule in enumerate(self._rules):
                if self._remaining[index] > 0 and rule.matches(method, path):
                    self._remaining[index] -= 1
                    return AppliedFault(rule.kind, rule.delay_seconds)
            chaos = self._random
            if chaos is not None and chaos.rng.random() < chaos.rate:
                return AppliedFault(chaos.rng.choice(chaos.kinds), chaos.delay_seconds)
        return None
