"""The therapist's practice workflow: relationships, reserved slots, dedupe, continue-as-new
(README rules 9, 10; PracticeWorkflow in workflows/README.md), against the real dev server."""

from __future__ import annotations

import asyncio
import uuid
from datetime import time, timedelta
from typing import Any, TypeVar

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment
from temporalio.worker import Replayer, Worker

from activities.practice import PracticeActivities
from contract.ids import practice_workflow_id
from contract.messages import Update
from contract.practice import (
    PRACTICE_END_RELATIONSHIP,
    PRACTICE_REGISTER_CLIENT,
    PRACTICE_RELEASE_SLOTS,
    PRACTICE_RESERVE_SLOT,
    PRACTICE_RESTART_RELATIONSHIP,
)
from contract.search_attributes import ALL_SEARCH_ATTRIBUTES
from domain.errors import RuleViolation
from domain.practice import (
    CancelFutureSessionsCall,
    ClientRegistered,
    ClientsQuery,
    EndReason,
    EndRelationship,
    OccurrencesQuery,
    PracticeState,
    RegisterClient,
    RelationshipStatus,
    ReleaseSlots,
    ReserveSlot,
    ReserveSlotCall,
    RestartRelationship,
    SlotReserved,
)
from domain.slots import WeeklySlotRule
from domain.status import Actor, SessionStatus
from temporal_client.converter import DATA_CONVERTER
from temporal_client.practice_client import practice_handle, practice_update, restore_practice
from tests.conftest import TEMPORAL_CLI
from tests.workflows.support import HOUR, WAIT, make_booking, real_now, start, state_of, unique
from workflows.practice import PracticeWorkflow

ZONE = "Europe/London"
DAY = 24 * HOUR
TUESDAY_6PM = WeeklySlotRule(weekday=1, local_time=time(18, 0), duration_minutes=50)
TUESDAY_6_30PM = WeeklySlotRule(weekday=1, local_time=time(18, 30), duration_minutes=50)

REPLAYER = Replayer(workflows=[PracticeWorkflow], data_converter=DATA_CONVERTER)

ArgT = TypeVar("ArgT")
ResultT = TypeVar("ResultT")


async def send(
    client: Client,
    therapist_id: str,
    update: Update[ArgT, ResultT],
    arg: ArgT,
    task_queue: str,
    request_id: str | None = None,
) -> ResultT:
    return await asyncio.wait_for(
        practice_update(
            client,
            therapist_id,
            ZONE,
            update,
            arg,
            request_id=request_id or unique("req"),
            task_queue=task_queue,
        ),
        WAIT,
    )


async def refused(
    client: Client,
    therapist_id: str,
    update: Update[ArgT, Any],
    arg: ArgT,
    task_queue: str,
) -> ApplicationError:
    with pytest.raises(WorkflowUpdateFailedError) as failed:
        await send(client, therapist_id, update, arg, task_queue)
    cause = failed.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.non_retryable
    return cause


async def client_ids(client: Client, therapist_id: str, include_inactive: bool = False) -> list[str]:
    listed = await asyncio.wait_for(
        practice_handle(client, therapist_id).query(
            PracticeWorkflow.clients, ClientsQuery(include_inactive=include_inactive)
        ),
        WAIT,
    )
    return [relationship.client_id for relationship in listed.clients]


async def practice_state(client: Client, therapist_id: str) -> PracticeState:
    return await asyncio.wait_for(practice_handle(client, therapist_id).query(PracticeWorkflow.state), WAIT)


def active_slots(state: PracticeState) -> dict[str, str]:
    """slot id → client id of the active slots."""
    return {slot.slot_id: slot.client_id for slot in state.slots.values() if slot.active}


async def test_the_first_command_starts_the_practice_lazily(client: Client, worker: Worker) -> None:
    therapist = unique("thr")
    with pytest.raises(RPCError) as missing:
        await asyncio.wait_for(practice_handle(client, therapist).describe(), WAIT)
    assert missing.value.status is RPCStatusCode.NOT_FOUND

    registered = await send(
        client,
        therapist,
        PRACTICE_REGISTER_CLIENT,
        RegisterClient(client_id="cli_a"),
        worker.task_queue,
    )

    assert registered == ClientRegistered(client_id="cli_a", status=RelationshipStatus.ACTIVE)
    described = await asyncio.wait_for(practice_handle(client, therapist).describe(), WAIT)
    assert described.id == practice_workflow_id(therapist)
    assert described.workflow_type == "PracticeWorkflow"
    assert described.status is WorkflowExecutionStatus.RUNNING
    # A second command lands on the same run.
    await send(
        client,
        therapist,
        PRACTICE_REGISTER_CLIENT,
        RegisterClient(client_id="cli_b"),
        worker.task_queue,
    )
    assert (
        await asyncio.wait_for(practice_handle(client, therapist).describe(), WAIT)
    ).run_id == described.run_id
    assert await client_ids(client, therapist) == ["cli_a", "cli_b"]


