"""``account.updated``: a therapist's connected Stripe account can, or can no longer, take charges.

A Connect event (``event.account`` names the connected account). As with payment events, the
signed event is only a hint: the account is read back from Stripe (``GET /v1/accounts/{id}``) and
only its current ``charges_enabled`` and ``requirements.disabled_reason`` count, stamped with the
time of that read, so deliveries arriving out of order can never un-pause a practice (the practice
ignores a read older than the one it holds). The practice is found by its ``PaymentAccountId``
search attribute; it records the status (pausing tells the therapist, ``payments_paused``). While
the account can charge, every session of that therapist whose charge is held
(``payment_on_hold``) is woken with the ``payment_account_event`` signal and charges at once.

Visibility lags by a moment: a session held a moment before the resume (its charge was in flight
when charges were enabled again) may not be listed yet, so the held sessions are listed a second
time ``HELD_VISIBILITY_SETTLE`` later and the new ones woken too; one missed even then checks the
account itself at its next attempt instant. A practice whose account was set a moment ago is
found at the next ``account.updated`` — and ``PUT …/payment-account`` records the account's
status itself when it is set.
"""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import stripe
from fastapi import Request
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from api.stripe_confirmation import StripeUnavailable
from contract.ids import session_id_from_workflow_id, therapist_id_from_practice_workflow_id
from contract.practice import PRACTICE_RECORD_ACCOUNT_STATUS
from contract.session import SESSION_PAYMENT_ACCOUNT_EVENT
from contract.visibility import held_sessions_query, practices_by_account_query
from domain.payments import AccountChargesFact
from domain.practice import AccountStatusRecorded, RecordAccountStatus
from settings import Settings
from stripe_client import build_stripe_client
from temporal_client.messages import execute_update, signal_workflow
from temporal_client.practice_client import practice_handle
from temporal_client.session_client import session_handle

log = logging.getLogger("sessionflow.api.stripe")

ACCOUNT_UPDATED = "account.updated"
RPC_TIMEOUT = timedelta(seconds=3)
HELD_VISIBILITY_SETTLE = timedelta(seconds=1)
"""How long after waking the held sessions they are listed again (visibility's lag on a session
held just before the resume: milliseconds on the dev server, about a second on Temporal Cloud)."""
_ACCOUNT_ID = re.compile(r"^acct_[A-Za-z0-9_]{1,250}$")
_REASON = re.compile(r"^[a-z_.]{1,64}$")


def app_stripe_client(request: Request, settings: Settings) -> stripe.StripeClient:
    """One Stripe client per app, shared with the webhook route (its connection pool is reused)."""
    state = request.app.state
    client: stripe.StripeClient | None = getattr(state, "stripe_client", None)
    if client is None:
        client = build_stripe_client(settings, getattr(state, "tracer_provider", None))
        state.stripe_client = client
    return client


def account_of(event: dict[str, Any]) -> str | None:
    """The connected account an ``account.updated`` is about: ``event.account`` (a Connect
    event), else its object's id; None when neither is an ``acct_…`` id."""
    data = event.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    candidate = event.get("account") or (obj.get("id") if isinstance(obj, dict) else None)
    if not isinstance(candidate, str) or _ACCOUNT_ID.fullmatch(candidate) is None:
        return None
    return candidate


def _code(error: stripe.StripeError) -> str | None:
    # stripe-python leaves ``code`` unset on a 403: the code is in the error object Stripe sent.
    return (error.error.code if error.error is not None else None) or error.code


def not_connected(error: stripe.StripeError) -> bool:
    """Stripe knows no such account for us: a 403 ``account_invalid`` (not connected to this
    platform, or deleted), or a 400/404 naming it. Any other 403 is our key's fault."""
    return isinstance(error, stripe.InvalidRequestError) or (
        isinstance(error, stripe.PermissionError) and _code(error) == "account_invalid"
    )


