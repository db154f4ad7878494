"""The attendance update's rules (README rules 7, 8, 10) as a pure function."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from domain.attendance import AttendanceOutcome, AttendanceUpdate, ContinueChoice, check_attendance_update
from domain.errors import RuleViolation
from domain.ids import follow_up_session_id, is_opaque_id
from domain.status import Actor, SessionStatus

START = datetime(2027, 3, 25, 18, 0, tzinfo=UTC)
AFTER = START + timedelta(hours=2)
NEXT_WEEK = START + timedelta(days=7)


def check(update: AttendanceUpdate, **overrides: Any) -> None:
    fields: dict[str, Any] = {
        "session_start": START,
        "now": AFTER,
        "status": SessionStatus.AWAITING_UPDATE,
        "already_filed": False,
        "has_saved_card": True,
        "follow_up_start": NEXT_WEEK if update.rebooks else None,
    }
    fields.update(overrides)
    check_attendance_update(update, **fields)


def refusal(update: AttendanceUpdate, **overrides: Any) -> str:
    with pytest.raises(RuleViolation) as refused:
        check(update, **overrides)
    return refused.value.code


ATTENDED = AttendanceUpdate(outcome=AttendanceOutcome.ATTENDED)
REBOOK = AttendanceUpdate(
    outcome=AttendanceOutcome.ATTENDED, continue_sessions=ContinueChoice.SAME_TIME, client_agreed=True
)


def test_a_plain_update_after_the_session_is_accepted() -> None:
    check(ATTENDED)
    check(REBOOK)
    check(REBOOK.model_copy(update={"reserve_slot": True}))
    check(ATTENDED.model_copy(update={"reserve_slot": True}))  # keep the slot without rebooking


def test_the_update_opens_at_the_start_never_before() -> None:
    check(AttendanceUpdate(outcome=AttendanceOutcome.CLIENT_NO_SHOW), now=START, status=SessionStatus.PAID)
    assert (
        refusal(ATTENDED, now=START - timedelta(seconds=1), status=SessionStatus.PAID)
        == "session_not_started"
    )


def test_a_rebooking_needs_the_clients_explicit_agreement() -> None:
    with pytest.raises(RuleViolation) as refused:
        check(REBOOK.model_copy(update={"client_agreed": False}))
    assert refused.value.code == "consent_required"
    assert "explicitly agreed" in refused.value.message


SAME_TIME = {"outcome": "attended", "continue_sessions": "same_time", "client_agreed": True}
ENDING = {"outcome": "attended", "end_relationship": True, "end_reason": "other"}


@pytest.mark.parametrize(
    ("data", "field", "code"),
    [
        (
            {"outcome": "attended", "continue_sessions": "different_time", "client_agreed": True},
            "new_start",
            "new_start_required",
        ),
        ({**SAME_TIME, "new_start": NEXT_WEEK.isoformat()}, "new_start", "new_start_not_allowed"),
        ({"outcome": "attended", "new_start": NEXT_WEEK.isoformat()}, "new_start", "new_start_not_allowed"),
        ({"outcome": "attended", "end_relationship": True}, "end_reason", "end_reason_required"),
        ({**SAME_TIME, **ENDING}, "end_relationship", "contradictory_update"),
        ({**ENDING, "reserve_slot": True}, "end_relationship", "contradictory_update"),
        (
            {"outcome": "attended", "cancel_future_sessions": True},
            "cancel_future_sessions",
            "contradictory_update",
        ),
    ],
)
def test_a_malformed_or_contradictory_update_is_refused_by_the_model_on_its_field(
    data: dict[str, Any], field: str, code: str
) -> None:
    # Shape depends on the update alone: refused as it is parsed (the API's 422, with the field),
    # before any rule about the session's state is consulted.
    with pytest.raises(ValidationError) as refused:
        AttendanceUpdate.model_validate(data)
    [error] = refused.value.errors()
    assert (error["loc"], error["type"]) == ((field,), code)


def test_well_formed_updates_parse() -> None:
    AttendanceUpdate.model_validate({**ENDING, "cancel_future_sessions": True})
    AttendanceUpdate.model_validate(
        {
            "outcome": "attended",
            "continue_sessions": "different_time",
            "client_agreed": True,
            "new_start": NEXT_WEEK.isoformat(),
            "reserve_slot": True,
        }
    )


def test_a_client_cannot_file_the_update() -> None:
    assert refusal(ATTENDED.model_copy(update={"submitted_by": Actor.CLIENT})) == "not_allowed"


@pytest.mark.parametrize("status", [SessionStatus.SCHEDULED, SessionStatus.PAYMENT_DUE, SessionStatus.PAID])
def test_filing_before_the_start_says_not_started_whatever_the_payment(status: SessionStatus) -> None:
    assert refusal(ATTENDED, now=START - timedelta(hours=1), status=status) == "session_not_started"


def test_a_follow_up_must_land_in_the_future_and_within_the_horizon() -> None:
    late = AFTER + timedelta(days=9)
    assert refusal(REBOOK, now=late, follow_up_start=NEXT_WEEK) == "start_in_past"
    assert refusal(REBOOK, follow_up_start=AFTER + timedelta(days=400)) == "start_too_far"


def test_state_refusals() -> None:
    assert refusal(ATTENDED, already_filed=True) == "already_filed"
    assert refusal(ATTENDED, status=SessionStatus.CANCELLED_LATE) == "session_cancelled"
    assert refusal(ATTENDED, status=SessionStatus.PAYMENT_DUE) == "payment_pending"
    assert refusal(REBOOK, has_saved_card=False) == "no_saved_card"


def test_follow_up_ids_are_derived_opaque_and_distinct() -> None:
    first = follow_up_session_id("ses_1")
    assert first == follow_up_session_id("ses_1") and is_opaque_id(first)
    assert follow_up_session_id(first) != first and follow_up_session_id("ses_2") != first
