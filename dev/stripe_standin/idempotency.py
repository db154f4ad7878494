"""Stripe's v1 idempotency layer: in-flight locking, saved results and parameter checks."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any

__all__ = [
    "Fingerprint",
    "IdempotencyLayer",
    "InFlight",
    "Mismatch",
    "Replay",
    "Scope",
    "StoredResult",
    "Ticket",
    "fingerprint",
]

# (api key, Stripe-Account, Idempotency-Key): Stripe scopes keys per account.
Scope = tuple[str, str, str]
Fingerprint = tuple[str, str, str]


def fingerprint(method: str, path: str, params: dict[str, Any]) -> Fingerprint:
    # Only method, path and decoded params count; headers such as X-Stripe-Client-Telemetry
    # differ between an SDK call and its retry and must not make a retry look different.
    return (method, path, json.dumps(params, sort_keys=True, separators=(",", ":")))


@dataclass(frozen=True)
class StoredResult:
    fingerprint: Fingerprint
    status: int
    body: bytes
    request_id: str


@dataclass(frozen=True)
class Ticket:
    """Permission to execute a request under a key; hand back with complete() or abandon()."""

    scope: Scope
    generation: int


@dataclass(frozen=True)
class Replay:
    result: StoredResult


@dataclass(frozen=True)
class InFlight:
    pass


@dataclass(frozen=True)
class Mismatch:
    pass


class IdempotencyLayer:
    def __init__(self) -> None:
        # A Condition (not a bare Lock) so tests can wait for a key to enter or leave flight
        # instead of sleeping.
        self._lock = threading.Condition()
        self._results: dict[Scope, StoredResult] = {}
        self._in_flight: set[Scope] = set()
        # reset() bumps this so a request still executing across a reset cannot store a
        # result into the fresh state.
        self._generation = 0

    def reset(self) -> None:
        with self._lock:
            self._results.clear()
            self._in_flight.clear()
            self._generation += 1
            self._lock.notify_all()

    def begin(self, scope: Scope, fp: Fingerprint) -> Ticket | Replay | InFlight | Mismatch:
        with self._lock:
            if scope in self._in_flight:
                return InFlight()
            stored = self._results.get(scope)
            if stored is not None:
                return Replay(stored) if stored.fingerprint == fp else Mismatch()
            self._in_flight.add(scope)
            self._lock.notify_all()
            return Ticket(scope, self._generation)

    def complete(self, ticket: Ticket, result: StoredResult) -> None:
        with self._lock:
            if ticket.generation != self._generation:
                return
            self._in_flight.discard(ticket.scope)
            self._results[ticket.scope] = result
            self._lock.notify_all()

    def abandon(self, ticket: Ticket) -> None:
        with self._lock:
            if ticket.generation == self._generation:
                self._in_flight.discard(ticket.scope)
                self._lock.notify_all()

    def wait_for(self, key: str, *, in_flight: bool, timeout: float) -> bool:
        """Block until some scope with this key is (or is no longer) executing."""

        def reached() -> bool:
            executing = any(scope[2] == key for scope in self._in_flight)
            return executing if in_flight else not executing

        with self._lock:
            return self._lock.wait_for(reached, timeout)

    def keys(self) -> list[str]:
        with self._lock:
            return [scope[2] for scope in self._results]
