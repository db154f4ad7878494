"""The practice's claims of one-off times, as pure rules (``domain.time_claims``, ``domain.practice``)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from domain import session as machine
from domain import session_commands as commands
from domain import session_time
from domain.commands import RescheduleRequest
from domain.errors import RuleViolation
from domain.practice import (
    ClaimTime,
    PracticeState,
    RegisterClient,
    ReleaseTime,
    ReserveSlot,
    SetPaymentAccount,
    claim_time,
    new_practice_state,
    register_client,
    release_time,
    reserve_slot,
    set_payment_account,
)
from domain.session import Session
from domain.slots import WeeklySlotRule
from domain.status import Actor, BookingKind
from tests.unit.session_sim import open_session

NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
MONDAY_6PM = datetime(2027, 3, 8, 18, 0, tzinfo=UTC)  # London is on GMT until 28 March
FIFTY = timedelta(minutes=50)
MONDAY_6PM_WEEKLY = WeeklySlotRule(weekday=0, local_time=time(18, 0), duration_minutes=50)


def practice() -> PracticeState:
    return new_practice_state("thr_1", "Europe/London")


def claim(session_id: str, client_id: str, start: datetime, **fields: object) -> ClaimTime:
    return ClaimTime(session_id=session_id, client_id=client_id, start=start, end=start + FIFTY, **fields)


def slot(n: int) -> str:
    return f"slot_{n:x}"


def test_a_booked_one_off_time_refuses_another_clients_weekly_slot_over_it() -> None:
    state = practice()
    register_client(
        state,
        RegisterClient(client_id="cli_a", start=MONDAY_6PM, end=MONDAY_6PM + FIFTY, session_id="ses_a"),
        NOW,
    )

    with pytest.raises(RuleViolation) as refused:
        reserve_slot(state, ReserveSlot(client_id="cli_b", rule=MONDAY_6PM_WEEKLY), NOW, slot_id=slot(1))
    mine = reserve_slot(state, ReserveSlot(client_id="cli_a", rule=MONDAY_6PM_WEEKLY), NOW, slot_id=slot(2))

    assert refused.value.code == "time_taken" and "ses_a" in refused.value.message
    assert mine.slot_id == slot(2)  # the client's own session never conflicts with their own slot


def test_overlapping_claims_of_other_sessions_are_refused_and_adjacent_ones_are_not() -> None:
    state = practice()
    claim_time(state, claim("ses_a", "cli_a", MONDAY_6PM), NOW, slot_id=slot(1))

    for other_client in ("cli_a", "cli_b"):  # one therapist, one session at a time, for anyone
        with pytest.raises(RuleViolation) as refused:
            claim_time(
                state,
                claim("ses_b", other_client, MONDAY_6PM + FIFTY - timedelta(minutes=1)),
                NOW,
                slot_id=slot(2),
            )
        assert refused.value.code == "time_taken"
    claim_time(state, claim("ses_b", "cli_b", MONDAY_6PM + FIFTY), NOW, slot_id=slot(3))

    assert sorted(state.claims) == ["ses_a", "ses_b"]


def test_claiming_again_moves_the_sessions_time_and_releasing_frees_it() -> None:
    state = practice()
    claim_time(state, claim("ses_a", "cli_a", MONDAY_6PM), NOW, slot_id=slot(1))

    claim_time(state, claim("ses_a", "cli_a", MONDAY_6PM + timedelta(minutes=30)), NOW, slot_id=slot(2))
    claim_time(state, claim("ses_b", "cli_b", MONDAY_6PM - timedelta(minutes=20)), NOW, slot_id=slot(3))
    released = release_time(state, ReleaseTime(session_id="ses_a"), NOW)
    again = release_time(state, ReleaseTime(session_id="ses_a"), NOW)
    claim_time(state, claim("ses_c", "cli_c", MONDAY_6PM + timedelta(minutes=30)), NOW, slot_id=slot(4))

    assert released.released and not again.released
    assert sorted(state.claims) == ["ses_b", "ses_c"]


def test_a_claim_with_a_reservation_is_granted_whole_or_not_at_all() -> None:
    state = practice()
    # Another client's session two weeks on (still GMT) falls on the weekly time asked for.
    claim_time(state, claim("ses_other", "cli_b", MONDAY_6PM + timedelta(days=14)), NOW, slot_id=slot(1))

    with pytest.raises(RuleViolation) as refused:
        claim_time(
            state, claim("ses_a", "cli_a", MONDAY_6PM, reserve=MONDAY_6PM_WEEKLY), NOW, slot_id=slot(2)
        )
    granted = claim_time(
        state,
        claim(
            "ses_a",
            "cli_a",
            MONDAY_6PM + timedelta(hours=1),
            reserve=MONDAY_6PM_WEEKLY.model_copy(update={"local_time": time(19, 0)}),
        ),
        NOW,
        slot_id=slot(3),
    )

    assert refused.value.code == "time_taken"
    assert granted.reserved is not None and granted.reserved.slot_id == slot(3)
    assert sorted(state.claims) == ["ses_a", "ses_other"]
    assert [held.slot_id for held in state.slots.values() if held.active] == [slot(3)]


def test_another_clients_reserved_slot_refuses_a_claim_but_its_owner_may_claim_it() -> None:
    state = practice()
    reserve_slot(state, ReserveSlot(client_id="cli_a", rule=MONDAY_6PM_WEEKLY), NOW, slot_id=slot(1))

    with pytest.raises(RuleViolation) as refused:
        claim_time(state, claim("ses_b", "cli_b", MONDAY_6PM + timedelta(days=7)), NOW, slot_id=slot(2))
    claim_time(state, claim("ses_a", "cli_a", MONDAY_6PM + timedelta(days=7)), NOW, slot_id=slot(3))

    assert refused.value.code == "slot_conflict"
    assert list(state.claims) == ["ses_a"]


def test_a_claim_lapses_when_its_session_has_ended() -> None:
    state = practice()
    claim_time(state, claim("ses_a", "cli_a", MONDAY_6PM), NOW, slot_id=slot(1))
    after_it = MONDAY_6PM + FIFTY

    # A weekly slot over the past session is no longer refused, and the next claim forgets it.
    reserve_slot(state, ReserveSlot(client_id="cli_b", rule=MONDAY_6PM_WEEKLY), after_it, slot_id=slot(2))
    claim_time(state, claim("ses_b", "cli_b", MONDAY_6PM + timedelta(days=7)), after_it, slot_id=slot(3))

    assert list(state.claims) == ["ses_b"]


def test_state_carried_from_a_run_before_claims_loads_with_none() -> None:
    carried = practice().model_dump(mode="json")
    del carried["claims"]

    assert PracticeState.model_validate(carried).claims == {}


# --------------------------------------------------------------------------------- the session's side


def a_session() -> Session:
    return open_session(BookingKind.THERAPIST_FOLLOW_UP, MONDAY_6PM + timedelta(days=7), NOW)


def test_a_released_session_never_claims_again() -> None:
    """A claim sent before the session was cancelled and answered after its release must not hold
    the time for a session that will never take place."""
    state = practice()
    claim_time(state, claim("ses_a", "cli_a", MONDAY_6PM), NOW, slot_id=slot(1))
    release_time(state, ReleaseTime(session_id="ses_a"), NOW)

    with pytest.raises(RuleViolation) as late_claim:
        claim_time(state, claim("ses_a", "cli_a", MONDAY_6PM + timedelta(hours=2)), NOW, slot_id=slot(2))
    with pytest.raises(RuleViolation) as late_booking:
        register_client(
            state,
            RegisterClient(client_id="cli_a", start=MONDAY_6PM, end=MONDAY_6PM + FIFTY, session_id="ses_a"),
            NOW,
        )
    # Long after any claim could still be in flight, the record of the release is dropped.
    release_time(state, ReleaseTime(session_id="ses_other"), NOW + timedelta(hours=49))

    assert late_claim.value.code == late_booking.value.code == "session_released"
    assert state.claims == {}
    assert list(state.released_sessions) == ["ses_other"]


def test_a_second_move_is_refused_while_the_first_claims_its_time() -> None:
    session = a_session()
    move = RescheduleRequest(requested_by=Actor.THERAPIST, new_start=session.start + timedelta(days=1))
    commands.check_reschedule(session, move, NOW)

    session.moving = True
    with pytest.raises(RuleViolation) as refused:
        commands.check_reschedule(session, move, NOW)

    assert refused.value.code == "move_in_progress"


def test_each_follow_up_claim_is_its_own_request() -> None:
    """A filing abandoned after an unanswered claim, filed again for another time, must not be
    answered with the first claim's outcome (the practice dedupes by request id)."""
    session = a_session()
    first = session_time.follow_up_claim_call(session, MONDAY_6PM, None, machine.next_claim_number(session))
    again = session_time.follow_up_claim_call(
        session, MONDAY_6PM + timedelta(hours=1), None, machine.next_claim_number(session)
    )

    assert first.request_id != again.request_id
    assert first.command.session_id == again.command.session_id


def test_a_refused_move_whose_restore_went_unanswered_is_restored_by_the_main_loop() -> None:
    session = a_session()
    session.payment.next_charge_at = None  # nothing else waits: the restore comes first anyway

    machine.restore_later(session)
    planned = machine.next_step(session)
    machine.time_restored(session)

    assert planned == machine.NextStep(machine.Step.RESTORE_TIME, None)
    assert machine.next_step(session) != planned


def test_a_claimed_time_answers_with_the_practices_current_account() -> None:
    # A therapist's follow-up is booked on the account the practice holds now (review 14, #3).
    state = practice()
    assert (
        claim_time(state, claim("ses_a", "cli_a", MONDAY_6PM), NOW, slot_id=slot(1)).payment_account_id
        is None
    )
    set_payment_account(state, SetPaymentAccount(account_id="acct_2"), NOW)
    later = claim("ses_b", "cli_a", MONDAY_6PM + timedelta(days=7))
    assert claim_time(state, later, NOW, slot_id=slot(2)).payment_account_id == "acct_2"
