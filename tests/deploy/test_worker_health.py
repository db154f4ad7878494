"""The worker's probe endpoints over real HTTP against the real dev server, and the worker process
itself: ready once polling, not ready from the first moment of a SIGTERM drain, exits cleanly; a
versioned worker ready only while `sessionflow versions promote` has made its build current."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
import stripe
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner, Result

from observability.health import WorkerHealth, start_health_server
from ops.cli import app
from settings import Settings
from tests.workflows.support import HOUR, WAIT, make_booking, real_now, start, wait_for_state
from worker import build_worker, deployment_config

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def until_ready(http: httpx.AsyncClient) -> httpx.Response:
    """The worker's run task starts just after ``async with`` enters: ready within moments."""
    async with asyncio.timeout(10):
        # Polled: the probe endpoint is the thing under test, there is no event to wait on.
        while (answer := await http.get("/readyz")).status_code != 200:  # noqa: ASYNC110
            await asyncio.sleep(0.02)
    return answer


@pytest_asyncio.fixture
async def probes(env: WorkflowEnvironment) -> AsyncIterator[tuple[WorkerHealth, httpx.AsyncClient]]:
    health = WorkerHealth(env.client)
    server = await start_health_server(f"127.0.0.1:{free_port()}", health)
    assert server is not None
    port = server.sockets[0].getsockname()[1]
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            yield health, http
    finally:
        server.close()
        await server.wait_closed()


async def test_liveness_answers_and_readiness_waits_for_a_running_worker(
    probes: tuple[WorkerHealth, httpx.AsyncClient],
    env: WorkflowEnvironment,
    task_queue: str,
    stripe_client: stripe.StripeClient,
    settings: Settings,
) -> None:
    health, http = probes
    assert (await http.get("/healthz")).json() == {"status": "ok"}
    before = await http.get("/readyz")
    assert (before.status_code, before.json()) == (503, {"status": "worker not running"})

    async with build_worker(
        env.client, task_queue=task_queue, stripe_client=stripe_client, settings=settings
    ) as worker:
        health.worker = worker
        ready = await until_ready(http)
        assert ready.json() == {"status": "ready"}
        health.draining = True
        draining = await http.get("/readyz")
        assert (draining.status_code, draining.json()) == (503, {"status": "draining"})
        assert (await http.get("/healthz")).status_code == 200  # draining is alive, not dead

    health.draining = False
    assert (await http.get("/readyz")).status_code == 503  # shut down


async def test_readiness_fails_when_temporal_does_not_answer(
    probes: tuple[WorkerHealth, httpx.AsyncClient],
    env: WorkflowEnvironment,
    task_queue: str,
    stripe_client: stripe.StripeClient,
    settings: Settings,
) -> None:
    health, http = probes
    unreachable = await Client.connect(f"127.0.0.1:{free_port()}", lazy=True)
    async with build_worker(
        env.client, task_queue=task_queue, stripe_client=stripe_client, settings=settings
    ) as worker:
        async with asyncio.timeout(10):
            while not worker.is_running:  # noqa: ASYNC110 (the SDK exposes no event for it)
                await asyncio.sleep(0.02)
        down = WorkerHealth(unreachable, worker=worker, check_timeout=1.0)
        server = await start_health_server(f"127.0.0.1:{free_port()}", down)
        assert server is not None
        try:
            port = server.sockets[0].getsockname()[1]
            async with httpx.AsyncClient(timeout=10) as client:
                answer = await client.get(f"http://127.0.0.1:{port}/readyz")
            assert (answer.status_code, answer.json()) == (503, {"status": "temporal unreachable"})
        finally:
            server.close()
    del health, http


async def test_unknown_paths_and_methods_are_refused(probes: tuple[WorkerHealth, httpx.AsyncClient]) -> None:
    _, http = probes
    assert (await http.get("/metrics")).status_code == 404
    assert (await http.post("/healthz")).status_code == 405
    head = await http.head("/healthz")
    assert head.status_code == 200 and head.content == b""


async def test_an_empty_address_serves_nothing(env: WorkflowEnvironment) -> None:
    assert await start_health_server("", WorkerHealth(env.client)) is None


async def test_the_worker_process_becomes_ready_and_drains_on_sigterm(
    env: WorkflowEnvironment, task_queue: str
) -> None:
    port = free_port()
    environment = {
        **{key: value for key, value in os.environ.items() if not key.startswith("SESSIONFLOW_")},
        "SESSIONFLOW_TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
        "SESSIONFLOW_TASK_QUEUE": task_queue,
        "SESSIONFLOW_WORKER_METRICS_ADDRESS": "",
        "SESSIONFLOW_WORKER_APP_METRICS_PORT": "0",
        "SESSIONFLOW_WORKER_HEALTH_ADDRESS": f"127.0.0.1:{port}",
        "SESSIONFLOW_GRACEFUL_SHUTDOWN_SECONDS": "5",
        "SESSIONFLOW_LOG_FORMAT": "json",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "worker", cwd=ROOT, env=environment, stderr=asyncio.subprocess.PIPE
    )
    try:
        async with httpx.AsyncClient(timeout=2) as http, asyncio.timeout(30):
            while True:
                assert process.returncode is None, "the worker exited before becoming ready"
                try:
                    if (await http.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=20)
        errors = stderr.decode()
        assert process.returncode == 0, errors
        assert "worker draining" in errors and "worker stopped" in errors
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_the_probe_paths_are_the_ones_the_manifests_use(path: str) -> None:
    manifest = (ROOT / "deploy" / "k8s" / "worker-deployment.yaml").read_text()
    assert f"path: {path}" in manifest


