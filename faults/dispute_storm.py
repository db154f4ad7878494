"""Fault case: disputes arriving out of order (issue 14 §4).

Many paid sessions whose charges the clients' banks dispute; each dispute goes through Stripe's
whole lifecycle — ``charge.dispute.created``, ``.updated`` (evidence submitted: ``under_review``),
``.closed`` (``won`` or ``lost``, seeded) — and the therapist cancels every session meanwhile, so
the rules owe each client a full refund. Stripe's events reach the API over real HTTP (the
stand-in signs and posts them; the API confirms each with Stripe and signals the session), but
shuffled across all sessions and each delivered one to three times: a session may hear of its
dispute's close before its creation, the same close twice, a ``created`` after the ``closed``.

Every other session is a therapist's direct charge on their Stripe connected account (the first
session: the whole amount is the marketplace's commission, as its application fee): its dispute
lives on that account and its events are Connect events naming it, read back there by the API.

What must hold, for every session:

- **the dispute's final status**: the session records exactly what Stripe ended with;
- **no refund against a disputed charge**: while the dispute was open no refund was even asked
  (no ``POST /v1/refunds`` refused ``charge_disputed``); a lost dispute refunds nothing, ever;
- **a won dispute pays what the rules owe**: exactly one refund of the whole amount, made after the
  close, and the session closes; the ledger agrees with Stripe; on a connected account the refund
  is made there and the whole commission goes back with it (a lost one returns none).

A scenario of its own (not a lifecycle of ``faults.scripts``): it drives the stand-in's dispute
controls and its webhook deliveries directly. ``tests/faults/test_dispute_storm.py`` runs it.
"""

from __future__ import annotations

import asyncio
import itertools
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import stripe
from temporalio.client import Client

from contract.session import SESSION_CANCEL
from dev.stripe_standin import StripeStandIn
from domain.booking import SessionBooking
from domain.commands import CancelRequest
from domain.disputes import DisputeStatus
from domain.state import SessionState
from domain.status import Actor, BookingKind, CancelReason
from faults.storms import StormReport, opaque, session_states, until_all
from temporal_client.messages import execute_update
from temporal_client.session_client import book_session, session_handle

PRICE = 6000
REASONS = ("fraudulent", "product_not_received", "credit_not_processed", "general")


@dataclass(frozen=True)
class DisputeStormOptions:
    sessions: int = 24
    seed: int = 20271414
    lost_share: float = 0.5
    max_deliveries: int = 3
    """Each event is delivered 1…this many times."""
    limit_seconds: float = 90.0
    """Each phase's bound on the real clock."""
    connected_every: int = 2
    """Every this-many-th session is charged on a therapist's connected account (0: none)."""


async def _paid_at_checkout(stripe_client: stripe.StripeClient, session_id: str, account: str | None) -> str:
    """The checkout's payment: on the platform, or a direct charge on the therapist's account with
    the whole amount as the marketplace's fee (a first session's commission is 100 %)."""
    params: Any = {
        "amount": PRICE,
        "currency": "gbp",
        "payment_method": "pm_card_visa",
        "confirm": True,
        "automatic_payment_methods": {"enabled": True, "allow_redirects": "never"},
        "metadata": {"session_id": session_id},
    }
    if account is None:
        params["customer"] = opaque("cus")
        intent = await stripe_client.v1.payment_intents.create_async(params)
    else:
        params["application_fee_amount"] = PRICE
        intent = await stripe_client.v1.payment_intents.create_async(params, {"stripe_account": account})
    return intent.id


def _booking(intent_id: str, session_id: str, start: datetime, account: str | None) -> SessionBooking:
    return SessionBooking(
        session_id=session_id,
        therapist_id=opaque("thr"),
        client_id=opaque("cli"),
        kind=BookingKind.INITIAL_PREPAID,
        start=start,
        duration_minutes=50,
        therapist_timezone="Europe/London",
        amount_minor=PRICE,
        currency="gbp",
        stripe_customer_id=opaque("cus"),
        prepaid_payment_intent_id=intent_id,
        connected_account_id=account,
    )


async def _results(client: Client, session_ids: list[str], limit_seconds: float) -> dict[str, SessionState]:
    """Each session's final state once its workflow has closed (within the bound)."""

    async def one(session_id: str) -> tuple[str, SessionState]:
        handle = session_handle(client, session_id)
        return session_id, await asyncio.wait_for(handle.result(), limit_seconds)

    return dict(await asyncio.gather(*(one(session_id) for session_id in session_ids)))


