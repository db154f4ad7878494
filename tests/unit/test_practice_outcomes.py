"""A practice remembers request outcomes by age, not by count, and its carried state stays far
below Temporal's 2 MB blob limit however long it runs (issue 11, hazard 1)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta

from domain.practice import (
    MAX_REMEMBERED_REQUESTS,
    OUTCOME_RETENTION,
    ClientRegistered,
    EndReason,
    EndRelationship,
    PracticeState,
    PracticeWorkflowInput,
    RegisterClient,
    RelationshipStatus,
    ReserveSlot,
    RestartRelationship,
    end_relationship,
    forget_expired_outcomes,
    new_practice_state,
    recorded_outcome,
    register_client,
    remember_outcome,
    reserve_slot,
    restart_relationship,
    slot_id_from_hex,
)
from domain.slots import WeeklySlotRule
from workflows.activity_options import PRACTICE_SCHEDULE_TO_CLOSE

NOW = datetime(2027, 3, 1, 9, 0, 0, 123456, tzinfo=UTC)
REGISTERED = ClientRegistered(client_id="cli_a", status=RelationshipStatus.ACTIVE)
BLOB_LIMIT = 2 * 1024 * 1024


def fresh() -> PracticeState:
    return new_practice_state("thr_1", "Europe/London")


def carried_bytes(state: PracticeState) -> int:
    carried = PracticeWorkflowInput(therapist_id=state.therapist_id, timezone=state.timezone, state=state)
    return len(carried.model_dump_json())


IDEMPOTENCY_KEY_WINDOW = timedelta(hours=24)
"""What the README promises a caller of the practice's API routes."""


def test_the_retention_covers_every_retry_of_a_request_twice() -> None:
    longest_retry = max(IDEMPOTENCY_KEY_WINDOW, PRACTICE_SCHEDULE_TO_CLOSE)
    assert 2 * longest_retry <= OUTCOME_RETENTION


def test_an_outcome_is_remembered_for_the_whole_retention_and_then_forgotten() -> None:
    state = fresh()
    remember_outcome(state, "req-1", "register_client", REGISTERED, NOW)

    remember_outcome(state, "req-2", "register_client", REGISTERED, NOW + OUTCOME_RETENTION)
    assert recorded_outcome(state, "req-1", "register_client") == REGISTERED.model_dump(mode="json")

    remember_outcome(
        state, "req-3", "register_client", REGISTERED, NOW + OUTCOME_RETENTION + timedelta(seconds=1)
    )
    assert recorded_outcome(state, "req-1", "register_client") is None
    assert list(state.outcomes) == ["req-2", "req-3"]


def test_a_long_running_practice_keeps_only_the_outcomes_of_its_retention() -> None:
    """Thousands of requests over months: what is remembered is what came in the last 48 h, not
    the last 2,000 (which is months of a practice's requests, carried and cached for nothing)."""
    state = fresh()
    hours = 3 * MAX_REMEMBERED_REQUESTS
    for hour in range(hours):
        remember_outcome(state, f"req-{hour}", "register_client", REGISTERED, NOW + timedelta(hours=hour))

    retention_hours = int(OUTCOME_RETENTION / timedelta(hours=1))
    assert list(state.outcomes) == [f"req-{hour}" for hour in range(hours - retention_hours - 1, hours)]
    assert carried_bytes(state) < 32 * 1024


def test_expired_outcomes_are_forgotten_without_a_new_request() -> None:
    """At continue-as-new the workflow prunes before it carries the state."""
    state = fresh()
    remember_outcome(state, "req-1", "register_client", REGISTERED, NOW)
    forget_expired_outcomes(state, NOW + OUTCOME_RETENTION)
    assert "req-1" in state.outcomes
    forget_expired_outcomes(state, NOW + OUTCOME_RETENTION + timedelta(microseconds=1))
    assert state.outcomes == {}


def test_a_burst_beyond_the_safety_cap_forgets_the_oldest_and_says_how_many() -> None:
    state = fresh()
    early = [
        remember_outcome(state, f"burst-{number}", "register_client", REGISTERED, NOW)
        for number in range(MAX_REMEMBERED_REQUESTS)
    ]
    assert early == [0] * MAX_REMEMBERED_REQUESTS

    assert remember_outcome(state, "one-more", "register_client", REGISTERED, NOW) == 1
    assert len(state.outcomes) == MAX_REMEMBERED_REQUESTS
    assert "burst-0" not in state.outcomes and "one-more" in state.outcomes
    # A repeated request is answered from memory, not remembered twice.
    assert remember_outcome(state, "one-more", "register_client", REGISTERED, NOW) == 0
    assert len(state.outcomes) == MAX_REMEMBERED_REQUESTS


