"""The suite's own stack: every process on free ports and one temporary data directory.

Processes (each in its own process group, so a kill reaches only it): the Temporal dev server on a
SQLite file (stopped and started again on the same file and port), the Stripe stand-in, the worker
(SIGKILLed and replaced) and two API replicas (Stripe's webhooks reach one or the other). In this
process: the notification sink and the webhook relay. Nothing here uses the ports of ``make run``
or of the test suite's shared environment.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import socket
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from temporalio.client import Client
from temporalio.service import RPCError

from dev.stack import (
    Child,
    Endpoint,
    StackConfig,
    ensure_search_attributes,
    find_temporal_cli,
    spawn,
    temporal_argv,
    wait_for_port,
    wait_for_worker,
)
from domain.notifications import Notification
from faults.relay import WebhookRelay
from faults.sink import FaultySink, NotificationLog, OutageMode
from temporal_client.converter import DATA_CONVERTER

HOST = "127.0.0.1"
# The ports `make run`, the benchmarks and the usual dev tools hold: never picked, even if free now.
RESERVED_PORTS = frozenset({7233, 8000, 8233, 12111, 12112, 9464, 9465})
NAMESPACE = "default"
WEBHOOK_SECRET = "whsec_faults_only"
NOTIFY_SECRET = "nsec_faults_only"
STRIPE_KEY = "sk_test_faults"
STARTUP_TIMEOUT_SECONDS = 60.0
CONNECT_TIMEOUT_SECONDS = 5.0


class StackFailure(Exception):
    """A process of the stack could not be started or did not come back."""


def free_port(taken: set[int]) -> int:
    """A port nothing listens on now, outside the reserved set and the ones already handed out."""
    for _ in range(200):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind((HOST, 0))
            port = int(probe.getsockname()[1])
        if port not in RESERVED_PORTS and port not in taken:
            taken.add(port)
            return port
    raise StackFailure("no free port found")


@dataclass(frozen=True)
class StackOptions:
    data_dir: Path
    task_queue: str
    seed: int
    stripe_http_timeout_seconds: float = 2.0
    webhook_max_hold_seconds: float = 2.0
    webhook_duplicate_rate: float = 0.3
    api_replicas: int = 2


@dataclass
class StackCounts:
    worker_kills: int = 0
    worker_starts: int = 0
    worker_exits_unexpected: int = 0
    server_restarts: int = 0
    server_downtime_seconds: float = 0.0
    notification_outages: dict[str, int] = field(default_factory=dict)
    notification_outage_seconds: float = 0.0


class FaultStack:
    """Starts, breaks and stops the processes; owns the Temporal client the suite drives with."""

    def __init__(self, options: StackOptions) -> None:
        self.options = options
        self.counts = StackCounts()
        self.notifications = NotificationLog()
        self._taken: set[int] = set()
        self._stop = asyncio.Event()  # dev.stack's waits watch it; the suite never sets it
        self._rng = random.Random(options.seed ^ 0x5EED)
        self.temporal_port = free_port(self._taken)
        self.standin_port = free_port(self._taken)
        self.sink_port = free_port(self._taken)
        self.relay_port = free_port(self._taken)
        self.api_ports = [free_port(self._taken) for _ in range(options.api_replicas)]
        self.logs_dir = options.data_dir / "logs"
        self.config = StackConfig(
            temporal=Endpoint(HOST, self.temporal_port),
            temporal_ui=Endpoint(HOST, free_port(self._taken)),
            namespace=NAMESPACE,
            task_queue=options.task_queue,
            data_dir=options.data_dir,
            temporal_cli=find_temporal_cli(),
            standin=Endpoint(HOST, self.standin_port),
            standin_webhook_url=None,
            standin_webhook_secret=WEBHOOK_SECRET,
            notify_url=f"http://{HOST}:{self.sink_port}/notifications",
            notification_sink=None,
            notification_sink_path="/notifications",
            notification_sink_secret=NOTIFY_SECRET,
            api=Endpoint(HOST, self.api_ports[0]),
            local_token=True,
        )
        self.temporal: Child | None = None
        self.standin: Child | None = None
        self.worker: Child | None = None
        self.apis: list[Child] = []
        self.sink: FaultySink | None = None
        self.relay: WebhookRelay | None = None
        self.client: Client | None = None
        self._worker_generation = 0
        # A kill and the watchdog's "replace a dead worker" must not both start a worker.
        self._worker_lock = asyncio.Lock()

    # --- addresses ---------------------------------------------------------------------------

    @property
    def temporal_address(self) -> str:
        return str(self.config.temporal)

    @property
    def standin_url(self) -> str:
        return f"http://{HOST}:{self.standin_port}"

    def _env(self, **extra: str) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                "PYTHONUNBUFFERED": "1",
                "SESSIONFLOW_TEMPORAL_ADDRESS": self.temporal_address,
                "SESSIONFLOW_TEMPORAL_NAMESPACE": NAMESPACE,
                "SESSIONFLOW_TASK_QUEUE": self.options.task_queue,
                "SESSIONFLOW_STRIPE_API_KEY": STRIPE_KEY,
                "SESSIONFLOW_STRIPE_API_BASE": self.standin_url,
                "SESSIONFLOW_STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
                # Shorter than the stand-in's injected delay, so a delay is a client timeout.
                "SESSIONFLOW_STRIPE_HTTP_TIMEOUT_SECONDS": str(self.options.stripe_http_timeout_seconds),
                "SESSIONFLOW_NOTIFY_URL": self.config.notify_url,
                "SESSIONFLOW_NOTIFY_SECRET": NOTIFY_SECRET,
                "SESSIONFLOW_NOTIFY_TIMEOUT_SECONDS": "2",
                "SESSIONFLOW_DATA_DIR": str(self.options.data_dir),
                # No fixed metrics ports: `make run` or another suite may hold them.
                "SESSIONFLOW_WORKER_METRICS_ADDRESS": "",
                "SESSIONFLOW_WORKER_APP_METRICS_PORT": "0",
                "SESSIONFLOW_WORKER_HEALTH_ADDRESS": "",
                "SESSIONFLOW_LOG_FORMAT": "json",
                "SESSIONFLOW_LOG_LEVEL": "WARNING",
            }
        )
        env.update(extra)
        return env

    # --- start and stop ----------------------------------------------------------------------

    async def start(self) -> None:
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        loop = asyncio.get_running_loop()
        sink = FaultySink(
            NOTIFY_SECRET,
            self.sink_port,
            # Called on the sink's server threads: hand over to the suite's loop.
            lambda notification: self._hand_over(loop, notification),
        )
        sink.start()
        self.sink = sink
        self.relay = WebhookRelay(
            port=self.relay_port,
            targets=[f"http://{HOST}:{port}/v1/stripe/webhook" for port in self.api_ports],
            secret=WEBHOOK_SECRET,
            rng=random.Random(self.options.seed ^ 0xB00C),
            max_hold_seconds=self.options.webhook_max_hold_seconds,
            duplicate_rate=self.options.webhook_duplicate_rate,
        )
        await self.relay.start()
        await self._start_temporal()
        self.client = await self._connect()
        await asyncio.wait_for(ensure_search_attributes(self.client, NAMESPACE), CONNECT_TIMEOUT_SECONDS)
        standin_argv = [
            sys.executable,
            "-m",
            "dev.stripe_standin",
            "--host",
            HOST,
            "--port",
            str(self.standin_port),
            "--webhook-url",
            self.relay.url,
            "--webhook-secret",
            WEBHOOK_SECRET,
        ]
        self.standin = spawn(
            "stripe-standin", standin_argv, self.logs_dir / "stripe-standin.log", self._env()
        )
        for index, port in enumerate(self.api_ports):
            env = self._env(SESSIONFLOW_API_HOST=HOST, SESSIONFLOW_API_PORT=str(port))
            self.apis.append(
                spawn(
                    f"api-{index + 1}",
                    [sys.executable, "-m", "api"],
                    self.logs_dir / f"api-{index + 1}.log",
                    env,
                )
            )
        await self.start_worker()
        await self._wait_port(Endpoint(HOST, self.standin_port), "Stripe stand-in", [self.standin])
        for port, api in zip(self.api_ports, self.apis, strict=True):
            await self._wait_port(Endpoint(HOST, port), api.name, [api])

    async def stop(self) -> None:
        for child in [self.worker, *self.apis, self.standin, self.temporal]:
            if child is not None:
                await asyncio.to_thread(child.stop, 10.0)
        if self.relay is not None:
            await self.relay.stop()
        if self.sink is not None:
            self.sink.come_up()
            self.sink.stop()

    def _hand_over(self, loop: asyncio.AbstractEventLoop, notification: Notification) -> None:
        # Called on the sink's server threads: the index lives on the suite's loop.
        loop.call_soon_threadsafe(self.notifications.arrive, notification)

    async def _wait_port(self, endpoint: Endpoint, name: str, watch: Sequence[Child]) -> None:
        try:
            await asyncio.wait_for(wait_for_port(endpoint, name, watch, self._stop), STARTUP_TIMEOUT_SECONDS)
        except Exception as exc:
            raise StackFailure(f"{name} did not start: {exc}") from exc

    async def _start_temporal(self) -> None:
        argv = [*temporal_argv(self.config), "--headless"]
        self.temporal = spawn("temporal", argv, self.logs_dir / "temporal.log", self._env())
        await self._wait_port(self.config.temporal, "Temporal dev server", [self.temporal])

    async def _connect(self) -> Client:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STARTUP_TIMEOUT_SECONDS
        while True:
            try:
                return await asyncio.wait_for(
                    Client.connect(self.temporal_address, namespace=NAMESPACE, data_converter=DATA_CONVERTER),
                    CONNECT_TIMEOUT_SECONDS,
                )
            except (RuntimeError, OSError, TimeoutError, RPCError):
                if loop.time() >= deadline:
                    raise StackFailure("cannot connect to the Temporal dev server") from None
                await asyncio.sleep(0.25)

    # --- the worker --------------------------------------------------------------------------

    async def start_worker(self) -> None:
        async with self._worker_lock:
            await self._start_worker()

    async def _start_worker(self) -> None:
        self._worker_generation += 1
        log = self.logs_dir / f"worker-{self._worker_generation}.log"
        self.worker = spawn("worker", [sys.executable, "-m", "worker"], log, self._env())
        self.counts.worker_starts += 1
        assert self.client is not None
        try:
            await asyncio.wait_for(
                wait_for_worker(self.client, self.config, self.worker, [self.worker], self._stop),
                STARTUP_TIMEOUT_SECONDS,
            )
        except Exception as exc:
            raise StackFailure(f"the worker did not start polling: {exc}") from exc

    async def kill_worker(self) -> None:
        """SIGKILL the worker's process group (no graceful shutdown) and start a new worker."""
        async with self._worker_lock:
            worker = self.worker
            assert worker is not None
            with contextlib.suppress(ProcessLookupError):
                os.killpg(worker.process.pid, signal.SIGKILL)
            await asyncio.to_thread(worker.process.wait, 10.0)
            worker.log_file.close()
            self.counts.worker_kills += 1
            await self._start_worker()

    async def ensure_worker(self) -> None:
        """Replace a worker that exited by itself (counted: it is a finding, not a fault we made)."""
        async with self._worker_lock:
            worker = self.worker
            if worker is not None and not worker.alive:
                self.counts.worker_exits_unexpected += 1
                worker.log_file.close()
                await self._start_worker()

    # --- the Temporal server -----------------------------------------------------------------

    async def restart_server(self, downtime_seconds: float) -> None:
        """Stop the dev server (SIGTERM, then SIGKILL after 10 s), keep it down, start it again on
        the same SQLite file and port, and wait until it answers."""
        temporal = self.temporal
        assert temporal is not None
        began = time.monotonic()
        await asyncio.to_thread(temporal.stop, 10.0)
        # Waiting out an outage length the chaos plan chose, not synchronising on anything.
        await asyncio.sleep(downtime_seconds)
        await self._start_temporal()
        probe = await self._connect()
        await asyncio.wait_for(ensure_search_attributes(probe, NAMESPACE), CONNECT_TIMEOUT_SECONDS)
        self.counts.server_restarts += 1
        self.counts.server_downtime_seconds += time.monotonic() - began

    # --- the notification endpoint -----------------------------------------------------------

    async def notification_outage(self, mode: OutageMode, seconds: float) -> None:
        sink = self.sink
        assert sink is not None
        began = time.monotonic()
        await asyncio.to_thread(sink.go_down, mode)
        try:
            # The outage lasts as long as the chaos plan says; nothing waits on it to synchronise.
            await asyncio.sleep(seconds)
        finally:
            await asyncio.to_thread(sink.come_up)
        self.counts.notification_outages[mode] = self.counts.notification_outages.get(mode, 0) + 1
        self.counts.notification_outage_seconds += time.monotonic() - began

    # --- the stand-in's control API ----------------------------------------------------------

    async def standin_control(
        self, method: str, path: str, body: dict[str, Any] | None = None, *, limit_seconds: float = 30.0
    ) -> Any:
        async with httpx.AsyncClient(
            base_url=self.standin_url, timeout=limit_seconds, trust_env=False
        ) as http:
            response = await http.request(method, f"/_standin/{path}", json=body)
        response.raise_for_status()
        return response.json()
