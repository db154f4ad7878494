"""A dispute fact reaching a running session: what it records and whom it tells.

The rules themselves (order, holding refunds) are ``domain.disputes``; this module applies them to a
:class:`~domain.session.Session` and builds the therapist's notices. The hold itself is read where
money is decided (``domain.session.refund_due``, ``is_finished``; the refund command's check).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from domain import notification_catalogue as catalogue
from domain.disputes import (
    DisputeChange,
    DisputeFact,
    DisputeRecord,
    DisputeStatus,
    apply_dispute_fact,
    belongs_to,
)
from domain.notifications import Audience, Notification, NotificationType, notification_event_id
from domain.refunds import ClosedSessionRefunds, notice_times
from domain.session import Notice, Session, unblock
from domain.state import PaymentLedger


@dataclass(frozen=True)
class DisputeOutcome:
    change: DisputeChange
    notices: list[Notice] = field(default_factory=list)
    foreign: bool = False
    """Not the session's dispute (another account's, or of a PaymentIntent it does not know)."""

    @property
    def wakes(self) -> bool:
        """Any applied fact may change what is owed (held, or released by a win): re-plan."""
        return self.change.applied


def session_payment_intents(payment: PaymentLedger) -> set[str]:
    """The PaymentIntents a session knows: its own and every recorded extra payment."""
    known = {extra.payment_intent_id for extra in payment.extra_payments}
    if payment.payment_intent_id is not None:
        known.add(payment.payment_intent_id)
    return known


def _record_by_id(
    legacy: DisputeRecord | None, records: list[DisputeRecord], fact: DisputeFact
) -> tuple[DisputeRecord | None, DisputeChange]:
    """Apply ``fact`` to its own dispute's record (one per dispute id), adding a new one to
    ``records``; a state recorded with one ``dispute`` slot carries it into the list first."""
    if not records and legacy is not None:
        records.append(legacy)
    current = next((record for record in records if record.dispute_id == fact.dispute_id), None)
    record, change = apply_dispute_fact(current, fact)
    if change.applied and record is not None:
        if current is None:
            records.append(record)
        else:
            records[records.index(current)] = record
    return record, change


def apply_dispute(session: Session, fact: DisputeFact, *, by_dispute_id: bool = True) -> DisputeOutcome:
    """Record ``fact`` on the session; a duplicate (same event id) or stale fact changes nothing,
    nor does one that is not the session's (``belongs_to``: another account, an unknown
    PaymentIntent). ``by_dispute_id`` False: the rule histories recorded before it replay (one
    record, no account check)."""
    if fact.event_id in session.seen_event_ids:
        return DisputeOutcome(DisputeChange(applied=False))
    if by_dispute_id and not belongs_to(
        fact, session.booking.connected_account_id, session_payment_intents(session.payment)
    ):
        return DisputeOutcome(DisputeChange(applied=False), foreign=True)
    session.seen_event_ids.add(fact.event_id)
    if by_dispute_id:
        record, change = _record_by_id(session.dispute, session.disputes, fact)
    else:
        record, change = apply_dispute_fact(session.dispute, fact)
    if not change.applied or record is None:
        return DisputeOutcome(change)
    session.dispute = record
    # News is a reason to retry refused money work (a refund Stripe refused as charge_disputed
    # before the session knew): the main loop re-plans, holding or paying as the dispute now says.
    unblock(session)
    if not record.open and record.status is not DisputeStatus.LOST:
        record.refund_held_minor = 0  # released: the main loop pays what the rules owe
    notices: list[Notice] = []
    money = {"amount_minor": record.amount_minor, "currency": record.currency}
    if change.opened:
        notices.append(
            Notice(
                NotificationType.DISPUTE_OPENED,
                Audience.THERAPIST,
                record.dispute_id,
                {**money, "codes": {"reason": record.reason, "status": record.status.value}},
            )
        )
    if change.closed:
        notices.append(
            Notice(
                NotificationType.DISPUTE_CLOSED,
                Audience.THERAPIST,
                record.dispute_id,
                {**money, "codes": {"reason": record.reason, "outcome": record.status.value}},
            )
        )
    return DisputeOutcome(change, notices)


# --------------------------------------------------------------------------------- closed sessions


def apply_closed_dispute(
    refunds: ClosedSessionRefunds, fact: DisputeFact, at: datetime, *, by_dispute_id: bool = True
) -> tuple[DisputeChange, list[Notification]]:
    """A dispute fact for a session whose workflow has closed, recorded by its refunds workflow
    (most disputes come weeks after the session): the same order rule, the same hold on refunds,
    the same notices to the therapist. A repeated or stale fact changes nothing (the order rule
    alone: a copy of the recorded stage is not newer), nor does one that is not the session's
    (``belongs_to``). ``by_dispute_id`` False: the rule histories recorded before it replay."""
    if by_dispute_id:
        if not belongs_to(
            fact, refunds.payment.connected_account_id, session_payment_intents(refunds.payment)
        ):
            return DisputeChange(applied=False), []
        record, change = _record_by_id(refunds.dispute, refunds.disputes, fact)
    else:
        record, change = apply_dispute_fact(refunds.dispute, fact)
    if not change.applied or record is None:
        return change, []
    refunds.dispute = record
    if not record.open and record.status is not DisputeStatus.LOST:
        record.refund_held_minor = 0
        refunds.blocked_reason = None
    times = notice_times(refunds)
    notices: list[Notification] = []
    kinds = [(NotificationType.DISPUTE_OPENED, "status")] if change.opened else []
    if change.closed:
        kinds.append((NotificationType.DISPUTE_CLOSED, "outcome"))
    for kind, code in kinds:
        notices.append(
            Notification(
                event_id=notification_event_id(refunds.session_id, kind, record.dispute_id),
                type=kind,
                audience=Audience.THERAPIST,
                channel=catalogue.channel_for(kind, Audience.THERAPIST),
                **times,
                session_id=refunds.session_id,
                therapist_id=refunds.therapist_id,
                client_id=refunds.client_id,
                occurred_at=at,
                amount_minor=record.amount_minor,
                currency=record.currency,
                codes={"reason": record.reason, code: record.status.value},
            )
        )
    return change, notices
