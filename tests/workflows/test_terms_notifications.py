"""Who is told what (issue 12 §1), through the real SessionWorkflow on the dev server, the real
stripe client against the stand-in, and the verifying notification sink: each test is one line of
the marketplace's terms (``../shared/reference/domain.md`` §1.2–1.8). The pure rules behind them
are in ``tests/unit/test_terms_notices.py``.

A session's notifications are all delivered before its workflow completes (it waits for its
outbox), so a test that awaits the result has seen every notification the session sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from contract.messages import ArgT, ResultT, Update
from contract.practice import PRACTICE_END_RELATIONSHIP, PRACTICE_RELEASE_SLOTS, PRACTICE_RESERVE_SLOT
from dev.notification_sink import NotificationSink
from domain.attendance import AttendanceOutcome, AttendanceUpdate
from domain.commands import CancelRequest, PaymentMethodUpdate, RescheduleRequest
from domain.notifications import Audience, Channel, Notification, NotificationType
from domain.practice import EndReason, EndRelationship, ReleaseSlots, ReserveSlot
from domain.slots import WeeklySlotRule
from domain.state import SessionState
from domain.status import Actor, BookingKind, CancelReason, SessionStatus
from temporal_client.practice_client import practice_handle, practice_update
from tests.workflows.support import (
    HOUR,
    STARTED,
    WAIT,
    SessionHandle,
    advance_to,
    declined_at_the_charge,
    make_booking,
    real_now,
    result_of,
    start,
    unique,
    wait_for_state,
)
from tests.workflows.test_attendance import (
    ATTENDED_NO_REBOOK,
    SAME_TIME_AGREED,
    ended_session,
    file,
    reserve,
)
from workflows.session import SessionWorkflow

SECOND = timedelta(seconds=1)
DAY = 24 * HOUR

T = NotificationType
CLIENT, THERAPIST, BOTH = Audience.CLIENT, Audience.THERAPIST, Audience.BOTH

Heard = tuple[NotificationType, Audience, bool]
"""(type, audience, confirmation): one line of who was told what."""


def heard(sink: NotificationSink, session_id: str) -> list[Notification]:
    # Delivery is at least once: a retried POST arrives again under the same event id.
    unique_events = {n.event_id: n for n in sink.received if n.session_id == session_id}
    return list(unique_events.values())


def lines(notifications: list[Notification]) -> set[Heard]:
    return {(n.type, n.audience, n.confirmation) for n in notifications}


async def wait_heard(
    sink: NotificationSink, session_id: str, type_: NotificationType, count: int = 1
) -> list[Notification]:
    return await sink.wait_for_async(
        lambda n: n.session_id == session_id and n.type is type_, WAIT, count=count
    )


async def cancel(handle: SessionHandle, by: Actor, reason: CancelReason) -> None:
    request = CancelRequest(requested_by=by, reason=reason)
    await asyncio.wait_for(handle.execute_update(SessionWorkflow.cancel, request), WAIT)


async def paid_follow_up(env: WorkflowEnvironment, worker: Worker) -> tuple[str, SessionHandle]:
    """A therapist follow-up three days out, charged at start − 48 h."""
    booking = make_booking(start=real_now() + 72 * HOUR)
    handle = await start(env.client, booking, worker.task_queue)
    await advance_to(env, handle, booking.start - 47 * HOUR)
    await wait_for_state(handle, lambda s: s.status is SessionStatus.PAID, "the charge")
    return booking.session_id, handle


def reminded(count: int) -> Callable[[SessionState], bool]:
    return lambda state: state.reminders_sent >= count


# ── bookings ─────────────────────────────────────────────────────────────────────────────────


async def test_a_client_booking_is_confirmed_to_the_client_and_told_to_the_therapist(
    env: WorkflowEnvironment, worker: Worker, notification_sink: NotificationSink
) -> None:
    booking = make_booking(BookingKind.CLIENT_FOLLOW_UP, start=real_now() + 72 * HOUR)
    await start(env.client, booking, worker.task_queue)

    await wait_heard(notification_sink, booking.session_id, T.BOOKING_CONFIRMED, count=2)
    await wait_heard(notification_sink, booking.session_id, T.CHARGE_SUCCEEDED)

    assert lines(heard(notification_sink, booking.session_id)) == {
        (T.BOOKING_CONFIRMED, CLIENT, True),
        (T.BOOKING_CONFIRMED, THERAPIST, False),
        (T.CHARGE_SUCCEEDED, CLIENT, False),  # the receipt: the client's only
    }


# ── cancellations and moves ──────────────────────────────────────────────────────────────────


async def test_a_therapist_cancelling_tells_the_client_and_confirms_to_the_therapist(
    env: WorkflowEnvironment, worker: Worker, notification_sink: NotificationSink
) -> None:
    session_id, handle = await paid_follow_up(env, worker)

    await cancel(handle, Actor.THERAPIST, CancelReason.THERAPIST_UNAVAILABLE)
    await result_of(handle)  # refunded, every notification delivered

    told = heard(notification_sink, session_id)
    assert lines(told) == {
        (T.FOLLOW_UP_BOOKED, CLIENT, False),
        (T.BOOKING_CONFIRMED, THERAPIST, True),
        (T.CHARGE_SUCCEEDED, CLIENT, False),
        (T.SESSION_CANCELLED, CLIENT, False),
        (T.SESSION_CANCELLED, THERAPIST, True),
        (T.REFUND_ISSUED, CLIENT, False),
    }
    cancelled = [n for n in told if n.type is T.SESSION_CANCELLED]
    assert {n.codes["free"] for n in cancelled} == {"true"}
    assert {n.codes["requested_by"] for n in cancelled} == {"therapist"}


async def test_a_client_cancelling_48_hours_ahead_or_less_is_told_it_was_late(
    env: WorkflowEnvironment, worker: Worker, notification_sink: NotificationSink
) -> None:
    session_id, handle = await paid_follow_up(env, worker)

    await cancel(handle, Actor.CLIENT, CancelReason.CLIENT_REQUEST)
    final = await result_of(handle)

    assert final.status is SessionStatus.CANCELLED_LATE
    cancelled = [n for n in heard(notification_sink, session_id) if n.type is T.SESSION_CANCELLED]
    assert lines(cancelled) == {(T.SESSION_CANCELLED, THERAPIST, False), (T.SESSION_CANCELLED, CLIENT, True)}
    assert {n.codes["free"] for n in cancelled} == {"false"}
    assert T.REFUND_ISSUED not in {n.type for n in heard(notification_sink, session_id)}


async def test_a_client_moving_a_session_tells_the_therapist_and_confirms_to_the_client(
    env: WorkflowEnvironment, worker: Worker, notification_sink: NotificationSink
) -> None:
    booking = make_booking(start=real_now() + 96 * HOUR)
    handle = await start(env.client, booking, worker.task_queue)
    move = RescheduleRequest(requested_by=Actor.CLIENT, new_start=booking.start + DAY)

    await asyncio.wait_for(handle.execute_update(SessionWorkflow.reschedule, move), WAIT)

    moved = await wait_heard(notification_sink, booking.session_id, T.SESSION_RESCHEDULED, count=2)
    assert lines(moved) == {(T.SESSION_RESCHEDULED, THERAPIST, False), (T.SESSION_RESCHEDULED, CLIENT, True)}
    assert {n.codes["late"] for n in moved} == {"false"}


# ── payments ─────────────────────────────────────────────────────────────────────────────────


async def test_a_decline_tells_both_and_a_new_cards_payment_is_a_receipt_and_a_recovery(
    env: WorkflowEnvironment, worker: Worker, notification_sink: NotificationSink
) -> None:
    booking, handle, _ = await declined_at_the_charge(
        env, worker.task_queue, "pm_card_chargeDeclinedInsufficientFunds"
    )
    failed = await wait_heard(notification_sink, booking.session_id, T.CHARGE_FAILED, count=2)

    new_card = PaymentMethodUpdate(payment_method_id=unique("pm_card_visa"))
    await asyncio.wait_for(handle.execute_update(SessionWorkflow.update_payment_method, new_card), WAIT)
    await wait_for_state(handle, lambda s: s.status is SessionStatus.PAID, "the new card's charge")
    [recovered] = await wait_heard(notification_sink, booking.session_id, T.PAYMENT_RECOVERED)
    [receipt] = await wait_heard(notification_sink, booking.session_id, T.CHARGE_SUCCEEDED)

    client, therapist = sorted(failed, key=lambda n: n.audience != CLIENT)
    assert (client.audience, therapist.audience) == (CLIENT, THERAPIST)
    assert client.codes["decline_kind"] == therapist.codes["decline_kind"] == "soft"
    assert client.codes["decline_code"] == "insufficient_funds"
    assert client.codes["action"] == "pay_by_link" and "action" not in therapist.codes
    assert (receipt.audience, recovered.audience) == (CLIENT, THERAPIST)
    assert recovered.amount_minor == booking.amount_minor


async def test_action_required_goes_to_the_client_the_therapist_hears_it_is_pending_and_reminders_follow(
    env: WorkflowEnvironment, worker: Worker, notification_sink: NotificationSink
) -> None:
    booking = make_booking(start=real_now() + 72 * HOUR, payment_method="pm_card_authenticationRequired")
    handle = await start(env.client, booking, worker.task_queue)
    await advance_to(env, handle, booking.start - 48 * HOUR + SECOND)
    await wait_for_state(
        handle, lambda s: s.status is SessionStatus.AWAITING_CLIENT_ACTION, "the SCA decline"
    )
    [action] = await wait_heard(notification_sink, booking.session_id, T.ACTION_REQUIRED)
    [pending] = await wait_heard(notification_sink, booking.session_id, T.PAYMENT_PENDING)

    for number, before_start in ((1, 24 * HOUR), (2, 12 * HOUR)):
        await advance_to(env, handle, booking.start - before_start + SECOND)
        await wait_heard(notification_sink, booking.session_id, T.PAYMENT_REMINDER, count=number)
    await advance_to(env, handle, booking.start - HOUR + SECOND)
    final = await result_of(handle)

    assert final.status is SessionStatus.CANCELLED_UNPAID
    assert (action.audience, pending.audience) == (CLIENT, THERAPIST)
    assert action.payment_intent_client_secret is not None and pending.payment_intent_client_secret is None
    reminders = sorted(
        (n for n in heard(notification_sink, booking.session_id) if n.type is T.PAYMENT_REMINDER),
        key=lambda n: n.reminder_number or 0,
    )
    assert [(n.reminder_number, n.audience, n.codes["action"]) for n in reminders] == [
        (1, CLIENT, "authenticate"),
        (2, CLIENT, "authenticate"),
    ]
    for reminder, before_start in zip(reminders, (24 * HOUR, 12 * HOUR), strict=True):
        due = booking.start - before_start  # at the attempt instant
        assert due <= reminder.occurred_at <= due + 5 * 60 * SECOND
    [auto] = [n for n in heard(notification_sink, booking.session_id) if n.type is T.AUTO_CANCELLED]
    assert auto.audience is BOTH


# ── after the session ────────────────────────────────────────────────────────────────────────


async def test_a_released_reserved_slot_is_told_to_the_therapist_in_app_and_never_to_the_client(
    env: WorkflowEnvironment, worker: Worker, notification_sink: NotificationSink
) -> None:
    session, handle = await ended_session(env, worker)
    reserved = await reserve(env, worker, session, session.client_id, session.start)

    result = await file(handle, ATTENDED_NO_REBOOK)
    await result_of(handle)

    assert result.released_slot_ids == [reserved.slot_id]
    [released] = [n for n in heard(notification_sink, session.session_id) if n.type is T.SLOT_RELEASED]
    assert (released.audience, released.channel, released.slot_id) == (
        THERAPIST,
        Channel.IN_APP,
        reserved.slot_id,
    )


async def test_a_follow_up_with_its_slot_tells_the_client_it_is_booked_and_confirms_both_to_the_therapist(
    env: WorkflowEnvironment, worker: Worker, notification_sink: NotificationSink
) -> None:
    session, handle = await ended_session(env, worker)

    result = await file(handle, SAME_TIME_AGREED.model_copy(update={"reserve_slot": True}))
    await result_of(handle)

    follow_up_id = result.follow_up_session_id
    assert follow_up_id is not None and result.reserved_slot_id is not None
    await wait_heard(notification_sink, follow_up_id, T.BOOKING_CONFIRMED)
    [booked] = await wait_heard(notification_sink, follow_up_id, T.FOLLOW_UP_BOOKED)
    assert lines(heard(notification_sink, follow_up_id)) == {
        (T.FOLLOW_UP_BOOKED, CLIENT, False),
        (T.BOOKING_CONFIRMED, THERAPIST, True),
    }
    assert booked.related_session_id == session.session_id
    parents = heard(notification_sink, session.session_id)
    [slot] = [n for n in parents if n.type is T.SLOT_RESERVED]
    assert (slot.audience, slot.channel, slot.slot_id) == (THERAPIST, Channel.IN_APP, result.reserved_slot_id)
    # Announced once, by the follow-up itself (the parent's own follow_up_booked is its booking).
    assert [n.related_session_id for n in parents if n.type is T.FOLLOW_UP_BOOKED] == [None]


async def test_ending_the_relationship_is_a_dated_note_on_the_clients_dashboard_and_a_therapist_confirmation(
    env: WorkflowEnvironment, worker: Worker, notification_sink: NotificationSink
) -> None:
    session, handle = await ended_session(env, worker)
    update = AttendanceUpdate(
        outcome=AttendanceOutcome.ATTENDED, end_relationship=True, end_reason=EndReason.TREATMENT_COMPLETE
    )

    await file(handle, update)
    final = await result_of(handle)

    ended = [n for n in heard(notification_sink, session.session_id) if n.type is T.RELATIONSHIP_ENDED]
    note, confirmation = sorted(ended, key=lambda n: n.audience != CLIENT)
    assert (note.audience, note.channel, note.confirmation) == (CLIENT, Channel.DASHBOARD_NOTE, False)
    assert note.codes == {}  # the therapist's reason is not the client's to read
    assert final.attendance is not None and note.occurred_at >= final.attendance.at  # the note's date
    assert (confirmation.audience, confirmation.confirmation) == (THERAPIST, True)
    assert confirmation.codes == {"reason": "treatment_complete"}


async def test_the_therapist_is_reminded_of_the_attendance_update_at_24_hours_72_hours_and_7_days(
    env: WorkflowEnvironment, worker: Worker, notification_sink: NotificationSink
) -> None:
    session, handle = await ended_session(env, worker)

    for number, offset in ((1, DAY), (2, 3 * DAY), (3, 7 * DAY)):
        await advance_to(env, handle, session.end + offset + SECOND)
        await wait_for_state(handle, reminded(number), f"reminder {number}")
    await advance_to(env, handle, session.end + 30 * DAY)
    await wait_heard(notification_sink, session.session_id, T.ATTENDANCE_UPDATE_DUE, count=3)

    reminders = [n for n in heard(notification_sink, session.session_id) if n.type is T.ATTENDANCE_UPDATE_DUE]
    assert sorted(n.reminder_number or 0 for n in reminders) == [1, 2, 3]  # and none after the last
    assert {n.audience for n in reminders} == {THERAPIST}
    for reminder in reminders:
        offset = (DAY, 3 * DAY, 7 * DAY)[(reminder.reminder_number or 1) - 1]
        assert session.end + offset <= reminder.occurred_at <= session.end + offset + 5 * 60 * SECOND


# ── the therapist's own dashboard actions on their practice ──────────────────────────────────


async def dashboard(
    env: WorkflowEnvironment, worker: Worker, therapist_id: str, update: Update[ArgT, ResultT], command: ArgT
) -> ResultT:
    """A command as the API sends it for the therapist acting in the dashboard (``announce``)."""
    result = await asyncio.wait_for(
        practice_update(
            env.client,
            therapist_id,
            "Europe/London",
            update,
            command,
            request_id=unique("req"),
            task_queue=worker.task_queue,
        ),
        WAIT,
    )
    handle: Any = practice_handle(env.client, therapist_id)
    if all(started.id != handle.id for started in STARTED):
        STARTED.append(handle)  # its history is recorded for the replay test
    return result


def practice_heard(sink: NotificationSink, therapist_id: str) -> list[Notification]:
    unique_events = {n.event_id: n for n in sink.received if n.therapist_id == therapist_id}
    return list(unique_events.values())


async def test_a_slot_added_or_removed_in_the_dashboard_is_told_to_the_therapist_in_app_never_the_client(
    env: WorkflowEnvironment, worker: Worker, notification_sink: NotificationSink
) -> None:
    therapist_id, client_id = unique("thr"), unique("cli")
    rule = WeeklySlotRule.from_start(real_now() + 72 * HOUR, "Europe/London", 50)

    reserved = await dashboard(
        env,
        worker,
        therapist_id,
        PRACTICE_RESERVE_SLOT,
        ReserveSlot(client_id=client_id, rule=rule, announce=True),
    )
    released = await dashboard(
        env, worker, therapist_id, PRACTICE_RELEASE_SLOTS, ReleaseSlots(client_id=client_id, announce=True)
    )
    await notification_sink.wait_for_async(
        lambda n: n.therapist_id == therapist_id and n.type is T.SLOT_RELEASED, WAIT
    )

    assert released.released_slot_ids == [reserved.slot_id]
    told = practice_heard(notification_sink, therapist_id)
    assert sorted((n.type, n.audience, n.channel, n.slot_id) for n in told) == [
        (T.SLOT_RELEASED, THERAPIST, Channel.IN_APP, reserved.slot_id),
        (T.SLOT_RESERVED, THERAPIST, Channel.IN_APP, reserved.slot_id),
    ]


async def test_ending_a_relationship_in_the_dashboard_is_a_dated_client_note_and_a_therapist_confirmation(
    env: WorkflowEnvironment, worker: Worker, notification_sink: NotificationSink
) -> None:
    therapist_id, client_id = unique("thr"), unique("cli")

    await dashboard(
        env,
        worker,
        therapist_id,
        PRACTICE_END_RELATIONSHIP,
        EndRelationship(client_id=client_id, reason=EndReason.CLIENT_REQUEST, announce=True),
    )
    await notification_sink.wait_for_async(lambda n: n.therapist_id == therapist_id, WAIT, count=2)

    note, confirmation = sorted(
        practice_heard(notification_sink, therapist_id), key=lambda n: n.audience != CLIENT
    )
    assert (note.type, note.audience, note.channel, note.codes) == (
        T.RELATIONSHIP_ENDED,
        CLIENT,
        Channel.DASHBOARD_NOTE,
        {},
    )
    assert note.client_id == client_id and note.occurred_at is not None  # the note's date and time
    assert (confirmation.audience, confirmation.confirmation) == (THERAPIST, True)
    assert confirmation.codes == {"reason": "client_request"}
