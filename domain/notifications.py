"""Notification events for the marketplace backend, and how their deliveries are authenticated.

Every effect a person must hear about (a booking, a charge, a decline, a refund, a reminder, a
released slot…) becomes one :class:`Notification`, delivered to the backend as a signed JSON POST.
What each type is, who hears it, on which channel and when is the catalogue
(``domain.notification_catalogue``, ``docs/notifications.md``). Payloads carry ids, instants and
machine codes only: the backend renders the words, so no health data, names or free text ever
leave Sessionflow — the models refuse anything that is not an id or a code.

The event id is derived from business state (``{session or therapist id}:{type}:{sequence}``), never
from an activity attempt or a fresh uuid, so every retry and every replay of the same effect carries
the same id and the backend can drop duplicates.

Delivery follows the Standard Webhooks convention (https://www.standardwebhooks.com): the headers
``webhook-id`` (the event id), ``webhook-timestamp`` (unix seconds of this attempt) and
``webhook-signature`` (``v1,<base64 HMAC-SHA256 over "{id}.{timestamp}.{raw body}">``), keyed with
the secret in its ``whsec_<base64 key>`` form, so a backend verifies a delivery with any
off-the-shelf Standard Webhooks library (``standardwebhooks`` on PyPI: ``Webhook(secret).verify``).
The signing itself lives outside this pure package (``activities.notifications``); the secret's
form is checked here (:func:`webhook_secret`).
"""

from __future__ import annotations

import base64
import binascii
import re
from enum import StrEnum
from typing import Annotated, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from domain.ids import OpaqueId, is_opaque_id
from domain.money import Currency

WEBHOOK_ID_HEADER = "webhook-id"
"""The event id: the same on every retry, so the backend drops repeats."""
WEBHOOK_TIMESTAMP_HEADER = "webhook-timestamp"
"""Unix seconds of this delivery attempt (a receiver refuses one more than 5 minutes off)."""
WEBHOOK_SIGNATURE_HEADER = "webhook-signature"
"""``v1,<base64>``: HMAC-SHA256 over ``{webhook-id}.{webhook-timestamp}.{raw body}``."""
WEBHOOK_SECRET_PREFIX = "whsec_"
NOTIFICATION_REJECTED = "NotificationRejected"
"""``ApplicationError.type`` of a delivery the backend refused (4xx): retrying cannot help."""

CATALOGUE_VERSION = "1"
"""The version of the notification catalogue (``domain.notification_catalogue``) this code emits:
every notification carries it, and each event type's JSON Schema names it in its ``$id``. Bump it
when a type, an audience, a channel or a field changes meaning (adding an optional field does not)."""

EVENT_ID_PATTERN = r"^[A-Za-z0-9_:.-]{1,200}$"
CODE_PATTERN = r"^[a-z0-9_.:-]{1,64}$"
CLIENT_SECRET_PATTERN = r"^[A-Za-z0-9_-]{1,500}$"
ZONE_PATTERN = r"^[A-Za-z0-9_+/-]{1,64}$"
MAX_CODES = 16

_EVENT_ID = re.compile(EVENT_ID_PATTERN)

EventId = Annotated[str, StringConstraints(pattern=EVENT_ID_PATTERN)]
"""1–200 characters of ``[A-Za-z0-9_:.-]``: opaque ids, the type and a sequence."""

Code = Annotated[str, StringConstraints(pattern=CODE_PATTERN)]
"""A machine code such as ``insufficient_funds``: lower case, no spaces, at most 64 characters."""

ZoneName = Annotated[str, StringConstraints(pattern=ZONE_PATTERN)]
"""An IANA zone name such as ``America/New_York`` (validated as a zone where a booking is made)."""


class NotificationSignatureError(ValueError):
    """The signature headers are missing, garbled, wrong or too old."""


def webhook_secret(secret: str) -> str:
    """The signing secret in the Standard Webhooks form ``whsec_<base64 key>``.

    A ``whsec_`` value must be the prefix and standard base64 of a non-empty key. A value without
    the prefix (a plain secret from a configuration older than the Standard Webhooks delivery) is
    accepted and derived: its UTF-8 bytes are the key, as they were the HMAC key of the old
    ``Sessionflow-Signature`` header, and the backend is given ``whsec_`` + base64 of those bytes.
    Raises ``ValueError`` for an empty secret or a ``whsec_`` value whose key does not decode.
    """
    if not secret:
        raise ValueError("the notification signing secret is empty")
    if not secret.startswith(WEBHOOK_SECRET_PREFIX):
        return WEBHOOK_SECRET_PREFIX + base64.b64encode(secret.encode()).decode()
    encoded = secret.removeprefix(WEBHOOK_SECRET_PREFIX)
    try:
        key = base64.b64decode(encoded, validate=True)
    except binascii.Error:
        raise ValueError(
            "a whsec_ notification secret must be whsec_ followed by the standard base64 of the key"
        ) from None
    if not key:
        raise ValueError("the notification signing secret's key is empty")
    return secret


