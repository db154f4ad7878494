"""Records the histories of new workflow tests for the replay test when asked to.

``SESSIONFLOW_RECORD_HISTORIES=1 .venv/bin/python -m pytest tests/workflows/test_x.py::test_new_path``
writes ``tests/histories/new_path.json`` for each workflow the test started. A history already
there is never re-recorded (nor deleted): it is what a running session of that path looks like,
and the replay test proves every later change still replays it. A changed path is a new test with
a new name, so it gets a new history next to the old one.
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
    name = request.node.name.removeprefix("test_")
    for index, handle in enumerate(STARTED):
        path = HISTORIES / f"{name}{'' if index == 0 else f'-{index}'}.json"
        if path.exists():
            continue
        history = await asyncio.wait_for(handle.fetch_history(), WAIT)
        path.write_text(json.dumps(json.loads(history.to_json()), indent=1) + "\n")
