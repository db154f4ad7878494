"""What the storm cases (``outage_storm``, ``paused_storm``, ``dispute_storm``) share: their report,
opaque ids, and reading many sessions' states until each one has settled."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta

from temporalio.client import Client

from contract.session import SESSION_STATE
from domain.state import SessionState
from temporal_client.messages import query_workflow
from temporal_client.session_client import session_handle


@dataclass
class StormReport:
    violations: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.violations


def opaque(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:16]}"


async def session_states(client: Client, session_ids: list[str]) -> dict[str, SessionState]:
    async def one(session_id: str) -> tuple[str, SessionState]:
        handle = session_handle(client, session_id)
        state = await asyncio.wait_for(
            query_workflow(handle, SESSION_STATE, rpc_timeout=timedelta(seconds=10)), 15
        )
        return session_id, state

    return dict(await asyncio.gather(*(one(session_id) for session_id in session_ids)))


async def until_all(
    read: Callable[[], Awaitable[dict[str, SessionState]]],
    done: Callable[[SessionState], bool],
    limit_seconds: float,
) -> dict[str, SessionState]:
    """Poll the sessions until every one satisfies ``done``; the last read either way."""
    deadline = time.monotonic() + limit_seconds
    while True:
        states = await read()
        if all(done(state) for state in states.values()) or time.monotonic() > deadline:
            return states
        await asyncio.sleep(0.25)
