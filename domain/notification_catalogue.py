"""The notification catalogue: every event a person hears about, who hears it, how and when.

One :class:`CatalogueEntry` per :class:`~domain.notifications.NotificationType`: its audiences, each
with the channel it is delivered on (and whether that copy confirms to the party who acted), the
sentence saying when it is sent, and which optional fields and codes it carries. The catalogue is
versioned (:data:`~domain.notifications.CATALOGUE_VERSION`, carried by every notification and named
in each schema's ``$id``); from it and the :class:`~domain.notifications.Notification` model come a
JSON Schema per event type (:func:`event_schema`), committed under ``docs/notifications/schemas/``
(``make schemas`` regenerates them; a test keeps the committed files equal to these), the table in
``docs/notifications.md`` (:func:`catalogue_table`) and the webhooks on the OpenAPI page.

``Notice.to_notification`` (``domain.session``) reads it: the channel of a copy comes from here, and
so does whether the session's times and the booking terms are filled in.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from datetime import timedelta
from types import MappingProxyType
from typing import Any

from pydantic import BaseModel, ConfigDict

from domain.notifications import CATALOGUE_VERSION, Audience, Channel, Notification, NotificationType
from domain.policy import DEFAULT_POLICY

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_DIRECTORY = "docs/notifications/schemas"
"""Where the committed schemas live, relative to the repository's root: ``<type>.json`` each."""

COMMON_FIELDS = (
    "event_id",
    "type",
    "audience",
    "channel",
    "confirmation",
    "catalogue_version",
    "therapist_id",
    "occurred_at",
    "codes",
)
"""Set on every notification."""
SESSION_FIELDS = ("session_id", "client_id")
"""Set on every notification about one session."""
TIME_FIELDS = (
    "start",
    "start_local_client",
    "start_local_therapist",
    "client_timezone",
    "therapist_timezone",
    "client_local_time_changed",
)
"""The session's start for both parties (``domain.local_times.session_times``); all but
``client_local_time_changed`` (null without a previous session) are set when these are carried."""
TERMS_FIELDS = ("charge_at", "free_cancellation_until")
"""The booking terms (``domain.local_times.booking_terms``): ``charge_at`` is null when nothing is
to be charged; the code ``cancellation_policy`` (``48h``) goes with them."""
MONEY_FIELDS = ("amount_minor", "currency")


class Delivery(BaseModel):
    """One audience of an event type and how it is brought to them."""

    model_config = ConfigDict(frozen=True)

    audience: Audience
    channel: Channel = Channel.EMAIL
    confirmation: bool = False
    """This copy confirms to the party who acted (the canceller, the mover, the therapist who
    booked or ended); the other party's copy is news to them."""


class CatalogueEntry(BaseModel):
    """What the catalogue says about one event type."""

    model_config = ConfigDict(frozen=True)

    type: NotificationType
    name: str
    """The name the marketplace's terms use for it, e.g. "payment receipt"."""
    deliveries: tuple[Delivery, ...]
    when: str
    """When it is sent, as a sentence."""
    session_times: bool = True
    """About one session whose start is known: carries :data:`TIME_FIELDS`."""
    booking_terms: bool = False
    """Carries the charge date and the 48-hour policy (:data:`TERMS_FIELDS`)."""
    fields: tuple[str, ...] = ()
    """Further optional fields it carries (others are always null)."""
    codes: tuple[str, ...] = ()
    """The keys of ``codes`` it carries."""

    @property
    def audiences(self) -> tuple[Audience, ...]:
        return tuple(dict.fromkeys(delivery.audience for delivery in self.deliveries))

    @property
    def channels(self) -> tuple[Channel, ...]:
        return tuple(dict.fromkeys(delivery.channel for delivery in self.deliveries))

    @property
    def carried_fields(self) -> tuple[str, ...]:
        """Every optional field this type may set, in the model's order."""
        carried = set(self.fields)
        if self.session_times:
            carried |= {*SESSION_FIELDS, *TIME_FIELDS}
        if self.booking_terms:
            carried |= set(TERMS_FIELDS)
        return tuple(name for name in Notification.model_fields if name in carried)


