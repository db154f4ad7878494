"""The therapist's attendance update (the "Awaiting Updates" step) and the rules it must meet.

It records what happened and what comes next: attended or client no-show; continue — no, the
same weekly time, or a different time; reserve an ongoing slot; end the relationship; an optional
discretionary refund. A follow-up is booked only with the client's explicit agreement.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from domain.errors import RuleViolation
from domain.ids import OpaqueId
from domain.practice import EndReason
from domain.status import Actor, SessionStatus

CONSENT_MESSAGE = (
    "a follow-up can only be booked with the client's explicit agreement: do not book any "
    "sessions that the client has not explicitly agreed to"
)


class AttendanceOutcome(StrEnum):
    ATTENDED = "attended"
    CLIENT_NO_SHOW = "client_no_show"

    @property
    def status(self) -> SessionStatus:
        return SessionStatus(self.value)


class ContinueChoice(StrEnum):
    NO = "no"
    SAME_TIME = "same_time"
    """The same local wall-clock time one week later, in the therapist's zone."""
    DIFFERENT_TIME = "different_time"


class AttendanceUpdate(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    outcome: AttendanceOutcome
    continue_sessions: ContinueChoice = ContinueChoice.NO
    new_start: AwareDatetime | None = None
    """The follow-up's start, for ``different_time`` only."""
    client_agreed: bool = False
    """The client explicitly agreed to the follow-up; required for any rebooking."""
    reserve_slot: bool = False
    """Reserve (or keep) a weekly slot for this client: the follow-up's weekly time, or this
    session's when not rebooking. Without it, "no" releases the client's slot."""
    end_relationship: bool = False
    end_reason: EndReason | None = None
    cancel_future_sessions: bool = False
    """When ending: cancel the client's other booked sessions (as therapist cancellations)."""
    refund: bool = False
    """A discretionary refund of this session's payment (e.g. waiving a no-show)."""
    submitted_by: Actor = Actor.THERAPIST
    received_at: AwareDatetime | None = None

    @property
    def rebooks(self) -> bool:
        return self.continue_sessions is not ContinueChoice.NO


class AttendanceRecord(BaseModel):
    update: AttendanceUpdate
    at: datetime


class AttendanceResult(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    session_id: OpaqueId
    status: SessionStatus
    follow_up_session_id: OpaqueId | None = None
    follow_up_start: datetime | None = None
    reserved_slot_id: str | None = None
    released_slot_ids: list[str] = Field(default_factory=list)
    slot_released: bool = False
    """The client's reserved slot was released: the UI shows the "slot removed" banner."""
    relationship_ended: bool = False
    cancelled_session_ids: list[str] = Field(default_factory=list)
    refund_minor: int = 0
    incomplete_effects: list[str] = Field(default_factory=list)
    """Effects that could not be carried out (e.g. ``release_slots``); the session still
    completes and ops can redo them. Empty in the normal case."""


def check_attendance_update(
    update: AttendanceUpdate,
    *,
    session_start: datetime,
    now: datetime,
    status: SessionStatus,
    already_filed: bool,
    has_saved_card: bool,
    follow_up_start: datetime | None = None,
    max_booking_horizon: timedelta = timedelta(days=366),
) -> None:
    """Refuse an update the rules do not allow, before anything is recorded.

    ``follow_up_start`` is where a rebooking would land (the same local time next week, or the
    chosen new start): it must be a bookable time.
    """
    if already_filed:
        raise RuleViolation("already_filed", "the attendance update for this session was already filed")
    if status.is_cancelled:
        raise RuleViolation(
            "session_cancelled", "the session was cancelled; there is no attendance to record"
        )
    if status not in (SessionStatus.PAID, SessionStatus.AWAITING_UPDATE):
        raise RuleViolation(
            "payment_pending", "the session's payment is still being settled; file the update once it is paid"
        )
    if now < session_start:
        raise RuleViolation("session_not_started", "the attendance update opens when the session starts")
    if update.submitted_by is Actor.CLIENT:
        raise RuleViolation("not_allowed", "only the therapist or an admin files the attendance update")
    if update.rebooks and not update.client_agreed:
        raise RuleViolation("consent_required", CONSENT_MESSAGE)
    if update.rebooks and update.end_relationship:
        raise RuleViolation(
            "contradictory_update", "cannot book a follow-up and end the relationship together"
        )
    if update.reserve_slot and update.end_relationship:
        raise RuleViolation("contradictory_update", "cannot reserve a slot and end the relationship together")
    if update.end_relationship and update.end_reason is None:
        raise RuleViolation("end_reason_required", "ending a relationship needs a reason code")
    if update.cancel_future_sessions and not update.end_relationship:
        raise RuleViolation("contradictory_update", "future sessions are cancelled only when ending")
    if update.continue_sessions is ContinueChoice.DIFFERENT_TIME:
        if update.new_start is None:
            raise RuleViolation("new_start_required", "a different time needs the follow-up's new_start")
    elif update.new_start is not None:
        raise RuleViolation("new_start_not_allowed", "new_start is only for continue_sessions=different_time")
    if update.rebooks and follow_up_start is not None:
        if follow_up_start <= now:
            raise RuleViolation(
                "start_in_past",
                "the follow-up's start has passed (for the same time next week, too late now): "
                "choose a different time",
            )
        if follow_up_start - now > max_booking_horizon:
            raise RuleViolation("start_too_far", "the follow-up is too far ahead")
    if update.rebooks and not has_saved_card:
        raise RuleViolation(
            "no_saved_card", "the client has no saved card to charge; they can book the follow-up themselves"
        )
