"""The marketplace's commission (domain §1.6) and who bears a refund's commission (issue 14)."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.commission import (
    DEFAULT_COMMISSION,
    CommissionRates,
    RefundCause,
    application_fee_minor,
    fee_breakdown,
    refund_cause,
    refund_returns_commission,
    returns_whole_fee,
)
from domain.status import BookingKind, SessionStatus
from settings import Settings

FOLLOW_UP_KINDS = [kind for kind in BookingKind if kind is not BookingKind.INITIAL_PREPAID]
amounts = st.integers(min_value=0, max_value=10_000_000)
basis_points = st.integers(min_value=0, max_value=10_000)
kinds = st.sampled_from(list(BookingKind))


def test_a_first_session_with_a_new_client_pays_the_whole_amount_as_commission() -> None:
    assert application_fee_minor(6000, BookingKind.INITIAL_PREPAID) == 6000


@pytest.mark.parametrize("kind", FOLLOW_UP_KINDS)
def test_a_follow_up_pays_ten_percent_commission_plus_vat_on_it(kind: BookingKind) -> None:
    fee = fee_breakdown(6000, kind)
    assert (fee.commission_minor, fee.vat_minor, fee.fee_minor) == (600, 120, 720)


def test_each_invoice_line_rounds_to_the_nearest_minor_unit_halves_up() -> None:
    # 10 % of 6005 is 600.5 → 601; VAT 20 % of 601 is 120.2 → 120.
    assert fee_breakdown(6005, BookingKind.THERAPIST_FOLLOW_UP).model_dump() == {
        "commission_minor": 601,
        "vat_minor": 120,
        "fee_minor": 721,
    }
    # 10 % of 6004 is 600.4 → 600; of 6025: 602.5 → 603, VAT 120.6 → 121.
    assert application_fee_minor(6004, BookingKind.CLIENT_FOLLOW_UP) == 720
    assert application_fee_minor(6025, BookingKind.CLIENT_FOLLOW_UP) == 724


def test_the_fee_never_exceeds_what_was_charged_even_with_vat_on_a_full_commission() -> None:
    fee = fee_breakdown(1, BookingKind.INITIAL_PREPAID)
    assert (fee.commission_minor, fee.vat_minor, fee.fee_minor) == (1, 0, 1)


def test_rates_come_from_configuration() -> None:
    rates = CommissionRates(first_session_bp=5_000, follow_up_bp=1_500, vat_bp=0)
    assert application_fee_minor(6000, BookingKind.INITIAL_PREPAID, rates) == 3000
    assert application_fee_minor(6000, BookingKind.THERAPIST_MANUAL, rates) == 900


def test_a_rate_outside_zero_to_a_hundred_percent_is_refused() -> None:
    with pytest.raises(ValueError):
        CommissionRates(follow_up_bp=10_001)
    with pytest.raises(ValueError):
        CommissionRates(vat_bp=-1)


@given(amounts, kinds, basis_points, basis_points, basis_points)
def test_the_fee_is_between_nothing_and_the_amount(
    amount: int, kind: BookingKind, first: int, follow: int, vat: int
) -> None:
    rates = CommissionRates(first_session_bp=first, follow_up_bp=follow, vat_bp=vat)
    fee = fee_breakdown(amount, kind, rates)
    assert 0 <= fee.fee_minor <= amount
    assert fee.fee_minor == fee.commission_minor + fee.vat_minor
    assert fee.commission_minor >= 0 and fee.vat_minor >= 0


@given(amounts, kinds, basis_points, basis_points)
def test_each_line_is_within_half_a_minor_unit_of_the_exact_figure(
    amount: int, kind: BookingKind, rate: int, vat: int
) -> None:
    rates = CommissionRates(first_session_bp=rate, follow_up_bp=rate, vat_bp=vat)
    fee = fee_breakdown(amount, kind, rates)
    exact_commission = Fraction(amount * rate, 10_000)
    uncapped = fee.commission_minor + fee.vat_minor == fee.fee_minor and fee.fee_minor < amount
    if uncapped:
        assert abs(fee.commission_minor - exact_commission) <= Fraction(1, 2)
        assert abs(fee.vat_minor - Fraction(fee.commission_minor * vat, 10_000)) <= Fraction(1, 2)
        # Halves go up: exactly half a unit below is never the answer.
        assert fee.commission_minor - exact_commission != Fraction(-1, 2)


@given(st.integers(min_value=0, max_value=9_999_999), kinds)
def test_a_larger_amount_never_pays_a_smaller_fee(amount: int, kind: BookingKind) -> None:
    assert application_fee_minor(amount + 1, kind) >= application_fee_minor(amount, kind)


@pytest.mark.parametrize(
    ("status", "cause"),
    [
        (SessionStatus.CANCELLED_BY_THERAPIST, RefundCause.THERAPIST_CANCELLATION),
        (SessionStatus.CANCELLED_FREE, RefundCause.CLIENT_FREE_CANCELLATION),
        (SessionStatus.CANCELLED_UNPAID, RefundCause.PAID_AFTER_AUTO_CANCEL),
        (SessionStatus.CANCELLED_LATE, RefundCause.DISCRETIONARY),
        (SessionStatus.PAID, RefundCause.DISCRETIONARY),
        (SessionStatus.COMPLETED, RefundCause.DISCRETIONARY),
        (SessionStatus.CLIENT_NO_SHOW, RefundCause.DISCRETIONARY),
    ],
)
def test_a_refund_is_the_cancellations_when_the_cancellation_owes_everything(
    status: SessionStatus, cause: RefundCause
) -> None:
    assert refund_cause(status) is cause


def test_a_second_payment_of_one_session_is_refunded_as_a_duplicate_whatever_the_status() -> None:
    assert refund_cause(SessionStatus.COMPLETED, extra_payment=True) is RefundCause.DUPLICATE_PAYMENT


def test_a_therapists_cancellation_returns_the_commission_with_the_refund() -> None:
    assert refund_returns_commission(RefundCause.THERAPIST_CANCELLATION)


def test_a_clients_free_cancellation_returns_the_commission_with_the_refund() -> None:
    assert refund_returns_commission(RefundCause.CLIENT_FREE_CANCELLATION)


def test_money_the_client_never_owed_goes_back_with_the_commission() -> None:
    assert refund_returns_commission(RefundCause.DUPLICATE_PAYMENT)
    assert refund_returns_commission(RefundCause.PAID_AFTER_AUTO_CANCEL)


def test_a_discretionary_refund_keeps_the_commission_by_default() -> None:
    assert not DEFAULT_COMMISSION.discretionary_refund_returns_fee
    assert not refund_returns_commission(RefundCause.DISCRETIONARY)


def test_a_discretionary_refunds_commission_rule_is_configuration() -> None:
    returning = CommissionRates(discretionary_refund_returns_fee=True)
    assert refund_returns_commission(RefundCause.DISCRETIONARY, returning)
    keeping = CommissionRates(discretionary_refund_returns_fee=False)
    assert refund_returns_commission(RefundCause.THERAPIST_CANCELLATION, keeping)


def test_the_rates_are_settings_with_the_terms_as_defaults() -> None:
    assert Settings().commission == DEFAULT_COMMISSION
    configured = Settings(commission_follow_up_bp=1500, commission_discretionary_refund_returns_fee=True)
    assert configured.commission == CommissionRates(follow_up_bp=1500, discretionary_refund_returns_fee=True)


def test_a_rate_outside_the_range_is_refused_at_start() -> None:
    with pytest.raises(ValueError):
        Settings(commission_vat_bp=20_000)


def test_a_refund_of_a_session_whose_commission_took_the_whole_payment_returns_the_commission() -> None:
    # A first session at 100 %: the therapist received nothing, so nothing of a refund is theirs to
    # bear, whatever the discretionary rule says.
    keeping = CommissionRates(discretionary_refund_returns_fee=False)
    assert refund_returns_commission(RefundCause.DISCRETIONARY, keeping, therapist_share_minor=0)
    assert not refund_returns_commission(RefundCause.DISCRETIONARY, keeping, therapist_share_minor=5280)


def test_the_rest_of_the_commission_goes_back_when_the_refund_completes_the_charge() -> None:
    assert returns_whole_fee(returns_commission=True, completes_charge=True)
    assert not returns_whole_fee(returns_commission=True, completes_charge=False)
    assert not returns_whole_fee(returns_commission=False, completes_charge=True)
