"""A pure simulation of one session: the state machine of ``domain.session`` driven the way
``SessionWorkflow`` drives it, against a model of the session's single Stripe PaymentIntent.

No server, no clock: each step is taken at the instant it was due, each command at the instant
it arrives. The simulated Stripe behaves as ``activities.payments`` reports it (one PaymentIntent
per session, found again after a lost answer; a refund brings the total up to a target; a void
cancels what can still be paid), and it counts every capture and refund, so a property can check
what really happened to the client's money.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from domain import session as machine
from domain import session_attendance as attendance
from domain import session_commands as commands
from domain.attendance import AttendanceUpdate
from domain.booking import SessionBooking
from domain.commands import CancelRequest, PaymentMethodUpdate, RescheduleRequest
from domain.errors import RuleViolation
from domain.notifications import NotificationType
from domain.payments import ChargeOutcome, ChargeResult, PaymentEvent, RefundResult, VoidResult
from domain.refunds import SessionRefund
from domain.session import Session, Step
from domain.session_attendance import AttendanceEffects, NoShowRequest
from domain.state import SessionWorkflowInput
from domain.status import Actor, BookingKind, DeclineKind, SessionStatus

INTENT_ID = "pi_sim"

PRICE = 6000


def open_session(kind: BookingKind, start: datetime, booked_at: datetime) -> Session:
    """A session booked at ``booked_at`` (a prepaid one paid at checkout with ``pi_sim``)."""
    prepaid = kind is BookingKind.INITIAL_PREPAID
    booking = SessionBooking(
        session_id="ses_sim",
        therapist_id="thr_sim",
        client_id="cli_sim",
        kind=kind,
        start=start,
        amount_minor=PRICE,
        currency="gbp",
        stripe_customer_id="cus_sim",
        payment_method_id=None if prepaid else "pm_card_visa",
        prepaid_payment_intent_id=INTENT_ID if prepaid else None,
        client_agreed=True,
    )
    return machine.open_session(SessionWorkflowInput(booking=booking, booked_at=booked_at), booked_at)


ChargeScript = Literal["ok", "soft", "hard", "sca", "outage", "outage_after_capture"]
OPEN = frozenset({"requires_payment_method", "requires_confirmation", "requires_action"})


@dataclass
class SimulatedStripe:
    """The session's one PaymentIntent, and every movement of money on it."""

    amount: int
    charges: list[ChargeScript] = field(default_factory=list)
    refund_outages: int = 0
    intent_status: str | None = None
    captures: int = 0
    captured: int = 0
    refunded: int = 0
    confirm_calls: int = 0

    def charge(self) -> ChargeResult | None:
        """None: the call got no answer within its budget (the workflow tries again later)."""
        if self.intent_status is not None and self.intent_status not in OPEN:
            # Already paid (on-session) or cancelled: reported, never charged again.
            outcome = ChargeOutcome.SUCCEEDED if self.intent_status == "succeeded" else ChargeOutcome.FAILED
            return ChargeResult(
                outcome=outcome, payment_intent_id=INTENT_ID, payment_intent_status=self.intent_status
            )
        self.confirm_calls += 1
        script = self.charges.pop(0) if self.charges else "ok"
        if script in ("ok", "outage_after_capture"):
            self._capture()
            if script == "outage_after_capture":
                return None
            return ChargeResult(outcome=ChargeOutcome.SUCCEEDED, payment_intent_id=INTENT_ID)
        if script == "outage":
            self.intent_status = self.intent_status or "requires_payment_method"
            return None
        if script == "sca":
            self.intent_status = "requires_action"
            return ChargeResult(
                outcome=ChargeOutcome.REQUIRES_ACTION,
                payment_intent_id=INTENT_ID,
                client_secret="pi_sim_secret_1",
                decline_kind=DeclineKind.AUTHENTICATION_REQUIRED,
                code="authentication_required",
            )
        self.intent_status = "requires_payment_method"
        kind = DeclineKind.SOFT if script == "soft" else DeclineKind.HARD
        code = "insufficient_funds" if script == "soft" else "expired_card"
        return ChargeResult(
            outcome=ChargeOutcome.DECLINED,
            payment_intent_id=INTENT_ID,
            decline_kind=kind,
            code="card_declined",
            decline_code=code,
        )

    def pay_on_session(self) -> bool:
        """The client pays the open PaymentIntent themselves; True when money moved."""
        if self.intent_status not in OPEN:
            return False
        self._capture()
        return True

    def refund(self, target: int) -> RefundResult | None:
        if self.refund_outages:
            self.refund_outages -= 1
            return None
        amount = max(0, min(target, self.captured) - self.refunded)
        self.refunded += amount
        return RefundResult(
            refund_id=f"re_{self.refunded}" if amount else None,
            amount_minor=amount,
            refunded_total_minor=self.refunded,
            captured_minor=self.captured,
        )

    def void(self) -> VoidResult:
        if self.intent_status is None:
            return VoidResult(voided=True, payment_intent_status="none")
        if self.intent_status in OPEN:
            self.intent_status = "canceled"
        return VoidResult(
            voided=self.intent_status == "canceled",
            payment_intent_id=INTENT_ID,
            payment_intent_status=self.intent_status,
        )

    def _capture(self) -> None:
        self.intent_status = "succeeded"
        self.captures += 1
        self.captured = self.amount

    @property
    def kept(self) -> int:
        return self.captured - self.refunded