def _duration(offset: timedelta) -> str:
    # Whole weeks' worth of days read as days ("7 days"); anything shorter in hours ("72 h").
    if offset % timedelta(days=1) == timedelta(0) and offset >= timedelta(days=7):
        return f"{offset.days} days"
    if offset % timedelta(hours=1) == timedelta(0):
        return f"{int(offset.total_seconds() // 3600)} h"
    return f"{int(offset.total_seconds() // 60)} min"


def _offsets(offsets: tuple[timedelta, ...]) -> str:
    return ", ".join(f"+ {_duration(offset)}" for offset in offsets)


_UNREPORTED_AFTER = DEFAULT_POLICY.unreported_after or timedelta(0)
_CLIENT = Delivery(audience=Audience.CLIENT)
_THERAPIST = Delivery(audience=Audience.THERAPIST)
_OTHER_PARTY_AND_CONFIRMATION = (
    _CLIENT,
    _THERAPIST,
    Delivery(audience=Audience.CLIENT, confirmation=True),
    Delivery(audience=Audience.THERAPIST, confirmation=True),
)

_ENTRIES = (
    CatalogueEntry(
        type=NotificationType.BOOKING_CONFIRMED,
        name="booking confirmed",
        deliveries=(
            Delivery(audience=Audience.CLIENT, confirmation=True),
            _THERAPIST,
            Delivery(audience=Audience.THERAPIST, confirmation=True),
        ),
        when=(
            "A session is booked, by either party, and both are told: a client's booking is confirmed "
            "to the client and told to the therapist; a therapist-booked session is confirmed to the "
            "therapist here and told to the client as follow_up_booked."
        ),
        booking_terms=True,
        fields=MONEY_FIELDS,
        codes=("booked_by", "kind", "cancellation_policy"),
    ),
    CatalogueEntry(
        type=NotificationType.FOLLOW_UP_BOOKED,
        name="booking confirmed (therapist-booked)",
        deliveries=(_CLIENT,),
        when=(
            "The therapist books a session for the client (an attendance follow-up or a manual "
            "booking): the session itself tells the client its start in their zone and the "
            "therapist's, the charge date and the 48-hour policy (related_session_id: the session it "
            "follows); the therapist's confirmation is booking_confirmed."
        ),
        booking_terms=True,
        fields=(*MONEY_FIELDS, "related_session_id"),
        codes=("cancellation_policy",),
    ),
    CatalogueEntry(
        type=NotificationType.SESSION_RESCHEDULED,
        name="session rescheduled",
        deliveries=_OTHER_PARTY_AND_CONFIRMATION,
        when=(
            "A session is moved: the other party is told, and whoever moved it gets a confirmation; "
            "the times are the new start's (late: true when the client moved it with 48 hours' "
            "notice or less, so its charge stands)."
        ),
        booking_terms=True,
        codes=("requested_by", "late", "cancellation_policy"),
    ),
    CatalogueEntry(
        type=NotificationType.CHARGE_SUCCEEDED,
        name="payment receipt",
        deliveries=(_CLIENT,),
        when="A charge for the session succeeds (off-session, on-session or from a payment link).",
        fields=MONEY_FIELDS,
    ),
    CatalogueEntry(
        type=NotificationType.PAYMENT_RECOVERED,
        name="payment recovered",
        deliveries=(_THERAPIST,),
        when=("A payment succeeds after the therapist was told it failed or was pending for this session."),
        fields=MONEY_FIELDS,
    ),
    CatalogueEntry(
        type=NotificationType.CHARGE_FAILED,
        name="payment failed",
        deliveries=(_CLIENT, _THERAPIST),
        when=(
            "A charge is declined: both are told the reason category (decline_kind: soft or hard); "
            "the client's copy carries the action (update_card or pay_by_link)."
        ),
        fields=MONEY_FIELDS,
        codes=("outcome", "code", "decline_code", "decline_kind", "action"),
    ),
    CatalogueEntry(
        type=NotificationType.ACTION_REQUIRED,
        name="payment action required",
        deliveries=(_CLIENT,),
        when=(
            "The bank asks the client to authenticate (SCA): the client pays on-session with the "
            "PaymentIntent's client secret."
        ),
        fields=(*MONEY_FIELDS, "payment_intent_client_secret"),
    ),
    CatalogueEntry(
        type=NotificationType.PAYMENT_PENDING,
        name="payment pending",
        deliveries=(_THERAPIST,),
        when="With action_required: the therapist is told payment is pending while the client authenticates.",
        fields=MONEY_FIELDS,
    ),
    CatalogueEntry(
        type=NotificationType.PAYMENT_REMINDER,
        name="payment reminder",
        deliveries=(_CLIENT,),
        when=(
            "At each charge-attempt instant after the first try (of start − 48 h, − 24 h, − 12 h by "
            "default) while payment or "
            "authentication is still outstanding: a retry that fails again, or an instant with no "
            "attempt because only the client can act (authenticate, or a new card after a hard "
            "decline). The client secret comes with it while authentication is outstanding."
        ),
        fields=(*MONEY_FIELDS, "reminder_number", "payment_intent_client_secret"),
        codes=("action",),
    ),
    CatalogueEntry(
        type=NotificationType.SESSION_CANCELLED,
        name="session cancelled",
        deliveries=_OTHER_PARTY_AND_CONFIRMATION,
        when=(
            "A session is cancelled: the other party is told, and whoever cancelled gets a "
            "confirmation; both say whether it was free or late (free: true or false, and the status). "
            "A session whose charge was still held on the therapist's paused account at its "
            "auto-cancel instant is the therapist's cancellation, told to both (hold: therapist_paused)."
        ),
        codes=("status", "requested_by", "reason", "free", "hold"),
    ),
    CatalogueEntry(
        type=NotificationType.AUTO_CANCELLED,
        name="auto-cancelled unpaid",
        deliveries=(_CLIENT, _THERAPIST),
        when=(
            "The session is cancelled because its payment never came in "
            f"(start − {_duration(DEFAULT_POLICY.auto_cancel_before)} by default)."
        ),
    ),
    CatalogueEntry(
        type=NotificationType.REFUND_ISSUED,
        name="refund issued",
        deliveries=(_CLIENT,),
        when=(
            "Money is refunded to the client's card (a cancellation, a waived no-show, a therapist's refund)."
        ),
        fields=MONEY_FIELDS,
        codes=("reason",),
    ),
    CatalogueEntry(
        type=NotificationType.ATTENDANCE_UPDATE_DUE,
        name="attendance update reminder",
        deliveries=(_THERAPIST,),
        when=(
            "The therapist has not filed the attendance update: at the policy's offsets after the "
            f"session's end (default {_offsets(DEFAULT_POLICY.attendance_reminder_offsets)})."
        ),
        fields=("reminder_number",),
    ),
    CatalogueEntry(
        type=NotificationType.SESSION_UNREPORTED,
        name="closed without attendance update",
        deliveries=(_THERAPIST,),
        when=(
            "The attendance update never came: the session closes "
            f"{_duration(_UNREPORTED_AFTER)} after its end by default (the policy's unreported_after, "
            "after the last reminder). Nothing is assumed about attendance (attendance: unreported, "
            "or client_no_show when the therapist marked it); the charge is kept (money: charge_kept) "
            "or, for a session that went ahead unpaid, left with ops (left_to_ops). Only the "
            "therapist is told: the update is their step, and nothing changes for the client, who "
            "was charged and receipted under the terms."
        ),
        fields=MONEY_FIELDS,
        codes=("attendance", "money"),
    ),
    CatalogueEntry(
        type=NotificationType.PAYMENTS_PAUSED,
        name="payments paused",
        deliveries=(_THERAPIST,),
        when=(
            "Stripe disabled charges on the therapist's connected account (``account.updated``, read "
            "back from Stripe): new bookings are refused and scheduled charges are held until Stripe "
            "enables charges again. Once per pause; the code is Stripe's "
            "``requirements.disabled_reason``."
        ),
        session_times=False,
        codes=("disabled_reason",),
    ),
    CatalogueEntry(
        type=NotificationType.PAYMENT_ON_HOLD,
        name="payment on hold",
        deliveries=(_CLIENT, _THERAPIST),
        when=(
            "A session's charge came due while its therapist's account could not take charges: "
            "the charge is held, not attempted. The client is told nothing is needed from them "
            "(``action``: ``none``); the therapist that their account is paused (``action``: "
            "``enable_payments``). Once per session; the charge runs when the account is enabled "
            "again, or the session is cancelled as the therapist's cancellation at its auto-cancel "
            "instant."
        ),
        fields=MONEY_FIELDS,
        codes=("action",),
    ),
    CatalogueEntry(
        type=NotificationType.SLOT_RESERVED,
        name="reserved slot added",
        deliveries=(Delivery(audience=Audience.THERAPIST, channel=Channel.IN_APP, confirmation=True),),
        when=(
            "A weekly slot is reserved for the client, by the attendance update or in the dashboard "
            "(the app's pop-up confirming it); never sent to the client."
        ),
        session_times=False,
        fields=(*SESSION_FIELDS, "slot_id"),
    ),
    CatalogueEntry(
        type=NotificationType.SLOT_RELEASED,
        name="reserved slot removed",
        deliveries=(Delivery(audience=Audience.THERAPIST, channel=Channel.IN_APP, confirmation=True),),
        when=(
            "A client's reserved weekly slot is released: not rebooking in the attendance update, "
            "in the dashboard, or by ending the relationship (the app's pop-up); never sent to the client."
        ),
        session_times=False,
        fields=(*SESSION_FIELDS, "slot_id"),
    ),
    CatalogueEntry(
        type=NotificationType.RELATIONSHIP_ENDED,
        name="relationship ended",
        deliveries=(
            Delivery(audience=Audience.CLIENT, channel=Channel.DASHBOARD_NOTE),
            Delivery(audience=Audience.THERAPIST, confirmation=True),
        ),
        when=(
            "The therapist ends the relationship: a note on the client's dashboard with the date and "
            "time (occurred_at; not an e-mail), and the therapist's confirmation."
        ),
        session_times=False,
        fields=SESSION_FIELDS,
        codes=("reason",),
    ),
)

