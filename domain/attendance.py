"""The therapist's attendance update (the "Awaiting Updates" step) and the rules it must meet.

It records what happened and what comes next: attended or client no-show; continue — no, the
same weekly time, or a different time; reserve an ongoing slot; end the relationship; an optional
discretionary refund. A follow-up is booked only with the client's explicit agreement.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from domain.acting import ActingParty, files_as
from domain.errors import RuleViolation
from domain.ids import OpaqueId
from domain.money import AmountMinor
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
    """What the therapist files. Its shape is checked as it is parsed, field by field, so a
    self-contradictory update is refused (the API's 409 with the rule's code, naming the field)
    before any rule about the session is consulted; ``check_attendance_update`` holds the rules that do.

    Each refusal's pydantic error type is its stable code: ``new_start_required``,
    ``new_start_not_allowed``, ``end_reason_required``, ``contradictory_update``.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    outcome: AttendanceOutcome
    continue_sessions: ContinueChoice = ContinueChoice.NO
    new_start: AwareDatetime | None = Field(default=None, validate_default=True)
    """The follow-up's start, for ``different_time`` only (and required there)."""
    client_agreed: bool = False
    """The client explicitly agreed to the follow-up; required for any rebooking."""
    reserve_slot: bool = False
    """Reserve (or keep) a weekly slot for this client: the follow-up's weekly time, or this
    session's when not rebooking. Without it, "no" releases the client's slot."""
    end_relationship: bool = False
    """Not with a rebooking or a reserved slot."""
    end_reason: EndReason | None = Field(default=None, validate_default=True)
    """Required when ending the relationship."""
    cancel_future_sessions: bool = False
    """When ending: cancel the client's other booked sessions (as therapist cancellations)."""
    refund: bool = False
    """A discretionary refund of this session's payment (e.g. waiving a no-show)."""
    refund_amount_minor: AmountMinor | None = Field(default=None, validate_default=True)
    """Only with ``refund``: refund this much (minor units); absent, the whole payment."""
    submitted_by: Actor = Actor.THERAPIST
    received_at: AwareDatetime | None = None
    acting_party: ActingParty | None = None
    """Who sent it (the API's ``Acting-Party``): the session's therapist or an admin, filing in
    their own role (``submitted_by``). Recorded in the history, so an admin's update is marked as
    such; absent in updates recorded before it existed."""

    # Each check reads only fields declared above its own (``info.data``); a field that failed its
    # own validation is absent there and is not blamed a second time.

    @field_validator("new_start")
    @classmethod
    def _new_start_only_for_a_different_time(
        cls, value: datetime | None, info: ValidationInfo
    ) -> datetime | None:
        choice = info.data.get("continue_sessions")
        if choice is ContinueChoice.DIFFERENT_TIME and value is None:
            raise PydanticCustomError(
                "new_start_required", "continue_sessions=different_time needs the follow-up's new_start"
            )
        if choice is not None and choice is not ContinueChoice.DIFFERENT_TIME and value is not None:
            raise PydanticCustomError(
                "new_start_not_allowed", "new_start is only for continue_sessions=different_time"
            )
        return value

    @field_validator("end_relationship")
    @classmethod
    def _ending_stands_alone(cls, value: bool, info: ValidationInfo) -> bool:
        if not value:
            return value
        choice = info.data.get("continue_sessions")
        if choice is not None and choice is not ContinueChoice.NO:
            raise PydanticCustomError(
                "contradictory_update", "cannot book a follow-up and end the relationship together"
            )
        if info.data.get("reserve_slot"):
            raise PydanticCustomError(
                "contradictory_update", "cannot reserve a slot and end the relationship together"
            )
        return value

    @field_validator("end_reason")
    @classmethod
    def _ending_has_a_reason(cls, value: EndReason | None, info: ValidationInfo) -> EndReason | None:
        if value is None and info.data.get("end_relationship"):
            raise PydanticCustomError("end_reason_required", "ending a relationship needs a reason code")
        return value

    @field_validator("cancel_future_sessions")
    @classmethod
    def _future_sessions_are_cancelled_only_when_ending(cls, value: bool, info: ValidationInfo) -> bool:
        if value and info.data.get("end_relationship") is False:
            raise PydanticCustomError(
                "contradictory_update", "future sessions are cancelled only when ending the relationship"
            )
        return value

    @model_validator(mode="after")
    def _filed_by_the_acting_party(self) -> AttendanceUpdate:
        if not files_as(self.acting_party, self.submitted_by):
            assert self.acting_party is not None
            raise PydanticCustomError(
                "submitter_not_acting_party",
                "the acting party files the attendance update as {role}, not as {submitted_by}",
                {"role": self.acting_party.role.value, "submitted_by": self.submitted_by.value},
            )
        return self

    @field_validator("refund_amount_minor")
    @classmethod
    def _amount_only_with_a_refund(cls, value: int | None, info: ValidationInfo) -> int | None:
        if value is not None and info.data.get("refund") is False:
            raise PydanticCustomError("contradictory_update", "refund_amount_minor needs refund: true")
        return value

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
    no_show_marked: bool = False,
    refundable_minor: int | None = None,
) -> None:
    """Refuse an update the rules do not allow, before anything is recorded.

    ``follow_up_start`` is where a rebooking would land (the same local time next week, or the
    chosen new start): it must be a bookable time.
    """
    # The update's shape (new_start, end_reason, contradictions) was checked as it was parsed.
    # First what the update asks, then where the session stands: time before payment, so filing
    # early says "not started" rather than "payment pending".
    if update.submitted_by is Actor.CLIENT:
        raise RuleViolation("not_allowed", "only the therapist or an admin files the attendance update")
    if update.rebooks and not update.client_agreed:
        raise RuleViolation("consent_required", CONSENT_MESSAGE)
    if already_filed:
        raise RuleViolation("already_filed", "the attendance update for this session was already filed")
    if status.is_cancelled:
        raise RuleViolation(
            "session_cancelled", "the session was cancelled; there is no attendance to record"
        )
    if now < session_start:
        raise RuleViolation("session_not_started", "the attendance update opens when the session starts")
    if no_show_marked and update.outcome is AttendanceOutcome.ATTENDED:
        raise RuleViolation(
            "no_show_marked", "the client was marked as not attending: file the update as client_no_show"
        )
    settled = (SessionStatus.PAID, SessionStatus.AWAITING_UPDATE)
    if status not in settled and not (no_show_marked and status is SessionStatus.CLIENT_NO_SHOW):
        raise RuleViolation(
            "payment_pending", "the session's payment is still being settled; file the update once it is paid"
        )
    if update.rebooks and follow_up_start is not None:
        if follow_up_start <= now:
            raise RuleViolation(
                "start_in_past",
                "the follow-up's start has passed (for the same time next week, too late now): "
                "choose a different time",
            )
        if follow_up_start - now > max_booking_horizon:
            raise RuleViolation("start_too_far", "the follow-up is too far ahead")
    amount = update.refund_amount_minor
    if update.refund and amount is not None and refundable_minor is not None and amount > refundable_minor:
        raise RuleViolation(
            "refund_exceeds_captured",
            f"at most {refundable_minor} (minor units) of what was captured is left to refund",
        )
    if update.rebooks and not has_saved_card:
        raise RuleViolation(
            "no_saved_card", "the client has no saved card to charge; they can book the follow-up themselves"
        )
