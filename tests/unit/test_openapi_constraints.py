"""The served OpenAPI and the validators agree on the tricky values, in both directions.

For each field whose constraint the schema states by a pattern, an enum or a format, a value the
field's schema accepts is accepted by the request model, and a value it refuses is refused —
checked with the JSON Schema validator schemathesis itself uses (formats on), against the very
document the app serves. One deliberate leniency is pinned down: a currency's case.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import jsonschema_rs
import pytest
from pydantic import BaseModel, ValidationError

from api.app import API_VERSION, create_app
from api.models import BookSessionBody, OccurrencesRange, RescheduleBody, ReserveSlotBody
from api.routes.codec import CodecPayload
from domain.zones import IANA_ZONES
from tests.workflows.support import make_booking, real_now


@cache
def document() -> dict[str, Any]:
    return create_app().openapi()


QUERY_MODELS = {"OccurrencesRange": ("/v1/therapists/{therapist_id}/slots/occurrences", "get")}
"""Models read from the query string: their fields are the operation's parameters."""


def field_entry(model: str, field: str) -> dict[str, Any]:
    """The field's schema, with its description (a query parameter carries it beside the schema)."""
    if model in QUERY_MODELS:
        path, method = QUERY_MODELS[model]
        parameters = document()["paths"][path][method]["parameters"]
        parameter = next(p for p in parameters if p["name"] == field and p["in"] == "query")
        return {**parameter["schema"], "description": parameter.get("description", "")}
    entry: dict[str, Any] = document()["components"]["schemas"][model]["properties"][field]
    return entry


def field_schema(model: str, field: str) -> dict[str, Any]:
    return {**field_entry(model, field), "components": document()["components"]}


def schema_accepts(model: str, field: str, value: object) -> bool:
    validator = jsonschema_rs.Draft202012Validator(field_schema(model, field), validate_formats=True)
    return bool(validator.is_valid(value))


def model_accepts(model: type[BaseModel], body: dict[str, Any]) -> bool:
    try:
        model.model_validate_json(json.dumps(body))  # as it arrives on the wire
    except ValidationError:
        return False
    return True


SLOT = {"client_id": "cli_1", "weekday": 0, "local_time": "09:30", "duration_minutes": 50, "timezone": "UTC"}
MOVE = {"requested_by": "client", "new_start": "2030-01-01T09:00:00Z"}
RANGE = {"start_date": "2030-01-01", "end_date": "2030-01-02"}

CASES: list[tuple[type[BaseModel], dict[str, Any], str, list[object]]] = [
    (
        ReserveSlotBody,
        SLOT,
        "local_time",
        [
            "09:30",
            "09:30:15",
            "23:59:59.123456",
            "00:00",
            "24:00",
            "9:30",
            "09:30Z",
            "09:30+01:00",
            "09:30:00,5",
            "09:30:00.1234567",
            "09:30:60",
            3600,
            "",
            " 09:30",
        ],
    ),
    (
        ReserveSlotBody,
        SLOT,
        "timezone",
        [
            "Europe/London",
            "UTC",
            "America/Argentina/Buenos_Aires",
            "Etc/GMT+5",
            "",
            "Europe",
            "localtime",
            "europe/london",
            "Mars/Olympus",
            "Europe/London ",
            1,
        ],
    ),
    (
        RescheduleBody,
        MOVE,
        "new_start",
        [
            "2030-01-01T09:00:00Z",
            "2030-01-01T09:00:00.123456+05:30",
            "0002-01-01T00:00:00+14:00",
            "9998-12-31T23:59:59-14:00",
            "0001-01-01T00:00:00+14:00",
            "9999-12-31T23:59:59-14:00",
            "2030-01-01 09:00:00Z",
            "2030-01-01t09:00:00z",
            "2030-01-01T09:00Z",
            "2030-01-01T09:00:00+0100",
            "2030-02-30T09:00:00Z",
            "2030-01-01T09:00:00",
            "2030-01-01T09:00:00.1234567Z",
            1700000000,
            "1700000000",
            "2030-01-01T24:00:00Z",
        ],
    ),
    (
        OccurrencesRange,
        RANGE,
        "start_date",
        [
            "2030-01-01",
            "0001-01-01",
            "9999-12-31",
            "2030-02-30",
            "0000-01-01",
            "2030-1-1",
            "2030-01-01T00:00:00",
            "0",
            "20300101",
            0,
        ],
    ),
    (
        CodecPayload,
        {"metadata": {}, "data": ""},
        "data",
        [
            "",
            "AA==",
            "AAA=",
            "AAAA",
            "q83vEjRWeJA=",
            "A===",
            "AB=",
            "AAAA====",
            "AA==AAAA",
            "not base64",
            "AA A",
        ],
    ),
]


