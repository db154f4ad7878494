"""Sessions over real HTTP: booking, reading, cancelling; errors with their status and code."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.workflows.support import HOUR, make_booking, real_now


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
