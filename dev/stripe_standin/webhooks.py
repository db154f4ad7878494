"""Signed webhook delivery from the stand-in to the service under test."""

from __future__ import annotations

import logging
import queue
import threading
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from typing import Any

import stripe

__all__ = ["WebhookDelivery", "WebhookSender"]

_log = logging.getLogger(__name__)

# Bypass any *_proxy environment variables: deliveries go to a loopback receiver.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(frozen=True)
class WebhookDelivery:
    event_id: str
    attempt: int
    status: int | None
    error: str | None
    manual: bool
    at: float

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class _Job:
    generation: int
    event_id: str
    payload: bytes


class WebhookSender:
    """Posts events from one background thread, in creation order, retrying briefly.

    Real Stripe retries for days; a test double only needs enough retries to ride over a
    receiver that is still starting, without making a failing test slow.
    """

    def __init__(
        self,
        url: str | None,
        secret: str | None,
        *,
        attempts: int = 4,
        backoff_seconds: float = 0.05,
        timeout_seconds: float = 5.0,
    ) -> None:
        # A Condition so tests can wait for a delivery to be recorded instead of sleeping.
        self._lock = threading.Condition()
        self._url = url
        self._secret = secret
        self._attempts = attempts
        self._backoff = backoff_seconds
        self._timeout = timeout_seconds
        self._queue: queue.Queue[_Job | None] = queue.Queue()
        self._deliveries: list[WebhookDelivery] = []
        self._generation = 0
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def enabled(self) -> bool:
        with self._lock:
            return self._url is not None and self._secret is not None

    def configure(self, url: str | None, secret: str | None) -> None:
        if (url is None) != (secret is None):
            raise ValueError("webhook url and secret must be given together")
        with self._lock:
            self._url = url
            self._secret = secret

    def start(self) -> None:
        self._stopping.clear()
        # A fresh queue so a sentinel left by a previous stop() cannot end the new worker.
        self._queue = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="stripe-standin-webhooks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(timeout=self._timeout + 1)
            self._thread = None

    def reset(self) -> None:
        """Drop queued deliveries and history so one test's events never reach the next."""
        with self._lock:
            self._generation += 1
            self._deliveries.clear()

    def deliveries(self) -> list[WebhookDelivery]:
        with self._lock:
            return list(self._deliveries)

    def wait_for_deliveries(self, count: int, timeout: float) -> list[WebhookDelivery]:
        with self._lock:
            self._lock.wait_for(lambda: len(self._deliveries) >= count, timeout)
            return list(self._deliveries)

    def enqueue(self, event_id: str, payload: bytes) -> None:
        with self._lock:
            if self._url is None:
                return
            self._queue.put(_Job(self._generation, event_id, payload))

    def deliver_now(self, event_id: str, payload: bytes, times: int) -> list[int | None]:
        """POST the stored payload ``times`` times, one attempt each, and return the statuses."""
        if not self.enabled:
            raise RuntimeError("no webhook_url/webhook_secret configured")
        with self._lock:
            generation = self._generation
        return [
            self._post_once(event_id, payload, attempt, generation, manual=True)
            for attempt in range(1, times + 1)
        ]

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            if job is None or self._stopping.is_set():
                return
            for attempt in range(1, self._attempts + 1):
                with self._lock:
                    if job.generation != self._generation:
                        break
                status = self._post_once(job.event_id, job.payload, attempt, job.generation, manual=False)
                if status is not None and 200 <= status < 300:
                    break
                # Event.wait doubles as an interruptible sleep so stop() is never held up.
                if self._stopping.wait(self._backoff * 2 ** (attempt - 1)):
                    return

    def _post_once(
        self, event_id: str, payload: bytes, attempt: int, generation: int, *, manual: bool
    ) -> int | None:
        with self._lock:
            url, secret = self._url, self._secret
        if url is None or secret is None:
            return None
        header = str(stripe.WebhookSignature.generate_signature_header(payload.decode(), secret))
        request = urllib.request.Request(
            url,
            data=payload,
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "Stripe-Signature": header,
                "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
            },
        )
        status: int | None = None
        error: str | None = None
        try:
            with _OPENER.open(request, timeout=self._timeout) as response:
                status = int(response.status)
                response.read()
        except urllib.error.HTTPError as exc:
            status = exc.code
            exc.close()
        except OSError as exc:
            error = f"{type(exc).__name__}: {exc}"
        _log.debug("webhook %s attempt %d -> %s %s", event_id, attempt, status, error or "")
        with self._lock:
            if generation != self._generation:
                return status
            self._deliveries.append(WebhookDelivery(event_id, attempt, status, error, manual, time.time()))
            self._lock.notify_all()
        return status
