"""A live demo against ``make run``: three real sessions whose charge time is seconds away.

* A is charged off-session at start − 48 h;
* B is cancelled by the client with more than 48 hours' notice: free, its charge timer never fires;
* C's card is declined (insufficient funds); the client tops it up, and the retry at start − 24 h
  succeeds. The demo fast-forwards C's own clock by 24 hours with Temporal's per-workflow time
  skipping, so the real retry timer fires now instead of tomorrow;
* then A takes place (its clock is fast-forwarded past the end): the therapist files the
  attendance update — attended, same time next week with the client's agreement, slot reserved.

Every therapist is paid as on the marketplace: each has a Stripe connected account (created in the
stand-in, set on their practice through the API's ``PUT /v1/therapists/{id}/payment-account``), so
each charge is a direct charge on the therapist's account with the marketplace's commission taken
as its application fee; the demo reads A's charge back from the therapist's account.

Each session's final state is read back from Temporal. Run it with ``make demo``.
"""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import stripe
from temporalio.client import Client
from temporalio.testing import TimeSkipper, TimeSkippingConfig

from contract.ids import session_workflow_id
from contract.session import SESSION_CANCEL, SESSION_FILE_ATTENDANCE, SESSION_STATE, SessionHandle
from contract.visibility import sessions_query
from domain.acting import ActingParty
from domain.attendance import AttendanceOutcome, AttendanceUpdate, ContinueChoice
from domain.booking import SessionBooking
from domain.commands import CancelRequest
from domain.policy import SessionPolicy
from domain.state import SessionState
from domain.status import Actor, BookingKind, CancelReason, SessionStatus, status_as_of
from settings import LOCAL_API_TOKEN, Settings
from stripe_client import build_stripe_client
from temporal_client.converter import connect
from temporal_client.messages import execute_update, query_workflow
from temporal_client.session_client import book_session

HOURS_48 = timedelta(hours=48)
WAIT_SECONDS = 90.0
UNSPREAD = SessionPolicy()
"""The default rules without the charge spread (``DEFAULT_POLICY`` has 10 minutes)."""


@dataclass
class DemoSession:
    label: str
    story: str
    booking: SessionBooking
    handle: SessionHandle | None = None
    last_status: SessionStatus | None = None


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def booking(run: str, label: str, start: datetime, card: str) -> SessionBooking:
    return SessionBooking(
        session_id=f"demo-{run}-{label}",
        # One therapist each: the three start seconds apart, and a therapist holds one session at a
        # time (a second booking over it is refused as time_taken).
        therapist_id=f"demo-therapist-{run}-{label}",
        client_id=f"demo-client-{run}-{label}",
        kind=BookingKind.THERAPIST_FOLLOW_UP,
        start=start,
        duration_minutes=50,
        therapist_timezone="Europe/London",
        amount_minor=6000,
        currency="gbp",
        stripe_customer_id=f"cus_demo_{run}",
        payment_method_id=f"{card}_{run}{label}",
        client_agreed=True,
    )


async def standin_control(settings: Settings, path: str, body: dict[str, object]) -> None:
    async with httpx.AsyncClient(base_url=settings.stripe_api_base, timeout=5) as http:
        response = await http.post(f"/_standin/{path}", json=body)
        response.raise_for_status()


async def connected_account_for(settings: Settings, therapist_id: str) -> str:
    """A connected account for the therapist, made in the stand-in (as Stripe's onboarding would),
    then set on their practice through the API, as the marketplace's backend does."""
    async with httpx.AsyncClient(base_url=settings.stripe_api_base, timeout=5) as http:
        created = await http.post("/_standin/accounts", json={"country": "GB"})
        created.raise_for_status()
        account_id: str = created.json()["id"]
    api = f"http://{settings.api_host}:{settings.api_port}"
    headers = {
        "Authorization": f"Bearer {LOCAL_API_TOKEN}",
        "Acting-Party": f"therapist:{therapist_id}",
        "Idempotency-Key": f"{therapist_id}-payment-account",
    }
    async with httpx.AsyncClient(base_url=api, headers=headers, timeout=15) as http:
        try:
            answer = await http.put(
                f"/v1/therapists/{therapist_id}/payment-account",
                json={"account_id": account_id, "timezone": "Europe/London"},
            )
        except httpx.TransportError as exc:
            raise SystemExit(f"cannot reach the API at {api} ({exc}); start it with `make run`") from exc
        answer.raise_for_status()
    return account_id


