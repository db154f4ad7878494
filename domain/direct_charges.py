"""A session's money on the therapist's connected account: what its Stripe requests carry.

A session booked with ``SessionBooking.connected_account_id`` is charged as a direct charge on that
account with the marketplace's commission as the application fee, and refunded there, returning
the commission or not by ``domain.commission.refund_returns_commission``. These helpers fill the
connected-account fields of the requests ``domain.session`` (and ``domain.refunds`` after close)
build, and record what Stripe reports of the fee. A session without an account is left exactly as
it was: its requests carry the fields' defaults and nothing else changes.
"""

from __future__ import annotations

from typing import TypeVar

from domain.booking import SessionBooking
from domain.commission import (
    CommissionRates,
    RefundCause,
    application_fee_minor,
    refund_returns_commission,
    returns_whole_fee,
)
from domain.payments import (
    ChargeRequest,
    ChargeResult,
    PaymentReadRequest,
    RefundRequest,
    RefundResult,
    VoidRequest,
)
from domain.state import PaymentLedger
from domain.status import BookingKind

AccountRequest = TypeVar("AccountRequest", VoidRequest, PaymentReadRequest)


def open_on_account(ledger: PaymentLedger, booking: SessionBooking, commission: CommissionRates) -> None:
    """The ledger of a session booked on a connected account: the account, the terms fixed at
    booking, and the fee they give."""
    if booking.connected_account_id is None:
        return
    ledger.connected_account_id = booking.connected_account_id
    ledger.commission = commission
    ledger.application_fee_minor = application_fee_minor(booking.amount_minor, booking.kind, commission)
    ledger.application_fee_refunded_minor = 0


def charge_on_account(request: ChargeRequest, ledger: PaymentLedger, kind: BookingKind) -> ChargeRequest:
    """The charge as a direct charge on the session's account, with the commission as its fee."""
    if ledger.connected_account_id is None:
        return request
    commission = ledger.commission or CommissionRates()
    fee = application_fee_minor(request.amount_minor, kind, commission)
    return request.model_copy(
        update={"connected_account_id": ledger.connected_account_id, "application_fee_minor": fee}
    )


def on_account(request: AccountRequest, ledger: PaymentLedger) -> AccountRequest:
    """A read or void of the session's PaymentIntent, on the account it lives on."""
    if ledger.connected_account_id is None:
        return request
    return request.model_copy(update={"connected_account_id": ledger.connected_account_id})


def refund_on_account(request: RefundRequest, ledger: PaymentLedger, cause: RefundCause) -> RefundRequest:
    """The refund on the account the charge was made on; the commission goes back with it when the
    rule says so (in proportion to the amount refunded: Stripe's ``refund_application_fee``), all
    of what is left of it when this refund also completes the charge (``returns_whole_fee``)."""
    if ledger.connected_account_id is None:
        return request
    returns = refund_returns_commission(
        cause, ledger.commission or CommissionRates(), therapist_share_minor=therapist_share_minor(ledger)
    )
    # A second payment is refunded in full; the session's own when the target reaches what it took.
    completes = request.extra or request.target_refunded_minor >= _taken_minor(ledger)
    return request.model_copy(
        update={
            "connected_account_id": ledger.connected_account_id,
            "refund_application_fee": returns,
            "return_whole_fee": returns_whole_fee(returns_commission=returns, completes_charge=completes),
        }
    )


def therapist_share_minor(ledger: PaymentLedger) -> int | None:
    """What the therapist keeps of the session's payment after the commission; ``None`` when the
    fee is unknown (no account)."""
    if ledger.application_fee_minor is None:
        return None
    return max(0, _taken_minor(ledger) - ledger.application_fee_minor)


def _taken_minor(ledger: PaymentLedger) -> int:
    """What the payment took: the captured amount once known, the booked amount before."""
    return ledger.amount_paid_minor or ledger.amount_minor


def record_fee_charged(ledger: PaymentLedger, result: ChargeResult) -> None:
    """Stripe's figure for the fee taken replaces the one computed at booking."""
    if result.application_fee_minor is not None:
        ledger.application_fee_minor = result.application_fee_minor


def record_fee_refunded(ledger: PaymentLedger, request: RefundRequest, result: RefundResult) -> None:
    """What Stripe reports given back of the fee on the session's own payment (it only grows)."""
    if request.extra:
        return  # a second payment's fee is not the session's
    if result.application_fee_minor is not None:
        ledger.application_fee_minor = result.application_fee_minor
    if result.application_fee_refunded_minor is not None:
        ledger.application_fee_refunded_minor = max(
            ledger.application_fee_refunded_minor or 0, result.application_fee_refunded_minor
        )
