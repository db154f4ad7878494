"""The vocabularies shared by the workflow, the API and ops queries."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum


class SessionStatus(StrEnum):
    """Where a session stands."""

    # Also the ``SessionStatus`` search attribute (visibility).

    SCHEDULED = "scheduled"
    PAYMENT_DUE = "payment_due"
    PAID = "paid"
    PAYMENT_FAILED = "payment_failed"
    AWAITING_CLIENT_ACTION = "awaiting_client_action"
    CANCELLED_FREE = "cancelled_free"
    CANCELLED_LATE = "cancelled_late"
    CANCELLED_BY_THERAPIST = "cancelled_by_therapist"
    CANCELLED_UNPAID = "cancelled_unpaid"
    AWAITING_UPDATE = "awaiting_update"
    ATTENDED = "attended"
    CLIENT_NO_SHOW = "client_no_show"
    COMPLETED = "completed"
    PAYMENT_ON_HOLD = "payment_on_hold"
    """The charge came due while the therapist's connected account could not take charges: held,
    not attempted, until it can (or cancelled as the therapist's cancellation at the auto-cancel)."""
    UNREPORTED = "unreported"
    """The attendance update never came: closed at the policy's ``unreported_after`` from the end
    (``domain.unreported``), its charge kept; nothing is assumed about the attendance itself."""

    @property
    def is_cancelled(self) -> bool:
        return self in _CANCELLED


_CANCELLED = frozenset(
    {
        SessionStatus.CANCELLED_FREE,
        SessionStatus.CANCELLED_LATE,
        SessionStatus.CANCELLED_BY_THERAPIST,
        SessionStatus.CANCELLED_UNPAID,
    }
)


class PaymentStatus(StrEnum):
    """The money side of a session, kept apart from its lifecycle status."""

    NOT_DUE = "not_due"
    PROCESSING = "processing"
    PAID = "paid"
    DECLINED_SOFT = "declined_soft"
    DECLINED_HARD = "declined_hard"
    REQUIRES_ACTION = "requires_action"
    VOIDED = "voided"
    NOT_COLLECTED = "not_collected"
    ON_HOLD = "on_hold"
    """Held while the therapist's account cannot take charges (``ChargeOutcome.HELD``)."""


class Actor(StrEnum):
    CLIENT = "client"
    THERAPIST = "therapist"
    ADMIN = "admin"


# README rule 2 (when each kind is charged) and domain.acting.check_booking_party (who books it).
class BookingKind(StrEnum):
    """How a session came to be booked: it decides who books it and when it is charged. The client
    books `initial_prepaid` and `client_follow_up`, the therapist `therapist_follow_up` and
    `therapist_manual` (with the client's agreement), an admin any kind; another party is `409
    not_allowed`. `initial_prepaid` was paid at checkout; `client_follow_up` is charged at once,
    while the client is present; a therapist's kind off-session 48 hours before the start (at once
    when booked inside that window)."""

    INITIAL_PREPAID = "initial_prepaid"
    """The client's first session, paid at checkout; its PaymentIntent is passed in."""
    THERAPIST_FOLLOW_UP = "therapist_follow_up"
    """Booked by the therapist with the client's agreement; charged off-session at start − 48 h."""
    CLIENT_FOLLOW_UP = "client_follow_up"
    """Booked by the client; charged at once."""
    THERAPIST_MANUAL = "therapist_manual"
    """Set up by the therapist by hand, with the client's agreement (the help centre's "new
    appointment for my client"): charged at start − 48 h like a follow-up, at once when booked
    inside the window, and — dated in the past, within the policy's ``manual_backdate_limit`` —
    charged at once and presented for the attendance update."""

    @property
    def booked_by_therapist(self) -> bool:
        return self in (BookingKind.THERAPIST_FOLLOW_UP, BookingKind.THERAPIST_MANUAL)


class CancelReason(StrEnum):
    """Why a session was cancelled, as a code: free text about health never enters the system."""

    CLIENT_REQUEST = "client_request"
    ILLNESS = "illness"
    SCHEDULING_CONFLICT = "scheduling_conflict"
    THERAPIST_UNAVAILABLE = "therapist_unavailable"
    EMERGENCY = "emergency"
    PAYMENT_ISSUE = "payment_issue"
    ADMIN_CORRECTION = "admin_correction"
    OTHER = "other"


class RefundReason(StrEnum):
    """Why a therapist or admin refunds a session, as a code: never free text."""

    CLIENT_NO_SHOW_WAIVED = "client_no_show_waived"
    LATE_CANCELLATION_WAIVED = "late_cancellation_waived"
    SESSION_CUT_SHORT = "session_cut_short"
    THERAPIST_LATE = "therapist_late"
    TECHNICAL_PROBLEM = "technical_problem"
    BILLING_ERROR = "billing_error"
    GOODWILL = "goodwill"
    OTHER = "other"


# README rule 3.
class DeclineKind(StrEnum):
    """What a card decline asks for: `soft` (insufficient funds, a processing error) — the same
    card is tried again at the next attempt time; `hard` (lost, stolen or expired card) — only a
    new card helps; `authentication_required` — the bank wants the client present (3-D Secure),
    never retried off-session."""

    SOFT = "soft"
    """Insufficient funds, try again later, processing error: retry at the next attempt time."""
    HARD = "hard"
    """Lost, stolen or expired card, do not try again: wait for a new card."""
    AUTHENTICATION_REQUIRED = "authentication_required"
    """The bank wants the client present (SCA): never retried off-session."""


ENDS_INTO_AWAITING_UPDATE = frozenset({SessionStatus.SCHEDULED, SessionStatus.PAID})
"""Statuses a session that has taken place still shows until something happens after its end:
since the lean lifecycle no timer (and no upsert) marks the end itself."""


def status_as_of(status: SessionStatus, end: datetime, now: datetime) -> SessionStatus:
    """The status a person sees at ``now``: a ``scheduled`` or ``paid`` session whose end has passed
    awaits its attendance update. Reads (the API, lists over the ``SessionEnd`` search attribute)
    apply it with their own clock; the workflow records ``awaiting_update`` only when something
    happens after the end."""
    if status in ENDS_INTO_AWAITING_UPDATE and now >= end:
        return SessionStatus.AWAITING_UPDATE
    return status
