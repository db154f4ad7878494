"""Stripe webhooks: verify the signature on the raw body, map the event, signal the session.

Not bearer-authenticated: Stripe signs every delivery (``Stripe-Signature``, HMAC-SHA256 with the
endpoint's ``whsec_…`` secret, at most 5 minutes old). The answer is fast — a describe and one
signal, no waiting on the workflow, and no signal at all for a fact the session provably has (the
describe, which is not billed, shows it: ``domain.payment_facts``) — and its status tells Stripe
what to do: 2xx stops the retries (handled, already known, a duplicate, not ours, or a session that
no longer exists), 401 (a signature that does not verify) and 400 (a signed body that is no event)
are deliveries we will never accept, 503 asks Stripe to retry later
(Temporal unreachable). Only opaque ids are logged, never payloads.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import OrderedDict
from datetime import UTC, datetime, timedelta
from typing import Annotated

import stripe
from fastapi import APIRouter, Depends, Request, status
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader
from pydantic import BaseModel
from temporalio.service import RPCError, RPCStatusCode

from api.account_events import ACCOUNT_UPDATED, account_updated
from api.deps import AppSettings, TemporalClient
from api.errors import RETRY_AFTER_SECONDS, ErrorBody, error_response
from api.stripe_confirmation import StripeUnavailable, confirmed_dispute, confirmed_event
from contract.session import SESSION_DISPUTE_EVENT, SESSION_PAYMENT_EVENT, SESSION_STATE
from domain.disputes import DISPUTE_EVENT_TYPES, DisputeFact, belongs_to
from domain.ids import is_opaque_id
from domain.payment_facts import KnownFact, known_fact
from domain.payments import PaymentEvent, payment_event_from_stripe
from domain.session_disputes import session_payment_intents
from observability.metrics import ERASED_SESSION_MONEY_EVENTS
from settings import Settings
from stripe_client import build_stripe_client
from temporal_client.codec import PayloadErasedError, session_erased
from temporal_client.erasure import erasure_of_session
from temporal_client.messages import query_workflow, signal_workflow
from temporal_client.refunds_client import dispute_closed_session
from temporal_client.session_client import describe_session, session_handle

log = logging.getLogger("sessionflow.api.stripe")

SIGNATURE_TOLERANCE_SECONDS = 300
RECENT_EVENT_IDS = 10_000
# A describe or a signal is answered in milliseconds; past this Stripe gets a 503 and delivers again
# (Stripe itself waits only a few seconds for an answer before counting the delivery as failed).
SIGNAL_RPC_TIMEOUT = timedelta(seconds=3)
# A payment event can beat the charge's own answer to the session (the stand-in sends it at once;
# Stripe within seconds): the route watches the session, unbilled, this long before it signals.
CHARGE_ANSWER_GRACE = timedelta(seconds=2)
CHARGE_ANSWER_POLL = timedelta(milliseconds=100)
# Stripe's events are a few kilobytes; anything far larger is not one, and is not read whole.
MAX_BODY_BYTES = 256 * 1024


class WebhookAck(BaseModel):
    """The delivery was received: Stripe stops retrying it."""

    received: bool = True
    handled: bool | None = None
    """True when the session has the fact (signalled now, or ``already_known``); false when the
    event is not for a live session."""
    already_known: bool | None = None
    """True when the session provably had this fact already: nothing was signalled (a signal is a
    billed Action; the describe that tells is not)."""
    duplicate: bool | None = None
    """True when this event id was acknowledged recently (nothing is signalled again)."""


class RecentEventIds:
    """A bounded, in-process LRU of acknowledged event ids.

    Only a cheap first filter for Stripe's at-least-once redeliveries: it is per process and lost
    on restart. The session workflow deduplicates by event id durably, so a duplicate that gets
    past this (another replica, a restart, two deliveries in flight at once) changes nothing.
    """

    def __init__(self, capacity: int = RECENT_EVENT_IDS) -> None:
        self._capacity = capacity
        self._ids: OrderedDict[str, None] = OrderedDict()

    def seen(self, event_id: str) -> bool:
        if event_id not in self._ids:
            return False
        self._ids.move_to_end(event_id)
        return True

    def add(self, event_id: str) -> None:
        self._ids[event_id] = None
        self._ids.move_to_end(event_id)
        while len(self._ids) > self._capacity:
            self._ids.popitem(last=False)

    def __len__(self) -> int:
        return len(self._ids)


def _recent_event_ids(request: Request) -> RecentEventIds:
    """One LRU per app, created on first use (no await in between: no race on the event loop)."""
    state = request.app.state
    recent: RecentEventIds | None = getattr(state, "stripe_recent_event_ids", None)
    if recent is None:
        recent = RecentEventIds()
        state.stripe_recent_event_ids = recent
    return recent


def _stripe_client(request: Request, settings: Settings) -> stripe.StripeClient:
    """One Stripe client per app (its HTTP connection pool is reused across deliveries)."""
    state = request.app.state
    client: stripe.StripeClient | None = getattr(state, "stripe_client", None)
    if client is None:
        client = build_stripe_client(settings, getattr(state, "tracer_provider", None))
        state.stripe_client = client
    return client


async def _read_body(request: Request) -> bytes | None:
    """The raw body, or None when it is larger than any Stripe event."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            return None
    return bytes(body)


