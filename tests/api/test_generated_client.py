"""A whole lifecycle through the generated client alone (issue 16): what a backend team gets from
``openapi.json`` with openapi-python-client (``clients/python/``, ``make client``) is enough to book,
read, move, cancel, file the attendance update with a follow-up, refund and read the therapist's lists,
with typed models in and typed answers out. Every request goes over real HTTP to the API, the real
dev server and worker, and the Stripe stand-in; only time is driven from outside (the session's own
clock, with Temporal's per-workflow time skipping, as in test_lifecycle_api.py)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta
from http import HTTPStatus
from typing import Any, TypeVar

import httpx
import pytest_asyncio
from sessionflow_client import AuthenticatedClient
from sessionflow_client.api.sessions import (
    book_session,
    cancel_session,
    file_attendance,
    get_session,
    get_session_status,
    refund_session,
    reschedule_session,
)
from sessionflow_client.api.therapists import list_awaiting_updates, list_clients, list_slot_occurrences
from sessionflow_client.models import (
    Actor,
    AttendanceBody,
    AttendanceOutcome,
    AttendanceResult,
    BookingKind,
    BookingResponse,
    BookSessionBody,
    CancelBody,
    CancelReason,
    CancelResult,
    ClientsList,
    ContinueChoice,
    PaymentStatus,
    RefundBody,
    RefundReason,
    RelationshipStatus,
    RescheduleBody,
    RescheduleResult,
    SessionRefundResult,
    SessionState,
    SessionStatus,
    SessionStatusView,
    SlotOccurrences,
)
from sessionflow_client.types import Response
from temporalio.testing import WorkflowEnvironment

from settings import LOCAL_API_TOKEN
from temporal_client.session_client import session_handle
from tests.workflows.support import HOUR, WAIT, advance_to, make_booking, real_now

T = TypeVar("T")
SECOND = timedelta(seconds=1)
SPREAD = timedelta(minutes=10)  # README rule 2: the charge falls within 10 minutes after start − 48 h


@pytest_asyncio.fixture
async def api(api_url: str) -> AsyncIterator[AuthenticatedClient]:
    """The generated client as a backend would hold it: the bearer token, and a status the contract
    does not list raises (``UnexpectedStatus``) instead of passing as ``None``."""
    async with AuthenticatedClient(
        base_url=api_url, token=LOCAL_API_TOKEN, timeout=httpx.Timeout(30), raise_on_unexpected_status=True
    ) as client:
        yield client


def key() -> str:
    return f"req-{uuid.uuid4().hex}"


def answer(response: Response[Any], kind: type[T], status: HTTPStatus = HTTPStatus.OK) -> T:
    """The typed answer of a request expected to succeed (an ``ErrorBody`` fails with its text)."""
    assert response.status_code == status, response.content
    assert isinstance(response.parsed, kind), response.parsed
    return response.parsed


async def until(read: Callable[[], Awaitable[T]], done: Callable[[T], bool], what: str) -> T:
    """Read through the client until ``done``: bounded by WAIT, failing with the last answer."""
    last: T | None = None
    try:
        async with asyncio.timeout(WAIT):
            while True:
                last = await read()
                if done(last):
                    return last
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}; last answer: {last}") from None


async def test_a_lifecycle_driven_only_through_the_generated_client(
    api: AuthenticatedClient, env: WorkflowEnvironment, reads_at: Callable[[datetime], None]
) -> None:
    template = make_booking(start=real_now() + 72 * HOUR, client_timezone="America/New_York")
    therapist, client = f"therapist:{template.therapist_id}", f"client:{template.client_id}"

    def booking(session_id: str, start: datetime) -> BookSessionBody:
        """The generated model of the booking the other API tests send (``make_booking``), parsed by
        its own ``from_dict``: the test keeps working while the contract tightens a field's type
        (a currency or zone given as an enum regenerates as one)."""
        sent = template.model_copy(update={"session_id": session_id, "start": start})
        body = BookSessionBody.from_dict(sent.model_dump(mode="json", exclude_none=True))
        assert (body.kind, body.client_agreed) == (BookingKind.THERAPIST_FOLLOW_UP, True)
        return body

    async def state(session_id: str) -> SessionState:
        read = get_session.asyncio_detailed(session_id, client=api, acting_party=client)
        return answer(await read, SessionState)

    async def in_status(session_id: str, status: SessionStatus) -> SessionState:
        return await until(lambda: state(session_id), lambda s: s.status is status, f"{session_id} {status}")

    # Book: the therapist books a follow-up the client agreed to (charged at start − 48 h).
    session_id, start = template.session_id, template.start
    booked = answer(
        await book_session.asyncio_detailed(
            client=api, body=booking(session_id, start), acting_party=therapist
        ),
        BookingResponse,
        HTTPStatus.CREATED,
    )
    assert (booked.session_id, booked.status, booked.created) == (session_id, SessionStatus.SCHEDULED, True)
    assert booked.workflow_id == f"session-{session_id}"

    # Read: the client's detail view, typed down to the payment ledger; and the status a UI polls,
    # through the client's blocking flavour (run off the event loop that serves the API).
    read = await state(session_id)
    assert (read.kind, read.status, read.start) == (
        BookingKind.THERAPIST_FOLLOW_UP,
        SessionStatus.SCHEDULED,
        start,
    )
    assert (read.payment.status, read.payment.amount_minor, read.payment.currency) == (
        PaymentStatus.NOT_DUE,
        6000,
        "gbp",
    )
    polled = await asyncio.wait_for(
        asyncio.to_thread(get_session_status.sync, session_id, client=api, acting_party=client), WAIT
    )
    assert isinstance(polled, SessionStatusView)
    assert (polled.session_id, polled.status) == (session_id, SessionStatus.SCHEDULED)

    # Move: the client moves it a day later, with more than 48 hours' notice; nothing was taken yet,
    # so the charge time follows the new start.
    new_start = start + timedelta(days=1)
    moved = answer(
        await reschedule_session.asyncio_detailed(
            session_id,
            client=api,
            body=RescheduleBody(requested_by=Actor.CLIENT, new_start=new_start),
            idempotency_key=key(),
            acting_party=client,
        ),
        RescheduleResult,
    )
    assert (moved.session_id, moved.status, moved.start, moved.payment_carried) == (
        session_id,
        SessionStatus.SCHEDULED,
        new_start,
        False,
    )
    assert moved.next_charge_at is not None
    assert new_start - 48 * HOUR <= moved.next_charge_at <= new_start - 48 * HOUR + SPREAD

    # Cancel: a second session, cancelled by the client four days ahead: free, nothing kept.
    other_id = f"{session_id}_b"
    other = answer(
        await book_session.asyncio_detailed(
            client=api, body=booking(other_id, start + timedelta(days=3)), acting_party=therapist
        ),
        BookingResponse,
        HTTPStatus.CREATED,
    )
    assert other.status is SessionStatus.SCHEDULED
    cancelled = answer(
        await cancel_session.asyncio_detailed(
            other_id,
            client=api,
            body=CancelBody(requested_by=Actor.CLIENT, reason=CancelReason.CLIENT_REQUEST),
            idempotency_key=key(),
            acting_party=client,
        ),
        CancelResult,
    )
    assert (cancelled.session_id, cancelled.status, cancelled.free) == (
        other_id,
        SessionStatus.CANCELLED_FREE,
        True,
    )
    assert (cancelled.refund_minor, cancelled.charge_kept) == (0, False)

    # Charged off-session once the moved session is inside its 48 hours.
    handle = session_handle(env.client, session_id)
    await asyncio.wait_for(advance_to(env, handle, new_start - 47 * HOUR), WAIT)
    paid = await in_status(session_id, SessionStatus.PAID)
    assert paid.payment.status is PaymentStatus.PAID and paid.payment.amount_paid_minor == 6000
    assert isinstance(paid.payment.payment_intent_id, str) and paid.payment.payment_intent_id.startswith(
        "pi_"
    )

    # Past its end: awaiting the therapist's update, and in their Awaiting Updates list.
    new_end = new_start + timedelta(minutes=50)
    reads_at(await asyncio.wait_for(advance_to(env, handle, new_end + SECOND), WAIT))
    await in_status(session_id, SessionStatus.AWAITING_UPDATE)

    async def awaiting() -> list[str]:
        listed = await list_awaiting_updates.asyncio_detailed(
            template.therapist_id, client=api, acting_party=therapist
        )
        assert listed.status_code == HTTPStatus.OK and isinstance(listed.parsed, list), listed.content
        return listed.parsed

    assert await until(awaiting, lambda ids: session_id in ids, "the Awaiting Updates list") == [session_id]

    # Attendance: attended, the same time next week with the client's agreement, the slot reserved.
    # Sent twice with one Idempotency-Key: the retry answers the first outcome.
    update = AttendanceBody(
        outcome=AttendanceOutcome.ATTENDED,
        continue_sessions=ContinueChoice.SAME_TIME,
        client_agreed=True,
        reserve_slot=True,
    )
    attendance_key = key()

    async def file() -> AttendanceResult:
        sent = file_attendance.asyncio_detailed(
            session_id, client=api, body=update, idempotency_key=attendance_key, acting_party=therapist
        )
        return answer(await sent, AttendanceResult)

    filed = await file()
    filed_again = await file()
    assert filed_again == filed
    assert filed.status is SessionStatus.ATTENDED
    assert isinstance(filed.follow_up_session_id, str) and isinstance(filed.reserved_slot_id, str)
    follow_up_id, slot_id = filed.follow_up_session_id, filed.reserved_slot_id
    assert slot_id.startswith("slot_")
    assert filed.follow_up_start == new_start + timedelta(days=7)  # no clock change in between
    follow_up = await in_status(follow_up_id, SessionStatus.SCHEDULED)
    assert (follow_up.kind, follow_up.client_id, follow_up.start) == (
        BookingKind.THERAPIST_FOLLOW_UP,
        template.client_id,
        new_start + timedelta(days=7),
    )
    await in_status(session_id, SessionStatus.COMPLETED)

    # Refund: the therapist returns part of it after it completed (a reason code, no free text).
    refunded = answer(
        await refund_session.asyncio_detailed(
            session_id,
            client=api,
            body=RefundBody(reason=RefundReason.SESSION_CUT_SHORT, amount_minor=2000),
            idempotency_key=key(),
            acting_party=therapist,
        ),
        SessionRefundResult,
    )
    assert (refunded.session_id, refunded.amount_minor, refunded.currency) == (session_id, 2000, "gbp")
    assert (refunded.refunded_total_minor, refunded.refundable_minor) == (2000, 4000)

    # The therapist's lists: their client (active), the list without the filed session, the slot's
    # weekly occurrences (this week's and the next).
    clients = answer(
        await list_clients.asyncio_detailed(template.therapist_id, client=api, acting_party=therapist),
        ClientsList,
    )
    assert isinstance(clients.clients, list)
    [relationship] = [r for r in clients.clients if r.client_id == template.client_id]
    assert relationship.status is RelationshipStatus.ACTIVE
    await until(awaiting, lambda ids: session_id not in ids, "the list without the session")
    occurrences = answer(
        await list_slot_occurrences.asyncio_detailed(
            template.therapist_id,
            client=api,
            start_date=new_start.date(),
            end_date=(new_start + timedelta(days=8)).date(),
            acting_party=therapist,
        ),
        SlotOccurrences,
    )
    assert isinstance(occurrences.occurrences, list)
    assert [(o.slot_id, o.client_id) for o in occurrences.occurrences] == [(slot_id, template.client_id)] * 2
    assert [o.start for o in occurrences.occurrences] == [new_start, new_start + timedelta(days=7)]
