"""Issue 15 §3 end to end: a client's erasure with the books kept.

Real dev server, a real worker and the API over real HTTP, the real Stripe client against the
stand-in, envelope encryption on (a KMS directory of the test's own). Client A books three
sessions and client B one; A's first is refunded in part, cancelled late and refunded again after
it closed (its refunds workflow runs); A's second is booked far ahead (scheduled, not charged);
A's third needs 3-D Secure (its charge's answer holds the PaymentIntent's client_secret) and is
voided by an admin's cancellation; B's closes. Erasing A is refused while A's first (and third)
hold money, then done with the CLI; afterwards nothing personal of A's decodes anywhere
(histories, codec endpoint, history API, CLI), no client_secret among the kept facts, B's decodes
fully, and A's charges and refunds still reconcile with the stand-in's records."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest_asyncio
import stripe
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner, Result

from api.app import create_app
from contract.ids import session_refunds_workflow_id, session_workflow_id
from dev.stripe_standin import StripeStandIn
from domain.status import BookingKind
from ops.cli import app as cli
from settings import Settings
from temporal_client.codec import (
    DATA_KEY_ID_METADATA,
    KEY_ID_METADATA,
    PayloadErasedError,
    build_data_converter,
    iter_payloads,
)
from temporal_client.erasure import client_hash, client_ledger
from tests.api.conftest import ADMIN, AUTH
from tests.api.polling import poll, wait_for_status
from tests.api.serving import serving
from tests.workflows.support import HOUR, WAIT, make_booking, real_now, running_worker, unique

runner = CliRunner()


@dataclass
class Stack:
    client: Client
    settings: Settings
    http: httpx.AsyncClient
    cli_env: dict[str, str]


@pytest_asyncio.fixture
async def stack(
    env: WorkflowEnvironment,
    settings: Settings,
    stripe_client: stripe.StripeClient,
    task_queue: str,
    tmp_path: Path,
) -> AsyncIterator[Stack]:
    enveloped = settings.model_copy(update={"kms_dir": tmp_path / "kms", "task_queue": task_queue})
    target = env.client.service_client.config.target_host
    client = await Client.connect(
        target, namespace=env.client.namespace, data_converter=build_data_converter(enveloped)
    )
    cli_env = {
        "SESSIONFLOW_TEMPORAL_ADDRESS": target,
        "SESSIONFLOW_TEMPORAL_NAMESPACE": env.client.namespace,
        "SESSIONFLOW_KMS_DIR": str(tmp_path / "kms"),
    }
    async with (
        running_worker(client, task_queue, stripe_client, enveloped),
        serving(create_app(enveloped, client=client)) as url,
        httpx.AsyncClient(base_url=url, headers={**AUTH, **ADMIN}, timeout=30) as http,
    ):
        yield Stack(client, enveloped, http, cli_env)


def key() -> dict[str, str]:
    return {"Idempotency-Key": f"req-{uuid.uuid4().hex}"}


async def book(
    http: httpx.AsyncClient,
    kind: BookingKind,
    start_in: timedelta,
    client_id: str,
    payment_method: str = "pm_card_visa",
) -> str:
    booking = make_booking(
        kind,
        start=real_now() + start_in,
        client_id=client_id,
        client_agreed=True,
        payment_method=payment_method,
    )
    booked = await http.post("/v1/sessions", json=booking.model_dump(mode="json"))
    assert booked.status_code == 201, booked.text
    return booking.session_id


async def cancel_late_and_close(stack: Stack, session_id: str) -> None:
    cancelled = await stack.http.post(
        f"/v1/sessions/{session_id}/cancel",
        json={"requested_by": "client", "reason": "client_request"},
        headers=key(),
    )
    assert cancelled.json()["status"] == "cancelled_late", cancelled.text
    await asyncio.wait_for(stack.client.get_workflow_handle(session_workflow_id(session_id)).result(), WAIT)


async def invoke(stack: Stack, *args: str) -> Result:
    return await asyncio.wait_for(
        asyncio.to_thread(runner.invoke, cli, list(args), env=stack.cli_env, catch_exceptions=False), WAIT
    )


def snapshot(directory: Path) -> dict[Path, bytes]:
    return {path: path.read_bytes() for path in directory.rglob("*") if path.is_file()}


@dataclass
class Census:
    decoded: int = 0
    erased: int = 0
    personal_decoded: int = 0
    """Payloads under a session's data key that still decode: must stay 0 after the erasure."""
    naming_the_client: int = 0
    """Decodable payloads whose content names the erased client."""
    secrets: int = 0
    """Decodable payloads holding a PaymentIntent's client secret (``pi_…_secret_…``)."""
    personal: list[Any] | None = None


