"""Inputs and results of the updates a session accepts: cancel, reschedule, new payment method.

The caller's request id becomes the Temporal update id, so a repeated request returns the first
outcome and changes nothing.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, model_validator

from domain.ids import OpaqueId, StripeId
from domain.status import Actor, CancelReason, SessionStatus


class _Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class CancelRequest(_Command):
    requested_by: Actor
    """Whose cancellation this is; decides the policy (a client's is subject to the 48 h rule)."""
    reason: CancelReason
    submitted_by: Actor | None = None
    """Who recorded it, when not the requester (a therapist entering a client's phone call)."""
    discretionary_refund: bool = False
    """A therapist or admin waives a client's late-cancellation charge."""
    received_at: AwareDatetime | None = None
    """When our API received the request; the 48 h rule is judged on it (see the workflow)."""

    @model_validator(mode="after")
    def _refund_needs_authority(self) -> CancelRequest:
        if self.discretionary_refund:
            if self.requested_by is not Actor.CLIENT:
                raise ValueError(
                    "a discretionary refund applies to a client's cancellation; therapist and admin "
                    "cancellations are always refunded in full"
                )
            if self.submitted_by not in (Actor.THERAPIST, Actor.ADMIN):
                raise ValueError("only a therapist or admin (submitted_by) can grant a discretionary refund")
        return self

    @property
    def recorded_by(self) -> Actor:
        return self.submitted_by or self.requested_by


class CancelResult(_Command):
    session_id: OpaqueId
    status: SessionStatus
    free: bool
    """True when nothing is charged or everything taken goes back."""
    refund_minor: int
    """What will be refunded of a taken payment (carried out by the workflow right after)."""
    charge_kept: bool
    """A late client cancellation: the charge stands (or is still collected)."""
    charge_in_flight: bool = False
    """A charge attempt was under way: if it succeeds, it is refunded as ``status`` says (the
    session's state shows the outcome); ``refund_minor`` counts only money already taken."""


class RescheduleRequest(_Command):
    requested_by: Actor
    new_start: AwareDatetime
    received_at: AwareDatetime | None = None
    """When our API received the request; the 48 h rule is judged on it (see the workflow)."""


class RescheduleResult(_Command):
    session_id: OpaqueId
    status: SessionStatus
    start: datetime
    payment_carried: bool
    """The session was already paid: the payment moves with it, nothing is charged again."""
    next_charge_at: datetime | None


class PaymentMethodUpdate(_Command):
    payment_method_id: StripeId


class PaymentMethodUpdateResult(_Command):
    session_id: OpaqueId
    status: SessionStatus
    retrying_now: bool
    """A declined or blocked charge is retried at once with the new card."""