async def test_no_rebook_releases_the_slot_it_can_be_added_back_and_a_conflicting_slot_is_refused(
    client: Client, worker: Worker
) -> None:
    therapist, queue = unique("thr"), worker.task_queue
    held = await send(
        client,
        therapist,
        PRACTICE_RESERVE_SLOT,
        ReserveSlot(client_id="cli_a", rule=TUESDAY_6PM),
        queue,
    )

    # "No, I don't want to rebook" without "reserve": the slot goes, and the result says which.
    released = await send(client, therapist, PRACTICE_RELEASE_SLOTS, ReleaseSlots(client_id="cli_a"), queue)
    assert released.released_slot_ids == [held.slot_id]
    again = await send(client, therapist, PRACTICE_RELEASE_SLOTS, ReleaseSlots(client_id="cli_a"), queue)
    assert again.released_slot_ids == []  # nothing to release: no banner

    # "You can manually add the reserved slot back."
    added_back = await send(
        client,
        therapist,
        PRACTICE_RESERVE_SLOT,
        ReserveSlot(client_id="cli_a", rule=TUESDAY_6PM),
        queue,
    )
    assert not added_back.already_reserved
    assert active_slots(await practice_state(client, therapist)) == {added_back.slot_id: "cli_a"}

    # Another client's slot may not overlap it; the refusal names the slot, never the client.
    conflict = await refused(
        client,
        therapist,
        PRACTICE_RESERVE_SLOT,
        ReserveSlot(client_id="cli_b", rule=TUESDAY_6_30PM),
        queue,
    )
    assert conflict.type == "slot_conflict"
    assert added_back.slot_id in conflict.message
    assert "cli_a" not in conflict.message
    # Refused in the validator: the refusal never entered history.
    history = await asyncio.wait_for(practice_handle(client, therapist).fetch_history(), WAIT)
    accepted = [
        e for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
    ]
    assert len(accepted) == 4
    # Replays deterministically (the history holds no refusal to trip over).
    await asyncio.wait_for(REPLAYER.replay_workflow(history), WAIT)

    # The backend's availability engine sees the slot's occurrences.
    today = real_now().date()
    found = await asyncio.wait_for(
        practice_handle(client, therapist).query(
            PracticeWorkflow.occurrences,
            OccurrencesQuery(start_date=today, end_date=today + timedelta(days=27)),
        ),
        WAIT,
    )
    assert len(found.occurrences) == 4
    assert {o.slot_id for o in found.occurrences} == {added_back.slot_id}
    assert [o.start for o in found.occurrences] == sorted(o.start for o in found.occurrences)


async def test_ending_hides_the_client_releases_the_slot_and_a_restart_brings_it_back(
    client: Client, worker: Worker
) -> None:
    therapist, queue = unique("thr"), worker.task_queue
    await send(client, therapist, PRACTICE_REGISTER_CLIENT, RegisterClient(client_id="cli_b"), queue)
    held = await send(
        client,
        therapist,
        PRACTICE_RESERVE_SLOT,
        ReserveSlot(client_id="cli_a", rule=TUESDAY_6PM),
        queue,
    )

    ended = await send(
        client,
        therapist,
        PRACTICE_END_RELATIONSHIP,
        EndRelationship(client_id="cli_a", reason=EndReason.TREATMENT_COMPLETE),
        queue,
    )

    assert ended.released_slot_ids == [held.slot_id] and not ended.already_ended
    assert await client_ids(client, therapist) == ["cli_b"]
    assert await client_ids(client, therapist, include_inactive=True) == ["cli_a", "cli_b"]
    assert active_slots(await practice_state(client, therapist)) == {}
    ended_refusal = await refused(
        client,
        therapist,
        PRACTICE_RESERVE_SLOT,
        ReserveSlot(client_id="cli_a", rule=TUESDAY_6PM),
        queue,
    )
    assert ended_refusal.type == "relationship_ended"
    # The client may still book (rule 10): registering an ended client records nothing.
    registered = await send(
        client, therapist, PRACTICE_REGISTER_CLIENT, RegisterClient(client_id="cli_a"), queue
    )
    assert registered.status is RelationshipStatus.ENDED

    restarted = await send(
        client,
        therapist,
        PRACTICE_RESTART_RELATIONSHIP,
        RestartRelationship(client_id="cli_a"),
        queue,
    )

    assert restarted.was_ended
    assert await client_ids(client, therapist) == ["cli_a", "cli_b"]
    state = await practice_state(client, therapist)
    assert [event.kind for event in state.relationships["cli_a"].history] == [
        "registered",
        "ended",
        "restarted",
    ]
    assert state.slots[held.slot_id].released_at is not None  # the old slot stays on record


