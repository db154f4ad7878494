"""README rules 2–6 as pure functions: when to charge, retry, auto-cancel, refund and refuse."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from domain.errors import RuleViolation
from domain.policy import (
    DEFAULT_POLICY,
    SessionPolicy,
    auto_cancel_at,
    cancellation_status,
    charge_due_after_move,
    charge_still_owed,
    check_can_change,
    classify_decline,
    first_charge_at,
    next_retry_at,
    refund_owed,
)
from domain.status import Actor, BookingKind, DeclineKind, SessionStatus

H = timedelta(hours=1)
SECOND = timedelta(seconds=1)
LONDON = ZoneInfo("Europe/London")
START = datetime(2027, 6, 15, 10, 0, tzinfo=UTC)


def before(start: datetime, delta: timedelta) -> datetime:
    """The instant ``delta`` of elapsed time before ``start``, in UTC."""
    return start.astimezone(UTC) - delta


def elapsed(later: datetime, earlier: datetime) -> timedelta:
    return later.astimezone(UTC) - earlier.astimezone(UTC)


# ----------------------------------------------------------------------------- first charge


def test_initial_session_paid_at_booking_has_no_charge_to_schedule() -> None:
    assert first_charge_at(BookingKind.INITIAL_PREPAID, START, before(START, 10 * 24 * H)) is None
    assert first_charge_at(BookingKind.INITIAL_PREPAID, START, before(START, 2 * H)) is None


def test_therapist_follow_up_booked_well_ahead_is_charged_48_hours_before_start() -> None:
    booked_at = before(START, 7 * 24 * H)
    assert first_charge_at(BookingKind.THERAPIST_FOLLOW_UP, START, booked_at) == before(START, 48 * H)


@pytest.mark.parametrize("notice", [48 * H, 48 * H - SECOND, 30 * H, 2 * H])
def test_therapist_follow_up_booked_inside_48_hours_is_charged_at_once(notice: timedelta) -> None:
    booked_at = before(START, notice)
    assert first_charge_at(BookingKind.THERAPIST_FOLLOW_UP, START, booked_at) == booked_at


@pytest.mark.parametrize("notice", [30 * 24 * H, 49 * H, 48 * H, 3 * H])
def test_client_follow_up_is_charged_at_booking(notice: timedelta) -> None:
    booked_at = before(START, notice)
    assert first_charge_at(BookingKind.CLIENT_FOLLOW_UP, START, booked_at) == booked_at


def test_therapist_follow_up_charge_across_dst_is_48_elapsed_hours_before_start() -> None:
    start = datetime(2027, 3, 29, 9, 0, tzinfo=LONDON)  # window contains the spring-forward change
    due = first_charge_at(BookingKind.THERAPIST_FOLLOW_UP, start, datetime(2027, 3, 1, tzinfo=UTC))
    assert due is not None
    assert elapsed(start, due) == 48 * H
    assert due.astimezone(LONDON).hour == 8  # not 09:00 two days earlier


aware_starts = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2080, 1, 1), timezones=st.timezones()
)
offsets_before_start = st.timedeltas(min_value=-2 * H, max_value=timedelta(days=20))


@given(start=aware_starts, booked_before=offsets_before_start)
def test_therapist_follow_up_charge_is_the_later_of_booking_and_start_minus_48h(
    start: datetime, booked_before: timedelta
) -> None:
    booked_at = before(start, booked_before)
    due = first_charge_at(BookingKind.THERAPIST_FOLLOW_UP, start, booked_at)
    assert due is not None
    assert due >= booked_at
    assert elapsed(start, due) <= 48 * H
    assert due in (booked_at, before(start, 48 * H))


# ---------------------------------------------------------------------------------- retries


@pytest.mark.parametrize(
    ("last_attempt_before", "next_before"),
    [
        pytest.param(48 * H, 24 * H, id="after-48h-attempt-retry-at-24h"),
        pytest.param(24 * H, 12 * H, id="after-24h-retry-at-12h"),
        pytest.param(12 * H, None, id="after-12h-no-retry-left"),
        pytest.param(30 * H, 24 * H, id="booked-at-30h-retry-at-24h"),
        pytest.param(20 * H, 12 * H, id="booked-at-20h-retry-at-12h"),
        pytest.param(10 * H, None, id="booked-at-10h-no-retry"),
        pytest.param(49 * H, 48 * H, id="before-the-scheduled-charge-next-is-48h"),
        pytest.param(24 * H + SECOND, 24 * H, id="one-second-before-a-slot-takes-it"),
        pytest.param(24 * H - SECOND, 12 * H, id="one-second-after-a-slot-skips-it"),
        pytest.param(H, None, id="at-auto-cancel"),
        pytest.param(-H, None, id="after-start"),
    ],
)
def test_soft_decline_retries_at_the_next_policy_slot(
    last_attempt_before: timedelta, next_before: timedelta | None
) -> None:
    expected = None if next_before is None else before(START, next_before)
    assert next_retry_at(START, before(START, last_attempt_before)) == expected


def test_retry_slots_follow_the_current_start_after_a_move() -> None:
    last_attempt = before(START, 48 * H)
    moved_start = START + 3 * 24 * H
    # After a move three days later, the next slot is the new start's −48 h, not the old −24 h.
    assert next_retry_at(moved_start, last_attempt) == before(moved_start, 48 * H)


def test_retry_across_dst_is_24_elapsed_hours_before_start() -> None:
    start = datetime(2027, 10, 31, 12, 0, tzinfo=LONDON)  # GMT; −24 h is in BST
    retry = next_retry_at(start, before(start, 48 * H))
    assert retry is not None
    assert elapsed(start, retry) == 24 * H
    assert retry.astimezone(LONDON).hour == 13


@settings(max_examples=300)
@given(start=aware_starts, last_before=st.timedeltas(min_value=-24 * H, max_value=timedelta(days=10)))
def test_retry_is_the_first_policy_slot_after_the_attempt_and_before_auto_cancel(
    start: datetime, last_before: timedelta
) -> None:
    last_attempt = before(start, last_before)
    slots = [before(start, offset) for offset in DEFAULT_POLICY.charge_attempt_offsets]
    cutoff = auto_cancel_at(start)
    candidates = [slot for slot in slots if last_attempt < slot < cutoff]

    retry = next_retry_at(start, last_attempt)

    if retry is None:
        assert candidates == []
        return
    assert retry > last_attempt
    assert retry < cutoff
    assert elapsed(start, retry) in DEFAULT_POLICY.charge_attempt_offsets
    assert retry == min(candidates)


def test_retries_never_reach_the_auto_cancel_time_with_a_custom_policy() -> None:
    policy = SessionPolicy(charge_attempt_offsets=(72 * H, 36 * H, 6 * H), auto_cancel_before=3 * H)
    assert next_retry_at(START, before(START, 72 * H), policy) == before(START, 36 * H)
    assert next_retry_at(START, before(START, 36 * H), policy) == before(START, 6 * H)
    assert next_retry_at(START, before(START, 6 * H), policy) is None
    assert next_retry_at(START, before(START, 5 * H), policy) is None


# ------------------------------------------------------------------------------ auto-cancel


def test_unpaid_session_is_auto_cancelled_one_hour_before_start() -> None:
    assert auto_cancel_at(START) == before(START, H)


def test_auto_cancel_respects_the_policy() -> None:
    assert auto_cancel_at(START, SessionPolicy(auto_cancel_before=2 * H)) == before(START, 2 * H)


def test_auto_cancel_on_the_spring_forward_night_is_one_elapsed_hour_before() -> None:
    # 02:30 BST on 28 March 2027 is 01:30 UTC; one hour earlier is 00:30 GMT (not "01:30",
    # a local time that does not exist that night).
    start = datetime(2027, 3, 28, 2, 30, tzinfo=LONDON)
    cancel_at = auto_cancel_at(start)
    assert elapsed(start, cancel_at) == H
    assert cancel_at == datetime(2027, 3, 28, 0, 30, tzinfo=UTC)


# -------------------------------------------------------------------------- charge after move

OLD_START = START
NEW_START = START + 7 * 24 * H
SCHEDULED_DUE = before(OLD_START, 48 * H)


@pytest.mark.parametrize("mover", [Actor.THERAPIST, Actor.ADMIN])
@pytest.mark.parametrize("notice", [5 * 24 * H, 10 * H], ids=["early", "late"])
def test_therapist_or_admin_move_charge_follows_the_new_start(mover: Actor, notice: timedelta) -> None:
    received_at = before(OLD_START, notice)
    due = charge_due_after_move(
        requested_by=mover,
        old_start=OLD_START,
        new_start=NEW_START,
        current_due=SCHEDULED_DUE if notice > 48 * H else received_at,
        received_at=received_at,
    )
    assert due == before(NEW_START, 48 * H)


def test_early_client_move_charge_follows_the_new_start() -> None:
    due = charge_due_after_move(
        requested_by=Actor.CLIENT,
        old_start=OLD_START,
        new_start=NEW_START,
        current_due=SCHEDULED_DUE,
        received_at=before(OLD_START, 72 * H),
    )
    assert due == before(NEW_START, 48 * H)


def test_early_move_to_an_earlier_start_brings_the_charge_forward() -> None:
    received_at = before(OLD_START, 6 * 24 * H)
    earlier_start = before(OLD_START, 3 * 24 * H)
    due = charge_due_after_move(
        requested_by=Actor.CLIENT,
        old_start=OLD_START,
        new_start=earlier_start,
        current_due=SCHEDULED_DUE,
        received_at=received_at,
    )
    assert due == before(earlier_start, 48 * H)


@pytest.mark.parametrize("mover", [Actor.CLIENT, Actor.THERAPIST, Actor.ADMIN])
def test_move_to_a_start_within_48_hours_is_charged_at_once(mover: Actor) -> None:
    received_at = before(OLD_START, 5 * 24 * H)
    soon = received_at + 30 * H
    due = charge_due_after_move(
        requested_by=mover,
        old_start=OLD_START,
        new_start=soon,
        current_due=SCHEDULED_DUE,
        received_at=received_at,
    )
    assert due == received_at


@pytest.mark.parametrize("notice", [48 * H, 47 * H, 2 * H], ids=["exactly-48h", "47h", "2h"])
def test_late_client_move_keeps_the_charge_that_was_due(notice: timedelta) -> None:
    received_at = before(OLD_START, notice)
    due = charge_due_after_move(
        requested_by=Actor.CLIENT,
        old_start=OLD_START,
        new_start=NEW_START,
        current_due=SCHEDULED_DUE,
        received_at=received_at,
    )
    assert due == SCHEDULED_DUE  # not NEW_START − 48 h


def test_client_move_one_second_before_the_deadline_is_early() -> None:
    received_at = before(OLD_START, 48 * H + SECOND)
    due = charge_due_after_move(
        requested_by=Actor.CLIENT,
        old_start=OLD_START,
        new_start=NEW_START,
        current_due=SCHEDULED_DUE,
        received_at=received_at,
    )
    assert due == before(NEW_START, 48 * H)


def test_late_client_move_charges_no_later_than_the_move_itself() -> None:
    received_at = before(OLD_START, 30 * H)
    future_due = before(OLD_START, 24 * H)
    due = charge_due_after_move(
        requested_by=Actor.CLIENT,
        old_start=OLD_START,
        new_start=NEW_START,
        current_due=future_due,
        received_at=received_at,
    )
    assert due == received_at


def test_a_declined_session_whose_retries_are_used_up_is_charged_again_after_a_move_out() -> None:
    last_attempt = before(OLD_START, 12 * H)
    due = charge_due_after_move(
        requested_by=Actor.THERAPIST,
        old_start=OLD_START,
        new_start=NEW_START,
        current_due=None,
        received_at=before(OLD_START, 10 * H),
        last_attempt_at=last_attempt,
    )
    assert due == NEW_START - 48 * H


def test_a_declined_session_moved_into_the_window_is_charged_at_once() -> None:
    received_at = before(OLD_START, 60 * H)
    due = charge_due_after_move(
        requested_by=Actor.THERAPIST,
        old_start=OLD_START,
        new_start=received_at + 5 * H,
        current_due=before(OLD_START, 24 * H),
        received_at=received_at,
        last_attempt_at=before(OLD_START, 48 * H) - H,
    )
    assert due == received_at


def test_a_late_client_move_with_no_charge_planned_charges_at_once() -> None:
    received_at = before(OLD_START, 10 * H)
    due = charge_due_after_move(
        requested_by=Actor.CLIENT,
        old_start=OLD_START,
        new_start=NEW_START,
        current_due=None,
        received_at=received_at,
        last_attempt_at=before(OLD_START, 12 * H),
    )
    assert due == received_at


@given(
    mover=st.sampled_from(list(Actor)),
    notice=st.timedeltas(min_value=timedelta(minutes=1), max_value=timedelta(days=10)),
    shift=st.timedeltas(min_value=-timedelta(days=5), max_value=timedelta(days=10)),
)
def test_charge_after_a_move_follows_the_new_start_unless_a_late_client_move_keeps_it(
    mover: Actor, notice: timedelta, shift: timedelta
) -> None:
    received_at = before(OLD_START, notice)
    new_start = max(OLD_START + shift, received_at + timedelta(minutes=1))
    current_due = max(SCHEDULED_DUE, received_at) if mover is not Actor.CLIENT else SCHEDULED_DUE
    due = charge_due_after_move(
        requested_by=mover,
        old_start=OLD_START,
        new_start=new_start,
        current_due=current_due,
        received_at=received_at,
    )
    assert due is not None
    late_client = mover is Actor.CLIENT and notice <= 48 * H
    if late_client:
        assert due == min(current_due, received_at)
    else:
        assert due == max(before(new_start, 48 * H), received_at)
        assert due >= received_at


# --------------------------------------------------------------------------------- declines


@pytest.mark.parametrize(
    ("code", "decline_code", "advice_code", "expected"),
    [
        ("authentication_required", None, None, DeclineKind.AUTHENTICATION_REQUIRED),
        ("card_declined", "authentication_required", None, DeclineKind.AUTHENTICATION_REQUIRED),
        ("card_declined", "insufficient_funds", None, DeclineKind.SOFT),
        ("card_declined", "insufficient_funds", "try_again_later", DeclineKind.SOFT),
        ("card_declined", "try_again_later", None, DeclineKind.SOFT),
        ("processing_error", None, None, DeclineKind.SOFT),
        ("card_declined", "processing_error", None, DeclineKind.SOFT),
        ("card_declined", "generic_decline", None, DeclineKind.SOFT),
        ("card_declined", "lost_card", None, DeclineKind.HARD),
        ("card_declined", "stolen_card", None, DeclineKind.HARD),
        ("expired_card", None, None, DeclineKind.HARD),
        ("card_declined", "expired_card", None, DeclineKind.HARD),
        ("card_declined", "generic_decline", "do_not_try_again", DeclineKind.HARD),
        ("card_declined", "insufficient_funds", "do_not_try_again", DeclineKind.HARD),
        (None, None, "do_not_try_again", DeclineKind.HARD),
    ],
)
def test_decline_codes_map_to_what_happens_next(
    code: str | None, decline_code: str | None, advice_code: str | None, expected: DeclineKind
) -> None:
    assert classify_decline(code, decline_code, advice_code) is expected


# ------------------------------------------------------------------------ cancellation money


@pytest.mark.parametrize(
    ("requested_by", "notice", "expected"),
    [
        (Actor.CLIENT, 48 * H + SECOND, SessionStatus.CANCELLED_FREE),
        (Actor.CLIENT, 48 * H, SessionStatus.CANCELLED_LATE),
        (Actor.CLIENT, 2 * H, SessionStatus.CANCELLED_LATE),
        (Actor.THERAPIST, 10 * 24 * H, SessionStatus.CANCELLED_BY_THERAPIST),
        (Actor.THERAPIST, 2 * H, SessionStatus.CANCELLED_BY_THERAPIST),
        (Actor.ADMIN, 2 * H, SessionStatus.CANCELLED_BY_THERAPIST),
        (Actor.ADMIN, 10 * 24 * H, SessionStatus.CANCELLED_BY_THERAPIST),
    ],
)
def test_cancellation_status_depends_on_who_and_when(
    requested_by: Actor, notice: timedelta, expected: SessionStatus
) -> None:
    assert cancellation_status(requested_by, START, before(START, notice)) is expected


FULL_REFUND_STATUSES = {
    SessionStatus.CANCELLED_FREE,
    SessionStatus.CANCELLED_BY_THERAPIST,
    SessionStatus.CANCELLED_UNPAID,
}


@pytest.mark.parametrize("status", list(SessionStatus))
@pytest.mark.parametrize("discretionary", [False, True])
def test_refund_is_all_or_nothing_by_status(status: SessionStatus, discretionary: bool) -> None:
    full = status in FULL_REFUND_STATUSES or (status is SessionStatus.CANCELLED_LATE and discretionary)
    assert refund_owed(status, discretionary, 6000) == (6000 if full else 0)
    assert refund_owed(status, discretionary, 0) == 0


def test_late_cancellation_keeps_the_payment_unless_the_therapist_refunds_it() -> None:
    assert refund_owed(SessionStatus.CANCELLED_LATE, False, 6000) == 0
    assert refund_owed(SessionStatus.CANCELLED_LATE, True, 6000) == 6000


@pytest.mark.parametrize("status", list(SessionStatus))
@pytest.mark.parametrize("discretionary", [False, True])
def test_charge_is_still_owed_only_for_live_sessions_and_unwaived_late_cancellations(
    status: SessionStatus, discretionary: bool
) -> None:
    if status is SessionStatus.CANCELLED_LATE:
        expected = not discretionary
    else:
        expected = status not in FULL_REFUND_STATUSES
    assert charge_still_owed(status, discretionary) is expected


# ------------------------------------------------------------------------ changes are refused

CANCELLED = [s for s in SessionStatus if s.is_cancelled]


def test_cancelled_vocabulary_is_the_four_cancellation_statuses() -> None:
    assert set(CANCELLED) == {*FULL_REFUND_STATUSES, SessionStatus.CANCELLED_LATE}


@pytest.mark.parametrize("status", CANCELLED)
def test_cancelled_session_cannot_be_changed(status: SessionStatus) -> None:
    with pytest.raises(RuleViolation) as refused:
        check_can_change(status, START, before(START, 10 * 24 * H), "reschedule")
    assert refused.value.code == "session_cancelled"
    assert "reschedule" in refused.value.message


@pytest.mark.parametrize("after_start", [timedelta(0), SECOND, 2 * H], ids=["at-start", "1s", "2h"])
def test_session_cannot_be_changed_once_started(after_start: timedelta) -> None:
    with pytest.raises(RuleViolation) as refused:
        check_can_change(SessionStatus.PAID, START, START + after_start, "cancel")
    assert refused.value.code == "session_started"
    assert "cancel" in refused.value.message


@pytest.mark.parametrize("status", [s for s in SessionStatus if not s.is_cancelled])
def test_live_session_can_be_changed_until_the_last_microsecond(status: SessionStatus) -> None:
    check_can_change(status, START, START - timedelta(microseconds=1), "cancel")


def test_started_check_uses_elapsed_time_in_the_repeated_hour() -> None:
    # Starts 01:45 BST (00:45 UTC); "now" is 01:30 GMT (01:30 UTC), 45 minutes after the start
    # although its wall clock reads earlier.
    start = datetime(2027, 10, 31, 1, 45, tzinfo=LONDON, fold=0)
    now = datetime(2027, 10, 31, 1, 30, tzinfo=LONDON, fold=1)
    with pytest.raises(RuleViolation) as refused:
        check_can_change(SessionStatus.PAID, start, now, "cancel")
    assert refused.value.code == "session_started"


def test_rule_violation_is_a_value_error_with_a_code() -> None:
    violation = RuleViolation("session_started", "the session has started")
    assert isinstance(violation, ValueError)
    assert str(violation) == "the session has started"


# ------------------------------------------------------------------------------- naive times


@pytest.mark.parametrize(
    "call",
    [
        lambda naive: first_charge_at(BookingKind.THERAPIST_FOLLOW_UP, naive, START),
        lambda naive: first_charge_at(BookingKind.CLIENT_FOLLOW_UP, START, naive),
        lambda naive: next_retry_at(naive, START),
        lambda naive: next_retry_at(START, naive),
        lambda naive: auto_cancel_at(naive),
        lambda naive: check_can_change(SessionStatus.PAID, naive, START, "cancel"),
        lambda naive: check_can_change(SessionStatus.PAID, START, naive, "cancel"),
        lambda naive: cancellation_status(Actor.CLIENT, START, naive),
    ],
)
def test_schedule_functions_refuse_naive_datetimes(call: Callable[[datetime], object]) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        call(datetime(2027, 6, 10, 10, 0))


# ------------------------------------------------------------------------------------ policy


def test_default_policy_is_the_designed_one() -> None:
    assert DEFAULT_POLICY.free_cancellation_notice == 48 * H
    assert DEFAULT_POLICY.charge_attempt_offsets == (48 * H, 24 * H, 12 * H)
    assert DEFAULT_POLICY.auto_cancel_before == H


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"charge_attempt_offsets": (48 * H, 48 * H, 12 * H)}, "strictly decreasing"),
        ({"charge_attempt_offsets": (12 * H, 24 * H, 48 * H)}, "strictly decreasing"),
        ({"charge_attempt_offsets": (48 * H, 12 * H, 24 * H)}, "strictly decreasing"),
        ({"charge_attempt_offsets": ()}, "at least the scheduled charge"),
        ({"charge_attempt_offsets": (48 * H, H)}, "before the auto-cancel time"),
        ({"charge_attempt_offsets": (48 * H, 2 * H), "auto_cancel_before": 3 * H}, "before the auto-cancel"),
        ({"min_duration": 3 * H, "max_duration": 2 * H}, "min_duration"),
        ({"free_cancellation_notice": timedelta(0)}, "greater than"),
        ({"auto_cancel_before": -H}, "greater than"),
    ],
)
def test_inconsistent_policy_is_refused(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        SessionPolicy.model_validate(fields)


def test_policy_is_frozen_and_round_trips_through_json() -> None:
    policy = SessionPolicy(charge_attempt_offsets=(72 * H, 36 * H, 6 * H), auto_cancel_before=3 * H)
    with pytest.raises(ValidationError):
        policy.auto_cancel_before = 2 * H  # type: ignore[misc]
    assert SessionPolicy.model_validate_json(policy.model_dump_json()) == policy


def test_custom_policy_values_drive_every_rule() -> None:
    policy = SessionPolicy(
        free_cancellation_notice=24 * H,
        charge_attempt_offsets=(72 * H, 36 * H, 6 * H),
        auto_cancel_before=3 * H,
    )
    far = before(START, 10 * 24 * H)
    assert first_charge_at(BookingKind.THERAPIST_FOLLOW_UP, START, far, policy) == before(START, 72 * H)
    assert next_retry_at(START, before(START, 72 * H), policy) == before(START, 36 * H)
    assert auto_cancel_at(START, policy) == before(START, 3 * H)
    assert cancellation_status(Actor.CLIENT, START, before(START, 30 * H), policy) is (
        SessionStatus.CANCELLED_FREE
    )
    assert cancellation_status(Actor.CLIENT, START, before(START, 24 * H), policy) is (
        SessionStatus.CANCELLED_LATE
    )
    # A client move with 30 hours' notice is early under a 24-hour notice period.
    due = charge_due_after_move(
        requested_by=Actor.CLIENT,
        old_start=START,
        new_start=NEW_START,
        current_due=before(START, 72 * H),
        received_at=before(START, 30 * H),
        policy=policy,
    )
    assert due == before(NEW_START, 72 * H)


def _zones_sample() -> list[tzinfo]:
    return [UTC, LONDON, ZoneInfo("America/Los_Angeles"), ZoneInfo("Asia/Kathmandu")]


@pytest.mark.parametrize("zone", _zones_sample(), ids=str)
def test_schedule_does_not_depend_on_the_zone_the_start_is_written_in(zone: tzinfo) -> None:
    start = START.astimezone(zone)
    booked = before(START, 10 * 24 * H).astimezone(zone)
    assert first_charge_at(BookingKind.THERAPIST_FOLLOW_UP, start, booked) == before(START, 48 * H)
    assert next_retry_at(start, before(START, 48 * H).astimezone(zone)) == before(START, 24 * H)
    assert auto_cancel_at(start) == before(START, H)
