"""Disputes: the client's bank questions the session's charge (issue 14 §3), as pure rules.

Stripe tells of a dispute by ``charge.dispute.created`` / ``.updated`` / ``.closed``; the webhook
route confirms each with Stripe and signals the session a :class:`DisputeFact`. The session keeps
one :class:`DisputeRecord` (its ``dispute``) and these rules decide:

* **Order.** Webhooks arrive late, twice or out of order. A fact is applied only when it moves the
  dispute forward in Stripe's own lifecycle (:data:`STATUS_RANK`: an inquiry, its review, a
  chargeback, its review, then closed), or is a newer copy of the same stage (a later event
  ``created``). So a dispute ``won`` or ``lost`` never reopens on a late ``created``, and the end
  state is the same whatever the delivery order.
* **No refund against a disputed charge.** While a dispute is open, or after it was lost, the bank
  has the money's fate (a chargeback already took it back from the merchant): a refund then would
  pay the client twice, and Stripe refuses it anyway (``charge_disputed``). A refund the rules
  owe is held (recorded as ``refund_held_minor``), and a therapist's or admin's refund command is
  refused (``charge_disputed``). Once the dispute is won (or an inquiry closes without a
  chargeback), what the rules owe is paid as usual.
* **Who hears.** The therapist (the merchant of record on a direct charge: they bear the dispute)
  is told when it opens and when it closes (``dispute_opened``, ``dispute_closed``); ops through
  ``sessionflow_disputes_total{status}`` and a log line with opaque ids.

An inquiry (``warning_…``) holds refunds too: simpler to reason about (one rule: open holds), and
an inquiry usually either closes or escalates within days.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from domain.errors import RuleViolation
from domain.ids import StripeId
from domain.money import Currency


class DisputeStatus(StrEnum):
    """Stripe's ``dispute.status``."""

    WARNING_NEEDS_RESPONSE = "warning_needs_response"
    WARNING_UNDER_REVIEW = "warning_under_review"
    WARNING_CLOSED = "warning_closed"
    NEEDS_RESPONSE = "needs_response"
    UNDER_REVIEW = "under_review"
    WON = "won"
    LOST = "lost"


CLOSED_STATUSES = frozenset({DisputeStatus.WARNING_CLOSED, DisputeStatus.WON, DisputeStatus.LOST})

STATUS_RANK = MappingProxyType(
    {
        DisputeStatus.WARNING_NEEDS_RESPONSE: 0,
        DisputeStatus.WARNING_UNDER_REVIEW: 1,
        DisputeStatus.NEEDS_RESPONSE: 2,
        DisputeStatus.UNDER_REVIEW: 3,
        DisputeStatus.WARNING_CLOSED: 4,
        DisputeStatus.WON: 4,
        DisputeStatus.LOST: 4,
    }
)
"""Where a status stands in Stripe's lifecycle: a dispute only moves up (an inquiry may escalate
into a chargeback; nothing leaves a closed status)."""

ReasonCode = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,64}$")]
"""Stripe's ``dispute.reason``: a machine code (``fraudulent``, ``product_not_received``…)."""

DisputeEventType = Annotated[str, StringConstraints(pattern=r"^charge\.dispute\.(created|updated|closed)$")]

DISPUTE_EVENT_TYPES = frozenset({"charge.dispute.created", "charge.dispute.updated", "charge.dispute.closed"})


class DisputeFact(BaseModel):
    """A dispute as Stripe confirmed it, delivered to the session as a signal (``dispute_event``)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    event_id: str = Field(pattern=r"^evt_[A-Za-z0-9_]{1,250}$")
    type: DisputeEventType
    dispute_id: StripeId
    payment_intent_id: StripeId
    charge_id: StripeId
    status: DisputeStatus
    amount_minor: int = Field(ge=0)
    currency: Currency
    reason: ReasonCode
    created: AwareDatetime
    """The event's ``created``: tells two copies of one stage apart (the later one wins)."""
    account: StripeId | None = None
    """The connected account the charge lives on (a Connect event's ``account``); None: the
    platform's own."""


class DisputeRecord(BaseModel):
    """The session's dispute, as the last fact that moved it left it."""

    model_config = ConfigDict(extra="ignore")

    dispute_id: str
    payment_intent_id: str
    charge_id: str
    status: DisputeStatus
    amount_minor: int
    currency: str
    reason: str
    opened_at: datetime
    """The ``created`` of the first fact the session learnt of it."""
    updated_at: datetime
    """The ``created`` of the fact that last moved it."""
    account: str | None = None
    refund_held_minor: int = 0
    """What the rules owe the client that is held because of the dispute (paid if it is won)."""
    facts_applied: int = 0

    @property
    def open(self) -> bool:
        return self.status not in CLOSED_STATUSES


