"""How charge results and webhook facts move a session's payment ledger (README rule 3)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.ledger import (
    apply_refunded_amount,
    apply_succeeded_intent,
    awaits_money,
    mark_paid,
    record_charge,
)
from domain.payments import ChargeOutcome, ChargeResult
from domain.policy import DEFAULT_POLICY, SessionPolicy
from domain.state import PaymentLedger
from domain.status import DeclineKind, PaymentStatus

H = timedelta(hours=1)
START = datetime(2027, 6, 15, 10, 0, tzinfo=UTC)
PRICE = 6000
INTENT = "pi_session1"


def new_ledger(**fields: object) -> PaymentLedger:
    return PaymentLedger.model_validate(
        {"amount_minor": PRICE, "currency": "gbp", "payment_method_id": "pm_1", **fields}
    )


def charge(
    ledger: PaymentLedger,
    result: ChargeResult,
    *,
    before_start: timedelta,
    attempt: int = 1,
    policy: SessionPolicy = DEFAULT_POLICY,
) -> None:
    record_charge(ledger, attempt=attempt, at=START - before_start, result=result, start=START, policy=policy)


SUCCEEDED = ChargeResult(
    outcome=ChargeOutcome.SUCCEEDED, payment_intent_id=INTENT, payment_intent_status="succeeded"
)
SOFT = ChargeResult(
    outcome=ChargeOutcome.DECLINED,
    payment_intent_id=INTENT,
    payment_intent_status="requires_payment_method",
    decline_kind=DeclineKind.SOFT,
    code="card_declined",
    decline_code="insufficient_funds",
)
HARD = ChargeResult(
    outcome=ChargeOutcome.DECLINED,
    payment_intent_id=INTENT,
    decline_kind=DeclineKind.HARD,
    code="card_declined",
    decline_code="lost_card",
)
NEEDS_ACTION = ChargeResult(
    outcome=ChargeOutcome.REQUIRES_ACTION,
    payment_intent_id=INTENT,
    payment_intent_status="requires_action",
    client_secret="pi_session1_secret_abc",
    decline_kind=DeclineKind.AUTHENTICATION_REQUIRED,
    code="authentication_required",
)
FAILED = ChargeResult(outcome=ChargeOutcome.FAILED, code="parameter_invalid_integer")


# ------------------------------------------------------------------------------- record_charge


def test_successful_charge_marks_the_session_paid_in_full() -> None:
    ledger = new_ledger(retry_now=True, next_charge_at=START - 48 * H)
    charge(ledger, SUCCEEDED, before_start=48 * H)
    assert ledger.status is PaymentStatus.PAID
    assert ledger.amount_paid_minor == PRICE
    assert ledger.payment_intent_id == INTENT
    assert ledger.next_charge_at is None
    assert ledger.retry_now is False
    assert ledger.client_secret is None
    assert awaits_money(ledger) is False


def test_every_attempt_is_recorded_with_its_codes() -> None:
    ledger = new_ledger()
    charge(ledger, SOFT, before_start=48 * H, attempt=1)
    charge(ledger, SUCCEEDED, before_start=24 * H, attempt=2)
    assert [(a.number, a.at, a.outcome) for a in ledger.attempts] == [
        (1, START - 48 * H, ChargeOutcome.DECLINED),
        (2, START - 24 * H, ChargeOutcome.SUCCEEDED),
    ]
    first = ledger.attempts[0]
    assert (first.decline_kind, first.code, first.decline_code) == (
        DeclineKind.SOFT,
        "card_declined",
        "insufficient_funds",
    )


@pytest.mark.parametrize(
    ("before_start", "next_before"),
    [(48 * H, 24 * H), (30 * H, 24 * H), (24 * H, 12 * H), (20 * H, 12 * H), (12 * H, None), (10 * H, None)],
)
def test_soft_decline_waits_for_the_next_retry_slot(
    before_start: timedelta, next_before: timedelta | None
) -> None:
    ledger = new_ledger(retry_now=True)
    charge(ledger, SOFT, before_start=before_start)
    assert ledger.status is PaymentStatus.DECLINED_SOFT
    assert ledger.next_charge_at == (None if next_before is None else START - next_before)
    assert ledger.retry_now is False
    assert ledger.amount_paid_minor == 0
    assert awaits_money(ledger)


def test_three_soft_declines_exhaust_the_retries() -> None:
    ledger = new_ledger()
    expected_next = [START - 24 * H, START - 12 * H, None]
    for number, (before_start, expected) in enumerate(
        zip((48 * H, 24 * H, 12 * H), expected_next, strict=True), 1
    ):
        charge(ledger, SOFT, before_start=before_start, attempt=number)
        assert ledger.next_charge_at == expected
    assert [a.number for a in ledger.attempts] == [1, 2, 3]
    assert ledger.status is PaymentStatus.DECLINED_SOFT


def test_soft_decline_retry_follows_a_custom_policy() -> None:
    policy = SessionPolicy(charge_attempt_offsets=(72 * H, 36 * H, 6 * H), auto_cancel_before=3 * H)
    ledger = new_ledger()
    charge(ledger, SOFT, before_start=72 * H, policy=policy)
    assert ledger.next_charge_at == START - 36 * H


def test_hard_decline_waits_for_a_new_card_without_a_retry_time() -> None:
    ledger = new_ledger(next_charge_at=START - 48 * H)
    charge(ledger, HARD, before_start=48 * H)
    assert ledger.status is PaymentStatus.DECLINED_HARD
    assert ledger.next_charge_at is None
    assert ledger.amount_paid_minor == 0
    assert awaits_money(ledger)


def test_authentication_required_keeps_the_client_secret_and_is_never_retried_off_session() -> None:
    ledger = new_ledger(next_charge_at=START - 48 * H)
    charge(ledger, NEEDS_ACTION, before_start=48 * H)
    assert ledger.status is PaymentStatus.REQUIRES_ACTION
    assert ledger.client_secret == "pi_session1_secret_abc"
    assert ledger.payment_intent_id == INTENT
    assert ledger.next_charge_at is None
    assert awaits_money(ledger)


def test_success_after_requires_action_clears_the_client_secret() -> None:
    ledger = new_ledger()
    charge(ledger, NEEDS_ACTION, before_start=48 * H, attempt=1)
    charge(ledger, SUCCEEDED, before_start=20 * H, attempt=2)
    assert ledger.status is PaymentStatus.PAID
    assert ledger.client_secret is None


@pytest.mark.parametrize(
    ("before_start", "next_before"), [(48 * H, 24 * H), (24 * H, 12 * H), (12 * H, None)]
)
def test_failed_request_waits_for_the_next_attempt_like_a_soft_decline(
    before_start: timedelta, next_before: timedelta | None
) -> None:
    ledger = new_ledger()
    charge(ledger, FAILED, before_start=before_start)
    assert ledger.status is PaymentStatus.DECLINED_SOFT
    assert ledger.next_charge_at == (None if next_before is None else START - next_before)


def test_result_without_a_payment_intent_keeps_the_known_one() -> None:
    ledger = new_ledger(payment_intent_id=INTENT)
    charge(ledger, FAILED, before_start=24 * H, attempt=2)
    assert ledger.payment_intent_id == INTENT


# ---------------------------------------------------------------------- apply_succeeded_intent

AWAITING = [PaymentStatus.DECLINED_SOFT, PaymentStatus.DECLINED_HARD, PaymentStatus.REQUIRES_ACTION]
NOT_AWAITING = [status for status in PaymentStatus if status not in AWAITING]


@pytest.mark.parametrize("status", AWAITING)
def test_succeeded_webhook_settles_a_session_waiting_for_its_money(status: PaymentStatus) -> None:
    ledger = new_ledger(
        status=status, payment_intent_id=INTENT, client_secret="secret", next_charge_at=START - 12 * H
    )
    assert apply_succeeded_intent(ledger, INTENT) is True
    assert ledger.status is PaymentStatus.PAID
    assert ledger.amount_paid_minor == PRICE
    assert ledger.client_secret is None
    assert ledger.next_charge_at is None


@pytest.mark.parametrize("status", AWAITING)
def test_succeeded_webhook_for_another_payment_intent_changes_nothing(status: PaymentStatus) -> None:
    ledger = new_ledger(status=status, payment_intent_id=INTENT, next_charge_at=START - 12 * H)
    before = ledger.model_copy(deep=True)
    assert apply_succeeded_intent(ledger, "pi_someone_else") is False
    assert ledger == before


@pytest.mark.parametrize("status", NOT_AWAITING)
def test_succeeded_webhook_never_moves_a_session_not_waiting_for_money(status: PaymentStatus) -> None:
    ledger = new_ledger(status=status, payment_intent_id=INTENT, amount_refunded_minor=PRICE, voided=True)
    before = ledger.model_copy(deep=True)
    assert apply_succeeded_intent(ledger, INTENT) is False
    assert ledger == before


def test_duplicate_succeeded_webhook_settles_only_once() -> None:
    ledger = new_ledger()
    charge(ledger, NEEDS_ACTION, before_start=48 * H)
    assert apply_succeeded_intent(ledger, INTENT) is True
    assert apply_succeeded_intent(ledger, INTENT) is False
    assert ledger.status is PaymentStatus.PAID


def test_succeeded_webhook_adopts_the_intent_a_lost_attempt_created() -> None:
    # The webhook is routed to the session by its metadata: an intent the ledger never heard of
    # (the attempt's answer was lost) is the session's own.
    ledger = new_ledger(status=PaymentStatus.DECLINED_SOFT)
    assert apply_succeeded_intent(ledger, INTENT) is True
    assert (ledger.status, ledger.payment_intent_id) == (PaymentStatus.PAID, INTENT)


def test_succeeded_webhook_for_another_intent_is_ignored() -> None:
    ledger = new_ledger(status=PaymentStatus.DECLINED_HARD, payment_intent_id="pi_other")
    assert apply_succeeded_intent(ledger, INTENT) is False
    assert ledger.status is PaymentStatus.DECLINED_HARD


def test_mark_paid_takes_the_full_price() -> None:
    ledger = new_ledger(status=PaymentStatus.DECLINED_SOFT, retry_now=True)
    mark_paid(ledger)
    assert (ledger.status, ledger.amount_paid_minor, ledger.retry_now) == (PaymentStatus.PAID, PRICE, False)


# ----------------------------------------------------------------------- apply_refunded_amount


def test_refund_webhook_records_the_cumulative_amount() -> None:
    ledger = new_ledger(status=PaymentStatus.PAID, payment_intent_id=INTENT, amount_paid_minor=PRICE)
    apply_refunded_amount(ledger, INTENT, 2000)
    assert ledger.amount_refunded_minor == 2000
    apply_refunded_amount(ledger, INTENT, PRICE)
    assert ledger.amount_refunded_minor == PRICE


def test_out_of_order_refund_webhook_never_lowers_the_refunded_amount() -> None:
    ledger = new_ledger(status=PaymentStatus.PAID, payment_intent_id=INTENT)
    apply_refunded_amount(ledger, INTENT, PRICE)
    apply_refunded_amount(ledger, INTENT, 2000)
    assert ledger.amount_refunded_minor == PRICE


def test_refund_webhook_for_another_payment_intent_is_ignored() -> None:
    ledger = new_ledger(status=PaymentStatus.PAID, payment_intent_id=INTENT)
    apply_refunded_amount(ledger, "pi_other", PRICE)
    assert ledger.amount_refunded_minor == 0


@given(
    initial=st.integers(min_value=0, max_value=PRICE),
    amounts=st.lists(st.integers(min_value=0, max_value=PRICE), max_size=20),
)
def test_refunded_amount_is_the_running_maximum_of_reported_amounts(initial: int, amounts: list[int]) -> None:
    ledger = new_ledger(status=PaymentStatus.PAID, payment_intent_id=INTENT, amount_refunded_minor=initial)
    seen = [initial]
    for amount in amounts:
        previous = ledger.amount_refunded_minor
        apply_refunded_amount(ledger, INTENT, amount)
        seen.append(amount)
        assert ledger.amount_refunded_minor >= previous
        assert ledger.amount_refunded_minor == max(seen)