def cli(*args: str) -> Result:
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


async def readyz(health: WorkerHealth) -> tuple[int, str]:
    """One probe over real HTTP, as the kubelet sends it."""
    server = await start_health_server(f"127.0.0.1:{free_port()}", health)
    assert server is not None
    try:
        port = server.sockets[0].getsockname()[1]
        async with httpx.AsyncClient(timeout=10) as http:
            answer = await http.get(f"http://127.0.0.1:{port}/readyz")
        return answer.status_code, answer.json()["status"]
    finally:
        server.close()
        await server.wait_closed()


async def test_a_versioned_worker_is_ready_only_while_its_build_is_the_current_version(
    env: WorkflowEnvironment,
    task_queue: str,
    stripe_client: stripe.StripeClient,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The rollout in miniature: build b1 polls, is not ready until promoted, and work booked in the
    meantime runs once it is; build b2 then polls beside it, and its promotion moves readiness."""
    monkeypatch.setenv("SESSIONFLOW_TEMPORAL_ADDRESS", env.client.service_client.config.target_host)
    monkeypatch.setenv("SESSIONFLOW_TEMPORAL_NAMESPACE", env.client.namespace)
    deployment = f"sessionflow-{uuid.uuid4().hex[:12]}"  # deployments are namespace-wide

    def versioned(build_id: str) -> Settings:
        return settings.model_copy(update={"worker_deployment_name": deployment, "worker_build_id": build_id})

    def health_of(worker_settings: Settings) -> WorkerHealth:
        config = deployment_config(worker_settings)
        assert config is not None
        return WorkerHealth(env.client, version=config.version, cache_seconds=0)

    b1, b2 = versioned("b1"), versioned("b2")
    async with build_worker(
        env.client, task_queue=task_queue, stripe_client=stripe_client, settings=b1
    ) as w1:
        health1 = health_of(b1)
        health1.worker = w1
        assert await readyz(health1) == (503, "version not current")
        # Booked while no version is current: nothing runs it yet, and nothing loses it.
        booking = make_booking(start=real_now() + 30 * 24 * HOUR)
        booked = asyncio.create_task(start(env.client, booking, task_queue))
        try:
            promoted = await asyncio.to_thread(
                cli, "versions", "promote", "b1", "--deployment-name", deployment, "--wait-seconds", "20"
            )
            assert promoted.exit_code == 0, promoted.output
            assert f"{deployment}: current version b1 (was unversioned)" in promoted.output
            assert await readyz(health1) == (200, "ready")
            handle = await asyncio.wait_for(booked, WAIT)
        finally:
            booked.cancel()
        await wait_for_state(handle, lambda s: s.status == "scheduled", "the session on build b1")

        async with build_worker(
            env.client, task_queue=task_queue, stripe_client=stripe_client, settings=b2
        ) as w2:
            health2 = health_of(b2)
            health2.worker = w2
            assert await readyz(health2) == (503, "version not current")
            promoted = await asyncio.to_thread(
                cli, "versions", "promote", "b2", "--deployment-name", deployment, "--wait-seconds", "20"
            )
            assert promoted.exit_code == 0, promoted.output
            assert "current version b2 (was b1)" in promoted.output
            assert await readyz(health2) == (200, "ready")
            assert await readyz(health1) == (503, "version not current")

            shown = await asyncio.to_thread(cli, "versions", "show", "--deployment-name", deployment)
            assert shown.exit_code == 0, shown.output
            assert "current\tb2" in shown.output and "known\tb1" in shown.output


async def test_promoting_a_build_that_never_polls_fails_after_the_wait(
    env: WorkflowEnvironment, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SESSIONFLOW_TEMPORAL_ADDRESS", env.client.service_client.config.target_host)
    monkeypatch.setenv("SESSIONFLOW_TEMPORAL_NAMESPACE", env.client.namespace)
    deployment = f"sessionflow-{uuid.uuid4().hex[:12]}"
    result = await asyncio.to_thread(
        cli, "versions", "promote", "b9", "--deployment-name", deployment, "--wait-seconds", "0"
    )
    assert result.exit_code == 1, result.output
    assert f"build b9 of worker deployment {deployment} is not promotable" in result.output
    shown = await asyncio.to_thread(cli, "versions", "show", "--deployment-name", deployment)
    assert shown.exit_code == 1 and "no versioned worker has polled yet" in shown.output
