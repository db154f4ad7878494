"""The OpenAPI's words serve a backend developer who has only the document (issue 16, polish):
no pointer at what they cannot see (the repo's README, its modules, its command line), the codes
the server really answers, and the rules a client needs to write requests that are accepted."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from typing import Any

import pytest

from api.app import create_app

INTERNAL = (
    "README",
    "rule 2",
    "rule 3",
    "domain/",
    "domain.",
    "``SessionBooking``",
    "`sessionflow ",
    "SESSIONFLOW_",
    ".py`",
)
"""What an API consumer cannot look up: the repo's README and its numbered rules, module paths,
model names of the server's code, its command-line tool, its environment variables."""


@cache
def document() -> dict[str, Any]:
    return create_app().openapi()


def descriptions(node: Any, where: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("description", "summary") and isinstance(value, str):
                yield f"{where}/{key}", value
            else:
                yield from descriptions(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from descriptions(value, f"{where}[{index}]")


def operation(operation_id: str) -> dict[str, Any]:
    for item in document()["paths"].values():
        for op in item.values():
            if op.get("operationId") == operation_id:
                return dict(op)
    raise KeyError(operation_id)


def test_no_description_points_at_what_a_consumer_cannot_see() -> None:
    leaks = [(where, word) for where, text in descriptions(document()) for word in INTERNAL if word in text]
    assert not leaks


@pytest.mark.parametrize("operation_id", ["rescheduleSession", "cancelSession"])
def test_a_higher_requested_by_is_documented_as_the_409_the_server_answers(operation_id: str) -> None:
    body = operation(operation_id)["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    field = document()["components"]["schemas"][body.rsplit("/", 1)[1]]["properties"]["requested_by"]
    texts = [operation(operation_id)["description"], field["description"]]

    assert all("`422`" not in text for text in texts)
    assert all("409 submitter_not_allowed" in text for text in texts)


def test_a_therapist_routes_404_speaks_of_the_therapist_not_of_a_session() -> None:
    for path, item in document()["paths"].items():
        if path.startswith("/v1/therapists/"):
            for op in item.values():
                not_found = op["responses"]["404"]["description"]
                assert "session" not in not_found and "therapist" in not_found, (path, not_found)


@pytest.mark.parametrize("schema", ["ReserveSlotBody", "PaymentAccountBody", "EndRelationshipBody"])
def test_the_practice_zone_says_when_it_is_used_and_where_it_is_kept(schema: str) -> None:
    text = document()["components"]["schemas"][schema]["properties"]["timezone"]["description"]

    assert "first" in text and "therapist_timezone" in text and "ignored" in text


def test_the_booking_says_its_session_id_is_its_idempotency_key() -> None:
    text = operation("bookSession")["description"]

    assert "`session_id` is the booking's key" in text
    assert "`200` with `created: false`" in text and "`201`" in text


def test_a_reused_idempotency_key_is_said_to_be_a_new_request() -> None:
    key = next(p for p in operation("cancelSession")["parameters"] if p["name"] == "Idempotency-Key")
    info = document()["info"]["description"]

    assert "it is a new request" in key["description"]
    assert "simply a new request" in info  # request_id_reused is not its answer


def test_who_books_which_kind_is_stated_on_the_kind() -> None:
    schemas = document()["components"]["schemas"]
    texts = [
        schemas["BookingKind"]["description"],
        schemas["BookSessionBody"]["properties"]["kind"]["description"],
    ]

    for text in (" ".join(text.split()) for text in texts):  # a docstring's line breaks aside
        assert "the client books `initial_prepaid` and `client_follow_up`" in text.lower()
        assert "`therapist_follow_up` and `therapist_manual`" in text


def test_the_horizon_and_the_manual_backdating_are_stated_in_days() -> None:
    start = document()["components"]["schemas"]["BookSessionBody"]["properties"]["start"]["description"]

    assert "366 days" in start and "start_too_far" in start
    assert "14 days" in start and "start_too_far_back" in start
