"""schemathesis' stateful phase over the served OpenAPI, following its links, with every check on.

The state machine comes from the document alone (``schema.as_state_machine()``, link inference
off, so only the document's own links lead on): a booking leads to every route acting on its
session, its therapist's and its client's routes; a therapist's route to the therapist's others.
It runs over real HTTP against the app served by ``api_url`` (real dev server, real worker, the
Stripe stand-in), in a thread (``asyncio.to_thread``) while uvicorn serves on the test's loop.

Every built-in check is on, "schema-valid request rejected" (``positive_data_acceptance``)
included: a valid request may be refused only by a documented rule (``404``, ``409``),
never as malformed (``422``). Failures are collected, not raised, so one run reports them all.

What the harness adds to each generated request, and why:
- the bearer token, and on valid commands a fresh ``Idempotency-Key`` (a repeated key with
  another body is a different request by contract);
- the acting party, chosen to fit the body and never by rewriting it. The body may ask for a
  role (``submitted_by`` is the sender's role, ``requested_by`` never above it, a discretionary
  refund is granted by a therapist or an admin): a rule between a header and the body that JSON
  Schema cannot state, which a real caller keeps as the harness does. A link carries the
  booking's own client or therapist for the route it leads to, and that party is kept when it is
  the session's and fits; otherwise the session's own party in the role the body asks, or an
  admin (support acting) — a party the generator made up is no party of any session, so always
  the ``404``. A therapist's practice is acted on by that therapist, admin-only routes (dispute
  evidence, erasure) by an admin, and a booking is made by its own therapist;
- this run's own ids: every id a valid request names ends with the run's tag, and a session's
  route names a session this run booked (``_own_ids``), so no workflow another test left on a
  stopped worker's task queue is ever asked;
- a valid Stripe signature on the webhook (an HMAC of the exact body, which no schema can give);
- a budget: an operation called twice in a scenario is not led to again in it, so a scenario's
  steps spread over the document rather than the therapist's cheap reads, linked nine ways;
- besides schemathesis' own roots, two more: a booking as the marketplace makes one (a
  follow-up next week, and one that took place an hour ago, awaiting its attendance update), so
  each scenario's links reach sessions in both states; and the operations no link leads to
  (health, codec, the webhook), so the run covers the whole document.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import hypothesis
import pytest
import requests
import schemathesis
import stripe
from hypothesis import HealthCheck, Phase
from hypothesis import strategies as st
from hypothesis.errors import Flaky
from hypothesis.stateful import Bundle, get_state_machine_test, precondition, rule
from requests.structures import CaseInsensitiveDict
from schemathesis import GenerationMode
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Ok
from schemathesis.core.transport import Response
from schemathesis.generation.meta import TestPhase
from schemathesis.generation.stateful.control import TransitionController
from schemathesis.generation.stateful.state_machine import StepInput, StepOutput

from api.app import create_app
from domain.status import BookingKind
from settings import LOCAL_API_TOKEN, Settings
from tests.workflows.support import HOUR, make_booking, real_now

pytestmark = pytest.mark.timeout(240)

ROUNDS = 6
"""Runs of the state machine, each with its own fixed seed (derandomised: the same every time)."""
SCENARIOS = 10
"""Scenarios (hypothesis examples) per round."""
STEPS = 30
"""Steps per scenario, at most."""
CALLS_PER_OPERATION = 2
"""Calls of one operation in a scenario after which no link or root leads to it any more, so a
scenario's steps spread over the document (a therapist's routes link to each other, nine ways)."""
MAX_FAILURES_REPORTED = 20
AUTH = {"Authorization": f"Bearer {LOCAL_API_TOKEN}"}
ADMIN = "admin:adm_fuzz"
ADMIN_ONLY = {"getDisputeEvidence", "eraseClient"}
RANK = {"client": 0, "therapist": 1, "admin": 2}
SCHEMA_VALID_OUTCOMES = ["2xx", "404", "409"]
"""A valid request may be refused only by a documented rule, never as malformed."""
CONFIG = {
    "checks": {"positive_data_acceptance": {"expected-statuses": SCHEMA_VALID_OUTCOMES}},
    # Only the document's links: the run shows what a client of the document can follow.
    "phases": {"stateful": {"inference": {"algorithms": []}}},
}


@dataclass
class Findings:
    steps: int = 0
    scenarios: int = 0
    rounds_cut_short: int = 0
    tag: str = field(default_factory=lambda: f"_{uuid.uuid4().hex[:8]}")
    """Ends every id this run's valid requests name (see ``_own_ids``)."""
    statuses: dict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    checks: Counter[tuple[str, str]] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    kinds: set[tuple[str, int, str, str]] = field(default_factory=set)
    parties: dict[str, dict[str, str]] = field(default_factory=dict)
    """Each booked session's own parties by role (``client`` → ``client:cli_…``)."""

    def fail(self, label: str, status: int, group: FailureGroup) -> None:
        """Keep the first report of each kind of failure (operation, status, check, title)."""
        new = {(label, status, failure.code, failure.title) for failure in group.exceptions} - self.kinds
        if new and len(self.failures) < MAX_FAILURES_REPORTED:
            self.failures.append(f"{label} → {status}:\n{group}")
        self.kinds |= new

    def report(self) -> str:
        lines = [
            f"stateful: {ROUNDS} rounds ({self.rounds_cut_short} cut short by a replay), "
            f"{self.scenarios} scenarios, {self.steps} steps"
        ]
        for label, statuses in sorted(self.statuses.items()):
            lines.append(f"  {label}: {sum(statuses.values())} calls {dict(sorted(statuses.items()))}")
        by_check: dict[str, Counter[str]] = defaultdict(Counter)
        for (name, outcome), count in self.checks.items():
            by_check[name][outcome] += count
        lines.append("checks: " + ", ".join(f"{n} {dict(c)}" for n, c in sorted(by_check.items())))
        lines.append(f"failures: {len(self.kinds)} kinds")
        lines.extend(f"  {label} → {status}: {title}" for label, status, _, title in sorted(self.kinds))
        return "\n".join(lines)