@pytest.mark.parametrize(
    ("model", "base", "field", "value"),
    [(model, base, field, value) for model, base, field, values in CASES for value in values],
    ids=lambda item: repr(item) if not isinstance(item, dict | type) else "",
)
def test_the_schema_and_the_validator_agree(
    model: type[BaseModel], base: dict[str, Any], field: str, value: object
) -> None:
    by_schema = schema_accepts(model.__name__, field, value)
    by_model = model_accepts(model, {**base, field: value})

    assert by_schema == by_model, f"{field}={value!r}: schema {by_schema}, validator {by_model}"


def test_the_zones_are_one_sorted_component_of_the_pinned_list() -> None:
    component = document()["components"]["schemas"]["IanaZone"]
    booking = document()["components"]["schemas"]["BookSessionBody"]["properties"]

    assert component["enum"] == list(IANA_ZONES) == sorted(IANA_ZONES)
    assert "Europe/London" in component["enum"] and len(component["enum"]) > 500
    assert booking["therapist_timezone"]["$ref"] == "#/components/schemas/IanaZone"
    assert booking["client_timezone"]["$ref"] == "#/components/schemas/IanaZone"


def test_a_currency_is_one_of_the_supported_codes_and_its_case_is_forgiven() -> None:
    booking = make_booking(start=real_now()).model_dump(mode="json")
    booking.pop("connected_account_id")

    for code in ("gbp", "eur", "czk", "", "xyz", "gb"):
        assert schema_accepts("BookSessionBody", "currency", code) == model_accepts(
            BookSessionBody, {**booking, "currency": code}
        )
    # The documented leniency: the canonical spelling is the enum's; upper case is read too.
    assert not schema_accepts("BookSessionBody", "currency", "GBP")
    assert model_accepts(BookSessionBody, {**booking, "currency": "GBP"})


def test_every_cross_field_rule_is_documented_on_its_field() -> None:
    for model, field, code in (
        ("BookSessionBody", "kind", "invalid_combination"),
        ("BookSessionBody", "payment_method_id", "invalid_combination"),
        ("BookSessionBody", "prepaid_payment_intent_id", "invalid_combination"),
        ("BookSessionBody", "client_agreed", "invalid_combination"),
        ("BookSessionBody", "wall_clock_start", "invalid_combination"),
        ("CancelBody", "requested_by", "submitter_not_allowed"),
        ("CancelBody", "submitted_by", "submitter_not_acting_party"),
        ("CancelBody", "discretionary_refund", "invalid_combination"),
        ("RescheduleBody", "requested_by", "submitter_not_allowed"),
        ("AttendanceBody", "new_start", "new_start_required"),
        ("AttendanceBody", "new_start", "new_start_not_allowed"),
        ("AttendanceBody", "end_relationship", "end_reason_required"),
        ("AttendanceBody", "end_reason", "end_reason_required"),
        ("AttendanceBody", "cancel_future_sessions", "contradictory_update"),
        ("AttendanceBody", "refund_amount_minor", "contradictory_update"),
        ("AttendanceBody", "submitted_by", "submitter_not_acting_party"),
        ("OccurrencesRange", "end_date", "invalid_combination"),
    ):
        assert f"409 {code}" in field_entry(model, field)["description"], (model, field, code)


def test_the_contract_is_versioned_semantically() -> None:
    assert document()["info"]["version"] == API_VERSION == "1.1.0"
