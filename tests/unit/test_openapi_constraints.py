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
from api.models import (
    AttendanceBody,
    BookSessionBody,
    CancelBody,
    EndRelationshipBody,
    OccurrencesRange,
    RefundBody,
    RescheduleBody,
    ReserveSlotBody,
)
from api.routes.codec import CodecPayload
from api.routes.ops import ErasureBody
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
    assert booking["client_timezone"]["anyOf"][0]["$ref"] == "#/components/schemas/IanaZone"


def test_every_zone_has_its_own_member_name_for_generated_enums() -> None:
    """``GMT+0``, ``GMT-0`` and ``GMT0`` made one name each in openapi-python-client: it refused."""
    names = document()["components"]["schemas"]["IanaZone"]["x-enum-varnames"]

    assert len(names) == len(IANA_ZONES) == len(set(names))
    assert all(name.isidentifier() and name == name.upper() for name in names)
    by_zone = dict(zip(IANA_ZONES, names, strict=True))
    assert [by_zone["GMT+0"], by_zone["GMT-0"], by_zone["GMT0"]] == ["GMT_PLUS_0", "GMT_MINUS_0", "GMT0"]
    assert by_zone["America/Port-au-Prince"] == "AMERICA_PORT_AU_PRINCE"


JSON_TYPE_CASES: list[tuple[type[BaseModel], dict[str, Any], str, list[object]]] = [
    (ReserveSlotBody, SLOT, "weekday", [0, 6, 1.0, False, True, "1", 1.5, None]),
    (ReserveSlotBody, SLOT, "duration_minutes", [50, "50", True, 50.5]),
    (ErasureBody, {}, "force", [True, False, 0, 1, "true", None]),
    (
        EndRelationshipBody,
        {"reason": "other", "timezone": "UTC"},
        "cancel_future_sessions",
        [True, "true", 1],
    ),
    (CancelBody, {"requested_by": "admin", "reason": "other"}, "discretionary_refund", [True, "yes", 0]),
    (RefundBody, {"reason": "other"}, "amount_minor", [100, "100", True, 100.0, 100.5]),
    (
        AttendanceBody,
        {"outcome": "attended", "continue_sessions": "no"},
        "refund",
        [False, "false", "off", 0],
    ),
]


@pytest.mark.parametrize(
    ("model", "base", "field", "value"),
    [(model, base, field, value) for model, base, field, values in JSON_TYPE_CASES for value in values],
    ids=lambda item: repr(item) if not isinstance(item, dict | type) else "",
)
def test_booleans_and_integers_are_json_types_not_strings_or_each_other(
    model: type[BaseModel], base: dict[str, Any], field: str, value: object
) -> None:
    """Found by an independent fuzz run: ``"force": 0``, ``"cancel_future_sessions": "true"`` and
    ``"weekday": false`` were accepted (pydantic's lax mode), though the schema says boolean/integer."""
    by_schema = schema_accepts(model.__name__, field, value)
    by_model = model_accepts(model, {**base, field: value})

    assert by_schema == by_model, f"{field}={value!r}: schema {by_schema}, validator {by_model}"


def test_a_booking_reads_its_integers_and_booleans_as_the_schema_types_them() -> None:
    booking = make_booking(start=real_now()).model_dump(mode="json")
    booking.pop("connected_account_id")

    for field, value in (("amount_minor", "6000"), ("duration_minutes", True), ("client_agreed", 1)):
        assert not schema_accepts("BookSessionBody", field, value)
        assert not model_accepts(BookSessionBody, {**booking, field: value}), (field, value)
    assert model_accepts(BookSessionBody, booking)


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


def test_the_client_zone_has_no_default_a_generated_client_would_send() -> None:
    """Found by an outsider: the schema said ``default: Europe/London`` while an absent zone is the
    therapist's; a client filling in defaults would have sent London for a New York client."""
    entry = field_entry("BookSessionBody", "client_timezone")
    booking = make_booking(start=real_now()).model_dump(mode="json")
    booking.pop("connected_account_id")
    booking.pop("client_timezone")
    booking["therapist_timezone"] = "America/New_York"

    assert entry.get("default") is None
    assert BookSessionBody.model_validate_json(json.dumps(booking)).client_timezone == "America/New_York"
    with_null = {**booking, "client_timezone": None}
    assert BookSessionBody.model_validate_json(json.dumps(with_null)).client_timezone == "America/New_York"
    assert schema_accepts("BookSessionBody", "client_timezone", None)
    assert not schema_accepts("BookSessionBody", "client_timezone", "Mars/Olympus")


@pytest.mark.parametrize(
    ("spelling", "instant"),
    [
        # Go's encoding/json (RFC3339Nano) and .NET's "o" format send more than six digits.
        ("2031-06-03T10:00:00.123456789Z", "2031-06-03T10:00:00.123456+00:00"),
        ("2031-06-03T10:00:00.0000000Z", "2031-06-03T10:00:00+00:00"),
        ("2031-06-03T10:00:00.9999999+01:00", "2031-06-03T10:00:00.999999+01:00"),
        # RFC 3339 §5.6: "T" and "Z" may be lower case.
        ("2031-06-03t10:00:00z", "2031-06-03T10:00:00+00:00"),
    ],
)
def test_rfc3339_spellings_other_languages_send_are_accepted_as_the_same_instant(
    spelling: str, instant: str
) -> None:
    """Found by review: 1.0.0 accepted these; the first 1.1.0 pattern refused them (a 422)."""
    assert schema_accepts("RescheduleBody", "new_start", spelling)
    parsed = RescheduleBody.model_validate_json(json.dumps({**MOVE, "new_start": spelling})).new_start
    assert parsed.isoformat() == instant  # the fraction truncated to microseconds, never rounded up


def test_the_occurrences_query_ignores_parameters_it_does_not_know() -> None:
    """Found by review: OpenAPI cannot forbid extra query parameters (a cache-buster ``_=…``), so
    refusing one was a 422 for a schema-valid request."""
    assert OccurrencesRange.model_validate({**RANGE, "_": "1733350000"}) == OccurrencesRange.model_validate(
        RANGE
    )


def test_calendar_dates_keep_a_day_of_margin_inside_what_a_date_holds() -> None:
    """Found by review: occurrences up to 9999-12-31 overflowed in the zone arithmetic (a 500)."""
    for edge in ("0001-01-01", "9999-12-31"):
        assert not schema_accepts("OccurrencesRange", "start_date", edge)
        assert not model_accepts(OccurrencesRange, {"start_date": edge, "end_date": edge})
    assert model_accepts(OccurrencesRange, {"start_date": "9998-12-30", "end_date": "9998-12-31"})