def _role(party: str) -> str:
    return party.split(":", 1)[0]


def _least_role(body: Any) -> tuple[str, bool]:
    """The role the body asks of its sender, and whether exactly that one: ``submitted_by`` names
    the sender's role; ``requested_by`` is never above it, and only a therapist or an admin grants
    a discretionary refund."""
    if not isinstance(body, dict):
        return "client", False
    if body.get("submitted_by") in RANK:
        return str(body["submitted_by"]), True
    floor = [str(body["requested_by"])] if body.get("requested_by") in RANK else []
    if body.get("discretionary_refund"):
        floor.append("therapist")
    return max(floor, key=RANK.__getitem__, default="client"), False


def _party_for(case: schemathesis.Case[Any], findings: Findings) -> str:
    """Who acts on this valid request (see the module's docstring): never a rewritten body."""
    operation_id = case.operation.definition.raw["operationId"]
    path = case.path_parameters or {}
    if operation_id in ADMIN_ONLY:
        return ADMIN
    if operation_id == "bookSession" and isinstance(case.body, dict):
        return f"therapist:{case.body.get('therapist_id')}"
    if "therapist_id" in path:
        return f"therapist:{path['therapist_id']}"
    # A session's route: the link's party when it is the session's own and may send this body.
    parties = findings.parties.get(str(path.get("session_id")), {})
    drawn = str(case.headers.get("Acting-Party", "")) if case.headers else ""
    role, exactly = _least_role(case.body)
    rank = RANK.get(_role(drawn), -1)
    fits = rank == RANK[role] if exactly else rank >= RANK[role]
    if drawn in parties.values() and fits:
        return drawn
    if role == "admin" or (role == "client" and not exactly):
        return ADMIN
    # That role's party of the session; of an unknown session, any party in that role (its 404).
    return parties.get(role, f"{role}:{role[:3]}_fuzz")


OWN_IDS = ("therapist_id", "client_id", "session_id", "previous_session_id")