class NotificationType(StrEnum):
    CHARGE_SUCCEEDED = "charge_succeeded"
    """The payment receipt (the catalogue's "payment receipt")."""
    CHARGE_FAILED = "charge_failed"
    """The payment failed, with its reason category (the catalogue's "payment failed")."""
    ACTION_REQUIRED = "action_required"
    """The bank asked for the client: they pay on-session with the PaymentIntent's client secret."""
    AUTO_CANCELLED = "auto_cancelled"
    REFUND_ISSUED = "refund_issued"
    ATTENDANCE_UPDATE_DUE = "attendance_update_due"
    FOLLOW_UP_BOOKED = "follow_up_booked"
    SLOT_RELEASED = "slot_released"
    """A reserved weekly slot was removed."""
    RELATIONSHIP_ENDED = "relationship_ended"
    SESSION_CANCELLED = "session_cancelled"
    BOOKING_CONFIRMED = "booking_confirmed"
    SESSION_RESCHEDULED = "session_rescheduled"
    PAYMENT_RECOVERED = "payment_recovered"
    PAYMENT_PENDING = "payment_pending"
    """The therapist is told payment is pending while the client must authenticate."""
    PAYMENT_REMINDER = "payment_reminder"
    SLOT_RESERVED = "slot_reserved"
    """A reserved weekly slot was added."""
    DISPUTE_OPENED = "dispute_opened"
    """The client's bank disputes the session's charge (the therapist bears it: direct charges)."""
    DISPUTE_CLOSED = "dispute_closed"
    """The bank decided the dispute: ``codes.outcome`` is ``won``, ``lost`` or ``warning_closed``."""
    PAYMENTS_PAUSED = "payments_paused"
    """Stripe disabled charges on the therapist's connected account: their practice is paused."""
    PAYMENT_ON_HOLD = "payment_on_hold"
    """A session's charge is held while its therapist's account cannot take charges."""
    SESSION_UNREPORTED = "session_unreported"
    """The attendance update never came: the session closed at the policy's deadline after its end."""


class Audience(StrEnum):
    CLIENT = "client"
    THERAPIST = "therapist"
    BOTH = "both"


class Channel(StrEnum):
    """How the backend brings the event to the person (it renders the words)."""

    EMAIL = "email"
    IN_APP = "in_app"
    """A pop-up in the therapist's app (reserved slots), not an e-mail."""
    DASHBOARD_NOTE = "dashboard_note"
    """A note on the client's dashboard with the date and time (an ended relationship)."""


class Notification(BaseModel):
    """One event for the backend to render and deliver to a person. Ids, instants and codes only."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    event_id: EventId
    type: NotificationType
    audience: Audience
    channel: Channel = Channel.EMAIL
    confirmation: bool = False
    """True: this copy confirms to the party who acted (e.g. the canceller), not news to them."""
    catalogue_version: str = Field(default=CATALOGUE_VERSION, pattern=r"^[0-9]{1,6}$")
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
    """``action_required`` and ``payment_reminder``, to the client only: lets the backend send the
    client to pay on-session. Never logged."""
    reminder_number: int | None = Field(default=None, ge=1)
    slot_id: EventId | None = None
    # --- the session's time, for both parties (domain.local_times.session_times) ---
    start: AwareDatetime | None = None
    """The start of the session the event is about (the follow-up's, for ``follow_up_booked``), in UTC."""
    start_local_client: AwareDatetime | None = None
    """The same instant as the client's local date-time, with its offset."""
    start_local_therapist: AwareDatetime | None = None
    """The same instant as the therapist's local date-time, with its offset."""
    client_timezone: ZoneName | None = None
    therapist_timezone: ZoneName | None = None
    client_local_time_changed: bool | None = None
    """True when the client's local clock time of this start differs from their previous session's
    in a weekly chain (a DST change in one zone and not the other); ``None``: no previous session."""
    charge_at: AwareDatetime | None = None
    """When the saved card is to be charged (UTC); absent when nothing is to be charged."""
    free_cancellation_until: AwareDatetime | None = None
    """The last moment a client's cancellation is free is before this instant: start − 48 h (UTC)."""

    @model_validator(mode="after")
    def _client_secret_only_to_the_client_who_must_pay(self) -> Self:
        secret = self.payment_intent_client_secret
        if secret is None:
            return self
        if self.type not in _CARRIES_CLIENT_SECRET:
            raise ValueError(
                "payment_intent_client_secret is only sent with action_required or payment_reminder"
            )
        if self.audience is not Audience.CLIENT:
            raise ValueError("payment_intent_client_secret is only sent to the client")
        return self


_CARRIES_CLIENT_SECRET = frozenset({NotificationType.ACTION_REQUIRED, NotificationType.PAYMENT_REMINDER})


class DeliveryResult(BaseModel):
    """What ``deliver_notification`` returns: the event id and the backend's HTTP status (0: disabled)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    event_id: EventId
    status_code: int = Field(ge=0, le=599)


class NotificationBatch(BaseModel):
    """What ``deliver_notifications`` sends: the notices one workflow task produced, in order."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    notifications: list[Notification] = Field(min_length=1)


class BatchDelivery(BaseModel):
    """What ``deliver_notifications`` returns: each event's outcome. ``delivered`` (status 0:
    notifications are disabled); ``rejected``, refused for good (a 4xx: a retry cannot fix them);
    ``unavailable``, the event ids the backend could not take now (5xx, 408/409/429, no answer):
    the workflow hands each to a ``deliver_notification`` activity of its own, retried for a day,
    so one failing notice never holds back the session's later ones."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    delivered: list[DeliveryResult] = Field(default_factory=list)
    rejected: list[DeliveryResult] = Field(default_factory=list)
    unavailable: list[EventId] = Field(default_factory=list)


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
