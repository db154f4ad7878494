"""Fault case: a therapist paused mid-storm (issue 14 §2).

Many sessions of ONE therapist, charged on their connected account, reach their charge within a
few seconds of each other (start − 48 h, spread) while Stripe has disabled the account's charges;
in the middle of the storm Stripe enables them again and sends ``account.updated``, handled by the
API's own code (``api.account_events.account_updated``: the account read back from Stripe, the
practice found by ``PaymentAccountId``, the held sessions woken). What must hold:

- **nothing charged while paused**: no PaymentIntent request of any session reached Stripe before
  the account was enabled again;
- **nobody declined**: no ``charge_failed`` notice, no declined or failed attempt, nothing cancelled;
- **every held charge runs once the account can charge**: every session ends ``paid``, those held
  included (some must have been held, or the storm missed the pause);
- **nothing charged twice**: one PaymentIntent and one successful charge per session.

A scenario of its own (not one of ``faults.scripts``' lifecycle paths): one therapist cannot hold
twenty sessions at one instant (the practice refuses the time), so the sessions are started on
Temporal as ``book_session`` starts them after the practice, with the practice's account in the
booking. It runs on the in-process stand-in and sink (``tests/faults/test_paused_storm.py``).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import stripe
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy

from api.account_events import account_updated
from contract.ids import session_workflow_id
from contract.practice import PRACTICE_SET_PAYMENT_ACCOUNT
from contract.search_attributes import session_search_attributes
from contract.session import SESSION_WORKFLOW_TYPE
from dev.notification_sink import NotificationSink
from dev.stripe_standin import StripeStandIn
from domain.booking import SessionBooking
from domain.notifications import NotificationType
from domain.payments import ChargeOutcome
from domain.policy import DEFAULT_POLICY, SessionPolicy
from domain.practice import SetPaymentAccount
from domain.state import SessionState, SessionWorkflowInput
from domain.status import BookingKind, SessionStatus
from faults.storms import StormReport, opaque, session_states, until_all
from temporal_client.practice_client import practice_update


@dataclass(frozen=True)
class PausedStormOptions:
    sessions: int = 20
    lead: timedelta = timedelta(seconds=8)
    """Booking to start − 48 h: time to book them all."""
    spread_window: timedelta = timedelta(seconds=8)
    """The charges fall across this window; the account is enabled again in its middle."""
    limit_seconds: float = 60.0
    """Each phase's bound on the real clock."""


def _policy(options: PausedStormOptions) -> SessionPolicy:
    return SessionPolicy.model_validate(
        {**DEFAULT_POLICY.model_dump(), "charge_spread_window": options.spread_window}
    )


async def _start(client: Client, booking: SessionBooking, task_queue: str, policy: SessionPolicy) -> None:
    await client.start_workflow(
        SESSION_WORKFLOW_TYPE,
        SessionWorkflowInput(booking=booking, policy=policy, booked_at=datetime.now(UTC)),
        id=session_workflow_id(booking.session_id),
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        search_attributes=session_search_attributes(booking),
    )


def _charge_requests(standin: StripeStandIn, session_ids: list[str], upto: int | None = None) -> int:
    requests = standin.requests[:upto] if upto is not None else standin.requests
    return sum(
        1
        for r in requests
        if r.method == "POST"
        and r.path.startswith("/v1/payment_intents")
        and any(session_id in (r.idempotency_key or "") for session_id in session_ids)
    )


