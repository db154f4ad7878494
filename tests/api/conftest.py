"""The API served by uvicorn on an ephemeral loopback port, on the tests' event loop, against
the real dev server and a real worker; requests go over real HTTP with httpx."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from api.app import create_app
from api.deps import read_clock
from settings import LOCAL_API_TOKEN, Settings
from tests.api.serving import serving
from tests.api.tracing import Traced, traced_stack

AUTH = {"Authorization": f"Bearer {LOCAL_API_TOKEN}"}
ADMIN = {"Acting-Party": "admin:adm_tests"}
"""The tests' default acting party: support acting on any session (who may act is the subject of
tests/api/test_acting_party_api.py, which names the client or therapist on each request)."""


def acting(role: str, party_id: str) -> dict[str, str]:
    return {"Acting-Party": f"{role}:{party_id}"}


@pytest.fixture
def api_app(env: WorkflowEnvironment, worker: Worker, settings: Settings) -> FastAPI:
    return create_app(settings.model_copy(update={"task_queue": worker.task_queue}), client=env.client)


@pytest_asyncio.fixture
async def api_url(api_app: FastAPI) -> AsyncIterator[str]:
    async with serving(api_app) as url:
        yield url


@pytest.fixture
def reads_at(api_app: FastAPI) -> Callable[[datetime], None]:
    """Point the API's read clock at an instant: a session whose own clock the test moved on (time
    skipping) past its end then reads ``awaiting_update``, as a person would see it then."""

    def point(instant: datetime) -> None:
        api_app.dependency_overrides[read_clock] = lambda: instant

    return point


@pytest_asyncio.fixture
async def http(api_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=api_url, headers={**AUTH, **ADMIN}, timeout=30) as client:
        yield client


@pytest_asyncio.fixture
async def traced(
    env: WorkflowEnvironment, settings: Settings, task_queue: str, tmp_path: Path
) -> AsyncIterator[Traced]:
    """The API and a worker with traces on (``file`` exporter), as two processes: its ``http``
    drives the API, ``spans()`` reads back what both exported."""
    on = settings.model_copy(update={"traces_exporter": "file", "traces_dir": tmp_path / "traces"})
    async with traced_stack(env, on, task_queue, {**AUTH, **ADMIN}) as stack:
        yield stack