class DisputeChange(BaseModel):
    """What one fact did: ``applied`` (it moved the record), and whether the dispute just opened
    (first heard of) or closed."""

    model_config = ConfigDict(frozen=True)

    applied: bool
    opened: bool = False
    closed: bool = False
    escalated: bool = False
    """An inquiry became a chargeback (``warning_…`` → ``needs_response``): asked for an answer again."""


def moves_forward(record: DisputeRecord | None, fact: DisputeFact) -> bool:
    """Whether ``fact`` is news for ``record``: a later stage, or a later copy of the same stage.

    A fact about another dispute of the session replaces a closed one only (a second dispute of
    the same charge after the first closed); while one is open it is its news that counts.
    """
    if record is None:
        return True
    if fact.dispute_id != record.dispute_id:
        return not record.open and fact.created > record.updated_at
    current, incoming = STATUS_RANK[record.status], STATUS_RANK[fact.status]
    if incoming != current:
        return incoming > current
    return fact.created > record.updated_at


def apply_dispute_fact(
    record: DisputeRecord | None, fact: DisputeFact
) -> tuple[DisputeRecord | None, DisputeChange]:
    """The record after ``fact``, and what changed. A stale or repeated fact changes nothing."""
    if not moves_forward(record, fact):
        return record, DisputeChange(applied=False)
    first = record is None or record.dispute_id != fact.dispute_id
    was_open = record is not None and record.open and not first
    updated = DisputeRecord(
        dispute_id=fact.dispute_id,
        payment_intent_id=fact.payment_intent_id,
        charge_id=fact.charge_id,
        status=fact.status,
        amount_minor=fact.amount_minor,
        currency=fact.currency,
        reason=fact.reason,
        opened_at=fact.created if first or record is None else record.opened_at,
        updated_at=fact.created,
        account=fact.account,
        refund_held_minor=0 if first or record is None else record.refund_held_minor,
        facts_applied=1 if first or record is None else record.facts_applied + 1,
    )
    # A dispute first heard of already closed (its earlier events lost or late) opens and closes.
    closed = not updated.open and (first or was_open)
    escalated = (
        not first
        and record is not None
        and record.status.value.startswith("warning_")
        and updated.status is DisputeStatus.NEEDS_RESPONSE
    )
    return updated, DisputeChange(applied=True, opened=first, closed=closed, escalated=escalated)


# ------------------------------------------------------------------ one session, several disputes
# A session can be disputed more than once: its own charge and a second (extra) payment of it, or a
# charge disputed again after a first dispute closed. The session keeps one record per dispute id
# (``disputes``); states recorded before (one ``dispute`` slot, no list) read as a list of that one.


def dispute_records(legacy: DisputeRecord | None, records: list[DisputeRecord]) -> list[DisputeRecord]:
    """Every dispute the session knows: the list, or the one legacy record of an older state."""
    if records:
        return records
    return [legacy] if legacy is not None else []


def holding_record(records: list[DisputeRecord], payment_intent_id: str | None) -> DisputeRecord | None:
    """The dispute that holds refunds of ``payment_intent_id`` (open first, else lost), if any."""
    held = [record for record in records if holds_refunds(record, payment_intent_id)]
    return next((record for record in held if record.open), held[0] if held else None)


def awaits_any_outcome(records: list[DisputeRecord]) -> bool:
    """A refund is held by a dispute still open: the session waits for its outcome."""
    return any(record.open and record.refund_held_minor > 0 for record in records)


def awaited_record(records: list[DisputeRecord]) -> DisputeRecord | None:
    """The open dispute holding a refund (``awaits_any_outcome``), the latest opened first."""
    held = [record for record in records if record.open and record.refund_held_minor > 0]
    return max(held, key=lambda record: record.opened_at, default=None)


DISPUTE_DECISION_BOUND = timedelta(days=120)
"""How long Stripe's process keeps a dispute open at most, with margin: the merchant's evidence is
due 7–21 days after it opens (by card network), and the issuer decides about 60–75 days after the
evidence is due ("the full lifecycle … can take as long as 2-3 months", Stripe support, "Dispute
process overview" / "Why does this dispute not have a resolution yet?"): about 96 days, 120 with an
inquiry's escalation. A refunds workflow waiting for a dispute's close past its refund period
waits that long, then reads the dispute from Stripe instead of waiting for ever."""


class DisputeLookup(BaseModel):
    """What ``read_dispute`` is asked: one dispute, on the account its charge lives on."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    session_id: str
    dispute_id: StripeId
    account: StripeId | None = None
    """The connected account the charge (and so the dispute) lives on; None: the platform's."""


