"""The ``sessionflow`` CLI: replay of recorded and tampered histories, and reading sessions from
the test dev server (Settings pointed at it through SESSIONFLOW_* variables)."""

from __future__ import annotations

import asyncio
import json
from datetime import time, timedelta
from pathlib import Path

import pytest
from temporalio.api.common.v1 import Memo, Payload, Payloads
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent, WorkflowExecutionStartedEventAttributes
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker
from typer.testing import CliRunner, Result

from contract.practice import PRACTICE_RESERVE_SLOT
from domain.practice import ReserveSlot
from domain.slots import WeeklySlotRule
from domain.state import SessionWorkflowInput
from ops.cli import app, reset_point
from settings import Settings
from temporal_client.codec import EncryptionCodec, build_data_converter, payload_key_ids
from temporal_client.practice_client import practice_handle, practice_update
from tests.workflows.support import HOUR, WAIT, make_booking, real_now, start, unique, wait_for_state
from workflows.session import SessionWorkflow

HISTORIES = Path(__file__).resolve().parents[1] / "histories"
RECORDED = HISTORIES / "attendance_is_recorded_and_the_session_completes.json"

runner = CliRunner()


def invoke(*args: str) -> Result:
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_a_recorded_history_replays_cleanly() -> None:
    result = invoke("replay", "--file", str(RECORDED))

    assert result.exit_code == 0, result.output
    assert f"ok    {RECORDED}" in result.output
    assert "1 replayed, 0 failed" in result.output


def test_a_tampered_history_fails_the_replay_with_exit_code_1(tmp_path: Path) -> None:
    history = json.loads(RECORDED.read_text())
    events = history["events"]
    scheduled = next(
        i for i, e in enumerate(events) if e["eventType"] == "EVENT_TYPE_ACTIVITY_TASK_SCHEDULED"
    )
    del events[scheduled]
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(history))

    result = invoke("replay", "--file", str(RECORDED), "--file", str(tampered))

    assert result.exit_code == 1, result.output
    assert f"ok    {RECORDED}" in result.output
    assert f"FAIL  {tampered}: " in result.output
    assert "1 replayed, 1 failed" in result.output


def test_a_changed_activity_type_is_reported_as_nondeterminism(tmp_path: Path) -> None:
    history = json.loads(RECORDED.read_text())
    scheduled = next(e for e in history["events"] if e["eventType"] == "EVENT_TYPE_ACTIVITY_TASK_SCHEDULED")
    scheduled["activityTaskScheduledEventAttributes"]["activityType"]["name"] = "renamed_activity"
    tampered = tmp_path / "renamed.json"
    tampered.write_text(json.dumps(history))

    result = invoke("replay", "--file", str(tampered))

    assert result.exit_code == 1, result.output
    assert f"FAIL  {tampered}: NondeterminismError: [TMPRL1100]" in result.output
    assert "renamed_activity" in result.output


def test_replay_needs_a_history() -> None:
    result = runner.invoke(app, ["replay"])
    assert result.exit_code == 2


def test_the_reset_point_is_the_last_completed_task_before_the_event_a_failure_names() -> None:
    history = WorkflowHistory.from_json("recorded", json.loads(RECORDED.read_text()))
    completed = [
        e.event_id for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
    ]
    bad = completed[1] + 1  # the first command of the second task
    assert reset_point(history, f"Nondeterminism error: … HistoryEvent(id: {bad}, TimerStarted)") == (
        bad,
        completed[1],
    )
    # No event named, or none completed before it: no reset point is printed.
    assert reset_point(history, "Nondeterminism error: activity type mismatch") is None
    assert reset_point(history, "Nondeterminism error: … HistoryEvent(id: 2, WorkflowTaskScheduled)") is None


def test_a_history_cut_after_an_event_replays_only_that_far() -> None:
    result = invoke("replay", "--file", str(RECORDED), "--upto-event", "3")
    assert result.exit_code == 0, result.output
    assert "1 replayed, 0 failed" in result.output
    assert runner.invoke(app, ["replay", "--file", str(RECORDED), "--upto-event", "0"]).exit_code == 2


