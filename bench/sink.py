"""A bench-only notification receiver that timestamps arrivals, on the driver's event loop.

The benchmark must not poll Temporal to learn when a server-driven step (the charge at T − 48 h)
has finished for every session; the notification each step sends is the system's own output, so
its arrival time marks the step's end. It answers 200 to every POST (no signature check: the
backend's verification is not what is measured) and keeps ``(type, session_id, monotonic time)``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter
from dataclasses import dataclass, field

OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
MAX_HEADER_BYTES = 16 * 1024


@dataclass(frozen=True)
class Arrival:
    type: str
    session_id: str
    at: float  # time.monotonic()


@dataclass
class TimingSink:
    path: str = "/notifications"
    arrivals: list[Arrival] = field(default_factory=list)
    _server: asyncio.Server | None = None
    _port: int = 0
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)
    _writers: set[asyncio.StreamWriter] = field(default_factory=set)

    async def start(self, host: str = "127.0.0.1") -> None:
        self._server = await asyncio.start_server(self._serve, host, 0, limit=MAX_HEADER_BYTES * 8)
        self._port = int(self._server.sockets[0].getsockname()[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}{self.path}"

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            # Workers keep connections alive; close them so no handler is left to be cancelled.
            for writer in list(self._writers):
                writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    def counts(self) -> Counter[str]:
        return Counter(arrival.type for arrival in self.arrivals)

    def of_type(self, kind: str, since: float = 0.0) -> list[Arrival]:
        return [a for a in self.arrivals if a.type == kind and a.at >= since]

    async def reach(self, kind: str, count: int, since: float, timeout: float) -> bool:  # noqa: ASYNC109
        """Until ``count`` notifications of ``kind`` arrived after ``since``; False on timeout.

        Wakes on each arrival (no timer loop), so waiting costs nothing while nothing arrives.
        """
        deadline = time.monotonic() + timeout
        while len(self.of_type(kind, since)) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), remaining)
        return True

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # HTTP/1.1 with keep-alive, just enough for httpx's POSTs.
        self._writers.add(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                close = False
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    name = name.strip().lower()
                    if name == b"content-length":
                        length = int(value.strip())
                    elif name == b"connection" and value.strip().lower() == b"close":
                        close = True
                body = await reader.readexactly(length) if length else b""
                self._record(body)
                writer.write(OK)
                await writer.drain()
                if close:
                    break
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, ValueError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()

    def _record(self, body: bytes) -> None:
        at = time.monotonic()
        try:
            payload = json.loads(body)
        except ValueError:
            return
        if isinstance(payload, dict):
            self.arrivals.append(Arrival(str(payload.get("type")), str(payload.get("session_id")), at))
            self._arrived.set()
