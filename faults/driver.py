"""Plays one lifecycle script against the stack, as the marketplace backend and its people would.

Commands go to the session workflow as updates (the caller's request id is the update id, so a
command retried after a lost answer or a server restart returns its first outcome); each carries
the receipt stamp our API would put on it, taken once, before the first try. Facts are observed
through the notifications the sink received (no polling of Temporal), with a state query as a
fallback when a notification is late (the endpoint may be down). Every await is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import stripe
from temporalio.client import (
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from contract.messages import Update
from contract.session import (
    SESSION_CANCEL,
    SESSION_FILE_ATTENDANCE,
    SESSION_RESCHEDULE,
    SESSION_STATE,
    SESSION_UPDATE_PAYMENT_METHOD,
    SessionHandle,
)
from domain.acting import ActingParty
from domain.attendance import AttendanceOutcome, AttendanceResult, AttendanceUpdate, ContinueChoice
from domain.booking import SessionBooking
from domain.commands import (
    CancelRequest,
    CancelResult,
    PaymentMethodUpdate,
    PaymentMethodUpdateResult,
    RescheduleRequest,
    RescheduleResult,
)
from domain.notifications import Notification, NotificationType
from domain.policy import SessionPolicy
from domain.state import SessionState
from domain.status import Actor, BookingKind, CancelReason, PaymentStatus
from faults.scripts import AMOUNT_MINOR, CURRENCY, LifecyclePath, Script
from faults.stack import STRIPE_KEY, FaultStack
from temporal_client.messages import execute_update, query_workflow
from temporal_client.rpc_errors import workflow_task_failing
from temporal_client.session_client import book_session, session_handle

T = TypeVar("T")
ArgT = TypeVar("ArgT")
ResultT = TypeVar("ResultT")

RPC_ATTEMPT_SECONDS = 15.0
"""One Temporal call; longer than a server restart's usual gap is not needed: it is retried."""
RETRY_PAUSE_SECONDS = 0.5
STEP_SECONDS = 120.0
"""How long one command may keep failing (server down, worker gone) before the step is a finding."""
NOTIFICATION_WAIT_SECONDS = 3.0
"""How long to wait for a notification before asking the workflow instead (the sink may be down)."""
# Refusals that mean "not yet" for an attendance update (the charge is still settling, or the
# server's clock has not quite reached the start), retried until the step's deadline.
MAX_PRACTICE_UNAVAILABLE = 5
"""A command the practice did not answer (``practice_unavailable``) is sent again this often."""
NOT_YET = frozenset({"payment_pending", "session_not_started"})
RETRYABLE_RPC = frozenset(
    {
        RPCStatusCode.UNAVAILABLE,
        RPCStatusCode.DEADLINE_EXCEEDED,
        RPCStatusCode.CANCELLED,
        RPCStatusCode.UNKNOWN,
        RPCStatusCode.RESOURCE_EXHAUSTED,
        RPCStatusCode.ABORTED,
        RPCStatusCode.INTERNAL,
    }
)


PAID = "paid"


class StepFailed(Exception):
    """A scripted step could not be carried out: reported as a violation of its session."""


def now() -> datetime:
    return datetime.now(UTC)


async def sleep_until(instant: datetime) -> None:
    """Wait for a wall-clock instant the (compressed) policy defines."""
    delay = (instant - now()).total_seconds()
    if delay > 0:
        await asyncio.sleep(delay)


@dataclass
class LifecycleRecord:
    """What the driver did and saw for one script; the checker reads it with the session's state."""

    script: Script
    booked_at: datetime | None = None
    start: datetime | None = None
    """The session's start after any move."""
    cancel_sent_at: datetime | None = None
    cancel_result: CancelResult | None = None
    reschedule_result: RescheduleResult | None = None
    payment_method_result: PaymentMethodUpdateResult | None = None
    attendance_result: AttendanceResult | None = None
    follow_up_id: str | None = None
    follow_up_cancel: CancelResult | None = None
    decline_observed: bool = False
    authenticated_intent: str | None = None
    paid_on_session_at: datetime | None = None
    state_queries: int = 0
    command_retries: int = 0
    errors: list[str] = field(default_factory=list)