ERRORS: dict[int | str, dict[str, object]] = {
    400: {
        "model": ErrorBody,
        "description": "`bad_payload`: the signed body is not a Stripe event. Nothing was signalled.",
    },
    401: {
        "model": ErrorBody,
        "description": "`bad_signature`: the Stripe-Signature header is missing, wrong or older than "
        "5 minutes (`WWW-Authenticate: Stripe-Signature`). Nothing was signalled.",
    },
    413: {"model": ErrorBody, "description": "`too_large`: the body is larger than any Stripe event"},
    503: {
        "model": ErrorBody,
        "description": "Temporal or Stripe unreachable; Stripe delivers the event again",
    },
}

router = APIRouter(prefix="/v1/stripe", tags=["stripe"], responses=ERRORS)

# Stripe's signature is this route's credential, so the OpenAPI states it as the operation's security
# scheme (not as a plain header): a client, a generator or a fuzzer then knows a request without a
# valid one is refused as unauthenticated, whatever its body.
stripe_signature_scheme = APIKeyHeader(
    name="Stripe-Signature",
    scheme_name="StripeSignature",
    description="Stripe's HMAC-SHA256 signature of the raw body with the endpoint's `whsec_…` "
    "secret (`t=…,v1=…`), at most 5 minutes old",
    auto_error=False,
)

# The body is read raw (the signature covers its exact bytes), so it is documented here.
_REQUEST_BODY = {
    "requestBody": {
        "required": True,
        "description": "a Stripe v1 snapshot event, exactly as Stripe sent it",
        # What the route reads before anything else: a signed object without an event id or a
        # string type is `400 bad_payload`, so the schema requires both.
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["id", "type"],
                    "properties": {
                        "id": {"type": "string", "minLength": 1, "description": "the event's id, `evt_…`"},
                        "type": {"type": "string", "description": "e.g. `payment_intent.succeeded`"},
                    },
                }
            }
        },
    }
}


def _no_open_session(recent: RecentEventIds, event_id: str) -> WebhookAck:
    # No such session, or it has closed: acknowledge, or Stripe retries for days in vain.
    log.info("stripe event for no open session", extra={"event_id": event_id})
    recent.add(event_id)
    return WebhookAck(handled=False)


