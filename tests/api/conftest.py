"""The API served by uvicorn on an ephemeral loopback port, on the tests' event loop, against
the real dev server and a real worker; requests go over real HTTP with httpx."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from api.app import create_app
from settings import LOCAL_API_TOKEN, Settings
from tests.api.serving import serving

AUTH = {"Authorization": f"Bearer {LOCAL_API_TOKEN}"}
ADMIN = {"Acting-Party": "admin:adm_tests"}
"""The tests' default acting party: support acting on any session (who may act is the subject of
tests/api/test_acting_party_api.py, which names the client or therapist on each request)."""


def acting(role: str, party_id: str) -> dict[str, str]:
    return {"Acting-Party": f"{role}:{party_id}"}


@pytest_asyncio.fixture
async def api_url(env: WorkflowEnvironment, worker: Worker, settings: Settings) -> AsyncIterator[str]:
    app = create_app(settings.model_copy(update={"task_queue": worker.task_queue}), client=env.client)
    async with serving(app) as url:
        yield url


@pytest_asyncio.fixture
async def http(api_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=api_url, headers={**AUTH, **ADMIN}, timeout=30) as client:
        yield client