def _own_ids(case: schemathesis.Case[Any], findings: Findings) -> None:
    """The ids a valid request names become this run's own (``0`` → ``0_1a2b3c4d``), as every
    test books with unique ids: workflow ids are global on the dev server, and a workflow another
    test left on its task queue (its worker stopped) would never answer. A session's route names
    a session this run booked (the last one, when the generator drew another id): a tagged id
    nobody booked would be a 404 schemathesis reads as the booking's resource gone missing."""
    tag = findings.tag

    def own(values: dict[str, Any]) -> dict[str, Any]:
        owned = {
            name: value[: 64 - len(tag)] + tag
            if name in OWN_IDS and isinstance(value, str) and not value.endswith(tag)
            else value
            for name, value in values.items()
        }
        return owned

    path = case.path_parameters or {}
    if path:
        owned = own(path)
        if "session_id" in owned and owned["session_id"] not in findings.parties and findings.parties:
            owned["session_id"] = next(reversed(findings.parties))
        if owned != path:  # a value changed here counts as the link's own to schemathesis
            case.path_parameters = owned
    if isinstance(case.body, dict):
        body = own(case.body)
        if body != case.body:
            case.body = body


def _sign_webhook(case: schemathesis.Case[Any], headers: dict[str, str], secret: str) -> None:
    # Signed over exactly the bytes requests sends for ``json=body`` (the stdlib's dumps).
    raw = json.dumps(case.body, allow_nan=False)
    headers["Stripe-Signature"] = str(stripe.WebhookSignature.generate_signature_header(raw, secret))


def _prepare(case: schemathesis.Case[Any], findings: Findings, webhook_secret: str) -> None:
    # The token first: schemathesis labels the case again once it changed (``case.meta``), and a
    # case generated as invalid whose only change was harmless (an extra header) is then valid.
    case.headers = CaseInsensitiveDict({**dict(case.headers or {}), **AUTH})
    meta = case.meta
    if meta is not None and meta.generation.mode is not GenerationMode.POSITIVE:
        return  # invalid cases keep what the generator broke (a header, a body field)
    _own_ids(case, findings)
    headers = dict(case.headers)
    names = {p.name for p in case.operation.iter_parameters()}
    if "Idempotency-Key" in names:
        headers["Idempotency-Key"] = f"fuzz-{uuid.uuid4().hex}"
    if "Acting-Party" in names:
        headers["Acting-Party"] = _party_for(case, findings)
    if "Stripe-Signature" in names:
        _sign_webhook(case, headers, webhook_secret)
    case.headers = CaseInsensitiveDict(headers)


def _booking_bodies() -> st.SearchStrategy[dict[str, Any]]:
    """Bookings as the marketplace makes them: ahead, or one that took place an hour ago."""

    def body(took_place: bool) -> dict[str, Any]:
        if took_place:
            booking = make_booking(BookingKind.THERAPIST_MANUAL, start=real_now() - HOUR, client_agreed=True)
        else:
            booking = make_booking(start=real_now() + 7 * 24 * HOUR)
        return booking.model_dump(mode="json", exclude_none=True)

    return st.booleans().map(body)


