"""The therapist's attendance update on one session, as pure rules.

Filing goes in three steps, each decided here and carried out by ``SessionWorkflow``: claim the
time (reserve the weekly slot, or check the follow-up's time is free of other clients' slots —
a refusal there refuses the whole update before anything is recorded), record the update (from
then on it stands), and carry out its effects in order: book the follow-up, release the client's
slot ("no, I don't want to rebook" without "reserve"), end the relationship, cancel the client's
future sessions. An effect that fails is reported in the result, never undone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time

from pydantic import AwareDatetime, BaseModel, ConfigDict

from domain.acting import ATTENDANCE_ROLES, ActingParty, check_party
from domain.attendance import (
    AttendanceRecord,
    AttendanceResult,
    AttendanceUpdate,
    ContinueChoice,
    check_attendance_update,
)
from domain.booking import SessionBooking
from domain.commission import DEFAULT_COMMISSION
from domain.errors import RuleViolation
from domain.ids import OpaqueId, follow_up_session_id
from domain.notifications import Audience, NotificationType
from domain.policy import charge_spread_offset, first_charge_at
from domain.practice import (
    BookingTimeQuery,
    CancelFutureSessionsCall,
    CheckBookingTimeCall,
    EndRelationship,
    EndRelationshipCall,
    ReleaseSlots,
    ReleaseSlotsCall,
    ReserveSlot,
    ReserveSlotCall,
)
from domain.refunds import refundable_minor
from domain.session import Notice, Session, close_waits_for_resume, refund_due, refund_target
from domain.slots import SLOT_MAX_MINUTES, SLOT_MIN_MINUTES, WeeklySlotRule, same_time_next_week, wall_time
from domain.state import NoShowRecord, SessionWorkflowInput
from domain.status import Actor, BookingKind, SessionStatus
from domain.unreported import check_update_in_time


@dataclass(frozen=True)
class AttendancePlan:
    """What a recorded attendance update asks the workflow to carry out, in this order."""

    follow_up_start: datetime | None
    """Book a follow-up here (the client agreed)."""
    follow_up_weekly_time: time | None
    """"Same time next week": the weekly time the follow-up stands for (kept when a DST gap
    shifts its start)."""
    release_slots: bool
    """"No, I don't want to rebook" without "reserve" releases the client's reserved slot."""
    end_relationship: bool
    cancel_future_sessions: bool
    refund_minor: int = 0
    """What the update leaves owed back to the client when it is recorded: the answer says it even
    if the main loop pays it back while the update's other effects are still being carried out."""


@dataclass
class AttendanceEffects:
    """What carrying out the plan achieved (filled in by the workflow)."""

    reserved_slot_id: str | None = None
    follow_up_time_claimed: bool = False
    """The follow-up's time is claimed at the practice: the follow-up holds it, or it is freed."""
    follow_up_account_id: str | None = None
    """The connected account the practice named when it granted the follow-up's time (its current
    one); ``None``: none named, the follow-up keeps this session's."""
    follow_up_session_id: str | None = None
    released_slot_ids: list[str] = field(default_factory=list)
    cancelled_session_ids: list[str] = field(default_factory=list)
    incomplete: list[str] = field(default_factory=list)
    """Effects that failed: the update stands, ops can redo them."""


def weekly_time(session: Session) -> time:
    """The wall-clock time the session stands for each week in the therapist's zone: the time its
    booking was shifted from by a DST gap, unless it has been moved since; else its start's own."""
    booked = session.booking.wall_clock_start
    if booked is not None and not session.reschedules:
        return booked
    return wall_time(session.start, session.therapist_timezone)


def follow_up_start(session: Session, update: AttendanceUpdate) -> datetime | None:
    """Where a rebooking lands: the same local time next week in the therapist's zone, or the
    chosen time."""
    if update.continue_sessions is ContinueChoice.SAME_TIME:
        return same_time_next_week(session.start, session.therapist_timezone, weekly_time(session))
    if update.continue_sessions is ContinueChoice.DIFFERENT_TIME:
        return update.new_start
    return None