async def _known_once_charged(
    client: TemporalClient, session_id: str, fact: PaymentEvent
) -> KnownFact | None:
    """Whether the session knows ``fact`` once the charge under way has answered, waiting at most
    ``CHARGE_ANSWER_GRACE`` (a bounded, unbilled wait; Stripe is answered well within its own
    timeout). None: signal it, as any fact the session may not have."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + CHARGE_ANSWER_GRACE.total_seconds()
    while loop.time() < deadline:
        await asyncio.sleep(CHARGE_ANSWER_POLL.total_seconds())
        try:
            described = await describe_session(client, session_id, rpc_timeout=SIGNAL_RPC_TIMEOUT)
        except RPCError:
            return None
        if not described.running:
            return None
        known = known_fact(fact, described.status, described.payment_intent_id)
        if known is not None or not described.charging:
            return known
    return None


def _stripe_unavailable() -> JSONResponse:
    return error_response(
        status.HTTP_503_SERVICE_UNAVAILABLE,
        "stripe_unavailable",
        "Stripe could not confirm the event; deliver it again later",
        **{"Retry-After": RETRY_AFTER_SECONDS},
    )


def _signing_secrets(settings: Settings) -> list[str]:
    secrets = [settings.stripe_webhook_secret.get_secret_value()]
    if settings.stripe_connect_webhook_secret is not None:
        secrets.append(settings.stripe_connect_webhook_secret.get_secret_value())
    return secrets


def _verified(raw: bytes, signature: str, settings: Settings) -> bool:
    """Signed by the platform's endpoint or by its Connect endpoint (the connected accounts')."""
    for secret in _signing_secrets(settings):
        try:
            stripe.Webhook.construct_event(raw, signature, secret, tolerance=SIGNATURE_TOLERANCE_SECONDS)
        except stripe.SignatureVerificationError:
            continue
        return True
    return False


def _bad_signature(message: str) -> JSONResponse:
    return error_response(
        status.HTTP_401_UNAUTHORIZED, "bad_signature", message, **{"WWW-Authenticate": "Stripe-Signature"}
    )


def _bad_payload() -> JSONResponse:
    return error_response(status.HTTP_400_BAD_REQUEST, "bad_payload", "the body is not a Stripe event")


@router.post(
    "/webhook",
    operation_id="receiveStripeWebhook",
    response_model=WebhookAck,
    response_model_exclude_none=True,
    openapi_extra=_REQUEST_BODY,
)
async def stripe_webhook(
    request: Request,
    client: TemporalClient,
    settings: AppSettings,
    stripe_signature: Annotated[str | None, Depends(stripe_signature_scheme)],
) -> WebhookAck | JSONResponse:
    """Receive a Stripe event: `payment_intent.succeeded`, `payment_intent.payment_failed`,
    `charge.refunded` and `charge.dispute.created / updated / closed` for a session's
    PaymentIntent reach its workflow once Stripe confirms them; `account.updated` (a Connect event)
    about a therapist's connected account is read back from Stripe and pauses or resumes their
    practice (held charges then run); anything else is acknowledged and ignored."""
    if not stripe_signature:
        return _bad_signature("the Stripe-Signature header is missing")
    raw = await _read_body(request)
    if raw is None:
        return error_response(
            status.HTTP_413_CONTENT_TOO_LARGE, "too_large", "the body is larger than any Stripe event"
        )
    try:
        verified = _verified(raw, stripe_signature, settings)
    except (ValueError, AttributeError):
        # Not UTF-8 (found before the signature is checked), not JSON (ValueError), or JSON
        # that is not an object (the SDK then fails with AttributeError).
        return _bad_payload()
    if not verified:
        log.warning("stripe webhook with a bad signature rejected")
        return _bad_signature("the Stripe-Signature header does not verify")

    # The raw JSON, not the StripeObject: the mapping reads plain dicts.
    event = json.loads(raw)
    event_id = event.get("id")
    event_type = event.get("type")
    if not isinstance(event_id, str) or not event_id or not isinstance(event_type, str):
        return _bad_payload()

    recent = _recent_event_ids(request)
    if recent.seen(event_id):
        log.info("stripe event already acknowledged", extra={"event_id": event_id})
        return WebhookAck(duplicate=True)
    if event_type == ACCOUNT_UPDATED:
        # A connected account can, or can no longer, take charges (api/account_events.py).
        try:
            handled = await account_updated(client, _stripe_client(request, settings), event, event_id)
        except StripeUnavailable:
            return _stripe_unavailable()
        recent.add(event_id)
        return WebhookAck(handled=handled)

    if event_type in DISPUTE_EVENT_TYPES:
        return await _dispute_event(request, client, settings, event, recent)

    try:
        mapped = payment_event_from_stripe(event)
    except ValueError:  # pydantic's ValidationError included
        log.warning("stripe event not understood", extra={"event_id": event_id, "event_type": event_type})
        return _bad_payload()
    if mapped is None or not is_opaque_id(mapped[0]):
        log.info("stripe event ignored", extra={"event_id": event_id, "event_type": event_type})
        recent.add(event_id)
        return WebhookAck(handled=False)

    claimed_session_id = mapped[0]
    try:
        confirmed = await confirmed_event(_stripe_client(request, settings), event)
    except StripeUnavailable:
        return _stripe_unavailable()
    try:
        mapped = payment_event_from_stripe(confirmed) if confirmed is not None else None
    except ValueError:
        mapped = None
    if mapped is None or mapped[0] != claimed_session_id:
        # Signed, yet Stripe has no such payment, a different outcome or another session.
        log.warning(
            "stripe event not confirmed by stripe", extra={"event_id": event_id, "event_type": event_type}
        )
        recent.add(event_id)
        return WebhookAck(handled=False)

    session_id, fact = mapped
    try:
        described = await describe_session(client, session_id, rpc_timeout=SIGNAL_RPC_TIMEOUT)
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise  # api.errors: unavailable or timed out → 503 (Stripe retries), else 500
        described = None
    if described is None or not described.running:
        return _no_open_session(recent, event_id)
    known = known_fact(fact, described.status, described.payment_intent_id)
    if known is None and described.charging:
        # Stripe can deliver a charge's event before the charge's own answer has reached the
        # session: describes (not billed) for a moment tell whether that answer settles it.
        known = await _known_once_charged(client, session_id, fact)
    if known is not None:
        # The session would change nothing: the signal (a billed Action) is saved.
        log.info(
            "stripe event already known to the session",
            extra={"event_id": event_id, "event_type": event_type, "session_id": session_id, "known": known},
        )
        recent.add(event_id)
        return WebhookAck(handled=True, already_known=True)
    try:
        await signal_workflow(
            session_handle(client, session_id), SESSION_PAYMENT_EVENT, fact, rpc_timeout=SIGNAL_RPC_TIMEOUT
        )
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise  # api.errors: unavailable or timed out → 503 (Stripe retries), else 500
        return _no_open_session(recent, event_id)  # it closed since the describe
    log.info(
        "stripe event signalled",
        extra={"event_id": event_id, "event_type": event_type, "session_id": session_id},
    )
    recent.add(event_id)
    return WebhookAck(handled=True)


async def _dispute_of_the_session(client: TemporalClient, session_id: str, fact: DisputeFact) -> bool:
    """Whether the confirmed dispute is of a payment the session knows, on its account.

    Stripe found the dispute's PaymentIntent under the event's account, and PaymentIntent ids are
    unique: one equal to the session's ``SessionPaymentIntent`` (a describe, not billed) is the
    session's own charge on the session's account. Anything else (an extra payment, a session
    from before the attribute, one not paid yet) is checked on the session's ledger: a query of
    its workflow (billed; disputes are rare), running or closed, with ``domain.disputes.belongs_to``.
    The workflows check it again (``disputes-by-id``). An unknown session: the signal path decides.
    """
    try:
        described = await describe_session(client, session_id, rpc_timeout=SIGNAL_RPC_TIMEOUT)
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise
        return True  # no such session: nothing to protect; the closed-session path refuses it
    if described.payment_intent_id is not None and described.payment_intent_id == fact.payment_intent_id:
        return True
    state = await query_workflow(session_handle(client, session_id), SESSION_STATE)
    return belongs_to(fact, state.payment.connected_account_id, session_payment_intents(state.payment))


async def _dispute_event(
    request: Request,
    client: TemporalClient,
    settings: Settings,
    event: dict[str, object],
    recent: RecentEventIds,
) -> WebhookAck | JSONResponse:
    """``charge.dispute.created / updated / closed``: confirmed with Stripe (the Dispute and its
    PaymentIntent, on the event's connected account if any), then signalled to the session the
    PaymentIntent's ``metadata.session_id`` names. A session whose workflow has closed cannot be
    signalled: its refunds workflow takes the fact (signal-with-start, from the session's final
    ledger); a session that did not complete or is past its refund period is acknowledged and
    logged for ops (README, "Disputes")."""
    event_id = str(event.get("id"))
    event_type = event.get("type")
    try:
        confirmed = await confirmed_dispute(_stripe_client(request, settings), dict(event))
    except StripeUnavailable:
        return error_response(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            "stripe_unavailable",
            "Stripe could not confirm the event; deliver it again later",
            **{"Retry-After": RETRY_AFTER_SECONDS},
        )
    if confirmed is None or not is_opaque_id(confirmed[0]):
        log.info("stripe dispute event ignored", extra={"event_id": event_id, "event_type": event_type})
        recent.add(event_id)
        return WebhookAck(handled=False)
    session_id, fact = confirmed
    ids: dict[str, object] = {
        "event_id": event_id,
        "event_type": event_type,
        "session_id": session_id,
        "dispute_id": fact.dispute_id,
        "dispute_status": fact.status.value,
    }
    if await asyncio.to_thread(session_erased, client.data_converter, session_id):
        return await _erased_session_dispute(client, settings, recent, session_id, ids)
    try:
        return await _dispute_of_a_readable_session(client, settings, recent, session_id, fact, ids)
    except PayloadErasedError:  # erased while this delivery was answered
        return await _erased_session_dispute(client, settings, recent, session_id, ids)


async def _erased_session_dispute(
    client: TemporalClient,
    settings: Settings,
    recent: RecentEventIds,
    session_id: str,
    ids: dict[str, object],
) -> WebhookAck:
    """The session's client was erased: its ledger and evidence went with its key, so nothing
    can take the dispute (a refunds workflow's input would be the session's, which can no longer
    be written). Acknowledged — Stripe's retries cannot change it — and handed to ops: a WARNING
    with opaque ids (the dispute, the session, the erasure) and
    ``sessionflow_erased_session_money_events_total{kind="dispute"}``. Ops answer the dispute in
    Stripe from the kept facts (deploy/runbooks/erasure-request.md)."""
    erasure_id = await erasure_of_session(client, settings, session_id)
    log.warning(
        "stripe dispute for an erased client's session: ops answer it in stripe",
        extra={**ids, "erasure_id": erasure_id},
    )
    ERASED_SESSION_MONEY_EVENTS.labels(kind="dispute").inc()
    recent.add(str(ids["event_id"]))
    return WebhookAck(handled=False)


async def _dispute_of_a_readable_session(
    client: TemporalClient,
    settings: Settings,
    recent: RecentEventIds,
    session_id: str,
    fact: DisputeFact,
    ids: dict[str, object],
) -> WebhookAck:
    event_id = str(ids["event_id"])
    if not await _dispute_of_the_session(client, session_id, fact):
        # Any connected account can write a session's id into its own PaymentIntent's metadata:
        # its dispute must never hold that session's refunds, reach its therapist or get its
        # evidence. Ops hear of it (opaque ids); Stripe's retries cannot change it.
        log.warning("stripe dispute not of the session's payment ignored", extra=ids)
        recent.add(event_id)
        return WebhookAck(handled=False)
    try:
        await signal_workflow(
            session_handle(client, session_id), SESSION_DISPUTE_EVENT, fact, rpc_timeout=SIGNAL_RPC_TIMEOUT
        )
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise  # api.errors: unavailable or timed out → 503 (Stripe retries), else 500
    else:
        log.info("stripe dispute event signalled", extra=ids)
        recent.add(event_id)
        return WebhookAck(handled=True)
    # The session's workflow has closed (most disputes come weeks later): its refunds workflow
    # takes the fact, so a refund of the closed session is held too and the therapist is told.
    try:
        taken = await dispute_closed_session(
            client, session_id, fact, task_queue=settings.task_queue, now=datetime.now(UTC)
        )
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise
        taken = False
    if not taken:
        # No such session, one that failed, or past its refund period: Stripe's retries cannot
        # help. Ops settle it (the evidence export still works); Stripe refuses refunds meanwhile.
        log.warning("stripe dispute for a closed session", extra=ids)
        recent.add(event_id)
        return WebhookAck(handled=False)
    log.info("stripe dispute event given to the closed session's refunds workflow", extra=ids)
    recent.add(event_id)
    return WebhookAck(handled=True)
