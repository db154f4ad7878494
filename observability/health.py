"""The worker's health endpoints for orchestrators: ``GET /healthz`` and ``GET /readyz``.

Served on ``settings.worker_health_address`` by the worker's own event loop with asyncio streams
(no framework, no thread), so a blocked event loop — what a liveness probe exists to catch — fails
the probe by timing out instead of being answered by a healthy side thread.

* ``/healthz``: 200 while the event loop answers (liveness).
* ``/readyz``: 200 while the worker is polling and Temporal answers and, for a versioned worker,
  while its Worker Deployment Version is the deployment's *current* version: a version that is
  not current receives no tasks, so its pods must not count as available. 503 before the worker
  starts, from the moment shutdown begins, while Temporal is unreachable, and while the version
  is not current (readiness). deploy/README.md ("Rolling out a workflow change") relies on it:
  the Deployment keeps the old pods until the new version is promoted.

The Temporal check is cached for ``cache_seconds``: the endpoint is unauthenticated, and a burst of
probes must not become a burst of RPCs to Temporal.

Unauthenticated and without any session data; like the metrics ports, keep it off public networks.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
from temporalio.client import Client
from temporalio.common import WorkerDeploymentVersion
from temporalio.worker import Worker

from observability.metrics import host_port
from temporal_client.deployments import Routing, describe_routing

log = logging.getLogger("sessionflow.health")

REQUEST_READ_TIMEOUT_SECONDS = 5.0
TEMPORAL_CHECK_TIMEOUT_SECONDS = 3.0
MAX_HEADER_LINES = 100
TEMPORAL_CHECK_CACHE_SECONDS = 5.0
"""Half the readiness probe's period (10 s): each kubelet probe still sees a fresh answer."""

READY = "ready"
NOT_CURRENT = "version not current"
UNREACHABLE = "temporal unreachable"


def version_readiness(routing: Routing | None, build_id: str) -> tuple[bool, str]:
    """Whether a worker of ``build_id`` gets tasks, as readiness: only while its version is current.

    A *ramping* version gets a share of tasks too, yet is reported not ready: once the new pods
    count as available, the rolling update removes the old pods, and the current version (which
    still gets the rest of the tasks) would be left without a poller. Ramps need one Deployment
    per version (deploy/README.md). ``routing`` None: no versioned worker has registered yet.
    """
    if routing is not None and routing.current_build_id == build_id:
        return True, READY
    return False, NOT_CURRENT


@dataclass
class WorkerHealth:
    """What the probes report; ``run_worker`` sets ``worker`` while it polls and ``draining`` on
    SIGTERM. ``version`` set: a versioned worker, ready only while that version is current."""

    client: Client
    worker: Worker | None = None
    draining: bool = False
    check_timeout: float = field(default=TEMPORAL_CHECK_TIMEOUT_SECONDS)
    version: WorkerDeploymentVersion | None = None
    cache_seconds: float = TEMPORAL_CHECK_CACHE_SECONDS
    clock: Callable[[], float] | None = None
    """Seconds for the cache (tests pass their own); None: ``time.monotonic``."""
    _checked: tuple[float, tuple[bool, str]] | None = field(default=None, init=False, repr=False)

    async def readiness(self) -> tuple[bool, str]:
        if self.draining:
            return False, "draining"
        if self.worker is None or not self.worker.is_running:
            return False, "worker not running"
        now = (self.clock or time.monotonic)()
        if self._checked is not None and now - self._checked[0] < self.cache_seconds:
            return self._checked[1]
        verdict = await self._temporal_verdict()
        if self._checked is None or self._checked[1] != verdict:
            log.info("readiness changed", extra={"ready": verdict[0], "reason": verdict[1]})
        self._checked = (now, verdict)
        return verdict

    async def _temporal_verdict(self) -> tuple[bool, str]:
        timeout = timedelta(seconds=self.check_timeout)
        try:
            # The RPC deadline, and a bound of our own in case a call never returns to us.
            async with asyncio.timeout(self.check_timeout + 1):
                if self.version is not None:
                    # One RPC answers both questions: Temporal is reachable, and where tasks go.
                    routing = await describe_routing(
                        self.client, self.version.deployment_name, rpc_timeout=timeout
                    )
                    return version_readiness(routing, self.version.build_id)
                # GetSystemInfo rather than the gRPC health service: every SDK calls it when it
                # connects, so any credential that can run a worker (a namespace-scoped Cloud API
                # key too) may call it.
                await self.client.workflow_service.get_system_info(GetSystemInfoRequest(), timeout=timeout)
        except Exception as error:  # any failure means "not ready"; the reason is logged, not raised
            log.warning("readiness: Temporal did not answer", extra={"error": type(error).__name__})
            return False, UNREACHABLE
        return True, READY


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