def check_attendance(session: Session, update: AttendanceUpdate, received_at: datetime) -> None:
    # Who is acting comes first: a stranger learns nothing of the session, not even its status.
    booking = session.booking
    check_party(
        update.acting_party,
        therapist_id=booking.therapist_id,
        client_id=booking.client_id,
        roles=ATTENDANCE_ROLES,
    )
    _check_in_time(session, received_at)
    check_attendance_update(
        update,
        session_start=session.start,
        now=received_at,
        status=session.status,
        already_filed=session.attendance is not None or session.filing,
        has_saved_card=session.payment.payment_method_id is not None,
        follow_up_start=follow_up_start(session, update),
        max_booking_horizon=session.policy.max_booking_horizon,
        no_show_marked=session.no_show is not None,
        refundable_minor=refundable_minor(session.payment, refund_target(session)),
    )
    minutes = session.booking.duration_minutes
    if update.reserve_slot and not SLOT_MIN_MINUTES <= minutes <= SLOT_MAX_MINUTES:
        # Refused before history: a rule built in the handler would fail the workflow task.
        raise RuleViolation(
            "slot_duration_out_of_range",
            f"a reserved slot lasts {SLOT_MIN_MINUTES}-{SLOT_MAX_MINUTES} minutes; "
            f"this session lasts {minutes}",
        )


class NoShowRequest(BaseModel):
    """The ``mark_no_show`` command: the client is not attending, from the session's start."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    requested_by: Actor = Actor.THERAPIST
    received_at: AwareDatetime | None = None
    acting_party: ActingParty | None = None
    """Who sent it (the API's ``Acting-Party``): the session's therapist or an admin."""


class NoShowResult(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    session_id: OpaqueId
    status: SessionStatus
    marked_at: datetime
    already_marked: bool = False
    """It had been marked before: the first mark stands."""


def check_no_show(session: Session, request: NoShowRequest, received_at: datetime) -> None:
    """From the session's start, by the therapist or an admin, before the attendance update, once
    the payment is settled (as for the attendance update). Marking it again changes nothing."""
    booking = session.booking
    check_party(
        request.acting_party,
        therapist_id=booking.therapist_id,
        client_id=booking.client_id,
        roles=ATTENDANCE_ROLES,
    )
    if request.requested_by is Actor.CLIENT:
        raise RuleViolation("not_allowed", "only the therapist or an admin may mark a client no-show")
    if session.no_show is not None:
        return
    _check_in_time(session, received_at)
    if session.status.is_cancelled:
        raise RuleViolation(
            "session_cancelled", "the session was cancelled; there is no attendance to record"
        )
    if received_at < session.start:
        raise RuleViolation("session_not_started", "a no-show can be marked once the session has started")
    if session.attendance is not None or session.filing:
        raise RuleViolation("already_filed", "the attendance update for this session was already filed")
    if session.status not in (SessionStatus.PAID, SessionStatus.AWAITING_UPDATE):
        raise RuleViolation(
            "payment_pending", "the session's payment is still being settled; mark it once it is paid"
        )


def mark_no_show(session: Session, request: NoShowRequest, received_at: datetime) -> NoShowResult:
    """The session is ``client_no_show`` from now on, and stays so when it ends and completes; the
    attendance update (which must then say ``client_no_show``) is still awaited and reminded of."""
    check_no_show(session, request, received_at)
    if session.no_show is not None:
        return NoShowResult(
            session_id=session.session_id,
            status=session.status,
            marked_at=session.no_show.at,
            already_marked=True,
        )
    session.no_show = NoShowRecord(requested_by=request.requested_by, at=received_at)
    session.status = SessionStatus.CLIENT_NO_SHOW
    return NoShowResult(session_id=session.session_id, status=session.status, marked_at=received_at)


def reserved_slot_rule(session: Session, update: AttendanceUpdate) -> WeeklySlotRule | None:
    """The weekly slot the update reserves: the follow-up's weekly time, or this session's."""
    if not update.reserve_slot:
        return None
    start = follow_up_start(session, update) or session.start
    # A different time's rule is that time's own; otherwise the weekly time this session stands for.
    at = None if update.continue_sessions is ContinueChoice.DIFFERENT_TIME else weekly_time(session)
    return WeeklySlotRule.from_start(start, session.therapist_timezone, session.booking.duration_minutes, at)


def _check_in_time(session: Session, received_at: datetime) -> None:
    """An update received at or after its deadline is late (``domain.unreported``), and so is one
    reaching a session already closed as unreported (received before, delivered after); a session
    whose close waits for its held charge (``close_waits_for_resume``) still takes it."""
    if session.closed and session.attendance is None and not session.status.is_cancelled:
        raise RuleViolation(
            "attendance_window_closed",
            "the session closed as unreported: its attendance update is no longer taken",
        )
    if close_waits_for_resume(session):
        # Past its deadline a session whose charge is held at the start did not close (it waits
        # for the resume): the update is still taken, since nothing closed it.
        return
    check_update_in_time(session.end, received_at, session.policy)


def begin_filing(session: Session, update: AttendanceUpdate, received_at: datetime) -> None:
    """The update passed its checks and now claims its time; a second filing is refused meanwhile."""
    check_attendance(session, update, received_at)
    session.filing = True


def abandon_filing(session: Session) -> None:
    """The practice refused the time or did not answer: nothing is recorded and the update can be
    filed again."""
    session.filing = False


def practice_unavailable() -> RuleViolation:
    """A practice call that did not answer within its bound (its worker down, its workflow stuck).
    Before the update is recorded it refuses the update (and the filing is abandoned, so it can be
    filed again); after, the effect is reported in ``incomplete_effects``."""
    return RuleViolation(
        "practice_unavailable",
        "the therapist's practice did not answer in time; nothing was recorded, file it again",
    )


def record_attendance(session: Session, update: AttendanceUpdate, received_at: datetime) -> AttendancePlan:
    """Record the update (from here it stands) and say what is to be carried out."""
    session.attendance = AttendanceRecord(update=update, at=received_at)
    session.filing = False
    session.status = update.outcome.status
    same_time = update.continue_sessions is ContinueChoice.SAME_TIME
    return AttendancePlan(
        follow_up_start=follow_up_start(session, update),
        follow_up_weekly_time=weekly_time(session) if same_time else None,
        release_slots=update.continue_sessions is ContinueChoice.NO and not update.reserve_slot,
        end_relationship=update.end_relationship,
        cancel_future_sessions=update.end_relationship and update.cancel_future_sessions,
        refund_minor=refund_due(session),
    )


def follow_up_input(
    session: Session,
    plan: AttendancePlan,
    now: datetime,
    *,
    time_claimed: bool = False,
    practice_account_id: str | None = None,
) -> SessionWorkflowInput:
    """A new session, booked by the therapist with the client's recorded agreement. The weekly time
    it stands for is recorded only where a DST gap shifted its start.

    Its money moves on the practice's current account (``practice_account_id``, from the practice's
    answer to the time claim, recorded in the history so a replay books the same): a chain booked
    before the therapist connected moves onto the account, and one whose therapist changed account
    moves with them. Without one named (no account, or a claim answered before the answer carried
    it) the follow-up keeps this session's account."""
    start, weekly = plan.follow_up_start, plan.follow_up_weekly_time
    assert start is not None  # only a plan that rebooks books a follow-up
    booking = session.booking
    zone = booking.therapist_timezone
    shifted = weekly is not None and weekly != wall_time(start, zone)
    follow_up = SessionBooking(
        session_id=follow_up_session_id(session.session_id),
        therapist_id=booking.therapist_id,
        client_id=booking.client_id,
        kind=BookingKind.THERAPIST_FOLLOW_UP,
        start=start,
        duration_minutes=booking.duration_minutes,
        therapist_timezone=booking.therapist_timezone,
        client_timezone=booking.client_timezone,
        amount_minor=booking.amount_minor,
        currency=booking.currency,
        stripe_customer_id=booking.stripe_customer_id,
        payment_method_id=session.payment.payment_method_id,
        client_agreed=True,
        previous_session_id=booking.session_id,
        # This session's (current) start: the follow-up's notifications compare the client's
        # local clock time with it. Only the child's input changes, never a command.
        previous_start=session.start,
        wall_clock_start=weekly if shifted else None,
        # The practice's current account, else this session's; the same commission terms.
        connected_account_id=practice_account_id or booking.connected_account_id,
    )
    # The parent's recorded release, copied: workflow code must not read the zone data's version
    # (a replay on a worker with another release would build a different input).
    return SessionWorkflowInput(
        booking=follow_up,
        policy=session.policy,
        booked_at=now,
        tzdata_version=session.tzdata_version,
        time_claimed=time_claimed,
        commission=session.payment.commission or DEFAULT_COMMISSION,
    )


