"""The marketplace's commission on a session's payment, and who bears a refund, as pure rules.

A session booked for a therapist with a connected Stripe account is charged as a *direct charge*
on that account (``README.md``, "Where the money goes"): the therapist is the merchant of record,
and the marketplace takes its commission as the charge's ``application_fee_amount``. The domain's
terms (``shared/reference/domain.md`` §1.6): 100 % on a first session with a new client, 10 % + VAT
on follow-ups. The rates are configuration (``settings.Settings.commission``), fixed into each
session's workflow input when it is booked (``SessionWorkflowInput.commission``), so a change of
settings never changes what a running session charges or refunds.

Every amount is an integer in minor units; rates are integer basis points (1 bp = 0.01 %), so the
arithmetic is exact and the same on every worker.
"""

from __future__ import annotations

from enum import StrEnum
from types import MappingProxyType

from pydantic import BaseModel, ConfigDict, Field

from domain.status import BookingKind, SessionStatus

WHOLE = 10_000
"""100 % in basis points."""


# Configured by SESSIONFLOW_COMMISSION_*.
class CommissionRates(BaseModel):
    """The marketplace's commission rates the session was booked under (fixed at booking)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    first_session_bp: int = Field(default=WHOLE, ge=0, le=WHOLE)
    """On a first session with a new client (``initial_prepaid``, paid at checkout): 100 %, the
    marketplace's finder's fee — the therapist earns from the follow-ups."""
    follow_up_bp: int = Field(default=1_000, ge=0, le=WHOLE)
    """On every other session (the therapist's follow-ups and manual sessions, the client's own
    follow-ups): 10 %."""
    vat_bp: int = Field(default=2_000, ge=0, le=WHOLE)
    """VAT charged on the commission (the marketplace's service to the therapist): UK 20 %."""
    discretionary_refund_returns_fee: bool = False
    """Whether a discretionary refund (a therapist's or admin's refund, a waived late cancellation)
    gives the commission back to the therapist. False: the marketplace keeps it — the session took
    place (or the client cancelled late) and the therapist chose to refund. Never applies to a
    session whose commission took the whole payment (``refund_returns_commission``)."""

    def rate_bp(self, kind: BookingKind) -> int:
        return self.first_session_bp if kind is BookingKind.INITIAL_PREPAID else self.follow_up_bp


DEFAULT_COMMISSION = CommissionRates()


class FeeBreakdown(BaseModel):
    """The fee as the marketplace's invoice to the therapist shows it: commission, VAT, total."""

    model_config = ConfigDict(frozen=True)

    commission_minor: int
    vat_minor: int
    fee_minor: int
    """``commission_minor + vat_minor``, never more than the amount charged."""


def _half_up(amount: int, bp: int) -> int:
    """``amount × bp / 10 000`` rounded to the nearest minor unit, halves up, in integers only."""
    return (amount * bp * 2 + WHOLE) // (2 * WHOLE)


def fee_breakdown(
    amount_minor: int, kind: BookingKind, commission: CommissionRates = DEFAULT_COMMISSION
) -> FeeBreakdown:
    """The application fee on ``amount_minor`` for a session of ``kind``.

    Rounding: each invoice line is rounded to the nearest minor unit, halves up — the commission on
    the amount, then the VAT on that rounded commission — as a VAT invoice computes its lines (VAT
    is due on the commission invoiced, in whole pence). Half-up rather than down or banker's: it is
    what HMRC accepts for a line ("round to the nearest"), and over many sessions neither party
    gains systematically from it (at most half a minor unit a line). The total is capped at the
    amount itself (Stripe refuses an application fee above the charge): at 100 % commission the
    marketplace keeps the whole payment, VAT included in it, and the therapist receives nothing.
    """
    if amount_minor < 0:
        raise ValueError("an amount is never negative")
    commission_minor = _half_up(amount_minor, commission.rate_bp(kind))
    vat_minor = _half_up(commission_minor, commission.vat_bp)
    fee = min(amount_minor, commission_minor + vat_minor)
    # What the cap takes off comes off the VAT line first: the commission never exceeds the amount.
    vat_minor = fee - min(commission_minor, fee)
    return FeeBreakdown(commission_minor=min(commission_minor, fee), vat_minor=vat_minor, fee_minor=fee)


def application_fee_minor(
    amount_minor: int, kind: BookingKind, commission: CommissionRates = DEFAULT_COMMISSION
) -> int:
    """The ``application_fee_amount`` of a charge of ``amount_minor`` for a session of ``kind``."""
    return fee_breakdown(amount_minor, kind, commission).fee_minor


# --------------------------------------------------------------------------------- refunds


class RefundCause(StrEnum):
    """Why money goes back to the client, as far as the commission is concerned."""

    THERAPIST_CANCELLATION = "therapist_cancellation"
    """The therapist (or an admin in their name) cancelled: the session never took place through
    no fault of the client, who gets everything back."""
    CLIENT_FREE_CANCELLATION = "client_free_cancellation"
    """The client cancelled with more than the notice: free, a full refund."""
    PAID_AFTER_AUTO_CANCEL = "paid_after_auto_cancel"
    """A payment that landed after the unpaid session was cancelled (an on-session payment whose
    webhook came late): the session does not take place, the money goes back in full."""
    DUPLICATE_PAYMENT = "duplicate_payment"
    """A second payment of one session (a try unanswered in a Stripe outage went through, and a
    later try charged too): the client never owed it."""
    DISCRETIONARY = "discretionary"
    """A therapist's or admin's choice: a refund granted (``refund``), one filed with the
    attendance update, or a client's late cancellation refunded anyway."""


_ALWAYS_RETURNED = frozenset(
    {
        RefundCause.THERAPIST_CANCELLATION,
        RefundCause.CLIENT_FREE_CANCELLATION,
        RefundCause.PAID_AFTER_AUTO_CANCEL,
        RefundCause.DUPLICATE_PAYMENT,
    }
)


def refund_returns_commission(
    cause: RefundCause,
    commission: CommissionRates = DEFAULT_COMMISSION,
    *,
    therapist_share_minor: int | None = None,
) -> bool:
    """Whether a refund for ``cause`` returns the marketplace's commission with it (Stripe's
    ``refund_application_fee``, which gives back the fee in proportion to the amount refunded).

    Returned whenever the session did not take place as a paid session through no choice of the
    therapist's — their cancellation, the client's free cancellation, a payment after the session
    was cancelled unpaid, a payment the client never owed — since the marketplace earned nothing on
    it. Returned too, whatever the cause, when the commission took the whole payment
    (``therapist_share_minor`` 0: a first session at the default 100 %): the therapist received
    nothing, so a refund comes out of the marketplace's share (``shared/reference/domain.md`` §4.7),
    never out of the therapist's balance. Any other discretionary refund per configuration (kept by
    default: the therapist earned their share and chose to give it back).
    """
    if cause in _ALWAYS_RETURNED or therapist_share_minor == 0:
        return True
    return commission.discretionary_refund_returns_fee


def returns_whole_fee(*, returns_commission: bool, completes_charge: bool) -> bool:
    """Whether the platform returns the rest of its fee itself after a refund.

    Stripe's ``refund_application_fee`` gives back the fee only in proportion to *this* refund, so
    a part refund that kept the fee (discretionary) followed by one that returns it (the
    therapist's cancellation) would leave the first part's fee with the marketplace on a session
    that never took place. When the rule returns the commission and this refund brings the client's
    money back in full, the marketplace returns whatever it still holds of its fee (``POST
    /v1/application_fees/{fee}/refunds``): a fully refunded payment leaves no commission behind.
    """
    return returns_commission and completes_charge


_CAUSE_OF_CANCELLATION = MappingProxyType(
    {
        SessionStatus.CANCELLED_BY_THERAPIST: RefundCause.THERAPIST_CANCELLATION,
        SessionStatus.CANCELLED_FREE: RefundCause.CLIENT_FREE_CANCELLATION,
        SessionStatus.CANCELLED_UNPAID: RefundCause.PAID_AFTER_AUTO_CANCEL,
    }
)


def refund_cause(status: SessionStatus, *, extra_payment: bool = False) -> RefundCause:
    """The cause of the refund a session in ``status`` makes now.

    A refund tops the client up to what the rules owe plus every grant (``domain.refunds``): a
    session cancelled by the therapist, free by the client or unpaid owes everything, so whatever
    it refunds now is that cancellation's; any other status owes back only what a therapist or
    admin chose to give (a grant, the attendance update's refund, a waived late cancellation).
    """
    if extra_payment:
        return RefundCause.DUPLICATE_PAYMENT
    return _CAUSE_OF_CANCELLATION.get(status, RefundCause.DISCRETIONARY)
