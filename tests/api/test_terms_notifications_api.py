"""The therapist's dashboard actions over real HTTP tell what the terms say (issue 12 §1), read from
the notification sink that verifies each delivery with the ``standardwebhooks`` library: a slot
added or removed is the therapist's in-app pop-up, never the client's; ending a relationship is a
dated note on the client's dashboard (not an e-mail) and the therapist's confirmation."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from dev.notification_sink import NotificationSink
from domain.notifications import Audience, Channel, Notification, NotificationType
from tests.workflows.support import WAIT, unique

LONDON = "Europe/London"
T = NotificationType


def key() -> dict[str, str]:
    return {"Idempotency-Key": f"req-{uuid.uuid4().hex}"}


def slot_body(client_id: str) -> dict[str, Any]:
    return {
        "client_id": client_id,
        "weekday": 2,
        "local_time": "09:00",
        "duration_minutes": 50,
        "timezone": LONDON,
    }


def told(sink: NotificationSink, therapist_id: str) -> list[Notification]:
    # Delivery is at least once: a retried POST arrives again under the same event id.
    return list({n.event_id: n for n in sink.received if n.therapist_id == therapist_id}.values())


async def test_a_slot_added_and_removed_in_the_dashboard_pops_up_for_the_therapist_only(
    http: httpx.AsyncClient, notification_sink: NotificationSink
) -> None:
    therapist, client_id = unique("thr"), unique("cli")
    base = f"/v1/therapists/{therapist}"

    reserved = await http.post(f"{base}/slots", json=slot_body(client_id), headers=key())
    released = await http.post(f"{base}/clients/{client_id}/slots/release", headers=key())
    await notification_sink.wait_for_async(
        lambda n: n.therapist_id == therapist and n.type is T.SLOT_RELEASED, WAIT
    )

    assert reserved.status_code == 200 and released.status_code == 200, (reserved.text, released.text)
    slot_id = reserved.json()["slot_id"]
    assert sorted(
        (n.type, n.audience, n.channel, n.confirmation, n.slot_id) for n in told(notification_sink, therapist)
    ) == [
        (T.SLOT_RELEASED, Audience.THERAPIST, Channel.IN_APP, True, slot_id),
        (T.SLOT_RESERVED, Audience.THERAPIST, Channel.IN_APP, True, slot_id),
    ]


async def test_ending_a_relationship_in_the_dashboard_is_a_dated_note_for_the_client_and_a_confirmation(
    http: httpx.AsyncClient, notification_sink: NotificationSink
) -> None:
    therapist, client_id = unique("thr"), unique("cli")
    base = f"/v1/therapists/{therapist}"
    await http.post(f"{base}/slots", json=slot_body(client_id), headers=key())

    ended = await http.post(
        f"{base}/clients/{client_id}/end",
        json={"reason": "treatment_complete", "timezone": LONDON},
        headers=key(),
    )
    await notification_sink.wait_for_async(
        lambda n: n.therapist_id == therapist and n.type is T.RELATIONSHIP_ENDED, WAIT, count=2
    )

    assert ended.status_code == 200, ended.text
    notifications = told(notification_sink, therapist)
    ending = sorted(
        (n for n in notifications if n.type is T.RELATIONSHIP_ENDED), key=lambda n: n.audience != "client"
    )
    note, confirmation = ending
    assert (note.audience, note.channel, note.client_id, note.codes) == (
        Audience.CLIENT,
        Channel.DASHBOARD_NOTE,
        client_id,
        {},
    )
    assert (confirmation.audience, confirmation.confirmation, confirmation.codes) == (
        Audience.THERAPIST,
        True,
        {"reason": "treatment_complete"},
    )
    # Its slot went with it: the therapist's pop-up, never the client's.
    await notification_sink.wait_for_async(
        lambda n: n.therapist_id == therapist and n.type is T.SLOT_RELEASED, WAIT
    )
    assert {n.audience for n in told(notification_sink, therapist) if n.type is not T.RELATIONSHIP_ENDED} == {
        Audience.THERAPIST
    }
