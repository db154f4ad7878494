"""Money events for an erased client's closed session, over real HTTP (real dev server and
worker, the real Stripe client against the stand-in, envelope encryption on): the bank's dispute
arrives weeks after the erasure, an admin tries a goodwill refund. Neither can be read from the
session (its key is gone): Stripe's webhook is acknowledged (or Stripe retries for days in vain)
and ops are told — a WARNING with opaque ids and the erasure's id, and a metric — and the refund
answers `404 erased` like the session's detail view."""

from __future__ import annotations

import asyncio
import logging
import re

import httpx
import pytest
from typer.testing import CliRunner

from dev.stripe_standin import StripeStandIn
from domain.status import BookingKind
from tests.api.polling import wait_for_status
from tests.api.test_erasure_api import Stack, book, cancel_late_and_close, key
from tests.api.test_erasure_api import stack as stack  # the fixture
from tests.api.test_stripe_webhook_api import WEBHOOK, secret_of
from tests.workflows.support import HOUR, unique

runner = CliRunner()
METRIC = "sessionflow_erased_session_money_events_total"


async def counted(http: httpx.AsyncClient, kind: str) -> float:
    text = (await http.get("/metrics")).text
    found = re.search(rf'^{METRIC}\{{kind="{kind}"\}} (\S+)$', text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


async def test_a_dispute_and_a_refund_of_an_erased_clients_closed_session_reach_ops_not_a_500(
    stack: Stack, standin: StripeStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    http = stack.http
    client_id = unique("cli")
    session_id = await book(http, BookingKind.THERAPIST_MANUAL, 10 * HOUR, client_id)
    await wait_for_status(http, session_id, "paid")
    await cancel_late_and_close(stack, session_id)  # closed, the late cancellation's charge kept
    erased = await http.post(f"/v1/clients/{client_id}/erasure", json={})
    assert erased.status_code == 200, erased.text
    erasure_id = erased.json()["erasure_id"]
    [intent] = [
        i for i in standin.payment_intents(metadata_session_id=session_id) if i["status"] == "succeeded"
    ]
    [charge] = standin.charges(payment_intent=intent["id"])
    refunds_before, disputes_before = await counted(http, "refund"), await counted(http, "dispute")

    # An admin's goodwill refund: the session's final ledger cannot be read any more.
    refund = await http.post(
        f"/v1/sessions/{session_id}/refund", json={"reason": "goodwill", "amount_minor": 1000}, headers=key()
    )
    assert refund.status_code == 404 and refund.json()["code"] == "erased", refund.text
    assert standin.refunds(payment_intent=intent["id"]) == []

    # The bank disputes the charge; the stand-in delivers Stripe's signed event to the API.
    dispute = await asyncio.to_thread(standin.open_dispute, charge["id"], reason="fraudulent")
    [event] = [
        e for e in standin.events(type="charge.dispute.created") if e["data"]["object"]["id"] == dispute["id"]
    ]
    standin.configure_webhook(f"{http.base_url}{WEBHOOK}".replace("//v1", "/v1"), secret_of(stack.settings))
    try:
        with caplog.at_level(logging.INFO, logger="sessionflow.api.stripe"):
            statuses = await asyncio.to_thread(standin.deliver_event, event["id"], 2)
    finally:
        standin.configure_webhook(None, None)

    assert statuses == [200, 200]  # acknowledged: Stripe stops retrying (the second a duplicate)
    [warning] = [
        r
        for r in caplog.records
        if r.levelno == logging.WARNING and getattr(r, "dispute_id", None) == dispute["id"]
    ]
    assert (getattr(warning, "session_id", None), getattr(warning, "erasure_id", None)) == (
        session_id,
        erasure_id,
    )
    assert client_id not in caplog.text  # opaque ids of the session, the dispute, the erasure only
    assert await counted(http, "dispute") == disputes_before + 1
    assert await counted(http, "refund") == refunds_before + 1
