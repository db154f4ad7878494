"""The notification catalogue through the API, as a backend developer meets it: every event type is
a webhook on the OpenAPI page, a booking takes the client's zone, and the notifications a real
worker delivers to a receiver that verifies them with the ``standardwebhooks`` library give the
start in both parties' zones and match the committed schema of their type."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import httpx
from jsonschema import Draft202012Validator, FormatChecker

from dev.notification_sink import NotificationSink
from domain.notification_catalogue import CATALOGUE, SCHEMA_DIRECTORY
from domain.notifications import (
    WEBHOOK_ID_HEADER,
    WEBHOOK_SIGNATURE_HEADER,
    WEBHOOK_TIMESTAMP_HEADER,
    NotificationType,
)
from tests.workflows.support import HOUR, make_booking, real_now

ROOT = Path(__file__).resolve().parents[2]
WAIT = 30.0


async def test_the_openapi_lists_every_catalogue_event_as_a_signed_webhook(http: httpx.AsyncClient) -> None:
    spec = (await http.get("/openapi.json")).json()

    assert set(spec["webhooks"]) == {type.value for type in NotificationType}
    for type, item in CATALOGUE.items():
        operation = spec["webhooks"][type.value]["post"]
        assert operation["requestBody"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/Notification"
        }
        headers = {p["name"] for p in operation["parameters"] if p["in"] == "header"}
        assert headers == {WEBHOOK_ID_HEADER, WEBHOOK_TIMESTAMP_HEADER, WEBHOOK_SIGNATURE_HEADER}
        assert item.when in operation["description"]
        assert f"{SCHEMA_DIRECTORY}/{type.value}.json" in operation["description"]
        for delivery in item.deliveries:
            assert f"| {delivery.audience.value}" in operation["description"]
            assert f"| {delivery.channel.value} |" in operation["description"]
    assert "client_timezone" in spec["components"]["schemas"]["BookSessionBody"]["properties"]


async def test_a_booking_takes_the_clients_zone_and_its_notifications_give_both_local_times(
    http: httpx.AsyncClient, notification_sink: NotificationSink
) -> None:
    start = real_now().replace(microsecond=0) + 100 * HOUR
    body = make_booking(start=start, client_timezone="America/New_York").model_dump(mode="json")
    session_id = body["session_id"]

    booked = await http.post("/v1/sessions", json=body)
    read = await http.get(f"/v1/sessions/{session_id}")
    cancelled = await http.post(
        f"/v1/sessions/{session_id}/cancel",
        json={"requested_by": "client", "reason": "client_request"},
        headers={"Idempotency-Key": f"req-{uuid.uuid4().hex}"},
    )
    [notification] = await notification_sink.wait_for_async(
        # The copy telling the other party (the canceller also gets a confirmation of their own).
        lambda n: (
            n.session_id == session_id and n.type is NotificationType.SESSION_CANCELLED and not n.confirmation
        ),
        timeout=WAIT,
    )

    assert booked.status_code == 201 and cancelled.status_code == 200
    assert read.json()["client_timezone"] == "America/New_York"
    assert notification.start == start
    assert notification.client_timezone == "America/New_York"
    assert notification.therapist_timezone == "Europe/London"
    assert notification.start_local_client is not None and notification.start_local_therapist is not None
    assert notification.start_local_client.utcoffset() in {-4 * HOUR, -5 * HOUR}
    assert notification.start_local_therapist.utcoffset() in {0 * HOUR, 1 * HOUR}
    assert notification.start_local_client == notification.start_local_therapist == start
    assert notification.client_local_time_changed is None  # no previous session
    # The sink verified it with standardwebhooks; the body matches its type's committed schema.
    [request] = [r for r in notification_sink.requests if r.event_id == notification.event_id][:1]
    assert request.verified
    schema = json.loads((ROOT / SCHEMA_DIRECTORY / "session_cancelled.json").read_text(encoding="utf-8"))
    payload = json.loads(notification.model_dump_json())
    Draft202012Validator(schema, format_checker=FormatChecker()).validate(payload)


async def test_a_booking_without_the_clients_zone_uses_the_therapists(http: httpx.AsyncClient) -> None:
    body = make_booking(start=real_now() + 100 * HOUR, therapist_timezone="Europe/Paris").model_dump(
        mode="json"
    )
    del body["client_timezone"]

    booked = await http.post("/v1/sessions", json=body)
    again = await http.post("/v1/sessions", json=body)  # the same booking: an idempotent retry
    read = await http.get(f"/v1/sessions/{body['session_id']}")

    assert booked.status_code == 201 and again.status_code == 200 and again.json()["created"] is False
    assert read.json()["client_timezone"] == "Europe/Paris"


async def test_an_unknown_client_zone_is_malformed_input(http: httpx.AsyncClient) -> None:
    body = make_booking(start=real_now() + 100 * HOUR).model_dump(mode="json")

    answer = await http.post("/v1/sessions", json={**body, "client_timezone": "Eastern Time"})

    assert answer.status_code == 422
    assert "client_timezone" in json.dumps(answer.json())