async def show_direct_charge(settings: Settings, state: SessionState) -> None:
    """The charge as the therapist's Stripe account has it, and the commission the platform took."""
    account = state.payment.connected_account_id
    intent = state.payment.payment_intent_id
    if account is None or intent is None:
        return
    stripe_client = build_stripe_client(settings)
    on_account: stripe.RequestOptions = {"stripe_account": account}
    charges = await stripe_client.v1.charges.list_async({"payment_intent": intent}, on_account)
    for charge in charges.data:
        fee_id = charge.application_fee if isinstance(charge.application_fee, str) else None
        fee = await stripe_client.v1.application_fees.retrieve_async(fee_id) if fee_id else None
        say(
            f"  on the therapist's Stripe account {account}: charge {charge.id} "
            f"{charge.amount / 100:.2f} {charge.currency.upper()} {charge.status}, "
            f"application fee {(charge.application_fee_amount or 0) / 100:.2f} "
            "(10 % commission + 20 % VAT on it)"
        )
        if fee is not None:
            say(
                f"  on the marketplace's own account: application fee {fee.id} "
                + f"{fee.amount / 100:.2f} from {fee.account}"
            )


def describe(state: SessionState) -> str:
    payment = state.payment
    detail = f"{state.status.value:<22} payment={payment.status.value}"
    if payment.attempts:
        last = payment.attempts[-1]
        detail += f" attempts={len(payment.attempts)} last={last.outcome.value}"
        if last.decline_code:
            detail += f"({last.decline_code})"
    if payment.next_charge_at is not None:
        detail += f" next_charge_at={payment.next_charge_at:%Y-%m-%d %H:%M:%S}Z"
    return detail


async def watch(
    session: DemoSession, until: set[SessionStatus], started: float, read_at: datetime | None = None
) -> SessionState:
    """Poll the session until it reads as one of ``until`` — as the API shows it, at ``read_at``
    (the session's own clock once fast-forwarded: nothing marks its end, a read derives
    ``awaiting_update``)."""
    assert session.handle is not None
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_SECONDS
    while True:
        state = await query_workflow(session.handle, SESSION_STATE)
        if read_at is not None:
            state = state.model_copy(update={"status": status_as_of(state.status, state.end, read_at)})
        if state.status is not session.last_status:
            session.last_status = state.status
            say(f"  [{loop.time() - started:5.1f}s] {session.label}: {describe(state)}")
        if state.status in until:
            return state
        if loop.time() > deadline:
            raise SystemExit(
                f"{session.label} did not reach {sorted(until)} in {WAIT_SECONDS:.0f}s; "
                "is the worker running?"
            )
        await asyncio.sleep(0.25)


