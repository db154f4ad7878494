"""The evidence pack for a disputed charge, built from the session's recorded history alone.

When a client's bank disputes a session's charge the merchant answers with evidence (Stripe's
``dispute.evidence`` text fields). Everything Sessionflow can prove is already in the session's
history: when and how the session was booked, who booked it and whether the client agreed, the
cancellation policy in force (its notice from the session's own policy), the notice a cancellation
actually gave, the attendance the therapist recorded, the service date. :func:`evidence_pack` turns
those machine values into Stripe's fields.

Privacy by construction: every sentence is a template filled with instants, amounts, enum values
this module maps to fixed phrases, and opaque ids. No health data (a cancellation's or a
relationship end's *reason* code — ``illness`` — is never read), no names or e-mails (Stripe's
``customer_name`` / ``customer_email_address`` stay empty), and no text a person wrote (the models
hold none; the test fuzzes that anything they might carry never appears).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any

from pydantic import BaseModel, ConfigDict

from domain.attendance import AttendanceOutcome
from domain.booking import SessionBooking
from domain.ids import OpaqueId, StripeId
from domain.policy import SessionPolicy
from domain.state import SessionState
from domain.status import Actor, BookingKind, SessionStatus

_KIND_PHRASES = MappingProxyType(
    {
        BookingKind.INITIAL_PREPAID: "a first appointment, paid in full by the client at checkout",
        BookingKind.THERAPIST_FOLLOW_UP: "a follow-up appointment booked by the practitioner, charged to the "
        "client's saved card",
        BookingKind.CLIENT_FOLLOW_UP: "a follow-up appointment booked by the client, paid by the client "
        "while present",
        BookingKind.THERAPIST_MANUAL: "an appointment entered by the practitioner",
    }
)

_PARTY_PHRASES = MappingProxyType(
    {
        Actor.CLIENT: "the client",
        Actor.THERAPIST: "the practitioner",
        Actor.ADMIN: "the marketplace",
    }
)

_CANCELLED_PHRASES = MappingProxyType(
    {
        SessionStatus.CANCELLED_FREE: "a free cancellation under the policy",
        SessionStatus.CANCELLED_LATE: "a late cancellation under the policy: the charge stands",
        SessionStatus.CANCELLED_BY_THERAPIST: "a cancellation by the practitioner: the client is owed a full "
        "refund",
        SessionStatus.CANCELLED_UNPAID: "cancelled because its payment never came in",
    }
)


_NO_SHOW_LINE = "Attendance: the practitioner recorded that the client did not attend,"


class DisputeEvidence(BaseModel):
    """Stripe's ``dispute.evidence`` text fields that the history can fill (the others stay empty)."""

    model_config = ConfigDict(frozen=True)

    product_description: str
    service_date: str
    cancellation_policy_disclosure: str
    refund_policy_disclosure: str
    cancellation_rebuttal: str | None = None
    refund_refusal_explanation: str | None = None
    uncategorized_text: str

    def to_stripe(self) -> dict[str, str]:
        """The ``evidence`` parameter of ``POST /v1/disputes/{id}`` (empty fields left out)."""
        return {name: value for name, value in self.model_dump().items() if value is not None}


class EvidenceSource(BaseModel):
    """What the pack is built from: the session's state, its booking and policy as recorded at
    booking, and when the booking was accepted."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    state: SessionState
    booking: SessionBooking
    policy: SessionPolicy
    booked_at: datetime


def _at(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _hours(span: timedelta) -> str:
    hours = span.total_seconds() / 3600
    return f"{hours:.0f}" if hours == int(hours) else f"{hours:.1f}"


def _money(amount_minor: int, currency: str) -> str:
    return f"{amount_minor / 100:.2f} {currency.upper()}"


def policy_text(policy: SessionPolicy) -> str:
    """The cancellation policy, generated from the policy's own values."""
    notice = _hours(policy.free_cancellation_notice)
    return (
        f"A cancellation by the client made more than {notice} hours before the appointment's start is "
        f"free and refunded in full. A cancellation by the client {notice} hours or less before the "
        "start, or not attending, is charged in full. A cancellation by the practitioner is always "
        "refunded in full. These terms are part of the booking confirmation sent when the "
        "appointment is booked."
    )


