"""Records the histories of workflow tests for the replay test when asked to.

``SESSIONFLOW_RECORD_HISTORIES=1 make test`` (or pytest) rewrites ``tests/histories/*.json``; the
replay test then proves the current code replays every recorded path without nondeterminism.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from tests.workflows.support import STARTED, WAIT

HISTORIES = Path(__file__).resolve().parents[1] / "histories"
RECORD = os.environ.get("SESSIONFLOW_RECORD_HISTORIES") == "1"


@pytest_asyncio.fixture(autouse=True)
async def record_histories(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    STARTED.clear()
    yield
    if not RECORD:
        return
    HISTORIES.mkdir(exist_ok=True)
    for index, handle in enumerate(STARTED):
        history = await asyncio.wait_for(handle.fetch_history(), WAIT)
        name = request.node.name.removeprefix("test_")
        path = HISTORIES / f"{name}{'' if index == 0 else f'-{index}'}.json"
        path.write_text(json.dumps(json.loads(history.to_json()), indent=1) + "\n")