def follow_up_notices(session: Session, follow_up: SessionWorkflowInput) -> list[Notice]:
    """Sessions before the terms' notices announce the follow-up they booked (to both); since, the
    follow-up announces itself (``domain.session.booking_notices``: ``follow_up_booked`` to the
    client, ``booking_confirmed`` to the therapist), as a session the therapist books by hand does."""
    if session.terms_notices:
        return []
    return [follow_up_notice(follow_up)]


def follow_up_notice(follow_up: SessionWorkflowInput) -> Notice:
    """``follow_up_booked``: the follow-up's start for both parties (compared with this session's),
    when its card is charged and until when cancelling it is free."""
    booking = follow_up.booking
    booked_at = follow_up.booked_at or booking.start  # always set by follow_up_input
    spread = charge_spread_offset(booking.session_id, follow_up.policy)
    return Notice(
        NotificationType.FOLLOW_UP_BOOKED,
        Audience.CLIENT,  # the catalogue's audience (sessions from before told both)
        1,
        {
            "related_session_id": booking.session_id,
            "start": booking.start,
            "previous_start": booking.previous_start,
            "charge_at": first_charge_at(booking.kind, booking.start, booked_at, follow_up.policy, spread),
            "amount_minor": booking.amount_minor,
            "currency": booking.currency,
        },
    )


