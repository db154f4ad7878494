"""A loopback receiver for notification events: ``python -m dev.notification_sink`` (``make run``).

It does what the marketplace backend must do with every POST: verify the ``Sessionflow-Signature``
over the raw body (401 if it does not verify), parse the event, and drop repeats by event id (a
repeat still gets 200, so the sender stops retrying). It writes one line per notification to its
output — type, audience, ids and codes; never the client secret. Tests use :class:`NotificationSink`
directly: it records every request, keeps the verified notifications in arrival order and can
answer the next requests with an error to exercise Temporal's retries.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType, TracebackType
from typing import IO, Any, Self

from pydantic import ValidationError

from domain.notifications import (
    EVENT_ID_HEADER,
    SIGNATURE_HEADER,
    Notification,
    NotificationSignatureError,
    verify_signature,
)
from settings import LOCAL_NOTIFY_SECRET, is_loopback

__all__ = ["DEFAULT_PATH", "NotificationSink", "SinkRequest", "main"]

_log = logging.getLogger(__name__)

DEFAULT_PATH = "/notifications"
MAX_BODY_BYTES = 64 * 1024
REDACTED = "(redacted)"


@dataclass(frozen=True)
class SinkRequest:
    """One POST as the sink saw it, whatever it answered."""

    event_id: str | None  # the Sessionflow-Event-Id header
    status: int
    verified: bool
    duplicate: bool = False


class NotificationSink:
    """A verifying, deduplicating notification receiver on loopback, for tests and ``make run``."""

    def __init__(
        self,
        secret: str = LOCAL_NOTIFY_SECRET,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        path: str = DEFAULT_PATH,
        out: IO[str] | None = None,
        tolerance_seconds: int = 300,
    ) -> None:
        if not is_loopback(host):
            raise ValueError(f"refusing to bind {host!r}: the notification sink only serves loopback")
        if not secret:
            raise ValueError("the notification sink needs the signing secret")
        if not path.startswith("/"):
            raise ValueError("the path must start with /")
        self._secret = secret
        self._host = host
        self._requested_port = port
        self._path = path
        self._out = out
        self._tolerance = tolerance_seconds
        self._cond = threading.Condition()
        self._received: list[Notification] = []
        self._requests: list[SinkRequest] = []
        self._seen: set[str] = set()
        self._failures: list[int] = []  # statuses to answer with, next request first
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        if self._server is not None:
            raise RuntimeError("the sink is already running")
        self._server = _Server((self._host, self._requested_port), self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="notification-sink",
            daemon=True,
        )
        self._thread.start()
        _log.info("notification sink listening on %s", self.url)

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the sink is not running; call start() first")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self.port}{self._path}"

    # --- scripting and assertions -------------------------------------------------------------

    def fail_next(self, count: int, status: int = 503) -> None:
        """Answer the next ``count`` POSTs with ``status`` (before verifying), then recover."""
        if count < 0 or not 400 <= status <= 599:
            raise ValueError("fail_next needs count >= 0 and a 4xx/5xx status")
        with self._cond:
            self._failures.extend([status] * count)

    def reset(self) -> None:
        """Forget everything received and any pending failures."""
        with self._cond:
            self._received.clear()
            self._requests.clear()
            self._seen.clear()
            self._failures.clear()

    @property
    def received(self) -> list[Notification]:
        """Verified notifications in arrival order, duplicates included (a snapshot)."""
        with self._cond:
            return list(self._received)

    @property
    def requests(self) -> list[SinkRequest]:
        """Every POST in arrival order, including the ones answered with an error (a snapshot)."""
        with self._cond:
            return list(self._requests)

    @property
    def unique_event_ids(self) -> list[str]:
        """Event ids of the verified notifications, first arrival only."""
        with self._cond:
            return list(dict.fromkeys(notification.event_id for notification in self._received))

    def wait_for(
        self, predicate: Callable[[Notification], bool], timeout: float = 10.0, *, count: int = 1
    ) -> list[Notification]:
        """Block until ``count`` received notifications match; return all that match, in order.

        This blocks the calling thread: from a coroutine (with a worker on the same event loop)
        use :meth:`wait_for_async`. Raises ``TimeoutError`` naming what did arrive.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                matching = [notification for notification in self._received if predicate(notification)]
                if len(matching) >= count:
                    return matching
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    arrived = ", ".join(n.event_id for n in self._received) or "nothing"
                    raise TimeoutError(
                        f"{len(matching)} of {count} matching notifications after {timeout} s; "
                        f"received: {arrived}"
                    )
                self._cond.wait(remaining)

    async def wait_for_async(
        self,
        predicate: Callable[[Notification], bool],
        timeout: float = 10.0,  # noqa: ASYNC109 - it bounds the thread too, which a cancel cannot
        *,
        count: int = 1,
    ) -> list[Notification]:
        """:meth:`wait_for` on a thread, so the event loop (and a worker on it) keeps running."""
        return await asyncio.to_thread(self.wait_for, predicate, timeout, count=count)

    # --- request handling (server threads) ----------------------------------------------------

    def _handle(self, path: str, headers: Message, body: bytes) -> tuple[int, dict[str, Any]]:
        event_id: str | None = headers.get(EVENT_ID_HEADER)
        with self._cond:
            failure = self._failures.pop(0) if self._failures else None
        if failure is not None:
            self._record(SinkRequest(event_id, failure, verified=False))
            return failure, {"error": "injected_failure"}
        if path.split("?", 1)[0] != self._path:
            self._record(SinkRequest(event_id, 404, verified=False))
            return 404, {"error": "not_found"}
        try:
            verify_signature(
                body, headers.get(SIGNATURE_HEADER), self._secret, int(time.time()), self._tolerance
            )
        except NotificationSignatureError as exc:
            self._record(SinkRequest(event_id, 401, verified=False))
            self._write(f"rejected event={event_id or '-'}: {exc}")
            return 401, {"error": "bad_signature"}
        try:
            notification = Notification.model_validate_json(body)
        except ValidationError:
            self._record(SinkRequest(event_id, 400, verified=True))
            self._write(f"rejected event={event_id or '-'}: the body is not a valid notification")
            return 400, {"error": "invalid_notification"}
        if event_id != notification.event_id:
            self._record(SinkRequest(event_id, 400, verified=True))
            self._write(f"rejected event={event_id or '-'}: the event id header does not match the body")
            return 400, {"error": "event_id_mismatch"}
        with self._cond:
            duplicate = notification.event_id in self._seen
            self._seen.add(notification.event_id)
            self._received.append(notification)
            self._requests.append(SinkRequest(event_id, 200, verified=True, duplicate=duplicate))
            self._cond.notify_all()
        self._write(describe(notification, duplicate=duplicate))
        return 200, {"event_id": notification.event_id, "duplicate": duplicate}

    def _record(self, request: SinkRequest) -> None:
        with self._cond:
            self._requests.append(request)
            self._cond.notify_all()

    def _write(self, line: str) -> None:
        if self._out is None:
            return
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        with self._cond:
            self._out.write(f"{stamp} {line}\n")
            self._out.flush()


