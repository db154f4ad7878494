"""A whole session's life through the API alone: booked by the therapist, charged at start − 48 h,
held, listed as awaiting its update, the update filed (attended, same time next week with the
client's agreement, slot reserved), the follow-up booked, and the history read back as a timeline.

Only time is driven from outside: the session's own clock is fast-forwarded with Temporal's
per-workflow time skipping."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
from temporalio.testing import WorkflowEnvironment

from temporal_client.session_client import session_handle
from tests.api.conftest import acting
from tests.api.polling import poll, wait_for_status
from tests.workflows.support import HOUR, WAIT, advance_to, make_booking, real_now

SECOND = timedelta(seconds=1)


def key() -> dict[str, str]:
    return {"Idempotency-Key": f"req-{uuid.uuid4().hex}"}


def of_kind(timeline: dict[str, Any], kind: str, **detail: Any) -> list[dict[str, Any]]:
    return [
        event
        for event in timeline["events"]
        if event["kind"] == kind and all(event["detail"].get(name) == value for name, value in detail.items())
    ]


async def test_a_session_from_booking_to_its_follow_up_through_the_api(
    http: httpx.AsyncClient, env: WorkflowEnvironment, reads_at: Callable[[datetime], None]
) -> None:
    booking = make_booking(start=real_now() + 72 * HOUR)
    body = booking.model_dump(mode="json")
    session_id, therapist = booking.session_id, booking.therapist_id
    handle = session_handle(env.client, session_id)

    booked = await http.post("/v1/sessions", json=body)
    assert booked.status_code == 201, booked.text
    assert (await wait_for_status(http, session_id, "scheduled"))["payment"]["status"] == "not_due"

    # Past start − 48 h: the saved card is charged off-session.
    await asyncio.wait_for(advance_to(env, handle, booking.start - 47 * HOUR), WAIT)
    paid = await wait_for_status(http, session_id, "paid")
    intent_id = paid["payment"]["payment_intent_id"]
    assert intent_id.startswith("pi_") and paid["payment"]["amount_paid_minor"] == 6000

    # Past the end: the session awaits the therapist's update and is in their list.
    # Nothing happens at the end itself (issue 13): reads judge the status on the session's clock.
    reads_at(await asyncio.wait_for(advance_to(env, handle, booking.end + SECOND), WAIT))
    await wait_for_status(http, session_id, "awaiting_update")
    awaiting = f"/v1/therapists/{therapist}/awaiting-updates"
    assert await poll(http, awaiting, lambda ids: session_id in ids, "the Awaiting Updates list") == [
        session_id
    ]

    attendance_key = key()
    update = {
        "outcome": "attended",
        "continue_sessions": "same_time",
        "client_agreed": True,
        "reserve_slot": True,
    }
    attendance_key = {**attendance_key, **acting("therapist", booking.therapist_id)}
    filed = await http.post(f"/v1/sessions/{session_id}/attendance", json=update, headers=attendance_key)
    filed_again = await http.post(
        f"/v1/sessions/{session_id}/attendance", json=update, headers=attendance_key
    )

    assert filed.status_code == 200, filed.text
    result = filed.json()
    assert filed_again.status_code == 200 and filed_again.json() == result
    assert result["status"] == "attended"
    follow_up_id = result["follow_up_session_id"]
    assert follow_up_id and result["reserved_slot_id"].startswith("slot_")
    # Same local wall-clock time one week later (no clock change between).
    assert datetime.fromisoformat(result["follow_up_start"]) == booking.start + timedelta(days=7)

    follow_up = await wait_for_status(http, follow_up_id, "scheduled")
    assert follow_up["kind"] == "therapist_follow_up" and follow_up["client_id"] == booking.client_id
    await wait_for_status(http, session_id, "completed")
    await poll(http, awaiting, lambda ids: session_id not in ids, "the list without the session")
    occurrences = await http.get(
        f"/v1/therapists/{therapist}/slots/occurrences",
        params={
            "start_date": booking.start.date().isoformat(),
            "end_date": (booking.start + timedelta(days=8)).date().isoformat(),
        },
    )
    assert [o["slot_id"] for o in occurrences.json()["occurrences"]] == [result["reserved_slot_id"]] * 2

    history = await http.get(f"/v1/sessions/{session_id}/history")

    assert history.status_code == 200, history.text
    timeline = history.json()
    assert timeline["session_id"] == session_id
    kinds = [event["kind"] for event in timeline["events"]]
    assert kinds[0] == "workflow_started" and kinds[-1] == "workflow_completed"
    [started] = of_kind(timeline, "workflow_started")
    assert started["detail"]["booking_kind"] == "therapist_follow_up"
    assert of_kind(timeline, "timer_fired", summary="charge")
    [charge] = of_kind(timeline, "activity_completed", activity_type="charge_session")
    assert charge["detail"]["outcome"] == "succeeded" and charge["detail"]["payment_intent_id"] == intent_id
    # The receipt left in the local activity of the charge's task (issue 13: a task's notices go
    # together); the status a read shows past the end is derived, not recorded.
    receipts = [
        event
        for event in of_kind(timeline, "activity_completed", activity_type="deliver_notifications")
        if f"{session_id}:charge_succeeded:1" in str(event["detail"].get("delivered_event_ids"))
    ]
    assert receipts and all(event["detail"]["local"] is True for event in receipts)
    assert of_kind(timeline, "status_changed", status="paid")
    [accepted] = of_kind(timeline, "update_accepted", update="file_attendance")
    assert accepted["detail"]["submitted_by"] == "therapist" and accepted["detail"]["client_agreed"] is True
    assert accepted["detail"]["acting_party"] == f"therapist:{booking.therapist_id}"
    assert accepted["detail"]["update_id"].startswith(f"{attendance_key['Idempotency-Key']}:attendance:")
    [completed] = of_kind(timeline, "update_completed", update="file_attendance")
    assert completed["detail"]["follow_up_session_id"] == follow_up_id
    # The follow-up's time and its weekly slot were claimed in one practice update.
    [claimed] = of_kind(timeline, "activity_completed", activity_type="practice_claim_time")
    assert claimed["detail"]["session_id"] == follow_up_id
    # Started by a client start from a local activity, in the update's own task (no child start).
    [follow_up_start] = of_kind(timeline, "activity_completed", activity_type="start_follow_up")
    assert follow_up_start["detail"]["session_id"] == follow_up_id
    [done] = of_kind(timeline, "workflow_completed")
    assert done["detail"]["status"] == "completed" and done["detail"]["payment_status"] == "paid"
    assert "secret" not in history.text and booking.stripe_customer_id not in history.text


async def test_the_history_of_an_unknown_session_is_not_found(http: httpx.AsyncClient) -> None:
    missing = await http.get("/v1/sessions/ses_does_not_exist/history")
    bad_id = await http.get("/v1/sessions/not%20opaque/history")

    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    assert bad_id.status_code == 422
