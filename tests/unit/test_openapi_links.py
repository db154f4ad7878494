"""The served document's links name real operations and parameters, and reach every session and
therapist route: from a booking, and from each of a therapist's routes to the others."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis

from api.app import create_app

EXPRESSION = re.compile(r"\$(request|response)\.(path|header|query|body)[.#]/?([A-Za-z0-9_-]+)")
"""A runtime expression, alone or embedded (``client:{$request.body#/client_id}``)."""


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return create_app().openapi()


def _operations(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {op["operationId"]: op for path in document["paths"].values() for op in path.values()}


def _paths(document: dict[str, Any]) -> dict[str, str]:
    return {op["operationId"]: path for path, ops in document["paths"].items() for op in ops.values()}


def _links(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for operation_id, operation in _operations(document).items():
        for status, response in operation["responses"].items():
            for link in response.get("links", {}).values():
                yield operation_id, status, link


def _parameters(operation: dict[str, Any], location: str) -> set[str]:
    return {p["name"] for p in operation.get("parameters", []) if p["in"] == location}


def _properties(document: dict[str, Any], schema: dict[str, Any]) -> set[str]:
    name = schema["$ref"].rsplit("/", 1)[-1]
    return set(document["components"]["schemas"][name]["properties"])


def _body_schema(holder: dict[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = holder["content"]["application/json"]["schema"]
    return schema


def test_every_link_names_a_real_operation_and_fills_its_real_parameters(document: dict[str, Any]) -> None:
    operations = _operations(document)
    links = list(_links(document))

    assert len(links) > 50, len(links)
    for source_id, status, link in links:
        source, target = operations[source_id], operations[link["operationId"]]
        filled = set()
        for qualified, expression in link["parameters"].items():
            location, _, name = qualified.rpartition(".")
            assert name in _parameters(target, location or "path"), (
                source_id,
                link["operationId"],
                qualified,
            )
            filled.add(name)
            # Each value is read from something the source's request or answer really has.
            for side, place, field in EXPRESSION.findall(expression):
                if side == "response":
                    known = _properties(document, _body_schema(source["responses"][status]))
                elif place == "body":
                    known = _properties(document, _body_schema(source["requestBody"]))
                else:
                    known = _parameters(source, place)
                assert field in known, (source_id, link["operationId"], expression)
            assert EXPRESSION.search(expression), expression
        assert _parameters(target, "path") <= filled, (source_id, link["operationId"])


def test_a_booking_leads_to_every_session_and_therapist_route(document: dict[str, Any]) -> None:
    paths = _paths(document)
    acting_on = {op for op, path in paths.items() if path.startswith(("/v1/sessions/", "/v1/therapists/"))}
    for status in ("201", "200"):
        from_booking = {
            link["operationId"]
            for source, code, link in _links(document)
            if source == "bookSession" and code == status
        }
        assert acting_on | {"eraseClient"} == from_booking, status


def test_each_therapist_route_leads_to_the_therapists_other_routes(document: dict[str, Any]) -> None:
    paths = _paths(document)
    practice = {
        op for op, path in paths.items() if path.startswith("/v1/therapists/") and "{client_id}" not in path
    }
    for source in {op for op, path in paths.items() if path.startswith("/v1/therapists/")}:
        targets = {link["operationId"] for op, _, link in _links(document) if op == source}
        assert practice - {source} <= targets, source


def test_the_document_is_valid_openapi_3_1_and_its_links_make_a_state_machine(
    document: dict[str, Any],
) -> None:
    schema = schemathesis.openapi.from_dict(document)

    assert document["openapi"].startswith("3.1")
    schema.validate()  # the OpenAPI 3.1 meta-schema
    machine = schema.as_state_machine()  # raises on a link naming an unknown operation or parameter
    assert machine.root_rules


def test_the_document_with_links_is_built_once(document: dict[str, Any]) -> None:
    app = create_app()

    assert app.openapi() is app.openapi()
    assert "links" in app.openapi()["paths"]["/v1/sessions"]["post"]["responses"]["201"]
