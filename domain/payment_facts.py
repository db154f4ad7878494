"""Which Stripe webhook facts a session provably already has, from what a describe of its workflow
shows (its ``SessionStatus`` and ``SessionPaymentIntent`` search attributes).

Each signal is a billed Action; a describe is not. The webhook route skips a signal only when
``domain.session.apply_payment_event`` would change nothing a person or the money can tell:

- ``payment_intent.succeeded`` for the very PaymentIntent the session was paid with
  (``SessionPaymentIntent``, published with ``paid``), while its status is ``paid`` or later: the
  ledger is no longer awaiting money, so the intent settles nothing, and being the paid intent
  itself it is never an extra payment to refund.
- ``payment_intent.payment_failed`` while the session's money has not been taken and it is not
  cancelled (``scheduled``, ``payment_due``, ``payment_failed``, ``awaiting_client_action``): a
  failure event never moves a session (its charge tries report their own outcome); it is only news
  for money work Stripe refused (a refund or void, which needs money taken or a cancellation).

Everything else is signalled (``charge.refunded`` always: it may carry a refunded amount the
session has not seen). When in doubt the answer is to signal: a missed fact can lose money, a
redundant signal costs one Action. The one effect a skipped succeeded fact can lose is the early
retry that any news gives a refund Stripe refused (a paid session's granted refund): that refund
still retries on its own timer (``domain.session.BLOCKED_MONEY_RETRY``). A skipped failure loses
nothing: a session that holds no money has no refused money work.
"""

from __future__ import annotations

from enum import StrEnum

from domain.payments import PaymentEvent
from domain.status import SessionStatus

PAID_OR_LATER = frozenset(
    {
        SessionStatus.PAID,
        SessionStatus.AWAITING_UPDATE,
        SessionStatus.ATTENDED,
        SessionStatus.CLIENT_NO_SHOW,
        SessionStatus.COMPLETED,
        SessionStatus.UNREPORTED,
    }
)
"""Statuses of a live session whose payment is settled (a cancelled one owes money work instead)."""

NOTHING_TAKEN_YET = frozenset(
    {
        SessionStatus.SCHEDULED,
        SessionStatus.PAYMENT_DUE,
        SessionStatus.PAYMENT_FAILED,
        SessionStatus.AWAITING_CLIENT_ACTION,
        SessionStatus.PAYMENT_ON_HOLD,
    }
)
"""Statuses of a live session that holds no money: no refund or void can be waiting on news."""


class KnownFact(StrEnum):
    """Why a webhook fact is not signalled: a machine code for the log."""

    PAYMENT_KNOWN = "payment_known"
    """The session was paid with this PaymentIntent and its status says so."""
    FAILURE_IGNORED = "failure_ignored"
    """A failed payment the session ignores: it holds no money that could wait on news."""


def known_fact(event: PaymentEvent, status: str | None, paid_intent_id: str | None) -> KnownFact | None:
    """Why the session already has ``event`` (skip its signal), or None: signal it.

    ``status`` and ``paid_intent_id`` are the session's ``SessionStatus`` and
    ``SessionPaymentIntent`` search attributes as a describe returns them (None when absent: a
    session started before ``SessionPaymentIntent`` existed never skips a succeeded event).
    """
    try:
        current = SessionStatus(status) if status is not None else None
    except ValueError:
        return None  # a status this release does not know: signal
    if current is None:
        return None
    if event.type == "payment_intent.succeeded":
        paid_with_it = paid_intent_id is not None and paid_intent_id == event.payment_intent_id
        if paid_with_it and current in PAID_OR_LATER:
            return KnownFact.PAYMENT_KNOWN
        return None
    if event.type == "payment_intent.payment_failed" and current in NOTHING_TAKEN_YET:
        return KnownFact.FAILURE_IGNORED
    return None
