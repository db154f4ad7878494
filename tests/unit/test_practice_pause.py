"""A paused therapist (issue 14 §2): the practice's connected account and its charge status as
pure transitions. While Stripe has disabled charges the practice takes no booking."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from contract.search_attributes import PAYMENT_ACCOUNT_ID
from contract.visibility import held_sessions_query, practices_by_account_query
from domain.errors import RuleViolation
from domain.notification_catalogue import event_schema
from domain.notifications import NotificationType
from domain.practice import (
    AccountChange,
    PracticeState,
    RecordAccountStatus,
    RegisterClient,
    SetPaymentAccount,
    new_practice_state,
    payment_account_view,
    record_account_status,
    register_client,
    set_payment_account,
)
from domain.practice_notices import payments_paused_notifications
from temporal_client.practice_client import practice_search_attributes

NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
START = NOW + timedelta(days=5)


def _practice(account: str | None = "acct_1") -> PracticeState:
    state = new_practice_state("thr_1", "Europe/London")
    if account is not None:
        set_payment_account(state, SetPaymentAccount(account_id=account), NOW)
    return state


def _status(enabled: bool, at: datetime, account: str = "acct_1") -> RecordAccountStatus:
    return RecordAccountStatus(
        account_id=account,
        charges_enabled=enabled,
        disabled_reason=None if enabled else "requirements.past_due",
        observed_at=at,
    )


def _booking(session_id: str = "ses_1") -> RegisterClient:
    return RegisterClient(
        client_id="cli_1", session_id=session_id, start=START, end=START + timedelta(minutes=50)
    )


def test_a_booking_carries_the_practices_payment_account() -> None:
    state = _practice()
    assert register_client(state, _booking(), NOW).payment_account_id == "acct_1"


def test_a_practice_without_an_account_books_on_the_platform_as_before() -> None:
    state = _practice(account=None)
    assert register_client(state, _booking(), NOW).payment_account_id is None
    assert payment_account_view(state).account_id is None


def test_a_paused_practice_refuses_a_new_booking_with_therapist_paused() -> None:
    state = _practice()
    recorded = record_account_status(state, _status(False, NOW), NOW)
    assert recorded.change is AccountChange.PAUSED and recorded.paused
    with pytest.raises(RuleViolation) as refused:
        register_client(state, _booking(), NOW)
    assert refused.value.code == "therapist_paused"
    assert "ses_1" not in state.claims  # nothing recorded by a refused booking


def test_charges_enabled_again_resumes_the_practice_and_bookings() -> None:
    state = _practice()
    record_account_status(state, _status(False, NOW), NOW)
    resumed = record_account_status(state, _status(True, NOW + timedelta(hours=1)), NOW + timedelta(hours=1))
    assert resumed.change is AccountChange.RESUMED and not resumed.paused
    assert register_client(state, _booking(), NOW).payment_account_id == "acct_1"


def test_an_older_read_of_the_account_cannot_undo_a_newer_one() -> None:
    state = _practice()
    record_account_status(state, _status(True, NOW + timedelta(minutes=5)), NOW)
    stale = record_account_status(state, _status(False, NOW), NOW + timedelta(minutes=6))
    assert not stale.applies and not stale.paused and stale.change is None
    assert not state.paused


def test_a_status_of_another_account_changes_nothing() -> None:
    state = _practice()
    other = record_account_status(state, _status(False, NOW, account="acct_old"), NOW)
    assert not other.applies and not state.paused


def test_the_same_status_again_pauses_once() -> None:
    state = _practice()
    first = record_account_status(state, _status(False, NOW), NOW)
    again = record_account_status(
        state, _status(False, NOW + timedelta(minutes=1)), NOW + timedelta(minutes=1)
    )
    assert first.change is AccountChange.PAUSED and again.change is None and again.applies
    assert payment_account_view(state).paused_since == NOW


def test_setting_another_account_starts_it_unpaused_and_the_same_one_keeps_its_status() -> None:
    state = _practice()
    record_account_status(state, _status(False, NOW), NOW)
    same = set_payment_account(state, SetPaymentAccount(account_id="acct_1"), NOW)
    assert not same.changed and same.paused
    other = set_payment_account(state, SetPaymentAccount(account_id="acct_2"), NOW)
    assert other.changed and not other.paused and other.previous_account_id == "acct_1"
    assert not state.paused


def test_the_therapist_is_told_of_a_pause_once_with_the_reason_code_only() -> None:
    state = _practice()
    paused = record_account_status(state, _status(False, NOW), NOW)
    [notice] = payments_paused_notifications("thr_1", paused, NOW)
    assert notice.audience.value == "therapist"
    assert notice.codes == {"disabled_reason": "requirements.past_due"}
    again = record_account_status(state, _status(False, NOW + timedelta(minutes=1)), NOW)
    assert payments_paused_notifications("thr_1", again, NOW) == []
    resumed = record_account_status(state, _status(True, NOW + timedelta(minutes=2)), NOW)
    assert payments_paused_notifications("thr_1", resumed, NOW) == []
    repaused = record_account_status(state, _status(False, NOW + timedelta(minutes=3)), NOW)
    [second] = payments_paused_notifications("thr_1", repaused, NOW)
    assert second.event_id != notice.event_id


def test_the_account_survives_continue_as_new() -> None:
    state = _practice()
    record_account_status(state, _status(False, NOW), NOW)
    carried = PracticeState.model_validate_json(state.model_dump_json())
    assert carried.paused and carried.payment_account_id == "acct_1"


def test_the_pause_notice_matches_its_types_schema() -> None:

    state = _practice()
    [notice] = payments_paused_notifications(
        "thr_1", record_account_status(state, _status(False, NOW), NOW), NOW
    )
    schema = event_schema(NotificationType.PAYMENTS_PAUSED)
    Draft202012Validator(schema, format_checker=FormatChecker()).validate(notice.model_dump(mode="json"))


def test_the_practice_is_found_by_its_account_and_only_an_account_id_is_quoted_into_the_query() -> None:
    assert practices_by_account_query("acct_1A2b") == (
        "WorkflowType = 'PracticeWorkflow' AND ExecutionStatus = 'Running' AND PaymentAccountId = 'acct_1A2b'"
    )
    with pytest.raises(ValueError):
        practices_by_account_query("acct_1' OR TherapistId != '")
    assert "SessionStatus = 'payment_on_hold'" in held_sessions_query("thr_1")
    assert "TherapistId = 'thr_1'" in held_sessions_query("thr_1")


def test_a_restored_practice_starts_findable_by_its_account() -> None:
    assert practice_search_attributes(_practice()).get(PAYMENT_ACCOUNT_ID) == "acct_1"
    assert practice_search_attributes(_practice(account=None)).get(PAYMENT_ACCOUNT_ID) is None