def evidence_pack(source: EvidenceSource) -> DisputeEvidence:
    """Stripe's evidence fields for the session's disputed charge, from its recorded state."""
    state, booking, policy = source.state, source.booking, source.policy
    payment = state.payment
    minutes = int((state.end - state.start).total_seconds() // 60)
    kind = _KIND_PHRASES.get(state.kind, "an appointment")
    product = (
        f"One {minutes}-minute appointment on {_at(state.start)} ({kind}), "
        f"{_money(payment.amount_minor, payment.currency)}, booked on {_at(source.booked_at)}."
    )
    lines = [
        f"Booking: made on {_at(source.booked_at)} by {_PARTY_PHRASES[booking.booked_by]}, for an "
        f"appointment starting {_at(booking.start)}; session reference {state.session_id}.",
    ]
    if booking.kind.booked_by_therapist:
        agreed = "recorded" if booking.client_agreed else "not recorded"
        lines.append(f"Client's agreement to this booking: {agreed} at booking.")
    if state.reschedules:
        last = state.reschedules[-1]
        lines.append(
            f"Moved {len(state.reschedules)} time(s); last by {_PARTY_PHRASES[last.requested_by]} on "
            f"{_at(last.at)} to {_at(last.new_start)}."
        )
    if payment.payment_intent_id is not None:
        lines.append(
            f"Payment: {_money(payment.amount_paid_minor, payment.currency)} captured "
            f"(PaymentIntent {payment.payment_intent_id}); refunded so far "
            f"{_money(payment.amount_refunded_minor, payment.currency)}."
        )
    rebuttal: str | None = None
    refusal: str | None = None
    cancellation = state.cancellation
    if cancellation is not None:
        notice = state.start - cancellation.at
        phrase = _CANCELLED_PHRASES.get(state.status, "cancelled")
        rebuttal = (
            f"The appointment was cancelled by {_PARTY_PHRASES[cancellation.requested_by]} on "
            f"{_at(cancellation.at)}, {_hours(max(notice, timedelta(0)))} hours before its start "
            f"({_at(state.start)}): {phrase}. The policy requires more than "
            f"{_hours(policy.free_cancellation_notice)} hours' notice for a free cancellation."
        )
        lines.append(rebuttal)
        if state.status is SessionStatus.CANCELLED_LATE and not cancellation.discretionary_refund:
            refusal = (
                f"No refund: the cancellation gave {_hours(max(notice, timedelta(0)))} hours' notice, "
                f"less than the {_hours(policy.free_cancellation_notice)} hours the policy requires."
            )
    attendance = state.attendance
    if attendance is not None:
        outcome = attendance.update.outcome
        if outcome is AttendanceOutcome.ATTENDED:
            lines.append(
                f"Attendance: the practitioner recorded the client as attending, on {_at(attendance.at)}."
            )
        else:
            lines.append(f"{_NO_SHOW_LINE} on {_at(attendance.at)}.")
            refusal = refusal or "No refund: the client did not attend, which the policy charges in full."
    elif state.no_show is not None:
        lines.append(f"{_NO_SHOW_LINE} on {_at(state.no_show.at)}.")
        refusal = refusal or "No refund: the client did not attend, which the policy charges in full."
    text = policy_text(policy)
    return DisputeEvidence(
        product_description=product,
        service_date=state.start.astimezone(UTC).date().isoformat(),
        cancellation_policy_disclosure=text,
        refund_policy_disclosure=text,
        cancellation_rebuttal=rebuttal,
        refund_refusal_explanation=refusal,
        uncategorized_text="\n".join(lines),
    )


def evidence_fields(evidence: DisputeEvidence) -> dict[str, Any]:
    """The pack as the API exports it (every field, empty ones null)."""
    return evidence.model_dump()


class EvidenceSubmission(BaseModel):
    """What ``submit_dispute_evidence`` is asked: the pack, for the dispute and the account its
    charge lives on."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    session_id: OpaqueId
    dispute_id: StripeId
    account: StripeId | None = None
    """The connected account the charge (and so the dispute) lives on; None: the platform's."""
    evidence: DisputeEvidence

    @property
    def idempotency_key(self) -> str:
        return f"session:{self.session_id}:dispute:{self.dispute_id}:evidence"


class EvidenceSubmitted(BaseModel):
    """What ``submit_dispute_evidence`` returns: ``submitted`` when the worker sent it to Stripe
    (``SESSIONFLOW_DISPUTE_EVIDENCE_SUBMIT``); otherwise it is exported for the backend
    (``GET /v1/sessions/{id}/dispute-evidence``). ``status``: the dispute's, as Stripe answered."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    submitted: bool
    status: str | None = None