async def read_account(stripe_client: stripe.StripeClient, account_id: str) -> RecordAccountStatus | None:
    """The account as Stripe says it is now; None when Stripe knows no such account for us
    (not connected to this platform, or deleted). Raises ``StripeUnavailable`` otherwise."""
    try:
        account = await stripe_client.v1.accounts.retrieve_async(account_id)
    except (stripe.InvalidRequestError, stripe.PermissionError) as exc:
        if not_connected(exc):
            return None
        # Any other 403 is our key lacking a permission (a restricted key): a configuration fault
        # for ops, never recorded as the account's pause. Stripe delivers again once it is fixed.
        log.error("stripe refused to show an account to our key", extra={"error_code": _code(exc)})
        raise StripeUnavailable from exc
    except stripe.StripeError as exc:
        log.warning("stripe could not confirm an account", extra={"error_type": type(exc).__name__})
        raise StripeUnavailable from exc
    requirements = account.requirements
    reason = requirements.disabled_reason if requirements is not None else None
    return RecordAccountStatus(
        account_id=account_id,
        charges_enabled=bool(account.charges_enabled),
        # A code only: anything that is not one (a future format) is dropped, never stored.
        disabled_reason=reason if isinstance(reason, str) and _REASON.fullmatch(reason) else None,
        observed_at=datetime.now(UTC),
    )


async def account_updated(
    client: Client, stripe_client: stripe.StripeClient, event: dict[str, Any], event_id: str
) -> bool:
    """Record Stripe's word on the account with its practice(s) and wake held sessions when it
    can charge. False when the event is about no practice's account (acknowledged, ignored).
    Raises ``StripeUnavailable`` or ``RPCError`` (Stripe delivers again: every step is idempotent —
    the practice answers a repeated event id with its first outcome, and a woken session that is
    no longer held ignores the signal)."""
    account_id = account_of(event)
    if account_id is None:
        return False
    status = await read_account(stripe_client, account_id)
    if status is None:
        log.warning("account.updated for an account Stripe does not show us", extra={"event_id": event_id})
        return False
    practices = [
        therapist_id_from_practice_workflow_id(execution.id)
        async for execution in client.list_workflows(
            practices_by_account_query(account_id), rpc_timeout=RPC_TIMEOUT
        )
    ]
    if not practices:
        log.info("account.updated for no practice's account", extra={"event_id": event_id})
        return False
    for therapist_id in sorted(practices):
        recorded: AccountStatusRecorded = await execute_update(
            practice_handle(client, therapist_id),
            PRACTICE_RECORD_ACCOUNT_STATUS,
            status,
            id=f"stripe:{event_id}",
        )
        log.info(
            "account status recorded",
            extra={
                "event_id": event_id,
                "therapist_id": therapist_id,
                "applies": recorded.applies,
                "paused": recorded.paused,
                "change": recorded.change,
            },
        )
        if recorded.applies and not recorded.paused:
            await wake_held_sessions(client, therapist_id, account_id)
    return True


async def wake_held_sessions(
    client: Client, therapist_id: str, account_id: str, *, settle: timedelta = HELD_VISIBILITY_SETTLE
) -> list[str]:
    """Signal every running session of the therapist held on a paused account: it charges now;
    then, ``settle`` later, those held meanwhile (listed late). A session on another account, or
    no longer held, changes nothing (``resume_held``)."""
    fact = AccountChargesFact(account_id=account_id, charges_enabled=True)
    query = held_sessions_query(therapist_id)
    woken: list[str] = []
    for listing in range(2):
        if listing:
            await asyncio.sleep(settle.total_seconds())
        async for execution in client.list_workflows(query, rpc_timeout=RPC_TIMEOUT):
            session_id = session_id_from_workflow_id(execution.id)
            if session_id in woken:
                continue
            handle = session_handle(client, session_id)
            try:
                await signal_workflow(handle, SESSION_PAYMENT_ACCOUNT_EVENT, fact, rpc_timeout=RPC_TIMEOUT)
            except RPCError as exc:
                if exc.status != RPCStatusCode.NOT_FOUND:
                    raise
                continue  # closed since the list
            woken.append(session_id)
    if woken:
        log.info("held sessions woken", extra={"therapist_id": therapist_id, "sessions": len(woken)})
    return woken
