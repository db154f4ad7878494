"""Records the histories of new workflow test paths for the replay test when asked to.

``SESSIONFLOW_RECORD_HISTORIES=1 .venv/bin/python -m pytest tests/workflows/test_x.py`` writes the
history of each workflow a test started to ``tests/histories/`` — only where no file exists yet.
A recorded history is never rewritten: it is the proof that sessions already running on the old
code keep working, so a change that fails to replay one needs ``workflow.patched``, not a new
recording.
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
        if path.exists():
            continue
        path.write_text(json.dumps(json.loads(history.to_json()), indent=1) + "\n")
