"""A webhook relay between the Stripe stand-in and the API replicas: at least once, out of order.

The stand-in posts each event once, in creation order, with a few quick retries. Real Stripe
retries for days, delivers concurrently (so out of order) and sometimes twice. The relay plays
that part: it acknowledges the stand-in at once, holds each event for a random time (so later
events often overtake earlier ones), posts it to a random API replica, re-signing every attempt as
Stripe does, retries 5xx and connection errors until a deadline (the API answers 503 while
Temporal restarts), and posts a share of events a second time. A script may also hold one
session's events of given types until it releases them (:meth:`WebhookRelay.hold`): a webhook
arriving after a decision the workflow had to take without it. Event bodies are forwarded byte for
byte: the signature covers them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from collections.abc import Awaitable, Callable, Iterable, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import stripe
import uvicorn

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

RETRY_BACKOFF_SECONDS = (0.2, 0.5, 1.0, 2.0, 3.0)
POST_TIMEOUT_SECONDS = 15.0  # the API's own signal timeout is 10 s


@dataclass
class RelayCounts:
    received: int = 0
    """Events the stand-in posted to the relay (its own redeliveries included)."""
    delivered: int = 0
    """Events the API acknowledged with 2xx (first delivery of each relay job)."""
    duplicates_sent: int = 0
    """Extra deliveries of an already acknowledged event."""
    overtaken: int = 0
    """Events acknowledged after an event that reached the relay later (out of order)."""
    retried_posts: int = 0
    """Posts answered 5xx or not at all, then retried."""
    rejected: int = 0
    """Posts the API refused with 4xx: never expected."""
    gave_up: int = 0
    """Events not acknowledged before the deadline: never expected."""
    held_for_session: int = 0
    """Events held back for one session until its script released them (:meth:`WebhookRelay.hold`)."""
    by_status: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class SessionHold:
    """A session's events of ``event_types`` wait until ``released`` is set (bounded by the relay's
    delivery deadline): Stripe's webhook arriving minutes late, as it can."""

    event_types: frozenset[str]
    released: asyncio.Event


class WebhookRelay:
    def __init__(
        self,
        *,
        port: int,
        targets: Sequence[str],
        secret: str,
        rng: random.Random,
        max_hold_seconds: float,
        duplicate_rate: float,
        deadline_seconds: float = 180.0,
    ) -> None:
        self._port = port
        self._targets = list(targets)
        self._secret = secret
        self._rng = rng
        self._max_hold = max_hold_seconds
        self._duplicate_rate = duplicate_rate
        self._deadline = deadline_seconds
        self.counts = RelayCounts()
        self.rejections: list[str] = []
        self._sequence = 0
        self._acknowledged_up_to: set[int] = set()
        self._jobs: set[asyncio.Task[None]] = set()
        self._holds: dict[str, SessionHold] = {}
        self._http: httpx.AsyncClient | None = None
        self._server: uvicorn.Server | None = None
        self._serving: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}/webhook"

    async def start(self) -> None:
        self._http = httpx.AsyncClient(timeout=POST_TIMEOUT_SECONDS, trust_env=False)
        config = uvicorn.Config(self, host="127.0.0.1", port=self._port, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._serving = asyncio.create_task(self._server.serve())
        async with asyncio.timeout(10):
            while not self._server.started:
                if self._serving.done():
                    self._serving.result()
                await asyncio.sleep(0.02)

    async def stop(self) -> None:
        for job in list(self._jobs):
            job.cancel()
        if self._server is not None and self._serving is not None:
            self._server.should_exit = True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._serving, 10)
        if self._http is not None:
            await self._http.aclose()

    def hold(self, session_id: str, event_types: Iterable[str]) -> asyncio.Event:
        """Hold ``session_id``'s events of ``event_types`` (by ``metadata.session_id``) until the
        returned event is set; the caller must set it (at the latest the delivery deadline lets
        them through). Register it before the events can be created."""
        released = asyncio.Event()
        self._holds[session_id] = SessionHold(frozenset(event_types), released)
        return released

    def _held_by(self, body: bytes) -> SessionHold | None:
        if not self._holds:
            return None
        try:
            event = json.loads(body)
            metadata = event["data"]["object"].get("metadata") or {}
            hold = self._holds.get(str(metadata.get("session_id")))
        except (ValueError, KeyError, TypeError, AttributeError):
            return None
        if hold is None or event.get("type") not in hold.event_types:
            return None
        return hold

    @property
    def pending(self) -> int:
        return len(self._jobs)

    async def drained(self, timeout: float) -> bool:  # noqa: ASYNC109 - a deadline, not a scope
        """True once every job (deliveries and duplicates) has finished, within ``timeout``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self._jobs:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            await asyncio.wait(set(self._jobs), timeout=remaining)
        return True

    # --- the ASGI app the stand-in posts to -------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.counts.received += 1
        self._sequence += 1
        job = asyncio.create_task(self._relay(self._sequence, body))
        self._jobs.add(job)
        job.add_done_callback(self._jobs.discard)
        reply = json.dumps({"received": True}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(reply)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": reply})

    # --- delivery ----------------------------------------------------------------------------

    async def _relay(self, sequence: int, body: bytes) -> None:
        if (hold := self._held_by(body)) is not None and not hold.released.is_set():
            self.counts.held_for_session += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(hold.released.wait(), self._deadline)
        # Held for a random time so that later events often overtake earlier ones.
        await asyncio.sleep(self._rng.uniform(0, self._max_hold))
        if not await self._deliver(body):
            return
        if any(earlier not in self._acknowledged_up_to for earlier in range(max(1, sequence - 50), sequence)):
            self.counts.overtaken += 1
        self._acknowledged_up_to.add(sequence)
        self.counts.delivered += 1
        if self._rng.random() < self._duplicate_rate:
            await asyncio.sleep(self._rng.uniform(0, self._max_hold))
            if await self._deliver(body):
                self.counts.duplicates_sent += 1

    async def _deliver(self, body: bytes) -> bool:
        assert self._http is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._deadline
        attempt = 0
        while True:
            target = self._rng.choice(self._targets)
            # Signed afresh for every attempt, like Stripe: a long outage never ages a signature out.
            header = str(stripe.WebhookSignature.generate_signature_header(body.decode(), self._secret))
            status: int | None = None
            try:
                response = await self._http.post(
                    target,
                    content=body,
                    headers={"Content-Type": "application/json", "Stripe-Signature": header},
                )
                status = response.status_code
            except httpx.HTTPError:
                status = None
            key = str(status) if status is not None else "no_answer"
            self.counts.by_status[key] = self.counts.by_status.get(key, 0) + 1
            if status is not None and 200 <= status < 300:
                return True
            if status is not None and 400 <= status < 500:
                self.counts.rejected += 1
                self.rejections.append(f"{status}: {response.text[:200]}")
                return False
            self.counts.retried_posts += 1
            if loop.time() >= deadline:
                self.counts.gave_up += 1
                return False
            await asyncio.sleep(RETRY_BACKOFF_SECONDS[min(attempt, len(RETRY_BACKOFF_SECONDS) - 1)])
            attempt += 1
