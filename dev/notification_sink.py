"""A loopback receiver for notification events: ``python -m dev.notification_sink`` (``make run``).

It does what the marketplace backend must do with every POST: verify the Standard Webhooks headers
(``webhook-id``, ``webhook-timestamp``, ``webhook-signature``) over the raw body with the
``standardwebhooks`` library's ``Webhook.verify`` — the off-the-shelf check any backend uses; 401
if it does not verify or is more than 5 minutes old or ahead — parse the event, and drop repeats
by event id (a repeat still gets 200, so the sender stops retrying). It writes one line per
notification to its output — type, audience, ids and codes; never the client secret. Tests use
:class:`NotificationSink` directly: it records every request, keeps the verified notifications in
arrival order and can answer the next requests with an error to exercise Temporal's retries.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import Message
from http.server import BaseHTTPRequestHandler
from typing import IO, Any

from pydantic import ValidationError
from standardwebhooks import Webhook, WebhookVerificationError

from domain.notifications import WEBHOOK_ID_HEADER, Notification, webhook_secret
from settings import LOCAL_NOTIFY_SECRET

from .loopback import (
    LoopbackHTTPServer,
    LoopbackHTTPService,
    announce_listening,
    parse_service_args,
    serve_until_signalled,
    service_parser,
)

__all__ = ["DEFAULT_PATH", "NotificationSink", "SinkRequest", "main"]

_log = logging.getLogger(__name__)

DEFAULT_PATH = "/notifications"
MAX_BODY_BYTES = 64 * 1024
REDACTED = "(redacted)"


@dataclass(frozen=True)
class SinkRequest:
    """One POST as the sink saw it, whatever it answered."""

    event_id: str | None  # the webhook-id header
    status: int
    verified: bool
    duplicate: bool = False


class NotificationSink(LoopbackHTTPService):
    """A verifying, deduplicating notification receiver on loopback, for tests and ``make run``."""

    _label = "notification sink"
    _thread_name = "notification-sink"

    def __init__(
        self,
        secret: str = LOCAL_NOTIFY_SECRET,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        path: str = DEFAULT_PATH,
        out: IO[str] | None = None,
    ) -> None:
        super().__init__(host, port)
        if not secret:
            raise ValueError("the notification sink needs the signing secret")
        if not path.startswith("/"):
            raise ValueError("the path must start with /")
        # The library's own check (its tolerance is the convention's 5 minutes either way).
        self._webhook = Webhook(webhook_secret(secret))
        self._path = path
        self._out = out
        self._cond = threading.Condition()
        self._received: list[Notification] = []
        self._requests: list[SinkRequest] = []
        self._seen: set[str] = set()
        self._failures: list[int] = []  # statuses to answer with, next request first
        self._failing_events: dict[str, int] = {}  # webhook-id fragment -> status, every time

    # --- lifecycle (start/stop/port/url come from LoopbackHTTPService) -----------------------

    def _make_server(self, address: tuple[str, int]) -> _Server:
        return _Server(address, self)

    def _url_path(self) -> str:
        return self._path

    # --- scripting and assertions -------------------------------------------------------------

    def fail_next(self, count: int, status: int = 503) -> None:
        """Answer the next ``count`` POSTs with ``status`` (before verifying), then recover."""
        if count < 0 or not 400 <= status <= 599:
            raise ValueError("fail_next needs count >= 0 and a 4xx/5xx status")
        with self._cond:
            self._failures.extend([status] * count)

    def fail_events(self, fragment: str, status: int = 503) -> None:
        """Answer every POST whose ``webhook-id`` contains ``fragment`` with ``status`` (a payload
        the backend keeps failing on), until ``reset`` or ``stop_failing_events``."""
        if not fragment or not 400 <= status <= 599:
            raise ValueError("fail_events needs a fragment and a 4xx/5xx status")
        with self._cond:
            self._failing_events[fragment] = status

    def stop_failing_events(self) -> None:
        with self._cond:
            self._failing_events.clear()

    def reset(self) -> None:
        """Forget everything received and any pending failures."""
        with self._cond:
            self._received.clear()
            self._requests.clear()
            self._seen.clear()
            self._failures.clear()
            self._failing_events.clear()

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
        event_id: str | None = headers.get(WEBHOOK_ID_HEADER)
        with self._cond:
            failure = self._failures.pop(0) if self._failures else None
            if failure is None and event_id:
                failure = next(
                    (status for fragment, status in self._failing_events.items() if fragment in event_id),
                    None,
                )
        if failure is not None:
            self._record(SinkRequest(event_id, failure, verified=False))
            return failure, {"error": "injected_failure"}
        if path.split("?", 1)[0] != self._path:
            self._record(SinkRequest(event_id, 404, verified=False))
            return 404, {"error": "not_found"}
        try:
            self._webhook.verify(body, dict(headers.items()), json_parse=False)
        except (WebhookVerificationError, ValueError) as exc:
            # ValueError: a garbled signature header (no "," or bad base64) the library trips on.
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


class _Server(LoopbackHTTPServer):
    def __init__(self, address: tuple[str, int], sink: NotificationSink) -> None:
        self.sink = sink  # what _Handler hands each POST to
        super().__init__(address, _Handler)


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
    parser = service_parser(
        "python -m dev.notification_sink",
        "Receive, verify, deduplicate and print notification events until SIGINT/SIGTERM.",
        default_port=12112,
    )
    parser.add_argument("--path", default=DEFAULT_PATH, help="the path notifications are POSTed to")
    parser.add_argument(
        "--secret", default=LOCAL_NOTIFY_SECRET, help="the signing secret (whsec_<base64>, or plain: derived)"
    )
    args = parse_service_args(parser, argv, NotificationSink._label)
    if not args.path.startswith("/"):
        parser.error("--path must start with /")
    return args


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    sink = NotificationSink(args.secret, host=args.host, port=args.port, path=args.path, out=sys.stdout)
    return serve_until_signalled(sink, announce_listening(sink, "notification sink"))


if __name__ == "__main__":
    raise SystemExit(main())