_DISPUTE_ENTRIES = (
    CatalogueEntry(
        type=NotificationType.DISPUTE_OPENED,
        name="payment disputed",
        deliveries=(_THERAPIST,),
        when=(
            "The client's bank disputes the session's charge (Stripe's charge.dispute.created): the "
            "therapist, the merchant of record, hears of it; no refund is made while it is open."
        ),
        fields=MONEY_FIELDS,
        codes=("reason", "status"),
    ),
    CatalogueEntry(
        type=NotificationType.DISPUTE_CLOSED,
        name="dispute decided",
        deliveries=(_THERAPIST,),
        when=(
            "The bank decided the dispute (charge.dispute.closed): won, lost, or an inquiry closed "
            "without a chargeback."
        ),
        fields=MONEY_FIELDS,
        codes=("reason", "outcome"),
    ),
)

CATALOGUE: Mapping[NotificationType, CatalogueEntry] = MappingProxyType(
    {entry.type: entry for entry in (*_ENTRIES, *_DISPUTE_ENTRIES)}
)


def entry(type: NotificationType) -> CatalogueEntry:
    return CATALOGUE[NotificationType(type)]


def channel_for(type: NotificationType, audience: Audience, *, confirmation: bool = False) -> Channel:
    """The channel of one copy. ``Audience.BOTH`` (one copy for both parties) is an e-mail."""
    deliveries = entry(type).deliveries
    for delivery in deliveries:
        if delivery.audience is audience and delivery.confirmation is confirmation:
            return delivery.channel
    for delivery in deliveries:
        if delivery.audience is audience:
            return delivery.channel
    return Channel.EMAIL


