"""Notification delivery over real HTTP to a loopback sink: the Standard Webhooks signature verifies
with the ``standardwebhooks`` library (and a tampered or stale delivery does not), duplicates carry
the same event id, a failing endpoint is retried by Temporal, a refusing one is not."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import json
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
import pytest_asyncio
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    # This module also defines a workflow: the sandbox passes these through instead of re-importing.
    import httpx
    from prometheus_client import REGISTRY
    from standardwebhooks import Webhook, WebhookVerificationError
    from temporalio.api.enums.v1 import EventType
    from temporalio.client import WorkflowFailureError
    from temporalio.exceptions import ActivityError, ApplicationError
    from temporalio.testing import ActivityEnvironment, WorkflowEnvironment
    from temporalio.worker import Worker

    from activities.notifications import NotificationActivities, signed_headers
    from dev.notification_sink import NotificationSink
    from domain.notifications import (
        WEBHOOK_ID_HEADER,
        WEBHOOK_SIGNATURE_HEADER,
        WEBHOOK_TIMESTAMP_HEADER,
        Audience,
        BatchDelivery,
        DeliveryResult,
        Notification,
        NotificationBatch,
        NotificationType,
        notification_event_id,
    )
    from workflows.activity_options import NOTIFICATION_RETRY_POLICY, NOTIFICATION_START_TO_CLOSE

SECRET = "whsec_c2Vzc2lvbmZsb3cgYWN0aXZpdHkgdGVzdCBrZXk="
"""A Standard Webhooks secret: ``whsec_`` + base64 of the key."""
WAIT = 30.0
"""Real seconds any single wait may take before the test fails instead of hanging."""


def make_notification(
    kind: NotificationType = NotificationType.CHARGE_FAILED, **overrides: Any
) -> Notification:
    session_id = f"ses_{uuid.uuid4().hex[:16]}"
    fields: dict[str, Any] = {
        "event_id": notification_event_id(session_id, kind, 1),
        "type": kind,
        "audience": Audience.BOTH,
        "session_id": session_id,
        "therapist_id": f"thr_{uuid.uuid4().hex[:8]}",
        "client_id": f"cli_{uuid.uuid4().hex[:8]}",
        "occurred_at": datetime.now(UTC),
        "codes": {"decline_code": "insufficient_funds", "decline_kind": "soft"},
    }
    fields.update(overrides)
    return Notification.model_validate(fields)


@pytest.fixture
def sink() -> Iterator[NotificationSink]:
    with NotificationSink(SECRET, out=io.StringIO()) as running:
        yield running


@pytest_asyncio.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=3.0) as client:
        yield client


@pytest.fixture
def notifier(http: httpx.AsyncClient, sink: NotificationSink) -> NotificationActivities:
    return NotificationActivities(http, sink.url, SECRET)


@pytest.fixture
def probe() -> Iterator[tuple[list[tuple[dict[str, str], bytes]], str]]:
    """A bare HTTP receiver that records raw requests: checks the wire format independently of the
    sink. (Defined here, not at module level: the workflow sandbox re-imports this module.)"""
    seen: list[tuple[dict[str, str], bytes]] = []

    class Probe(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            seen.append(({key.lower(): value for key, value in self.headers.items()}, body))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Probe)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield seen, f"http://127.0.0.1:{server.server_address[1]}/notifications"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# ── one delivery ─────────────────────────────────────────────────────────────────────────────


async def test_a_delivered_notification_verifies_at_the_sink(
    notifier: NotificationActivities, sink: NotificationSink
) -> None:
    notification = make_notification()

    result = await ActivityEnvironment().run(notifier.deliver, notification)

    assert result == DeliveryResult(event_id=notification.event_id, status_code=200)
    assert sink.received == [notification]
    [request] = sink.requests
    assert request.verified and request.status == 200 and request.event_id == notification.event_id


async def test_the_request_is_the_signed_json_of_the_notification(
    probe: tuple[list[tuple[dict[str, str], bytes]], str],
) -> None:
    notification = make_notification(
        NotificationType.ACTION_REQUIRED,
        audience=Audience.CLIENT,
        codes={},
        payment_intent_client_secret="pi_1_secret_abc",
    )
    seen, url = probe
    async with httpx.AsyncClient(timeout=3.0) as client:
        await ActivityEnvironment().run(NotificationActivities(client, url, SECRET).deliver, notification)

    [(headers, body)] = seen
    assert headers["content-type"] == "application/json"
    assert headers[WEBHOOK_ID_HEADER] == notification.event_id
    assert body == notification.model_dump_json().encode()
    timestamp = int(headers[WEBHOOK_TIMESTAMP_HEADER])
    assert abs(timestamp - time.time()) < 60
    expected = signed_headers(body, notification.event_id, SECRET, datetime.fromtimestamp(timestamp, UTC))
    assert headers[WEBHOOK_SIGNATURE_HEADER] == expected[WEBHOOK_SIGNATURE_HEADER]
    # The backend needs the secret to send the client to pay on-session.
    assert json.loads(body)["payment_intent_client_secret"] == "pi_1_secret_abc"


async def test_a_backend_verifies_a_real_delivery_with_the_standardwebhooks_library(
    probe: tuple[list[tuple[dict[str, str], bytes]], str],
) -> None:
    """What the issue asks: any backend verifies with an off-the-shelf library, nothing of ours."""
    notification = make_notification(
        NotificationType.CHARGE_SUCCEEDED, codes={}, amount_minor=6000, currency="gbp"
    )
    seen, url = probe
    async with httpx.AsyncClient(timeout=3.0) as client:
        await ActivityEnvironment().run(NotificationActivities(client, url, SECRET).deliver, notification)
    [(headers, body)] = seen

    payload = Webhook(SECRET).verify(body, headers)

    assert Notification.model_validate(payload) == notification
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(body.replace(b"6000", b"9000"), headers)


async def test_the_sink_refuses_a_tampered_body_and_a_stale_timestamp_and_takes_the_real_one(
    probe: tuple[list[tuple[dict[str, str], bytes]], str], sink: NotificationSink
) -> None:
    notification = make_notification()
    seen, url = probe
    async with httpx.AsyncClient(timeout=3.0) as client:
        await ActivityEnvironment().run(NotificationActivities(client, url, SECRET).deliver, notification)
        [(captured, body)] = seen
        headers = {name: value for name, value in captured.items() if name.startswith("webhook-")}
        tampered = body.replace(b"insufficient_funds", b"card_declined")
        stale = signed_headers(body, notification.event_id, SECRET, datetime.now(UTC) - timedelta(minutes=6))
        answers = [
            (await client.post(sink.url, content=tampered, headers=headers)).status_code,
            (await client.post(sink.url, content=body, headers=stale)).status_code,
            (await client.post(sink.url, content=body, headers=headers)).status_code,
        ]

    assert answers == [401, 401, 200]
    assert [(request.verified, request.status) for request in sink.requests] == [
        (False, 401),
        (False, 401),
        (True, 200),
    ]
    assert sink.received == [notification]


async def test_delivering_the_same_notification_twice_carries_the_same_event_id(
    notifier: NotificationActivities, sink: NotificationSink
) -> None:
    notification = make_notification(NotificationType.REFUND_ISSUED, amount_minor=6000, currency="gbp")

    first = await ActivityEnvironment().run(notifier.deliver, notification)
    second = await ActivityEnvironment().run(notifier.deliver, notification)

    assert first == second == DeliveryResult(event_id=notification.event_id, status_code=200)
    assert [received.event_id for received in sink.received] == [notification.event_id] * 2
    assert sink.unique_event_ids == [notification.event_id]
    assert [request.duplicate for request in sink.requests] == [False, True]


@pytest.mark.parametrize("status", [500, 502, 503, 408, 409, 429])
async def test_an_unavailable_endpoint_raises_a_retryable_error(
    notifier: NotificationActivities, sink: NotificationSink, status: int
) -> None:
    sink.fail_next(1, status)

    with pytest.raises(ApplicationError) as raised:
        await ActivityEnvironment().run(notifier.deliver, make_notification())

    assert not raised.value.non_retryable
    assert raised.value.type == "NotificationEndpointUnavailable"
    assert sink.received == []


@pytest.mark.parametrize("status", [400, 403, 404, 413, 422])
async def test_a_refusing_endpoint_raises_a_non_retryable_notification_rejected(
    notifier: NotificationActivities, sink: NotificationSink, status: int
) -> None:
    sink.fail_next(1, status)

    with pytest.raises(ApplicationError) as raised:
        await ActivityEnvironment().run(notifier.deliver, make_notification())

    assert raised.value.non_retryable
    assert raised.value.type == "NotificationRejected"
    assert raised.value.details == ({"event_id": sink.requests[0].event_id, "status_code": status},)


async def test_a_wrong_secret_is_refused_by_the_sink_and_not_retried(
    http: httpx.AsyncClient, sink: NotificationSink
) -> None:
    notifier = NotificationActivities(http, sink.url, "whsec_bm90IHRoZSBzaW5rcw==")

    with pytest.raises(ApplicationError) as raised:
        await ActivityEnvironment().run(notifier.deliver, make_notification())

    assert raised.value.non_retryable and raised.value.type == "NotificationRejected"
    assert [(request.status, request.verified) for request in sink.requests] == [(401, False)]
    assert sink.received == []


async def test_an_unreachable_endpoint_raises_so_temporal_retries(http: httpx.AsyncClient) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    notifier = NotificationActivities(http, f"http://127.0.0.1:{closed_port}/notifications", SECRET)

    with pytest.raises(httpx.ConnectError):
        await ActivityEnvironment().run(notifier.deliver, make_notification())


async def test_failed_posts_are_counted_by_reason_for_the_delivery_alert(
    notifier: NotificationActivities, sink: NotificationSink, http: httpx.AsyncClient
) -> None:
    # sessionflow_notification_failures_total feeds NotificationDeliveryFailing (its share of
    # all posts, with sessionflow_notifications_total). A type of its own keeps other tests out.
    kind = NotificationType.PAYMENTS_PAUSED

    def count(name: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(name, {"type": kind.value, **labels}) or 0.0

    def failures(reason: str) -> float:
        return count("sessionflow_notification_failures_total", reason=reason)

    before = {reason: failures(reason) for reason in ("unavailable", "rejected", "unreachable")}
    delivered = count("sessionflow_notifications_total")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    unreachable = NotificationActivities(http, f"http://127.0.0.1:{closed_port}/notifications", SECRET)

    sink.fail_next(1, 503)
    with pytest.raises(ApplicationError):
        await ActivityEnvironment().run(notifier.deliver, make_notification(kind))
    sink.fail_next(1, 422)
    with pytest.raises(ApplicationError):
        await ActivityEnvironment().run(notifier.deliver, make_notification(kind))
    with pytest.raises(httpx.ConnectError):
        await ActivityEnvironment().run(unreachable.deliver, make_notification(kind))
    await ActivityEnvironment().run(notifier.deliver, make_notification(kind))

    assert {reason: failures(reason) - before[reason] for reason in before} == {
        "unavailable": 1.0,
        "rejected": 1.0,
        "unreachable": 1.0,
    }
    assert count("sessionflow_notifications_total") - delivered == 1.0


async def test_without_an_endpoint_notifications_are_dropped_with_status_0(http: httpx.AsyncClient) -> None:
    notification = make_notification()

    result = await ActivityEnvironment().run(NotificationActivities(http, "", "").deliver, notification)

    assert result == DeliveryResult(event_id=notification.event_id, status_code=0)


def test_an_endpoint_needs_a_secret(http: httpx.AsyncClient) -> None:
    with pytest.raises(ValueError, match="secret"):
        NotificationActivities(http, "http://127.0.0.1:1/notifications", "")


# ── retried by Temporal ──────────────────────────────────────────────────────────────────────

# The production policy with a short first interval, so three attempts take well under a second.
FAST_RETRY_POLICY = dataclasses.replace(
    NOTIFICATION_RETRY_POLICY,
    initial_interval=timedelta(milliseconds=100),
    maximum_interval=timedelta(milliseconds=200),
)


@workflow.defn(name="NotifyOnce")
class NotifyOnce:
    @workflow.run
    async def run(self, notification: Notification) -> DeliveryResult:
        return await workflow.execute_activity_method(
            NotificationActivities.deliver,
            notification,
            start_to_close_timeout=NOTIFICATION_START_TO_CLOSE,
            retry_policy=FAST_RETRY_POLICY,
        )


async def run_notify_once(
    env: WorkflowEnvironment, notifier: NotificationActivities, notification: Notification
) -> tuple[DeliveryResult | BaseException, list[int]]:
    """Run NotifyOnce on its own task queue; return its result (or error) and the activity attempts."""
    task_queue = f"notify-{uuid.uuid4().hex[:12]}"
    async with Worker(
        env.client, task_queue=task_queue, workflows=[NotifyOnce], activities=[notifier.deliver]
    ):
        handle = await env.client.start_workflow(
            NotifyOnce.run, notification, id=f"notify-{uuid.uuid4().hex}", task_queue=task_queue
        )
        outcome: DeliveryResult | BaseException
        try:
            outcome = await asyncio.wait_for(handle.result(), WAIT)
        except WorkflowFailureError as failed:
            outcome = failed
        history = await asyncio.wait_for(handle.fetch_history(), WAIT)
    attempts = [
        event.activity_task_started_event_attributes.attempt
        for event in history.events
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
    ]
    return outcome, attempts


async def test_a_failing_endpoint_is_retried_by_temporal_with_the_same_event_id(
    env: WorkflowEnvironment, notifier: NotificationActivities, sink: NotificationSink
) -> None:
    notification = make_notification()
    sink.fail_next(2)  # 503, 503, then the endpoint is back

    outcome, attempts = await run_notify_once(env, notifier, notification)

    assert outcome == DeliveryResult(event_id=notification.event_id, status_code=200)
    assert attempts == [3]  # one activity, delivered on its third attempt
    assert [(request.event_id, request.status) for request in sink.requests] == [
        (notification.event_id, 503),
        (notification.event_id, 503),
        (notification.event_id, 200),
    ]
    assert sink.received == [notification]


async def test_a_refused_notification_is_not_retried_by_temporal(
    env: WorkflowEnvironment, notifier: NotificationActivities, sink: NotificationSink
) -> None:
    sink.fail_next(1, 400)

    outcome, attempts = await run_notify_once(env, notifier, make_notification())

    assert isinstance(outcome, WorkflowFailureError)
    assert isinstance(outcome.cause, ActivityError)
    assert isinstance(outcome.cause.cause, ApplicationError)
    assert outcome.cause.cause.type == "NotificationRejected"
    assert attempts == [1]
    assert [request.status for request in sink.requests] == [400]


# ── the sink `make run` starts ───────────────────────────────────────────────────────────────


async def test_the_sink_process_prints_one_line_per_notification_and_marks_duplicates(
    http: httpx.AsyncClient,
) -> None:
    process = await asyncio.create_subprocess_exec(
        *[sys.executable, "-m", "dev.notification_sink", "--port", "0", "--secret", SECRET],
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert process.stdout is not None
    try:
        first = (await asyncio.wait_for(process.stdout.readline(), WAIT)).decode()
        assert first.startswith("notification sink listening on http://127.0.0.1:"), first
        url = first.rsplit(" ", 1)[1].strip()
        notifier = NotificationActivities(http, url, SECRET)
        action = make_notification(
            NotificationType.ACTION_REQUIRED,
            audience=Audience.CLIENT,
            codes={},
            payment_intent_client_secret="pi_9_secret_topsecret",
        )
        for notification in (action, action):
            await ActivityEnvironment().run(notifier.deliver, notification)
        lines = [(await asyncio.wait_for(process.stdout.readline(), WAIT)).decode() for _ in range(2)]
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), WAIT)

    assert f"action_required -> client event={action.event_id}" in lines[0]
    assert action.session_id is not None and action.session_id in lines[0]
    assert "duplicate action_required" in lines[1] and "duplicate" not in lines[0]
    assert all("topsecret" not in line and "(redacted)" in line for line in lines)


def test_the_sink_refuses_to_bind_anything_but_loopback() -> None:
    with pytest.raises(ValueError, match="loopback"):
        NotificationSink(SECRET, host="0.0.0.0")
    completed = subprocess.run(
        [sys.executable, "-m", "dev.notification_sink", "--host", "0.0.0.0", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode != 0 and "loopback" in completed.stderr


def test_wait_for_returns_the_matching_notifications_or_times_out(sink: NotificationSink) -> None:
    wanted, other = make_notification(), make_notification(NotificationType.SLOT_RELEASED)

    def post_all() -> None:
        for notification in (other, wanted, wanted):
            body = notification.model_dump_json().encode()
            sent_at = datetime.now(UTC).replace(microsecond=0)
            headers = {
                **signed_headers(body, notification.event_id, SECRET, sent_at),
                "Content-Type": "application/json",
            }
            httpx.post(sink.url, content=body, headers=headers, timeout=3.0).raise_for_status()

    sender = threading.Thread(target=post_all)
    sender.start()
    try:
        found = sink.wait_for(lambda n: n.event_id == wanted.event_id, timeout=WAIT, count=2)
    finally:
        sender.join(timeout=WAIT)

    assert found == [wanted, wanted]
    with pytest.raises(TimeoutError, match="0 of 1 matching"):
        sink.wait_for(lambda n: n.type is NotificationType.AUTO_CANCELLED, timeout=0.05)


# ── a workflow task's notices together (issue 13) ────────────────────────────────────────────


async def test_a_batch_reports_each_notice_and_never_retries_one_the_backend_cannot_take_now(
    notifier: NotificationActivities, sink: NotificationSink
) -> None:
    taken = make_notification()
    failing = make_notification(NotificationType.SESSION_CANCELLED)
    refused = make_notification(NotificationType.REFUND_ISSUED)
    sink.fail_events(f":{NotificationType.SESSION_CANCELLED.value}:", status=503)
    sink.fail_events(f":{NotificationType.REFUND_ISSUED.value}:", status=422)

    result = await ActivityEnvironment().run(
        notifier.deliver_all, NotificationBatch(notifications=[taken, failing, refused])
    )

    assert result == BatchDelivery(
        delivered=[DeliveryResult(event_id=taken.event_id, status_code=200)],
        rejected=[DeliveryResult(event_id=refused.event_id, status_code=422)],
        unavailable=[failing.event_id],
    )
    assert sink.received == [taken]
    assert sorted(r.status for r in sink.requests) == [200, 422, 503]  # one POST each, no retry
