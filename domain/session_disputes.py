"""A dispute fact reaching a running session: what it records and whom it tells.

The rules themselves (order, holding refunds) are ``domain.disputes``; this module applies them to a
:class:`~domain.session.Session` and builds the therapist's notices. The hold itself is read where
money is decided (``domain.session.refund_due``, ``is_finished``; the refund command's check).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from domain.disputes import DisputeChange, DisputeFact, DisputeStatus, apply_dispute_fact
from domain.notifications import Audience, NotificationType
from domain.session import Notice, Session, unblock


@dataclass(frozen=True)
class DisputeOutcome:
    change: DisputeChange
    notices: list[Notice] = field(default_factory=list)

    @property
    def wakes(self) -> bool:
        """Any applied fact may change what is owed (held, or released by a win): re-plan."""
        return self.change.applied


def apply_dispute(session: Session, fact: DisputeFact) -> DisputeOutcome:
    """Record ``fact`` on the session; a duplicate (same event id) or stale fact changes nothing."""
    if fact.event_id in session.seen_event_ids:
        return DisputeOutcome(DisputeChange(applied=False))
    session.seen_event_ids.add(fact.event_id)
    record, change = apply_dispute_fact(session.dispute, fact)
    if not change.applied or record is None:
        return DisputeOutcome(change)
    session.dispute = record
    if not record.open and record.status is not DisputeStatus.LOST:
        record.refund_held_minor = 0  # released: the main loop pays what the rules owe
        unblock(session)  # a refund Stripe refused (charge_disputed) is tried again at once
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
