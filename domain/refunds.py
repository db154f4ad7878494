"""A therapist's (or admin's) refund of a session, in full or in part, as pure rules.

A refund can be granted any time after the session's payment was captured: before the start,
after a cancellation, after the attendance update. What has been granted is recorded on the
payment ledger (``PaymentLedger.granted_refunds``) and the money goes back by the same "top up to
a target" refund the cancellation rules use: the target is what the rules owe plus every grant,
never more than was captured. So several partial refunds add up, a repeated request changes
nothing, and a request over what is left is refused (``refund_exceeds_captured``) before it is
recorded.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict

from domain.errors import RuleViolation
from domain.ids import OpaqueId
from domain.money import AmountMinor
from domain.state import PaymentLedger, RefundGrant
from domain.status import Actor, PaymentStatus, RefundReason


class SessionRefund(BaseModel):
    """The ``refund`` command: ``amount_minor`` absent refunds everything still refundable."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    reason: RefundReason
    amount_minor: AmountMinor | None = None
    requested_by: Actor = Actor.THERAPIST
    received_at: AwareDatetime | None = None


class SessionRefundResult(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    session_id: OpaqueId
    grant_number: int
    """This refund's number among the session's granted refunds (1, 2, …)."""
    amount_minor: int
    """Granted by this request; paid back by the workflow right after (``refund_issued``)."""
    currency: str
    refunded_total_minor: int
    """Everything granted or owed back to the client so far, this refund included."""
    refundable_minor: int
    """What could still be refunded after this one."""


def granted_minor(ledger: PaymentLedger) -> int:
    return sum(grant.amount_minor for grant in ledger.granted_refunds)


def refund_target_with_grants(ledger: PaymentLedger, owed_by_rules: int) -> int:
    """What must be back with the client in total: what the rules owe plus every grant, never more
    than was captured."""
    return min(ledger.amount_paid_minor, owed_by_rules + granted_minor(ledger))


def refundable_minor(ledger: PaymentLedger, target: int) -> int:
    """What a new refund may still grant: the captured amount less what is back or owed back."""
    if ledger.status is not PaymentStatus.PAID:
        return 0
    return max(0, ledger.amount_paid_minor - max(target, ledger.amount_refunded_minor))


def check_refund(request: SessionRefund, ledger: PaymentLedger, target: int) -> int:
    """The amount the request grants; raises when the rules refuse it (nothing is recorded)."""
    if request.requested_by is Actor.CLIENT:
        raise RuleViolation("not_allowed", "only the therapist or an admin may refund a session")
    if ledger.status is not PaymentStatus.PAID:
        raise RuleViolation("nothing_captured", "no payment of this session has been captured to refund")
    left = refundable_minor(ledger, target)
    if left <= 0:
        raise RuleViolation(
            "refund_exceeds_captured", "everything captured for this session is already refunded"
        )
    amount = left if request.amount_minor is None else request.amount_minor
    if amount > left:
        raise RuleViolation(
            "refund_exceeds_captured",
            f"at most {left} (minor units) of what was captured is left to refund",
        )
    return amount


def grant_refund(
    request: SessionRefund, ledger: PaymentLedger, target: int, session_id: str, at: datetime
) -> SessionRefundResult:
    """Record the grant (checked again: the handler runs the validator's rule)."""
    amount = check_refund(request, ledger, target)
    number = len(ledger.granted_refunds) + 1
    ledger.granted_refunds.append(
        RefundGrant(
            number=number,
            amount_minor=amount,
            reason=request.reason,
            requested_by=request.requested_by,
            at=at,
        )
    )
    new_target = target + amount
    return SessionRefundResult(
        session_id=session_id,
        grant_number=number,
        amount_minor=amount,
        currency=ledger.currency,
        refunded_total_minor=new_target,
        refundable_minor=refundable_minor(ledger, new_target),
    )
