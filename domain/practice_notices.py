"""What the therapist's own dashboard actions on their practice tell each party (issue 12 §1), as
pure functions: reserving a weekly slot, releasing it, ending a relationship.

The terms: a reserved slot added or removed is the therapist's calendar — a pop-up in the app for
the therapist who acted, never anything for the client. An ended relationship is not e-mailed to
the client: it is a dated note on their dashboard (the notification's ``occurred_at``), and the
therapist gets a confirmation. Only commands the API marks ``announce`` (the therapist acting in
the dashboard) are told here; the attendance update announces its own effects from its session
(``domain.session_attendance``), with the session's id.
"""

from __future__ import annotations

from datetime import datetime

from domain import notification_catalogue as catalogue
from domain.notifications import Audience, Notification, NotificationType, notification_event_id
from domain.practice import (
    AccountChange,
    AccountStatusRecorded,
    EndRelationship,
    PracticeState,
    RelationshipEnded,
    SlotReserved,
    SlotsReleased,
)


def _slot_notification(
    therapist_id: str, type_: NotificationType, slot_id: str, client_id: str, now: datetime
) -> Notification:
    return Notification(
        event_id=notification_event_id(therapist_id, type_, slot_id),
        type=type_,
        audience=Audience.THERAPIST,
        therapist_id=therapist_id,
        client_id=client_id,
        occurred_at=now,
        slot_id=slot_id,
        channel=catalogue.channel_for(type_, Audience.THERAPIST, confirmation=True),
        confirmation=True,
    )


def slot_reserved_notifications(therapist_id: str, result: SlotReserved, now: datetime) -> list[Notification]:
    """The pop-up confirming the slot (none when the client already held it). A slot the client held
    at another time, replaced by this one, is a move of the slot: no "removed" banner for it."""
    if result.already_reserved:
        return []
    return [
        _slot_notification(
            therapist_id, NotificationType.SLOT_RESERVED, result.slot_id, result.client_id, now
        )
    ]


def slots_released_notifications(
    therapist_id: str, client_id: str, released_slot_ids: list[str], now: datetime
) -> list[Notification]:
    return [
        _slot_notification(therapist_id, NotificationType.SLOT_RELEASED, slot_id, client_id, now)
        for slot_id in released_slot_ids
    ]


def slots_released_by(therapist_id: str, result: SlotsReleased, now: datetime) -> list[Notification]:
    return slots_released_notifications(therapist_id, result.client_id, result.released_slot_ids, now)


def relationship_ended_notifications(
    state: PracticeState, command: EndRelationship, result: RelationshipEnded, now: datetime
) -> list[Notification]:
    """The client's dashboard note and the therapist's confirmation (once per end: ending an ended
    relationship again tells nobody), then the released slot's banner. The reason stays the
    therapist's: the client's note carries none."""
    therapist_id = state.therapist_id
    released = slots_released_notifications(therapist_id, result.client_id, result.released_slot_ids, now)
    if result.already_ended:
        return released
    relationship = state.relationships[result.client_id]
    ends = sum(1 for event in relationship.history if event.kind == "ended")
    sequence = f"{result.client_id}-{ends}"
    common = {
        "type": NotificationType.RELATIONSHIP_ENDED,
        "therapist_id": therapist_id,
        "client_id": result.client_id,
        "occurred_at": now,
    }
    note = Notification(
        event_id=notification_event_id(therapist_id, NotificationType.RELATIONSHIP_ENDED, f"{sequence}-note"),
        audience=Audience.CLIENT,
        channel=catalogue.channel_for(NotificationType.RELATIONSHIP_ENDED, Audience.CLIENT),
        **common,
    )
    confirmation = Notification(
        event_id=notification_event_id(therapist_id, NotificationType.RELATIONSHIP_ENDED, sequence),
        audience=Audience.THERAPIST,
        channel=catalogue.channel_for(
            NotificationType.RELATIONSHIP_ENDED, Audience.THERAPIST, confirmation=True
        ),
        confirmation=True,
        codes={"reason": command.reason.value},
        **common,
    )
    return [note, confirmation, *released]


def payments_paused_notifications(
    therapist_id: str, recorded: AccountStatusRecorded, now: datetime
) -> list[Notification]:
    """The therapist hears once per pause that their account cannot take charges (with Stripe's
    ``disabled_reason`` code, never its text); a resume is shown by the held charges going through."""
    if recorded.change is not AccountChange.PAUSED:
        return []
    type_ = NotificationType.PAYMENTS_PAUSED
    codes = {"disabled_reason": recorded.disabled_reason} if recorded.disabled_reason else {}
    return [
        Notification(
            event_id=notification_event_id(
                therapist_id, type_, f"{recorded.account_id}-{recorded.pause_number}"
            ),
            type=type_,
            audience=Audience.THERAPIST,
            therapist_id=therapist_id,
            occurred_at=now,
            channel=catalogue.channel_for(type_, Audience.THERAPIST),
            codes=codes,
        )
    ]
