"""One session as a pure state machine: what it waits for, what money it owes, how facts move it.

``SessionWorkflow`` holds one :class:`Session` and carries out what these functions decide: it
sleeps until :func:`next_step` says, calls Stripe with the requests built here, and sends the
:class:`Notice` values they return. Every function takes the instant it decides on as an argument
(never a clock), mutates the session and returns what the workflow must do next, so each rule is
tested at unit speed (``tests/unit/test_session_machine.py``, ``tests/unit/test_session_properties.py``).

The commands a person sends (cancel, reschedule, new card, attendance update) live in
``domain.session_commands``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from pydantic import Field

from domain import notification_catalogue as catalogue
from domain.booking import SessionBooking
from domain.commission import refund_cause
from domain.direct_charges import (
    charge_on_account,
    on_account,
    open_on_account,
    record_fee_charged,
    record_fee_refunded,
    refund_on_account,
)
from domain.disputes import awaits_any_outcome, awaits_outcome, dispute_records, holding_record
from domain.ledger import (
    apply_refunded_amount,
    apply_succeeded_intent,
    awaits_money,
    mark_paid,
    may_hold_open_intent,
    record_charge,
)
from domain.local_times import CANCELLATION_POLICY_CODE, booking_terms, session_times
from domain.notifications import Audience, Notification, NotificationType, notification_event_id
from domain.payments import (
    AccountChargesFact,
    ChargeOutcome,
    ChargeRequest,
    ChargeResult,
    PaymentEvent,
    PaymentRead,
    PaymentReadRequest,
    RefundRequest,
    RefundResult,
    VoidRequest,
    VoidResult,
)
from domain.policy import (
    SessionPolicy,
    auto_cancel_at,
    charge_due_after_move,
    charge_spread_offset,
    charge_still_owed,
    first_charge_at,
    next_retry_at,
    outage_retry_at,
    refund_owed,
)
from domain.presence import (
    ChargeAnswer,
    ChargeCause,
    booking_charge_cause,
    charge_answer_of,
    client_present,
)
from domain.refunds import refund_target_with_grants
from domain.state import (
    CancellationRecord,
    ChargeAttempt,
    ExtraPayment,
    PaymentLedger,
    RefundRecord,
    SessionState,
    SessionWorkflowInput,
)
from domain.status import (
    ENDS_INTO_AWAITING_UPDATE,
    Actor,
    BookingKind,
    CancelReason,
    PaymentStatus,
    SessionStatus,
)
from domain.unreported import unreported_deadline, unreported_money

BLOCKED_MONEY_RETRY = timedelta(hours=6)
"""After Stripe refuses a refund or a void, try again this much later (or on any new fact)."""

OUTCOME_STATUSES = frozenset({SessionStatus.ATTENDED, SessionStatus.CLIENT_NO_SHOW})
# A late payment fact never moves a session that has taken place back to a payment status.
_AFTER_THE_SESSION = OUTCOME_STATUSES | {
    SessionStatus.AWAITING_UPDATE,
    SessionStatus.COMPLETED,
    SessionStatus.UNREPORTED,
}

_SESSION_STATUS_FOR_PAYMENT = MappingProxyType(
    {
        PaymentStatus.PAID: SessionStatus.PAID,
        PaymentStatus.REQUIRES_ACTION: SessionStatus.AWAITING_CLIENT_ACTION,
        PaymentStatus.DECLINED_SOFT: SessionStatus.PAYMENT_FAILED,
        PaymentStatus.DECLINED_HARD: SessionStatus.PAYMENT_FAILED,
        PaymentStatus.NOT_DUE: SessionStatus.SCHEDULED,
        PaymentStatus.ON_HOLD: SessionStatus.PAYMENT_ON_HOLD,
    }
)


class Session(SessionState):
    """The whole state of one session as its workflow holds it.

    :class:`SessionState` is its public part (the ``state`` query, the workflow's result, the
    API's read); the fields below are the machine's own and are never serialised.
    """

    booking: SessionBooking = Field(exclude=True)
    """The booking as it was made (a move changes ``start``, never this)."""
    policy: SessionPolicy = Field(exclude=True)
    seen_event_ids: set[str] = Field(default_factory=set, exclude=True)
    """Stripe event ids already applied: a redelivered webhook changes nothing."""
    succeeded_intents: list[str] = Field(default_factory=list, exclude=True)
    """In arrival order (not a set) so adopting one after a lost attempt is deterministic."""
    blocked_until: datetime | None = Field(default=None, exclude=True)
    """Stripe refused a refund or void: money work waits until then (or until news arrives)."""
    filing: bool = Field(default=False, exclude=True)
    """An attendance update is being filed (awaiting the practice): a second one is refused."""
    unreported_deferred: bool = Field(default=False, exclude=True)
    """The unreported deadline passed while the charge was held at the start (``HELD_AT_START``):
    the close waits for the resume (or the attendance update) instead; ops were told once."""
    clock_floor: datetime | None = Field(default=None, exclude=True)
    """The instant of the last timer that fired: the session's clock is never behind it."""
    holds_time: bool = Field(default=False, exclude=True)
    """The practice holds a claim on this session's time: a cancellation must release it."""
    claims_made: int = Field(default=0, exclude=True)
    """Time claims this session has sent the practice: each gets its own request id."""
    moving: bool = Field(default=False, exclude=True)
    """A move is claiming its new time at the practice: a second move is refused meanwhile."""
    restore_pending: bool = Field(default=False, exclude=True)
    """A refused move's claim may have landed, and holding the session's own time again could not
    be confirmed: the main loop claims it again."""
    charge_in_flight: bool = Field(default=False, exclude=True)
    """A charge try is under way (between ``begin_charge`` and its answer or give-up)."""
    terms_notices: bool = Field(default=False, exclude=True)
    """The session tells each party what the marketplace's terms say they are told (issue 12):
    set at the start of runs past ``workflow.patched("terms-notifications")``; False in sessions
    booked before, which keep the notices (and commands) they were started with."""
    lean: bool = Field(default=False, exclude=True)
    """The session runs the lean lifecycle (issue 13): no timer of its own marks the end — the
    first reminder's timer ends it, and reads show ``awaiting_update`` from ``SessionEnd`` on.
    Set at the start of runs past ``workflow.patched("lean-lifecycle")``."""
    payment_trouble_told: bool = Field(default=False, exclude=True)
    """A ``charge_failed`` or ``action_required`` notice went out: a payment now is a recovery
    the therapist hears of (``payment_recovered``)."""
    payment_reminders_sent: int = Field(default=0, exclude=True)
    payment_reminded_until: datetime | None = Field(default=None, exclude=True)
    """The attempt instant of the last payment reminder: the next one is at a later instant."""
    charge_cause: ChargeCause = Field(default=ChargeCause.SCHEDULE, exclude=True)
    """What causes the next charge try: the client's own command (on-session) or a timer."""
    last_try_on_session: bool | None = Field(default=None, exclude=True)
    """Whether the last charge try was on-session: a try again under the same key must send the
    same parameters (Stripe refuses a key reused with others), so a change takes a new key."""
    held_settles: bool = Field(default=False, exclude=True)
    """A held charge follows what Stripe and the session say (review 14): a payment that went
    through settles it, a held real try may have left a PaymentIntent (voided or refunded at the
    cancellation), a move moves its next check. Set at the start of runs past
    ``workflow.patched("charge-held-settles")``; False in sessions that ran before."""
    held_last_look: bool = Field(default=False, exclude=True)
    """The account was looked at once more at the held session's auto-cancel instant (a resume
    signal that missed the session must not cost it): still held after that look, it is cancelled."""
    hold_told: bool = Field(default=False, exclude=True)
    """Both parties were told the charge is held (``payment_on_hold``): once per session."""
    resumed_in_flight: bool = Field(default=False, exclude=True)
    """The account was enabled again while a check of it was under way: a hold it answers is
    tried again at once (the check may have read the account just before)."""
    closed: bool = Field(default=False, exclude=True)
    """The session took place and its attendance update is carried out (``complete``): its final
    status is ``completed`` — or ``client_no_show``, which stays so that lists and the history
    show it."""

    def snapshot(self) -> SessionState:
        """The public state, detached from the machine's (a query must not share its objects)."""
        return SessionState.model_validate(self.model_dump())


@dataclass(frozen=True)
class Notice:
    """A notification the workflow must send: what, to whom, and which repeat of it."""

    type: NotificationType
    audience: Audience
    sequence: int | str
    """Tells repeats of one type apart in the event id; from session state, never the clock.
    Two copies of one event (the other party's and the actor's confirmation) differ here too."""
    fields: dict[str, Any] = field(default_factory=dict)
    confirmation: bool = False
    """The copy confirming an action to the party who took it; its channel, like every copy's,
    is the catalogue's (``domain.notification_catalogue``)."""

    def to_notification(self, session: Session, occurred_at: datetime) -> Notification:
        """The event for the backend; raises ``ValueError`` for a code the event cannot carry.

        The catalogue (``domain.notification_catalogue``) gives the copy's channel and says whether
        it carries the session's times for both parties and the booking terms; these are filled in
        from the session unless the notice gives them (``start``, ``previous_start`` and
        ``charge_at`` for an event about another session, e.g. the follow-up that was booked).
        """
        fields = dict(self.fields)
        start = fields.pop("start", session.start)
        previous_start = fields.pop("previous_start", session.booking.previous_start)
        # A confirmation given as a field (as the catalogue's tests build copies) counts too.
        confirmation = self.confirmation or bool(fields.pop("confirmation", False))
        item = catalogue.entry(self.type)
        filled: dict[str, Any] = {
            "channel": catalogue.channel_for(self.type, self.audience, confirmation=confirmation)
        }
        if item.session_times:
            times = session_times(
                start,
                client_timezone=session.booking.client_timezone,
                therapist_timezone=session.booking.therapist_timezone,
                previous_start=previous_start,
            )
            filled |= dict(times)
        if item.booking_terms:
            charge_at = fields.pop("charge_at", session.payment.next_charge_at)
            terms = booking_terms(start, charge_at, session.policy)
            filled |= {"charge_at": terms.charge_at, "free_cancellation_until": terms.free_cancellation_until}
            fields["codes"] = {**fields.get("codes", {}), CANCELLATION_POLICY_CODE: terms.cancellation_policy}
        return Notification(
            event_id=notification_event_id(session.session_id, self.type, self.sequence),
            type=self.type,
            audience=self.audience,
            session_id=session.session_id,
            therapist_id=session.therapist_id,
            client_id=session.client_id,
            occurred_at=occurred_at,
            confirmation=confirmation,
            **(filled | fields),
        )


class Step(StrEnum):
    """What the session does next; also the summary of the timer that waits for it."""

    CHARGE = "charge"
    AUTO_CANCEL = "auto_cancel"
    SESSION_END = "session_end"
    RETRY_MONEY = "retry_money"
    REMIND = "attendance_reminder"
    COMPLETE = "complete"
    REFUND = "refund"
    VOID = "void"
    RELEASE_TIME = "release_time"
    RESTORE_TIME = "restore_time"
    PAYMENT_REMINDER = "payment_reminder"
    CLOSE_UNREPORTED = "close_unreported"


@dataclass(frozen=True)
class NextStep:
    step: Step
    at: datetime | None
    """When it is due; ``None``: at once."""


@dataclass(frozen=True)
class PendingCharge:
    """A charge attempt under way: what was asked, when, and for which start."""

    request: ChargeRequest
    attempted_at: datetime
    start: datetime
    at_attempt_instant: bool = False
    """A scheduled retry at one of the later attempt instants (not a new card's try, not a try
    again after an outage): its failure also reminds the client that payment is outstanding."""


@dataclass(frozen=True)
class FactOutcome:
    wakes: bool
    """The fact changes what the session waits for (waking it restarts its timer: an Action)."""
    notices: list[Notice] = field(default_factory=list)


@dataclass(frozen=True)
class RefundAnnouncement:
    amount_minor: int
    lost_answer: bool
    """An earlier try refunded and its answer was lost: the retry found the money already back."""


# --------------------------------------------------------------------------------- opening


def initial_status(booking: SessionBooking) -> SessionStatus:
    """A session paid at checkout starts ``paid``; every other starts ``scheduled``."""
    if booking.kind is BookingKind.INITIAL_PREPAID:
        return SessionStatus.PAID
    return SessionStatus.SCHEDULED


def open_session(workflow_input: SessionWorkflowInput, now: datetime) -> Session:
    """The session as booked: paid at checkout, or with its first charge planned."""
    booking = workflow_input.booking
    policy = workflow_input.policy
    payment = PaymentLedger(
        amount_minor=booking.amount_minor,
        currency=booking.currency,
        payment_method_id=booking.payment_method_id,
    )
    open_on_account(payment, booking, workflow_input.commission)
    if booking.kind is BookingKind.INITIAL_PREPAID:
        payment.payment_intent_id = booking.prepaid_payment_intent_id
        mark_paid(payment)
        cause = ChargeCause.SCHEDULE
    else:
        booked_at = workflow_input.booked_at or now
        spread = charge_spread_offset(booking.session_id, policy)
        payment.next_charge_at = first_charge_at(booking.kind, booking.start, booked_at, policy, spread)
        cause = booking_charge_cause(booking.kind)
    return Session(
        session_id=booking.session_id,
        therapist_id=booking.therapist_id,
        client_id=booking.client_id,
        kind=booking.kind,
        status=initial_status(booking),
        start=booking.start,
        end=booking.start + booking.duration,
        therapist_timezone=booking.therapist_timezone,
        client_timezone=booking.client_timezone,
        payment=payment,
        booking=booking,
        policy=policy,
        tzdata_version=workflow_input.tzdata_version,
        holds_time=workflow_input.time_claimed,
        charge_cause=cause,
    )


# --------------------------------------------------------------------------------- time


def clock(session: Session, now: datetime) -> datetime:
    """The instant the session decides on: ``now``, never behind a timer that has already fired.

    A worker answering a query for a run it has not cached can apply a fired timer with the
    previous workflow task's clock; a decision on that clock would not replay. With a correct
    clock this is ``now`` itself, so recorded histories replay unchanged.
    """
    if session.clock_floor is None:
        return now
    return max(now, session.clock_floor)


def timer_fired(session: Session, due: datetime) -> None:
    session.clock_floor = due if session.clock_floor is None else max(session.clock_floor, due)


# --------------------------------------------------------------------------------- what is owed


def discretionary_refund(session: Session) -> bool:
    return session.cancellation is not None and session.cancellation.discretionary_refund


def charge_owed(session: Session) -> bool:
    """The session must still collect its payment: live and unpaid, or a late cancellation's
    (unless the charge was given up to ops: ``payment.ops_blocked``)."""
    if session.payment.status in (PaymentStatus.PAID, PaymentStatus.VOIDED, PaymentStatus.NOT_COLLECTED):
        return False
    if session.payment.ops_blocked is not None:
        return False
    return charge_still_owed(session.status, discretionary_refund(session))


def refund_target(session: Session) -> int:
    """How much of the taken payment must be back with the client, in total: what the rules owe
    plus every refund a therapist or admin granted (``domain.refunds``), never more than was
    captured."""
    return refund_target_if(session, session.status, discretionary_refund(session))


def refund_target_if(session: Session, status: SessionStatus, discretionary: bool) -> int:
    """:func:`refund_target` were the session in ``status`` (a cancellation being decided, or
    previewed, before anything changes)."""
    payment = session.payment
    if payment.status is not PaymentStatus.PAID:
        return 0
    update = session.attendance.update if session.attendance is not None else None
    if update is not None and update.refund:
        # A discretionary refund filed with the attendance update: its amount, or all of it.
        owed = min(update.refund_amount_minor or payment.amount_paid_minor, payment.amount_paid_minor)
    else:
        owed = refund_owed(status, discretionary, payment.amount_paid_minor)
    return refund_target_with_grants(payment, owed)


def refund_due(session: Session) -> int:
    due = max(0, refund_target(session) - session.payment.amount_refunded_minor)
    held = holding_record(
        dispute_records(session.dispute, session.disputes), session.payment.payment_intent_id
    )
    if held is not None:
        held.refund_held_minor = due  # held, not forgotten: paid if the dispute is won
        return 0
    return due


def void_due(session: Session) -> bool:
    """A cancelled session that owes no charge voids any PaymentIntent the client could still pay."""
    return (
        session.status.is_cancelled
        and not charge_owed(session)
        and may_hold_open_intent(session.payment, held_tries=session.held_settles)
    )


def extra_payment_due(session: Session) -> ExtraPayment | None:
    """A second payment of the session not yet refunded in full (``note_extra_payments``), unless
    a dispute of it holds its refund: while open (the session waits; a win pays it) or once lost
    (the bank took it back: nothing more is owed, the session stops retrying and may close)."""
    for extra in session.payment.extra_payments:
        if extra.refunded:
            continue
        # Only disputes recorded one per id (``disputes``) were ever checked against the payment.
        held = holding_record(session.disputes, extra.payment_intent_id)
        if held is None:
            return extra
        held.refund_held_minor = (
            max(0, session.payment.amount_minor - extra.refunded_minor) if held.open else 0
        )
    return None


def money_owed(session: Session) -> bool:
    return refund_due(session) > 0 or void_due(session) or extra_payment_due(session) is not None


def is_finished(session: Session) -> bool:
    closed = session.status.is_cancelled or session.status is SessionStatus.COMPLETED or session.closed
    finished = (
        closed and not money_owed(session) and not charge_owed(session) and not time_to_release(session)
    )
    # money_owed has just recorded any refund a dispute holds: one held by an open dispute is paid
    # if it is won, so the session waits for the outcome.
    records = dispute_records(session.dispute, session.disputes)
    if not session.disputes:  # a state recorded before: its one dispute, of the session's charge
        return finished and not awaits_outcome(session.dispute, session.payment.payment_intent_id)
    return finished and not awaits_any_outcome(records)


def time_to_release(session: Session) -> bool:
    """A cancelled session still holds its time at the practice (a session that took place needs
    no release: its claim lapses when it ends)."""
    return session.holds_time and session.status.is_cancelled


def time_released(session: Session) -> None:
    session.holds_time = False
    session.restore_pending = False


def time_to_restore(session: Session) -> bool:
    """A refused move left the practice holding another time for this session (a cancelled one
    releases instead)."""
    return session.restore_pending and not session.status.is_cancelled


def restore_later(session: Session) -> None:
    session.restore_pending = True


def time_restored(session: Session) -> None:
    session.restore_pending = False


def next_claim_number(session: Session) -> int:
    """The number of a new time claim (its request id), taken before the claim is sent."""
    session.claims_made += 1
    return session.claims_made


def outcome_filed(session: Session) -> bool:
    return session.status in OUTCOME_STATUSES


def next_step(session: Session) -> NextStep | None:
    """What the session waits for next; ``None``: only a command or a fact can move it.

    Awaiting the attendance update after the last reminder, nothing is assumed: at the policy's
    deadline the session closes as ``unreported`` (``close_unreported``); a session booked before
    that rule (no ``unreported_after`` in its policy) waits for ever, as it did.
    """
    payment = session.payment
    if time_to_release(session):
        return NextStep(Step.RELEASE_TIME, None)
    if time_to_restore(session):
        return NextStep(Step.RESTORE_TIME, None)
    if session.blocked_until is None and money_owed(session):
        refunds = refund_due(session) > 0 or extra_payment_due(session) is not None
        return NextStep(Step.REFUND if refunds else Step.VOID, None)
    if session.blocked_until is not None:
        return NextStep(Step.RETRY_MONEY, session.blocked_until)
    if charge_owed(session):
        if payment.retry_now:
            return NextStep(Step.CHARGE, None)
        if payment.next_charge_at is not None:
            return NextStep(Step.CHARGE, payment.next_charge_at)
        reminder_at = payment_reminder_at(session)
        if reminder_at is not None:
            return NextStep(Step.PAYMENT_REMINDER, reminder_at)
        return NextStep(Step.AUTO_CANCEL, auto_cancel_at(session.start, session.policy))
    reminders = session.policy.attendance_reminder_offsets
    if session.status in ENDS_INTO_AWAITING_UPDATE and session.lean and reminders:
        # Nothing happens at the end itself: sleep until the first reminder, which ends it.
        return NextStep(Step.REMIND, session.end + reminders[0])
    if session.status in (SessionStatus.PAID, SessionStatus.SCHEDULED) or went_ahead_unpaid(session):
        return NextStep(Step.SESSION_END, session.end)
    if outcome_filed(session) and session.attendance_result is not None and not session.closed:
        return NextStep(Step.COMPLETE, None)
    if awaits_attendance_update(session) and session.reminders_sent < len(reminders):
        return NextStep(Step.REMIND, session.end + reminders[session.reminders_sent])
    deadline = unreported_deadline(session.end, session.policy)
    if deadline is not None and awaits_attendance_update(session) and not session.filing:
        if session.unreported_deferred and close_waits_for_resume(session):
            # Past the deadline with the charge still held at the start: only the resume (which
            # charges, then closes it) or the attendance update moves it now.
            return None
        # After the last reminder, the update's deadline (``domain.unreported``); a filing under
        # way is waited for (it wins if it is recorded). Sessions booked before have no deadline.
        return NextStep(Step.CLOSE_UNREPORTED, deadline)
    return None


# --------------------------------------------------------------------------------- status


def follow_payment(session: Session) -> None:
    """The session's status after its payment moved; a closed or past session keeps its own."""
    if session.status.is_cancelled or session.status in _AFTER_THE_SESSION:
        return
    status = _SESSION_STATUS_FOR_PAYMENT.get(session.payment.status)
    if status is not None:
        session.status = status


def end_session(session: Session) -> None:
    """The session's time is over: it awaits the therapist's attendance update."""
    session.status = SessionStatus.AWAITING_UPDATE


def catch_up_end(session: Session, now: datetime) -> None:
    """A lean session past its end, not yet marked (no timer does it), is marked now: a payment
    fact arriving after the session must find it ``awaiting_update``, as a timer would have left it."""
    if session.lean and session.status in ENDS_INTO_AWAITING_UPDATE and now >= session.end:
        end_session(session)


def awaits_attendance_update(session: Session) -> bool:
    """The session has ended and its attendance update is still to come: ``awaiting_update``, or
    marked ``client_no_show`` from the start (``mark_no_show``) without the full update yet."""
    if session.status is SessionStatus.AWAITING_UPDATE:
        return True
    return session.no_show is not None and session.attendance is None


def complete(session: Session, *, keep_no_show: bool = True) -> None:
    """The attendance update is carried out: the session is over. A client no-show stays
    ``client_no_show`` (``keep_no_show``; histories from before that rule replay ``completed``)."""
    session.closed = True
    if keep_no_show and session.status is SessionStatus.CLIENT_NO_SHOW:
        return
    session.status = SessionStatus.COMPLETED


def unreported_due(session: Session, now: datetime) -> bool:
    """The attendance update's deadline has passed with the update still to come and none being
    filed: the session closes as ``unreported``."""
    deadline = unreported_deadline(session.end, session.policy)
    return (
        deadline is not None
        and now >= deadline
        and awaits_attendance_update(session)
        and not session.filing
        and not session.closed
    )


def close_waits_for_resume(session: Session) -> bool:
    """The session's charge was held at its start (the therapist's account paused,
    ``HELD_AT_START``) and is still pending: it is charged automatically once the account can
    charge again (``resume_held``), so the unreported deadline does not close it — closing would
    lose that charge for good. It waits for the resume (or the attendance update)."""
    return session.payment.ops_blocked == HELD_AT_START and session.payment.status is PaymentStatus.ON_HOLD


def defer_unreported(session: Session, now: datetime) -> bool:
    """The deadline came while the charge is still held at the start (``close_waits_for_resume``):
    the close waits. True the first time (ops are told then, once)."""
    if session.unreported_deferred or not close_waits_for_resume(session):
        return False
    if not unreported_due(session, now):
        return False
    session.unreported_deferred = True
    return True


def close_unreported(session: Session, now: datetime) -> list[Notice]:
    """Close a session whose attendance update never came (``domain.unreported``): its status is
    ``unreported`` — or stays ``client_no_show`` when the therapist marked it so from the start —
    and nothing about attendance is assumed. Its money follows ``unreported_money``: the charge is
    kept, nothing is refunded or collected by the close. The therapist is told. Nothing at the
    practice changes: the session's time claim lapsed at its end, and no slot is released and no
    relationship ended on a guess. Returns no notice (and changes nothing) when the update won:
    recorded, or being filed, before the deadline."""
    if not unreported_due(session, now) or close_waits_for_resume(session):
        return []
    payment = session.payment
    money = unreported_money(payment)
    marked = session.no_show is not None
    if not marked:
        session.status = SessionStatus.UNREPORTED
    session.closed = True
    attendance = SessionStatus.CLIENT_NO_SHOW.value if marked else SessionStatus.UNREPORTED.value
    codes = {"attendance": attendance, "money": money.value}
    fields: dict[str, Any] = {
        "amount_minor": payment.amount_paid_minor,
        "currency": payment.currency,
        "codes": codes,
    }
    return [Notice(NotificationType.SESSION_UNREPORTED, Audience.THERAPIST, 1, fields)]


def remind(session: Session) -> Notice:
    if session.status in ENDS_INTO_AWAITING_UPDATE:
        end_session(session)  # a lean session's first reminder is also its end
    session.reminders_sent += 1
    number = session.reminders_sent
    return Notice(
        NotificationType.ATTENDANCE_UPDATE_DUE, Audience.THERAPIST, number, {"reminder_number": number}
    )


def payment_reminder_at(session: Session) -> datetime | None:
    """The next later attempt instant at which the client is reminded that only they can pay now:
    authentication (SCA) is outstanding, or the card was declined for good and a new one is needed.
    No charge is tried at those instants, so without this the client would hear nothing until the
    auto-cancel. A soft decline is retried at them instead (``finish_charge`` reminds when the
    retry fails). Only in sessions on the terms' notices; never for a cancelled session."""
    payment = session.payment
    if not session.terms_notices or session.status.is_cancelled or not payment.attempts:
        return None
    if payment.status not in (PaymentStatus.REQUIRES_ACTION, PaymentStatus.DECLINED_HARD):
        return None
    after = payment.attempts[-1].at
    if session.payment_reminded_until is not None:
        after = max(after, session.payment_reminded_until)
    return next_retry_at(session.start, after, session.policy)


def remind_payment(session: Session, due: datetime) -> Notice:
    """A later attempt instant passed with the payment still outstanding: remind the client."""
    session.payment_reminded_until = due
    return _payment_reminder(session)


def _payment_reminder(session: Session) -> Notice:
    session.payment_reminders_sent += 1
    number = session.payment_reminders_sent
    payment = session.payment
    fields: dict[str, Any] = {
        "reminder_number": number,
        "amount_minor": payment.amount_minor,
        "currency": payment.currency,
        "codes": {"action": _client_action(payment.status)},
    }
    if payment.status is PaymentStatus.REQUIRES_ACTION and payment.client_secret is not None:
        fields["payment_intent_client_secret"] = payment.client_secret  # to pay on-session now
    return Notice(NotificationType.PAYMENT_REMINDER, Audience.CLIENT, number, fields)


def _client_action(status: PaymentStatus) -> str:
    """What the client can do about an outstanding payment: authenticate it (SCA), enter a new
    card (declined for good), or pay now by the link (a soft decline that is retried anyway)."""
    if status is PaymentStatus.REQUIRES_ACTION:
        return "authenticate"
    if status is PaymentStatus.DECLINED_HARD:
        return "update_card"
    return "pay_by_link"


def booking_notices(session: Session) -> list[Notice]:
    """Every booking is confirmed to both parties. A therapist-booked session (a follow-up from the
    attendance update, or booked by hand) tells the client ``follow_up_booked``, the agreed
    session they will be charged for, and confirms it to the therapist who booked it; a session
    the client booked confirms it to the client and tells the therapist."""
    if not session.terms_notices:
        return []
    booking = session.booking
    money: dict[str, Any] = {"amount_minor": booking.amount_minor, "currency": booking.currency}
    confirmed = money | {"codes": {"booked_by": booking.booked_by.value, "kind": booking.kind.value}}
    if booking.kind.booked_by_therapist:  # an attendance follow-up or a manual booking
        related = {"related_session_id": booking.previous_session_id} if booking.previous_session_id else {}
        return [
            Notice(NotificationType.FOLLOW_UP_BOOKED, Audience.CLIENT, 1, money | related),
            Notice(
                NotificationType.BOOKING_CONFIRMED,
                Audience.THERAPIST,
                "therapist",
                confirmed,
                confirmation=True,
            ),
        ]
    return [
        Notice(NotificationType.BOOKING_CONFIRMED, Audience.CLIENT, "client", confirmed, confirmation=True),
        Notice(NotificationType.BOOKING_CONFIRMED, Audience.THERAPIST, "therapist", confirmed),
    ]


def may_have_been_paid(session: Session) -> bool:
    """An unpaid session whose PaymentIntent the client may have paid on-session (its webhook not
    yet in): read it before the auto-cancel, so a payment that landed wins."""
    return charge_owed(session) and may_hold_open_intent(session.payment)


def payment_read_request(session: Session) -> PaymentReadRequest:
    request = PaymentReadRequest(
        session_id=session.session_id,
        customer_id=session.booking.stripe_customer_id,
        payment_intent_id=session.payment.payment_intent_id,
    )
    return on_account(request, session.payment)


def apply_payment_read(session: Session, read: PaymentRead) -> list[Notice]:
    """A PaymentIntent found paid settles the session, as its webhook would have (the same notice
    and event id, so the webhook arriving later changes nothing)."""
    if read.payment_intent_status != "succeeded" or read.payment_intent_id is None:
        return []
    if not apply_succeeded_intent(session.payment, read.payment_intent_id, held_settles=session.held_settles):
        return []
    _settled_held(session)
    follow_payment(session)
    note_extra_payments(session)
    return _on_session_payment_notices(session)


def note_extra_payments(session: Session) -> bool:
    """Record every succeeded PaymentIntent of this paid session that it is not paid with (a try
    that went unanswered went through, and a later try charged too): each is owed back in full.
    True when one was added."""
    payment = session.payment
    if payment.status is not PaymentStatus.PAID:
        return False
    known = {extra.payment_intent_id for extra in payment.extra_payments}
    added = False
    for intent_id in session.succeeded_intents:
        if intent_id != payment.payment_intent_id and intent_id not in known:
            payment.extra_payments.append(ExtraPayment(payment_intent_id=intent_id))
            known.add(intent_id)
            added = True
    return added


def went_ahead_unpaid(session: Session) -> bool:
    """A live session whose charge was given up to ops: it takes place (and ends) as any other."""
    return (
        session.payment.ops_blocked is not None
        and not session.status.is_cancelled
        and session.status not in _AFTER_THE_SESSION
    )


def auto_cancel(session: Session) -> list[Notice]:
    """Still unpaid at start − 1 h: cancelled unpaid (a late cancellation's charge is given up).

    Never a session whose last charge was attempted at or after its start: only an outage of ours
    can hold a charge past the start (the attempt times all fall before it), and a session that
    took place is not cancelled afterwards. It goes ahead; what is owed is left to ops and the
    therapist (``ops_blocked``). Decided on that recorded instant, never on a clock: a task that
    runs late (a worker down across start − 1 h) decides as the timer's instant would have."""
    payment = session.payment
    last_attempt = payment.attempts[-1].at if payment.attempts else None
    went_ahead = last_attempt is not None and last_attempt >= session.start
    if went_ahead and not session.status.is_cancelled:
        payment.next_charge_at = None
        payment.retry_now = False
        payment.ops_blocked = "unpaid_at_start"
        return []
    payment.next_charge_at = None
    payment.client_secret = None
    if session.status is SessionStatus.CANCELLED_LATE:
        # Its pending PaymentIntent is voided next.
        payment.status = PaymentStatus.NOT_COLLECTED
        return []
    session.status = SessionStatus.CANCELLED_UNPAID
    return [Notice(NotificationType.AUTO_CANCELLED, Audience.BOTH, 1)]


# --------------------------------------------------------------------------------- charging


def begin_charge(session: Session, now: datetime) -> PendingCharge:
    """Start a charge attempt on the saved card (a new business attempt, a new idempotency key).

    On-session when the client's own command caused it (``domain.presence``); any later try (a
    retry at its time, after an outage) is the merchant's, off-session."""
    payment = session.payment
    assert payment.payment_method_id is not None  # every unpaid booking kind carries one
    attempt = len(payment.attempts) + 1
    # A scheduled retry at a later attempt instant (planned from the last decline, no new card):
    # any of the policy's instants, − 48 h too when the first try came earlier (a client's booking).
    retries = {session.start - offset for offset in session.policy.charge_attempt_offsets}
    at_attempt_instant = (
        attempt > 1
        and not payment.retry_now
        and payment.unreachable_tries == 0
        and payment.next_charge_at in retries
    )
    on_session = client_present(session.charge_cause)
    session.charge_cause = ChargeCause.SCHEDULE
    _choose_charge_key(session, now, on_session)
    session.last_try_on_session = on_session
    payment.status = PaymentStatus.PROCESSING
    payment.last_attempted_payment_method_id = payment.payment_method_id
    payment.retry_now = False
    session.charge_in_flight = True
    if not session.status.is_cancelled:
        session.status = SessionStatus.PAYMENT_DUE
    request = ChargeRequest(
        session_id=session.session_id,
        attempt=attempt,
        amount_minor=payment.amount_minor,
        currency=payment.currency,
        customer_id=session.booking.stripe_customer_id,
        payment_method_id=payment.payment_method_id,
        payment_intent_id=payment.payment_intent_id,
        key_generation=payment.charge_key_generation,
        connected_account_id=session.booking.connected_account_id,
        off_session=not on_session,
    )
    request = charge_on_account(request, payment, session.kind)
    return PendingCharge(
        request=request, attempted_at=now, start=session.start, at_attempt_instant=at_attempt_instant
    )


# --------------------------------------------------------------------------------- a held charge
# The therapist's connected account cannot take charges (Stripe disabled them): the charge is held,
# never attempted and declined, and the client is never the one who pays for it (issue 14 §2).

HELD_AT_START = "therapist_paused_at_start"
"""``payment.ops_blocked`` of a session whose charge was still held when it started: it takes
place, and is charged if the account can charge again (the resume clears it)."""
HOLD_CODE = "therapist_paused"
"""The code a held session's notices and its cancellation carry (``codes.hold``)."""


def charge_held(session: Session) -> bool:
    """The live session's charge is held on its therapist's paused account."""
    return session.payment.status is PaymentStatus.ON_HOLD and not session.status.is_cancelled


def hold_charge(
    session: Session, pending: PendingCharge, result: ChargeResult, now: datetime
) -> list[Notice]:
    """The account could not take the charge: hold it. Nothing is declined and no decline attempt
    is used; the charge is checked again at the next attempt instant (start − 24 h, − 12 h) or at
    once when the account is enabled (``resume_held``). Both parties are told once.

    A held answer to a real attempt (Stripe refused it because the account cannot charge) is
    recorded as that attempt, so the next try takes a new idempotency key: Stripe keeps the
    refusal under the old one."""
    payment = session.payment
    session.charge_in_flight = False
    _stripe_answered(payment)
    if result.attempted:
        payment.attempts.append(
            ChargeAttempt(
                number=pending.request.attempt,
                at=pending.attempted_at,
                outcome=ChargeOutcome.HELD,
                code=result.code,
                on_session=not pending.request.off_session,
            )
        )
        if result.payment_intent_id is not None:
            payment.payment_intent_id = result.payment_intent_id
    payment.status = PaymentStatus.ON_HOLD
    if session.held_settles and any(
        apply_succeeded_intent(payment, intent_id, held_settles=True)
        for intent_id in session.succeeded_intents
    ):
        # Stripe reported a payment while the account was read (a try whose answer was lost went
        # through): the session is paid, not held.
        session.resumed_in_flight = False
        follow_payment(session)
        note_extra_payments(session)
        return []
    payment.held_since = payment.held_since or pending.attempted_at
    payment.held_reason = result.code
    payment.retry_now = False
    session.charge_cause = ChargeCause.SCHEDULE
    payment.next_charge_at = next_retry_at(session.start, max(now, pending.attempted_at), session.policy)
    if session.resumed_in_flight:
        payment.retry_now = True  # enabled again while this check ran: look again now
    session.resumed_in_flight = False
    if not charge_owed(session):
        payment.next_charge_at = None  # cancelled while the check was in flight
        payment.retry_now = False
    follow_payment(session)
    if session.hold_told or session.status.is_cancelled:
        return []
    session.hold_told = True
    session.payment_trouble_told = True  # a payment after it is a recovery the therapist hears of
    money: dict[str, Any] = {"amount_minor": payment.amount_minor, "currency": payment.currency}
    return [
        Notice(
            NotificationType.PAYMENT_ON_HOLD, Audience.CLIENT, "client", money | {"codes": {"action": "none"}}
        ),
        Notice(
            NotificationType.PAYMENT_ON_HOLD,
            Audience.THERAPIST,
            "therapist",
            money | {"codes": {"action": "enable_payments"}},
        ),
    ]


def _settled_held(session: Session) -> None:
    """A held charge that turned out paid is no longer held (nor went ahead unpaid)."""
    payment = session.payment
    payment.held_reason = None
    if payment.ops_blocked == HELD_AT_START:
        payment.ops_blocked = None


def resume_held(session: Session, fact: AccountChargesFact) -> bool:
    """The session's account can take charges again: a held charge is tried at once. True when the
    main loop must wake (only a held session on that very account moves)."""
    payment = session.payment
    if not fact.charges_enabled or fact.account_id != session.booking.connected_account_id:
        return False
    if session.charge_in_flight:
        # A check (or a charge) is under way and may have read the account just before: a hold it
        # answers looks again at once. No wake: the main loop is busy with that very try.
        session.resumed_in_flight = True
        return False
    if payment.status is not PaymentStatus.ON_HOLD:
        return False
    if payment.ops_blocked == HELD_AT_START:
        payment.ops_blocked = None
    if not charge_owed(session):
        return False
    payment.retry_now = True
    return True


def wants_last_look(session: Session) -> bool:
    """Held at its auto-cancel instant and not yet looked at there: the charge is tried once more
    (the activity reads the account first, and charges only if it can) before the cancellation."""
    return charge_held(session) and not session.held_last_look


def take_last_look(session: Session) -> None:
    session.held_last_look = True


def cancel_held(session: Session, now: datetime) -> list[Notice]:
    """Still held at the auto-cancel instant (start − 1 h): cancelled as the THERAPIST's
    cancellation — the client did nothing wrong — with nothing charged (a PaymentIntent a refused
    attempt left open is voided next) and the session's time released. Both parties are told it
    was the therapist's, and free for the client. A session that has started is never cancelled:
    it goes ahead, and is charged if the account can charge again before it closes."""
    payment = session.payment
    payment.next_charge_at = None
    payment.retry_now = False
    if now >= session.start:
        payment.ops_blocked = HELD_AT_START
        return []
    session.cancellation = CancellationRecord(
        requested_by=Actor.THERAPIST,
        recorded_by=Actor.THERAPIST,
        reason=CancelReason.PAYMENT_ISSUE,
        at=now,
        discretionary_refund=False,
    )
    session.status = SessionStatus.CANCELLED_BY_THERAPIST
    payment.status = PaymentStatus.NOT_COLLECTED
    payment.held_reason = None
    payment.client_secret = None
    codes = {
        "status": session.status.value,
        "requested_by": Actor.THERAPIST.value,
        "reason": CancelReason.PAYMENT_ISSUE.value,
        "free": "true",
        "hold": HOLD_CODE,
    }
    return [
        Notice(NotificationType.SESSION_CANCELLED, Audience.CLIENT, "held", {"codes": codes}),
        Notice(NotificationType.SESSION_CANCELLED, Audience.THERAPIST, "held-therapist", {"codes": codes}),
    ]


def _choose_charge_key(session: Session, now: datetime, on_session: bool) -> None:
    """The key this try sends. A new attempt gets its own; a try again after Stripe was unreachable
    reuses it, so a charge that did go through replays instead of charging twice — unless Stripe
    may have forgotten it (``charge_key_reuse_limit`` after its first use), or the card or who is
    present changed (same key, other parameters: Stripe refuses). Then a new generation of the
    key, and the activity looks the PaymentIntent up before creating one."""
    payment = session.payment
    if payment.unreachable_tries == 0 or payment.charge_key_first_used_at is None:
        payment.charge_key_generation = 0
        payment.charge_key_first_used_at = now
        return
    key_too_old = now - payment.charge_key_first_used_at >= session.policy.charge_key_reuse_limit
    card_changed = payment.payment_method_id != payment.last_attempted_payment_method_id
    presence_changed = session.last_try_on_session is not None and on_session != session.last_try_on_session
    if key_too_old or card_changed or presence_changed:
        payment.charge_key_generation += 1
        payment.charge_key_first_used_at = now


def finish_charge(
    session: Session, pending: PendingCharge, result: ChargeResult, *, tell_refusals: bool = False
) -> list[Notice]:
    """Apply an attempt's outcome and whatever arrived while it was in flight.

    A request Stripe refused (``ChargeOutcome.FAILED``: an idempotency error, an invalid request,
    a fault of ours) is not a card decline and is told to nobody — it is for ops (the workflow
    logs an ERROR) — unless ``tell_refusals`` (histories from before this rule replay it)."""
    payment = session.payment
    attempt = pending.request.attempt
    session.charge_in_flight = False
    session.resumed_in_flight = False  # the charge was answered: no hold to look at again
    _stripe_answered(payment)
    record_charge(
        payment,
        attempt=attempt,
        at=pending.attempted_at,
        result=result,
        start=session.start,
        policy=session.policy,
        on_session=not pending.request.off_session,
    )
    record_fee_charged(payment, result)
    for intent_id in session.succeeded_intents:
        # A webhook that arrived during the attempt (or for an intent whose id the attempt never
        # learnt) settles it.
        if apply_succeeded_intent(payment, intent_id):
            break
    if awaits_money(payment) and payment.payment_method_id != pending.request.payment_method_id:
        payment.retry_now = True  # a new card arrived while this attempt was in flight
    if payment.status is PaymentStatus.DECLINED_SOFT and session.start != pending.start:
        _follow_moved_start(session, pending)
    if not charge_owed(session):
        payment.next_charge_at = None  # cancelled while the attempt was in flight
        payment.retry_now = False
    if not payment.retry_now:
        # Only the client's new card arriving during the attempt keeps them present for the
        # retry it causes; any other next try is the merchant's.
        session.charge_cause = ChargeCause.SCHEDULE
    follow_payment(session)
    note_extra_payments(session)
    if (
        result.outcome is ChargeOutcome.FAILED
        and payment.status is not PaymentStatus.PAID
        and not tell_refusals
    ):
        return []
    if not session.terms_notices:
        return [_charge_notice(payment, attempt, result)]
    notices = _terms_charge_notices(session, attempt, result)
    if pending.at_attempt_instant and awaits_money(payment) and not session.status.is_cancelled:
        notices.append(_payment_reminder(session))
    return notices


def _follow_moved_start(session: Session, pending: PendingCharge) -> None:
    """Moved while an attempt was in flight, and it was declined: the next attempt follows the new
    start, as if the move had come just after the decline."""
    move = session.reschedules[-1]
    session.payment.next_charge_at = charge_due_after_move(
        requested_by=move.requested_by,
        old_start=pending.start,
        new_start=session.start,
        current_due=session.payment.next_charge_at,
        received_at=max(move.at, pending.attempted_at),
        last_attempt_at=pending.attempted_at,
        policy=session.policy,
        spread=charge_spread_offset(session.session_id, session.policy),
    )


def _charge_notice(payment: PaymentLedger, attempt: int, result: ChargeResult) -> Notice:
    """The one notice of sessions from before the terms' notices. The receipt goes to the client
    only even there: the catalogue's schema names no other audience, and an audience is not a
    command (replay is unchanged)."""
    if payment.status is PaymentStatus.PAID:
        return Notice(
            NotificationType.CHARGE_SUCCEEDED,
            Audience.CLIENT,
            attempt,
            {"amount_minor": payment.amount_paid_minor, "currency": payment.currency},
        )
    if payment.status is PaymentStatus.REQUIRES_ACTION:
        return Notice(
            NotificationType.ACTION_REQUIRED,
            Audience.CLIENT,
            attempt,
            {
                "payment_intent_client_secret": payment.client_secret,
                "amount_minor": payment.amount_minor,
                "currency": payment.currency,
            },
        )
    return Notice(NotificationType.CHARGE_FAILED, Audience.BOTH, attempt, {"codes": _decline_codes(result)})


def _decline_codes(result: ChargeResult) -> dict[str, str]:
    codes = {"outcome": result.outcome.value}
    for key, value in (
        ("code", result.code),
        ("decline_code", result.decline_code),
        ("decline_kind", result.decline_kind.value if result.decline_kind else None),
    ):
        if value:
            codes[key] = value.lower()
    return codes


def _terms_charge_notices(session: Session, attempt: int, result: ChargeResult) -> list[Notice]:
    """An attempt's outcome as the terms tell it: the receipt to the client (and a recovery to the
    therapist after a failure or action notice); a decline to both, with its reason category, the
    client's copy with what they can do; an authentication request to the client, and the
    therapist told the payment is pending."""
    payment = session.payment
    if payment.status is PaymentStatus.PAID:
        return _paid_notices(session, attempt)
    session.payment_trouble_told = True
    if payment.status is PaymentStatus.REQUIRES_ACTION:
        return [
            Notice(
                NotificationType.ACTION_REQUIRED,
                Audience.CLIENT,
                attempt,
                {
                    "payment_intent_client_secret": payment.client_secret,
                    "amount_minor": payment.amount_minor,
                    "currency": payment.currency,
                },
            ),
            Notice(
                NotificationType.PAYMENT_PENDING,
                Audience.THERAPIST,
                attempt,
                {"amount_minor": payment.amount_minor, "currency": payment.currency},
            ),
        ]
    codes = _decline_codes(result)  # decline_kind is the reason category (soft or hard)
    client_codes = codes | {"action": _client_action(payment.status)}
    return [
        Notice(NotificationType.CHARGE_FAILED, Audience.CLIENT, attempt, {"codes": client_codes}),
        Notice(NotificationType.CHARGE_FAILED, Audience.THERAPIST, f"{attempt}-therapist", {"codes": codes}),
    ]


def _paid_notices(session: Session, sequence: int | str) -> list[Notice]:
    payment = session.payment
    money = {"amount_minor": payment.amount_paid_minor, "currency": payment.currency}
    notices = [Notice(NotificationType.CHARGE_SUCCEEDED, Audience.CLIENT, sequence, money)]
    if session.payment_trouble_told:
        notices.append(Notice(NotificationType.PAYMENT_RECOVERED, Audience.THERAPIST, sequence, money))
    return notices


def _on_session_payment_notices(session: Session) -> list[Notice]:
    payment = session.payment
    sequence = f"{len(payment.attempts)}-on-session"
    if session.terms_notices:
        return _paid_notices(session, sequence)
    return [
        Notice(
            NotificationType.CHARGE_SUCCEEDED,
            Audience.CLIENT,
            sequence,
            {"amount_minor": payment.amount_paid_minor, "currency": payment.currency},
        )
    ]


def charge_answer_pending(session: Session, now: datetime) -> bool:
    """A charge is under way or due now (the one a command just caused): its answer is not in yet.

    False once Stripe answered, when the try went unanswered (an outage: tried again later), when
    nothing is owed, and while money work Stripe refused blocks the session."""
    if session.charge_in_flight:
        return True
    if not charge_owed(session) or session.blocked_until is not None:
        return False
    payment = session.payment
    due = payment.next_charge_at
    return payment.retry_now or (due is not None and due <= now and payment.unreachable_tries == 0)


def charge_answer(session: Session, now: datetime) -> ChargeAnswer:
    """Where the payment stands for the client who caused the charge (``charge_answer_of``)."""
    answered = not charge_answer_pending(session, now) and session.payment.unreachable_tries == 0
    return charge_answer_of(session, answered=answered)


def refused_charge(failure_type: str) -> ChargeResult:
    """The result recorded when Stripe refused the request itself (invalid request, bad key…): a
    fault for ops that a retry with the same key cannot fix. Also what a try that could not reach
    Stripe was recorded as before ``charge_unreachable``: histories from then replay it."""
    return ChargeResult(outcome=ChargeOutcome.FAILED, code=failure_type)


def charge_unreachable(
    session: Session, pending: PendingCharge, failure_type: str, now: datetime
) -> list[Notice]:
    """The try never got an answer from Stripe: its call spent its whole retry budget on timeouts,
    5xx, 429 or dropped connections. An outage is not a decline: no decline attempt is used, the
    client hears nothing, and the same attempt is tried again soon (``outage_retry_at``, in
    ``payment.next_charge_at``) under the same key (``_choose_charge_key``). The auto-cancel waits
    meanwhile: a session is never cancelled unpaid because Stripe could not be reached.

    Returns the notices owed: none, unless a webhook already reported the PaymentIntent an
    unanswered try created (the charge went through after all)."""
    payment = session.payment
    session.charge_in_flight = False
    session.charge_cause = ChargeCause.SCHEDULE  # tried again at a time: nobody is waiting then
    payment.unreachable_tries += 1
    payment.unreachable_since = payment.unreachable_since or pending.attempted_at
    payment.unreachable_reason = failure_type
    payment.unanswered_charge = True
    payment.retry_now = False
    reported = _reported_succeeded(session)
    if reported is not None:
        # A webhook reported the PaymentIntent a try created (routed here by its metadata, so it
        # is this session's): the charge went through after all.
        settled = ChargeResult(
            outcome=ChargeOutcome.SUCCEEDED, payment_intent_id=reported, payment_intent_status="succeeded"
        )
        return finish_charge(session, pending, settled)
    if not charge_owed(session):
        payment.next_charge_at = None  # cancelled meanwhile: a void (which looks it up) follows
        return []
    if payment.payment_method_id != pending.request.payment_method_id:
        # A new card arrived during the try: no reason to back off, but never at once — Stripe may
        # still be processing the unanswered create, which the new key's lookup would then miss.
        payment.next_charge_at = outage_retry_at(now, 1, session.policy)
    else:
        payment.next_charge_at = outage_retry_at(now, payment.unreachable_tries, session.policy)
    if payment.next_charge_at > session.end + session.policy.stripe_outage_retry_limit_after_end:
        # Bounded: ops take over (an ERROR and a metric from the workflow); nothing loops for ever.
        payment.next_charge_at = None
        payment.ops_blocked = "stripe_unreachable"
        return []
    if session.start != pending.start:
        # Moved while the try was in flight (the move left the charge to it): follow the new start.
        move = session.reschedules[-1]
        payment.next_charge_at = charge_due_after_outage_move(
            session,
            retry_at=payment.next_charge_at,
            old_start=pending.start,
            new_start=session.start,
            requested_by=move.requested_by,
            received_at=max(move.at, pending.attempted_at),
        )
    return []


def charge_in_outage(session: Session) -> bool:
    """The session's charge is waiting for Stripe to come back (not for the client)."""
    return session.payment.unreachable_tries > 0


def charge_waits_on_outage(session: Session) -> bool:
    """The charge waits for its next try after Stripe went unanswered, none under way: a move now
    moves it (a try in flight is followed when it gives up, in ``charge_unreachable``)."""
    payment = session.payment
    return (
        charge_in_outage(session)
        and payment.status is PaymentStatus.PROCESSING
        and not session.charge_in_flight
    )


def charge_due_after_outage_move(
    session: Session,
    *,
    retry_at: datetime,
    old_start: datetime,
    new_start: datetime,
    requested_by: Actor,
    received_at: datetime,
) -> datetime:
    """When a charge waiting on an outage is tried after a move: the later of its outage retry and
    the time the move gives the charge (``charge_due_after_move``), so the client is never charged
    before the new start − 48 h (+ spread) while that is still ahead."""
    payment = session.payment
    due = charge_due_after_move(
        requested_by=requested_by,
        old_start=old_start,
        new_start=new_start,
        current_due=retry_at,
        received_at=received_at,
        last_attempt_at=payment.attempts[-1].at if payment.attempts else None,
        policy=session.policy,
        spread=charge_spread_offset(session.session_id, session.policy),
    )
    return retry_at if due is None else max(retry_at, due)


def _reported_succeeded(session: Session) -> str | None:
    known = session.payment.payment_intent_id
    if known is not None:
        return known if known in session.succeeded_intents else None
    return session.succeeded_intents[0] if session.succeeded_intents else None


def _stripe_answered(payment: PaymentLedger) -> None:
    payment.unreachable_tries = 0
    payment.unreachable_since = None
    payment.unreachable_reason = None
    payment.charge_key_generation = 0
    payment.charge_key_first_used_at = None


# --------------------------------------------------------------------------------- refunds, voids


def begin_refund(session: Session) -> RefundRequest:
    """A refund request of its own: a refused one is never replayed from Stripe's cache, and the
    activity refunds only what the charge has not refunded yet. The session's own refund first,
    then any second payment of it (in full)."""
    payment = session.payment
    payment.refund_requests += 1
    extra = extra_payment_due(session) if refund_due(session) == 0 else None
    if extra is not None:
        request = RefundRequest(
            session_id=session.session_id,
            refund_number=payment.refund_requests,
            payment_intent_id=extra.payment_intent_id,
            target_refunded_minor=payment.amount_minor,  # the activity caps it at what was captured
            extra=True,
        )
    else:
        assert payment.payment_intent_id is not None  # only a paid session owes a refund
        request = RefundRequest(
            session_id=session.session_id,
            refund_number=payment.refund_requests,
            payment_intent_id=payment.payment_intent_id,
            target_refunded_minor=refund_target(session),
        )
    return refund_on_account(request, payment, refund_cause(session.status, extra_payment=request.extra))


def _extra_payment(session: Session, payment_intent_id: str) -> ExtraPayment:
    return next(e for e in session.payment.extra_payments if e.payment_intent_id == payment_intent_id)


def apply_refund_result(
    session: Session, request: RefundRequest, result: RefundResult
) -> RefundAnnouncement | None:
    """Record what Stripe now holds; what the client must hear about, if anything."""
    payment = session.payment
    record_fee_refunded(payment, request, result)
    if request.extra:
        extra = _extra_payment(session, request.payment_intent_id)
        extra.refunded_minor = max(extra.refunded_minor, result.refunded_total_minor)
        extra.refunded = extra.refunded_minor >= result.captured_minor
        unannounced = extra.refunded_minor - extra.announced_minor
        if unannounced <= 0:
            return None
        return RefundAnnouncement(amount_minor=unannounced, lost_answer=result.refund_id is None)
    payment.amount_paid_minor = min(payment.amount_paid_minor, result.captured_minor)
    payment.amount_refunded_minor = max(payment.amount_refunded_minor, result.refunded_total_minor)
    announced = sum(record.amount_minor for record in payment.refunds)
    if result.refund_id is None and result.refunded_total_minor > announced:
        return RefundAnnouncement(amount_minor=result.refunded_total_minor - announced, lost_answer=True)
    if result.refund_id is None:
        return None
    return RefundAnnouncement(amount_minor=result.amount_minor, lost_answer=False)


def announce_refund(
    session: Session, request: RefundRequest, result: RefundResult, amount_minor: int, at: datetime
) -> Notice:
    payment = session.payment
    number = request.refund_number
    if request.extra:
        _extra_payment(session, request.payment_intent_id).announced_minor += amount_minor
    else:
        payment.refunds.append(
            RefundRecord(number=number, refund_id=result.refund_id, amount_minor=amount_minor, at=at)
        )
    return Notice(
        NotificationType.REFUND_ISSUED,
        # The terms: a refund is the client's news (sessions from before told both; an audience is
        # not a command, so they follow the catalogue too).
        Audience.CLIENT,
        number,
        {"amount_minor": amount_minor, "currency": payment.currency},
    )


def begin_void(session: Session) -> VoidRequest:
    payment = session.payment
    payment.void_requests += 1
    request = VoidRequest(
        session_id=session.session_id,
        request_number=payment.void_requests,
        customer_id=session.booking.stripe_customer_id,
        payment_intent_id=payment.payment_intent_id,
    )
    return on_account(request, payment)


def apply_void_result(session: Session, result: VoidResult) -> str | None:
    """Record the void's outcome; the reason to block money work when Stripe would not void."""
    payment = session.payment
    if payment.status is PaymentStatus.PAID:
        return None  # a webhook reported the payment while the void was in flight: refund next
    if result.payment_intent_id is not None:
        payment.payment_intent_id = result.payment_intent_id
    if result.payment_intent_status == "succeeded":
        mark_paid(payment)  # the client paid before the void arrived: refunded next round
        note_extra_payments(session)
    elif result.voided:
        payment.status = PaymentStatus.VOIDED
        payment.voided = True
        payment.client_secret = None
    else:
        return f"void: payment intent is {result.payment_intent_status}"
    return None


def block(session: Session, reason: str, now: datetime) -> None:
    """Stripe refused: keep the session open and visible, try again later or on news."""
    session.payment.blocked_reason = reason
    session.blocked_until = now + BLOCKED_MONEY_RETRY


def unblock(session: Session) -> None:
    session.blocked_until = None
    session.payment.blocked_reason = None


# --------------------------------------------------------------------------------- facts


def apply_payment_event(session: Session, event: PaymentEvent) -> FactOutcome:
    """A Stripe webhook fact; duplicates and stale events change nothing."""
    if event.event_id in session.seen_event_ids:
        return FactOutcome(wakes=False)
    session.seen_event_ids.add(event.event_id)
    wakes = session.blocked_until is not None  # news is a reason to retry refused money work
    unblock(session)
    payment = session.payment
    notices: list[Notice] = []
    if event.type == "payment_intent.succeeded":
        if event.payment_intent_id not in session.succeeded_intents:
            session.succeeded_intents.append(event.payment_intent_id)
        if apply_succeeded_intent(payment, event.payment_intent_id, held_settles=session.held_settles):
            _settled_held(session)
            follow_payment(session)
            notices.extend(_on_session_payment_notices(session))
            wakes = True
        if note_extra_payments(session):
            wakes = True  # the client paid twice: the second payment is refunded next
        elif charge_in_outage(session) and payment.status is PaymentStatus.PROCESSING:
            # Stripe is answering again and an unanswered try went through: try now (the same
            # key replays it, or the lookup finds it) instead of at the outage retry time.
            payment.retry_now = True
            wakes = True
    elif event.type == "charge.refunded" and event.amount_refunded_minor is not None:
        before = payment.amount_refunded_minor
        apply_refunded_amount(payment, event.payment_intent_id, event.amount_refunded_minor)
        # Only what is still owed after a cancellation depends on the refunded amount.
        grew = payment.amount_refunded_minor != before
        wakes = wakes or (grew and session.status.is_cancelled)
    return FactOutcome(wakes=wakes, notices=notices)