def describe(notification: Notification, *, duplicate: bool = False) -> str:
    """One line for a notification: the type, the audience, the event id, then ids and codes."""
    fields = notification.model_dump(
        mode="json", exclude={"event_id", "type", "audience"}, exclude_none=True, exclude_defaults=True
    )
    if notification.payment_intent_client_secret is not None:
        fields["payment_intent_client_secret"] = REDACTED
    head = "duplicate " if duplicate else ""
    details = json.dumps(fields, separators=(",", ":"), sort_keys=True)
    return f"{head}{notification.type} -> {notification.audience} event={notification.event_id} {details}"


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], sink: NotificationSink) -> None:
        self.sink = sink
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Senders that time out and hang up are expected here; keep stderr clean.
        _log.debug("connection error from %s", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "SessionflowNotificationSink/1"

    def do_POST(self) -> None:
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            self._reply(411, {"error": "length_required"})
            return
        if not 0 <= length <= MAX_BODY_BYTES:
            self._reply(413, {"error": "too_large"})
            return
        body = self.rfile.read(length)
        status, payload = self.server.sink._handle(self.path, self.headers, body)
        self._reply(status, payload)

    def do_GET(self) -> None:
        self._reply(405, {"error": "method_not_allowed"})

    def _reply(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        _log.debug("%s %s", self.address_string(), format % args)


# --- the process ------------------------------------------------------------------------------


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m dev.notification_sink",
        description="Receive, verify, deduplicate and print notification events until SIGINT/SIGTERM.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind")
    parser.add_argument("--port", type=int, default=12112, help="0 picks a free port")
    parser.add_argument("--path", default=DEFAULT_PATH, help="the path notifications are POSTed to")
    parser.add_argument("--secret", default=LOCAL_NOTIFY_SECRET, help="the signing secret")
    parser.add_argument("--log-level", default="WARNING")
    args = parser.parse_args(argv)
    if not is_loopback(args.host):
        parser.error(f"refusing to bind {args.host!r}: the notification sink only serves loopback")
    if not args.path.startswith("/"):
        parser.error("--path must start with /")
    return args


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(message)s")
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)

    sink = NotificationSink(args.secret, host=args.host, port=args.port, path=args.path, out=sys.stdout)
    sink.start()
    try:
        # Scripts may wait for this exact line (and parse the URL from it).
        sys.stdout.write(f"notification sink listening on {sink.url}\n")
        sys.stdout.flush()
        stop.wait()
    finally:
        sink.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