class DisputeNow(BaseModel):
    """What ``read_dispute`` returns: the dispute's status as Stripe holds it now."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    status: DisputeStatus


def fact_read_from_stripe(record: DisputeRecord, status: DisputeStatus, at: datetime) -> DisputeFact:
    """A close read from Stripe (``read_dispute``) as the fact its lost webhook would have given:
    the recorded dispute at its new status, dated by the workflow's clock (later than the record,
    so the order rule takes it)."""
    return DisputeFact(
        event_id=f"evt_read_{record.dispute_id}",
        type="charge.dispute.closed",
        dispute_id=record.dispute_id,
        payment_intent_id=record.payment_intent_id,
        charge_id=record.charge_id,
        status=status,
        amount_minor=record.amount_minor,
        currency=record.currency,
        reason=record.reason,
        created=max(at, record.updated_at),
        account=record.account,
    )


def check_refunds_allowed(records: list[DisputeRecord], payment_intent_id: str | None) -> None:
    """``check_refund_allowed`` over every dispute of the session."""
    check_refund_allowed(holding_record(records, payment_intent_id), payment_intent_id)


def belongs_to(fact: DisputeFact, account: str | None, payment_intents: set[str]) -> bool:
    """A dispute is the session's only when it is on the session's account (a Connect event's
    ``account``, None for the platform's own, equal to the session's ``connected_account_id``) and
    of a PaymentIntent the session knows (its own or a recorded extra payment). Any connected
    account can create a PaymentIntent with ``metadata.session_id`` of another session: its
    dispute must never hold that session's refunds, reach its therapist or receive its evidence."""
    return fact.account == account and fact.payment_intent_id in payment_intents


def holds_refunds(record: DisputeRecord | None, payment_intent_id: str | None) -> bool:
    """No refund of the session's payment now: its charge is disputed, the dispute open or lost."""
    if record is None or record.payment_intent_id != payment_intent_id:
        return False
    return record.open or record.status is DisputeStatus.LOST


def awaits_outcome(record: DisputeRecord | None, payment_intent_id: str | None) -> bool:
    """A refund is held for a dispute still open: the session waits for its outcome (won pays it)
    instead of closing with it owed."""
    return (
        holds_refunds(record, payment_intent_id)
        and record is not None
        and record.open
        and (record.refund_held_minor > 0)
    )


def check_refund_allowed(record: DisputeRecord | None, payment_intent_id: str | None) -> None:
    """A therapist's or admin's refund of a disputed charge is refused (nothing is recorded)."""
    if holds_refunds(record, payment_intent_id):
        assert record is not None
        raise RuleViolation(
            "charge_disputed",
            f"the session's charge is disputed ({record.status.value}): no refund while the dispute "
            "is open or after it was lost; the bank decides what the client gets back",
        )


def needs_response(record: DisputeRecord) -> bool:
    """The merchant is asked for evidence (a chargeback or an inquiry awaiting an answer)."""
    return record.status in (DisputeStatus.NEEDS_RESPONSE, DisputeStatus.WARNING_NEEDS_RESPONSE)


def outcome_code(record: DisputeRecord) -> str:
    """The outcome a therapist and ops hear of: ``won``, ``lost`` or ``warning_closed``."""
    return record.status.value


def _event_time(created: object) -> datetime:
    if isinstance(created, bool) or not isinstance(created, int | float):
        raise ValueError("the event has no created time")
    try:
        return datetime.fromtimestamp(created, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise ValueError("the event's created time is out of range") from None


def dispute_fact_from_stripe(event: dict[str, Any], dispute: dict[str, Any]) -> DisputeFact | None:
    """The fact of a ``charge.dispute.*`` event, read from Stripe's own copy of the ``dispute``
    (never the event's); None when it is no dispute of a PaymentIntent. Raises ``ValueError``
    (pydantic's included) for a dispute or event that is not Stripe-shaped."""
    intent = dispute.get("payment_intent")
    charge = dispute.get("charge")
    if isinstance(intent, dict):
        intent = intent.get("id")
    if isinstance(charge, dict):
        charge = charge.get("id")
    if event.get("type") not in DISPUTE_EVENT_TYPES or not isinstance(intent, str):
        return None
    account = event.get("account")
    return DisputeFact(
        event_id=str(event.get("id")),
        type=str(event.get("type")),
        dispute_id=str(dispute.get("id")),
        payment_intent_id=intent,
        charge_id=str(charge),
        status=DisputeStatus(str(dispute.get("status"))),
        amount_minor=int(dispute.get("amount") or 0),
        currency=str(dispute.get("currency")),
        reason=str(dispute.get("reason")),
        created=_event_time(event.get("created")),
        account=account if isinstance(account, str) and account else None,
    )
