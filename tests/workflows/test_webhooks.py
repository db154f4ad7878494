"""Stripe webhooks end to end: the stand-in signs and delivers the same event three times, a
receiver verifies each signature on the raw body and signals the session; it settles once."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import stripe
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from dev.stripe_standin import StripeStandIn
from domain.payments import payment_event_from_stripe
from domain.status import SessionStatus
from tests.workflows.support import (
    HOUR,
    WAIT,
    advance_to,
    event_types,
    make_booking,
    real_now,
    start,
    succeeded_charges,
    wait_for_state,
)
from workflows.session import SessionWorkflow

SECRET = "whsec_test_receiver"


class Receiver:
    """A stand-in for the API's webhook endpoint: verifies signatures, keeps verified events."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.rejected = 0
        self._arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                try:
                    stripe.Webhook.construct_event(raw, self.headers.get("Stripe-Signature", ""), SECRET)
                except stripe.SignatureVerificationError:
                    with receiver._arrived:
                        receiver.rejected += 1
                        receiver._arrived.notify_all()
                    self.send_response(400)
                else:
                    with receiver._arrived:
                        receiver.events.append(json.loads(raw))
                        receiver._arrived.notify_all()
                    self.send_response(200)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhook"

    def wait_for(self, event_type: str, count: int) -> list[dict[str, Any]]:
        """Blocks until ``count`` verified deliveries of ``event_type`` arrived (or WAIT passes)."""

        def matching() -> list[dict[str, Any]]:
            return [e for e in self.events if e["type"] == event_type]

        with self._arrived:
            self._arrived.wait_for(lambda: len(matching()) >= count, timeout=WAIT)
            return matching()

    def wait_for_rejection(self) -> int:
        with self._arrived:
            self._arrived.wait_for(lambda: self.rejected > 0, timeout=WAIT)
            return self.rejected


@pytest.fixture
def receiver(standin: StripeStandIn) -> Iterator[Receiver]:
    receiver = Receiver()
    thread = threading.Thread(target=receiver.server.serve_forever, daemon=True)
    thread.start()
    standin.configure_webhook(receiver.url, SECRET)
    yield receiver
    standin.configure_webhook(None, None)
    receiver.server.shutdown()
    receiver.server.server_close()


async def test_a_webhook_delivered_three_times_settles_the_session_once(
    env: WorkflowEnvironment, worker: Worker, standin: StripeStandIn, receiver: Receiver
) -> None:
    booking = make_booking(start=real_now() + 72 * HOUR, payment_method="pm_card_authenticationRequired")
    handle = await start(env.client, booking, worker.task_queue)
    await advance_to(env, handle, booking.start - 47 * HOUR)
    waiting = await wait_for_state(
        handle, lambda s: s.status is SessionStatus.AWAITING_CLIENT_ACTION, "the SCA decline"
    )
    assert waiting.payment.payment_intent_id is not None

    standin.authenticate_on_session(waiting.payment.payment_intent_id)
    [succeeded] = await asyncio.to_thread(receiver.wait_for, "payment_intent.succeeded", 1)
    standin.deliver_event(succeeded["id"], times=2)  # Stripe's at-least-once delivery
    deliveries = await asyncio.to_thread(receiver.wait_for, "payment_intent.succeeded", 3)
    assert {e["id"] for e in deliveries} == {succeeded["id"]}
    assert len(deliveries) == 3 and receiver.rejected == 0
    for delivered in deliveries:
        mapped = payment_event_from_stripe(delivered)
        assert mapped is not None and mapped[0] == booking.session_id
        await asyncio.wait_for(handle.signal(SessionWorkflow.payment_event, mapped[1]), WAIT)

    paid = await wait_for_state(handle, lambda s: s.status is SessionStatus.PAID, "the webhook")
    assert len(paid.payment.attempts) == 1
    assert len(succeeded_charges(standin, booking.session_id)) == 1
    events = await event_types(handle)
    assert events.count("WORKFLOW_EXECUTION_SIGNALED") == 3
    # Charge time, the auto-cancel deadline while awaiting the client, then the session's end:
    # only the first delivery woke the workflow, the duplicates restarted no timer.
    assert events.count("TIMER_STARTED") == 3


async def test_a_webhook_with_a_wrong_signature_is_rejected(
    standin: StripeStandIn, receiver: Receiver, stripe_client: stripe.StripeClient
) -> None:
    standin.configure_webhook(receiver.url, "whsec_someone_else")
    await stripe_client.v1.payment_intents.create_async(
        {
            "amount": 100,
            "currency": "gbp",
            "payment_method": "pm_card_visa",
            "confirm": True,
            "automatic_payment_methods": {"enabled": True, "allow_redirects": "never"},
        }
    )
    rejected = await asyncio.to_thread(receiver.wait_for_rejection)

    assert rejected >= 1
    assert receiver.events == []