async def test_a_repeated_request_id_returns_the_first_outcome(client: Client, worker: Worker) -> None:
    therapist, queue, request_id = unique("thr"), worker.task_queue, unique("req")
    first = await send(
        client,
        therapist,
        PRACTICE_RESERVE_SLOT,
        ReserveSlot(client_id="cli_a", rule=TUESDAY_6PM),
        queue,
        request_id=request_id,
    )
    await send(client, therapist, PRACTICE_RELEASE_SLOTS, ReleaseSlots(client_id="cli_a"), queue)

    repeated = await send(
        client,
        therapist,
        PRACTICE_RESERVE_SLOT,
        ReserveSlot(client_id="cli_a", rule=TUESDAY_6PM),
        queue,
        request_id=request_id,
    )

    assert repeated == first
    assert active_slots(await practice_state(client, therapist)) == {}


async def test_the_activities_pass_a_practice_refusal_on_with_its_code(
    client: Client, worker: Worker, env: WorkflowEnvironment
) -> None:
    therapist = unique("thr")
    activities = PracticeActivities(client, worker.task_queue)
    call = ReserveSlotCall(
        therapist_id=therapist,
        timezone=ZONE,
        request_id=unique("req"),
        command=ReserveSlot(client_id="cli_a", rule=TUESDAY_6PM),
    )
    held: SlotReserved = await asyncio.wait_for(
        ActivityEnvironment().run(activities.reserve_slot, call), WAIT
    )
    # An activity retry repeats the request id: the first outcome comes back.
    again = await asyncio.wait_for(ActivityEnvironment().run(activities.reserve_slot, call), WAIT)
    assert again == held and not again.already_reserved

    conflicting = call.model_copy(
        update={"request_id": unique("req"), "command": ReserveSlot(client_id="cli_b", rule=TUESDAY_6_30PM)}
    )
    with pytest.raises(ApplicationError) as refusal:
        await asyncio.wait_for(ActivityEnvironment().run(activities.reserve_slot, conflicting), WAIT)

    assert refusal.value.type == "slot_conflict"
    assert refusal.value.non_retryable
    assert held.slot_id in refusal.value.message


async def wait_until_listed(client: Client, query: str, count: int) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    while (await asyncio.wait_for(client.count_workflows(query), WAIT)).count < count:
        if loop.time() > deadline:
            raise AssertionError(f"visibility never listed {count} workflows for {query}")
        await asyncio.sleep(0.1)


async def test_cancel_future_sessions_cancels_the_clients_later_sessions_as_the_therapists(
    client: Client, worker: Worker
) -> None:
    therapist, client_x, client_y = unique("thr"), unique("cli"), unique("cli")
    now = real_now()

    def booking(client_id: str, days_ahead: int) -> Any:
        return make_booking(start=now + days_ahead * DAY, therapist_id=therapist, client_id=client_id)

    before_cutoff = await start(client, booking(client_x, 3), worker.task_queue)
    later = [await start(client, booking(client_x, days), worker.task_queue) for days in (6, 9)]
    # One therapist holds one session at a time: the other client's is an hour later that day.
    other_client = await start(
        client,
        make_booking(start=now + 6 * DAY + HOUR, therapist_id=therapist, client_id=client_y),
        worker.task_queue,
    )
    await wait_until_listed(client, f"TherapistId = '{therapist}'", 4)

    activities = PracticeActivities(client, worker.task_queue)
    call = CancelFutureSessionsCall(
        therapist_id=therapist, client_id=client_x, request_id=unique("req"), after=now + 4 * DAY
    )
    result = await asyncio.wait_for(ActivityEnvironment().run(activities.cancel_future_sessions, call), WAIT)

    later_ids = sorted([(await state_of(handle)).session_id for handle in later])
    assert result.session_ids == later_ids
    for handle in later:
        state = await state_of(handle)
        assert state.status is SessionStatus.CANCELLED_BY_THERAPIST
        assert state.cancellation is not None and state.cancellation.requested_by is Actor.THERAPIST
    for handle in (before_cutoff, other_client):
        assert (await state_of(handle)).status is SessionStatus.SCHEDULED


