"""Property-based fuzzing of the OpenAPI document the API serves, with schemathesis.

Every operation in ``/openapi.json`` gets a bounded, derandomised batch of generated requests
(valid and invalid ones, with the bearer token and a fresh ``Idempotency-Key``; plus a few without
the token) sent over real HTTP to the app served by the ``api_url`` fixture, against the real dev
server and worker. Each response must not be a 5xx, must carry a documented status code and
content type, and its body must match the documented schema.

schemathesis and hypothesis are synchronous: they run in a thread (``asyncio.to_thread``) while
uvicorn serves on the test's event loop.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import hypothesis
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase
from schemathesis import GenerationMode
from schemathesis.checks import CheckFunction, not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from settings import LOCAL_API_TOKEN
from tests.workflows.support import HOUR, make_booking, real_now

pytestmark = pytest.mark.timeout(120)

MAX_EXAMPLES = 25
"""Generated requests per operation and generation mode (valid, invalid)."""
UNAUTHENTICATED_EXAMPLES = 3
"""Requests per protected operation sent without a token: the 401 must match its schema too."""
MAX_FAILURES_REPORTED = 20
AUTH = {"Authorization": f"Bearer {LOCAL_API_TOKEN}"}
ADMIN = {"Acting-Party": "admin:adm_fuzz"}

CHECKS: list[CheckFunction] = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@dataclass
class Findings:
    requests: int = 0
    statuses: dict[str, set[int]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    kinds: set[tuple[str, int, str, str]] = field(default_factory=set)

    def record(self, label: str, status: int) -> None:
        self.requests += 1
        self.statuses.setdefault(label, set()).add(status)

    def fail(self, label: str, status: int, group: FailureGroup) -> None:
        """Keep the first report of each kind of failure (operation, status, check, title)."""
        new = {(label, status, failure.code, failure.title) for failure in group.exceptions} - self.kinds
        if new and len(self.failures) < MAX_FAILURES_REPORTED:
            self.failures.append(f"{label}:\n{group}")
        self.kinds |= new


def _settings(max_examples: int) -> hypothesis.settings:
    return hypothesis.settings(
        max_examples=max_examples,
        derandomize=True,  # the same requests on every run, in CI too
        database=None,
        deadline=None,
        # Failures are collected, not raised, so there is nothing to shrink.
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )


def _headers(operation: Any, *, authenticated: bool, mode: GenerationMode) -> dict[str, str]:
    headers = dict(AUTH) if authenticated else {}
    takes_key = any(p.name == "Idempotency-Key" for p in operation.iter_parameters())
    if takes_key and mode is GenerationMode.POSITIVE:
        # A fresh key per request, so no update id is ever reused with different arguments.
        # Invalid cases keep the header the generator broke (or removed).
        headers["Idempotency-Key"] = f"fuzz-{uuid.uuid4().hex}"
    takes_party = any(p.name == "Acting-Party" for p in operation.iter_parameters())
    if takes_party and mode is GenerationMode.POSITIVE:
        # Support acting, so valid commands reach the session's rules (a random party is no party
        # of the booked session: always the 404). Invalid cases keep what the generator broke.
        headers.update(ADMIN)
    return headers


def _exercise(
    operation: Any,
    mode: GenerationMode,
    *,
    authenticated: bool,
    max_examples: int,
    base_url: str,
    session: requests.Session,
    findings: Findings,
    path_parameters: dict[str, str] | None = None,
) -> None:
    label = f"{operation.label} [{mode.value}{'' if authenticated else ', no token'}]"
    if path_parameters:
        label = f"{operation.label} [{mode.value}, a booked session]"
    strategy = operation.as_strategy(generation_mode=mode, path_parameters=path_parameters)

    @_settings(max_examples)
    @hypothesis.given(case=strategy)
    def run(case: schemathesis.Case[Any]) -> None:
        headers = _headers(operation, authenticated=authenticated, mode=mode)
        try:
            response = case.call(base_url=base_url, session=session, headers=headers, timeout=30)
        except requests.RequestException as exc:
            findings.failures.append(f"{label}: request failed: {exc!r}")
            return
        findings.record(operation.label, response.status_code)
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except FailureGroup as group:
            findings.fail(label, response.status_code, group)

    try:
        run()
    except hypothesis.errors.Unsatisfiable:
        # An operation without parameters or body (``/healthz``) has no invalid request to make.
        if mode is GenerationMode.POSITIVE:
            raise


def _book(api_url: str, session: requests.Session) -> str:
    """A real session to aim generated commands at (random ids almost never exist)."""
    body = make_booking(start=real_now() + 100 * HOUR).model_dump(mode="json")
    response = session.post(f"{api_url}/v1/sessions", json=body, headers={**AUTH, **ADMIN}, timeout=30)
    assert response.status_code == 201, response.text
    session_id: str = body["session_id"]
    return session_id


def fuzz(api_url: str) -> Findings:
    schema = schemathesis.openapi.from_url(f"{api_url}/openapi.json", timeout=10)
    findings = Findings()
    with requests.Session() as session:
        for result in schema.get_all_operations():
            # An operation schemathesis cannot read is itself a finding.
            assert isinstance(result, Ok), result
            operation = result.ok()
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                _exercise(
                    operation,
                    mode,
                    authenticated=True,
                    max_examples=MAX_EXAMPLES,
                    base_url=api_url,
                    session=session,
                    findings=findings,
                )
            if "{session_id}" in operation.path:
                # Valid requests against a live workflow: updates accepted, refused by a rule, or
                # refused because an earlier example already closed the session.
                _exercise(
                    operation,
                    GenerationMode.POSITIVE,
                    authenticated=True,
                    max_examples=MAX_EXAMPLES,
                    base_url=api_url,
                    session=session,
                    findings=findings,
                    path_parameters={"session_id": _book(api_url, session)},
                )
            if operation.definition.raw.get("security"):
                _exercise(
                    operation,
                    GenerationMode.POSITIVE,
                    authenticated=False,
                    max_examples=UNAUTHENTICATED_EXAMPLES,
                    base_url=api_url,
                    session=session,
                    findings=findings,
                )
    return findings


async def test_every_documented_operation_survives_fuzzing_and_answers_as_documented(api_url: str) -> None:
    findings = await asyncio.to_thread(fuzz, api_url)

    assert not findings.failures, "\n\n".join(findings.failures)
    # Guard against a vacuous pass: every operation was exercised, most of them many times.
    assert len(findings.statuses) >= 8, findings.statuses
    assert findings.requests >= 8 * MAX_EXAMPLES, findings.requests
    assert any(401 in statuses for statuses in findings.statuses.values())
    assert any(422 in statuses for statuses in findings.statuses.values())
    assert any(409 in statuses for statuses in findings.statuses.values())
    assert 200 in findings.statuses["POST /v1/sessions/{session_id}/cancel"]


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


async def test_a_discretionary_refund_asked_by_the_client_is_malformed_not_a_server_error(
    http: httpx.AsyncClient,
) -> None:
    """Found by fuzzing: a rule across the command's fields raised inside the route (500)."""
    cancelled = await http.post(
        "/v1/sessions/ses_any/cancel",
        json={"requested_by": "client", "reason": "client_request", "discretionary_refund": True},
        headers={"Idempotency-Key": f"fuzz-{uuid.uuid4().hex}", "Acting-Party": "client:cli_any"},
    )

    assert cancelled.status_code == 422 and cancelled.json()["code"] == "validation_error"


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
