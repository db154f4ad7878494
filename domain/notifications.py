"""Notification events for the marketplace backend, and the signature that authenticates them.

Every effect a person must hear about (a charge, a decline, a refund, a reminder, a released slot…)
becomes one :class:`Notification`, delivered to the backend as a signed JSON POST. Payloads carry
ids and machine codes only: the backend renders the words, so no health data, names or free text
ever leave Sessionflow — the models refuse anything that is not an id or a code.

The event id is derived from business state (``{session or therapist id}:{type}:{sequence}``), never
from an activity attempt or a fresh uuid, so every retry and every replay of the same effect carries
the same id and the backend can drop duplicates.

Signature (modelled on Stripe's webhooks): the header ``Sessionflow-Signature: t=<unix
seconds>,v1=<hex>`` where ``<hex>`` is HMAC-SHA256, keyed with the shared secret, over
``f"{t}.".encode() + raw_body``. The receiver verifies it on the raw bytes before parsing and
refuses timestamps outside a tolerance, which bounds replays of a captured request.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from enum import StrEnum
from typing import Annotated, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from domain.ids import OpaqueId, is_opaque_id
from domain.money import Currency

SIGNATURE_HEADER = "Sessionflow-Signature"
EVENT_ID_HEADER = "Sessionflow-Event-Id"
SIGNATURE_SCHEME = "v1"
DEFAULT_TOLERANCE_SECONDS = 300
NOTIFICATION_REJECTED = "NotificationRejected"
"""``ApplicationError.type`` of a delivery the backend refused (4xx): retrying cannot help."""

EVENT_ID_PATTERN = r"^[A-Za-z0-9_:.-]{1,200}$"
CODE_PATTERN = r"^[a-z0-9_.:-]{1,64}$"
CLIENT_SECRET_PATTERN = r"^[A-Za-z0-9_-]{1,500}$"
MAX_CODES = 16

_EVENT_ID = re.compile(EVENT_ID_PATTERN)

EventId = Annotated[str, StringConstraints(pattern=EVENT_ID_PATTERN)]
"""1–200 characters of ``[A-Za-z0-9_:.-]``: opaque ids, the type and a sequence."""

Code = Annotated[str, StringConstraints(pattern=CODE_PATTERN)]
"""A machine code such as ``insufficient_funds``: lower case, no spaces, at most 64 characters."""


class NotificationSignatureError(ValueError):
    """The signature header is missing, garbled, wrong or too old."""


class NotificationType(StrEnum):
    CHARGE_SUCCEEDED = "charge_succeeded"
    """The payment receipt (the client)."""
    CHARGE_FAILED = "charge_failed"
    ACTION_REQUIRED = "action_required"
    """The bank asked for the client: they pay on-session with the PaymentIntent's client secret."""
    AUTO_CANCELLED = "auto_cancelled"
    REFUND_ISSUED = "refund_issued"
    ATTENDANCE_UPDATE_DUE = "attendance_update_due"
    FOLLOW_UP_BOOKED = "follow_up_booked"
    SLOT_RELEASED = "slot_released"
    RELATIONSHIP_ENDED = "relationship_ended"
    SESSION_CANCELLED = "session_cancelled"
    BOOKING_CONFIRMED = "booking_confirmed"
    SESSION_RESCHEDULED = "session_rescheduled"
    PAYMENT_RECOVERED = "payment_recovered"
    """The therapist: a payment succeeded after a failure or action-required notice."""
    PAYMENT_PENDING = "payment_pending"
    """The therapist: the client must authenticate the payment (the client got action_required)."""
    PAYMENT_REMINDER = "payment_reminder"
    """The client: a later attempt instant passed with the payment or authentication outstanding."""
    SLOT_RESERVED = "slot_reserved"


class Channel(StrEnum):
    """How the backend shows the event to its person."""

    EMAIL = "email"
    IN_APP = "in_app"
    """A pop-up or banner in the dashboard of the person who just acted (e.g. a slot released)."""
    DASHBOARD_NOTE = "dashboard_note"
    """A dated note on the person's dashboard, never an e-mail (e.g. a relationship ended)."""


class Audience(StrEnum):
    CLIENT = "client"
    THERAPIST = "therapist"
    BOTH = "both"