async def run_demo() -> None:
    settings = Settings()
    if not settings.stripe_is_loopback:
        raise SystemExit("the demo drives the loopback Stripe stand-in; unset SESSIONFLOW_STRIPE_API_BASE")
    try:
        client = await connect(settings)
    except Exception as exc:
        raise SystemExit(
            f"cannot reach Temporal at {settings.temporal_address} ({exc}); start it with `make run`"
        ) from exc

    run = uuid.uuid4().hex[:6]
    now = datetime.now(UTC)
    sessions = [
        DemoSession(
            "A",
            "charged at start − 48 h",
            booking(run, "a", now + HOURS_48 + timedelta(seconds=12), "pm_card_visa"),
        ),
        DemoSession(
            "B",
            "cancelled free with > 48 h notice",
            booking(run, "b", now + HOURS_48 + timedelta(seconds=20), "pm_card_visa"),
        ),
        DemoSession(
            "C",
            "declined, then retried at start − 24 h",
            booking(
                run, "c", now + HOURS_48 + timedelta(seconds=6), "pm_card_chargeDeclinedInsufficientFunds"
            ),
        ),
    ]
    say(f"Sessionflow demo · Temporal {settings.temporal_address} · task queue {settings.task_queue}")
    say(f"Stripe stand-in {settings.stripe_api_base} · now {now:%Y-%m-%d %H:%M:%S}Z\n")
    say("Each therapist's Stripe connected account, set on their practice through the API:")
    for session in sessions:
        account = await connected_account_for(settings, session.booking.therapist_id)
        say(f"  {session.label} {session.booking.therapist_id}: {account}")
    say("\nBooking three therapist follow-ups (client agreed), each starting 48 h + a few seconds from now:")
    for session in sessions:
        # No charge spread: the API's policy moves a scheduled charge up to 10 minutes after
        # start − 48 h to smooth a storm; the demo shows the charge at the instant itself.
        session.handle = await book_session(
            client, session.booking, task_queue=settings.task_queue, now=now, policy=UNSPREAD
        )
        charge_at = session.booking.start - HOURS_48
        say(
            f"  {session.label} {session.booking.session_id:<16} "
            f"start {session.booking.start:%Y-%m-%d %H:%M:%S}Z"
            f"  charge due {charge_at:%H:%M:%S}Z  — {session.story}"
        )
    say("")
    started = asyncio.get_running_loop().time()
    a, b, c = sessions

    assert b.handle is not None
    cancelled = await execute_update(
        b.handle,
        SESSION_CANCEL,
        CancelRequest(
            requested_by=Actor.CLIENT,
            reason=CancelReason.SCHEDULING_CONFLICT,
            acting_party=ActingParty(role=Actor.CLIENT, id=b.booking.client_id),  # recorded in B's history
        ),
        id=f"demo-{run}-cancel-b",
    )
    say(
        f"  [{asyncio.get_running_loop().time() - started:5.1f}s] B: client cancels "
        f"→ {cancelled.status.value}"
        f" (free={cancelled.free}, refund={cancelled.refund_minor})"
    )

    async def retry_c() -> SessionState:
        await watch(c, {SessionStatus.PAYMENT_FAILED}, started)
        await standin_control(
            settings, f"payment_methods/{c.booking.payment_method_id}", {"behaviour": "visa"}
        )
        say(
            f"  [{asyncio.get_running_loop().time() - started:5.1f}s] C: the client tops up the card; "
            "fast-forwarding C's clock 24 h to its retry at start − 24 h"
        )
        skipper = TimeSkipper(client, config=TimeSkippingConfig(enabled=False))
        assert c.handle is not None
        await skipper.fast_forward(c.handle, timedelta(hours=24))
        return await watch(c, {SessionStatus.PAID, SessionStatus.CANCELLED_UNPAID}, started)

    await asyncio.gather(
        watch(a, {SessionStatus.PAID, SessionStatus.PAYMENT_FAILED}, started),
        watch(b, {SessionStatus.CANCELLED_FREE}, started),
        retry_c(),
    )
    await after_the_session(client, a, started)

    say("\nFinal state, read back from Temporal:")
    for session in sessions:
        assert session.handle is not None
        state = await query_workflow(session.handle, SESSION_STATE)
        intent = state.payment.payment_intent_id or "-"
        say(f"  {session.label} {state.session_id:<16} {describe(state)} payment_intent={intent}")
    assert a.handle is not None
    say("\nA's money, read back from Stripe:")
    await show_direct_charge(settings, await query_workflow(a.handle, SESSION_STATE))
    say("\nInspect any of them:")
    workflow_id = session_workflow_id(sessions[2].booking.session_id)
    say(f"  .venv/bin/temporal workflow show --workflow-id {workflow_id}")
    say(f'  .venv/bin/temporal workflow list --query "{sessions_query(statuses=[SessionStatus.PAID])}"')
    say("  Temporal UI: http://127.0.0.1:8233")


async def after_the_session(client: Client, session: DemoSession, started: float) -> None:
    """A's session takes place: its clock is fast-forwarded past the end, then the therapist
    files the attendance update and books the same time next week with the client's agreement."""
    assert session.handle is not None
    elapsed = asyncio.get_running_loop().time() - started
    say(f"  [{elapsed:5.1f}s] A: fast-forwarding A's clock past the session's end")
    skipper = TimeSkipper(client, config=TimeSkippingConfig(enabled=False))
    past_the_end = session.booking.end + timedelta(minutes=1)
    await skipper.fast_forward(session.handle, past_the_end - datetime.now(UTC))
    await watch(session, {SessionStatus.AWAITING_UPDATE}, started, read_at=past_the_end)
    update = AttendanceUpdate(
        outcome=AttendanceOutcome.ATTENDED,
        continue_sessions=ContinueChoice.SAME_TIME,
        client_agreed=True,
        reserve_slot=True,
        acting_party=ActingParty(role=Actor.THERAPIST, id=session.booking.therapist_id),
    )
    result = await execute_update(
        session.handle, SESSION_FILE_ATTENDANCE, update, id=f"demo-{session.booking.session_id}-attendance"
    )
    follow_up_start = result.follow_up_start
    when = (
        follow_up_start.astimezone(ZoneInfo(session.booking.therapist_timezone)) if follow_up_start else None
    )
    say(
        f"  [{asyncio.get_running_loop().time() - started:5.1f}s] A: attended; follow-up "
        f"{result.follow_up_session_id} booked for {when:%a %Y-%m-%d %H:%M} London time, "
        f"weekly slot {result.reserved_slot_id} reserved"
    )
    await watch(session, {SessionStatus.COMPLETED}, started)


def main() -> None:
    asyncio.run(run_demo())
    sys.stdout.flush()
    # Skip interpreter finalisation: the Temporal SDK's native threads can still be winding down
    # then, which occasionally aborts the process ("PyGILState_Release") after all work is done.
    os._exit(0)


if __name__ == "__main__":
    main()