@pytest.fixture
def cli_env(env: WorkflowEnvironment, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SESSIONFLOW_TEMPORAL_ADDRESS", env.client.service_client.config.target_host)
    monkeypatch.setenv("SESSIONFLOW_TEMPORAL_NAMESPACE", env.client.namespace)


async def test_sessions_list_and_show_read_the_server(
    cli_env: None, env: WorkflowEnvironment, worker: Worker
) -> None:
    booking = make_booking(start=real_now() + 30 * 24 * HOUR)
    handle = await start(env.client, booking, worker.task_queue)
    await wait_for_state(handle, lambda s: s.status == "scheduled", "the session to start")

    # Visibility is eventually consistent: poll briefly. The CLI runs its own event loop in a thread.
    deadline = asyncio.get_running_loop().time() + WAIT
    while True:
        listed = await asyncio.to_thread(invoke, "sessions", "list", "--therapist", booking.therapist_id)
        assert listed.exit_code == 0, listed.output
        if booking.session_id in listed.output:
            break
        assert asyncio.get_running_loop().time() < deadline, listed.output
        await asyncio.sleep(0.2)
    (line,) = [row for row in listed.output.splitlines() if row.startswith(booking.session_id)]
    session_id, status, start_at = line.split("\t")
    assert (session_id, status) == (booking.session_id, "scheduled")
    assert start_at.startswith(booking.start.isoformat()[:16])

    filtered = await asyncio.to_thread(
        invoke, "sessions", "list", "--therapist", booking.therapist_id, "--status", "paid"
    )
    assert booking.session_id not in filtered.output

    shown = await asyncio.to_thread(invoke, "sessions", "show", booking.session_id)
    assert shown.exit_code == 0, shown.output
    assert len(shown.output.splitlines()) >= 1

    replayed = await asyncio.to_thread(invoke, "replay", "--workflow-id", handle.id)
    assert replayed.exit_code == 0, replayed.output
    assert f"ok    {handle.id}" in replayed.output

    missing = await asyncio.to_thread(runner.invoke, app, ["sessions", "show", "ses_does_not_exist"])
    assert missing.exit_code == 1

    by_query = await asyncio.to_thread(
        invoke, "replay", "--query", f"WorkflowId = '{handle.id}' AND ExecutionStatus = 'Running'"
    )
    assert by_query.exit_code == 0, by_query.output
    assert f"ok    {handle.id}" in by_query.output and "1 replayed, 0 failed" in by_query.output

    unknown = await asyncio.to_thread(runner.invoke, app, ["replay", "--workflow-id", "session-nope"])
    assert unknown.exit_code == 2 and "no workflow session-nope" in unknown.output
    assert "Traceback" not in unknown.output


def test_an_unreachable_temporal_is_one_line_not_a_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SESSIONFLOW_TEMPORAL_ADDRESS", "127.0.0.1:9")  # nothing listens there

    result = runner.invoke(app, ["sessions", "list"])

    assert result.exit_code == 2
    assert "cannot reach Temporal at 127.0.0.1:9" in result.output
    assert "Traceback" not in result.output


async def test_keys_in_use_finds_every_execution_whose_history_a_key_encrypted(
    cli_env: None, env: WorkflowEnvironment
) -> None:
    settings = Settings()
    encrypted = await Client.connect(
        env.client.service_client.config.target_host,
        namespace=env.client.namespace,
        data_converter=build_data_converter(settings),
    )
    booking = make_booking(start=real_now() + 300 * 24 * HOUR)  # booked far ahead: its key must live
    handle = await encrypted.start_workflow(
        SessionWorkflow.run,
        SessionWorkflowInput(booking=booking),
        id=f"session-{booking.session_id}",
        task_queue=unique("no-worker"),  # never runs: the start event alone holds encrypted payloads
        execution_timeout=timedelta(minutes=5),
    )
    query = f"WorkflowId = '{handle.id}'"
    try:
        deadline = asyncio.get_running_loop().time() + WAIT
        while True:  # visibility is eventually consistent
            needed = await asyncio.to_thread(
                runner.invoke, app, ["keys", "in-use", settings.codec_current_key_id, "--query", query]
            )
            if handle.id in needed.output:
                break
            assert asyncio.get_running_loop().time() < deadline, needed.output
            await asyncio.sleep(0.2)
        assert needed.exit_code == 1, needed.output
        assert "1 execution(s) still need key" in needed.output

        other = await asyncio.to_thread(runner.invoke, app, ["keys", "in-use", "k-retired", "--query", query])
        assert other.exit_code == 0 and "0 execution(s) still need key k-retired" in other.output
    finally:
        await handle.terminate("test over")


async def test_payload_key_ids_walks_nested_repeated_and_map_fields() -> None:
    codec = EncryptionCodec({"k-old": bytes(32), "k-new": bytes(range(32))}, "k-old")
    old = (await codec.encode([Payload(data=b"old")]))[0]
    codec = EncryptionCodec({"k-old": bytes(32), "k-new": bytes(range(32))}, "k-new")
    new = (await codec.encode([Payload(data=b"new")]))[0]
    event = HistoryEvent(
        workflow_execution_started_event_attributes=WorkflowExecutionStartedEventAttributes(
            input=Payloads(payloads=[old]), memo=Memo(fields={"note": new})
        )
    )
    assert payload_key_ids(event) == {"k-old", "k-new"}
    assert payload_key_ids(HistoryEvent()) == set()


async def test_practice_restore_restarts_a_closed_practice_with_its_state(
    cli_env: None, env: WorkflowEnvironment, worker: Worker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SESSIONFLOW_TASK_QUEUE", worker.task_queue)
    therapist = unique("thr")
    rule = WeeklySlotRule(weekday=2, local_time=time(9, 0), duration_minutes=50)
    await asyncio.wait_for(
        practice_update(
            env.client,
            therapist,
            "Europe/London",
            PRACTICE_RESERVE_SLOT,
            ReserveSlot(client_id="cli_a", rule=rule),
            request_id=unique("req"),
            task_queue=worker.task_queue,
        ),
        WAIT,
    )
    await asyncio.wait_for(practice_handle(env.client, therapist).terminate("drill"), WAIT)

    restored = await asyncio.to_thread(invoke, "practice", "restore", therapist)

    assert restored.exit_code == 0, restored.output
    assert f"restored practice-{therapist}: 1 relationships, 1 slots" in restored.output
    running = await asyncio.wait_for(practice_handle(env.client, therapist).describe(), WAIT)
    assert running.status is WorkflowExecutionStatus.RUNNING
    again = await asyncio.to_thread(runner.invoke, app, ["practice", "restore", therapist])
    said = " ".join(again.output.replace("│", " ").split())  # typer wraps the error in a box
    assert again.exit_code == 2 and "is running: there is nothing to restore" in said