async def census(stack: Stack, workflow_ids: list[str], client_id: str) -> Census:
    counted = Census(personal=[])
    codec = stack.client.data_converter.payload_codec
    assert codec is not None
    for workflow_id in workflow_ids:
        history = await stack.client.get_workflow_handle(workflow_id).fetch_history()
        for event in history.events:
            for payload in iter_payloads(event):
                if KEY_ID_METADATA not in payload.metadata and DATA_KEY_ID_METADATA not in payload.metadata:
                    continue  # not encrypted: search attributes (opaque ids) and the like
                try:
                    [plain] = await codec.decode([payload])
                except PayloadErasedError:
                    counted.erased += 1
                    assert counted.personal is not None
                    counted.personal.append(payload)
                    continue
                counted.decoded += 1
                counted.personal_decoded += DATA_KEY_ID_METADATA in payload.metadata
                counted.naming_the_client += client_id.encode() in plain.data
                counted.secrets += b"_secret_" in plain.data
    return counted


async def test_an_erased_clients_sessions_decode_nowhere_while_their_money_still_reconciles(
    stack: Stack, standin: StripeStandIn
) -> None:
    http = stack.http
    a, b = unique("cli"), unique("cli")
    a_paid = await book(http, BookingKind.THERAPIST_MANUAL, 10 * HOUR, a)  # inside the window: charged
    a_ahead = await book(http, BookingKind.THERAPIST_FOLLOW_UP, 200 * HOUR, a)  # not charged yet
    b_paid = await book(http, BookingKind.THERAPIST_MANUAL, 10 * HOUR, b)
    # A's third needs the client to pay on-session: the charge's answer holds the PaymentIntent's
    # client_secret, which must be erased with A (it is a credential, not a financial fact).
    a_sca = await book(http, BookingKind.THERAPIST_MANUAL, 10 * HOUR, a, "pm_card_authenticationRequired")
    for session_id in (a_paid, b_paid):
        await wait_for_status(http, session_id, "paid")
    await wait_for_status(http, a_ahead, "scheduled")
    await wait_for_status(http, a_sca, "awaiting_client_action")

    # While A's first session holds A's money, the erasure is refused and changes nothing.
    refused = await invoke(stack, "clients", "erase", a, "--yes")
    assert refused.exit_code == 1, refused.output
    assert f"{a_paid}\tpaid" in refused.output and a_ahead not in refused.output
    assert (await http.get(f"/v1/sessions/{a_ahead}")).json()["client_id"] == a

    refund = {"reason": "goodwill", "amount_minor": 1000}
    assert (await http.post(f"/v1/sessions/{a_paid}/refund", json=refund, headers=key())).status_code == 200
    await poll(
        http, f"/v1/sessions/{a_paid}", lambda s: s["payment"]["amount_refunded_minor"] == 1000, "refund"
    )
    await cancel_late_and_close(stack, a_paid)
    await cancel_late_and_close(stack, b_paid)
    voided = await http.post(
        f"/v1/sessions/{a_sca}/cancel",
        json={"requested_by": "admin", "reason": "admin_correction"},
        headers=key(),
    )
    assert voided.status_code == 200, voided.text
    await asyncio.wait_for(stack.client.get_workflow_handle(session_workflow_id(a_sca)).result(), WAIT)
    after_close = {"reason": "late_cancellation_waived", "amount_minor": 2000}
    refunded = await http.post(f"/v1/sessions/{a_paid}/refund", json=after_close, headers=key())
    assert refunded.status_code == 200, refunded.text
    await poll(
        http, f"/v1/sessions/{a_paid}", lambda s: s["payment"]["amount_refunded_minor"] == 3000, "refund"
    )
    a_workflows = [
        session_workflow_id(a_paid),
        session_refunds_workflow_id(a_paid),
        session_workflow_id(a_ahead),
        session_workflow_id(a_sca),
    ]
    before = await census(stack, a_workflows, a)
    ledger_before = await client_ledger(stack.client, a)
    assert before.erased == 0 and before.personal_decoded > 0 and before.secrets > 0

    erased = await invoke(stack, "clients", "erase", a, "--yes")

    assert erased.exit_code == 0, erased.output
    assert "erased: erasure era_" in erased.output
    # A's scheduled session (cancelled) and the refunds workflow of the closed one (terminated);
    # the keys of all three sessions.
    assert "3 session(s), 2 workflow(s) closed (0 forced), 3 data key(s) destroyed" in erased.output
    ahead = await stack.client.get_workflow_handle(session_workflow_id(a_ahead)).describe()
    refunds_run = await stack.client.get_workflow_handle(session_refunds_workflow_id(a_paid)).describe()
    assert (ahead.status, refunds_run.status) == (
        WorkflowExecutionStatus.COMPLETED,
        WorkflowExecutionStatus.TERMINATED,
    )
    after = await census(stack, a_workflows, a)
    print(  # noqa: T201  # the figures the issue's closing note reports (pytest -s)
        f"\nA's histories ({len(a_workflows)} workflows) before the erasure: {before.decoded} payloads "
        f"decoded, {before.personal_decoded} of them under A's session keys; after: {after.decoded} decoded "
        f"(the kept financial facts), {after.erased} erased, {after.personal_decoded} personal decodable, "
        f"{after.naming_the_client} naming A (before: {before.naming_the_client})"
    )
    assert after.personal_decoded == 0 and after.naming_the_client == 0
    assert after.secrets == 0  # no PaymentIntent's client_secret among the kept facts
    # Every personal payload from before is erased (plus the cancellation's own); the kept facts
    # are exactly what decoded outside the session keys before.
    assert after.erased >= before.personal_decoded and before.naming_the_client > 0
    assert after.decoded == before.decoded - before.personal_decoded
    assert after.decoded > 0  # the charges and refunds, kept

    # The codec endpoint (what the Temporal UI calls) answers "erased" for each, without an error.
    assert after.personal is not None
    body = {
        "payloads": [
            {
                "metadata": {k: base64.b64encode(v).decode() for k, v in p.metadata.items()},
                "data": base64.b64encode(p.data).decode(),
            }
            for p in after.personal
        ]
    }
    decoded = await http.post("/codec/decode", json=body)
    assert decoded.status_code == 200, decoded.text
    answers = decoded.json()["payloads"]
    assert len(answers) == after.erased
    assert all(json.loads(base64.b64decode(p["data"]))["erased"] is True for p in answers)

    # The history API and `sessionflow sessions show` say erased and keep the money events.
    history = await http.get(f"/v1/sessions/{a_paid}/history")
    assert history.status_code == 200, history.text
    assert history.json()["erased_payloads"] > 0 and history.json()["undecodable_payloads"] == 0
    charges = [
        e
        for e in history.json()["events"]
        if e["kind"] == "activity_completed" and e["detail"]["activity_type"] == "charge_session"
    ]
    assert charges and charges[0]["detail"]["outcome"] == "succeeded"
    shown = await invoke(stack, "sessions", "show", a_paid)
    assert shown.exit_code == 0 and "!! erased:" in shown.output and "charge_session" in shown.output
    assert a not in shown.output.replace(f"client_id={a}", "")  # only the opaque id an event names

    # B is untouched: every payload of B's session decodes.
    b_census = await census(stack, [session_workflow_id(b_paid)], b)
    assert b_census.erased == 0 and b_census.personal_decoded > 0
    b_history = (await http.get(f"/v1/sessions/{b_paid}/history")).json()
    assert b_history["erased_payloads"] == 0 and b_history["events"][0]["detail"]["client_id"] == b

    # The books: A's charges and refunds from the kept facts, as before, and as Stripe has them.
    ledger_after = await client_ledger(stack.client, a)
    assert ledger_after == ledger_before
    charged = [(m.payment_intent_id, m.amount_minor, m.currency) for m in ledger_after if m.kind == "charge"]
    refunds = sorted((m.refund_id, m.amount_minor, m.currency) for m in ledger_after if m.kind == "refund")
    [intent] = [c for c in standin.payment_intents(metadata_session_id=a_paid) if c["status"] == "succeeded"]
    assert charged == [(intent["id"], intent["amount"], intent["currency"])] == [(intent["id"], 6000, "gbp")]
    assert refunds == sorted(
        (r["id"], r["amount"], "gbp") for r in standin.refunds(payment_intent=intent["id"])
    )
    assert sorted(amount for _, amount, _ in refunds) == [1000, 2000]
    moved = [(m.kind, m.amount_minor, m.currency, m.payment_intent_id, m.refund_id) for m in ledger_after]
    print(f"A's ledger after the erasure: {moved}")  # noqa: T201

    # Again: nothing changes, the first record answers; the record holds no client id.
    kms_dir = Path(stack.cli_env["SESSIONFLOW_KMS_DIR"])
    files_before = snapshot(kms_dir)
    again = await invoke(stack, "clients", "erase", a, "--yes")
    assert again.exit_code == 0 and "already erased" in again.output, again.output
    through_api = await http.post(f"/v1/clients/{a}/erasure", json={})
    assert through_api.status_code == 200, through_api.text
    assert through_api.json()["already_erased"] is True and through_api.json()["erasure_id"] in again.output
    by_therapist = await http.post(
        f"/v1/clients/{a}/erasure", json={}, headers={"Acting-Party": "therapist:thr_1"}
    )
    assert by_therapist.status_code == 409 and by_therapist.json()["code"] == "not_allowed"
    assert snapshot(kms_dir) == files_before
    [record_file] = (kms_dir / "erasures").glob("era_*.json")
    record = json.loads(record_file.read_text())
    assert record["erasure_id"] in erased.output and record["erasure_id"] in again.output
    assert a not in record_file.read_text() and record["client_hash"] == client_hash(stack.settings, a)
    assert (record["sessions"], record["data_keys_destroyed"]) == (3, 3)
    # The detail view (a query the worker cannot answer without the key) says so, not a 500: the
    # 404 of a session that is no more, with its own code (a 410 read as "a schema-valid request
    # rejected" to a fuzzer that erased the client itself). So does every other session route.
    detail = await http.get(f"/v1/sessions/{a_paid}")
    assert detail.status_code == 404 and detail.json()["code"] == "erased", detail.text
    evidence = await http.get(
        f"/v1/sessions/{a_paid}/dispute-evidence", headers={"Acting-Party": "admin:adm_1"}
    )
    assert evidence.status_code == 404 and evidence.json()["code"] == "erased", evidence.text
    cancel = await http.post(
        f"/v1/sessions/{a_paid}/cancel",
        json={"requested_by": "admin", "reason": "other"},
        headers={"Acting-Party": "admin:adm_1", "Idempotency-Key": f"erased-{a_paid}"},
    )
    assert cancel.status_code == 404 and cancel.json()["code"] == "erased", cancel.text
    stranger = await http.get(f"/v1/sessions/{a_paid}", headers={"Acting-Party": "client:cli_stranger"})
    assert stranger.status_code == 404