def machine_for(
    api_url: str, session: requests.Session, findings: Findings, webhook_secret: str
) -> type[Any]:
    config = SchemathesisConfig.from_dict(CONFIG)
    schema = schemathesis.openapi.from_url(f"{api_url}/openapi.json", config=config, timeout=10)
    operations = {}
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result  # an operation schemathesis cannot read is a finding
        operations[result.ok().definition.raw["operationId"]] = result.ok()
    base = schema.as_state_machine()
    linked = _linked(schema.raw_schema)
    unlinked = [op for operation_id, op in operations.items() if operation_id not in linked]
    booking = operations["bookSession"]

    def cases(operation: Any) -> st.SearchStrategy[schemathesis.Case[Any]]:
        modes = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
        return st.one_of(
            [operation.as_strategy(generation_mode=mode, phase=TestPhase.STATEFUL) for mode in modes]
        )

    def on_checked(_: Any, case: schemathesis.Case[Any], __: Any, results: list[Any]) -> None:
        for result in results:
            findings.checks[(result.name, "failed" if result.failure else "passed")] += 1

    schema.hooks.register_hook_with_name(on_checked, "after_validate")

    class Budgeted(TransitionController):
        # Counted per scenario: a budget across scenarios would make a replayed scenario choose
        # differently, which hypothesis rejects as flaky.
        def __init__(self, *args: Any) -> None:
            super().__init__(*args)
            self.calls: Counter[str] = Counter()

        def allow_transition(self, source: str, target: str) -> bool:
            return self.calls[target] < CALLS_PER_OPERATION and super().allow_transition(source, target)

        def allow_root_transition(self, source: str, bundles: dict[str, Any]) -> bool:
            allowed = super().allow_root_transition(source, bundles)
            return self.calls[source] < CALLS_PER_OPERATION and allowed

    class Stateful(base):  # type: ignore[misc, valid-type]
        def setup(self) -> None:
            findings.scenarios += 1
            self.control: Budgeted = Budgeted(self._transitions, self._root_labels)

        @precondition(lambda self: self.control.calls[booking.label] < 2 * CALLS_PER_OPERATION)
        @rule(
            target=Bundle("catch_all"),
            case=_booking_bodies().flatmap(
                lambda body: booking.as_strategy(
                    generation_mode=GenerationMode.POSITIVE, phase=TestPhase.STATEFUL, body=body
                )
            ),
        )
        def book_as_the_marketplace_does(self, case: schemathesis.Case[Any]) -> StepOutput:
            return self._root(case)

        if unlinked:

            @precondition(
                lambda self: (
                    sum(self.control.calls[op.label] for op in unlinked) < CALLS_PER_OPERATION * len(unlinked)
                )
            )
            @rule(
                target=Bundle("catch_all"),
                case=st.sampled_from(unlinked).flatmap(cases),
            )
            def call_an_operation_no_link_leads_to(self, case: schemathesis.Case[Any]) -> StepOutput:
                return self._root(case)

        def _root(self, case: schemathesis.Case[Any]) -> StepOutput:
            # As schemathesis' own roots do: recorded, so links from its answer find their parent.
            step = StepInput.initial(case)
            self.recorder.record_case(case=case)
            self.control.record_step(step, self.recorder)
            output: StepOutput = self.step(step)
            return output

        def before_call(self, case: schemathesis.Case[Any]) -> None:
            _prepare(case, findings, webhook_secret)

        def get_call_kwargs(self, case: schemathesis.Case[Any]) -> dict[str, Any]:
            return {"base_url": api_url, "session": session, "timeout": 30}

        def after_call(self, response: Response, case: schemathesis.Case[Any]) -> None:
            super().after_call(response, case)
            findings.steps += 1
            operation_id = case.operation.definition.raw["operationId"]
            findings.statuses[operation_id][response.status_code] += 1
            self.control.calls[case.operation.label] += 1
            if (
                operation_id == "bookSession"
                and response.status_code in (200, 201)
                and isinstance(case.body, dict)
            ):
                findings.parties[str(case.body["session_id"])] = {
                    "client": f"client:{case.body['client_id']}",
                    "therapist": f"therapist:{case.body['therapist_id']}",
                }

        def validate_response(self, response: Response, case: schemathesis.Case[Any], **kwargs: Any) -> None:
            try:
                # The token is the caller's own (explicit), so ignored_auth probes without it.
                case.validate_response(
                    response, headers=AUTH, transport_kwargs=kwargs, recorder=self.recorder
                )
            except FailureGroup as group:
                findings.fail(case.operation.label, response.status_code, group)

    return Stateful