@dataclass(frozen=True)
class Cancel:
    request: CancelRequest


@dataclass(frozen=True)
class Move:
    request: RescheduleRequest


@dataclass(frozen=True)
class NewCard:
    update: PaymentMethodUpdate


@dataclass(frozen=True)
class PaysOnSession:
    """The client pays on-session; Stripe's webhook may arrive more than once."""

    deliveries: int = 1


@dataclass(frozen=True)
class DashboardRefund:
    """Someone refunds the whole charge in Stripe's dashboard; the webhook reports it."""


@dataclass(frozen=True)
class Attendance:
    update: AttendanceUpdate


@dataclass(frozen=True)
class Grant:
    """A therapist refunds in part or in full (``refund``)."""

    request: SessionRefund


@dataclass(frozen=True)
class MarkNoShow:
    """A therapist marks the client as not attending, from the start."""


Command = Cancel | Move | NewCard | PaysOnSession | DashboardRefund | Attendance | Grant | MarkNoShow


@dataclass
class Trace:
    """What a run did, for the properties to check."""

    accepted: list[tuple[datetime, Command]] = field(default_factory=list)
    refused: list[tuple[datetime, Command, str]] = field(default_factory=list)
    statuses: list[SessionStatus] = field(default_factory=list)
    stale_fact_moves: list[tuple[SessionStatus, SessionStatus]] = field(default_factory=list)
    charged_while_paid: int = 0
    outages: int = 0
    notices: list[NotificationType] = field(default_factory=list)
    """What the charge steps told people (the other notices are checked by the machine's tests)."""
    told: list[machine.Notice] = field(default_factory=list)
    """The same notices in full (audience, confirmation), payment reminders included."""
    events: int = 0
    refunded_elsewhere: bool = False
    tries: list[tuple[bool, bool]] = field(default_factory=list)
    """Each charge try: (made on-session, the client's own command had just caused it)."""

    @property
    def granted_minor(self) -> int:
        """What therapists' refunds (``Grant``) granted in all; one without an amount counts as
        the whole price (it granted everything left)."""
        total = 0
        for _, command in self.accepted:
            if isinstance(command, Grant):
                amount = command.request.amount_minor
                total += PRICE if amount is None else amount
        return total


MAX_STEPS = 60
SETTLED = frozenset(
    {
        SessionStatus.PAID,
        SessionStatus.AWAITING_UPDATE,
        SessionStatus.ATTENDED,
        SessionStatus.CLIENT_NO_SHOW,
        SessionStatus.COMPLETED,
    }
)