def _refusal(error: WorkflowUpdateFailedError) -> str:
    cause = error.cause
    if isinstance(cause, ApplicationError) and cause.type:
        return cause.type
    return type(cause).__name__


class LifecycleDriver:
    def __init__(
        self, stack: FaultStack, policy: SessionPolicy, hour_seconds: float, task_queue: str
    ) -> None:
        self._stack = stack
        self._policy = policy
        self._hour = timedelta(seconds=hour_seconds)
        self._task_queue = task_queue
        self._stripe = stripe.StripeClient(
            STRIPE_KEY,
            base_addresses={"api": stack.standin_url},
            http_client=stripe.HTTPXClient(timeout=2.0, allow_sync_methods=False),
            max_network_retries=2,
        )

    def hours(self, count: float) -> timedelta:
        return count * self._hour

    @property
    def _client(self) -> Any:
        assert self._stack.client is not None
        return self._stack.client

    # --- one lifecycle -----------------------------------------------------------------------

    async def run(self, script: Script) -> LifecycleRecord:
        record = LifecycleRecord(script)
        try:
            await self._run(script, record)
        except StepFailed as failure:
            record.errors.append(str(failure))
        except Exception as exc:  # a harness bug must show up as a finding, not end the suite
            record.errors.append(f"driver error {type(exc).__name__}: {exc}")
        return record

    async def _run(self, script: Script, record: LifecycleRecord) -> None:
        booked_at = now()
        start = booked_at + self.hours(script.lead_hours)
        prepaid = None
        if script.kind is BookingKind.INITIAL_PREPAID:
            prepaid = await self._checkout(script)
        booking = SessionBooking(
            session_id=script.session_id,
            therapist_id=script.therapist_id,
            client_id=script.client_id,
            kind=script.kind,
            start=start,
            duration_minutes=script.duration_minutes,
            therapist_timezone="Europe/London",
            amount_minor=AMOUNT_MINOR,
            currency=CURRENCY,
            stripe_customer_id=script.customer_id,
            payment_method_id=script.payment_method_id,
            prepaid_payment_intent_id=prepaid,
            client_agreed=script.kind is BookingKind.THERAPIST_FOLLOW_UP,
        )
        await self._book(booking, booked_at, record)
        handle: SessionHandle = session_handle(self._client, script.session_id)
        record.booked_at, record.start = booked_at, start
        path = script.path

        if path is LifecyclePath.FREE_CANCEL or (
            path is LifecyclePath.THERAPIST_CANCEL and not script.after_paid
        ):
            # Many policy hours before the deadline (start − 48 h is 8–14 hours after booking).
            await sleep_until(booked_at + self.hours(0.5))
            await self._cancel(handle, record, script.actor, script.discretionary_refund)
            return
        if path is LifecyclePath.RESCHEDULE and not script.after_paid:
            await sleep_until(booked_at + self.hours(0.5))
            await self._reschedule(handle, record, script.actor, start + self.hours(script.move_hours))
            start = record.start
            assert start is not None
        if path is LifecyclePath.SOFT_DECLINE_UNPAID:
            # Nobody fixes the card: every attempt declines and the session is auto-cancelled.
            await sleep_until(start)
            return

        if path is LifecyclePath.PAID_AT_THE_WIRE:
            await self._pay_at_the_wire(script, handle, record, booked_at, start)
        else:
            await self._settle_payment(script, handle, record, booked_at, start)

        if path in (LifecyclePath.LATE_CANCEL, LifecyclePath.THERAPIST_CANCEL):
            # Well inside the 48-hour window (late for a client), well before the start.
            await sleep_until(max(now(), start - self.hours(40)))
            self._require_before(start - self.hours(4), "the cancellation")
            await self._cancel(handle, record, script.actor, script.discretionary_refund)
            return
        if path is LifecyclePath.RESCHEDULE and script.after_paid:
            await sleep_until(max(now(), start - self.hours(40)))
            self._require_before(start - self.hours(4), "the late move")
            await self._reschedule(handle, record, Actor.CLIENT, start + self.hours(script.move_hours))
            start = record.start
            assert start is not None
        if path is LifecyclePath.UNFILED:
            # Nobody files it: the session must wait, awaiting its update, past its end.
            await sleep_until(start + timedelta(minutes=script.duration_minutes, seconds=2))
            return
        await sleep_until(start + timedelta(seconds=1))
        await self._attend(script, handle, record, start)

    def _require_before(self, instant: datetime, what: str) -> None:
        if now() >= instant:
            raise StepFailed(f"{what} could not be sent in time (the session settled too late)")

    # --- payments ----------------------------------------------------------------------------

    async def _settle_payment(
        self,
        script: Script,
        handle: SessionHandle,
        record: LifecycleRecord,
        booked_at: datetime,
        start: datetime,
    ) -> None:
        """Until the session is paid, doing what the client does for its card."""
        if script.kind is BookingKind.INITIAL_PREPAID:
            return
        charge_at = booked_at if script.kind is BookingKind.CLIENT_FOLLOW_UP else start - self.hours(48)
        await sleep_until(charge_at)
        session_id = script.session_id
        if script.card == "insufficient_funds":
            # Funds arrive after the first decline, and in any case long before the −24 h retry.
            declined = await self._observe(
                handle,
                record,
                lambda n: n.type is NotificationType.CHARGE_FAILED,
                lambda s: bool(s.payment.attempts) and s.payment.status is PaymentStatus.DECLINED_SOFT,
                until=start - self.hours(30),
                required=False,
            )
            record.decline_observed = declined
            await self._set_card(f"{script.payment_method_id}", "visa")
        elif script.card == "authentication_required":
            secret = await self._action_required(handle, record, until=start - self.hours(8))
            record.decline_observed = True
            intent_id = secret.split("_secret_", 1)[0]
            record.authenticated_intent = intent_id
            # The client completes 3-D Secure in the browser; Stripe's webhook settles it.
            await self._stack.standin_control("POST", f"payment_intents/{intent_id}/authenticate")
        elif script.card == "lost_card":
            await self._observe(
                handle,
                record,
                lambda n: n.type is NotificationType.CHARGE_FAILED,
                lambda s: s.payment.status is PaymentStatus.DECLINED_HARD,
                until=start - self.hours(8),
            )
            record.decline_observed = True
            new_card = f"pm_card_visa_{session_id}_new"
            record.payment_method_result = await self._update(
                handle,
                SESSION_UPDATE_PAYMENT_METHOD,
                PaymentMethodUpdate(
                    payment_method_id=new_card, acting_party=_acting(record.script, Actor.CLIENT)
                ),
                f"{session_id}:new-card",
                record,
            )
        await self._observe(
            handle,
            record,
            lambda n: n.type is NotificationType.CHARGE_SUCCEEDED,
            lambda s: s.payment.status is PaymentStatus.PAID,
            until=start - self.hours(2),
        )

    async def _pay_at_the_wire(
        self,
        script: Script,
        handle: SessionHandle,
        record: LifecycleRecord,
        booked_at: datetime,
        start: datetime,
    ) -> None:
        """The client pays on-session shortly before the auto-cancel at start − 1 h; Stripe's
        ``payment_intent.succeeded`` webhook is held until the auto-cancel has been decided, so
        only the workflow's own read of the PaymentIntent can see the payment in time."""
        relay = self._stack.relay
        assert relay is not None
        release = relay.hold(script.session_id, {"payment_intent.succeeded"})
        try:
            charge_at = booked_at if script.kind is BookingKind.CLIENT_FOLLOW_UP else start - self.hours(48)
            await sleep_until(charge_at)
            secret = await self._action_required(handle, record, until=start - self.hours(8))
            record.decline_observed = True
            intent_id = secret.split("_secret_", 1)[0]
            record.authenticated_intent = intent_id
            await sleep_until(start - self.hours(script.pay_hours_before))
            await self._stack.standin_control("POST", f"payment_intents/{intent_id}/authenticate")
            # Paid before the auto-cancel's timer could fire (1.5–2 policy hours of margin): the
            # outcome is decided by the workflow, not by the harness's timing.
            self._require_before(start - self.hours(1), "the on-session payment")
            record.paid_on_session_at = now()
            await sleep_until(start - self.hours(1))
            outcome = await self._auto_cancel_outcome(handle, record, until=start + self.hours(24))
        finally:
            release.set()  # the webhook goes on its way (to a session already decided)
        if outcome != PAID:
            paid_at = record.paid_on_session_at
            raise StepFailed(
                f"paid on-session at {paid_at.isoformat() if paid_at else '?'} (before start − 1 h, its "
                f"webhook held), yet the session was not paid but {outcome}"
            )

    async def _auto_cancel_outcome(
        self, handle: SessionHandle, record: LifecycleRecord, until: datetime
    ) -> str:
        """Once the auto-cancel instant has passed: ``paid`` (its read found the payment), or the
        cancellation seen instead."""
        found: list[str] = []

        def from_notification(notification: Notification) -> bool:
            if notification.type is NotificationType.CHARGE_SUCCEEDED:
                found.append(PAID)
            elif notification.type in (NotificationType.AUTO_CANCELLED, NotificationType.SESSION_CANCELLED):
                found.append(f"{notification.type.value} (notification)")
            return bool(found)

        def from_state(state: SessionState) -> bool:
            if state.payment.status is PaymentStatus.PAID:
                found.append(PAID)
            elif state.status.is_cancelled:
                found.append(state.status.value)
            return bool(found)

        await self._observe(handle, record, from_notification, from_state, until=until)
        return found[0]

    async def _action_required(self, handle: SessionHandle, record: LifecycleRecord, until: datetime) -> str:
        found: list[str] = []

        def from_notification(notification: Notification) -> bool:
            if (
                notification.type is NotificationType.ACTION_REQUIRED
                and notification.payment_intent_client_secret
            ):
                found.append(notification.payment_intent_client_secret)
                return True
            return False

        def from_state(state: SessionState) -> bool:
            if state.payment.status is PaymentStatus.REQUIRES_ACTION and state.payment.client_secret:
                found.append(state.payment.client_secret)
                return True
            return False

        await self._observe(handle, record, from_notification, from_state, until=until)
        return found[0]

    async def _observe(
        self,
        handle: SessionHandle,
        record: LifecycleRecord,
        notified: Callable[[Notification], bool],
        in_state: Callable[[SessionState], bool],
        *,
        until: datetime,
        required: bool = True,
    ) -> bool:
        """Until a notification (or, failing that, the session's state) shows the fact."""
        session_id = record.script.session_id
        log = self._stack.notifications
        while True:
            remaining = (until - now()).total_seconds()
            if await log.wait(session_id, notified, max(0.0, min(NOTIFICATION_WAIT_SECONDS, remaining))):
                return True
            state = await self._query(handle, record)
            if state is not None and in_state(state):
                return True
            if now() >= until:
                if required:
                    status = state.status.value if state is not None else "unknown"
                    raise StepFailed(f"the expected payment fact never came (status {status})")
                return False

    async def _query(self, handle: SessionHandle, record: LifecycleRecord) -> SessionState | None:
        record.state_queries += 1
        try:
            state: SessionState = await asyncio.wait_for(
                query_workflow(handle, SESSION_STATE, rpc_timeout=timedelta(seconds=5)), 8
            )
        except (RPCError, TimeoutError):
            return None  # server restarting or no worker for a moment: the next round asks again
        return state

    async def _set_card(self, payment_method_id: str, behaviour: str) -> None:
        await self._stack.standin_control(
            "POST", f"payment_methods/{payment_method_id}", {"behaviour": behaviour}
        )

    async def _checkout(self, script: Script) -> str:
        """The client pays an initial session at checkout (through the stand-in's faults too)."""
        params: Any = {
            "amount": AMOUNT_MINOR,
            "currency": CURRENCY,
            "customer": script.customer_id,
            "payment_method": f"pm_card_visa_{script.session_id}",
            "confirm": True,
            # A card-only checkout: the page pays in place and is redirected nowhere.
            "automatic_payment_methods": {"enabled": True, "allow_redirects": "never"},
            "metadata": {"session_id": script.session_id},
        }
        options: Any = {"idempotency_key": f"checkout:{script.session_id}"}
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STEP_SECONDS
        while True:
            try:
                intent = await asyncio.wait_for(
                    self._stripe.v1.payment_intents.create_async(params, options), 30
                )
                return str(intent.id)
            except (stripe.APIConnectionError, stripe.APIError, stripe.RateLimitError, TimeoutError) as exc:
                failure: Exception = exc
            except stripe.InvalidRequestError as exc:
                if exc.http_status != 409:  # a key still in flight after a timeout: retry
                    raise StepFailed(f"checkout refused: {exc.code}") from exc
                failure = exc
            if loop.time() >= deadline:
                raise StepFailed(f"checkout kept failing: {type(failure).__name__}")
            await asyncio.sleep(RETRY_PAUSE_SECONDS)

    # --- commands ----------------------------------------------------------------------------

    async def _retrying(self, call: Callable[[], Awaitable[T]], what: str, record: LifecycleRecord) -> T:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STEP_SECONDS
        while True:
            try:
                return await asyncio.wait_for(call(), RPC_ATTEMPT_SECONDS)
            except RPCError as exc:
                if exc.status in RETRYABLE_RPC:
                    failure = f"{exc.status.name if exc.status else 'rpc'}"
                elif workflow_task_failing(exc):
                    # The workflow's task is on its 3rd+ attempt (a killed worker, a sticky queue
                    # nobody polls): refused, not admitted, until a worker completes the task. A
                    # session wedged for good still fails the step at the deadline, with this text.
                    failure = f"FAILED_PRECONDITION {exc.message}"
                else:
                    raise StepFailed(
                        f"{what}: {exc.status.name if exc.status else 'rpc'} {exc.message}"
                    ) from exc
            except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError) as exc:
                failure = type(exc).__name__
            record.command_retries += 1
            if loop.time() >= deadline:
                raise StepFailed(f"{what}: still failing after {STEP_SECONDS:.0f} s ({failure})")
            await asyncio.sleep(RETRY_PAUSE_SECONDS)

    async def _book(self, booking: SessionBooking, booked_at: datetime, record: LifecycleRecord) -> None:
        async def attempt() -> None:
            # WorkflowAlreadyStartedError: an earlier try started it and lost the answer.
            with contextlib.suppress(WorkflowAlreadyStartedError):
                try:
                    await book_session(
                        self._client, booking, task_queue=self._task_queue, now=booked_at, policy=self._policy
                    )
                except WorkflowUpdateFailedError as refused:  # the therapist's practice refused it
                    raise StepFailed(f"booking refused: {_refusal(refused)}: {refused.cause}") from refused

        await self._retrying(attempt, "booking", record)

    async def _update(
        self,
        handle: SessionHandle,
        update: Update[ArgT, ResultT],
        argument: ArgT,
        update_id: str,
        record: LifecycleRecord,
        *,
        not_yet_until: datetime | None = None,
    ) -> ResultT:
        what = update_id.split(":", 1)[1]
        attempt_id = update_id
        unavailable = 0
        while True:
            try:
                return await self._retrying(
                    functools.partial(
                        execute_update,
                        handle,
                        update,
                        argument,
                        id=attempt_id,
                        rpc_timeout=timedelta(seconds=RPC_ATTEMPT_SECONDS - 2),
                    ),
                    what,
                    record,
                )
            except WorkflowUpdateFailedError as refused:
                code = _refusal(refused)
                if code in NOT_YET and not_yet_until is not None and now() < not_yet_until:
                    # Refused updates never enter history: the same id may be sent again.
                    record.command_retries += 1
                    await asyncio.sleep(RETRY_PAUSE_SECONDS)
                    continue
                if code == "practice_unavailable" and unavailable < MAX_PRACTICE_UNAVAILABLE:
                    # The practice did not answer in time (its worker was killed): nothing was
                    # changed, and the API says to send it again under a new key.
                    unavailable += 1
                    record.command_retries += 1
                    attempt_id = f"{update_id}~{unavailable}"
                    await asyncio.sleep(RETRY_PAUSE_SECONDS)
                    continue
                raise StepFailed(f"{what} refused: {code}") from refused

    async def _cancel(
        self, handle: SessionHandle, record: LifecycleRecord, actor: Actor, discretionary: bool
    ) -> None:
        received_at = now()  # our API's receipt stamp, kept for every retry of this request
        record.cancel_sent_at = received_at
        reason = {
            Actor.CLIENT: CancelReason.CLIENT_REQUEST,
            Actor.THERAPIST: CancelReason.THERAPIST_UNAVAILABLE,
            Actor.ADMIN: CancelReason.ADMIN_CORRECTION,
        }[actor]
        request = CancelRequest(
            requested_by=actor,
            reason=reason,
            submitted_by=Actor.THERAPIST if discretionary else None,
            discretionary_refund=discretionary,
            received_at=received_at,
            # The one who files it acts: the therapist waiving a client's late charge, else the requester.
            acting_party=_acting(record.script, Actor.THERAPIST if discretionary else actor),
        )
        record.cancel_result = await self._update(
            handle, SESSION_CANCEL, request, f"{record.script.session_id}:cancel", record
        )

    async def _reschedule(
        self, handle: SessionHandle, record: LifecycleRecord, actor: Actor, new_start: datetime
    ) -> None:
        request = RescheduleRequest(
            requested_by=actor,
            new_start=new_start,
            received_at=now(),
            acting_party=_acting(record.script, actor),
        )
        record.reschedule_result = await self._update(
            handle, SESSION_RESCHEDULE, request, f"{record.script.session_id}:move", record
        )
        record.start = new_start

    async def _attend(
        self, script: Script, handle: SessionHandle, record: LifecycleRecord, start: datetime
    ) -> None:
        rebooks = script.continue_choice is not ContinueChoice.NO
        update = AttendanceUpdate(
            outcome=AttendanceOutcome.CLIENT_NO_SHOW
            if script.path is LifecyclePath.NO_SHOW
            else AttendanceOutcome.ATTENDED,
            continue_sessions=script.continue_choice,
            # Three days later: the follow-up's own charge (at its start − 48 h) falls after the run.
            new_start=start + timedelta(days=3)
            if script.continue_choice is ContinueChoice.DIFFERENT_TIME
            else None,
            client_agreed=rebooks,
            reserve_slot=script.reserve_slot,
            refund=script.refund,
            received_at=now(),
            acting_party=_acting(script, Actor.THERAPIST),
        )
        result: AttendanceResult = await self._update(
            handle,
            SESSION_FILE_ATTENDANCE,
            update,
            f"{script.session_id}:attendance",
            record,
            not_yet_until=start + self.hours(24),
        )
        record.attendance_result = result
        record.follow_up_id = result.follow_up_session_id
        if rebooks and result.follow_up_session_id is None:
            raise StepFailed(f"no follow-up booked: incomplete {result.incomplete_effects}")
        if script.cancel_follow_up and result.follow_up_session_id is not None:
            follow_up: SessionHandle = session_handle(self._client, result.follow_up_session_id)
            request = CancelRequest(
                requested_by=Actor.THERAPIST,
                reason=CancelReason.SCHEDULING_CONFLICT,
                received_at=now(),
                acting_party=_acting(script, Actor.THERAPIST),  # the follow-up is the same therapist's
            )
            record.follow_up_cancel = await self._update(
                follow_up, SESSION_CANCEL, request, f"{result.follow_up_session_id}:cancel", record
            )


def _acting(script: Script, role: Actor) -> ActingParty:
    """Who sends a command, as the API's ``Acting-Party`` would name them (recorded in the history)."""
    party_id = {Actor.CLIENT: script.client_id, Actor.THERAPIST: script.therapist_id}.get(role, "adm_faults")
    return ActingParty(role=role, id=party_id)


__all__ = ["LifecycleDriver", "LifecycleRecord", "StepFailed"]
