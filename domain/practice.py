"""A therapist's practice: client relationships and reserved weekly slots (README rules 9, 10).

Pure transitions over one ``PracticeState``: each takes the state, a command and ``now``, mutates
the state and returns the command's result, or raises ``RuleViolation`` (stable code) and leaves
the state untouched. ``PracticeWorkflow`` serialises them per therapist.

- Ending a relationship hides the client from the default client list and releases the client's
  slot; nothing is ever deleted (the relationship's history keeps every registration, end and
  restart). An ended client can still book sessions; a relationship can be restarted.
- A reserved slot blocks its weekly time for every other client of the therapist; it is not a
  booking. A client holds at most one active slot: reserving another time replaces it.
- Reasons are codes only: free text about health never enters the system.
- The therapist's connected Stripe account (``payment_account_id``) is where their sessions'
  money moves (direct charges). While Stripe says it cannot take charges the practice is
  *paused*: new bookings are refused (``therapist_paused``); sessions already booked hold their
  charge (``domain.session``) until the account can charge again.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_serializer,
    field_validator,
    model_validator,
)

from domain.acting import ActingParty
from domain.errors import RuleViolation
from domain.ids import OpaqueId, StripeId
from domain.slots import MAX_RANGE_DAYS, WeeklySlotRule, check_no_conflict, occurrences
from domain.time_claims import TimeClaim, check_claim, check_rule_against_claims, prune_ended
from domain.zones import IanaZone

OUTCOME_RETENTION = timedelta(hours=48)
"""How long a processed request's outcome is remembered, so a repeat returns it (also across
continue-as-new). Twice the longest retry window of any caller: the API honours an
``Idempotency-Key`` for 24 h (README), and a session's activity retries a practice call for at most
8 s (``workflows/activity_options.py``: ``PRACTICE_SCHEDULE_TO_CLOSE``)."""
MAX_REMEMBERED_REQUESTS = 2000
"""Safety cap on remembered outcomes, far above any real rate (a busy therapist sends tens of
requests in ``OUTCOME_RETENTION``). Only a burst reaches it; the oldest outcomes are then forgotten
before their time and the workflow reports it (log and metric). Worst case, 128-character
``Idempotency-Key`` s and slot results, ~0.9 MB carried; typical ~0.5 MB."""
MAX_RELEASED_SLOTS = 200
"""Released slots kept for the record; older ones are dropped so the carried state stays bounded."""

SLOT_ID_PATTERN = r"^slot_[0-9a-f]{1,32}$"
_SLOT_ID = re.compile(SLOT_ID_PATTERN)

SlotId = Annotated[str, StringConstraints(pattern=SLOT_ID_PATTERN)]
"""``slot_<hex>``: derived by the workflow from ``workflow.uuid4()``; opaque, safe to log."""

RequestId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_:.-]{1,128}$")]
"""The caller's request id, used as the Temporal update id; opaque (no personal data)."""


def slot_id_from_hex(token: str) -> str:
    """The slot id for a random hex token (the workflow passes ``workflow.uuid4().hex``)."""
    slot_id = f"slot_{token}"
    if _SLOT_ID.fullmatch(slot_id) is None:
        raise ValueError("a slot id token must be 1-32 lowercase hex digits")
    return slot_id


# --------------------------------------------------------------------------------- vocabulary


class EndReason(StrEnum):
    """Why a relationship ended, as a code: free text about health never enters the system."""

    TREATMENT_COMPLETE = "treatment_complete"
    CLIENT_REQUEST = "client_request"
    REFERRED_ELSEWHERE = "referred_elsewhere"
    NOT_A_FIT = "not_a_fit"
    NO_CONTACT = "no_contact"
    OTHER = "other"


class RelationshipStatus(StrEnum):
    ACTIVE = "active"
    ENDED = "ended"


# --------------------------------------------------------------------------------- state