async def test_the_practice_continues_as_new_with_its_state_and_dedupe() -> None:
    environment = await WorkflowEnvironment.start_local(
        data_converter=DATA_CONVERTER,
        dev_server_existing_path=str(TEMPORAL_CLI),
        search_attributes=ALL_SEARCH_ATTRIBUTES,
        dev_server_extra_args=["--dynamic-config-value", "limit.historyCount.suggestContinueAsNew=20"],
    )
    async with environment:
        client, queue = environment.client, f"test-{uuid.uuid4().hex[:12]}"
        async with Worker(client, task_queue=queue, workflows=[PracticeWorkflow]):
            therapist, first_request = unique("thr"), unique("req")
            first = await send(
                client,
                therapist,
                PRACTICE_RESERVE_SLOT,
                ReserveSlot(client_id="cli_0", rule=TUESDAY_6PM),
                queue,
                request_id=first_request,
            )
            first_run = (await asyncio.wait_for(practice_handle(client, therapist).describe(), WAIT)).run_id

            for number in range(1, 15):
                rule = WeeklySlotRule(weekday=2, local_time=time(7 + number, 0), duration_minutes=50)
                await send(
                    client,
                    therapist,
                    PRACTICE_RESERVE_SLOT,
                    ReserveSlot(client_id=f"cli_{number}", rule=rule),
                    queue,
                )
            await send(
                client,
                therapist,
                PRACTICE_END_RELATIONSHIP,
                EndRelationship(client_id="cli_1", reason=EndReason.NO_CONTACT),
                queue,
            )

            handle = practice_handle(client, therapist)
            assert (await asyncio.wait_for(handle.describe(), WAIT)).run_id != first_run
            first_run_handle = client.get_workflow_handle(practice_workflow_id(therapist), run_id=first_run)
            described = await asyncio.wait_for(first_run_handle.describe(), WAIT)
            assert described.status is WorkflowExecutionStatus.CONTINUED_AS_NEW
            first_history = await asyncio.wait_for(first_run_handle.fetch_history(), WAIT)
            await asyncio.wait_for(REPLAYER.replay_workflow(first_history), WAIT)

            state = await practice_state(client, therapist)
            assert sorted(state.relationships) == sorted(f"cli_{number}" for number in range(15))
            assert state.relationships["cli_1"].status is RelationshipStatus.ENDED
            assert len(active_slots(state)) == 14
            assert active_slots(state)[first.slot_id] == "cli_0"
            assert first_request in state.outcomes

            # The same request id after continue-as-new — even with another rule — returns the
            # first outcome and changes nothing.
            repeated = await send(
                client,
                therapist,
                PRACTICE_RESERVE_SLOT,
                ReserveSlot(
                    client_id="cli_0", rule=WeeklySlotRule(weekday=5, local_time=time(9), duration_minutes=50)
                ),
                queue,
                request_id=first_request,
            )
            assert repeated == first
            after = await practice_state(client, therapist)
            assert active_slots(after) == active_slots(state)
            assert after.slots[first.slot_id].rule == TUESDAY_6PM


async def test_a_closed_practice_is_never_silently_replaced_and_ops_restore_it(
    client: Client, worker: Worker
) -> None:
    """A practice run that closed (an operator's terminate, a workflow failure) holds the
    therapist's reserved slots and ended relationships: the next command must not start an empty
    practice in its place. It is refused as ``practice_closed`` until ops restore the state."""
    therapist, queue = unique("thr"), worker.task_queue
    held = await send(
        client, therapist, PRACTICE_RESERVE_SLOT, ReserveSlot(client_id="cli_a", rule=TUESDAY_6PM), queue
    )
    handle = practice_handle(client, therapist)
    await asyncio.wait_for(handle.terminate("an operator's mistake"), WAIT)

    with pytest.raises(RuleViolation) as closed:
        await send(
            client, therapist, PRACTICE_RESERVE_SLOT, ReserveSlot(client_id="cli_b", rule=TUESDAY_6PM), queue
        )
    assert closed.value.code == "practice_closed"

    restored = await asyncio.wait_for(restore_practice(client, therapist, task_queue=queue), WAIT)
    assert restored.slots[held.slot_id].client_id == "cli_a"
    conflict = await refused(
        client, therapist, PRACTICE_RESERVE_SLOT, ReserveSlot(client_id="cli_b", rule=TUESDAY_6PM), queue
    )
    assert conflict.type == "slot_conflict"  # the restored practice still holds cli_a's slot
    assert active_slots(await practice_state(client, therapist)) == {held.slot_id: "cli_a"}