# --------------------------------------------------------------------------------- JSON Schema


def _non_null(prop: dict[str, Any]) -> dict[str, Any]:
    """The schema of an optional field with its null branch removed (the type sets it always)."""
    branches = prop.get("anyOf")
    if not branches:
        return prop
    kept = [branch for branch in branches if branch.get("type") != "null"]
    rest = {key: value for key, value in prop.items() if key not in {"anyOf", "default"}}
    return {**rest, **kept[0]} if len(kept) == 1 else {**rest, "anyOf": kept}


def event_schema(type: NotificationType) -> dict[str, Any]:
    """The JSON Schema (2020-12) of one event type's body, from the model and the catalogue.

    Every property is present in a delivered body; the ones this type does not carry are null,
    the ones it always sets are non-null, and ``type``, ``audience``, ``channel`` and
    ``catalogue_version`` are pinned to what the catalogue says.
    """
    item = entry(type)
    base = copy.deepcopy(Notification.model_json_schema(mode="serialization"))
    properties: dict[str, Any] = base["properties"]
    carried = set(item.carried_fields)
    always = set(COMMON_FIELDS)
    if item.session_times:
        always |= {*SESSION_FIELDS, *TIME_FIELDS} - {"client_local_time_changed"}
    if item.booking_terms:
        always.add("free_cancellation_until")
    for name, prop in list(properties.items()):
        if name in always:
            properties[name] = _non_null(prop)
        elif name not in carried:
            properties[name] = {"title": prop.get("title", name), "type": "null"}
    properties["type"] = {"const": item.type.value, "title": "Type"}
    audiences = [audience.value for audience in item.audiences]
    if {Audience.CLIENT, Audience.THERAPIST} <= set(item.audiences):
        audiences.append(Audience.BOTH.value)  # one copy meant for both parties
    properties["audience"] = {"enum": audiences, "title": "Audience"}
    properties["channel"] = {"enum": [channel.value for channel in item.channels], "title": "Channel"}
    properties["catalogue_version"] = {"const": CATALOGUE_VERSION, "title": "Catalogue Version"}
    codes = properties["codes"]
    codes["description"] = "Machine codes only. " + (
        "Keys: " + ", ".join(item.codes) + "." if item.codes else "None are documented."
    )
    deliveries = "; ".join(
        f"{d.audience.value} by {d.channel.value}{' (confirmation)' if d.confirmation else ''}"
        for d in item.deliveries
    )
    schema: dict[str, Any] = {
        "$schema": SCHEMA_DIALECT,
        "$id": f"urn:sessionflow:notification:v{CATALOGUE_VERSION}:{item.type.value}",
        "title": f"{item.type.value} ({item.name})",
        "description": f"{item.when} Audience: {deliveries}.",
        "type": "object",
        "properties": properties,
        "required": list(properties),
    }
    text = repr(properties)
    used = {name: d for name, d in base.get("$defs", {}).items() if f"#/$defs/{name}'" in text}
    if used:
        schema["$defs"] = used
    return schema


def all_schemas() -> dict[str, dict[str, Any]]:
    """``{"<type>.json": schema}`` for every event type, in the enum's order."""
    return {f"{type.value}.json": event_schema(type) for type in NotificationType}


# --------------------------------------------------------------------------------- the doc's table

TABLE_BEGIN = "<!-- catalogue table: generated by `make schemas`; do not edit by hand -->"
TABLE_END = "<!-- end of the catalogue table -->"


def catalogue_table() -> str:
    """The Markdown table event → audience → channel → when, as ``docs/notifications.md`` has it."""
    lines = [
        f"Catalogue version {CATALOGUE_VERSION}.",
        "",
        "| event (`type`) | audience | channel | when |",
        "|---|---|---|---|",
    ]
    for item in CATALOGUE.values():
        audiences = "<br>".join(
            f"{d.audience.value}{' (confirmation)' if d.confirmation else ''}" for d in item.deliveries
        )
        channels = "<br>".join(d.channel.value for d in item.deliveries)
        lines.append(f"| {item.name} (`{item.type.value}`) | {audiences} | {channels} | {item.when} |")
    return "\n".join(lines) + "\n"