async def run_paused_storm(
    client: Client,
    task_queue: str,
    standin: StripeStandIn,
    sink: NotificationSink,
    stripe_client: stripe.StripeClient,
    options: PausedStormOptions = PausedStormOptions(),
) -> StormReport:
    report = StormReport()
    policy = _policy(options)
    therapist_id = opaque("thr")
    account_id = standin.create_account()["id"]
    await practice_update(
        client,
        therapist_id,
        "Europe/London",
        PRACTICE_SET_PAYMENT_ACCOUNT,
        SetPaymentAccount(account_id=account_id),
        request_id=opaque("set"),
        task_queue=task_queue,
    )
    standin.set_account_status(account_id, charges_enabled=False, disabled_reason="requirements.past_due")

    start = datetime.now(UTC) + 48 * timedelta(hours=1) + options.lead
    first_charge = start - policy.charge_attempt_offsets[0]
    bookings = [
        SessionBooking(
            session_id=opaque("ses"),
            therapist_id=therapist_id,
            client_id=opaque("cli"),
            kind=BookingKind.THERAPIST_FOLLOW_UP,
            start=start,
            amount_minor=6000,
            currency="gbp",
            stripe_customer_id=opaque("cus"),
            payment_method_id=opaque("pm_card_visa"),
            client_agreed=True,
            connected_account_id=account_id,
        )
        for _ in range(options.sessions)
    ]
    ids = [booking.session_id for booking in bookings]
    for booking in bookings:
        await asyncio.wait_for(_start(client, booking, task_queue, policy), 15)
    if datetime.now(UTC) >= first_charge:
        report.violations.append("booking took longer than the lead: the storm was not aligned")

    # Mid-storm: once some charges were held and some are still to come.
    await asyncio.sleep(
        max(0.0, (first_charge + options.spread_window / 2 - datetime.now(UTC)).total_seconds())
    )
    before = await session_states(client, ids)
    cursor = len(standin.requests)
    standin.set_account_status(account_id, charges_enabled=True, disabled_reason=None)
    [event] = [e for e in standin.events(type="account.updated") if e.get("account") == account_id][-1:]
    handled = await account_updated(client, stripe_client, event, event["id"])
    if not handled:
        report.violations.append("account.updated found no practice for the account")

    final = await until_all(
        lambda: session_states(client, ids),
        lambda state: state.status is SessionStatus.PAID,
        options.limit_seconds,
    )
    _judge(report, final, standin, sink)
    charged_while_paused = _charge_requests(standin, ids, upto=cursor)
    if charged_while_paused:
        report.violations.append(f"{charged_while_paused} charge requests reached Stripe while paused")
    held = [session_id for session_id, state in final.items() if state.payment.held_since is not None]
    if not held:
        report.violations.append("no session was held: the storm missed the pause")
    report.counts |= {
        "sessions": len(ids),
        "held_before_the_resume": sum(
            1 for s in before.values() if s.status is SessionStatus.PAYMENT_ON_HOLD
        ),
        "held": len(held),
        "charged_without_a_hold": len(ids) - len(held),
        "charge_requests_while_paused": charged_while_paused,
    }
    return report


def _judge(
    report: StormReport,
    final: dict[str, SessionState],
    standin: StripeStandIn,
    sink: NotificationSink,
) -> None:
    told = [n for n in sink.received if n.session_id in final]
    declines = [n for n in told if n.type is NotificationType.CHARGE_FAILED]
    cancellations = [
        n for n in told if n.type in (NotificationType.SESSION_CANCELLED, NotificationType.AUTO_CANCELLED)
    ]
    report.counts["decline_notices"] = len(declines)
    report.counts["hold_notices"] = sum(1 for n in told if n.type is NotificationType.PAYMENT_ON_HOLD)
    for notice in declines + cancellations:
        report.violations.append(f"{notice.session_id}: told {notice.type.value}")
    duplicates = charged = 0
    for session_id, state in final.items():
        if state.status is not SessionStatus.PAID:
            report.violations.append(f"{session_id}: ended {state.status.value}, not paid")
        outcomes = [attempt.outcome for attempt in state.payment.attempts]
        if outcomes != [ChargeOutcome.SUCCEEDED]:
            report.violations.append(f"{session_id}: attempts {[o.value for o in outcomes]}")
        intents = standin.payment_intents(metadata_session_id=session_id)
        succeeded = [
            charge
            for charge in standin.charges()
            if charge.get("status") == "succeeded"
            and (charge.get("metadata") or {}).get("session_id") == session_id
        ]
        charged += len(succeeded)
        duplicates += max(0, len(intents) - 1) + max(0, len(succeeded) - 1)
        if len(intents) != 1 or len(succeeded) != 1:
            report.violations.append(f"{session_id}: {len(intents)} PaymentIntents, {len(succeeded)} charges")
    report.counts["charges_succeeded"] = charged
    report.counts["duplicates_found"] = duplicates
