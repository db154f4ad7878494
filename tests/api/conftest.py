"""The API served by uvicorn on an ephemeral loopback port, on the tests' event loop, against
the real dev server and a real worker; requests go over real HTTP with httpx."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest_asyncio
import uvicorn
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from api.app import create_app
from settings import LOCAL_API_TOKEN, Settings

AUTH = {"Authorization": f"Bearer {LOCAL_API_TOKEN}"}


@pytest_asyncio.fixture
async def api_url(env: WorkflowEnvironment, worker: Worker, settings: Settings) -> AsyncIterator[str]:
    app = create_app(settings.model_copy(update={"task_queue": worker.task_queue}), client=env.client)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on"))
    serving = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(10):
            while not server.started:
                if serving.done():
                    serving.result()
                await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(serving, 10)


@pytest_asyncio.fixture
async def http(api_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=api_url, headers=AUTH, timeout=30) as client:
        yield client
