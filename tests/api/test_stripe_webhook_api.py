"""The Stripe webhook endpoint over real HTTP: the stand-in signs and delivers to the API, which
verifies the raw body, signals the session once and acknowledges duplicates without signalling."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any, cast

import httpx
import pytest
import stripe
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from api.app import create_app
from contract.search_attributes import PAYMENT_INTENT
from contract.session import SessionHandle
from dev.stripe_standin import StripeStandIn
from domain.status import BookingKind, SessionStatus
from settings import Settings
from tests.api.serving import serving
from tests.workflows.support import (
    HOUR,
    WAIT,
    advance_to,
    event_types,
    history_at_rest,
    make_booking,
    real_now,
    start,
    state_of,
    succeeded_charges,
    unique,
    wait_for_state,
)

WEBHOOK = "/v1/stripe/webhook"


def secret_of(settings: Settings) -> str:
    return settings.stripe_webhook_secret.get_secret_value()


def stripe_event(event_type: str, obj: dict[str, Any], event_id: str | None = None) -> bytes:
    event = {
        "id": event_id or unique("evt"),
        "object": "event",
        "api_version": "2026-01-28.clover",
        "created": int(time.time()),
        "data": {"object": obj},
        "livemode": False,
        "type": event_type,
    }
    return json.dumps(event, indent=2).encode()


def succeeded_intent(session_id: str) -> dict[str, Any]:
    return {
        "id": unique("pi"),
        "object": "payment_intent",
        "amount": 6000,
        "currency": "gbp",
        "status": "succeeded",
        "metadata": {"session_id": session_id},
    }


async def real_succeeded_intent(stripe_client: stripe.StripeClient, session_id: str) -> dict[str, Any]:
    """A PaymentIntent that really succeeded in the stand-in, as Stripe would put it in an event."""
    intent = await stripe_client.v1.payment_intents.create_async(
        params={
            "amount": 6000,
            "currency": "gbp",
            "payment_method": "pm_card_visa",
            "confirm": True,
            # A card-only checkout: the page pays in place and is redirected nowhere.
            "automatic_payment_methods": {"enabled": True, "allow_redirects": "never"},
            "metadata": {"session_id": session_id},
        }
    )
    assert intent.status == "succeeded"
    return intent.to_dict()


def signed(payload: bytes, secret: str, timestamp: int | None = None) -> dict[str, str]:
    header = stripe.WebhookSignature.generate_signature_header(payload.decode(), secret, timestamp)
    return {"Stripe-Signature": str(header), "Content-Type": "application/json"}


@pytest.fixture
def webhooks_to_api(standin: StripeStandIn, api_url: str, settings: Settings) -> Iterator[None]:
    """The session-wide stand-in delivers this test's events to the API under test."""
    standin.configure_webhook(f"{api_url}{WEBHOOK}", secret_of(settings))
    try:
        yield
    finally:
        standin.configure_webhook(None, None)


