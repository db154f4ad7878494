"""A practice driven far past today's sizes, over simulated days and through continue-as-new,
loses nothing and carries a bounded state (issue 11, hazard 1), against a real dev server.

Today's figures: ~300 clients, 2,000 remembered outcomes, ~400 KB carried. Here: 1,200 clients,
~2,500 requests over 6 simulated days (each day's outcomes age out after 48 h), 49 reserved slots,
ended and restarted relationships, continue-as-new every few hundred requests.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import uuid
from collections.abc import Awaitable, Iterable
from datetime import time, timedelta
from typing import Any, TypeVar

import httpx
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.testing import TimeSkippingConfig, WorkflowEnvironment
from temporalio.worker import Worker

from contract.ids import practice_workflow_id
from contract.messages import Update
from contract.metrics import PRACTICE_STATE_BYTES, PRACTICE_STATE_WARN_BYTES
from contract.practice import (
    PRACTICE_END_RELATIONSHIP,
    PRACTICE_REGISTER_CLIENT,
    PRACTICE_RESERVE_SLOT,
    PRACTICE_RESTART_RELATIONSHIP,
    PRACTICE_STATE,
)
from contract.search_attributes import ALL_SEARCH_ATTRIBUTES
from domain.practice import (
    OUTCOME_RETENTION,
    EndReason,
    EndRelationship,
    PracticeState,
    RegisterClient,
    RelationshipStatus,
    ReserveSlot,
    RestartRelationship,
)
from domain.slots import WeeklySlotRule
from observability.metrics import temporal_runtime
from settings import Settings
from temporal_client.converter import DATA_CONVERTER
from temporal_client.messages import query_workflow
from temporal_client.practice_client import practice_handle, practice_update
from tests.conftest import TEMPORAL_CLI, TEMPORAL_DEV_SERVER_ARGS
from tests.workflows.support import WAIT
from workflows.practice import PracticeWorkflow

ZONE = "Europe/London"
DAYS = 6
NEW_CLIENTS_PER_DAY = 200
REBOOKINGS_PER_DAY = 120
SLOTS_PER_DAY = 8
DAY = timedelta(hours=25)
"""Simulated time between batches: a batch's outcomes expire two batches later."""
CARRIED_BOUND = 512 * 1024
"""Every continue-as-new carries less than this."""
CONCURRENCY = 8
"""The server accepts at most 10 updates in flight per workflow."""

log = logging.getLogger(__name__)

ArgT = TypeVar("ArgT")
ResultT = TypeVar("ResultT")


def client_id(number: int) -> str:
    return f"cli_{number:016x}"


