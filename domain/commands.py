"""Inputs and results of the updates a session accepts: cancel, reschedule, new payment method.

The caller's request id becomes the Temporal update id, so a repeated request returns the first
outcome and changes nothing.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from domain.acting import AUTHORITY, ActingParty, files_as, may_speak_for
from domain.ids import OpaqueId, StripeId
from domain.status import Actor, CancelReason, SessionStatus


class _Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


_AUTHORITY = AUTHORITY


class CancelRequest(_Command):
    """A cancellation, filed by its requester or on their behalf by someone with more authority.

    ``requested_by`` decides the policy, so who may file in whose name matters: a client filing a
    "therapist" cancellation would dodge the late charge. The pairs (requested_by ← submitted_by):

    * client ← client, therapist or admin (a therapist or support entering the client's call);
    * therapist ← therapist or admin (support acting on the therapist's request);
    * admin ← admin only.

    Anything else (a client filing in the therapist's or admin's name, a therapist in an admin's)
    is refused (``submitter_not_allowed`` on ``submitted_by``: the API's 409 with that code).
    """

    requested_by: Actor
    """Whose cancellation this is; decides the policy (a client's is subject to the 48 h rule)."""
    reason: CancelReason
    submitted_by: Actor | None = None
    """Who recorded it, when not the requester (a therapist entering a client's phone call)."""
    discretionary_refund: bool = False
    """A therapist or admin waives a client's late-cancellation charge."""
    received_at: AwareDatetime | None = None
    """When our API received the request; the 48 h rule is judged on it (see the workflow)."""
    acting_party: ActingParty | None = None
    """Who sent it; they are its submitter (``submitted_by``, or ``requested_by`` when that is
    absent, must be their role). Recorded in the history, so an admin's action is marked as such;
    absent in commands recorded before it existed and in the service's own (a practice cancelling
    a therapist's future sessions)."""

    @field_validator("submitted_by")
    @classmethod
    def _submitter_may_act_for_requester(cls, value: Actor | None, info: ValidationInfo) -> Actor | None:
        requested_by = info.data.get("requested_by")
        if value is None or requested_by is None:  # a bad requested_by is reported on its own field
            return value
        if _AUTHORITY[value] < _AUTHORITY[requested_by]:
            raise PydanticCustomError(
                "submitter_not_allowed",
                "a {submitted_by} cannot file a cancellation on behalf of a {requested_by}",
                {"submitted_by": value.value, "requested_by": requested_by.value},
            )
        return value

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

    @model_validator(mode="after")
    def _filed_by_the_acting_party(self) -> CancelRequest:
        if not files_as(self.acting_party, self.recorded_by):
            assert self.acting_party is not None
            raise PydanticCustomError(
                "submitter_not_acting_party",
                "the acting party files a cancellation as {role}, not as {submitted_by}",
                {"role": self.acting_party.role.value, "submitted_by": self.recorded_by.value},
            )
        return self

    @property
    def recorded_by(self) -> Actor:
        return self.submitted_by or self.requested_by


class CancelResult(_Command):
    session_id: OpaqueId
    status: SessionStatus
    free: bool
    """The cancellation costs the client nothing by rule: a client's with more than the notice
    (``cancelled_free``) or a therapist's or admin's. A late client cancellation is never free,
    even when its charge is waived (that is ``discretionary_refund``)."""
    refund_minor: int
    """What will be refunded of a taken payment (carried out by the workflow right after)."""
    charge_kept: bool
    """A late client cancellation: the charge stands (or is still collected)."""
    charge_in_flight: bool = False
    """A charge attempt was under way: if it succeeds, it is refunded as ``status`` says (the
    session's state shows the outcome); ``refund_minor`` counts only money already taken."""
    refund_when_paid_minor: int = 0
    """What goes back to the client if a payment still under way lands after this cancellation (a
    charge attempt in flight, or an on-session payment the client may complete before the open
    PaymentIntent is voided): the whole amount, unless the charge stands (a late cancellation)."""
    discretionary_refund: bool = False
    """A late client cancellation whose charge a therapist or admin waived: refunded (or never
    collected) although not ``free``."""

    @classmethod
    def for_cancellation(
        cls,
        *,
        session_id: str,
        status: SessionStatus,
        discretionary_refund: bool,
        refund_minor: int,
        charge_in_flight: bool,
        refund_when_paid_minor: int = 0,
    ) -> CancelResult:
        """The result of a cancellation that ended in ``status`` (the workflow builds it here, so
        ``free``, ``charge_kept`` and ``discretionary_refund`` always agree with each other)."""
        late = status is SessionStatus.CANCELLED_LATE
        return cls(
            session_id=session_id,
            status=status,
            free=status in (SessionStatus.CANCELLED_FREE, SessionStatus.CANCELLED_BY_THERAPIST),
            refund_minor=refund_minor,
            charge_kept=late and not discretionary_refund,
            charge_in_flight=charge_in_flight,
            refund_when_paid_minor=refund_when_paid_minor,
            discretionary_refund=late and discretionary_refund,
        )


class RescheduleRequest(_Command):
    requested_by: Actor
    """Whose move this is; decides the policy (a client's late move keeps the charge due)."""
    new_start: AwareDatetime
    received_at: AwareDatetime | None = None
    """When our API received the request; the 48 h rule is judged on it (see the workflow)."""
    acting_party: ActingParty | None = None
    """Who sent it: they may move in their own role's name or a lesser one's (a therapist entering
    a client's request), never a higher one's (a client's late move filed as the therapist's would
    dodge the charge). Recorded in the history."""

    @model_validator(mode="after")
    def _requester_within_the_acting_partys_authority(self) -> RescheduleRequest:
        if not may_speak_for(self.acting_party, self.requested_by):
            assert self.acting_party is not None
            raise PydanticCustomError(
                "submitter_not_allowed",
                "the acting party ({role}) cannot move a session on behalf of the {requested_by}",
                {"role": self.acting_party.role.value, "requested_by": self.requested_by.value},
            )
        return self


class RescheduleResult(_Command):
    session_id: OpaqueId
    status: SessionStatus
    start: datetime
    payment_carried: bool
    """The session was already paid: the payment moves with it, nothing is charged again."""
    next_charge_at: datetime | None


class PaymentMethodUpdate(_Command):
    payment_method_id: StripeId
    requested_by: Actor = Actor.CLIENT
    """Who entered the card, the acting party's role: the client's own (present, so a retry it
    causes is on-session) or one support enters for them (the retry is then off-session)."""
    acting_party: ActingParty | None = None
    """Who sent it (the session's client, or an admin); recorded in the history."""


class PaymentMethodUpdateResult(_Command):
    session_id: OpaqueId
    status: SessionStatus
    retrying_now: bool
    """A declined or blocked charge is retried at once with the new card."""


# --------------------------------------------------------------------------------- previews


class CancelPreview(_Command):
    """What cancelling would do for this party at ``received_at``, decided by the very rule the
    cancellation applies (``domain.session_commands.decide_cancel``) on the same state."""

    session_id: OpaqueId
    requested_by: Actor
    received_at: datetime
    """The instant judged: when our API received the preview request."""
    outcome: CancelResult
    """Exactly what a cancellation received at ``received_at`` would answer."""
    free_before: datetime | None
    """A cancellation in ``requested_by``'s name received strictly before this instant is free:
    a client's until start − 48 h (the instant itself is late), a therapist's or admin's until the
    start. ``None``: no free cancellation for the client (they moved the session late)."""
    charge_minor: int
    """What the client pays for the session if it is cancelled now (the charge kept by a late
    cancellation, collected if not yet taken); 0 when it is free or waived."""


class ReschedulePreview(_Command):
    """What moving the session would do for this party at ``received_at``, decided by the very rule
    the move applies (``domain.session_commands.decide_reschedule``) on the same state. The
    practice's check of the new time (another client's slot, another session) is made only by the
    move itself."""

    session_id: OpaqueId
    requested_by: Actor
    received_at: datetime
    outcome: RescheduleResult
    """Exactly what a move received at ``received_at`` would answer (if the time is free)."""
    late: bool
    """A client's move with 48 hours' notice or less: the charge that was due stands."""
    charge_kept: bool
    """The session's charge stands whatever follows (a later cancellation is not free)."""
    free_before: datetime | None
    """A move in ``requested_by``'s name received strictly before this instant keeps the client's
    free options (a client's until start − 48 h; a therapist's or admin's until the start).
    ``None``: the client already moved the session late."""
    charge_at: datetime | None
    """When the client's card is charged after the move (``None``: paid already, or nothing due)."""
    charge_minor: int
    """What is charged then."""


class Refusal(_Command):
    """A rule's refusal, returned by a preview query (a query cannot fail with a code)."""

    code: str
    message: str


class CancelPreviewAnswer(_Command):
    preview: CancelPreview | None = None
    refused: Refusal | None = None


class ReschedulePreviewAnswer(_Command):
    preview: ReschedulePreview | None = None
    refused: Refusal | None = None
