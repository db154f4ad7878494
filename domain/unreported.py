"""A session whose attendance update never comes: when it closes, and what happens to its money.

The terms make the attendance update the therapist's step after every session, and it may never be
taken. Nothing is assumed about attendance (the session is neither ``attended`` nor a no-show): the
session is reminded at the policy's offsets and then, at ``end + unreported_after``, closed as
``unreported`` with a notice, so no session waits for ever and the namespace's retention can apply
to it (docs/retention.md).

The deadline is an instant in elapsed time (a duration after the end, in UTC: a clock change
neither adds nor removes an hour) and, like the free-cancellation deadline (README rule 1), the
instant itself is late: an update received strictly before it is filed as usual; one received at
or after it is refused (``attendance_window_closed``) and the session closes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from domain.errors import RuleViolation
from domain.policy import SessionPolicy
from domain.state import PaymentLedger
from domain.status import PaymentStatus


class UnreportedMoney(StrEnum):
    """What closing a session as ``unreported`` does with its money (``codes.money`` of its notice)."""

    CHARGE_KEPT = "charge_kept"
    """It was paid: the charge stands, nothing is refunded by the close."""
    LEFT_TO_OPS = "left_to_ops"
    """It went ahead unpaid (the charge was handed to ops, ``payment.ops_blocked``): nothing is
    collected or given up by the close; ops settle it as before."""


def unreported_deadline(end: datetime, policy: SessionPolicy) -> datetime | None:
    """The first instant at which the session is closed as ``unreported`` (the instant itself is
    late); ``None`` for a policy without one (sessions booked before the rule wait for ever)."""
    if end.tzinfo is None or end.utcoffset() is None:
        raise ValueError("times must be timezone-aware")
    if policy.unreported_after is None:
        return None
    return end.astimezone(UTC) + policy.unreported_after


def update_in_time(end: datetime, received_at: datetime, policy: SessionPolicy) -> bool:
    """An attendance update (or a no-show mark) received at ``received_at`` may still be filed:
    strictly before the deadline, or always when the policy has none."""
    if received_at.tzinfo is None or received_at.utcoffset() is None:
        raise ValueError("times must be timezone-aware")
    deadline = unreported_deadline(end, policy)
    return deadline is None or received_at.astimezone(UTC) < deadline


def check_update_in_time(end: datetime, received_at: datetime, policy: SessionPolicy) -> None:
    """Refuse an attendance update or a no-show mark received at or after the deadline."""
    if not update_in_time(end, received_at, policy):
        assert policy.unreported_after is not None  # update_in_time is True without a deadline
        days = policy.unreported_after.days
        raise RuleViolation(
            "attendance_window_closed",
            f"the attendance update was due within {days} days of the session's end; "
            "the session closed as unreported",
        )


def unreported_money(payment: PaymentLedger) -> UnreportedMoney:
    """What happens to the money of a session closed as ``unreported``.

    The charge is kept. The terms charge every booked session unless it is cancelled with more than
    48 hours' notice ("Any session booked on the system will have a payment processed unless it is
    cancelled with more than 48 hours' notice", the attendance protocol), and charge a no-show too
    (domain reference §4.5): whether the client attended or not, the charge stood, and only the
    therapist's (or an admin's) discretionary refund gives it back (rules 5 and 7). A session
    nobody reported on gives no reason for a refund — the client paid, and nobody said they did
    not attend — so the close refunds nothing and assumes nothing about attendance. The therapist
    or an admin can still refund it for ``REFUND_PERIOD_AFTER_CLOSE`` (180 days) after it closed,
    through the session's refunds workflow, exactly as a completed session; a refund granted before
    the close is paid before it closes (the session owes it).

    A session that went ahead unpaid (its charge handed to ops at or after its start: an outage, a
    decline after the start) is not charged by the close either: what is owed stays with ops, who
    already hold it (``payment.ops_blocked``); closing changes nothing about it (the workflow tells
    ops at the close). A session whose charge is held at its start (``HELD_AT_START``: the
    therapist's account paused) does not reach this: it is still charged automatically on resume,
    so its close waits (``domain.session.close_waits_for_resume``).
    """
    if payment.status is PaymentStatus.PAID:
        return UnreportedMoney.CHARGE_KEPT
    return UnreportedMoney.LEFT_TO_OPS