async def test_a_payment_the_client_made_in_their_browser_stays_in_the_ledger_after_the_erasure(
    stack: Stack, standin: StripeStandIn
) -> None:
    """A client-present payment (3-D Secure completed in the browser, settled by Stripe's
    webhook) is money the marketplace must account for: the ledger lists it from the kept facts,
    before the erasure and after it, with its amount, currency and PaymentIntent."""
    standin.configure_webhook(
        f"{str(stack.http.base_url).rstrip('/')}/v1/stripe/webhook",
        stack.settings.stripe_webhook_secret.get_secret_value(),
    )
    try:
        c = unique("cli")
        session_id = await book(
            stack.http, BookingKind.THERAPIST_MANUAL, 10 * HOUR, c, "pm_card_authenticationRequired"
        )
        await wait_for_status(stack.http, session_id, "awaiting_client_action")
        [intent] = standin.payment_intents(metadata_session_id=session_id)
        standin.authenticate_on_session(intent["id"])
        await wait_for_status(stack.http, session_id, "paid")
        cancelled = await stack.http.post(
            f"/v1/sessions/{session_id}/cancel",
            json={"requested_by": "therapist", "reason": "therapist_unavailable"},
            headers=key(),
        )
        assert cancelled.status_code == 200, cancelled.text
        await asyncio.wait_for(
            stack.client.get_workflow_handle(session_workflow_id(session_id)).result(), WAIT
        )
    finally:
        standin.configure_webhook(None, None)

    paid = standin.payment_intents(metadata_session_id=session_id)[0]
    charge = ("charge", paid["amount"], paid["currency"], paid["id"], None)
    before = [
        (m.kind, m.amount_minor, m.currency, m.payment_intent_id, m.refund_id)
        for m in await client_ledger(stack.client, c)
    ]
    assert charge in before, before
    assert [row[0] for row in before].count("charge") == 1  # the webhook and the charge's own result once

    erased = await invoke(stack, "clients", "erase", c, "--yes")
    assert erased.exit_code == 0, erased.output

    after = [
        (m.kind, m.amount_minor, m.currency, m.payment_intent_id, m.refund_id)
        for m in await client_ledger(stack.client, c)
    ]
    assert after == before