class RelationshipEvent(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    at: datetime
    kind: Literal["registered", "ended", "restarted"]
    reason: EndReason | None = None


class Relationship(BaseModel):
    client_id: OpaqueId
    status: RelationshipStatus = RelationshipStatus.ACTIVE
    since: datetime
    """When the current period began: the first registration, or the latest restart."""
    ended_at: datetime | None = None
    end_reason: EndReason | None = None
    history: list[RelationshipEvent] = Field(default_factory=list)
    """Every registration, end and restart; never deleted."""


class ReservedSlot(BaseModel):
    slot_id: SlotId
    client_id: OpaqueId
    rule: WeeklySlotRule
    active: bool = True
    reserved_at: datetime
    released_at: datetime | None = None


class PaymentAccount(BaseModel):
    """The therapist's connected Stripe account and whether it can take charges, as Stripe last
    said (``account.updated``, read back from ``GET /v1/accounts/{id}``)."""

    model_config = ConfigDict(extra="ignore")

    account_id: StripeId
    charges_enabled: bool = True
    """Assumed until Stripe says otherwise: the charge activity checks the account itself before
    every charge, so a wrong assumption holds a charge rather than declining it."""
    disabled_reason: str | None = None
    """Stripe's ``requirements.disabled_reason``: an opaque code (``requirements.past_due``…)."""
    paused_since: datetime | None = None
    """When the practice was paused (the first status seen without charges); None while it can charge."""
    observed_at: datetime | None = None
    """When the recorded status was read from Stripe (the API's clock): an older read is stale."""
    set_at: datetime | None = None
    pauses: int = 0
    """How many times this account paused the practice: numbers each pause's notice."""

    @property
    def paused(self) -> bool:
        return not self.charges_enabled


class RecordedOutcome(BaseModel):
    """The result of one processed request, returned again when its id repeats."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    update: str
    result: dict[str, Any]
    recorded_at: datetime | None = None
    """When it was processed (the workflow's clock). None: carried from a run that kept outcomes by
    count; it is dated the first time the practice prunes (``forget_expired_outcomes``)."""


# A relationship's status, since, ended_at and end_reason follow from its history (every
# transition below appends the event that explains it). Carried as JSON, a relationship that does
# follow from its history is only its history, ``[[at, kind], [at, kind, reason], ...]`` under its
# client id: ~3x smaller, nothing lost. Any other (a state given by ops) is carried in full.


def _follows_from_history(client_id: str, relationship: Relationship) -> bool:
    if relationship.client_id != client_id or not relationship.history:
        return False
    status, since, ended_at, end_reason = RelationshipStatus.ACTIVE, relationship.history[0].at, None, None
    for event in relationship.history:
        if event.kind == "ended":
            status, ended_at, end_reason = RelationshipStatus.ENDED, event.at, event.reason
        else:
            if event.reason is not None:
                return False
            status, since, ended_at, end_reason = RelationshipStatus.ACTIVE, event.at, None, None
    return (status, since, ended_at, end_reason) == (
        relationship.status,
        relationship.since,
        relationship.ended_at,
        relationship.end_reason,
    )


def _compact(client_id: str, relationship: Relationship) -> Any:
    if not _follows_from_history(client_id, relationship):
        return relationship.model_dump(mode="json")
    return [
        [event.at.isoformat(), event.kind]
        if event.reason is None
        else [event.at.isoformat(), event.kind, event.reason]
        for event in relationship.history
    ]


def _expanded(client_id: str, carried: Any) -> Any:
    if not isinstance(carried, list) or not carried:
        return carried  # the full form: validated as it is
    history = [
        RelationshipEvent(at=event[0], kind=event[1], reason=event[2] if len(event) > 2 else None)
        for event in carried
    ]
    relationship = Relationship(client_id=client_id, since=history[0].at, history=history)
    for event in history:
        if event.kind == "ended":
            relationship.status, relationship.ended_at = RelationshipStatus.ENDED, event.at
            relationship.end_reason = event.reason
        else:
            relationship.status, relationship.since = RelationshipStatus.ACTIVE, event.at
            relationship.ended_at = relationship.end_reason = None
    return relationship


class PracticeState(BaseModel):
    """Everything one therapist's practice workflow holds; carried across continue-as-new."""

    model_config = ConfigDict(extra="ignore")

    therapist_id: OpaqueId
    timezone: IanaZone
    """The therapist's IANA zone: reserved slots are wall-clock rules in it."""
    relationships: dict[str, Relationship] = Field(default_factory=dict)
    slots: dict[str, ReservedSlot] = Field(default_factory=dict)
    outcomes: dict[str, RecordedOutcome] = Field(default_factory=dict)
    """Request id → outcome, oldest first, for ``OUTCOME_RETENTION`` (at most
    ``MAX_REMEMBERED_REQUESTS``). Runs before that carried ``processed_request_ids`` as well: it is
    ignored on load (the order is the dict's)."""
    claims: dict[str, TimeClaim] = Field(default_factory=dict)
    """Each live session's booked time by session id (``domain.time_claims``); absent in
    state carried from runs before claims were recorded."""
    released_sessions: dict[str, datetime] = Field(default_factory=dict)
    """Session ids whose time was released (cancelled), with when: such a session never claims
    again, so a claim that arrives after its release (sent before it, answered late) is refused.
    Kept for ``OUTCOME_RETENTION``, far longer than any claim can be in flight."""
    payment_account: PaymentAccount | None = None
    """The connected account the therapist's sessions are charged on; None: not set (the
    platform's own charge, as before issue 14)."""

    @property
    def payment_account_id(self) -> str | None:
        return self.payment_account.account_id if self.payment_account is not None else None

    @property
    def paused(self) -> bool:
        return self.payment_account is not None and self.payment_account.paused

    @field_serializer("relationships", when_used="json")
    def _carry_relationships_compactly(self, relationships: dict[str, Relationship]) -> dict[str, Any]:
        return {
            client_id: _compact(client_id, relationship) for client_id, relationship in relationships.items()
        }

    @field_validator("relationships", mode="before")
    @classmethod
    def _expand_compact_relationships(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        return {client_id: _expanded(client_id, carried) for client_id, carried in value.items()}


def new_practice_state(therapist_id: str, timezone: str) -> PracticeState:
    return PracticeState(therapist_id=therapist_id, timezone=timezone)


class PracticeWorkflowInput(BaseModel):
    """The practice workflow's one argument; ``state`` is set when it continues as new."""

    model_config = ConfigDict(extra="ignore")

    therapist_id: OpaqueId
    timezone: IanaZone
    state: PracticeState | None = None

    @model_validator(mode="after")
    def _state_is_this_therapists(self) -> PracticeWorkflowInput:
        if self.state is not None and self.state.therapist_id != self.therapist_id:
            raise ValueError("the carried state belongs to another therapist")
        return self


# --------------------------------------------------------------------------------- commands, results


class _Message(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class RegisterClient(_Message):
    client_id: OpaqueId
    start: AwareDatetime | None = None
    end: AwareDatetime | None = None
    """The booking's time, when registering for one: refused in another client's reserved slot.

    Checked here, inside the practice's serialised updates, so a booking and a reservation of the
    same time racing each other cannot both succeed."""
    session_id: OpaqueId | None = None
    """The booked session: its time is claimed (refused over another session's time); absent
    in requests sent before claims were recorded."""

    @model_validator(mode="after")
    def _whole_time(self) -> RegisterClient:
        if (self.start is None) != (self.end is None):
            raise ValueError("a booking time needs both start and end")
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ValueError("a booking time must end after it starts")
        if self.session_id is not None and self.start is None:
            raise ValueError("a session's registration claims its time: give start and end")
        return self

    def claim(self) -> TimeClaim | None:
        if self.session_id is None or self.start is None or self.end is None:
            return None
        return TimeClaim(session_id=self.session_id, client_id=self.client_id, start=self.start, end=self.end)


class ClientRegistered(_Message):
    client_id: OpaqueId
    status: RelationshipStatus
    restarted: bool = False
    """Always False: registering never restarts an ended relationship (``RestartRelationship`` does)."""
    payment_account_id: StripeId | None = None
    """The practice's connected account when the booking registered: the session is charged on it
    (``SessionBooking.connected_account_id``). None: no account set, the platform charges."""


class SetPaymentAccount(_Message):
    """The therapist's connected account (set through the API by the therapist or an admin)."""

    account_id: StripeId


class PaymentAccountSet(_Message):
    account_id: StripeId
    previous_account_id: StripeId | None = None
    changed: bool
    """False when this very account was already set: its recorded charge status is kept."""
    paused: bool


class RecordAccountStatus(_Message):
    """What Stripe says about a connected account now (read back after an ``account.updated``)."""

    account_id: StripeId
    charges_enabled: bool
    disabled_reason: Annotated[str, StringConstraints(pattern=r"^[a-z_.]{1,64}$")] | None = None
    """Stripe's ``requirements.disabled_reason`` code; never free text."""
    observed_at: AwareDatetime
    """When it was read from Stripe: a read older than the one recorded changes nothing, so two
    webhooks answered out of order cannot undo the newer status."""


class AccountChange(StrEnum):
    PAUSED = "paused"
    RESUMED = "resumed"


class AccountStatusRecorded(_Message):
    account_id: StripeId
    applies: bool
    """False when the account is not the practice's (replaced since) or the read is stale."""
    paused: bool
    change: AccountChange | None = None
    """Set only when this status paused or resumed the practice: the caller tells and wakes."""
    paused_since: datetime | None = None
    disabled_reason: str | None = None
    pause_number: int = 0
    """Which pause of this account this is (1 for the first): numbers its notice."""


class PaymentAccountView(_Message):
    """The practice's connected account as the therapist's reads show it (opaque ids and codes)."""

    account_id: StripeId | None = None
    paused: bool = False
    paused_since: datetime | None = None
    disabled_reason: str | None = None


class ReserveSlot(_Message):
    client_id: OpaqueId
    rule: WeeklySlotRule
    announce: bool = False
    """The therapist did this in the dashboard (the API sets it): the practice tells them in the
    app (``domain.practice_notices``). A session's attendance update leaves it False and announces
    its effects itself."""


class SlotReserved(_Message):
    slot_id: SlotId
    client_id: OpaqueId
    rule: WeeklySlotRule
    already_reserved: bool = False
    """The client already held this very slot: nothing changed."""
    replaced_slot_id: str | None = None
    """The client's previous slot at another time, released by this reservation."""


class ReleaseSlots(_Message):
    client_id: OpaqueId
    announce: bool = False
    """The therapist did this in the dashboard (the API sets it): the practice tells them in the
    app (``domain.practice_notices``). A session's attendance update leaves it False and announces
    its effects itself."""


class SlotsReleased(_Message):
    client_id: OpaqueId
    released_slot_ids: list[str] = Field(default_factory=list)
    """Empty when the client held no slot; the UI shows the "slot removed" banner only otherwise."""


class EndRelationship(_Message):
    client_id: OpaqueId
    reason: EndReason
    announce: bool = False
    """The therapist did this in the dashboard (the API sets it): the practice tells them in the
    app (``domain.practice_notices``). A session's attendance update leaves it False and announces
    its effects itself."""


class RelationshipEnded(_Message):
    client_id: OpaqueId
    released_slot_ids: list[str] = Field(default_factory=list)
    already_ended: bool = False


class RestartRelationship(_Message):
    client_id: OpaqueId


class RelationshipRestarted(_Message):
    client_id: OpaqueId
    was_ended: bool


class ClaimTime(_Message):
    """Claim a session's time (a follow-up, a move) and, with ``reserve``, the client's weekly slot,
    in one serialised step: both are granted or neither."""

    session_id: OpaqueId
    client_id: OpaqueId
    start: AwareDatetime
    end: AwareDatetime
    reserve: WeeklySlotRule | None = None

    @model_validator(mode="after")
    def _ends_after_start(self) -> ClaimTime:
        if self.end <= self.start:
            raise ValueError("a claimed time must end after it starts")
        return self

    def claim(self) -> TimeClaim:
        return TimeClaim(session_id=self.session_id, client_id=self.client_id, start=self.start, end=self.end)


class TimeClaimed(_Message):
    session_id: OpaqueId
    start: datetime
    end: datetime
    reserved: SlotReserved | None = None
    """The reservation made with the claim, when one was asked for."""
    payment_account_id: StripeId | None = None
    """The therapist's connected account as the practice holds it now: a therapist's follow-up is
    booked on it (``domain.session_attendance.follow_up_input``). ``None``: no account (or a claim
    answered before the answer carried it; the follow-up then keeps its parent's)."""


class ReleaseTime(_Message):
    """The session no longer holds its time (cancelled, or the request that claimed it refused)."""

    session_id: OpaqueId


class TimeReleased(_Message):
    session_id: OpaqueId
    released: bool
    """False when the session held no claim (already released, ended, or never claimed)."""


class ClientsQuery(_Message):
    include_inactive: bool = False


class ClientsList(_Message):
    clients: list[Relationship] = Field(default_factory=list)


class OccurrencesQuery(_Message):
    """Local dates ``[start_date, end_date]`` (inclusive) in the therapist's zone."""

    start_date: date
    end_date: date

    @model_validator(mode="after")
    def _bounded_range(self) -> OccurrencesQuery:
        if self.end_date < self.start_date:
            raise ValueError("end_date must not be before start_date")
        if (self.end_date - self.start_date).days + 1 > MAX_RANGE_DAYS:
            raise ValueError(f"the date range may span at most {MAX_RANGE_DAYS} days")
        return self


class SlotOccurrence(_Message):
    slot_id: SlotId
    client_id: OpaqueId
    start: datetime
    end: datetime


class SlotOccurrences(_Message):
    occurrences: list[SlotOccurrence] = Field(default_factory=list)
    """Sorted by start (then slot id)."""


# --------------------------------------------------------------------------------- activity calls
# A session workflow cannot send an update to the practice workflow; these activities do it.


class ReserveSlotCall(_Message):
    therapist_id: OpaqueId
    timezone: IanaZone
    request_id: RequestId
    command: ReserveSlot


class ReleaseSlotsCall(_Message):
    therapist_id: OpaqueId
    timezone: IanaZone
    request_id: RequestId
    command: ReleaseSlots


class EndRelationshipCall(_Message):
    therapist_id: OpaqueId
    timezone: IanaZone
    request_id: RequestId
    command: EndRelationship


class RegisterClientCall(_Message):
    therapist_id: OpaqueId
    timezone: IanaZone
    request_id: RequestId
    command: RegisterClient


class ClaimTimeCall(_Message):
    therapist_id: OpaqueId
    timezone: IanaZone
    request_id: RequestId
    command: ClaimTime


class ReleaseTimeCall(_Message):
    therapist_id: OpaqueId
    timezone: IanaZone
    request_id: RequestId
    command: ReleaseTime


class CancelFutureSessionsCall(_Message):
    therapist_id: OpaqueId
    client_id: OpaqueId
    request_id: RequestId
    after: AwareDatetime
    """Sessions starting strictly after this instant are cancelled."""
    acting_party: ActingParty | None = None
    """Who ended the relationship through the API (the therapist or an admin): recorded with each
    cancellation. None from a session's attendance update (the service acting for its therapist)."""


class FutureSessionsCancelled(_Message):
    session_ids: list[str] = Field(default_factory=list)
    """Sessions this request cancelled (as the therapist's cancellations), sorted."""


# --------------------------------------------------------------------------------- transitions


def _ensure_relationship(state: PracticeState, client_id: str, now: datetime) -> Relationship:
    """The client's relationship, registering a client the practice has not seen yet."""
    relationship = state.relationships.get(client_id)
    if relationship is None:
        relationship = Relationship(
            client_id=client_id,
            since=now,
            history=[RelationshipEvent(at=now, kind="registered")],
        )
        state.relationships[client_id] = relationship
    return relationship


def _is_ended(state: PracticeState, client_id: str) -> bool:
    relationship = state.relationships.get(client_id)
    return relationship is not None and relationship.status is RelationshipStatus.ENDED


def active_slots_of(state: PracticeState, client_id: str) -> list[ReservedSlot]:
    return [slot for slot in state.slots.values() if slot.active and slot.client_id == client_id]


def _release(state: PracticeState, client_id: str, now: datetime) -> list[str]:
    released = []
    for slot in active_slots_of(state, client_id):
        slot.active = False
        slot.released_at = now
        released.append(slot.slot_id)
    _prune_released_slots(state)
    return released


def _prune_released_slots(state: PracticeState) -> None:
    released = [slot for slot in state.slots.values() if not slot.active]
    for slot in released[: max(0, len(released) - MAX_RELEASED_SLOTS)]:
        del state.slots[slot.slot_id]


def check_register_client(state: PracticeState, command: RegisterClient, now: datetime) -> None:
    """Refuse a booking while the therapist's account cannot take charges, and a booking's time
    inside another client's reserved slot (rule 9) or over another session's booked time."""
    check_not_paused(state)
    if command.start is None or command.end is None:
        return
    _check_free_of_slots(state, command.client_id, command.start, command.end)
    if (claim := command.claim()) is not None:
        _check_not_released(state, claim.session_id)
        check_claim(_live_claims(state, now), claim)


def register_client(state: PracticeState, command: RegisterClient, now: datetime) -> ClientRegistered:
    """Idempotent; an ended relationship stays ended (the client may still book, rule 10). A
    session's registration claims its time."""
    check_register_client(state, command, now)
    relationship = _ensure_relationship(state, command.client_id, now)
    if (claim := command.claim()) is not None:
        _record_claim(state, claim, now)
    return ClientRegistered(
        client_id=command.client_id, status=relationship.status, payment_account_id=state.payment_account_id
    )


def check_not_paused(state: PracticeState) -> None:
    """A paused practice takes no booking: the client would book a session nobody can charge."""
    if state.paused:
        raise RuleViolation(
            "therapist_paused",
            "the therapist's payment account cannot take charges at the moment: no new bookings",
        )


def set_payment_account(state: PracticeState, command: SetPaymentAccount, now: datetime) -> PaymentAccountSet:
    """Set the connected account. Another account starts unpaused (Stripe's ``account.updated``
    says otherwise); the same account again keeps its recorded status."""
    current = state.payment_account
    if current is not None and current.account_id == command.account_id:
        return PaymentAccountSet(account_id=command.account_id, changed=False, paused=current.paused)
    state.payment_account = PaymentAccount(account_id=command.account_id, set_at=now)
    return PaymentAccountSet(
        account_id=command.account_id,
        previous_account_id=current.account_id if current is not None else None,
        changed=True,
        paused=False,
    )


def record_account_status(
    state: PracticeState, command: RecordAccountStatus, now: datetime
) -> AccountStatusRecorded:
    """Record Stripe's current word on the practice's account; pause or resume on a change."""
    account = state.payment_account
    if account is None or account.account_id != command.account_id:
        return AccountStatusRecorded(account_id=command.account_id, applies=False, paused=state.paused)
    if account.observed_at is not None and command.observed_at <= account.observed_at:
        return AccountStatusRecorded(
            account_id=command.account_id,
            applies=False,
            paused=account.paused,
            paused_since=account.paused_since,
            disabled_reason=account.disabled_reason,
        )
    was_paused = account.paused
    account.charges_enabled = command.charges_enabled
    account.disabled_reason = None if command.charges_enabled else command.disabled_reason
    account.observed_at = command.observed_at
    change: AccountChange | None = None
    if account.paused and not was_paused:
        account.paused_since, change = now, AccountChange.PAUSED
        account.pauses += 1
    elif was_paused and not account.paused:
        account.paused_since, change = None, AccountChange.RESUMED
    return AccountStatusRecorded(
        account_id=command.account_id,
        applies=True,
        paused=account.paused,
        change=change,
        paused_since=account.paused_since,
        disabled_reason=account.disabled_reason,
        pause_number=account.pauses,
    )


def payment_account_view(state: PracticeState) -> PaymentAccountView:
    account = state.payment_account
    if account is None:
        return PaymentAccountView()
    return PaymentAccountView(
        account_id=account.account_id,
        paused=account.paused,
        paused_since=account.paused_since,
        disabled_reason=account.disabled_reason,
    )


def _check_free_of_slots(state: PracticeState, client_id: str, start: datetime, end: datetime) -> None:
    check = check_booking_time(state, BookingTimeQuery(client_id=client_id, start=start, end=end))
    if check.conflicting_slot_id is not None:
        raise RuleViolation("slot_conflict", f"the time overlaps reserved slot {check.conflicting_slot_id}")


def _live_claims(state: PracticeState, now: datetime) -> dict[str, TimeClaim]:
    return {session_id: held for session_id, held in state.claims.items() if held.end > now}


def _record_claim(state: PracticeState, claim: TimeClaim, now: datetime) -> None:
    prune_ended(state.claims, now)
    state.claims[claim.session_id] = claim


def _check_not_released(state: PracticeState, session_id: str) -> None:
    if session_id in state.released_sessions:
        raise RuleViolation(
            "session_released",
            f"session {session_id} released its time (it was cancelled): it cannot claim again",
        )


def check_claim_time(state: PracticeState, command: ClaimTime, now: datetime) -> None:
    """Refuse a claim the rules do not allow; changes nothing (used by the update's validator)."""
    _check_not_released(state, command.session_id)
    _check_free_of_slots(state, command.client_id, command.start, command.end)
    live = _live_claims(state, now)
    check_claim(live, command.claim())
    if command.reserve is not None:
        check_reserve_slot(state, ReserveSlot(client_id=command.client_id, rule=command.reserve), now)


def claim_time(state: PracticeState, command: ClaimTime, now: datetime, *, slot_id: str) -> TimeClaimed:
    """Claim the session's time (replacing its earlier one) and reserve the slot if asked."""
    check_claim_time(state, command, now)
    reserved = None
    if command.reserve is not None:
        reserve = ReserveSlot(client_id=command.client_id, rule=command.reserve)
        reserved = reserve_slot(state, reserve, now, slot_id=slot_id)
    _record_claim(state, command.claim(), now)
    return TimeClaimed(
        session_id=command.session_id,
        start=command.start,
        end=command.end,
        reserved=reserved,
        payment_account_id=state.payment_account_id,
    )


def release_time(state: PracticeState, command: ReleaseTime, now: datetime) -> TimeReleased:
    """Free the session's time for good (it was cancelled, or its follow-up never started); a
    claim of it arriving later is refused. Releasing a time not held changes nothing else."""
    released = state.claims.pop(command.session_id, None) is not None
    state.released_sessions.setdefault(command.session_id, now)
    prune_ended(state.claims, now)
    cutoff = now - OUTCOME_RETENTION
    for session_id in [done for done, at in state.released_sessions.items() if at < cutoff]:
        del state.released_sessions[session_id]
    return TimeReleased(session_id=command.session_id, released=released)


def check_reserve_slot(state: PracticeState, command: ReserveSlot, now: datetime) -> None:
    """Refuse a reservation the rules do not allow; changes nothing (used by update validators).
    A weekly time may not cover another client's slot nor another client's booked session."""
    if _is_ended(state, command.client_id):
        raise RuleViolation(
            "relationship_ended",
            "the relationship with this client has ended: restart it before reserving a slot",
        )
    others = {
        slot.slot_id: slot.rule
        for slot in state.slots.values()
        if slot.active and slot.client_id != command.client_id
    }
    check_no_conflict(command.rule, others)
    check_rule_against_claims(
        command.rule, state.timezone, command.client_id, _live_claims(state, now).values()
    )


def reserve_slot(state: PracticeState, command: ReserveSlot, now: datetime, *, slot_id: str) -> SlotReserved:
    """Reserve ``command.rule`` for the client under ``slot_id`` (unused unless a slot is created).

    The same rule already held is returned unchanged; a different one is replaced.
    """
    check_reserve_slot(state, command, now)
    current = active_slots_of(state, command.client_id)
    for slot in current:
        if slot.rule == command.rule:
            return SlotReserved(
                slot_id=slot.slot_id, client_id=slot.client_id, rule=slot.rule, already_reserved=True
            )
    if _SLOT_ID.fullmatch(slot_id) is None or slot_id in state.slots:
        raise ValueError(f"slot id {slot_id!r} is malformed or already used")
    _ensure_relationship(state, command.client_id, now)
    replaced = _release(state, command.client_id, now)
    state.slots[slot_id] = ReservedSlot(
        slot_id=slot_id, client_id=command.client_id, rule=command.rule, reserved_at=now
    )
    return SlotReserved(
        slot_id=slot_id,
        client_id=command.client_id,
        rule=command.rule,
        replaced_slot_id=replaced[0] if replaced else None,
    )


def release_slots(state: PracticeState, command: ReleaseSlots, now: datetime) -> SlotsReleased:
    """Release the client's slot ("No, I don't want to rebook" without "reserve"); may release none."""
    released = _release(state, command.client_id, now)
    return SlotsReleased(client_id=command.client_id, released_slot_ids=released)


def end_relationship(state: PracticeState, command: EndRelationship, now: datetime) -> RelationshipEnded:
    """End the relationship (hides the client, releases the slot); history is kept."""
    relationship = _ensure_relationship(state, command.client_id, now)
    released = _release(state, command.client_id, now)
    if relationship.status is RelationshipStatus.ENDED:
        return RelationshipEnded(client_id=command.client_id, released_slot_ids=released, already_ended=True)
    relationship.status = RelationshipStatus.ENDED
    relationship.ended_at = now
    relationship.end_reason = command.reason
    relationship.history.append(RelationshipEvent(at=now, kind="ended", reason=command.reason))
    return RelationshipEnded(client_id=command.client_id, released_slot_ids=released)


def restart_relationship(
    state: PracticeState, command: RestartRelationship, now: datetime
) -> RelationshipRestarted:
    """Make an ended relationship active again (its slot is not restored: reserve one anew)."""
    known = command.client_id in state.relationships
    relationship = _ensure_relationship(state, command.client_id, now)
    if not known or relationship.status is RelationshipStatus.ACTIVE:
        return RelationshipRestarted(client_id=command.client_id, was_ended=False)
    relationship.status = RelationshipStatus.ACTIVE
    relationship.since = now
    relationship.ended_at = None
    relationship.end_reason = None
    relationship.history.append(RelationshipEvent(at=now, kind="restarted"))
    return RelationshipRestarted(client_id=command.client_id, was_ended=True)


# --------------------------------------------------------------------------------- reads


def list_clients(state: PracticeState, query: ClientsQuery) -> ClientsList:
    """The therapist's clients by id; ended relationships only with ``include_inactive``."""
    clients = [
        relationship.model_copy(deep=True)
        for _, relationship in sorted(state.relationships.items())
        if query.include_inactive or relationship.status is RelationshipStatus.ACTIVE
    ]
    return ClientsList(clients=clients)


def slot_occurrences(state: PracticeState, query: OccurrencesQuery) -> SlotOccurrences:
    """Every active slot's occurrences on the query's local dates, sorted by start."""
    found = [
        SlotOccurrence(slot_id=slot.slot_id, client_id=slot.client_id, start=start, end=end)
        for slot in state.slots.values()
        if slot.active
        for start, end in occurrences(slot.rule, state.timezone, query.start_date, query.end_date)
    ]
    found.sort(key=lambda occurrence: (occurrence.start, occurrence.slot_id))
    return SlotOccurrences(occurrences=found)


class BookingTimeQuery(_Message):
    """Would a one-off session ``[start, end)`` for this client land in another client's slot?"""

    client_id: OpaqueId
    start: AwareDatetime
    end: AwareDatetime


class BookingTimeCheck(_Message):
    conflicting_slot_id: str | None = None


def check_booking_time(state: PracticeState, query: BookingTimeQuery) -> BookingTimeCheck:
    """A reserved slot blocks its time for every other client (rule 9); its owner may book it."""
    zone = ZoneInfo(state.timezone)
    first = query.start.astimezone(zone).date() - timedelta(days=1)
    last = query.end.astimezone(zone).date()
    for slot in sorted(state.slots.values(), key=lambda held: held.slot_id):
        if not slot.active or slot.client_id == query.client_id:
            continue
        for start, end in occurrences(slot.rule, state.timezone, first, last):
            if start < query.end and query.start < end:
                return BookingTimeCheck(conflicting_slot_id=slot.slot_id)
    return BookingTimeCheck()


class CheckBookingTimeCall(_Message):
    therapist_id: OpaqueId
    query: BookingTimeQuery


# --------------------------------------------------------------------------------- request dedupe


def recorded_outcome(state: PracticeState, request_id: str, update: str) -> dict[str, Any] | None:
    """The first outcome of a repeated request id, or None for a new one.

    Temporal dedupes update ids within one run only; this carries the dedupe across
    continue-as-new. Reusing an id for a different update is refused.
    """
    recorded = state.outcomes.get(request_id)
    if recorded is None:
        return None
    if recorded.update != update:
        raise RuleViolation(
            "request_id_reused", f"request id {request_id} was already used for {recorded.update}"
        )
    return recorded.result


def remember_outcome(
    state: PracticeState, request_id: str, update: str, result: BaseModel, now: datetime
) -> int:
    """Record a processed request's outcome at ``now`` and forget those past ``OUTCOME_RETENTION``.

    Returns how many outcomes the safety cap (``MAX_REMEMBERED_REQUESTS``) forgot before their
    retention ended: 0 unless a burst reached it, which the caller reports.
    """
    forget_expired_outcomes(state, now)
    if request_id in state.outcomes:
        return 0
    state.outcomes[request_id] = RecordedOutcome(
        update=update, result=result.model_dump(mode="json"), recorded_at=now
    )
    overflow = max(0, len(state.outcomes) - MAX_REMEMBERED_REQUESTS)
    for forgotten in list(state.outcomes)[:overflow]:
        del state.outcomes[forgotten]
    return overflow


def forget_expired_outcomes(state: PracticeState, now: datetime) -> None:
    """Forget outcomes recorded more than ``OUTCOME_RETENTION`` before ``now``.

    An outcome carried without its time (from a run that kept outcomes by count) is dated ``now``:
    its age is unknown, so it is kept a full retention from the first time it is seen here.
    """
    cutoff = now - OUTCOME_RETENTION
    for request_id, recorded in list(state.outcomes.items()):
        if recorded.recorded_at is None:
            state.outcomes[request_id] = recorded.model_copy(update={"recorded_at": now})
        elif recorded.recorded_at < cutoff:
            del state.outcomes[request_id]
