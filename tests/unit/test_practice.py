"""A therapist's practice: relationships and reserved slots as pure transitions (README rules 9, 10)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from pydantic import ValidationError

from contract.ids import practice_workflow_id
from domain.errors import RuleViolation
from domain.practice import (
    MAX_RELEASED_SLOTS,
    BookingTimeQuery,
    ClientRegistered,
    ClientsQuery,
    EndReason,
    EndRelationship,
    OccurrencesQuery,
    PracticeState,
    PracticeWorkflowInput,
    RegisterClient,
    RelationshipStatus,
    ReleaseSlots,
    ReserveSlot,
    RestartRelationship,
    SlotReserved,
    check_booking_time,
    check_reserve_slot,
    end_relationship,
    list_clients,
    new_practice_state,
    recorded_outcome,
    register_client,
    release_slots,
    remember_outcome,
    reserve_slot,
    restart_relationship,
    slot_id_from_hex,
    slot_occurrences,
)
from domain.slots import WeeklySlotRule

NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=7)
TUESDAY_6PM = WeeklySlotRule(weekday=1, local_time=time(18, 0), duration_minutes=50)
TUESDAY_6_30PM = WeeklySlotRule(weekday=1, local_time=time(18, 30), duration_minutes=50)
TUESDAY_7PM = WeeklySlotRule(weekday=1, local_time=time(19, 0), duration_minutes=50)
MONDAY_9AM = WeeklySlotRule(weekday=0, local_time=time(9, 0), duration_minutes=50)


class SlotIds:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> str:
        self.count += 1
        return slot_id_from_hex(f"{self.count:032x}")


@pytest.fixture
def state() -> PracticeState:
    return new_practice_state("thr_1", "Europe/London")


@pytest.fixture
def ids() -> SlotIds:
    return SlotIds()


def reserve(
    state: PracticeState, ids: SlotIds, client_id: str, rule: WeeklySlotRule, now: datetime = NOW
) -> SlotReserved:
    return reserve_slot(state, ReserveSlot(client_id=client_id, rule=rule), now, slot_id=ids())


def clients(state: PracticeState, include_inactive: bool = False) -> list[str]:
    return [
        relationship.client_id
        for relationship in list_clients(state, ClientsQuery(include_inactive=include_inactive)).clients
    ]


# ----------------------------------------------------------------------------- relationships


def test_registering_a_client_is_idempotent(state: PracticeState) -> None:
    first = register_client(state, RegisterClient(client_id="cli_a"), NOW)
    again = register_client(state, RegisterClient(client_id="cli_a"), LATER)

    assert first == again == ClientRegistered(client_id="cli_a", status=RelationshipStatus.ACTIVE)
    relationship = state.relationships["cli_a"]
    assert relationship.since == NOW
    assert [event.kind for event in relationship.history] == ["registered"]


def test_ending_hides_the_client_keeps_history_and_restart_brings_it_back(state: PracticeState) -> None:
    register_client(state, RegisterClient(client_id="cli_a"), NOW)
    register_client(state, RegisterClient(client_id="cli_b"), NOW)

    ended = end_relationship(
        state, EndRelationship(client_id="cli_a", reason=EndReason.TREATMENT_COMPLETE), LATER
    )

    assert not ended.already_ended
    assert clients(state) == ["cli_b"]
    assert clients(state, include_inactive=True) == ["cli_a", "cli_b"]
    relationship = state.relationships["cli_a"]
    assert relationship.status is RelationshipStatus.ENDED
    assert relationship.ended_at == LATER
    assert relationship.end_reason is EndReason.TREATMENT_COMPLETE

    again = end_relationship(state, EndRelationship(client_id="cli_a", reason=EndReason.OTHER), LATER)
    assert again.already_ended
    assert relationship.end_reason is EndReason.TREATMENT_COMPLETE  # the first reason stands

    restart_at = LATER + timedelta(days=30)
    restarted = restart_relationship(state, RestartRelationship(client_id="cli_a"), restart_at)

    assert restarted.was_ended
    assert clients(state) == ["cli_a", "cli_b"]
    assert state.relationships["cli_a"].status is RelationshipStatus.ACTIVE
    assert relationship.since == restart_at
    assert relationship.ended_at is None and relationship.end_reason is None
    assert [(event.kind, event.reason) for event in relationship.history] == [
        ("registered", None),
        ("ended", EndReason.TREATMENT_COMPLETE),
        ("restarted", None),
    ]
    assert not restart_relationship(state, RestartRelationship(client_id="cli_a"), restart_at).was_ended


def test_registering_an_ended_client_does_not_restart_it(state: PracticeState) -> None:
    end_relationship(state, EndRelationship(client_id="cli_a", reason=EndReason.NO_CONTACT), NOW)

    registered = register_client(state, RegisterClient(client_id="cli_a"), LATER)

    assert registered == ClientRegistered(client_id="cli_a", status=RelationshipStatus.ENDED, restarted=False)
    assert [event.kind for event in state.relationships["cli_a"].history] == ["registered", "ended"]
    assert clients(state) == []


def test_restarting_an_unknown_client_registers_it(state: PracticeState) -> None:
    result = restart_relationship(state, RestartRelationship(client_id="cli_new"), NOW)

    assert not result.was_ended
    assert clients(state) == ["cli_new"]


# ----------------------------------------------------------------------------- slots


def test_reserving_registers_the_client_implicitly_and_is_idempotent(
    state: PracticeState, ids: SlotIds
) -> None:
    first = reserve(state, ids, "cli_a", TUESDAY_6PM)
    again = reserve(state, ids, "cli_a", TUESDAY_6PM, LATER)

    assert first.slot_id.startswith("slot_")
    assert not first.already_reserved and first.replaced_slot_id is None
    assert again.slot_id == first.slot_id and again.already_reserved
    assert clients(state) == ["cli_a"]
    assert list(state.slots) == [first.slot_id]
    assert state.slots[first.slot_id].reserved_at == NOW


def test_no_rebook_releases_the_slot_and_says_which_and_it_can_be_added_back(
    state: PracticeState, ids: SlotIds
) -> None:
    slot = reserve(state, ids, "cli_a", TUESDAY_6PM)

    released = release_slots(state, ReleaseSlots(client_id="cli_a"), LATER)

    assert released.released_slot_ids == [slot.slot_id]
    assert not state.slots[slot.slot_id].active
    assert state.slots[slot.slot_id].released_at == LATER
    # Nothing left: no banner.
    assert release_slots(state, ReleaseSlots(client_id="cli_a"), LATER).released_slot_ids == []
    assert release_slots(state, ReleaseSlots(client_id="cli_never"), LATER).released_slot_ids == []

    added_back = reserve(state, ids, "cli_a", TUESDAY_6PM, LATER)

    assert not added_back.already_reserved
    assert added_back.slot_id != slot.slot_id
    assert state.slots[added_back.slot_id].active
    assert state.slots[slot.slot_id].released_at == LATER  # the released one stays on record


def test_a_slot_overlapping_another_clients_is_refused_naming_the_slot(
    state: PracticeState, ids: SlotIds
) -> None:
    held = reserve(state, ids, "cli_a", TUESDAY_6PM)
    before = state.model_copy(deep=True)

    with pytest.raises(RuleViolation) as refused:
        reserve(state, ids, "cli_b", TUESDAY_6_30PM)

    assert refused.value.code == "slot_conflict"
    assert held.slot_id in refused.value.message
    assert "cli_a" not in refused.value.message
    assert state == before
    # Back to back is fine (half-open intervals); so is the time once released.
    assert not reserve(state, ids, "cli_b", TUESDAY_7PM).already_reserved
    release_slots(state, ReleaseSlots(client_id="cli_a"), LATER)
    assert reserve(state, ids, "cli_c", TUESDAY_6PM, LATER).client_id == "cli_c"


def test_a_client_moving_their_own_slot_replaces_it(state: PracticeState, ids: SlotIds) -> None:
    old = reserve(state, ids, "cli_a", TUESDAY_6PM)

    # Overlaps the client's own slot only: not a conflict, a move.
    moved = reserve(state, ids, "cli_a", TUESDAY_6_30PM, LATER)

    assert moved.replaced_slot_id == old.slot_id
    assert not state.slots[old.slot_id].active
    assert [slot.slot_id for slot in state.slots.values() if slot.active] == [moved.slot_id]


def test_reserving_for_an_ended_relationship_is_refused(state: PracticeState, ids: SlotIds) -> None:
    end_relationship(state, EndRelationship(client_id="cli_a", reason=EndReason.CLIENT_REQUEST), NOW)

    with pytest.raises(RuleViolation) as refused:
        check_reserve_slot(state, ReserveSlot(client_id="cli_a", rule=TUESDAY_6PM), NOW)
    assert refused.value.code == "relationship_ended"
    with pytest.raises(RuleViolation):
        reserve(state, ids, "cli_a", TUESDAY_6PM)
    assert state.slots == {}

    restart_relationship(state, RestartRelationship(client_id="cli_a"), LATER)
    assert reserve(state, ids, "cli_a", TUESDAY_6PM, LATER).client_id == "cli_a"


def test_ending_releases_the_slot(state: PracticeState, ids: SlotIds) -> None:
    slot = reserve(state, ids, "cli_a", TUESDAY_6PM)

    ended = end_relationship(
        state, EndRelationship(client_id="cli_a", reason=EndReason.REFERRED_ELSEWHERE), LATER
    )

    assert ended.released_slot_ids == [slot.slot_id]
    assert not state.slots[slot.slot_id].active
    # The freed time is open to another client.
    assert reserve(state, ids, "cli_b", TUESDAY_6PM, LATER).client_id == "cli_b"


def test_released_slots_on_record_are_bounded(state: PracticeState, ids: SlotIds) -> None:
    rules = [TUESDAY_6PM, TUESDAY_7PM]
    for round_ in range(MAX_RELEASED_SLOTS + 10):
        reserve(state, ids, "cli_a", rules[round_ % 2], NOW + timedelta(minutes=round_))

    assert len(state.slots) == MAX_RELEASED_SLOTS + 1
    assert sum(slot.active for slot in state.slots.values()) == 1


def test_slot_ids_are_checked(state: PracticeState) -> None:
    with pytest.raises(ValueError):
        slot_id_from_hex("not-hex")
    with pytest.raises(ValueError):
        reserve_slot(state, ReserveSlot(client_id="cli_a", rule=TUESDAY_6PM), NOW, slot_id="Slot 1")


# ----------------------------------------------------------------------------- occurrences


def test_occurrences_of_every_active_slot_sorted_by_start_across_dst(
    state: PracticeState, ids: SlotIds
) -> None:
    tuesday = reserve(state, ids, "cli_a", TUESDAY_6PM)
    monday = reserve(state, ids, "cli_b", MONDAY_9AM)
    gone = reserve(state, ids, "cli_c", TUESDAY_7PM)
    release_slots(state, ReleaseSlots(client_id="cli_c"), NOW)

    # London moves to summer time on Sunday 28 March 2027.
    found = slot_occurrences(state, OccurrencesQuery(start_date=date(2027, 3, 22), end_date=date(2027, 4, 4)))

    assert [(o.slot_id, o.client_id, o.start) for o in found.occurrences] == [
        (monday.slot_id, "cli_b", datetime(2027, 3, 22, 9, 0, tzinfo=UTC)),
        (tuesday.slot_id, "cli_a", datetime(2027, 3, 23, 18, 0, tzinfo=UTC)),
        (monday.slot_id, "cli_b", datetime(2027, 3, 29, 8, 0, tzinfo=UTC)),
        (tuesday.slot_id, "cli_a", datetime(2027, 3, 30, 17, 0, tzinfo=UTC)),
    ]
    assert all(o.end - o.start == timedelta(minutes=50) for o in found.occurrences)
    assert gone.slot_id not in {o.slot_id for o in found.occurrences}


def test_occurrences_query_range_is_bounded() -> None:
    with pytest.raises(ValidationError):
        OccurrencesQuery(start_date=date(2027, 3, 2), end_date=date(2027, 3, 1))
    with pytest.raises(ValidationError):
        OccurrencesQuery(start_date=date(2027, 1, 1), end_date=date(2028, 6, 1))


# ----------------------------------------------------------------------------- dedupe, state


def test_request_outcomes_are_remembered_and_tied_to_their_update(state: PracticeState, ids: SlotIds) -> None:
    """Kept by age (tests/unit/test_practice_outcomes.py)."""
    result = reserve(state, ids, "cli_a", TUESDAY_6PM)
    remember_outcome(state, "req-1", "reserve_slot", result, NOW)

    recorded = recorded_outcome(state, "req-1", "reserve_slot")
    assert recorded is not None and SlotReserved.model_validate(recorded) == result
    assert recorded_outcome(state, "req-2", "reserve_slot") is None
    with pytest.raises(RuleViolation) as reused:
        recorded_outcome(state, "req-1", "release_slots")
    assert reused.value.code == "request_id_reused"


def test_state_round_trips_through_json_for_continue_as_new(state: PracticeState, ids: SlotIds) -> None:
    reserve(state, ids, "cli_a", TUESDAY_6PM)
    end_relationship(state, EndRelationship(client_id="cli_b", reason=EndReason.NOT_A_FIT), NOW)
    remember_outcome(
        state, "req-1", "register_client", ClientRegistered(client_id="cli_a", status="active"), NOW
    )

    carried = PracticeWorkflowInput(therapist_id="thr_1", timezone="Europe/London", state=state)

    assert PracticeWorkflowInput.model_validate_json(carried.model_dump_json()) == carried


def test_inputs_refuse_unknown_zones_and_foreign_state(state: PracticeState) -> None:
    with pytest.raises(ValidationError):
        PracticeWorkflowInput(therapist_id="thr_1", timezone="Europe/Narnia")
    with pytest.raises(ValidationError):
        PracticeWorkflowInput(therapist_id="thr_2", timezone="Europe/London", state=state)
    with pytest.raises(ValidationError):
        EndRelationship(client_id="cli_a", reason="moved house")


def test_the_practice_workflow_id_is_derived_from_the_opaque_therapist_id() -> None:
    assert practice_workflow_id("thr_1") == "practice-thr_1"
    for bad in ("", "jane@example.com", "a" * 65, "thr 1"):
        with pytest.raises(ValueError):
            practice_workflow_id(bad)


def test_a_one_off_booking_in_another_clients_slot_conflicts_but_the_owner_may_book_it(
    state: PracticeState, ids: SlotIds
) -> None:
    # Tuesdays 18:00-18:50 London; 2027-03-30 is the first Tuesday in BST (17:00Z).
    tuesday_evening = WeeklySlotRule(weekday=1, local_time=time(18, 0), duration_minutes=50)
    held = reserve(state, ids, "cli_owner", tuesday_evening)
    inside = BookingTimeQuery(
        client_id="cli_other",
        start=datetime(2027, 3, 30, 17, 30, tzinfo=UTC),
        end=datetime(2027, 3, 30, 18, 20, tzinfo=UTC),
    )
    touching = inside.model_copy(
        update={
            "start": datetime(2027, 3, 30, 17, 50, tzinfo=UTC),
            "end": datetime(2027, 3, 30, 18, 40, tzinfo=UTC),
        }
    )

    assert check_booking_time(state, inside).conflicting_slot_id == held.slot_id
    assert check_booking_time(state, touching).conflicting_slot_id is None
    assert (
        check_booking_time(state, inside.model_copy(update={"client_id": "cli_owner"})).conflicting_slot_id
        is None
    )
