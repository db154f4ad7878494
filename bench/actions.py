"""Count Temporal Actions (Temporal Cloud's billing unit) in real workflow histories.

Usage::

    python -m bench.actions tests/histories/*.json            # recorded histories
    python -m bench.actions --workflow-id session-demo-abc-a  # a live workflow (make run)

Billable events follow docs.temporal.io/cloud/actions: a workflow start, each timer started, each
activity scheduled and each retry of it, each search-attribute upsert after the start, each
accepted update, each signal, each child start (2), and local activities as one Action per
workflow task that records one or more of them (``MARKER_RECORDED`` ``core_local_activity``,
grouped by the task that recorded them). Not billed: patch markers (``core_patch``) and the
upsert of ``TemporalChangeVersion`` alone that comes with a patch (exempt: reported as
``change_version_upsert``, outside the total). Queries and rejected updates are billed too but
never appear in a history, so they are not counted here (``bench.paths`` adds the queries it
counts at the clients). ``WorkflowExecutionOptionsUpdated`` events come from the tests' time
skipping and are reported apart, not added to the total.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowHistory

from temporal_client.local_activities import LOCAL_ACTIVITY_MARKER

_BILLED = {
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED: 1,
    EventType.EVENT_TYPE_TIMER_STARTED: 1,
    EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED: 1,
    EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES: 1,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED: 1,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED: 1,
    EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED: 2,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW: 1,
}
_TEST_HARNESS = {EventType.EVENT_TYPE_WORKFLOW_EXECUTION_OPTIONS_UPDATED}
CHANGE_VERSION = "TemporalChangeVersion"
LOCAL_ACTIVITY_TASKS = "LOCAL_ACTIVITY_TASKS"
"""The kind under which local activities are counted: one per workflow task that ran any."""
CHANGE_VERSION_UPSERT = "CHANGE_VERSION_UPSERT"
"""Reported, never billed: the SDK's own upsert of the patch ids a run has seen."""
_NOT_BILLED = {CHANGE_VERSION_UPSERT}


def count_actions(history: WorkflowHistory) -> tuple[int, Counter[str], int]:
    """Returns (total Actions, Actions by kind, test-harness events left out)."""
    by_kind: Counter[str] = Counter()
    harness = 0
    local_activity_tasks: set[int] = set()
    for event in history.events:
        name = EventType.Name(event.event_type).removeprefix("EVENT_TYPE_")
        if event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED:
            marker = event.marker_recorded_event_attributes
            if marker.marker_name == LOCAL_ACTIVITY_MARKER:
                # Temporal Cloud bills local activities per workflow task, not per activity.
                local_activity_tasks.add(marker.workflow_task_completed_event_id)
        elif _change_version_only(event):
            by_kind[CHANGE_VERSION_UPSERT] += 1
        elif event.event_type in _BILLED:
            by_kind[name] += _BILLED[event.event_type]
        elif event.event_type in _TEST_HARNESS:
            harness += 1
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            retries = event.activity_task_started_event_attributes.attempt - 1
            if retries > 0:
                by_kind["ACTIVITY_RETRY"] += retries
    if local_activity_tasks:
        by_kind[LOCAL_ACTIVITY_TASKS] = len(local_activity_tasks)
    return billed(by_kind), by_kind, harness


def billed(by_kind: Counter[str]) -> int:
    """The Actions among the counted kinds (the exempt change-version upserts left out)."""
    return sum(n for kind, n in by_kind.items() if kind not in _NOT_BILLED)


def _change_version_only(event: HistoryEvent) -> bool:
    if event.event_type != EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
        return False
    fields = event.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields
    return set(fields) == {CHANGE_VERSION}


def _report(name: str, history: WorkflowHistory) -> str:
    total, by_kind, harness = count_actions(history)
    kinds = ", ".join(f"{kind.lower()}={n}" for kind, n in sorted(by_kind.items()))
    extra = f"  (+{harness} time-skipping events, test only)" if harness else ""
    return f"{total:3d} Actions  {name}  [{kinds}]{extra}"


def _from_files(paths: Iterable[Path]) -> list[str]:
    return [_report(p.stem, WorkflowHistory.from_json(p.stem, json.loads(p.read_text()))) for p in paths]


async def _from_server(address: str, workflow_ids: Iterable[str]) -> list[str]:
    client = await Client.connect(address)
    return [_report(wid, await client.get_workflow_handle(wid).fetch_history()) for wid in workflow_ids]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("files", nargs="*", type=Path, help="history JSON files")
    parser.add_argument("--workflow-id", action="append", default=[], help="fetch from the server")
    parser.add_argument("--address", default="127.0.0.1:7233")
    args = parser.parse_args(argv)
    lines = _from_files(args.files)
    if args.workflow_id:
        lines += asyncio.run(_from_server(args.address, args.workflow_id))
    if not lines:
        parser.error("give history files or --workflow-id")
    sys.stdout.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