class Simulation:
    def __init__(self, session: Session, stripe: SimulatedStripe) -> None:
        self.session = session
        self.stripe = stripe
        self.trace = Trace(statuses=[session.status])
        self.now = session.start - timedelta(days=30)
        """The simulation's clock: the latest instant a step or a command happened at."""
        self.client_waiting = session.kind is BookingKind.CLIENT_FOLLOW_UP
        """The client's own command (their booking, their new card) caused the next try at once."""

    def run(self, commands_at: list[tuple[datetime, Command]]) -> Trace:
        """Apply the commands at their instants, taking every step due before each; then let the
        session run on until it finishes or waits for a person."""
        pending = sorted(commands_at, key=lambda item: item[0])
        for _ in range(MAX_STEPS + len(pending)):
            if machine.is_finished(self.session):
                break
            plan = machine.next_step(self.session)
            if pending and (plan is None or (plan.at is not None and pending[0][0] < plan.at)):
                at, command = pending.pop(0)
                self.now = max(self.now, at)
                self._command(at, command)
            elif plan is not None:
                # An immediate step is taken at the latest instant the session has seen.
                self.now = max(self.now, plan.at or self.now)
                self._take(plan.step, self.now)
            else:
                break
        return self.trace

    def _record(self) -> None:
        if self.trace.statuses[-1] != self.session.status:
            self.trace.statuses.append(self.session.status)

    def _take(self, step: Step, now: datetime) -> None:
        session = self.session
        if step is Step.CHARGE:
            if session.payment.amount_paid_minor:
                self.trace.charged_while_paid += 1
            pending = machine.begin_charge(session, now)
            self.trace.tries.append((not pending.request.off_session, self.client_waiting))
            self.client_waiting = False
            result = self.stripe.charge()
            if result is None:
                # As SessionWorkflow._charge does: an outage is not a decline.
                notices = machine.charge_unreachable(session, pending, "TimeoutError", now)
                self.trace.outages += 1
            else:
                notices = machine.finish_charge(session, pending, result)
            self.trace.notices.extend(notice.type for notice in notices)
            self.trace.told.extend(notices)
        elif step is Step.REFUND:
            request = machine.begin_refund(session)
            refund = self.stripe.refund(request.target_refunded_minor)
            if refund is None:
                machine.block(session, "refund: APIConnectionError", now)
            else:
                announced = machine.apply_refund_result(session, request, refund)
                if announced is not None:
                    machine.announce_refund(session, request, refund, announced.amount_minor, now)
        elif step is Step.VOID:
            machine.begin_void(session)
            reason = machine.apply_void_result(session, self.stripe.void())
            if reason is not None:
                machine.block(session, reason, now)
        elif step is Step.AUTO_CANCEL:
            machine.auto_cancel(session)
        elif step is Step.RETRY_MONEY:
            machine.unblock(session)
        elif step is Step.REMIND:
            machine.remind(session)
        elif step is Step.PAYMENT_REMINDER:
            reminder = machine.remind_payment(session, now)
            self.trace.notices.append(reminder.type)
            self.trace.told.append(reminder)
        elif step is Step.COMPLETE:
            machine.complete(session)
        elif step is Step.SESSION_END and not machine.outcome_filed(session):
            machine.end_session(session)
        self._record()

    def _command(self, at: datetime, command: Command) -> None:
        session = self.session
        try:
            if isinstance(command, Cancel):
                commands.cancel(session, command.request, at, at)
            elif isinstance(command, Move):
                commands.reschedule(session, command.request, at, at)
            elif isinstance(command, NewCard):
                result = commands.update_payment_method(session, command.update, at)
                by_client = command.update.requested_by is Actor.CLIENT
                self.client_waiting = self.client_waiting or (result.retrying_now and by_client)
            elif isinstance(command, Attendance):
                attendance.begin_filing(session, command.update, at)
                plan = attendance.record_attendance(session, command.update, at)
                attendance.finish_attendance(session, command.update, plan, AttendanceEffects())
            elif isinstance(command, DashboardRefund):
                self._refund_elsewhere()
            elif isinstance(command, Grant):
                commands.refund(session, command.request, at)
            elif isinstance(command, MarkNoShow):
                attendance.mark_no_show(session, NoShowRequest(), at)
            elif self.stripe.pay_on_session():
                self._deliver_success(command.deliveries)
        except RuleViolation as violation:
            self.trace.refused.append((at, command, violation.code))
            return
        self.trace.accepted.append((at, command))
        self._record()

    def _deliver_success(self, deliveries: int) -> None:
        """The webhook, delivered ``deliveries`` times with one event id."""
        self.trace.events += 1
        event = PaymentEvent(
            event_id=f"evt_paid_{self.trace.events}",
            type="payment_intent.succeeded",
            payment_intent_id=INTENT_ID,
            created=self.now,
        )
        for _ in range(deliveries):
            before = self.session.status
            machine.apply_payment_event(self.session, event)
            if (before.is_cancelled or before in SETTLED) and self.session.status != before:
                self.trace.stale_fact_moves.append((before, self.session.status))

    def _refund_elsewhere(self) -> None:
        if not self.stripe.captured or self.stripe.refunded == self.stripe.captured:
            return
        self.stripe.refunded = self.stripe.captured
        self.trace.refunded_elsewhere = True
        self.trace.events += 1
        event = PaymentEvent(
            event_id=f"evt_refunded_{self.trace.events}",
            type="charge.refunded",
            payment_intent_id=INTENT_ID,
            created=self.now,
            amount_refunded_minor=self.stripe.refunded,
        )
        machine.apply_payment_event(self.session, event)
