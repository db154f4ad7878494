"""Bounded polling of the API for the API tests (nothing sleeps to synchronise beyond a poll)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx

from tests.workflows.support import WAIT


async def poll(
    http: httpx.AsyncClient,
    path: str,
    predicate: Callable[[Any], bool],
    what: str,
    timeout: float = WAIT,  # noqa: ASYNC109
) -> Any:
    """GET ``path`` until its JSON body satisfies ``predicate``; fail with the last body otherwise."""
    body: Any = None
    try:
        async with asyncio.timeout(timeout):
            while True:
                response = await http.get(path)
                assert response.status_code == 200, response.text
                body = response.json()
                if predicate(body):
                    return body
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}; last body: {body}") from None


async def wait_for_status(http: httpx.AsyncClient, session_id: str, status: str) -> dict[str, Any]:
    state: dict[str, Any] = await poll(
        http, f"/v1/sessions/{session_id}", lambda body: body["status"] == status, f"status {status}"
    )
    return state
