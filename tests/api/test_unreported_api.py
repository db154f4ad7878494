"""Through the API: a session booked with the configured deadline for its attendance update
(``SESSIONFLOW_UNREPORTED_AFTER_DAYS``, fixed into its policy at booking) closes as ``unreported``
when the update never comes, and every read shows it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from api.app import create_app
from settings import Settings
from temporal_client.session_client import session_handle
from tests.api.conftest import ADMIN, AUTH, acting
from tests.api.polling import wait_for_status
from tests.api.serving import serving
from tests.workflows.support import HOUR, WAIT, advance_to, make_booking, real_now, result_of

DAY = 24 * HOUR
SECOND = timedelta(seconds=1)
CONFIGURED_DAYS = 10
"""Not the default 30: the booking must take the deadline from the API's settings."""


@pytest_asyncio.fixture
async def ten_day_api(
    env: WorkflowEnvironment, worker: Worker, settings: Settings
) -> AsyncIterator[httpx.AsyncClient]:
    configured = settings.model_copy(
        update={"task_queue": worker.task_queue, "unreported_after_days": CONFIGURED_DAYS}
    )
    async with (
        serving(create_app(configured, client=env.client)) as url,
        httpx.AsyncClient(base_url=url, headers={**AUTH, **ADMIN}, timeout=30) as http,
    ):
        yield http


async def test_a_session_booked_through_the_api_closes_unreported_at_the_configured_deadline(
    ten_day_api: httpx.AsyncClient, env: WorkflowEnvironment
) -> None:
    http = ten_day_api
    booking = make_booking(start=real_now() + 72 * HOUR)
    handle = session_handle(env.client, booking.session_id)
    booked = await http.post("/v1/sessions", json=booking.model_dump(mode="json"))
    assert booked.status_code == 201, booked.text
    await asyncio.wait_for(advance_to(env, handle, booking.start - 47 * HOUR), WAIT)
    await wait_for_status(http, booking.session_id, "paid")

    # Past the configured deadline (after the three reminders), no update having come.
    await asyncio.wait_for(advance_to(env, handle, booking.end + CONFIGURED_DAYS * DAY + SECOND), WAIT)
    final = await result_of(handle)

    assert final.status.value == "unreported"
    therapist = acting("therapist", booking.therapist_id)
    detail = await http.get(f"/v1/sessions/{booking.session_id}", headers=therapist)
    assert detail.status_code == 200, detail.text
    assert detail.json()["status"] == "unreported"
    assert detail.json()["payment"]["status"] == "paid"  # the charge is kept
    status = await http.get(f"/v1/sessions/{booking.session_id}/status", headers=therapist)
    assert status.json()["status"] == "unreported"
    awaiting = await http.get(f"/v1/therapists/{booking.therapist_id}/awaiting-updates", headers=therapist)
    assert booking.session_id not in awaiting.json()
    late = await http.post(
        f"/v1/sessions/{booking.session_id}/attendance",
        json={"outcome": "attended"},
        headers={**therapist, "Idempotency-Key": f"late-{booking.session_id}"},
    )
    assert late.status_code == 409 and late.json()["code"] == "session_closed"
