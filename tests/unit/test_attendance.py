"""The attendance update's rules (DESIGN rules 7, 8, 10) as a pure function."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from domain.attendance import AttendanceOutcome, AttendanceUpdate, ContinueChoice, check_attendance_update
from domain.errors import RuleViolation
from domain.ids import follow_up_session_id, is_opaque_id
from domain.practice import EndReason
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


@pytest.mark.parametrize(
    ("update", "code"),
    [
        (
            REBOOK.model_copy(update={"end_relationship": True, "end_reason": EndReason.OTHER}),
            "contradictory_update",
        ),
        (
            ATTENDED.model_copy(
                update={"reserve_slot": True, "end_relationship": True, "end_reason": EndReason.OTHER}
            ),
            "contradictory_update",
        ),
        (ATTENDED.model_copy(update={"end_relationship": True}), "end_reason_required"),
        (ATTENDED.model_copy(update={"cancel_future_sessions": True}), "contradictory_update"),
        (
            REBOOK.model_copy(update={"continue_sessions": ContinueChoice.DIFFERENT_TIME}),
            "new_start_required",
        ),
        (REBOOK.model_copy(update={"new_start": NEXT_WEEK}), "new_start_not_allowed"),
        (ATTENDED.model_copy(update={"submitted_by": Actor.CLIENT}), "not_allowed"),
    ],
)
def test_contradictions_are_refused(update: AttendanceUpdate, code: str) -> None:
    assert refusal(update) == code


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
