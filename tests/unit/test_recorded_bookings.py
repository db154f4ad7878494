"""Running sessions survive the client's zone: every booking recorded before ``client_timezone`` and
``previous_start`` existed (the inputs in tests/histories/) still decodes, reading the client's
zone as the therapist's and no previous session."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from domain.state import SessionWorkflowInput

HISTORIES = sorted((Path(__file__).resolve().parents[1] / "histories").glob("*.json"))


def recorded_session_inputs() -> list[tuple[str, dict[str, object]]]:
    inputs = []
    for path in HISTORIES:
        first = json.loads(path.read_text(encoding="utf-8"))["events"][0]
        started = first["workflowExecutionStartedEventAttributes"]
        if started["workflowType"]["name"] != "SessionWorkflow":
            continue
        [payload] = started["input"]["payloads"]
        if base64.b64decode(payload["metadata"]["encoding"]) != b"json/plain":
            continue  # an encrypted recording: test_replay covers it
        inputs.append((path.stem, json.loads(base64.b64decode(payload["data"]))))
    return inputs


INPUTS = recorded_session_inputs()


def test_the_recordings_include_bookings_from_before_the_clients_zone() -> None:
    assert sum("client_timezone" not in data["booking"] for _, data in INPUTS) >= 10  # type: ignore[operator]


@pytest.mark.parametrize(("name", "data"), INPUTS, ids=[name for name, _ in INPUTS])
def test_a_recorded_booking_decodes_with_the_therapists_zone_for_the_client(
    name: str, data: dict[str, object]
) -> None:
    decoded = SessionWorkflowInput.model_validate(data)

    recorded = data["booking"]
    assert isinstance(recorded, dict)
    if "client_timezone" not in recorded:
        assert decoded.booking.client_timezone == decoded.booking.therapist_timezone
    if "previous_start" not in recorded:
        assert decoded.booking.previous_start is None