@pytest.fixture
async def stripe_http(api_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """Like Stripe: no bearer token."""
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as client:
        yield client


async def test_an_on_session_payment_settles_the_session_once_through_the_api(
    env: WorkflowEnvironment,
    worker: Worker,
    standin: StripeStandIn,
    settings: Settings,
    webhooks_to_api: None,
    stripe_http: httpx.AsyncClient,
) -> None:
    booking = make_booking(start=real_now() + 72 * HOUR, payment_method="pm_card_authenticationRequired")
    handle = await start(env.client, booking, worker.task_queue)
    await advance_to(env, handle, booking.start - 47 * HOUR)
    waiting = await wait_for_state(
        handle, lambda s: s.status is SessionStatus.AWAITING_CLIENT_ACTION, "the SCA decline"
    )
    intent_id = waiting.payment.payment_intent_id
    assert intent_id is not None

    standin.authenticate_on_session(intent_id)  # the stand-in POSTs payment_intent.succeeded
    paid = await wait_for_state(handle, lambda s: s.status is SessionStatus.PAID, "the webhook")
    [succeeded] = [
        e
        for e in standin.events(type="payment_intent.succeeded")
        if e["data"]["object"]["metadata"].get("session_id") == booking.session_id
    ]
    # Stripe delivers at least once: the same bytes, freshly signed, three more times. The
    # stand-in posts synchronously, so off the event loop that serves the API.
    statuses = await asyncio.to_thread(standin.deliver_event, succeeded["id"], 3)
    payload = json.dumps(succeeded).encode()
    again = await stripe_http.post(WEBHOOK, content=payload, headers=signed(payload, secret_of(settings)))

    assert statuses == [200, 200, 200]
    assert again.status_code == 200 and again.json() == {"received": True, "duplicate": True}
    first = [d for d in standin.deliveries if d.event_id == succeeded["id"] and not d.manual]
    assert [d.status for d in first] == [200]
    assert paid.payment.amount_paid_minor == booking.amount_minor
    assert len(succeeded_charges(standin, booking.session_id)) == 1
    # One signal per distinct event the session does not provably have: the success; the SCA
    # decline's payment_failed is not signalled (a session holding no money ignores it:
    # domain.payment_facts), and none of the four duplicates reached the workflow.
    session_events = [
        e
        for e in standin.events()
        if (e["data"]["object"].get("metadata") or {}).get("session_id") == booking.session_id
    ]
    assert succeeded["id"] in {e["id"] for e in session_events}
    news = [e for e in session_events if e["type"] != "payment_intent.payment_failed"]
    history = await event_types(handle)
    assert history.count("WORKFLOW_EXECUTION_SIGNALED") == len(news)
    final = await wait_for_state(handle, lambda s: s.status is SessionStatus.PAID, "still paid")
    assert len(final.payment.attempts) == 1


async def test_the_checkout_payment_of_a_prepaid_session_is_not_signalled_again(
    env: WorkflowEnvironment,
    worker: Worker,
    settings: Settings,
    stripe_client: stripe.StripeClient,
    stripe_http: httpx.AsyncClient,
) -> None:
    # The checkout's payment_intent.succeeded arrives just after the booking: the session starts
    # paid with that PaymentIntent published (set at start, free), so the describe tells.
    session_id = unique("ses")
    intent = await real_succeeded_intent(stripe_client, session_id)
    booking = make_booking(
        BookingKind.INITIAL_PREPAID,
        start=real_now() + 100 * HOUR,
        session_id=session_id,
        prepaid_payment_intent_id=intent["id"],
    )
    handle = await start(env.client, booking, worker.task_queue)
    payload = stripe_event("payment_intent.succeeded", intent)

    answer = await stripe_http.post(WEBHOOK, content=payload, headers=signed(payload, secret_of(settings)))

    assert answer.status_code == 200
    assert answer.json() == {"received": True, "handled": True, "already_known": True}
    assert "WORKFLOW_EXECUTION_SIGNALED" not in await history_at_rest(handle)
    assert (await state_of(handle)).status is SessionStatus.PAID


async def test_a_payment_the_session_already_knows_is_not_signalled_again(
    env: WorkflowEnvironment,
    worker: Worker,
    standin: StripeStandIn,
    settings: Settings,
    webhooks_to_api: None,
) -> None:
    # Charged off-session at start − 48 h: the stand-in delivers payment_intent.succeeded while the
    # charge is in flight (the session is not paid yet: signalled). Stripe delivers it again later
    # to another replica (whose recent-event filter never saw it): the session, now paid with that
    # PaymentIntent and publishing it, already has it. Needs the lean lifecycle's workflow, which
    # upserts SessionPaymentIntent together with paid.
    booking = make_booking(start=real_now() + 72 * HOUR)
    handle = await start(env.client, booking, worker.task_queue)
    await advance_to(env, handle, booking.start - 47 * HOUR)
    paid = await wait_for_state(handle, lambda s: s.status is SessionStatus.PAID, "the charge")
    [succeeded] = [
        e
        for e in standin.events(type="payment_intent.succeeded")
        if e["data"]["object"]["metadata"].get("session_id") == booking.session_id
    ]
    assert succeeded["data"]["object"]["id"] == paid.payment.payment_intent_id
    await _published_payment_intent(handle, succeeded["data"]["object"]["id"])
    signals_before = (await event_types(handle)).count("WORKFLOW_EXECUTION_SIGNALED")
    payload = json.dumps(succeeded).encode()

    replica = create_app(settings.model_copy(update={"task_queue": worker.task_queue}), client=env.client)
    async with serving(replica) as url, httpx.AsyncClient(base_url=url, timeout=WAIT) as other:
        again = await other.post(WEBHOOK, content=payload, headers=signed(payload, secret_of(settings)))

    assert again.status_code == 200
    assert again.json() == {"received": True, "handled": True, "already_known": True}
    assert (await event_types(handle)).count("WORKFLOW_EXECUTION_SIGNALED") == signals_before


async def test_a_declined_charge_is_not_signalled_to_a_session_holding_no_money(
    env: WorkflowEnvironment,
    worker: Worker,
    standin: StripeStandIn,
    webhooks_to_api: None,
) -> None:
    # The charge activity reports the decline itself; the payment_failed webhook moves nothing in a
    # session that holds no money (no refused refund or void can wait on it): no signal.
    booking = make_booking(
        start=real_now() + 72 * HOUR, payment_method="pm_card_chargeDeclinedInsufficientFunds"
    )
    handle = await start(env.client, booking, worker.task_queue)
    await advance_to(env, handle, booking.start - 47 * HOUR)
    await wait_for_state(handle, lambda s: s.status is SessionStatus.PAYMENT_FAILED, "the decline")
    [failed] = [
        e
        for e in standin.events(type="payment_intent.payment_failed")
        if e["data"]["object"]["metadata"].get("session_id") == booking.session_id
    ]

    delivered = await _delivered(standin, failed["id"])

    assert delivered == [200]  # answered after the signal would have been sent
    assert "WORKFLOW_EXECUTION_SIGNALED" not in await event_types(handle)


async def _delivered(standin: StripeStandIn, event_id: str) -> list[int | None]:
    """The statuses the API answered the stand-in's deliveries of ``event_id`` with (bounded)."""
    found: list[int | None] = []
    try:
        async with asyncio.timeout(WAIT):
            while not found:
                found = [d.status for d in standin.deliveries if d.event_id == event_id]
                if not found:
                    await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"{event_id} was never delivered") from None
    return found


