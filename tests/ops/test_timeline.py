"""The ops timeline: it says which card each charge used, and when it is read with a key this
process does not hold, how many payloads it could not decrypt (instead of silently less detail)."""

from __future__ import annotations

import asyncio
import json
import os
from datetime import timedelta
from pathlib import Path

from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from domain.status import SessionStatus
from temporal_client.codec import EncryptionCodec, with_codec
from temporal_client.converter import DATA_CONVERTER
from temporal_client.timeline import timeline_from_history
from tests.ops.local_activities import LOCAL_ACTIVITIES, PRIVATE, LocalActivitiesWorkflow
from tests.workflows.support import HOUR, WAIT, make_booking, real_now, start, unique, wait_for_state

HISTORIES = Path(__file__).resolve().parents[1] / "histories"
NEW_CARD = HISTORIES / "a_new_card_after_a_hard_decline_is_charged_at_once.json"


async def test_each_charge_names_the_card_it_used() -> None:
    history = WorkflowHistory.from_json("session-recorded", json.loads(NEW_CARD.read_text()))

    timeline = await timeline_from_history(history, DATA_CONVERTER)

    scheduled = [e.detail for e in timeline.events if e.kind == "activity_scheduled"]
    cards = [d["payment_method_id"] for d in scheduled if d["activity_type"] == "charge_session"]
    new_card = [e.detail["payment_method_id"] for e in timeline.events if e.kind == "update_accepted"]
    assert timeline.undecodable_payloads == 0
    assert len(cards) == 2 and cards[0] != cards[1]
    assert new_card == [cards[1]]


async def test_payloads_under_a_key_it_lacks_are_counted_not_guessed(
    env: WorkflowEnvironment, worker: Worker
) -> None:
    booking = make_booking(start=real_now() + 100 * HOUR)
    handle = await start(env.client, booking, worker.task_queue)
    await wait_for_state(handle, lambda s: s.status is SessionStatus.SCHEDULED, "the first task")
    history = await asyncio.wait_for(handle.fetch_history(), WAIT)
    stranger = with_codec(EncryptionCodec({"stranger": os.urandom(32)}, "stranger"))

    readable = await timeline_from_history(history, DATA_CONVERTER)
    unreadable = await timeline_from_history(history, stranger)

    assert readable.undecodable_payloads == 0
    assert readable.events[0].detail["client_id"] == booking.client_id
    assert unreadable.undecodable_payloads > 0
    assert "client_id" not in unreadable.events[0].detail


async def test_each_charge_says_whether_the_client_was_present() -> None:
    """README rule 11, read back from a recorded history: the scheduled charge was off-session, the
    retry the client's new card caused on-session (histories from before carry no flag)."""
    path = HISTORIES / "a_client_entering_a_new_card_after_a_decline_authenticates_in_their_browser.json"
    history = WorkflowHistory.from_json("session-recorded", json.loads(path.read_text()))

    timeline = await timeline_from_history(history, DATA_CONVERTER)

    scheduled = [e.detail for e in timeline.events if e.kind == "activity_scheduled"]
    presence = [d.get("off_session") for d in scheduled if d["activity_type"] == "charge_session"]
    assert presence == [True, False]
    old = WorkflowHistory.from_json("session-recorded", json.loads(NEW_CARD.read_text()))
    old_scheduled = [e.detail for e in (await timeline_from_history(old, DATA_CONVERTER)).events]
    assert all("off_session" not in d for d in old_scheduled)


async def test_local_activities_show_like_activities_with_ids_and_codes_only(
    env: WorkflowEnvironment,
) -> None:
    """The lean lifecycle's local activities (one ``deliver_notifications`` per workflow task, the
    time claim, the follow-up's start) leave only markers in the history: each is shown with its
    type, its result's allow-listed fields or its failure's code — read from a real history."""
    queue = unique("local-activities")
    session_id = unique("ses")
    async with Worker(
        env.client, task_queue=queue, workflows=[LocalActivitiesWorkflow], activities=LOCAL_ACTIVITIES
    ):
        handle = await env.client.start_workflow(
            LocalActivitiesWorkflow.run,
            session_id,
            id=unique("local-activities"),
            task_queue=queue,
            execution_timeout=timedelta(minutes=1),
        )
        await asyncio.wait_for(handle.result(), WAIT)
    history = await asyncio.wait_for(handle.fetch_history(), WAIT)

    timeline = await timeline_from_history(history, DATA_CONVERTER)
    unreadable = await timeline_from_history(
        history, with_codec(EncryptionCodec({"stranger": os.urandom(32)}, "stranger"))
    )

    local = [(e.kind, e.detail) for e in timeline.events if e.detail.get("local")]
    assert local == [
        (
            "activity_completed",
            {
                "activity_type": "deliver_notifications",
                "local": True,
                "activity_id": "1",
                "delivered_event_ids": f"{session_id}:booking_confirmed:1",
                "delivered_status_codes": "204",
                "rejected_event_ids": f"{session_id}:booking_confirmed:2",
                "rejected_status_codes": "422",
            },
        ),
        (
            "activity_completed",
            {
                "activity_type": "practice_claim_time",
                "local": True,
                "activity_id": "2",
                "session_id": f"{session_id}_next",
                "start": "2027-03-02T09:00:00+00:00",
                "end": "2027-03-02T09:50:00+00:00",
            },
        ),
        (
            "activity_failed",
            {
                "activity_type": "practice_claim_time",
                "local": True,
                "activity_id": "3",
                "error_type": "slot_conflict",
                "non_retryable": True,
            },
        ),
        (
            "activity_completed",
            {
                "activity_type": "start_follow_up",
                "local": True,
                "activity_id": "4",
                "session_id": f"{session_id}_next",
                "workflow_id": f"session-{session_id}_next",
            },
        ),
    ]
    assert PRIVATE not in timeline.model_dump_json()
    assert timeline.undecodable_payloads == 0
    # Without the key the type and the failure's code still show; the results are counted as
    # undecodable, never guessed.
    assert [e.detail["activity_type"] for e in unreadable.events if e.detail.get("local")] == [
        "deliver_notifications",
        "practice_claim_time",
        "practice_claim_time",
        "start_follow_up",
    ]
    assert unreadable.undecodable_payloads >= 3
