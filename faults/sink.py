"""The notification endpoint under fault: a verifying sink that can go away, and an index the
lifecycle drivers wait on.

:class:`FaultySink` is the project's :class:`~dev.notification_sink.NotificationSink` (it verifies
signatures and records every delivery, so duplicates can be found by event id) with two outage
modes: ``refused`` stops listening (connection refused, like a backend being redeployed) and
``503`` answers every POST with 503 (like a backend up but unhealthy). Each verified notification
is also handed to :class:`NotificationLog` on the suite's event loop, so drivers can wait for "the
charge succeeded" without polling Temporal.
"""

from __future__ import annotations

import asyncio
import threading
from collections import defaultdict
from collections.abc import Callable
from email.message import Message
from typing import Any, Literal

from dev.notification_sink import NotificationSink
from domain.notifications import Notification

OutageMode = Literal["refused", "503"]


class NotificationLog:
    """Verified notifications by session, on one event loop; waiters are woken on arrival."""

    def __init__(self) -> None:
        self._by_session: dict[str, list[Notification]] = defaultdict(list)
        self._waiters: dict[str, list[asyncio.Future[None]]] = defaultdict(list)

    def arrive(self, notification: Notification) -> None:
        session_id = notification.session_id or ""  # therapist-level notices have no session
        self._by_session[session_id].append(notification)
        for waiter in self._waiters.pop(session_id, []):
            if not waiter.done():
                waiter.set_result(None)

    def of(self, session_id: str) -> list[Notification]:
        return list(self._by_session.get(session_id, []))

    async def wait(
        self,
        session_id: str,
        predicate: Callable[[Notification], bool],
        timeout: float,  # noqa: ASYNC109 - a deadline for one wait, not a cancellation scope
    ) -> Notification | None:
        """The first notification of ``session_id`` matching ``predicate``; None after ``timeout``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            for notification in self._by_session.get(session_id, []):
                if predicate(notification):
                    return notification
            remaining = deadline - loop.time()
            if remaining <= 0:
                return None
            waiter: asyncio.Future[None] = loop.create_future()
            self._waiters[session_id].append(waiter)
            try:
                await asyncio.wait_for(waiter, remaining)
            except TimeoutError:
                return None
            finally:
                if waiter in self._waiters.get(session_id, []):
                    self._waiters[session_id].remove(waiter)


class FaultySink(NotificationSink):
    """A notification sink on a fixed port that can be made unavailable for a while."""

    def __init__(self, secret: str, port: int, on_notification: Callable[[Notification], None]) -> None:
        super().__init__(secret, port=port)
        self._on_notification = on_notification
        self._lock = threading.Lock()
        self._answer_503 = False
        self.outage_answers = 0
        """POSTs answered 503 during ``503`` outages (refused connections never reach us)."""

    def go_down(self, mode: OutageMode) -> None:
        if mode == "refused":
            self.stop()  # the port stays ours: start() binds it again (SO_REUSEADDR)
        else:
            with self._lock:
                self._answer_503 = True

    def come_up(self) -> None:
        with self._lock:
            self._answer_503 = False
        if self._server is None:
            self.start()

    def _handle(self, path: str, headers: Message, body: bytes) -> tuple[int, dict[str, Any]]:
        with self._lock:
            down = self._answer_503
            if down:
                self.outage_answers += 1
        if down:
            return 503, {"error": "unavailable"}
        status, payload = super()._handle(path, headers, body)
        if status == 200:
            # Already verified and parsed once by the sink; parsed again here for the index.
            self._on_notification(Notification.model_validate_json(body))
        return status, payload
