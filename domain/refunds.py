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

from datetime import datetime, timedelta
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from domain import notification_catalogue as catalogue
from domain.acting import ActingParty
from domain.commission import RefundCause
from domain.direct_charges import record_fee_refunded, refund_on_account
from domain.dispute_evidence import DisputeEvidence
from domain.disputes import (
    DISPUTE_DECISION_BOUND,
    DisputeFact,
    DisputeRecord,
    awaited_record,
    check_refunds_allowed,
    dispute_records,
    holding_record,
)
from domain.errors import RuleViolation
from domain.ids import OpaqueId
from domain.local_times import session_times
from domain.money import AmountMinor
from domain.notifications import Audience, Notification, NotificationType, notification_event_id
from domain.payments import RefundRequest, RefundResult
from domain.state import PaymentLedger, RefundGrant, RefundRecord, SessionState
from domain.status import Actor, PaymentStatus, RefundReason


class SessionRefund(BaseModel):
    """The ``refund`` command: ``amount_minor`` absent refunds everything still refundable."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    reason: RefundReason
    amount_minor: AmountMinor | None = None
    requested_by: Actor = Actor.THERAPIST
    received_at: AwareDatetime | None = None
    acting_party: ActingParty | None = None
    """Who sent it (the API's ``Acting-Party``): the session's therapist or an admin; recorded in
    the history."""


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


def granted_minor(ledger: PaymentLedger, since: int = 0) -> int:
    """What the grants (from the ``since``-th on) add to the target: each its amount, on top of
    any refund made outside the service before it."""
    return sum(grant.amount_minor + grant.covers_minor for grant in ledger.granted_refunds[since:])


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
    request: SessionRefund,
    ledger: PaymentLedger,
    target: int,
    session_id: str,
    at: datetime,
    request_id: str | None = None,
) -> SessionRefundResult:
    """Record the grant (checked again: the handler runs the validator's rule)."""
    amount = check_refund(request, ledger, target)
    covers = max(0, ledger.amount_refunded_minor - target)
    new_target = target + covers + amount
    grant = RefundGrant(
        number=len(ledger.granted_refunds) + 1,
        amount_minor=amount,
        reason=request.reason,
        requested_by=request.requested_by,
        at=at,
        covers_minor=covers,
        request_id=request_id,
        refunded_total_minor=new_target,
        refundable_minor=max(0, ledger.amount_paid_minor - max(new_target, ledger.amount_refunded_minor)),
    )
    ledger.granted_refunds.append(grant)
    return result_of_grant(grant, session_id, ledger.currency)


def result_of_grant(grant: RefundGrant, session_id: str, currency: str) -> SessionRefundResult:
    return SessionRefundResult(
        session_id=session_id,
        grant_number=grant.number,
        amount_minor=grant.amount_minor,
        currency=currency,
        refunded_total_minor=grant.refunded_total_minor,
        refundable_minor=grant.refundable_minor,
    )


def granted_already(ledger: PaymentLedger, request_id: str | None) -> RefundGrant | None:
    """The grant this very request made already (a retry), if any."""
    if request_id is None:
        return None
    return next((grant for grant in ledger.granted_refunds if grant.request_id == request_id), None)


# --------------------------------------------------------------------------------- closed sessions

REFUND_PERIOD_AFTER_CLOSE = timedelta(days=180)
"""How long after a session's workflow closed a therapist or admin may still refund it (through
``SessionRefundsWorkflow``): card refunds are dependable for about that long (Stripe: "up to 180
days" for many methods), and a bounded period bounds the refunds workflow's life."""


class ClosedSessionRefunds(BaseModel):
    """The money of a session whose workflow has closed, as its refunds workflow holds it.

    It starts from the closed session's final ledger, so what was refunded and how many refund
    requests were made (each one's Stripe key, ``session:{id}:refund:{m}``) carry on: a refund
    here can never repeat one the session made.
    """

    model_config = ConfigDict(extra="ignore")

    session_id: OpaqueId
    therapist_id: OpaqueId
    client_id: OpaqueId
    payment: PaymentLedger
    refunded_at_close: int
    """Back with the client when the session closed: the base every later grant adds to."""
    grants_at_close: int
    """Grants the session itself recorded (already within ``refunded_at_close``)."""
    closes_at: AwareDatetime
    """The end of the refund period; no refund is granted from then on."""
    announced_minor: int = 0
    """Refunded since the close and announced (``refund_issued``) by the refunds workflow."""
    blocked_reason: str | None = None
    """Stripe refused the last refund: tried again later or with the next grant."""
    start: AwareDatetime | None = None
    therapist_timezone: str | None = None
    client_timezone: str | None = None
    """The session's start and both parties' zones, for the ``refund_issued`` copy (absent in
    refunds workflows started before they were carried)."""
    dispute: DisputeRecord | None = None
    """The client's bank disputes the charge (``domain.disputes``): as the session closed with it,
    then as its later facts reach this workflow. No refund while it is open or lost."""
    disputes: list[DisputeRecord] = Field(default_factory=list)
    """Every dispute, one per id (``SessionState.disputes``); empty in refunds workflows started
    before it existed (their one ``dispute`` stands)."""
    evidence: DisputeEvidence | None = None
    """The closed session's evidence pack (``domain.dispute_evidence``), for a dispute that needs a
    response; None in refunds workflows started without it (then exported only)."""

    @classmethod
    def of_closed_session(
        cls, final: SessionState, closed_at: datetime, evidence: DisputeEvidence | None = None
    ) -> ClosedSessionRefunds:
        payment = final.payment.model_copy(deep=True)
        return cls(
            session_id=final.session_id,
            therapist_id=final.therapist_id,
            client_id=final.client_id,
            payment=payment,
            refunded_at_close=payment.amount_refunded_minor,
            grants_at_close=len(payment.granted_refunds),
            closes_at=closed_at + REFUND_PERIOD_AFTER_CLOSE,
            start=final.start,
            therapist_timezone=final.therapist_timezone,
            client_timezone=final.client_timezone or final.therapist_timezone,
            dispute=final.dispute.model_copy(deep=True) if final.dispute is not None else None,
            disputes=[record.model_copy(deep=True) for record in final.disputes],
            evidence=evidence,
        )

    def target(self) -> int:
        """What must be back with the client in total: what was back at close plus every grant
        since, never more than was captured."""
        since = granted_minor(self.payment, self.grants_at_close)
        return min(self.payment.amount_paid_minor, self.refunded_at_close + since)

    def refund_due(self) -> int:
        due = max(0, self.target() - self.payment.amount_refunded_minor)
        held = holding_record(dispute_records(self.dispute, self.disputes), self.payment.payment_intent_id)
        if held is not None:
            held.refund_held_minor = due  # held, not forgotten: paid if the dispute is won
            return 0
        return due

    def awaited_dispute(self) -> DisputeRecord | None:
        """The open dispute holding a refund this workflow owes: past the refund period it waits
        for its close instead of closing with the refund held (paid if the dispute is won)."""
        return awaited_record(dispute_records(self.dispute, self.disputes))

    def dispute_wait_ends(self, record: DisputeRecord) -> datetime:
        """When waiting for ``record``'s close ends (then it is read from Stripe): Stripe's own
        bound after the later of the refund period's end and the dispute's opening."""
        return max(self.closes_at, record.opened_at) + DISPUTE_DECISION_BOUND

    def takes_after_period(self, fact: DisputeFact) -> bool:
        """Past the refund period only news of a dispute recorded open is taken (its close pays
        or releases what it holds); a dispute first heard of then is ops' (the webhook logs it)."""
        records = dispute_records(self.dispute, self.disputes)
        return any(record.open and record.dispute_id == fact.dispute_id for record in records)


DISPUTE_OPEN_PAST_BOUND = "dispute_open_past_bound"
"""``blocked_reason`` of a refunds workflow that closed with a refund held by a dispute Stripe
still held open after ``DISPUTE_DECISION_BOUND``: handed to ops (``sessionflow_money_blocked_total``)."""


def check_closed_refund(
    refunds: ClosedSessionRefunds, request: SessionRefund, now: datetime, request_id: str | None = None
) -> int:
    """A retry of a request the session (or this workflow) granted is answered with that grant;
    anything else follows the refund rules, within the refund period."""
    if (grant := granted_already(refunds.payment, request_id)) is not None:
        return grant.amount_minor
    if now >= refunds.closes_at:
        raise RuleViolation(
            "refund_window_closed",
            f"refunds are possible for {REFUND_PERIOD_AFTER_CLOSE.days} days after the session closed",
        )
    check_refunds_allowed(
        dispute_records(refunds.dispute, refunds.disputes), refunds.payment.payment_intent_id
    )
    return check_refund(request, refunds.payment, refunds.target())


def grant_closed_refund(
    refunds: ClosedSessionRefunds, request: SessionRefund, now: datetime, request_id: str | None = None
) -> SessionRefundResult:
    """Grant a refund of the closed session; a retry of a request granted already — by the session
    before it closed, or here — gets that grant's result and grants nothing more."""
    if (grant := granted_already(refunds.payment, request_id)) is not None:
        return result_of_grant(grant, refunds.session_id, refunds.payment.currency)
    check_closed_refund(refunds, request, now)
    return grant_refund(request, refunds.payment, refunds.target(), refunds.session_id, now, request_id)


def begin_closed_refund(refunds: ClosedSessionRefunds) -> RefundRequest:
    """The next refund request, numbered after every one the session and this workflow made."""
    payment = refunds.payment
    assert payment.payment_intent_id is not None  # only a captured payment is granted a refund
    payment.refund_requests += 1
    request = RefundRequest(
        session_id=refunds.session_id,
        refund_number=payment.refund_requests,
        payment_intent_id=payment.payment_intent_id,
        target_refunded_minor=refunds.target(),
    )
    # Only grants are refunded after the close: on a connected account, a discretionary refund
    # (its commission returned anyway when it took the whole payment: a first session).
    return refund_on_account(request, payment, RefundCause.DISCRETIONARY)


def apply_closed_refund_result(
    refunds: ClosedSessionRefunds, request: RefundRequest, result: RefundResult
) -> int:
    """Record what Stripe now holds; the amount to announce (``refund_issued``), 0 for none."""
    payment = refunds.payment
    payment.amount_refunded_minor = max(payment.amount_refunded_minor, result.refunded_total_minor)
    record_fee_refunded(payment, request, result)
    refunds.blocked_reason = None
    # Announce what is back beyond the close and what was announced since (a retry after a lost
    # answer finds the money back and still announces it, once).
    return max(0, payment.amount_refunded_minor - refunds.refunded_at_close - refunds.announced_minor)


def notice_times(refunds: ClosedSessionRefunds) -> dict[str, Any]:
    """The session's times for a notice sent after it closed (each party in their own zone), or
    none when the closed session did not hand them over (started before they were passed on)."""
    if refunds.start is None or refunds.therapist_timezone is None:
        return {}
    return dict(
        session_times(
            refunds.start,
            client_timezone=refunds.client_timezone or refunds.therapist_timezone,
            therapist_timezone=refunds.therapist_timezone,
        )
    )


def refund_issued(
    refunds: ClosedSessionRefunds, request: RefundRequest, result: RefundResult, amount: int, at: datetime
) -> Notification:
    refunds.announced_minor += amount
    refunds.payment.refunds.append(
        RefundRecord(number=request.refund_number, refund_id=result.refund_id, amount_minor=amount, at=at)
    )
    # The same copy the session itself sends (``domain.notification_catalogue``): the client's.
    times = notice_times(refunds)
    return Notification(
        event_id=notification_event_id(
            refunds.session_id, NotificationType.REFUND_ISSUED, request.refund_number
        ),
        type=NotificationType.REFUND_ISSUED,
        audience=Audience.CLIENT,
        channel=catalogue.channel_for(NotificationType.REFUND_ISSUED, Audience.CLIENT, confirmation=False),
        **times,
        session_id=refunds.session_id,
        therapist_id=refunds.therapist_id,
        client_id=refunds.client_id,
        occurred_at=at,
        amount_minor=amount,
        currency=refunds.payment.currency,
    )


def erasure_blocker(refunds: ClosedSessionRefunds) -> str | None:
    """Why the client's erasure must wait for this refunds workflow (a machine code), or None when
    it handles no money and may be closed: ``dispute_open`` (the bank's dispute of the charge is
    open: its evidence and outcome still come here — GDPR art. 17(3)(e), data kept for a legal
    claim), ``refund_owed`` (a refund granted and not yet all back with the client: owed, in flight
    at Stripe, refused for now, or held by a dispute won meanwhile). A refund held by a *lost*
    dispute is no longer owed (the bank decided what the client gets back): not a blocker."""
    records = dispute_records(refunds.dispute, refunds.disputes)
    if any(record.open for record in records):
        return "dispute_open"
    held = holding_record(records, refunds.payment.payment_intent_id)
    if refunds.target() > refunds.payment.amount_refunded_minor and held is None:
        return "refund_owed"
    return None
