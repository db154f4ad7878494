"""Property-based fuzzing of the OpenAPI document the API serves, with schemathesis's engine.

Every operation in ``/openapi.json`` goes through the coverage phase (boundary and near-boundary
values of every constraint the document states, valid and invalid) and the fuzzing phase
(generated valid and invalid requests), derandomised and bounded, over real HTTP to the app served
by the ``api_url`` fixture, against the real dev server and worker. Every schemathesis check is on:
no 5xx; documented statuses, content types, headers and bodies; a schema-valid request is never
refused as malformed (``positive_data_acceptance``) and a schema-invalid one never accepted
(``negative_data_rejection``); a missing required header, an unsupported method or a request
without the token is refused. The stateful phase is not run here.

schemathesis is synchronous: the engine runs in a thread (``asyncio.to_thread``) while uvicorn
serves on the test's event loop.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import events, from_schema
from schemathesis.engine.recorder import CheckFailureInfo, ScenarioRecorder
from schemathesis.schemas import BaseSchema

from settings import LOCAL_API_TOKEN
from tests.workflows.support import HOUR, make_booking, real_now

pytestmark = pytest.mark.timeout(240)

MAX_EXAMPLES = 50
"""Generated requests per operation and generation mode in the fuzzing phase."""
SEED = 16
AUTH = {"Authorization": f"Bearer {LOCAL_API_TOKEN}"}
ADMIN = {"Acting-Party": "admin:adm_fuzz"}

SCHEMA_VALID_OUTCOMES = ["2xx", 401, 404, 409]
"""What a schema-valid request may get: done, unknown id (or none of the acting party's), a rule's
refusal (a documented business outcome, with its ``code``), an erased client. Never 422."""

GENERATION: dict[str, Any] = {
    "mode": "all",  # valid and invalid requests
    "max-examples": MAX_EXAMPLES,
    "deterministic": True,  # the same requests on every run, in CI too
    "no-shrink": True,  # failures are collected, not minimised
}
CONFIG: dict[str, Any] = {
    "seed": SEED,
    "max-failures": 200,
    "request-timeout": 30,
    "auth": {"openapi": {"HTTPBearer": {"bearer": LOCAL_API_TOKEN}}},
    "generation": GENERATION,
    "phases": {
        "examples": {"enabled": True},
        "coverage": {"enabled": True},
        "fuzzing": {"enabled": True},
        "stateful": {"enabled": False},
    },
    "checks": {
        "enabled": True,
        "positive_data_acceptance": {"expected-statuses": SCHEMA_VALID_OUTCOMES},
    },
}


LIVE_SESSION_PATHS = r"\{session_id\}"
"""The second run aims valid requests at a booked session, as an admin, so commands reach its
workflow's rules (random ids are unknown: the 404)."""


@dataclass
class Figures:
    operations: set[str] = field(default_factory=set)
    cases: int = 0
    checks: int = 0
    statuses: dict[str, set[int]] = field(default_factory=dict)
    check_names: set[str] = field(default_factory=set)
    failures: list[str] = field(default_factory=list)
    by_check: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    _kinds: set[tuple[str, str, str]] = field(default_factory=set)

    def summary(self) -> str:
        return (
            f"schemathesis: {len(self.operations)} operations, {self.cases} cases sent, "
            f"{self.checks} checks run ({len(self.check_names)} kinds: "
            f"{', '.join(sorted(self.check_names))}), "
            f"{len(self.failures)} failures {dict(self.by_check)}"
        )

    def read(self, recorder: ScenarioRecorder) -> None:
        """Count one scenario's requests and checks; keep the first report of each kind of failure."""
        for case_id, case in recorder.cases.items():
            operation = case.value.operation.label
            self.operations.add(operation)
            interaction = recorder.interactions.get(case_id)
            if interaction is not None and interaction.response is not None:
                self.cases += 1
                self.statuses.setdefault(operation, set()).add(interaction.response.status_code)
            for check in recorder.checks.get(case_id, []):
                self.checks += 1
                self.check_names.add(check.name)
                if check.failure_info is not None:
                    self._fail(operation, check.name, check.failure_info)

    def _fail(self, operation: str, check: str, info: CheckFailureInfo) -> None:
        kind = (operation, check, info.failure.title)
        if kind not in self._kinds:
            self._kinds.add(kind)
            self.by_check[check] += 1
            self.failures.append(
                f"{operation} [{check}] {info.failure.title}\n{info.failure.message}\n{info.code_sample}"
            )


def run(api_url: str, config: dict[str, Any], figures: Figures, *, path_regex: str | None = None) -> None:
    schema: BaseSchema = schemathesis.openapi.from_url(
        f"{api_url}/openapi.json", config=SchemathesisConfig.from_dict(config), timeout=10
    )
    if path_regex is not None:
        schema = schema.include(path_regex=path_regex)
    for event in from_schema(schema).execute():
        if isinstance(event, events.NonFatalError | events.FatalError):
            figures.errors.append(repr(event))
        elif isinstance(event, events.ScenarioFinished | events.FuzzScenarioFinished):
            figures.read(event.recorder)


def _book(api_url: str) -> str:
    """A real session to aim the second run's commands at."""
    body = make_booking(start=real_now() + 100 * HOUR).model_dump(mode="json")
    response = httpx.post(f"{api_url}/v1/sessions", json=body, headers={**AUTH, **ADMIN}, timeout=30)
    assert response.status_code == 201, response.text
    session_id: str = body["session_id"]
    return session_id


def fuzz(api_url: str) -> Figures:
    figures = Figures()
    run(api_url, CONFIG, figures)
    live = {
        **CONFIG,
        "generation": {**GENERATION, "mode": "positive"},
        "parameters": {"path.session_id": _book(api_url), "header.Acting-Party": ADMIN["Acting-Party"]},
    }
    run(api_url, live, figures, path_regex=LIVE_SESSION_PATHS)
    return figures


async def test_every_documented_operation_survives_fuzzing_and_answers_as_documented(api_url: str) -> None:
    figures = await asyncio.to_thread(fuzz, api_url)
    print(figures.summary())  # noqa: T201 - the figures a reader of `pytest -s` wants

    assert not figures.errors, figures.errors
    assert not figures.failures, "\n\n".join(figures.failures)
    # Guard against a vacuous pass: every operation was exercised, and answered in every way.
    assert len(figures.operations) >= 28, figures.operations
    assert figures.cases >= 28 * MAX_EXAMPLES, figures.cases
    every_kind = {"positive_data_acceptance", "negative_data_rejection", "missing_required_header"}
    every_kind |= {"unsupported_method", "ignored_auth", "allow_header_conformance", "not_a_server_error"}
    assert every_kind <= figures.check_names, figures.check_names
    answered = set().union(*figures.statuses.values())
    assert {200, 401, 404, 405, 409, 422} <= answered, answered
    assert 200 in figures.statuses["POST /v1/sessions/{session_id}/cancel"], figures.statuses


async def test_instants_that_overflow_utc_are_refused_not_a_server_error(http: httpx.AsyncClient) -> None:
    """Found by fuzzing: ``0001-01-01T00:00:00+14:00`` parses, but every rule compares in UTC."""
    booking = make_booking(start=real_now() + 100 * HOUR).model_dump(mode="json")
    booked = await http.post("/v1/sessions", json=booking)
    session = f"/v1/sessions/{booking['session_id']}"
    key = {"Idempotency-Key": f"fuzz-{uuid.uuid4().hex}"}

    for instant in ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"):
        book = await http.post(
            "/v1/sessions", json={**booking, "session_id": f"ses_{uuid.uuid4().hex}", "start": instant}
        )
        move = await http.post(
            f"{session}/reschedule", json={"requested_by": "client", "new_start": instant}, headers=key
        )
        attend = await http.post(
            f"{session}/attendance",
            json={"outcome": "attended", "continue_sessions": "different_time", "new_start": instant},
            headers=key,
        )

        assert [book.status_code, move.status_code, attend.status_code] == [422, 422, 422], instant
        assert book.json()["fields"][0]["location"] == ["body", "start"]
    assert booked.status_code == 201


async def test_a_discretionary_refund_asked_by_the_client_is_a_rules_refusal_not_a_server_error(
    http: httpx.AsyncClient,
) -> None:
    """Found by fuzzing: a rule across the command's fields raised inside the route (500); then, with
    every check on, its 422 refused a body the OpenAPI allows. JSON Schema cannot say it (the filer
    is the Acting-Party): a rule's 409, documented on the field."""
    cancelled = await http.post(
        "/v1/sessions/ses_any/cancel",
        json={"requested_by": "client", "reason": "client_request", "discretionary_refund": True},
        headers={"Idempotency-Key": f"fuzz-{uuid.uuid4().hex}", "Acting-Party": "client:cli_any"},
    )

    assert cancelled.status_code == 409 and cancelled.json()["code"] == "invalid_combination"
    assert cancelled.json()["message"].startswith("only a therapist or admin")


async def test_framework_errors_use_the_documented_error_body(api_url: str) -> None:
    """Found by fuzzing: the 401 and an unparseable body answered FastAPI's ``{"detail": …}``."""
    async with httpx.AsyncClient(base_url=api_url) as anonymous:
        unauthenticated = await anonymous.get("/v1/sessions/ses_any")
        not_utf8 = await anonymous.post(
            "/v1/sessions",
            content=b"\xff\xfe",
            headers={**AUTH, "Content-Type": "application/json"},
        )

    assert unauthenticated.status_code == 401
    assert unauthenticated.json() == {"code": "unauthorized", "message": "a valid bearer token is required"}
    assert unauthenticated.headers["WWW-Authenticate"] == "Bearer"
    assert not_utf8.status_code == 422 and not_utf8.json()["code"] == "validation_error"


async def test_a_schema_valid_attendance_update_a_rule_refuses_is_a_409_naming_the_rule(
    http: httpx.AsyncClient,
) -> None:
    """Found by the fuzzer's positive_data_acceptance: `different_time` without `new_start` is a body
    the OpenAPI allows (JSON Schema cannot tie the two), refused as malformed (422)."""
    booking = make_booking(start=real_now() + 100 * HOUR).model_dump(mode="json")
    await http.post("/v1/sessions", json=booking)
    filed = await http.post(
        f"/v1/sessions/{booking['session_id']}/attendance",
        json={"outcome": "attended", "continue_sessions": "different_time", "client_agreed": True},
        headers={"Idempotency-Key": f"fuzz-{uuid.uuid4().hex}"},
    )

    assert filed.status_code == 409, filed.text
    assert filed.json()["code"] == "new_start_required"
    assert filed.json()["message"].startswith("new_start: ")


async def test_a_method_the_path_does_not_serve_names_every_method_it_does(http: httpx.AsyncClient) -> None:
    """Found by allow_header_conformance: GET and PUT …/payment-account are two routes, and the 405
    named only the first one's methods."""
    refused = await http.request("OPTIONS", "/v1/therapists/thr_1/payment-account")
    codec = await http.request("DELETE", "/codec/encode")

    assert refused.status_code == 405 and codec.status_code == 405
    assert {"GET", "PUT"} <= set(refused.headers["Allow"].split(", "))
    assert refused.json()["code"] == "method_not_allowed"
    assert codec.headers["Allow"] == "POST"