class _Deliveries:
    """Posts stored events to the API in a shuffled order, each 1…n times; counts what it did."""

    def __init__(self, standin: StripeStandIn, rng: random.Random, max_deliveries: int) -> None:
        self._standin = standin
        self._rng = rng
        self._max = max_deliveries
        self.posted = 0
        self.refused: list[tuple[str, int | None]] = []
        self.overtaken = 0

    async def shuffled(self, event_ids: list[str]) -> None:
        order = [event_id for event_id in event_ids for _ in range(self._rng.randint(1, self._max))]
        self._rng.shuffle(order)
        created_rank = {event_id: index for index, event_id in enumerate(event_ids)}
        self.overtaken += sum(
            1 for earlier, later in itertools.pairwise(order) if created_rank[later] < created_rank[earlier]
        )
        for event_id in order:
            [status] = await asyncio.to_thread(self._standin.deliver_event, event_id, 1)
            self.posted += 1
            if status is None or not 200 <= status < 300:
                self.refused.append((event_id, status))


def _dispute_events(standin: StripeStandIn, dispute_ids: set[str]) -> list[dict[str, Any]]:
    """The stand-in's dispute events of these disputes, in the order Stripe created them."""
    return [
        event
        for event in standin.events()
        if event["type"].startswith("charge.dispute.") and event["data"]["object"]["id"] in dispute_ids
    ]


async def run_dispute_storm(
    client: Client,
    task_queue: str,
    standin: StripeStandIn,
    stripe_client: stripe.StripeClient,
    webhook_url: str,
    webhook_secret: str,
    options: DisputeStormOptions = DisputeStormOptions(),
) -> StormReport:
    report = StormReport()
    rng = random.Random(options.seed)
    deliveries = _Deliveries(standin, rng, options.max_deliveries)
    start = datetime.now(UTC) + timedelta(days=7)

    # Stripe's events are held back (no endpoint) while they are made, then delivered shuffled.
    standin.configure_webhook(None, None)
    ids = [opaque("ses") for _ in range(options.sessions)]
    intents: dict[str, str] = {}
    accounts: dict[str, str | None] = {}
    for number, session_id in enumerate(ids):
        connected = options.connected_every > 0 and number % options.connected_every == 1
        accounts[session_id] = str(standin.create_account()["id"]) if connected else None
        intents[session_id] = await _paid_at_checkout(stripe_client, session_id, accounts[session_id])
        booking = _booking(intents[session_id], session_id, start, accounts[session_id])
        await asyncio.wait_for(
            book_session(client, booking, task_queue=task_queue, now=datetime.now(UTC)), 15
        )
    disputes: dict[str, str] = {}
    for session_id in ids:
        [charge] = standin.charges(payment_intent=intents[session_id])
        opened = await asyncio.to_thread(standin.open_dispute, charge["id"], reason=rng.choice(REASONS))
        disputes[session_id] = opened["id"]

    # Phase 1: the "created" events, shuffled and repeated; then the therapist cancels each
    # session, whose full refund is held by its open dispute.
    standin.configure_webhook(webhook_url, webhook_secret)
    try:
        created = [e["id"] for e in _dispute_events(standin, set(disputes.values()))]
        await deliveries.shuffled(created)
        known = await until_all(
            lambda: session_states(client, ids), lambda s: s.dispute is not None, options.limit_seconds
        )
        for session_id, state in known.items():
            if state.dispute is None:
                report.violations.append(f"{session_id}: its dispute never reached it")
        cancel = CancelRequest(requested_by=Actor.THERAPIST, reason=CancelReason.THERAPIST_UNAVAILABLE)
        for session_id in ids:
            await asyncio.wait_for(
                execute_update(session_handle(client, session_id), SESSION_CANCEL, cancel, id=opaque("req")),
                20,
            )
        held = await until_all(
            lambda: session_states(client, ids),
            lambda s: s.dispute is not None and s.dispute.refund_held_minor == PRICE,
            options.limit_seconds,
        )
        for session_id, state in held.items():
            if state.dispute is None or state.dispute.refund_held_minor != PRICE:
                report.violations.append(f"{session_id}: the cancellation's refund was not held")
    finally:
        standin.configure_webhook(None, None)

    # Phase 2: evidence submitted and the bank's decisions, all their events held back…
    final_status: dict[str, DisputeStatus] = {}
    for session_id in ids:
        dispute_id = disputes[session_id]
        account = accounts[session_id]
        await stripe_client.v1.disputes.update_async(
            dispute_id,
            {"evidence": {"service_date": start.date().isoformat()}, "submit": True},
            {"stripe_account": account} if account is not None else {},
        )
        outcome = "lost" if rng.random() < options.lost_share else "won"
        await asyncio.to_thread(standin.close_dispute, dispute_id, outcome)
        final_status[session_id] = DisputeStatus(outcome)
    # …then every event of every dispute, shuffled across sessions and repeated.
    standin.configure_webhook(webhook_url, webhook_secret)
    try:
        every = [e["id"] for e in _dispute_events(standin, set(disputes.values()))]
        await deliveries.shuffled(every)
        final = await _results(client, ids, options.limit_seconds)
    finally:
        standin.configure_webhook(None, None)

    _judge(report, final, final_status, intents, standin)
    _judge_commission(report, final_status, intents, accounts, standin)
    report.counts |= {
        "sessions": len(ids),
        "on_connected_accounts": sum(1 for account in accounts.values() if account is not None),
        "dispute_events": len(every),
        "deliveries": deliveries.posted,
        "deliveries_refused": len(deliveries.refused),
        "overtaken": deliveries.overtaken,
        "won": sum(1 for status in final_status.values() if status is DisputeStatus.WON),
        "lost": sum(1 for status in final_status.values() if status is DisputeStatus.LOST),
    }
    for event_id, status in deliveries.refused:
        report.violations.append(f"{event_id}: delivery answered {status}")
    return report


