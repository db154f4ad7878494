"""Every operation with a request body shows examples (issue 16, polish), and every example is a
request the server takes: valid for the body's model (cross-field rules included) and for the
schema the app serves — so a developer copying one never meets a 422."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Any

import jsonschema_rs
import pytest
from pydantic import BaseModel

from api.app import create_app
from api.cross_field import build
from api.models import (
    AttendanceBody,
    BookSessionBody,
    CancelBody,
    EndRelationshipBody,
    NoShowBody,
    PaymentAccountBody,
    PaymentMethodBody,
    RefundBody,
    RescheduleBody,
    ReserveSlotBody,
)
from api.routes.codec import CodecPayloads
from api.routes.ops import ErasureBody
from domain.acting import ActingParty
from domain.attendance import AttendanceUpdate
from domain.booking import SessionBooking
from domain.status import Actor

MODELS: dict[str, type[BaseModel]] = {
    model.__name__: model
    for model in (
        AttendanceBody,
        BookSessionBody,
        CancelBody,
        CodecPayloads,
        EndRelationshipBody,
        ErasureBody,
        NoShowBody,
        PaymentAccountBody,
        PaymentMethodBody,
        RefundBody,
        RescheduleBody,
        ReserveSlotBody,
    )
}
STRIPE_EVENT = "receiveStripeWebhook"
"""Its body is Stripe's own event, documented by Stripe: not one of ours."""


@cache
def document() -> dict[str, Any]:
    return create_app().openapi()


def bodies() -> list[tuple[str, str]]:
    """(operationId, the body's schema name) of every operation that takes a JSON body."""
    found = []
    for item in document()["paths"].values():
        for op in item.values():
            schema = (
                op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
            )
            if op["operationId"] != STRIPE_EVENT and "$ref" in schema:
                found.append((op["operationId"], schema["$ref"].rsplit("/", 1)[1]))
    return found


def examples(schema_name: str) -> list[dict[str, Any]]:
    return list(document()["components"]["schemas"][schema_name].get("examples", []))


def test_every_body_is_one_of_the_models_checked_here() -> None:
    assert len(bodies()) >= 15
    assert {name for _, name in bodies()} == set(MODELS)


@pytest.mark.parametrize(("operation_id", "schema_name"), bodies())
def test_every_example_is_accepted_by_the_model_and_the_served_schema(
    operation_id: str, schema_name: str
) -> None:
    # The schema in the document, its $refs resolved against the document's components.
    validator = jsonschema_rs.validator_for(
        {"$ref": f"#/components/schemas/{schema_name}", "components": document()["components"]},
        validate_formats=True,
    )
    shown = examples(schema_name)

    assert shown, f"{operation_id}: no request example"
    for example in shown:
        assert validator.is_valid(example), (operation_id, example)
        MODELS[schema_name].model_validate(example)


def test_the_booking_and_attendance_examples_pass_the_rules_across_their_fields() -> None:
    for example in examples("BookSessionBody"):
        build(SessionBooking, **BookSessionBody.model_validate(example).model_dump())
    therapist = ActingParty(role=Actor.THERAPIST, id="thr_1")
    for example in examples("AttendanceBody"):
        body = AttendanceBody.model_validate(example).model_dump()
        # As the route builds it: the acting therapist files it.
        fields = {**body, "submitted_by": Actor.THERAPIST}
        build(AttendanceUpdate, **fields, received_at=datetime.now(UTC), acting_party=therapist)
