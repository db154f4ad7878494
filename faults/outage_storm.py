"""Fault case: a Stripe outage longer than a Stripe call's retry budget, during a storm of aligned
charges (issue 11, hazard 4).

Many sessions with the same start (sessions start on the hour) are booked so that their charges
at start − 48 h fall due seconds later, while Stripe answers every charge with a 500. Each charge
spends its whole retry budget and is given up; then Stripe comes back. What must hold:

- **no false decline**: no ``charge_failed`` reached anybody, no attempt was recorded as failed or
  declined, no session was cancelled;
- **nothing charged twice**: one PaymentIntent and one successful charge per session;
- **spread, never early**: every scheduled charge falls inside the window after start − 48 h, not
  before it (the client may cancel free until then), and not all at one instant.

A scenario of its own (not one of ``faults.scripts``' lifecycle paths): it needs the Stripe call's
budget shortened to seconds (``tests/faults/test_outage_storm.py`` does so), which the suite's
separate worker process cannot be given. It runs on the in-process stand-in and sink.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from temporalio.client import Client

from dev.notification_sink import NotificationSink
from dev.stripe_standin import FaultRule, StripeStandIn
from domain.booking import SessionBooking
from domain.notifications import NotificationType
from domain.payments import ChargeOutcome
from domain.policy import DEFAULT_POLICY, SessionPolicy
from domain.state import SessionState
from domain.status import BookingKind, SessionStatus
from faults.storms import StormReport, opaque, session_states, until_all
from temporal_client.session_client import book_session

CHARGE_REQUESTS = r"^/v1/payment_intents"
"""Creating and confirming PaymentIntents (the list used for look-ups is a GET: unaffected)."""


@dataclass(frozen=True)
class StormOptions:
    sessions: int = 20
    lead: timedelta = timedelta(seconds=10)
    """Booking to start − 48 h: time to book them all."""
    spread_window: timedelta = timedelta(seconds=6)
    outage_retry_delay: timedelta = timedelta(seconds=2)
    """The policy's retry delay after an outage (minutes in production)."""
    limit_seconds: float = 90.0
    """Each phase's bound on the real clock."""


def storm_policy(options: StormOptions) -> SessionPolicy:
    return SessionPolicy.model_validate(
        {
            **DEFAULT_POLICY.model_dump(),
            "charge_spread_window": options.spread_window,
            "stripe_outage_retry_delays": (options.outage_retry_delay,),
        }
    )


def _booking(start: datetime) -> SessionBooking:
    return SessionBooking(
        session_id=opaque("ses"),
        therapist_id=opaque("thr"),
        client_id=opaque("cli"),
        kind=BookingKind.THERAPIST_FOLLOW_UP,
        start=start,
        duration_minutes=50,
        therapist_timezone="Europe/London",
        amount_minor=6000,
        currency="gbp",
        stripe_customer_id=opaque("cus"),
        payment_method_id=opaque("pm_card_visa"),
        client_agreed=True,
    )


async def run_outage_storm(
    client: Client,
    task_queue: str,
    standin: StripeStandIn,
    sink: NotificationSink,
    options: StormOptions = StormOptions(),
) -> StormReport:
    report = StormReport()
    policy = storm_policy(options)
    start = datetime.now(UTC) + 48 * timedelta(hours=1) + options.lead
    deadline = start - policy.charge_attempt_offsets[0]
    bookings = [_booking(start) for _ in range(options.sessions)]
    ids = [booking.session_id for booking in bookings]

    # Stripe is down from before the first charge until every charge has given up.
    standin.add_fault(FaultRule(kind="error_500", method="POST", path=CHARGE_REQUESTS, times=10**9))
    try:
        for booking in bookings:
            await asyncio.wait_for(
                book_session(client, booking, task_queue=task_queue, now=datetime.now(UTC), policy=policy),
                15,
            )
        if datetime.now(UTC) >= deadline:
            report.violations.append("booking took longer than the lead: the storm was not aligned")
        booked = await session_states(client, ids)
        due = {session_id: state.payment.next_charge_at for session_id, state in booked.items()}
        for session_id, at in due.items():
            if at is None or not deadline <= at < deadline + options.spread_window:
                report.violations.append(
                    f"{session_id}: charge due at {at}, outside the window after {deadline}"
                )

        given_up = await until_all(
            lambda: session_states(client, ids),
            lambda s: _unreachable_tries(s) >= 1 or bool(s.payment.attempts),
            options.limit_seconds,
        )
    finally:
        standin.clear_faults()  # Stripe is back
    for session_id, state in given_up.items():
        if _unreachable_tries(state) < 1:
            report.violations.append(f"{session_id}: the outage did not outlast its charge's budget")

    final = await until_all(
        lambda: session_states(client, ids),
        lambda s: s.status is not SessionStatus.PAYMENT_DUE and s.status is not SessionStatus.SCHEDULED,
        options.limit_seconds,
    )
    _judge(report, final, standin, sink)
    report.counts |= {
        "sessions": len(ids),
        "distinct_charge_instants": len({at for at in due.values() if at is not None}),
        "charges_given_up_in_the_outage": sum(1 for s in given_up.values() if _unreachable_tries(s)),
        "requests_failed_by_the_outage": sum(
            1
            for r in standin.requests
            if r.fault == "error_500" and any(i in (r.idempotency_key or "") for i in ids)
        ),
    }
    return report


def _unreachable_tries(state: SessionState) -> int:
    # Read leniently: the scenario also judges code from before the field existed.
    return int(getattr(state.payment, "unreachable_tries", 0))


def _judge(
    report: StormReport, final: dict[str, SessionState], standin: StripeStandIn, sink: NotificationSink
) -> None:
    told = [n for n in sink.received if n.session_id in final]
    false_declines = [n for n in told if n.type is NotificationType.CHARGE_FAILED]
    report.counts["false_decline_notices"] = len(false_declines)
    for notice in false_declines:
        report.violations.append(f"{notice.session_id}: told charge_failed ({notice.codes})")
    duplicates = 0
    charged = 0
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
