"""The status a UI polls (``GET /v1/sessions/{id}/status``) is read from Temporal's record of the
session (a describe: not billed), never by querying its workflow; the detail view still queries."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
from temporalio.common import SearchAttributePair
from temporalio.testing import WorkflowEnvironment

from contract.ids import session_workflow_id
from contract.search_attributes import SESSION_STATUS, session_search_attributes
from contract.session import SESSION_WORKFLOW_TYPE, SessionHandle
from domain.booking import SessionBooking
from domain.state import SessionState, SessionWorkflowInput
from domain.status import BookingKind, SessionStatus
from tests.api.conftest import acting
from tests.api.polling import poll
from tests.workflows.support import HOUR, STARTED, TEST_POLICY, WAIT, make_booking, real_now, unique

# A query needs a worker and waits this long for one before the API answers 503: a status read
# that returns well within it cannot have been a query.
QUERY_WOULD_WAIT = 5.0


async def _parked(
    env: WorkflowEnvironment, booking: SessionBooking, status: SessionStatus | None = None
) -> SessionHandle:
    """A session whose workflow no worker runs: only Temporal's record of it can answer. With
    ``status``, its SessionStatus search attribute says so (as the session would have recorded)."""
    attributes = session_search_attributes(booking)
    if status is not None:
        attributes = attributes.updated(SearchAttributePair(SESSION_STATUS, status.value))
    handle: SessionHandle = await asyncio.wait_for(
        env.client.start_workflow(
            SESSION_WORKFLOW_TYPE,
            SessionWorkflowInput(booking=booking, policy=TEST_POLICY, booked_at=real_now()),
            id=session_workflow_id(booking.session_id),
            task_queue=unique("nobody-polls"),
            result_type=SessionState,
            execution_timeout=timedelta(minutes=5),
            search_attributes=attributes,
        ),
        WAIT,
    )
    STARTED.append(handle)
    return handle


def _prepaid(start_in: timedelta) -> SessionBooking:
    return make_booking(
        BookingKind.INITIAL_PREPAID, start=real_now() + start_in, prepaid_payment_intent_id=unique("pi")
    )


async def test_a_ui_polls_the_status_without_asking_the_session_workflow(
    env: WorkflowEnvironment, http: httpx.AsyncClient
) -> None:
    booking = _prepaid(100 * HOUR)
    await _parked(env, booking)
    client = acting("client", booking.client_id)

    async with asyncio.timeout(QUERY_WOULD_WAIT - 1):
        status = await http.get(f"/v1/sessions/{booking.session_id}/status", headers=client)

    assert status.status_code == 200, status.text
    assert status.json() == {
        "session_id": booking.session_id,
        "status": "paid",
        "start": booking.start.isoformat().replace("+00:00", "Z"),
        "end": (booking.start + booking.duration).isoformat().replace("+00:00", "Z"),
    }


async def test_a_paid_session_past_its_end_reads_awaiting_update(
    env: WorkflowEnvironment, http: httpx.AsyncClient
) -> None:
    # No timer marks the end: the SessionEnd search attribute and the API's clock do.
    booking = _prepaid(-2 * HOUR)
    await _parked(env, booking)
    therapist = acting("therapist", booking.therapist_id)

    status = await http.get(f"/v1/sessions/{booking.session_id}/status", headers=therapist)

    assert status.status_code == 200, status.text
    assert status.json()["status"] == "awaiting_update"


async def test_a_stranger_polling_a_sessions_status_gets_the_unknown_session_404(
    env: WorkflowEnvironment, http: httpx.AsyncClient
) -> None:
    booking = _prepaid(100 * HOUR)
    await _parked(env, booking)

    strangers = [
        await http.get(f"/v1/sessions/{booking.session_id}/status", headers=acting(role, unique(prefix)))
        for role, prefix in (("client", "cli"), ("therapist", "thr"))
    ]
    other_client_of_the_therapist = await http.get(
        f"/v1/sessions/{booking.session_id}/status", headers=acting("client", booking.therapist_id)
    )
    unknown = await http.get(f"/v1/sessions/{unique('ses')}/status")

    assert unknown.status_code == 404
    for refused in (*strangers, other_client_of_the_therapist):
        assert refused.status_code == 404 and refused.json() == unknown.json()


async def test_the_status_of_a_booked_session_follows_its_workflow(http: httpx.AsyncClient) -> None:
    booking = make_booking(start=real_now() + 100 * HOUR)
    body = booking.model_dump(mode="json")
    assert (await http.post("/v1/sessions", json=body)).status_code == 201

    status = await http.get(f"/v1/sessions/{booking.session_id}/status")
    detail = await http.get(f"/v1/sessions/{booking.session_id}")

    assert status.status_code == 200 and status.json()["status"] == "scheduled"
    assert detail.status_code == 200 and detail.json()["status"] == status.json()["status"]


async def test_the_awaiting_updates_list_holds_every_session_past_its_end_not_yet_updated(
    env: WorkflowEnvironment, http: httpx.AsyncClient
) -> None:
    # Past its end a session still scheduled or paid awaits its update without recording it (no
    # timer marks the end): the list reads SessionEnd with the API's clock, besides the sessions
    # that record awaiting_update (booked before SessionEnd existed, or changed after their end)
    # or client_no_show.
    therapist = unique("thr")

    def booking(start_in: timedelta, kind: BookingKind = BookingKind.THERAPIST_FOLLOW_UP) -> SessionBooking:
        extra = {"prepaid_payment_intent_id": unique("pi")} if kind is BookingKind.INITIAL_PREPAID else {}
        return make_booking(kind, start=real_now() + start_in, therapist_id=therapist, **extra)

    paid_ended = booking(-3 * HOUR, BookingKind.INITIAL_PREPAID)
    scheduled_ended = booking(-5 * HOUR)
    recorded = booking(-7 * HOUR)
    no_show = booking(-30 * timedelta(minutes=1))
    paid_ahead = booking(5 * HOUR, BookingKind.INITIAL_PREPAID)
    cancelled_ended = booking(-4 * HOUR)
    attended = booking(-6 * HOUR)
    for parked, status in (
        (paid_ended, None),
        (scheduled_ended, None),
        (recorded, SessionStatus.AWAITING_UPDATE),
        (no_show, SessionStatus.CLIENT_NO_SHOW),
        (paid_ahead, None),
        (cancelled_ended, SessionStatus.CANCELLED_LATE),
        (attended, SessionStatus.ATTENDED),
    ):
        await _parked(env, parked, status)
    due = [recorded.session_id, scheduled_ended.session_id, paid_ended.session_id, no_show.session_id]

    listed = await poll(
        http,
        f"/v1/therapists/{therapist}/awaiting-updates",
        lambda ids: len(ids) >= len(due),
        "the sessions awaiting their update",
    )

    assert listed == due  # oldest first; none ahead of its end, cancelled or updated
