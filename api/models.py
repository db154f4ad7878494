"""Request bodies of the HTTP API: strict (unknown fields refused), and without the fields the
server sets itself — a request's receipt time is stamped here, never taken from the caller."""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, ConfigDict

from domain.attendance import AttendanceOutcome, ContinueChoice
from domain.booking import SessionBooking
from domain.ids import OpaqueId, StripeId
from domain.practice import EndReason
from domain.status import Actor, CancelReason, SessionStatus


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BookSessionBody(SessionBooking):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BookingResponse(_Body):
    session_id: OpaqueId
    workflow_id: str
    status: SessionStatus
    created: bool
    """False when this exact booking already existed (an idempotent retry)."""


class CancelBody(_Body):
    requested_by: Actor
    reason: CancelReason
    submitted_by: Actor | None = None
    discretionary_refund: bool = False


class RescheduleBody(_Body):
    requested_by: Actor
    new_start: AwareDatetime


class AttendanceBody(_Body):
    outcome: AttendanceOutcome
    continue_sessions: ContinueChoice = ContinueChoice.NO
    new_start: AwareDatetime | None = None
    client_agreed: bool = False
    reserve_slot: bool = False
    end_relationship: bool = False
    end_reason: EndReason | None = None
    cancel_future_sessions: bool = False
    refund: bool = False
    submitted_by: Actor = Actor.THERAPIST


class PaymentMethodBody(_Body):
    payment_method_id: StripeId


class Health(_Body):
    status: str
