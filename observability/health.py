"""The worker's health endpoints for orchestrators: ``GET /healthz`` and ``GET /readyz``.

Served on ``settings.worker_health_address`` by the worker's own event loop with asyncio streams
(no framework, no thread), so a blocked event loop — what a liveness probe exists to catch — fails
the probe by timing out instead of being answered by a healthy side thread.

* ``/healthz``: 200 while the event loop answers (liveness).
* ``/readyz``: 200 while the worker is polling and Temporal answers; 503 before the worker
  starts, from the moment shutdown begins, and while Temporal is unreachable (readiness).

Unauthenticated and without any session data; like the metrics ports, keep it off public networks.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from datetime import timedelta

from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
from temporalio.client import Client
from temporalio.worker import Worker

from observability.metrics import host_port

log = logging.getLogger("sessionflow.health")

REQUEST_READ_TIMEOUT_SECONDS = 5.0
TEMPORAL_CHECK_TIMEOUT_SECONDS = 3.0
MAX_HEADER_LINES = 100


@dataclass
class WorkerHealth:
    """What the probes report; ``run_worker`` sets ``worker`` while it polls and ``draining`` on SIGTERM."""

    client: Client
    worker: Worker | None = None
    draining: bool = False
    check_timeout: float = field(default=TEMPORAL_CHECK_TIMEOUT_SECONDS)

    async def readiness(self) -> tuple[bool, str]:
        if self.draining:
            return False, "draining"
        if self.worker is None or not self.worker.is_running:
            return False, "worker not running"
        try:
            # GetSystemInfo rather than the gRPC health service: every SDK calls it when it connects,
            # so any credential that can run a worker (a namespace-scoped Cloud API key too) may call it.
            await self.client.workflow_service.get_system_info(
                GetSystemInfoRequest(), timeout=timedelta(seconds=self.check_timeout)
            )
        except Exception as error:  # any failure means "not ready"; the reason is logged, not raised
            log.warning("readiness: Temporal did not answer", extra={"error": type(error).__name__})
            return False, "temporal unreachable"
        return True, "ready"


async def _respond(writer: asyncio.StreamWriter, status: int, body: dict[str, str], *, head: bool) -> None:
    reason = {200: "OK", 404: "Not Found", 405: "Method Not Allowed", 503: "Service Unavailable"}[status]
    payload = json.dumps(body).encode()
    headers = (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n"
    )
    writer.write(headers.encode("latin-1") + (b"" if head else payload))
    await writer.drain()


async def _handle(health: WorkerHealth, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        async with asyncio.timeout(REQUEST_READ_TIMEOUT_SECONDS):
            request_line = (await reader.readline()).decode("latin-1").strip()
            for _ in range(MAX_HEADER_LINES):  # probes send a few headers; we need none of them
                if (await reader.readline()) in (b"\r\n", b"\n", b""):
                    break
        method, _, rest = request_line.partition(" ")
        path = rest.partition(" ")[0].partition("?")[0]
        if method not in ("GET", "HEAD"):
            await _respond(writer, 405, {"status": "method not allowed"}, head=False)
        elif path == "/healthz":
            await _respond(writer, 200, {"status": "ok"}, head=method == "HEAD")
        elif path == "/readyz":
            ready, reason = await health.readiness()
            await _respond(writer, 200 if ready else 503, {"status": reason}, head=method == "HEAD")
        else:
            await _respond(writer, 404, {"status": "not found"}, head=False)
    except (TimeoutError, ConnectionError):
        pass  # a half-open or slow client: nothing to answer
    finally:
        writer.close()


async def start_health_server(address: str, health: WorkerHealth) -> asyncio.Server | None:
    """Serve the probes on ``address`` (``host:port``); None when the address is empty (off)."""
    if not address:
        return None
    host, port = host_port(address)

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _handle(health, reader, writer)

    server = await asyncio.start_server(handler, host, port)
    log.info("health endpoints serving", extra={"address": address})
    return server