async def _published_payment_intent(handle: SessionHandle, intent_id: str) -> None:
    """Wait (bounded) until the session's describe shows it was paid with ``intent_id``."""
    shown: str | None = None
    try:
        async with asyncio.timeout(WAIT):
            while shown != intent_id:
                description = await handle.describe(rpc_timeout=timedelta(seconds=WAIT))
                shown = description.typed_search_attributes.get(PAYMENT_INTENT)
                if shown != intent_id:
                    await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"SessionPaymentIntent is {shown!r}, not {intent_id!r}") from None


async def test_a_bad_signature_is_a_401_a_bad_body_a_400_and_neither_signals(
    env: WorkflowEnvironment,
    worker: Worker,
    settings: Settings,
    stripe_client: stripe.StripeClient,
    stripe_http: httpx.AsyncClient,
) -> None:
    booking = make_booking(start=real_now() + 100 * HOUR)
    handle = await start(env.client, booking, worker.task_queue)
    intent = await real_succeeded_intent(stripe_client, booking.session_id)
    payload = stripe_event("payment_intent.succeeded", intent)
    not_json = b"{not json"
    not_an_object = b"[1, 2]"
    typeless = b'{"id": "evt_typeless", "type": 5}'  # the schema requires a string type

    wrong_secret = await stripe_http.post(WEBHOOK, content=payload, headers=signed(payload, "whsec_other"))
    missing = await stripe_http.post(WEBHOOK, content=payload, headers={"Content-Type": "application/json"})
    garbled = await stripe_http.post(WEBHOOK, content=payload, headers={"Stripe-Signature": "t=x,v1=y"})
    stale = await stripe_http.post(
        WEBHOOK, content=payload, headers=signed(payload, secret_of(settings), int(time.time()) - 301)
    )
    tampered = await stripe_http.post(
        WEBHOOK,
        content=payload.replace(b"6000", b"6001"),
        headers=signed(payload, secret_of(settings)),
    )
    bad_json = await stripe_http.post(
        WEBHOOK, content=not_json, headers=signed(not_json, secret_of(settings))
    )
    bad_shape = await stripe_http.post(
        WEBHOOK, content=not_an_object, headers=signed(not_an_object, secret_of(settings))
    )

    # The signature is the sender's credential (the operation's StripeSignature security scheme).
    for rejected in (wrong_secret, missing, garbled, stale, tampered):
        assert rejected.status_code == 401 and rejected.json()["code"] == "bad_signature", rejected.text
        assert rejected.headers["WWW-Authenticate"] == "Stripe-Signature", rejected.headers
    bad_type = await stripe_http.post(
        WEBHOOK, content=typeless, headers=signed(typeless, secret_of(settings))
    )
    for rejected in (bad_json, bad_shape, bad_type):
        assert rejected.status_code == 400 and rejected.json()["code"] == "bad_payload", rejected.text
    assert "WORKFLOW_EXECUTION_SIGNALED" not in await event_types(handle)

    # The same event correctly signed afterwards was never marked as seen: it is handled.
    accepted = await stripe_http.post(WEBHOOK, content=payload, headers=signed(payload, secret_of(settings)))
    assert accepted.status_code == 200 and accepted.json() == {"received": True, "handled": True}
    assert (await event_types(handle)).count("WORKFLOW_EXECUTION_SIGNALED") == 1