def run_stateful(api_url: str, webhook_secret: str) -> tuple[Findings, set[str]]:
    findings = Findings()
    settings = hypothesis.settings(
        max_examples=SCENARIOS,
        stateful_step_count=STEPS,
        database=None,
        deadline=None,
        # Failures are collected, not raised, so there is nothing to shrink.
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    with requests.Session() as session:
        machine = machine_for(api_url, session, findings, webhook_secret)
        for round_ in range(ROUNDS):
            test = hypothesis.seed(round_)(get_state_machine_test(machine, settings=settings))
            try:
                test()
            except Flaky:
                # Hypothesis replays a scenario's first choices to explore from them; the server
                # kept what the first run did (a booking answers 200 now, not 201), so the rules
                # open differ and it stops the round, as schemathesis' own engine stops its
                # stateful phase. Failures found so far are kept; the next round starts afresh.
                findings.rounds_cut_short += 1
        documented = {op["operationId"] for op in _operations(machine.schema.raw_schema)}
    return findings, documented


def _operations(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [op for path in document["paths"].values() for op in path.values()]


def _linked(document: dict[str, Any]) -> set[str]:
    """Operations a link leads from or to: those the state machine schemathesis builds covers."""
    linked = set()
    for operation in _operations(document):
        for response in operation["responses"].values():
            for link in response.get("links", {}).values():
                linked |= {operation["operationId"], link["operationId"]}
    return linked


async def test_the_stateful_phase_reaches_every_operation_with_every_check_passing(
    api_url: str, settings: Settings
) -> None:
    secret = settings.stripe_webhook_secret.get_secret_value()
    findings, documented = await asyncio.to_thread(run_stateful, api_url, secret)
    print(findings.report())  # noqa: T201 — the figures, with -s

    assert not findings.failures, "\n\n".join(findings.failures)
    # Every operation answered something other than the 404 of an unknown id at least once.
    unreached = {op for op in documented if not set(findings.statuses.get(op, ())) - {404}}
    assert not unreached, (unreached, findings.report())
    assert findings.steps >= ROUNDS * SCENARIOS, findings.report()


def test_a_case_generated_as_invalid_that_is_valid_gets_a_party_that_may_send_it() -> None:
    """Found by the stateful run: schemathesis relabels a case by validating it again once the
    harness adds the token, so an "invalid" case that is valid (an extra header was its only
    change) was checked as valid while it kept a made-up party (``422``: a therapist moving in
    the admin's name)."""
    schema = schemathesis.openapi.from_dict(create_app().openapi())
    operation = schema.find_operation_by_id("previewReschedule")
    body = {"requested_by": "admin", "new_start": "2030-01-01T10:00:00Z"}
    case = hypothesis.find(
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE, body=body),
        lambda case: case.meta is not None,
        settings=hypothesis.settings(database=None, derandomize=True),
    )
    case.headers = CaseInsensitiveDict({**case.headers, "Acting-Party": "therapist:thr_any"})
    assert case.meta is not None  # validated again here, with the made-up party
    case.meta.generation.mode = GenerationMode.NEGATIVE  # as the generator labelled it

    _prepare(case, Findings(), "whsec_unused")

    assert case.meta is not None and case.meta.generation.mode is GenerationMode.POSITIVE
    assert case.headers["Acting-Party"] == ADMIN


def test_generated_ids_are_the_runs_own_so_no_other_tests_workflow_answers() -> None:
    """Found running tests/api whole: test_openapi_fuzz.py had left practice ``0`` on its own task
    queue, whose worker had stopped, and this run's ``POST /v1/therapists/0/clients/2/end`` waited
    on it past the request's timeout. A valid request's own ids carry this run's tag."""
    schema = schemathesis.openapi.from_dict(create_app().openapi())
    operation = schema.find_operation_by_id("endRelationship")
    case = hypothesis.find(
        operation.as_strategy(
            generation_mode=GenerationMode.POSITIVE, path_parameters={"therapist_id": "0", "client_id": "2"}
        ),
        lambda case: case.meta is not None,
        settings=hypothesis.settings(database=None, derandomize=True),
    )
    findings = Findings()

    _prepare(case, findings, "whsec_unused")

    assert case.path_parameters == {"therapist_id": f"0{findings.tag}", "client_id": f"2{findings.tag}"}
    assert case.headers["Acting-Party"] == f"therapist:0{findings.tag}"
    assert case.meta is not None and case.meta.generation.mode is GenerationMode.POSITIVE