def relationship_ended_notices(session: Session, update: AttendanceUpdate) -> list[Notice]:
    """The terms: the client is not e-mailed but sees a dated note on their dashboard (the
    notification's ``occurred_at``; the catalogue's dashboard_note channel); the therapist who
    ended it gets a confirmation.
    The reason is the therapist's record and never goes to the client. Before the terms' notices
    only the therapist was told."""
    assert update.end_reason is not None  # the update's shape requires it when ending
    therapists = Notice(
        NotificationType.RELATIONSHIP_ENDED,
        Audience.THERAPIST,
        1,
        {"codes": {"reason": update.end_reason.value}},
    )
    if not session.terms_notices:
        return [therapists]
    confirmation = Notice(
        therapists.type,
        therapists.audience,
        therapists.sequence,
        therapists.fields,
        confirmation=True,
    )
    note = Notice(NotificationType.RELATIONSHIP_ENDED, Audience.CLIENT, "client-note")
    return [note, confirmation]


def slot_released_notices(slot_ids: list[str]) -> list[Notice]:
    """A released reserved slot is the therapist's calendar: the seed's in-app banner, shown to the
    therapist only. The client is never told (they were, before: a defect, issue 12)."""
    return [
        Notice(
            NotificationType.SLOT_RELEASED,
            Audience.THERAPIST,
            slot_id,
            {"slot_id": slot_id},
            confirmation=True,
        )
        for slot_id in slot_ids
    ]


def slot_reserved_notices(session: Session, slot_id: str | None) -> list[Notice]:
    """The confirmation that the update reserved the client's weekly slot: to the therapist only,
    in the app (sessions on the terms' notices)."""
    if not session.terms_notices or slot_id is None:
        return []
    return [
        Notice(
            NotificationType.SLOT_RESERVED,
            Audience.THERAPIST,
            slot_id,
            {"slot_id": slot_id},
            confirmation=True,
        )
    ]


def finish_attendance(
    session: Session, update: AttendanceUpdate, plan: AttendancePlan, effects: AttendanceEffects
) -> AttendanceResult:
    released = effects.released_slot_ids
    session.attendance_result = AttendanceResult(
        session_id=session.session_id,
        status=session.status,
        follow_up_session_id=effects.follow_up_session_id,
        follow_up_start=plan.follow_up_start,
        reserved_slot_id=effects.reserved_slot_id,
        released_slot_ids=released,
        slot_released=bool(released),
        relationship_ended=update.end_relationship,
        cancelled_session_ids=effects.cancelled_session_ids,
        refund_minor=plan.refund_minor,
        incomplete_effects=effects.incomplete,
    )
    return session.attendance_result


# --------------------------------------------------------------------------------- practice calls
# Request ids derive from the session: a retried activity (or a replayed workflow) asks the
# practice the same request, which returns its first outcome.


def _request_id(session: Session, effect: str) -> str:
    return f"{session.session_id}:attendance:{effect}"


def reserve_slot_call(session: Session, rule: WeeklySlotRule) -> ReserveSlotCall:
    return ReserveSlotCall(
        therapist_id=session.therapist_id,
        timezone=session.therapist_timezone,
        request_id=_request_id(session, "reserve"),
        command=ReserveSlot(client_id=session.client_id, rule=rule),
    )


def booking_time_call(session: Session, start: datetime) -> CheckBookingTimeCall:
    return CheckBookingTimeCall(
        therapist_id=session.therapist_id,
        query=BookingTimeQuery(
            client_id=session.client_id, start=start, end=start + session.booking.duration
        ),
    )


def release_slots_call(session: Session) -> ReleaseSlotsCall:
    return ReleaseSlotsCall(
        therapist_id=session.therapist_id,
        timezone=session.therapist_timezone,
        request_id=_request_id(session, "release"),
        command=ReleaseSlots(client_id=session.client_id),
    )


def end_relationship_call(session: Session, update: AttendanceUpdate) -> EndRelationshipCall:
    assert update.end_reason is not None  # the update's shape requires it when ending
    return EndRelationshipCall(
        therapist_id=session.therapist_id,
        timezone=session.therapist_timezone,
        request_id=_request_id(session, "end"),
        command=EndRelationship(client_id=session.client_id, reason=update.end_reason),
    )


def cancel_future_sessions_call(session: Session) -> CancelFutureSessionsCall:
    return CancelFutureSessionsCall(
        therapist_id=session.therapist_id,
        client_id=session.client_id,
        request_id=_request_id(session, "cancel-future"),
        after=session.start,
    )