async def test_an_event_type_we_do_not_handle_is_acknowledged(
    settings: Settings, stripe_http: httpx.AsyncClient
) -> None:
    payload = stripe_event("customer.created", {"id": unique("cus"), "object": "customer", "metadata": {}})
    headers = signed(payload, secret_of(settings))

    first = await stripe_http.post(WEBHOOK, content=payload, headers=headers)
    second = await stripe_http.post(WEBHOOK, content=payload, headers=headers)

    assert first.status_code == 200 and first.json() == {"received": True, "handled": False}
    assert second.status_code == 200 and second.json() == {"received": True, "duplicate": True}


async def test_an_event_without_a_session_or_for_an_unknown_session_is_acknowledged(
    settings: Settings, stripe_http: httpx.AsyncClient
) -> None:
    not_ours = stripe_event("payment_intent.succeeded", {**succeeded_intent("x"), "metadata": {}})
    unknown = stripe_event("payment_intent.succeeded", succeeded_intent(unique("ses")))
    not_an_id = stripe_event("payment_intent.succeeded", succeeded_intent("not an opaque id/.."))

    answers = [
        await stripe_http.post(WEBHOOK, content=body, headers=signed(body, secret_of(settings)))
        for body in (not_ours, unknown, not_an_id)
    ]

    for answer in answers:
        assert answer.status_code == 200 and answer.json() == {"received": True, "handled": False}


async def test_a_signed_event_stripe_does_not_confirm_changes_nothing(
    env: WorkflowEnvironment,
    worker: Worker,
    settings: Settings,
    stripe_client: stripe.StripeClient,
    stripe_http: httpx.AsyncClient,
) -> None:
    """Whoever holds the signing secret still cannot mark a session paid: Stripe is asked."""
    booking = make_booking(start=real_now() + 100 * HOUR)
    handle = await start(env.client, booking, worker.task_queue)
    another_sessions = await real_succeeded_intent(stripe_client, unique("ses"))
    unconfirmed = await stripe_client.v1.payment_intents.create_async(
        params={"amount": 6000, "currency": "gbp", "metadata": {"session_id": booking.session_id}}
    )
    forgeries = [
        succeeded_intent(booking.session_id),  # no such PaymentIntent at Stripe
        {**another_sessions, "metadata": {"session_id": booking.session_id}},
        {**unconfirmed.to_dict(), "status": "succeeded"},  # Stripe says requires_payment_method
    ]

    answers = []
    for forged in forgeries:
        payload = stripe_event("payment_intent.succeeded", forged)
        answers.append(
            await stripe_http.post(WEBHOOK, content=payload, headers=signed(payload, secret_of(settings)))
        )

    for answer in answers:
        assert answer.status_code == 200 and answer.json() == {"received": True, "handled": False}
    assert "WORKFLOW_EXECUTION_SIGNALED" not in await event_types(handle)
    state = await wait_for_state(handle, lambda s: s.status is SessionStatus.SCHEDULED, "unchanged")
    assert state.payment.amount_paid_minor == 0


