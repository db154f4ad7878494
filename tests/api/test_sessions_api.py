"""Sessions over real HTTP: booking, reading, cancelling; errors with their status and code."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from domain.status import BookingKind
from temporal_client.session_client import book_session
from tests.api.conftest import acting
from tests.workflows.support import HOUR, make_booking, real_now, unique

MINUTE = timedelta(minutes=1)


def booking_body(**overrides: Any) -> dict[str, Any]:
    booking = make_booking(start=real_now() + 100 * HOUR, **overrides)
    return booking.model_dump(mode="json")


def key() -> dict[str, str]:
    return {"Idempotency-Key": f"req-{uuid.uuid4().hex}"}


async def test_book_read_and_cancel_a_session(http: httpx.AsyncClient) -> None:
    body = booking_body()

    booked = await http.post("/v1/sessions", json=body)
    again = await http.post("/v1/sessions", json=body)
    read = await http.get(f"/v1/sessions/{body['session_id']}")
    cancel_key = key()
    cancelled = await http.post(
        f"/v1/sessions/{body['session_id']}/cancel",
        json={"requested_by": "client", "reason": "client_request"},
        headers=cancel_key,
    )
    retried = await http.post(
        f"/v1/sessions/{body['session_id']}/cancel",
        json={"requested_by": "client", "reason": "client_request"},
        headers=cancel_key,
    )

    assert booked.status_code == 201 and booked.json()["created"] is True
    assert again.status_code == 200 and again.json()["created"] is False
    assert read.status_code == 200 and read.json()["status"] == "scheduled"
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled_free"
    assert retried.status_code == 200 and retried.json() == cancelled.json()


async def test_a_different_booking_under_an_existing_id_is_a_conflict(http: httpx.AsyncClient) -> None:
    body = booking_body()
    await http.post("/v1/sessions", json=body)

    clash = await http.post("/v1/sessions", json={**body, "amount_minor": 9999})

    assert clash.status_code == 409 and clash.json()["code"] == "session_exists"


async def test_errors_carry_status_and_code(http: httpx.AsyncClient, api_url: str) -> None:
    unknown = await http.get("/v1/sessions/ses_does_not_exist")
    malformed = await http.post("/v1/sessions", json={**booking_body(), "start": "2027-01-01T10:00:00"})
    bad_id = await http.get("/v1/sessions/not%20opaque")
    no_key = await http.post(
        "/v1/sessions/ses_x/cancel", json={"requested_by": "client", "reason": "client_request"}
    )
    extra_field = await http.post(
        "/v1/sessions/ses_x/cancel",
        json={"requested_by": "client", "reason": "client_request", "received_at": "2020-01-01T00:00:00Z"},
        headers=key(),
    )
    in_past = await http.post("/v1/sessions", json={**booking_body(), "start": "2020-01-01T10:00:00Z"})
    async with httpx.AsyncClient(base_url=api_url) as anonymous:
        unauthenticated = await anonymous.get("/v1/sessions/ses_x")
        wrong_token = await anonymous.get("/v1/sessions/ses_x", headers={"Authorization": "Bearer nope"})
        health = await anonymous.get("/healthz")
        ready = await anonymous.get("/readyz")

    assert unknown.status_code == 404 and unknown.json()["code"] == "not_found"
    assert malformed.status_code == 422 and malformed.json()["code"] == "validation_error"
    assert any("start" in field["location"] for field in malformed.json()["fields"])
    assert bad_id.status_code == 422
    assert no_key.status_code == 422
    assert extra_field.status_code == 422
    assert in_past.status_code == 409 and in_past.json()["code"] == "start_in_past"
    assert unauthenticated.status_code == 401 and wrong_token.status_code == 401
    assert unauthenticated.headers["WWW-Authenticate"] == "Bearer"
    assert health.status_code == 200 and ready.status_code == 200


async def test_a_key_names_one_request_and_reused_elsewhere_never_answers_for_another(
    http: httpx.AsyncClient,
) -> None:
    body = booking_body()
    session = f"/v1/sessions/{body['session_id']}"
    await http.post("/v1/sessions", json=body)
    shared = key()
    one_day, two_days = (
        (datetime.fromisoformat(body["start"]) + timedelta(days=days)).isoformat() for days in (1, 2)
    )

    moved = await http.post(
        f"{session}/reschedule", json={"requested_by": "client", "new_start": one_day}, headers=shared
    )
    retried = await http.post(
        f"{session}/reschedule", json={"requested_by": "client", "new_start": one_day}, headers=shared
    )
    other_body = await http.post(
        f"{session}/reschedule", json={"requested_by": "client", "new_start": two_days}, headers=shared
    )
    other_operation = await http.post(
        f"{session}/payment-method", json={"payment_method_id": "pm_card_visa"}, headers=shared
    )
    state = (await http.get(session)).json()

    assert moved.status_code == 200 and retried.json() == moved.json()
    assert other_body.status_code == 200 and other_body.json()["start"] != moved.json()["start"]
    assert datetime.fromisoformat(state["start"]) == datetime.fromisoformat(two_days)
    # Its own request, answered as a card change (not the reschedule's result, and not a 500).
    assert other_operation.status_code == 200 and "retrying_now" in other_operation.json()


async def test_a_retried_booking_finds_its_session_even_after_its_start(
    http: httpx.AsyncClient, env: WorkflowEnvironment, worker: Worker
) -> None:
    """The first answer was lost; the session was charged at booking and has started since."""
    booking = make_booking(start=real_now() - 5 * MINUTE, kind=BookingKind.CLIENT_FOLLOW_UP)
    await book_session(env.client, booking, task_queue=worker.task_queue, now=booking.start - 25 * HOUR)

    retried = await http.post("/v1/sessions", json=booking.model_dump(mode="json"))

    assert retried.status_code == 200, retried.text
    assert retried.json()["created"] is False


async def test_a_clashing_booking_leaves_no_trace_in_another_practice(http: httpx.AsyncClient) -> None:
    body = booking_body()
    await http.post("/v1/sessions", json=body)
    intruder, victim = unique("thr"), unique("cli")

    clash = await http.post("/v1/sessions", json={**body, "therapist_id": intruder, "client_id": victim})
    clients = await http.get(f"/v1/therapists/{intruder}/clients", params={"include_inactive": True})

    assert clash.status_code == 409 and clash.json()["code"] == "session_exists"
    assert victim not in str(clients.json())


async def test_a_move_into_another_clients_reserved_slot_is_refused(http: httpx.AsyncClient) -> None:
    body = booking_body()
    await http.post("/v1/sessions", json=body)
    start = datetime.fromisoformat(body["start"]).astimezone(ZoneInfo(body["therapist_timezone"]))
    holder_start = start + timedelta(days=2)
    reserved = await http.post(
        f"/v1/therapists/{body['therapist_id']}/slots",
        json={
            "client_id": unique("cli"),
            "weekday": holder_start.weekday(),
            "local_time": holder_start.strftime("%H:%M"),
            "duration_minutes": 50,
            "timezone": body["therapist_timezone"],
        },
        headers=key(),
    )

    moved = await http.post(
        f"/v1/sessions/{body['session_id']}/reschedule",
        json={"requested_by": "therapist", "new_start": holder_start.isoformat()},
        headers=key(),
    )

    assert reserved.status_code == 200, reserved.text
    assert moved.status_code == 409 and moved.json()["code"] == "slot_conflict"
    assert reserved.json()["slot_id"] in moved.json()["message"]


async def test_shape_errors_are_422_naming_the_field_and_a_waived_late_charge_is_not_free(
    http: httpx.AsyncClient,
) -> None:
    too_short = await http.post("/v1/sessions", json=booking_body(duration_minutes=5))
    body = make_booking(BookingKind.CLIENT_FOLLOW_UP, start=real_now() + 30 * HOUR).model_dump(mode="json")
    await http.post("/v1/sessions", json=body)
    cancel = f"/v1/sessions/{body['session_id']}/cancel"
    posing = await http.post(
        cancel,
        json={"requested_by": "therapist", "submitted_by": "client", "reason": "client_request"},
        headers={**key(), **acting("client", body["client_id"])},
    )
    waived = await http.post(
        cancel,
        json={
            "requested_by": "client",
            "submitted_by": "therapist",
            "reason": "client_request",
            "discretionary_refund": True,
        },
        headers={**key(), **acting("therapist", body["therapist_id"])},
    )

    assert too_short.status_code == 422
    assert any("duration_minutes" in field["location"] for field in too_short.json()["fields"])
    assert posing.status_code == 409 and posing.json()["code"] == "submitter_not_allowed"
    assert posing.json()["message"].startswith("submitted_by: ")
    assert waived.status_code == 200, waived.text
    result = waived.json()
    assert result["status"] == "cancelled_late" and result["free"] is False
    assert result["discretionary_refund"] is True and result["charge_kept"] is False