def test_the_safety_cap_keeps_the_worst_burst_far_below_the_blob_limit() -> None:
    """Longest request ids the API makes (a 128-character Idempotency-Key), large results."""
    state = fresh()
    rule = WeeklySlotRule(weekday=1, local_time=time(18, 0), duration_minutes=50)
    result = reserve_slot(
        state, ReserveSlot(client_id="cli_a", rule=rule), NOW, slot_id=slot_id_from_hex("f" * 32)
    )
    for number in range(MAX_REMEMBERED_REQUESTS + 10):
        key = f"{number:0128d}:reserve_slot:{number:016x}"
        remember_outcome(state, key, "reserve_slot", result, NOW)
    assert carried_bytes(state) < BLOB_LIMIT // 2


def test_state_carried_from_a_run_that_counted_outcomes_loads_and_keeps_them_a_full_retention() -> None:
    """A running practice carried ``processed_request_ids`` and outcomes without their time."""
    old = fresh().model_dump(mode="json")
    old["processed_request_ids"] = ["old-1", "old-2"]
    old["outcomes"] = {
        name: {"update": "register_client", "result": REGISTERED.model_dump(mode="json")}
        for name in ("old-1", "old-2")
    }
    carried = PracticeWorkflowInput.model_validate_json(
        json.dumps({"therapist_id": "thr_1", "timezone": "Europe/London", "state": old})
    )
    assert carried.state is not None
    state = carried.state
    assert recorded_outcome(state, "old-2", "register_client") == REGISTERED.model_dump(mode="json")

    # Their age is unknown: they count from the first time the new code sees them.
    remember_outcome(state, "new-1", "register_client", REGISTERED, NOW)
    forget_expired_outcomes(state, NOW + OUTCOME_RETENTION)
    assert list(state.outcomes) == ["old-1", "old-2", "new-1"]
    forget_expired_outcomes(state, NOW + OUTCOME_RETENTION + timedelta(seconds=1))
    assert state.outcomes == {}


def _grown_practice(clients: int) -> PracticeState:
    """``clients`` relationships (every other one ended, every fifth also restarted), 60 slots."""
    state = fresh()
    for number in range(clients):
        client_id = f"cli_{number:016x}"
        at = NOW + timedelta(minutes=number)
        register_client(state, RegisterClient(client_id=client_id), at)
        if number % 2 == 0:
            end_relationship(
                state, EndRelationship(client_id=client_id, reason=EndReason.TREATMENT_COMPLETE), at
            )
        if number % 10 == 0:
            restart_relationship(state, RestartRelationship(client_id=client_id), at + timedelta(days=3))
    for number in range(min(clients // 2, 60)):
        rule = WeeklySlotRule(weekday=number % 7, local_time=time(8 + number // 7, 0), duration_minutes=50)
        reserve_slot(
            state,
            ReserveSlot(client_id=f"cli_{2 * number + 1:016x}", rule=rule),
            NOW,
            slot_id=slot_id_from_hex(f"{number:032x}"),
        )
    return state


def test_relationships_are_carried_compactly_and_lose_nothing() -> None:
    """Relationships are never pruned: 5,000 clients (a career of intakes) fit with room to spare.
    Carried in full, as before, they took 1.38 MB."""
    state = _grown_practice(5000)

    size = carried_bytes(state)
    restored = PracticeState.model_validate_json(state.model_dump_json())

    assert restored == state
    assert size < 640 * 1024, size


def test_a_relationship_that_does_not_follow_from_its_history_is_carried_in_full() -> None:
    """A state given by ops (``sessionflow practice restore --from-file``) is carried as it is."""
    state = _grown_practice(4)
    odd = state.relationships["cli_0000000000000001"]
    odd.since = NOW - timedelta(days=400)  # not the time of its registration event
    carried = state.model_dump_json()
    assert '"since"' in carried  # carried in full, not derived from its history
    assert PracticeState.model_validate_json(carried) == state


def test_relationships_carried_in_full_by_an_older_run_still_load() -> None:
    state = _grown_practice(30)
    full = state.model_dump(mode="python")  # the full form: what runs before this one carried
    assert isinstance(full["relationships"]["cli_0000000000000000"], dict)
    assert PracticeState.model_validate_json(json.dumps(full, default=str)) == state
