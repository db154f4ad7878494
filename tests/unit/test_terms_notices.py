"""Who is told what, by the marketplace's terms (issue 12 §1), at unit speed: the pure notice rules
of ``domain.session``, ``domain.session_commands`` and ``domain.session_attendance``.

Each test reads as one line of the terms. Sessions here are on the terms' notices
(``Session.terms_notices``, what ``SessionWorkflow`` sets past ``workflow.patched``); the last tests
show a session booked before keeps its old notices. The same paths through a real server are in
``tests/workflows/test_terms_notifications.py``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain import practice, practice_notices
from domain import session as machine
from domain import session_attendance as attendance
from domain import session_commands as commands
from domain.attendance import AttendanceOutcome, AttendanceUpdate
from domain.commands import CancelRequest, RescheduleRequest
from domain.notifications import Audience, Channel, Notification, NotificationType
from domain.payments import ChargeOutcome, ChargeResult, PaymentEvent, RefundRequest, RefundResult
from domain.policy import DEFAULT_POLICY, SessionPolicy
from domain.practice import EndReason
from domain.session import NextStep, Notice, Session, Step
from domain.slots import WeeklySlotRule
from domain.state import SessionWorkflowInput
from domain.status import Actor, BookingKind, CancelReason, DeclineKind, PaymentStatus
from tests.unit.session_sim import PRICE, open_session

H = timedelta(hours=1)
START = datetime(2027, 6, 15, 17, 0, tzinfo=UTC)
BOOKED = START - 10 * 24 * H

SOFT = ChargeResult(
    outcome=ChargeOutcome.DECLINED,
    payment_intent_id="pi_1",
    decline_kind=DeclineKind.SOFT,
    code="card_declined",
    decline_code="insufficient_funds",
)
HARD = SOFT.model_copy(update={"decline_kind": DeclineKind.HARD, "decline_code": "expired_card"})
SCA = ChargeResult(
    outcome=ChargeOutcome.REQUIRES_ACTION,
    payment_intent_id="pi_1",
    client_secret="pi_1_secret_abc",
    decline_kind=DeclineKind.AUTHENTICATION_REQUIRED,
)
PAID = ChargeResult(outcome=ChargeOutcome.SUCCEEDED, payment_intent_id="pi_1")


def book(kind: BookingKind = BookingKind.THERAPIST_FOLLOW_UP, *, terms: bool = True) -> Session:
    session = open_session(kind, START, BOOKED)
    session.terms_notices = terms
    return session


def charge(session: Session, at: datetime, result: ChargeResult) -> list[Notice]:
    return machine.finish_charge(session, machine.begin_charge(session, at), result)


def delivered(notice: Notice) -> Notification:
    """The notification as the backend receives it (its channel is the catalogue's)."""
    return notice.to_notification(book(), START)


def told(notices: list[Notice]) -> list[tuple[NotificationType, Audience, bool]]:
    return [(n.type, n.audience, n.confirmation) for n in notices]


def cancel(session: Session, by: Actor, at: datetime) -> list[Notice]:
    request = CancelRequest(requested_by=by, reason=CancelReason.OTHER)
    return commands.cancel(session, request, at, at)[1]


def audiences_of(notices: list[Notice], type_: NotificationType) -> set[Audience]:
    return {n.audience for n in notices if n.type is type_}


# ── bookings ─────────────────────────────────────────────────────────────────────────────────


def test_a_client_booking_is_confirmed_to_the_client_and_told_to_the_therapist() -> None:
    for kind in (BookingKind.CLIENT_FOLLOW_UP, BookingKind.INITIAL_PREPAID):
        notices = machine.booking_notices(book(kind))

        assert told(notices) == [
            (NotificationType.BOOKING_CONFIRMED, Audience.CLIENT, True),
            (NotificationType.BOOKING_CONFIRMED, Audience.THERAPIST, False),
        ]
        assert {n.fields["amount_minor"] for n in notices} == {PRICE}


def test_a_therapist_booked_session_tells_the_client_follow_up_booked_and_confirms_to_the_therapist() -> None:
    for kind in (BookingKind.THERAPIST_FOLLOW_UP, BookingKind.THERAPIST_MANUAL):
        notices = machine.booking_notices(book(kind))

        assert told(notices) == [
            (NotificationType.FOLLOW_UP_BOOKED, Audience.CLIENT, False),
            (NotificationType.BOOKING_CONFIRMED, Audience.THERAPIST, True),
        ]
        assert notices[1].fields["codes"] == {"booked_by": "therapist", "kind": kind.value}


def test_a_follow_up_booked_by_the_attendance_update_is_announced_by_the_follow_up_itself() -> None:
    parent = book(BookingKind.INITIAL_PREPAID)

    # The parent no longer announces it: the follow-up's own booking notices do (once, to the client).
    follow_up = SessionWorkflowInput(booking=book().booking, booked_at=BOOKED)
    assert attendance.follow_up_notices(parent, follow_up) == []
    before = book(BookingKind.INITIAL_PREPAID, terms=False)
    [announced] = attendance.follow_up_notices(before, follow_up)  # sessions from before: as they did
    assert (announced.type, announced.audience) == (NotificationType.FOLLOW_UP_BOOKED, Audience.CLIENT)


# ── cancellations ────────────────────────────────────────────────────────────────────────────


def test_a_therapist_cancelling_tells_the_client_and_confirms_to_the_therapist() -> None:
    notices = cancel(book(), Actor.THERAPIST, START - 72 * H)

    assert told(notices) == [
        (NotificationType.SESSION_CANCELLED, Audience.CLIENT, False),
        (NotificationType.SESSION_CANCELLED, Audience.THERAPIST, True),
    ]
    assert {n.fields["codes"]["free"] for n in notices} == {"true"}
    assert len({n.sequence for n in notices}) == 2  # two events, two ids


def test_a_client_cancelling_more_than_48_hours_ahead_is_told_it_was_free() -> None:
    notices = cancel(book(), Actor.CLIENT, START - 48 * H - timedelta(seconds=1))

    assert told(notices) == [
        (NotificationType.SESSION_CANCELLED, Audience.THERAPIST, False),
        (NotificationType.SESSION_CANCELLED, Audience.CLIENT, True),
    ]
    [confirmation] = [n for n in notices if n.confirmation]
    assert confirmation.fields["codes"]["free"] == "true"


def test_a_client_cancelling_48_hours_ahead_or_less_is_told_it_was_late() -> None:
    notices = cancel(book(), Actor.CLIENT, START - 48 * H)

    [confirmation] = [n for n in notices if n.confirmation]
    assert confirmation.audience is Audience.CLIENT
    assert confirmation.fields["codes"]["free"] == "false"


def test_an_admin_cancelling_tells_both_parties_and_confirms_to_nobody() -> None:
    notices = cancel(book(), Actor.ADMIN, START - 72 * H)

    assert told(notices) == [(NotificationType.SESSION_CANCELLED, Audience.BOTH, False)]


def test_an_unpaid_session_auto_cancelled_tells_both() -> None:
    session = book()
    charge(session, START - 48 * H, HARD)

    assert told(machine.auto_cancel(session)) == [(NotificationType.AUTO_CANCELLED, Audience.BOTH, False)]


# ── moves ────────────────────────────────────────────────────────────────────────────────────


def move(session: Session, by: Actor, at: datetime, to: datetime) -> list[Notice]:
    request = RescheduleRequest(requested_by=by, new_start=to)
    commands.reschedule(session, request, at, at)
    return commands.reschedule_notices(session)


def test_a_move_tells_the_other_party_and_confirms_to_whoever_moved_it() -> None:
    by_client = move(book(), Actor.CLIENT, START - 72 * H, START + 24 * H)
    by_therapist = move(book(), Actor.THERAPIST, START - 72 * H, START + 24 * H)

    assert told(by_client) == [
        (NotificationType.SESSION_RESCHEDULED, Audience.THERAPIST, False),
        (NotificationType.SESSION_RESCHEDULED, Audience.CLIENT, True),
    ]
    assert told(by_therapist) == [
        (NotificationType.SESSION_RESCHEDULED, Audience.CLIENT, False),
        (NotificationType.SESSION_RESCHEDULED, Audience.THERAPIST, True),
    ]
    assert {n.fields["codes"]["late"] for n in by_client} == {"false"}


def test_a_clients_late_move_is_told_as_late() -> None:
    notices = move(book(), Actor.CLIENT, START - 30 * H, START + 24 * H)

    assert {n.fields["codes"]["late"] for n in notices} == {"true"}


def test_each_move_has_its_own_events() -> None:
    session = book()
    first = move(session, Actor.CLIENT, START - 100 * H, START + 24 * H)
    second = move(session, Actor.CLIENT, START - 90 * H, START + 48 * H)

    assert {n.sequence for n in first}.isdisjoint({n.sequence for n in second})


# ── payments ─────────────────────────────────────────────────────────────────────────────────


def test_a_payment_receipt_goes_to_the_client_only() -> None:
    notices = charge(book(), START - 48 * H, PAID)

    assert told(notices) == [(NotificationType.CHARGE_SUCCEEDED, Audience.CLIENT, False)]


def test_a_decline_tells_both_with_its_reason_category_and_the_client_what_to_do() -> None:
    soft = charge(book(), START - 48 * H, SOFT)
    hard = charge(book(), START - 48 * H, HARD)

    assert told(soft) == [
        (NotificationType.CHARGE_FAILED, Audience.CLIENT, False),
        (NotificationType.CHARGE_FAILED, Audience.THERAPIST, False),
    ]
    client, therapist = soft
    assert client.fields["codes"]["decline_kind"] == therapist.fields["codes"]["decline_kind"] == "soft"
    assert client.fields["codes"]["action"] == "pay_by_link"
    assert "action" not in therapist.fields["codes"]
    assert hard[0].fields["codes"] == hard[0].fields["codes"] | {
        "decline_kind": "hard",
        "action": "update_card",
    }
    assert len({n.sequence for n in soft}) == 2


def test_a_payment_after_a_decline_is_a_receipt_for_the_client_and_a_recovery_for_the_therapist() -> None:
    session = book()
    charge(session, START - 48 * H, SOFT)

    notices = charge(session, START - 24 * H, PAID)

    assert told(notices) == [
        (NotificationType.CHARGE_SUCCEEDED, Audience.CLIENT, False),
        (NotificationType.PAYMENT_RECOVERED, Audience.THERAPIST, False),
    ]


def test_action_required_goes_to_the_client_and_the_therapist_is_told_payment_is_pending() -> None:
    notices = charge(book(), START - 48 * H, SCA)

    assert told(notices) == [
        (NotificationType.ACTION_REQUIRED, Audience.CLIENT, False),
        (NotificationType.PAYMENT_PENDING, Audience.THERAPIST, False),
    ]
    assert notices[0].fields["payment_intent_client_secret"] == "pi_1_secret_abc"
    assert "payment_intent_client_secret" not in notices[1].fields


def test_paying_on_session_after_action_required_is_a_receipt_and_a_recovery() -> None:
    session = book()
    charge(session, START - 48 * H, SCA)
    event = PaymentEvent(
        event_id="evt_1", type="payment_intent.succeeded", payment_intent_id="pi_1", created=START - 40 * H
    )

    notices = machine.apply_payment_event(session, event).notices

    assert told(notices) == [
        (NotificationType.CHARGE_SUCCEEDED, Audience.CLIENT, False),
        (NotificationType.PAYMENT_RECOVERED, Audience.THERAPIST, False),
    ]


def test_the_client_is_reminded_at_each_later_attempt_instant_while_authentication_is_outstanding() -> None:
    session = book()
    charge(session, START - 48 * H, SCA)

    reminders = []
    for instant in (START - 24 * H, START - 12 * H):
        assert machine.next_step(session) == NextStep(Step.PAYMENT_REMINDER, instant)
        reminders.append(machine.remind_payment(session, instant))

    assert machine.next_step(session) == NextStep(Step.AUTO_CANCEL, START - H)
    assert [(n.type, n.audience, n.fields["reminder_number"]) for n in reminders] == [
        (NotificationType.PAYMENT_REMINDER, Audience.CLIENT, 1),
        (NotificationType.PAYMENT_REMINDER, Audience.CLIENT, 2),
    ]
    assert {n.fields["codes"]["action"] for n in reminders} == {"authenticate"}


def test_a_card_declined_for_good_is_reminded_at_the_attempt_instants_it_skips() -> None:
    session = book()
    charge(session, START - 48 * H, HARD)

    assert machine.next_step(session) == NextStep(Step.PAYMENT_REMINDER, START - 24 * H)
    assert machine.remind_payment(session, START - 24 * H).fields["codes"] == {"action": "update_card"}


def test_a_retry_that_fails_again_at_a_later_attempt_instant_reminds_the_client() -> None:
    session = book()
    charge(session, START - 48 * H, SOFT)
    assert machine.next_step(session) == NextStep(Step.CHARGE, START - 24 * H)

    notices = charge(session, START - 24 * H, SOFT)

    assert told(notices)[-1] == (NotificationType.PAYMENT_REMINDER, Audience.CLIENT, False)
    assert notices[-1].fields["reminder_number"] == 1


def test_a_new_cards_try_is_not_an_attempt_instant_and_reminds_nobody() -> None:
    session = book()
    charge(session, START - 48 * H, HARD)
    session.payment.payment_method_id = "pm_new"
    session.payment.retry_now = True

    notices = charge(session, START - 30 * H, SOFT)

    assert NotificationType.PAYMENT_REMINDER not in {n.type for n in notices}


def test_nothing_is_reminded_once_paid_or_cancelled() -> None:
    paid = book()
    charge(paid, START - 48 * H, SCA)
    machine.apply_payment_event(
        paid,
        PaymentEvent(
            event_id="evt_1",
            type="payment_intent.succeeded",
            payment_intent_id="pi_1",
            created=START - 40 * H,
        ),
    )
    cancelled = book()
    charge(cancelled, START - 48 * H, SCA)
    cancel(cancelled, Actor.CLIENT, START - 40 * H)

    assert machine.payment_reminder_at(paid) is None
    assert machine.payment_reminder_at(cancelled) is None


def test_a_refund_is_told_to_the_client() -> None:
    session = book()
    charge(session, START - 48 * H, PAID)
    cancel(session, Actor.THERAPIST, START - 30 * H)
    request: RefundRequest = machine.begin_refund(session)
    result = RefundResult(
        refund_id="re_1", amount_minor=PRICE, refunded_total_minor=PRICE, captured_minor=PRICE
    )

    notice = machine.announce_refund(session, request, result, PRICE, START - 30 * H)

    assert (notice.type, notice.audience) == (NotificationType.REFUND_ISSUED, Audience.CLIENT)


# ── after the session ────────────────────────────────────────────────────────────────────────


def test_attendance_reminders_go_to_the_therapist_at_24_hours_72_hours_and_7_days() -> None:
    assert DEFAULT_POLICY.attendance_reminder_offsets == (24 * H, 72 * H, 7 * 24 * H)
    session = book(BookingKind.INITIAL_PREPAID)
    machine.end_session(session)

    for offset in (24 * H, 72 * H, 7 * 24 * H):
        assert machine.next_step(session) == NextStep(Step.REMIND, session.end + offset)
        assert machine.remind(session).audience is Audience.THERAPIST
    assert machine.next_step(session) is None


def test_a_session_booked_with_the_earlier_offsets_keeps_its_two_reminders() -> None:
    # Each session's policy is fixed into its input: a running session keeps its schedule.
    earlier = SessionPolicy(attendance_reminder_offsets=(24 * H, 72 * H))
    assert earlier.attendance_reminder_offsets == (24 * H, 72 * H)


def test_a_released_reserved_slot_is_told_to_the_therapist_in_app_and_never_to_the_client() -> None:
    # Reproduces the defect of issue 12: the banner went to Audience.BOTH, i.e. to the client too.
    [notice] = attendance.slot_released_notices(["slot_ab12"])

    assert notice.audience is Audience.THERAPIST
    assert delivered(notice).channel is Channel.IN_APP


def test_a_reserved_slot_is_confirmed_to_the_therapist_in_app_only() -> None:
    [notice] = attendance.slot_reserved_notices(book(), "slot_ab12")

    assert (notice.type, notice.audience, delivered(notice).channel) == (
        NotificationType.SLOT_RESERVED,
        Audience.THERAPIST,
        Channel.IN_APP,
    )
    assert notice.fields == {"slot_id": "slot_ab12"}


def test_an_ended_relationship_is_a_dated_client_dashboard_note_and_a_therapist_confirmation() -> None:
    update = AttendanceUpdate(
        outcome=AttendanceOutcome.ATTENDED, end_relationship=True, end_reason=EndReason.NOT_A_FIT
    )

    note, confirmation = attendance.relationship_ended_notices(book(), update)

    assert (note.audience, delivered(note).channel, note.confirmation) == (
        Audience.CLIENT,
        Channel.DASHBOARD_NOTE,
        False,
    )
    assert "codes" not in note.fields  # the therapist's reason is not the client's to read
    assert (confirmation.audience, confirmation.confirmation) == (Audience.THERAPIST, True)
    assert confirmation.fields["codes"] == {"reason": "not_a_fit"}
    # The note's date and time is the notification's occurred_at.
    built = note.to_notification(book(), START + 2 * H)
    assert built.occurred_at == START + 2 * H and built.channel is Channel.DASHBOARD_NOTE


def test_two_copies_of_one_event_never_share_an_event_id() -> None:
    session = book()
    copies = [
        *cancel(book(), Actor.THERAPIST, START - 72 * H),
        *charge(book(), START - 48 * H, SOFT),
        *charge(book(), START - 48 * H, SCA),
        *machine.booking_notices(session),
    ]
    ids = [n.to_notification(session, START).event_id for n in copies]

    assert len(ids) == len(set(ids))


# ── sessions booked before the terms' notices ────────────────────────────────────────────────


def test_a_session_booked_before_the_terms_keeps_its_old_notices() -> None:
    old = book(terms=False)
    assert machine.booking_notices(old) == []
    assert told(cancel(book(terms=False), Actor.THERAPIST, START - 72 * H)) == [
        (NotificationType.SESSION_CANCELLED, Audience.BOTH, False)
    ]
    # The receipt is the client's even there (an audience is no command: replay is unchanged).
    assert told(charge(book(terms=False), START - 48 * H, PAID)) == [
        (NotificationType.CHARGE_SUCCEEDED, Audience.CLIENT, False)
    ]
    assert told(charge(book(terms=False), START - 48 * H, SOFT)) == [
        (NotificationType.CHARGE_FAILED, Audience.BOTH, False)
    ]
    sca = book(terms=False)
    charge(sca, START - 48 * H, SCA)
    assert sca.payment.status is PaymentStatus.REQUIRES_ACTION
    assert machine.next_step(sca) == NextStep(Step.AUTO_CANCEL, START - H)  # no new reminder timer
    moved = book(terms=False)
    assert move(moved, Actor.CLIENT, START - 72 * H, START + 24 * H) == []


# ── the therapist's own dashboard actions on their practice ──────────────────────────────────


def practice_with_slot() -> tuple[practice.PracticeState, practice.SlotReserved]:
    state = practice.new_practice_state("thr_1", "Europe/London")
    rule = WeeklySlotRule.from_start(START, "Europe/London", 50)
    reserved = practice.reserve_slot(
        state, practice.ReserveSlot(client_id="cli_1", rule=rule, announce=True), START, slot_id="slot_ab12"
    )
    return state, reserved


def test_a_slot_reserved_in_the_dashboard_is_confirmed_to_the_therapist_in_app_only() -> None:
    state, reserved = practice_with_slot()

    [notification] = practice_notices.slot_reserved_notifications("thr_1", reserved, START)
    again = practice.reserve_slot(
        state, practice.ReserveSlot(client_id="cli_1", rule=reserved.rule), START, slot_id="slot_other"
    )

    assert (notification.type, notification.audience, notification.channel) == (
        NotificationType.SLOT_RESERVED,
        Audience.THERAPIST,
        Channel.IN_APP,
    )
    assert notification.event_id == "thr_1:slot_reserved:slot_ab12" and notification.session_id is None
    assert practice_notices.slot_reserved_notifications("thr_1", again, START) == []  # nothing changed


def test_a_slot_released_in_the_dashboard_is_told_to_the_therapist_in_app_only() -> None:
    state, _ = practice_with_slot()
    released = practice.release_slots(state, practice.ReleaseSlots(client_id="cli_1"), START)

    [notification] = practice_notices.slots_released_by("thr_1", released, START)

    assert (notification.audience, notification.channel, notification.slot_id) == (
        Audience.THERAPIST,
        Channel.IN_APP,
        "slot_ab12",
    )


def test_ending_in_the_dashboard_is_a_client_note_a_therapist_confirmation_and_the_slots_banner() -> None:
    state, _ = practice_with_slot()
    command = practice.EndRelationship(client_id="cli_1", reason=EndReason.NOT_A_FIT, announce=True)
    ended = practice.end_relationship(state, command, START + H)

    note, confirmation, released = practice_notices.relationship_ended_notifications(
        state, command, ended, START + H
    )
    again = practice.end_relationship(state, command, START + 2 * H)

    assert (note.audience, note.channel, note.codes, note.occurred_at) == (
        Audience.CLIENT,
        Channel.DASHBOARD_NOTE,
        {},
        START + H,
    )
    assert (confirmation.audience, confirmation.confirmation) == (Audience.THERAPIST, True)
    assert confirmation.codes == {"reason": "not_a_fit"}
    assert (released.type, released.audience) == (NotificationType.SLOT_RELEASED, Audience.THERAPIST)
    assert note.event_id != confirmation.event_id
    assert practice_notices.relationship_ended_notifications(state, command, again, START + 2 * H) == []


def test_a_client_booking_declined_days_ahead_is_reminded_from_start_minus_48_hours() -> None:
    session = book(BookingKind.CLIENT_FOLLOW_UP)  # charged at booking, ten days ahead
    charge(session, BOOKED, SOFT)
    assert machine.next_step(session) == NextStep(Step.CHARGE, START - 48 * H)

    notices = charge(session, START - 48 * H, SOFT)

    assert told(notices)[-1] == (NotificationType.PAYMENT_REMINDER, Audience.CLIENT, False)
