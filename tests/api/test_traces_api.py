"""One session followed as traces (README "Traces"): booked over HTTP, charged by its workflow at
start − 48 h through Stripe, its attendance update filed over HTTP — with traces on, the API and
the worker each exporting to their own file, read back and joined by span ids, as an operator's
trace backend would join them.

Real parts only: the dev server, a worker, uvicorn over HTTP, the stripe client against the
stand-in over HTTP. The charge comes days after the booking on the session's own clock (time
skipping), and still belongs to the booking's trace: the workflow carries the trace context it
was started with in its start header.
"""

from __future__ import annotations

import uuid

import pytest
from temporalio.testing import WorkflowEnvironment

from contract.session import SESSION_FILE_ATTENDANCE
from dev.stripe_standin import StripeStandIn
from domain.status import SessionStatus
from temporal_client.session_client import session_handle
from tests.api.tracing import Span, Traced, ancestors
from tests.workflows.support import (
    HOUR,
    advance_to,
    make_booking,
    real_now,
    state_of,
    wait_for_state,
    wait_for_status,
)

SECOND = HOUR / 3600


def one(spans: list[Span], what: str) -> Span:
    assert len(spans) == 1, f"{what}: {[(s.service, s.name) for s in spans]}"
    return spans[0]


@pytest.mark.timeout(120)
async def test_a_booking_its_charge_and_the_attendance_update_are_linked_spans(
    traced: Traced, env: WorkflowEnvironment, standin: StripeStandIn
) -> None:
    booking = make_booking(start=real_now() + 100 * HOUR)
    session_id = booking.session_id
    workflow_id = f"session-{session_id}"

    booked = await traced.http.post("/v1/sessions", json=booking.model_dump(mode="json"))
    assert booked.status_code == 201, booked.text
    handle = session_handle(env.client, session_id)
    planned = (await state_of(handle)).payment.next_charge_at
    assert planned is not None
    await advance_to(env, handle, planned + SECOND)
    await wait_for_state(handle, lambda s: s.status is SessionStatus.PAID, "the charge")
    await advance_to(env, handle, booking.end + SECOND)
    await wait_for_status(env, handle, SessionStatus.AWAITING_UPDATE, "the session's end")
    attended = await traced.http.post(
        f"/v1/sessions/{session_id}/attendance",
        json={"outcome": "attended", "continue_sessions": "no"},
        headers={"Idempotency-Key": f"req-{uuid.uuid4().hex}"},
    )
    assert attended.status_code == 200, attended.text

    spans = traced.spans()
    by_id = {span.span_id: span for span in spans}
    api = [s for s in spans if s.service == "sessionflow-api"]
    worker = [s for s in spans if s.service == "sessionflow-worker"]

    # The booking: the API's server span (named by its route) is the root of one trace …
    book = one([s for s in api if s.name == "POST /v1/sessions" and s.kind == "SERVER"], "the booking span")
    assert book.attributes["http.route"] == "/v1/sessions" and book.attributes["http.status_code"] == 201
    start = one(
        [
            s
            for s in api
            if s.name == "StartWorkflow:SessionWorkflow" and s.attributes["temporalWorkflowID"] == workflow_id
        ],
        "the start of the session's workflow",
    )
    assert book in ancestors(start, by_id) and start.kind == "CLIENT"
    trace = book.trace_id

    # … in which the worker ran the workflow: its run span is a child of the API's start span …
    run = one(
        [
            s
            for s in worker
            if s.name == "RunWorkflow:SessionWorkflow" and s.attributes["temporalWorkflowID"] == workflow_id
        ],
        "the workflow's run span",
    )
    assert run.parent_id == start.span_id and run.trace_id == trace

    # … and, days later on its own clock, the charge: the activity span descends from the booking,
    # through the workflow's StartActivity span, and Stripe's HTTP calls are its children.
    charge = one(
        [
            s
            for s in worker
            if s.name == "RunActivity:charge_session"
            and s.attributes.get("temporalWorkflowID") == workflow_id
        ],
        "the charge activity's span",
    )
    scheduled = by_id[charge.parent_id or ""]
    assert scheduled.name == "StartActivity:charge_session" and scheduled.trace_id == trace
    assert [s.span_id for s in ancestors(charge, by_id)][-2:] == [start.span_id, book.span_id]
    to_stripe = [s for s in worker if s.parent_id == charge.span_id and s.kind == "CLIENT"]
    assert to_stripe, "no HTTP span under the charge activity"
    for call in to_stripe:
        assert call.trace_id == trace
        assert call.attributes["http.url"].startswith(f"{standin.url}/v1/payment_intents")
        assert call.attributes["http.status_code"] == 200
    # The charge creates and confirms its PaymentIntent in one request (README "Payments").
    assert [(c.attributes["http.method"], c.attributes["http.url"]) for c in to_stripe] == [
        ("POST", f"{standin.url}/v1/payment_intents")
    ]

    # The attendance update is a trace of its own: the API's request span, its update call and,
    # in the worker, the update's validation and handling as that call's children — linked back to
    # the session's start — and what the handler does (releasing the slot: an activity, which
    # updates the practice) further down the same chain.
    file = one(
        [s for s in api if s.name == "POST /v1/sessions/{session_id}/attendance" and s.kind == "SERVER"],
        "the attendance request span",
    )
    assert file.trace_id != trace and file.attributes["http.route"] == "/v1/sessions/{session_id}/attendance"
    update = one(
        [s for s in api if s.name == f"StartWorkflowUpdate:{SESSION_FILE_ATTENDANCE.name}"],
        "the update call's span",
    )
    assert update.parent_id == file.span_id
    handled = [s for s in worker if s.parent_id == update.span_id]
    assert sorted(s.name for s in handled if s.kind == "SERVER") == [
        f"HandleUpdate:{SESSION_FILE_ATTENDANCE.name}",
        f"ValidateUpdate:{SESSION_FILE_ATTENDANCE.name}",
    ]
    for span in handled:
        assert span.trace_id == file.trace_id and span.attributes["temporalWorkflowID"] == workflow_id
        assert span.links == ((start.span_id,) if span.kind == "SERVER" else ())
    released = one(
        [s for s in worker if s.name == "RunActivity:practice_release_slots"], "the slot's release"
    )
    assert released.trace_id == file.trace_id
    assert [s.span_id for s in ancestors(released, by_id)][-2:] == [update.span_id, file.span_id]

    # Scrapes and probes are never traced.
    assert await traced.http.get("/healthz") and await traced.http.get("/metrics")
    assert not [s for s in traced.spans() if "healthz" in s.name or "metrics" in s.name]