class Notification(BaseModel):
    """One event for the backend to render and deliver to a person. Ids and codes only."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    event_id: EventId
    type: NotificationType
    audience: Audience
    session_id: OpaqueId | None = None
    therapist_id: OpaqueId
    client_id: OpaqueId | None = None
    occurred_at: AwareDatetime
    codes: dict[Code, Code] = Field(default_factory=dict, max_length=MAX_CODES)
    """Machine codes only, e.g. ``{"decline_code": "insufficient_funds"}`` — never free text."""
    amount_minor: int | None = Field(default=None, ge=0)
    currency: Currency | None = None
    related_session_id: OpaqueId | None = None
    """Another session the event is about, e.g. the follow-up that was booked."""
    payment_intent_client_secret: Annotated[str, StringConstraints(pattern=CLIENT_SECRET_PATTERN)] | None = (
        Field(default=None, repr=False)
    )
    """``action_required`` only: lets the backend send the client to pay on-session. Never logged."""
    reminder_number: int | None = Field(default=None, ge=1)
    slot_id: EventId | None = None
    channel: Channel = Channel.EMAIL
    confirmation: bool = False
    """True on the copy that confirms an action to the party who took it (a cancellation, a move,
    a booking, the end of a relationship); False on the copy that tells the other party."""

    @model_validator(mode="after")
    def _client_secret_only_when_action_is_required(self) -> Self:
        secret = self.payment_intent_client_secret
        if secret is not None and self.type is not NotificationType.ACTION_REQUIRED:
            raise ValueError("payment_intent_client_secret is only sent with action_required")
        return self


class DeliveryResult(BaseModel):
    """What ``deliver_notification`` returns: the event id and the backend's HTTP status (0: disabled)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    event_id: EventId
    status_code: int = Field(ge=0, le=599)


def notification_event_id(session_or_therapist_id: str, type: NotificationType, sequence: int | str) -> str:
    """``{id}:{type}:{sequence}`` — the same effect always gets the same id, across retries and replays.

    ``sequence`` tells apart repeats of one type for one subject (the charge attempt, the refund
    number, the reminder number…); it must come from workflow state, never from the clock.
    """
    if not is_opaque_id(session_or_therapist_id):
        raise ValueError("notification event ids start with an opaque session or therapist id")
    event_id = f"{session_or_therapist_id}:{NotificationType(type)}:{sequence}"
    if str(sequence) == "" or _EVENT_ID.fullmatch(event_id) is None:
        raise ValueError("notification event ids are 1-200 characters of [A-Za-z0-9_:.-]")
    return event_id


def _mac(body: bytes, secret: str, timestamp: int) -> str:
    signed = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def sign_payload(body: bytes, secret: str, timestamp: int) -> str:
    """The value of :data:`SIGNATURE_HEADER` for ``body`` sent at ``timestamp`` (unix seconds)."""
    if not secret:
        raise ValueError("the notification signing secret is empty")
    return f"t={timestamp},{SIGNATURE_SCHEME}={_mac(body, secret, timestamp)}"


def _parse_header(header: str) -> tuple[int, list[str]]:
    timestamp: int | None = None
    signatures: list[str] = []
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if not sep:
            raise NotificationSignatureError("the signature header is garbled")
        if key == "t":
            if timestamp is not None or not value.isascii() or not value.isdigit():
                raise NotificationSignatureError("the signature header has no valid timestamp")
            timestamp = int(value)
        elif key == SIGNATURE_SCHEME:
            signatures.append(value)
    if timestamp is None:
        raise NotificationSignatureError("the signature header has no timestamp")
    if not signatures:
        raise NotificationSignatureError(f"the signature header has no {SIGNATURE_SCHEME} signature")
    return timestamp, signatures


def verify_signature(
    body: bytes, header: str | None, secret: str, now: int, tolerance: int = DEFAULT_TOLERANCE_SECONDS
) -> None:
    """Raise :class:`NotificationSignatureError` unless ``header`` signs ``body`` within ``tolerance``.

    ``body`` is the raw request body, before any parsing; ``now`` is the receiver's unix time. Any
    one ``v1`` entry may match, so a sender can sign with an old and a new secret while rotating.
    """
    if not secret:
        raise ValueError("the notification signing secret is empty")
    if not header:
        raise NotificationSignatureError(f"the {SIGNATURE_HEADER} header is missing")
    timestamp, signatures = _parse_header(header)
    if abs(now - timestamp) > tolerance:
        raise NotificationSignatureError("the signature timestamp is outside the tolerance")
    expected = _mac(body, secret, timestamp).encode()
    # compare_digest on every candidate (no early exit on the first mismatch's content).
    if not any(hmac.compare_digest(expected, candidate.encode()) for candidate in signatures):
        raise NotificationSignatureError("the signature does not match the body")