def slot_rule(number: int) -> WeeklySlotRule:
    return WeeklySlotRule(weekday=number % 7, local_time=time(7 + number // 7, 0), duration_minutes=50)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Practice:
    def __init__(self, client: Client, therapist_id: str, task_queue: str) -> None:
        self.client, self.therapist_id, self.task_queue = client, therapist_id, task_queue
        self.requests = 0
        self._gate = asyncio.Semaphore(CONCURRENCY)

    async def send(self, update: Update[ArgT, ResultT], arg: ArgT, request_id: str) -> ResultT:
        async with self._gate:
            self.requests += 1
            return await asyncio.wait_for(
                practice_update(
                    self.client,
                    self.therapist_id,
                    ZONE,
                    update,
                    arg,
                    request_id=request_id,
                    task_queue=self.task_queue,
                ),
                WAIT,
            )

    async def all(self, sends: Iterable[Awaitable[Any]]) -> None:
        await asyncio.wait_for(asyncio.gather(*sends), 60)

    async def state(self) -> PracticeState:
        handle = practice_handle(self.client, self.therapist_id)
        # Just after continue-as-new the new run may not have had its first task: one more
        # (idempotent) request gives it one.
        await self.send(PRACTICE_REGISTER_CLIENT, RegisterClient(client_id=client_id(0)), "state-probe")
        # query_workflow asks again while the run has not had its first task (CI, 2026-12-04).
        return await asyncio.wait_for(query_workflow(handle, PRACTICE_STATE), WAIT)


async def carried_sizes(client: Client, therapist_id: str) -> list[int]:
    """The encoded size of every state carried by continue-as-new, oldest run first."""
    sizes = []
    runs = client.list_workflows(f'WorkflowId = "{practice_workflow_id(therapist_id)}"')
    async for run in runs:
        if run.status is not WorkflowExecutionStatus.CONTINUED_AS_NEW:
            continue
        history = await asyncio.wait_for(
            client.get_workflow_handle(run.id, run_id=run.run_id).fetch_history(), WAIT
        )
        for event in history.events:
            if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
                attributes = event.workflow_execution_continued_as_new_event_attributes
                sizes.append((run.start_time, attributes.input.ByteSize()))
    return [size for _, size in sorted(sizes)]


async def test_a_practice_far_past_todays_size_continues_as_new_and_loses_nothing() -> None:
    metrics_address = f"127.0.0.1:{free_port()}"
    runtime = temporal_runtime(Settings(worker_metrics_address=metrics_address))
    assert runtime is not None
    environment = await WorkflowEnvironment.start_time_skipping_v2(
        ts_config=TimeSkippingConfig(enabled=False),
        data_converter=DATA_CONVERTER,
        dev_server_existing_path=str(TEMPORAL_CLI),
        search_attributes=ALL_SEARCH_ATTRIBUTES,
        runtime=runtime,
        dev_server_extra_args=[
            *TEMPORAL_DEV_SERVER_ARGS,
            "--dynamic-config-value",
            "limit.historyCount.suggestContinueAsNew=1000",
        ],
    )
    async with environment:
        client, queue = environment.client, f"test-{uuid.uuid4().hex[:12]}"
        async with Worker(client, task_queue=queue, workflows=[PracticeWorkflow]):
            practice = Practice(client, f"thr_{uuid.uuid4().hex[:16]}", queue)
            handle = practice_handle(client, practice.therapist_id)
            ended: set[int] = set()
            restarted: set[int] = set()
            slots: dict[str, WeeklySlotRule] = {}
            probe = None

            for day in range(DAYS):
                first, last = day * NEW_CLIENTS_PER_DAY, (day + 1) * NEW_CLIENTS_PER_DAY
                if day == DAYS - 1:
                    # The last day's first request, repeated at the end after continue-as-new.
                    probe_client = last - 1
                    probe = await practice.send(
                        PRACTICE_RESERVE_SLOT,
                        ReserveSlot(client_id=client_id(probe_client), rule=slot_rule(99)),
                        "probe",
                    )
                    slots[client_id(probe_client)] = slot_rule(99)
                    probe_run = (await asyncio.wait_for(handle.describe(), WAIT)).run_id
                keeps = [number for number in range(first, last) if number % 3 != 0]
                holders = keeps[:SLOTS_PER_DAY]
                await practice.all(
                    [
                        *(
                            practice.send(
                                PRACTICE_REGISTER_CLIENT,
                                RegisterClient(client_id=client_id(n)),
                                f"d{day}-new-{n}",
                            )
                            for n in range(first, last)
                        ),
                        *(
                            practice.send(
                                PRACTICE_REGISTER_CLIENT,
                                RegisterClient(client_id=client_id(n * 7 % first)),
                                f"d{day}-rebook-{n}",
                            )
                            for n in range(REBOOKINGS_PER_DAY if first else 0)
                        ),
                        *(
                            practice.send(
                                PRACTICE_RESERVE_SLOT,
                                ReserveSlot(
                                    client_id=client_id(n), rule=slot_rule(day * SLOTS_PER_DAY + index)
                                ),
                                f"d{day}-slot-{n}",
                            )
                            for index, n in enumerate(holders)
                        ),
                    ]
                )
                slots.update(
                    {client_id(n): slot_rule(day * SLOTS_PER_DAY + index) for index, n in enumerate(holders)}
                )
                ending = [number for number in range(first, last) if number % 3 == 0]
                await practice.all(
                    practice.send(
                        PRACTICE_END_RELATIONSHIP,
                        EndRelationship(client_id=client_id(n), reason=EndReason.TREATMENT_COMPLETE),
                        f"d{day}-end-{n}",
                    )
                    for n in ending
                )
                ended.update(ending)
                restarting = [number for number in ending if number % 9 == 0]
                await practice.all(
                    practice.send(
                        PRACTICE_RESTART_RELATIONSHIP,
                        RestartRelationship(client_id=client_id(n)),
                        f"d{day}-restart-{n}",
                    )
                    for n in restarting
                )
                restarted.update(restarting)
                if day < DAYS - 1:
                    assert await asyncio.wait_for(environment.fast_forward(handle, DAY), WAIT)

            # The probe's run has continued as new since: the repeat is answered from the carried
            # state, with the first outcome, although it now asks for another time.
            assert probe is not None
            assert (await asyncio.wait_for(handle.describe(), WAIT)).run_id != probe_run
            repeated = await practice.send(
                PRACTICE_RESERVE_SLOT,
                ReserveSlot(client_id=client_id(DAYS * NEW_CLIENTS_PER_DAY - 1), rule=slot_rule(98)),
                "probe",
            )
            assert repeated == probe

            state = await practice.state()
            clients = DAYS * NEW_CLIENTS_PER_DAY
            assert sorted(state.relationships) == sorted(client_id(n) for n in range(clients))
            for number in range(clients):
                relationship = state.relationships[client_id(number)]
                expected = (
                    ["registered", "ended", "restarted"]
                    if number in restarted
                    else ["registered", "ended"]
                    if number in ended
                    else ["registered"]
                )
                assert [event.kind for event in relationship.history] == expected, number
                assert (relationship.status is RelationshipStatus.ENDED) == (
                    number in ended and number not in restarted
                ), number
            active = {slot.client_id: slot.rule for slot in state.slots.values() if slot.active}
            assert active == slots
            assert state.slots[probe.slot_id].rule == slot_rule(99)

            sizes = await carried_sizes(client, practice.therapist_id)
            assert len(sizes) >= 3, sizes  # continued as new several times
            assert max(sizes) < CARRIED_BOUND, sizes
            # Outcomes are kept by age: the first days' are gone, the last two days' are there.
            assert "d0-new-0" not in state.outcomes
            assert f"d{DAYS - 2}-new-{(DAYS - 2) * NEW_CLIENTS_PER_DAY}" in state.outcomes
            times = [outcome.recorded_at for outcome in state.outcomes.values()]
            assert None not in times
            newest = max(at for at in times if at is not None)
            assert all(newest - at <= OUTCOME_RETENTION for at in times if at is not None)

            log.info(
                f"\n{practice.requests} requests, {clients} clients, {len(active)} slots, "
                f"{len(sizes)} continue-as-new; carried bytes max {max(sizes)}, last {sizes[-1]}, "
                f"state now {len(state.model_dump_json())}, outcomes now {len(state.outcomes)}"
            )

        async with httpx.AsyncClient(timeout=WAIT) as http:
            scraped = (await http.get(f"http://{metrics_address}/metrics")).text
        recorded = [
            line
            for line in scraped.splitlines()
            if line.startswith(f"{PRACTICE_STATE_BYTES}_count") and 'workflow_type="PracticeWorkflow"' in line
        ]
        assert recorded and float(recorded[0].rsplit(" ", 1)[1]) > 0, scraped
        assert f'le="{PRACTICE_STATE_WARN_BYTES}"' in scraped
