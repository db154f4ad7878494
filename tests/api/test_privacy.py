"""Nothing personal leaves through us: a whole session's life driven through the API, with every
log record of this process (DEBUG, all loggers), every request the Stripe stand-in received and
every span the API and the worker exported (traces on) captured, and searched.

The backend knows names, e-mails and session notes; the API must refuse them (strict bodies) so
they can never reach a log, Temporal or Stripe. Ids are opaque, and of them only the session id
reaches Stripe, as ``metadata[session_id]``. A PaymentIntent's client secret never reaches a log.
Every span attribute is an opaque id, a machine code, a route template, a URL path or a number.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from dev.notification_sink import NotificationSink
from dev.stripe_standin import StripeStandIn
from domain.status import SessionStatus
from temporal_client.session_client import session_handle
from tests.api.tracing import Span, Traced
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

NAME = "Philippa Quirkwood"
EMAIL = "philippa.quirkwood@example.org"
PHONE = "+44 7700 900461"
NOTES = "disclosed panic attacks since the divorce"
PERSONAL = (NAME, EMAIL, PHONE, NOTES, "Quirkwood", "panic attacks")

STRIPE_METADATA_KEYS = {"session_id", "attempt", "refund"}
CLIENT_SECRET_MARK = "_secret_"

MACHINE_VALUE = re.compile(r"[A-Za-z0-9_.:/{}-]*")
"""What a span attribute's text may be: ids, codes, versions, URL paths (no query: no ``?``, ``=``,
``&``; no ``@``; no space, so no words)."""
SPAN_NAME = re.compile(r"[A-Z]+( /[A-Za-z0-9_/{}.-]*)?|[A-Za-z]+:[A-Za-z_]+")
"""``POST /v1/sessions/{session_id}/attendance`` (a route template), ``POST`` (an HTTP call),
``RunActivity:charge_session`` (Temporal)."""


def span_values(span: Span) -> list[tuple[str, object]]:
    """Every value a span carries that a trace backend would show: attributes, its events',
    its status description, its resource."""
    values = [*span.attributes.items(), *span.resource.items()]
    values += [(f"event {e['name']} {k}", v) for e in span.events for k, v in e["attributes"].items()]
    if span.status.get("description"):
        values.append(("status", span.status["description"]))
    return values


def key() -> dict[str, str]:
    return {"Idempotency-Key": f"req-{uuid.uuid4().hex}"}


def opaque(prefix: str) -> str:
    """Unique, and nothing in it says who anyone is (letters and digits only)."""
    return f"{prefix}{uuid.uuid4().hex[:20]}"


def everything_logged(records: list[logging.LogRecord]) -> str:
    """Each record as a handler could write it: the message, its arguments and every extra."""
    lines = []
    for record in records:
        fields = {name: repr(value) for name, value in vars(record).items() if name not in {"msg", "args"}}
        lines.append(f"{record.name} {record.getMessage()} {json.dumps(fields, sort_keys=True)}")
    return "\n".join(lines)


def everything_sent_to_stripe(requests: list[Any]) -> str:
    return "\n".join(
        json.dumps(
            {
                "path": r.path,
                "query": r.query,
                "headers": r.headers,
                "params": r.params,
                "raw_body": r.raw_body,
                "idempotency_key": r.idempotency_key,
            },
            sort_keys=True,
            default=str,
        )
        for r in requests
    )


@pytest.mark.timeout(120)
async def test_a_session_lifecycle_through_the_api_leaks_nothing_personal(
    traced: Traced,
    env: WorkflowEnvironment,
    standin: StripeStandIn,
    notification_sink: NotificationSink,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)  # the root logger: every logger of this process
    http = traced.http
    stripe_before = len(standin.requests)
    sink_before = len(notification_sink.received)
    therapist_id, client_id = opaque("t"), opaque("c")
    booking = make_booking(
        start=real_now() + 100 * HOUR,
        session_id=opaque("s"),
        therapist_id=therapist_id,
        client_id=client_id,
    )
    session_id = booking.session_id
    body = booking.model_dump(mode="json")
    path = f"/v1/sessions/{session_id}"

    # What the backend knows but must never send: every strict body refuses it.
    refused = [
        await http.post("/v1/sessions", json={**body, "client_name": NAME, "client_email": EMAIL}),
        await http.post("/v1/sessions", json={**body, "notes": NOTES, "client_phone": PHONE}),
        await http.post(
            f"{path}/cancel",
            json={"requested_by": "client", "reason": "client_request", "note": NOTES},
            headers=key(),
        ),
    ]
    booked = await http.post("/v1/sessions", json=body)
    # Charged off-session within its spread window after start − 48 h (the API's policy): the
    # session's own clock is fast-forwarded to the instant it planned.
    handle = session_handle(env.client, session_id)
    planned = (await state_of(handle)).payment.next_charge_at
    assert planned is not None and booking.start - 48 * HOUR <= planned < booking.start - 47 * HOUR
    await advance_to(env, handle, planned + SECOND)
    await wait_for_state(handle, lambda s: s.status is SessionStatus.PAID, "the charge")
    await advance_to(env, handle, booking.end + SECOND)
    await wait_for_status(env, handle, SessionStatus.AWAITING_UPDATE, "the session's end")
    attended = await http.post(
        f"{path}/attendance", json={"outcome": "attended", "continue_sessions": "no"}, headers=key()
    )
    final = await http.get(path)

    assert [r.status_code for r in refused] == [422, 422, 422]
    assert all(r.json()["code"] == "validation_error" for r in refused)
    assert booked.status_code == 201
    assert attended.status_code == 200 and attended.json()["status"] == "attended"
    assert final.json()["payment"]["status"] == "paid", final.json()

    logged = everything_logged(caplog.records)
    sent_to_stripe = standin.requests[stripe_before:]
    stripe_text = everything_sent_to_stripe(sent_to_stripe)
    notified = "\n".join(n.model_dump_json() for n in notification_sink.received[sink_before:])
    responses = "\n".join(r.text for r in [*refused, booked, attended, final])
    assert sent_to_stripe, "the charge never reached the stand-in"
    assert session_id in logged, "nothing of this session was captured: the capture is broken"

    # No personal value anywhere: not logged, not sent to Stripe or the backend, not echoed.
    for value in PERSONAL:
        for where, text in [
            ("logs", logged),
            ("stripe", stripe_text),
            ("notifications", notified),
            ("responses", responses),
            ("spans", traced.text()),
        ]:
            assert value.lower() not in text.lower(), f"{value!r} leaked into {where}"

    # No client secret in any log record (the PaymentIntent bodies carry one).
    assert CLIENT_SECRET_MARK not in logged, [
        f"{record.name}: {record.getMessage()[:120]}"
        for record in caplog.records
        if CLIENT_SECRET_MARK in everything_logged([record])
    ]

    # Stripe sees the session id only as metadata[session_id]; never the therapist or the client.
    assert therapist_id not in stripe_text and client_id not in stripe_text
    for request in sent_to_stripe:
        metadata = request.params.get("metadata") or {}
        assert set(metadata) <= STRIPE_METADATA_KEYS, (request.path, metadata)
        assert metadata.get("session_id") in (None, session_id)
        outside_metadata = json.dumps({k: v for k, v in request.params.items() if k != "metadata"})
        assert session_id not in outside_metadata, (request.path, request.params)
    assert any((r.params.get("metadata") or {}).get("session_id") == session_id for r in sent_to_stripe)

    # Every span of the lifecycle carries ids, codes and numbers only; URLs without their query.
    spans = traced.spans()
    assert any(span.attributes.get("temporalWorkflowID") == f"session-{session_id}" for span in spans)
    assert {"sessionflow-api", "sessionflow-worker"} <= {span.service for span in spans}
    for span in spans:
        assert SPAN_NAME.fullmatch(span.name), span.name
        for attribute, carried in span_values(span):
            assert isinstance(carried, int | float | bool) or (
                isinstance(carried, str) and MACHINE_VALUE.fullmatch(carried)
            ), (span.name, attribute, carried)
    assert CLIENT_SECRET_MARK not in traced.text()
