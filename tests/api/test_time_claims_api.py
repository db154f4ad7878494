"""Overlapping claims of one therapist's time, over real HTTP (issue 11, hazard 2).

Bookings and weekly reservations of one therapist race each other: each claims its time in the
practice's serialised updates, so of every set of mutually overlapping requests exactly one wins,
and the others are refused with the code that says why."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from temporalio.testing import WorkflowEnvironment

from contract.practice import PRACTICE_STATE
from domain.practice import PracticeState
from temporal_client.messages import query_workflow
from temporal_client.practice_client import practice_handle
from tests.workflows.support import HOUR, WAIT, make_booking, real_now, unique

LONDON = ZoneInfo("Europe/London")
MINUTE = timedelta(minutes=1)


def key() -> dict[str, str]:
    return {"Idempotency-Key": f"req-{uuid.uuid4().hex}"}


def on_the_hour(days_ahead: int) -> datetime:
    """A whole hour in London some days ahead, as sessions usually start."""
    local = (real_now() + timedelta(days=days_ahead)).astimezone(LONDON)
    return local.replace(minute=0, second=0, microsecond=0)


async def book(http: httpx.AsyncClient, therapist_id: str, start: datetime) -> httpx.Response:
    body = make_booking(start=start, therapist_id=therapist_id).model_dump(mode="json")
    return await http.post("/v1/sessions", json=body)


async def reserve(http: httpx.AsyncClient, therapist_id: str, at: datetime) -> httpx.Response:
    local = at.astimezone(LONDON)
    body: dict[str, Any] = {
        "client_id": unique("cli"),
        "weekday": local.weekday(),
        "local_time": local.strftime("%H:%M"),
        "duration_minutes": 50,
        "timezone": "Europe/London",
    }
    return await http.post(f"/v1/therapists/{therapist_id}/slots", json=body, headers=key())


def code(response: httpx.Response) -> str | None:
    return response.json().get("code") if response.status_code == 409 else None


async def test_a_weekly_slot_over_another_clients_booked_session_is_refused(http: httpx.AsyncClient) -> None:
    therapist = unique("thr")
    an_hour = on_the_hour(5)
    booked = await book(http, therapist, an_hour)

    over_it = await reserve(http, therapist, an_hour + 30 * MINUTE)
    beside_it = await reserve(http, therapist, an_hour + 50 * MINUTE)

    assert booked.status_code == 201, booked.text
    assert over_it.status_code == 409 and code(over_it) == "time_taken", over_it.text
    assert booked.json()["session_id"] in over_it.json()["message"]
    assert beside_it.status_code == 200, beside_it.text  # ends-at-start is not an overlap


async def test_many_overlapping_claims_at_once_exactly_one_of_each_overlapping_set_wins(
    http: httpx.AsyncClient, env: WorkflowEnvironment
) -> None:
    """Three rounds, each nine requests sent at once to one therapist: three bookings within one
    hour; three bookings of one time; two weekly reservations and a booking of one time. The
    practice accepts at most ten updates in flight, so a round stays below that."""
    for round_number in range(3):
        therapist = unique("thr")
        hour = on_the_hour(4 + round_number)
        staggered = [book(http, therapist, hour + offset * MINUTE) for offset in (0, 10, 20)]
        same_time = [book(http, therapist, hour + 2 * HOUR) for _ in range(3)]
        weekly = [reserve(http, therapist, hour + 4 * HOUR) for _ in range(2)]
        one_off = [book(http, therapist, hour + 4 * HOUR)]

        async with asyncio.timeout(WAIT):
            responses = await asyncio.gather(*staggered, *same_time, *weekly, *one_off)
        groups = [responses[0:3], responses[3:6], responses[6:9]]

        for group in groups:
            won = [response for response in group if response.status_code in (200, 201)]
            lost = [response for response in group if response not in won]
            assert len(won) == 1, [response.text for response in group]
            assert {code(response) for response in lost} <= {"time_taken", "slot_conflict"}, [
                response.text for response in lost
            ]
        state: PracticeState = await asyncio.wait_for(
            query_workflow(practice_handle(env.client, therapist), PRACTICE_STATE), WAIT
        )
        booked = {response.json()["session_id"] for response in responses if response.status_code == 201}
        assert set(state.claims) == booked
        active_slots = [slot for slot in state.slots.values() if slot.active]
        last_group_won_by_a_slot = groups[2][0].status_code == 200 or groups[2][1].status_code == 200
        assert len(active_slots) == (1 if last_group_won_by_a_slot else 0)
        # Every pair of claims held is disjoint.
        held = sorted(state.claims.values(), key=lambda claim: claim.start)
        assert all(earlier.end <= later.start for earlier, later in itertools.pairwise(held))