def _judge(
    report: StormReport,
    final: dict[str, SessionState],
    final_status: dict[str, DisputeStatus],
    intents: dict[str, str],
    standin: StripeStandIn,
) -> None:
    refunded = 0
    refused_disputed = [
        request
        for request in standin.requests
        if request.method == "POST"
        and request.path == "/v1/refunds"
        and request.params.get("payment_intent") in intents.values()
        and request.status == 400
    ]
    report.counts["refunds_refused_charge_disputed"] = len(refused_disputed)
    for request in refused_disputed:
        report.violations.append(
            f"a refund of {request.params.get('payment_intent')} was asked while disputed"
        )
    for session_id, state in final.items():
        expected = final_status[session_id]
        recorded = state.dispute.status if state.dispute is not None else None
        if recorded is not expected:
            report.violations.append(f"{session_id}: dispute {recorded}, Stripe ended {expected.value}")
        refunds = standin.refunds(payment_intent=intents[session_id])
        amounts = [refund["amount"] for refund in refunds]
        refunded += len(refunds)
        owed = [PRICE] if expected is DisputeStatus.WON else []
        if amounts != owed:
            report.violations.append(f"{session_id}: refunds {amounts}, owed {owed} ({expected.value})")
        if state.payment.amount_refunded_minor != sum(amounts):
            report.violations.append(
                f"{session_id}: ledger refunded {state.payment.amount_refunded_minor}, Stripe {sum(amounts)}"
            )
    report.counts["refunds"] = refunded


def _judge_commission(
    report: StormReport,
    final_status: dict[str, DisputeStatus],
    intents: dict[str, str],
    accounts: dict[str, str | None],
    standin: StripeStandIn,
) -> None:
    """A connected session's refund is the therapist's account's, and the whole commission goes
    back with it (a first session: the therapist received nothing); a lost dispute returns none."""
    returned = 0
    for session_id, account in accounts.items():
        if account is None:
            continue
        [charge] = standin.charges(payment_intent=intents[session_id], account=account)
        [fee] = standin.application_fees(charge=charge["id"])
        refunds = standin.refunds(payment_intent=intents[session_id])
        if any(standin.account_of(refund["id"]) != account for refund in refunds):
            report.violations.append(f"{session_id}: a refund was not made on the therapist's account")
        owed = PRICE if final_status[session_id] is DisputeStatus.WON else 0
        if fee["amount_refunded"] != owed:
            report.violations.append(
                f"{session_id}: commission returned {fee['amount_refunded']}, owed {owed}"
            )
        returned += fee["amount_refunded"]
    report.counts["commission_returned_minor"] = returned
