"""The benchmark's own stack: a fresh dev server, the Stripe stand-in, workers and the API, each a
process on free loopback ports under one temporary directory, plus psutil readings of them.

Reuses ``dev.stack``'s process helpers so the benchmark starts Temporal exactly as ``make run``
does (same flags, SQLite pragmas and search attributes), just never on ``make run``'s ports.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from dev.stack import (
    Child,
    Endpoint,
    StackConfig,
    child_env,
    connect_temporal,
    ensure_search_attributes,
    find_temporal_cli,
    spawn,
    temporal_argv,
    wait_for_port,
    wait_until,
)
from settings import Settings
from temporal_client.converter import connect

HOST = "127.0.0.1"
NAMESPACE = "default"
# `make run`'s ports and the ones reviewers use by habit: never taken even when free right now.
RESERVED_PORTS = frozenset({7233, 8000, 8233, 12111, 12112, 9464, 9465})
STOP_SECONDS = 15.0


def free_port() -> int:
    """A loopback port the OS has just handed out (and is not one of `make run`'s)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind((HOST, 0))
            port = int(probe.getsockname()[1])
        if port not in RESERVED_PORTS:
            return port


@dataclass(frozen=True)
class Usage:
    """One process tree's CPU seconds (user + system) and resident memory at an instant."""

    cpu_seconds: float
    rss_bytes: int
    at: float  # time.monotonic()


def usage(pid: int) -> Usage:
    """CPU and RSS of a process and its descendants (the dev server may fork helpers)."""
    root = psutil.Process(pid)
    cpu = 0.0
    rss = 0
    for proc in [root, *root.children(recursive=True)]:
        try:
            times = proc.cpu_times()
            cpu += times.user + times.system
            rss += proc.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return Usage(cpu, rss, time.monotonic())


@dataclass
class BenchStack:
    """Everything the run needs; ``start()`` brings it up, ``stop()`` tears it all down."""

    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="sessionflow-bench-")))
    temporal: Endpoint = field(default_factory=lambda: Endpoint(HOST, free_port()))
    temporal_ui: Endpoint = field(default_factory=lambda: Endpoint(HOST, free_port()))
    standin: Endpoint = field(default_factory=lambda: Endpoint(HOST, free_port()))
    api: Endpoint = field(default_factory=lambda: Endpoint(HOST, free_port()))
    notify_url: str = ""
    children: list[Child] = field(default_factory=list)
    stop_event: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def config(self) -> StackConfig:
        return StackConfig(
            temporal=self.temporal,
            temporal_ui=self.temporal_ui,
            namespace=NAMESPACE,
            task_queue="unused",
            data_dir=self.root,
            temporal_cli=find_temporal_cli(),
            standin=self.standin,
            standin_webhook_url=None,
            standin_webhook_secret=None,
            notify_url=self.notify_url,
            notification_sink=None,
            notification_sink_path="",
            notification_sink_secret=None,
            api=self.api,
            local_token=True,
        )

    @property
    def db_path(self) -> Path:
        return self.config.db_path

    def db_bytes(self) -> int:
        """The SQLite state on disk, write-ahead log included."""
        files = [self.db_path, self.db_path.with_name(self.db_path.name + "-wal")]
        return sum(path.stat().st_size for path in files if path.exists())

    def env(self, task_queue: str, app_metrics_port: int = 0) -> dict[str, str]:
        """What a worker or API process needs to point at this stack and at nothing else.

        ``app_metrics_port``: where a worker serves its ``sessionflow_*`` counters (0: off)."""
        env = child_env()
        # Production images compile bytecode at build time; without a cache the sandbox recompiles
        # the workflow module on every run (~25 % of throughput on this machine). Some machines set this.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env.update(
            {
                "SESSIONFLOW_TEMPORAL_ADDRESS": str(self.temporal),
                "SESSIONFLOW_TEMPORAL_NAMESPACE": NAMESPACE,
                "SESSIONFLOW_TASK_QUEUE": task_queue,
                "SESSIONFLOW_STRIPE_API_BASE": f"http://{self.standin}",
                "SESSIONFLOW_NOTIFY_URL": self.notify_url,
                "SESSIONFLOW_DATA_DIR": str(self.root),
                # Metrics exporters off: their fixed ports (9464/9465) may belong to `make run`.
                "SESSIONFLOW_WORKER_METRICS_ADDRESS": "",
                "SESSIONFLOW_WORKER_APP_METRICS_PORT": str(app_metrics_port),
                "SESSIONFLOW_WORKER_HEALTH_ADDRESS": "",
                "SESSIONFLOW_API_HOST": self.api.host,
                "SESSIONFLOW_API_PORT": str(self.api.port),
            }
        )
        return env

    def settings(self, task_queue: str) -> Settings:
        """The driver's own settings: same converter and keys as the workers'."""
        return Settings(
            temporal_address=str(self.temporal),
            temporal_namespace=NAMESPACE,
            task_queue=task_queue,
            stripe_api_base=f"http://{self.standin}",
            notify_url=self.notify_url,
            worker_metrics_address="",
            worker_app_metrics_port=0,
        )

    def log(self, name: str) -> Path:
        return self.root / "logs" / f"{name}.log"

    def _spawn(self, name: str, argv: list[str], env: dict[str, str]) -> Child:
        child = spawn(name, argv, self.log(name), env)
        self.children.append(child)
        return child

    async def start(self) -> Client:
        """The dev server and the stand-in; returns a client with the project's data converter."""
        env = child_env()
        temporal = self._spawn("temporal", temporal_argv(self.config), env)
        bare = await connect_temporal(self.config, temporal, self.stop_event)
        await ensure_search_attributes(bare, NAMESPACE)
        standin_argv = [sys.executable, "-m", "dev.stripe_standin", "--host", HOST]
        standin = self._spawn("stripe-standin", [*standin_argv, "--port", str(self.standin.port)], env)
        await wait_for_port(self.standin, "Stripe stand-in", [temporal, standin], self.stop_event)
        return await connect(self.settings("unused"))

    @property
    def temporal_pid(self) -> int:
        return self.child("temporal").process.pid

    def child(self, name: str) -> Child:
        for child in self.children:
            if child.name == name:
                return child
        raise KeyError(name)

    async def start_worker(
        self, name: str, module: str, task_queue: str, client: Client, app_metrics_port: int = 0
    ) -> Child:
        """A worker process on ``task_queue``; returns once it polls the queue."""
        worker = self._spawn(name, [sys.executable, "-m", module], self.env(task_queue, app_metrics_port))
        await wait_for_poller(client, task_queue, worker, [self.child("temporal"), worker], self.stop_event)
        return worker

    async def start_api(self, task_queue: str) -> Child:
        api = self._spawn("api", [sys.executable, "-m", "api"], self.env(task_queue))
        await wait_for_port(self.api, "API", [self.child("temporal"), api], self.stop_event)
        return api

    def stop_child(self, name: str) -> None:
        child = self.child(name)
        child.stop(STOP_SECONDS)
        self.children.remove(child)

    def stop(self, keep: bool = False) -> None:
        for child in reversed(self.children):
            child.stop(STOP_SECONDS)
        self.children.clear()
        if not keep:
            shutil.rmtree(self.root, ignore_errors=True)


async def wait_for_poller(
    client: Client, task_queue: str, worker: Child, watch: Sequence[Child], stop: asyncio.Event
) -> None:
    """Until this worker process polls ``task_queue`` (its identity starts with ``<pid>@``)."""
    request = DescribeTaskQueueRequest(
        namespace=NAMESPACE,
        task_queue=TaskQueue(name=task_queue),
        task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    )
    prefix = f"{worker.process.pid}@"

    async def polling() -> bool:
        described = await client.workflow_service.describe_task_queue(request)
        return any(poller.identity.startswith(prefix) for poller in described.pollers)

    await wait_until(polling, what=worker.name, watch=watch, stop=stop, limit_seconds=60)


def machine() -> dict[str, object]:
    """What the figures were measured on, and how busy it already was."""
    return {
        "cpus": os.cpu_count(),
        "memory_bytes": psutil.virtual_memory().total,
        "load_average_at_start": [round(value, 2) for value in os.getloadavg()],
        "python": sys.version.split()[0],
    }