async def test_stripe_unreachable_while_confirming_is_a_503_so_stripe_retries(settings: Settings) -> None:
    cut_off = settings.model_copy(update={"stripe_api_base": "http://127.0.0.1:9"})  # nothing listens
    app = create_app(cut_off, client=cast(Client, _Unreachable()))
    payload = stripe_event("payment_intent.succeeded", succeeded_intent(unique("ses")))

    async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=WAIT) as http:
        answer = await http.post(WEBHOOK, content=payload, headers=signed(payload, secret_of(cut_off)))

    assert answer.status_code == 503 and answer.json()["code"] == "stripe_unavailable"
    assert answer.headers["Retry-After"]


async def test_an_oversized_body_or_an_impossible_time_is_refused_not_a_500(
    settings: Settings, stripe_http: httpx.AsyncClient
) -> None:
    huge = b"{" + b" " * (300 * 1024) + b"}"
    impossible = json.dumps(
        {
            **json.loads(stripe_event("payment_intent.succeeded", succeeded_intent(unique("ses")))),
            "created": 1e20,
        }
    ).encode()

    too_large = await stripe_http.post(WEBHOOK, content=huge, headers=signed(huge, secret_of(settings)))
    bad_time = await stripe_http.post(
        WEBHOOK, content=impossible, headers=signed(impossible, secret_of(settings))
    )

    assert too_large.status_code == 413 and too_large.json()["code"] == "too_large"
    assert bad_time.status_code == 400 and bad_time.json()["code"] == "bad_payload"


class _Unreachable:
    """A Temporal client whose every call fails as when the cluster cannot be reached."""

    def __init__(self) -> None:
        self.calls = 0

    def get_workflow_handle(self, *_: object, **__: object) -> _Unreachable:
        return self

    async def describe(self, *_: object, **__: object) -> None:
        self.calls += 1
        raise RPCError("connection refused", RPCStatusCode.UNAVAILABLE, b"")

    async def signal(self, *_: object, **__: object) -> None:
        self.calls += 1
        raise RPCError("connection refused", RPCStatusCode.UNAVAILABLE, b"")


async def test_temporal_unreachable_is_a_503_so_stripe_retries(
    settings: Settings, stripe_client: stripe.StripeClient
) -> None:
    unreachable = _Unreachable()
    app = create_app(settings, client=cast(Client, unreachable))
    intent = await real_succeeded_intent(stripe_client, unique("ses"))
    payload = stripe_event("payment_intent.succeeded", intent)

    async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=WAIT) as http:
        answers = [
            await http.post(WEBHOOK, content=payload, headers=signed(payload, secret_of(settings)))
            for _ in range(2)
        ]

    for answer in answers:
        assert answer.status_code == 503 and answer.json()["code"] == "temporal_unavailable"
        assert answer.headers["Retry-After"]
    assert unreachable.calls == 2  # a failed delivery is not remembered as seen


async def test_the_openapi_documents_the_webhook(stripe_http: httpx.AsyncClient) -> None:
    spec = (await stripe_http.get("/openapi.json")).json()
    operation = spec["paths"][WEBHOOK]["post"]

    assert operation["tags"] == ["stripe"]
    # Not the bearer token: Stripe's signature is the credential, stated as the security scheme.
    assert operation["security"] == [{"StripeSignature": []}]
    scheme = spec["components"]["securitySchemes"]["StripeSignature"]
    assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "header", "Stripe-Signature")
    assert {"200", "400", "401", "503"} <= set(operation["responses"])
    assert "requestBody" in operation
