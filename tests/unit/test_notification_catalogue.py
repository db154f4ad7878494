"""The notification catalogue (issue 12 §1): every event a person hears about has one entry naming
its audiences, channels and when it is sent; its JSON Schemas and its table are committed and equal
what the code generates; and what the session actually sends matches the schema of its type —
with the start in both parties' zones, and a therapist-booked session's charge date and 48-hour
policy for the client."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker, ValidationError

from dev.notification_schemas import ROOT, expected_files, render_schema, stale_files
from domain import session as machine
from domain import session_attendance as attendance
from domain.attendance import AttendanceOutcome, AttendanceUpdate, ContinueChoice
from domain.booking import SessionBooking
from domain.notification_catalogue import CATALOGUE, SCHEMA_DIRECTORY, all_schemas, channel_for, event_schema
from domain.notifications import CATALOGUE_VERSION, Audience, Channel, Notification, NotificationType
from domain.policy import DEFAULT_POLICY, charge_spread_offset
from domain.session import Notice, Session
from domain.slots import resolve_local
from domain.state import SessionWorkflowInput
from domain.status import BookingKind

LONDON = "Europe/London"
NEW_YORK = "America/New_York"
SAME_TIME = AttendanceUpdate(
    outcome=AttendanceOutcome.ATTENDED, continue_sessions=ContinueChoice.SAME_TIME, client_agreed=True
)


def booking(start: datetime, **overrides: Any) -> SessionBooking:
    fields: dict[str, Any] = {
        "session_id": "ses_cat",
        "therapist_id": "thr_cat",
        "client_id": "cli_cat",
        "kind": BookingKind.THERAPIST_FOLLOW_UP,
        "start": start,
        "therapist_timezone": LONDON,
        "client_timezone": NEW_YORK,
        "amount_minor": 6000,
        "currency": "gbp",
        "stripe_customer_id": "cus_cat",
        "payment_method_id": "pm_card_visa",
        "client_agreed": True,
    }
    return SessionBooking(**(fields | overrides))


def london_18(day: date) -> datetime:
    return resolve_local(day, time(18, 0), LONDON)


def open_at(start: datetime, **overrides: Any) -> Session:
    booked_at = start - timedelta(days=5)
    workflow_input = SessionWorkflowInput(booking=booking(start, **overrides), booked_at=booked_at)
    return machine.open_session(workflow_input, booked_at)


def validate(notification: Notification) -> None:
    schema = event_schema(notification.type)
    body = json.loads(notification.model_dump_json())
    Draft202012Validator(schema, format_checker=FormatChecker()).validate(body)


# ── the catalogue itself ─────────────────────────────────────────────────────────────────────


def test_every_event_type_has_one_catalogue_entry_with_an_audience_a_channel_and_a_when() -> None:
    assert set(CATALOGUE) == set(NotificationType)
    for type, item in CATALOGUE.items():
        assert item.type is type
        assert item.deliveries and item.when.endswith(".")
        assert Audience.BOTH not in item.audiences  # the catalogue names each party


def test_the_terms_audiences_and_channels_are_the_catalogues() -> None:
    def copies(type: NotificationType) -> set[tuple[str, str, bool]]:
        return {(d.audience.value, d.channel.value, d.confirmation) for d in CATALOGUE[type].deliveries}

    T = NotificationType
    # a client's booking: confirmed to the client, told to the therapist; a therapist's: confirmed
    # to the therapist, told to the client as follow_up_booked
    assert copies(T.BOOKING_CONFIRMED) == {
        ("client", "email", True),
        ("therapist", "email", False),
        ("therapist", "email", True),
    }
    assert copies(T.FOLLOW_UP_BOOKED) == {("client", "email", False)}
    for moved_or_cancelled in (T.SESSION_RESCHEDULED, T.SESSION_CANCELLED):
        # the other party, and a confirmation to whoever acted (either may act)
        assert copies(moved_or_cancelled) == {
            ("client", "email", False),
            ("therapist", "email", False),
            ("client", "email", True),
            ("therapist", "email", True),
        }
    assert copies(T.CHARGE_SUCCEEDED) == {("client", "email", False)}  # the payment receipt
    assert copies(T.PAYMENT_RECOVERED) == {("therapist", "email", False)}
    assert copies(T.CHARGE_FAILED) == {("client", "email", False), ("therapist", "email", False)}
    assert copies(T.ACTION_REQUIRED) == {("client", "email", False)}
    assert copies(T.PAYMENT_PENDING) == {("therapist", "email", False)}
    assert copies(T.PAYMENT_REMINDER) == {("client", "email", False)}
    assert copies(T.AUTO_CANCELLED) == {("client", "email", False), ("therapist", "email", False)}
    assert copies(T.REFUND_ISSUED) == {("client", "email", False)}
    assert copies(T.ATTENDANCE_UPDATE_DUE) == {("therapist", "email", False)}
    # the attendance update is the therapist's step; the client's charge and receipt do not change
    assert copies(T.SESSION_UNREPORTED) == {("therapist", "email", False)}
    assert copies(T.RELATIONSHIP_ENDED) == {("client", "dashboard_note", False), ("therapist", "email", True)}


def test_reserved_slots_are_told_to_the_therapist_in_app_and_never_to_the_client() -> None:
    for type in (NotificationType.SLOT_RESERVED, NotificationType.SLOT_RELEASED):
        assert CATALOGUE[type].audiences == (Audience.THERAPIST,)
        assert channel_for(type, Audience.THERAPIST) is Channel.IN_APP
        assert event_schema(type)["properties"]["audience"] == {"enum": ["therapist"], "title": "Audience"}


def test_an_ended_relationship_is_a_dashboard_note_for_the_client_not_an_email() -> None:
    assert channel_for(NotificationType.RELATIONSHIP_ENDED, Audience.CLIENT) is Channel.DASHBOARD_NOTE
    assert (
        channel_for(NotificationType.RELATIONSHIP_ENDED, Audience.THERAPIST, confirmation=True)
        is Channel.EMAIL
    )


def test_the_attendance_reminder_names_the_policys_offsets() -> None:
    when = CATALOGUE[NotificationType.ATTENDANCE_UPDATE_DUE].when
    assert "+ 24 h" in when
    assert all(f"+ {int(o.total_seconds() // 3600)} h" in when or f"+ {o.days} days" in when
               for o in DEFAULT_POLICY.attendance_reminder_offsets)  # fmt: skip


# ── the published schemas and table ──────────────────────────────────────────────────────────


def test_the_committed_schemas_and_table_are_the_generated_ones() -> None:
    """``make schemas`` regenerates them: run it and commit after changing the catalogue."""
    assert stale_files() == []
    committed = sorted(path.name for path in (ROOT / SCHEMA_DIRECTORY).glob("*.json"))
    assert committed == sorted(f"{type.value}.json" for type in NotificationType)


def test_each_schema_is_valid_json_schema_2020_12_named_by_the_catalogue_version() -> None:
    for name, schema in all_schemas().items():
        Draft202012Validator.check_schema(schema)
        type = name.removesuffix(".json")
        assert schema["$id"] == f"urn:sessionflow:notification:v{CATALOGUE_VERSION}:{type}"
        assert schema["properties"]["type"] == {"const": type, "title": "Type"}
        assert schema["properties"]["catalogue_version"]["const"] == CATALOGUE_VERSION
        committed = (ROOT / SCHEMA_DIRECTORY / name).read_text(encoding="utf-8")
        assert committed == render_schema(schema)


def test_the_doc_lists_every_event_with_its_audience_channel_and_when() -> None:
    doc = expected_files()[ROOT / "docs" / "notifications.md"]
    for item in CATALOGUE.values():
        [row] = [line for line in doc.splitlines() if f"(`{item.type.value}`)" in line]
        assert item.when in row
        assert all(d.channel.value in row and d.audience.value in row for d in item.deliveries)


# ── what the session sends matches its type's schema ─────────────────────────────────────────

_EXAMPLE_FIELDS: dict[NotificationType, dict[str, Any]] = {
    NotificationType.CHARGE_SUCCEEDED: {"amount_minor": 6000, "currency": "gbp"},
    NotificationType.PAYMENT_RECOVERED: {"amount_minor": 6000, "currency": "gbp"},
    NotificationType.CHARGE_FAILED: {"codes": {"decline_kind": "soft", "action": "update_card"}},
    NotificationType.ACTION_REQUIRED: {"payment_intent_client_secret": "pi_1_secret_x", "amount_minor": 6000},
    NotificationType.PAYMENT_PENDING: {"amount_minor": 6000, "currency": "gbp"},
    NotificationType.PAYMENT_REMINDER: {
        "reminder_number": 2,
        "payment_intent_client_secret": "pi_1_secret_x",
    },
    NotificationType.REFUND_ISSUED: {"amount_minor": 6000, "currency": "gbp"},
    NotificationType.ATTENDANCE_UPDATE_DUE: {"reminder_number": 1},
    NotificationType.SESSION_CANCELLED: {"codes": {"status": "cancelled_free", "requested_by": "client"}},
    NotificationType.SESSION_RESCHEDULED: {"codes": {"requested_by": "client"}},
    NotificationType.SLOT_RESERVED: {"slot_id": "slot_1"},
    NotificationType.SLOT_RELEASED: {"slot_id": "slot_1"},
    NotificationType.RELATIONSHIP_ENDED: {"codes": {"reason": "moved_away"}},
    NotificationType.FOLLOW_UP_BOOKED: {"related_session_id": "ses_cat-f1"},
    NotificationType.PAYMENT_ON_HOLD: {"amount_minor": 6000, "currency": "gbp", "codes": {"action": "none"}},
    NotificationType.SESSION_UNREPORTED: {
        "amount_minor": 6000,
        "currency": "gbp",
        "codes": {"attendance": "unreported", "money": "charge_kept"},
    },
}


_PRACTICE_NOTICES = frozenset({NotificationType.PAYMENTS_PAUSED})
"""Sent by the practice, about no session: tests/unit/test_practice_pause.py validates them."""


@pytest.mark.parametrize("type", [t for t in NotificationType if t not in _PRACTICE_NOTICES], ids=str)
def test_every_copy_the_catalogue_names_matches_its_types_schema(type: NotificationType) -> None:
    session = open_at(london_18(date(2026, 3, 12)), previous_start=london_18(date(2026, 3, 5)))
    for number, delivery in enumerate(CATALOGUE[type].deliveries, start=1):
        fields = dict(_EXAMPLE_FIELDS.get(type, {}), confirmation=delivery.confirmation)
        notice = Notice(type, delivery.audience, number, fields)

        notification = notice.to_notification(session, datetime(2026, 3, 7, 9, tzinfo=UTC))

        assert notification.channel is delivery.channel
        assert notification.catalogue_version == CATALOGUE_VERSION
        validate(notification)


def test_a_field_the_type_does_not_carry_fails_its_schema() -> None:
    session = open_at(london_18(date(2026, 3, 12)))
    notice = Notice(NotificationType.ATTENDANCE_UPDATE_DUE, Audience.THERAPIST, 1, {"slot_id": "slot_1"})

    with pytest.raises(ValidationError, match=r"is not of type 'null'"):
        validate(notice.to_notification(session, datetime(2026, 3, 7, 9, tzinfo=UTC)))


# ── both parties' zones on every session notification ─────────────────────────────────────────


def test_a_session_notification_gives_the_start_in_both_zones_and_flags_the_clients_moved_clock() -> None:
    # A London 18:00 on 12 March 2026 is 14:00 in New York; the week before it was 13:00.
    session = open_at(london_18(date(2026, 3, 12)), previous_start=london_18(date(2026, 3, 5)))
    notice = Notice(
        NotificationType.CHARGE_SUCCEEDED, Audience.CLIENT, 1, {"amount_minor": 6000, "currency": "gbp"}
    )

    body = json.loads(
        notice.to_notification(session, datetime(2026, 3, 10, 18, tzinfo=UTC)).model_dump_json()
    )

    assert body["start"] == "2026-03-12T18:00:00Z"
    assert body["start_local_client"] == "2026-03-12T14:00:00-04:00"
    assert body["start_local_therapist"] == "2026-03-12T18:00:00Z"
    assert (body["client_timezone"], body["therapist_timezone"]) == (NEW_YORK, LONDON)
    assert body["client_local_time_changed"] is True


def test_a_moved_session_is_announced_at_its_new_start() -> None:
    session = open_at(london_18(date(2026, 6, 4)))
    session.start = london_18(date(2026, 6, 5))  # as a move records it
    notice = Notice(
        NotificationType.SESSION_RESCHEDULED, Audience.THERAPIST, 1, {"codes": {"requested_by": "client"}}
    )

    notification = notice.to_notification(session, datetime(2026, 5, 30, tzinfo=UTC))

    assert notification.start == datetime(2026, 6, 5, 17, 0, tzinfo=UTC)
    assert notification.start_local_client is not None
    assert notification.start_local_client.isoformat() == "2026-06-05T13:00:00-04:00"
    assert notification.free_cancellation_until == datetime(2026, 6, 3, 17, 0, tzinfo=UTC)


def test_a_booking_without_the_clients_zone_takes_the_therapists() -> None:
    data = booking(london_18(date(2026, 6, 4))).model_dump(mode="json")
    del data["client_timezone"], data["previous_start"]  # as every booking recorded before them

    old = SessionBooking.model_validate(data)

    assert old.client_timezone == LONDON and old.previous_start is None
    assert SessionBooking.model_validate({**data, "therapist_timezone": "Europe/Paris"}).client_timezone == (
        "Europe/Paris"
    )
    with pytest.raises(ValueError, match="unknown IANA time zone"):
        SessionBooking.model_validate({**data, "client_timezone": "New York"})


def test_a_booking_confirmation_states_the_charge_date_and_the_48_hour_policy() -> None:
    session = open_at(london_18(date(2026, 6, 4)))  # a therapist's booking, charged at start − 48 h
    notice = Notice(NotificationType.BOOKING_CONFIRMED, Audience.CLIENT, 1, {})

    notification = notice.to_notification(session, datetime(2026, 5, 30, 17, tzinfo=UTC))

    spread = charge_spread_offset("ses_cat", session.policy)  # the policy agreed at booking
    assert notification.charge_at == datetime(2026, 6, 2, 17, 0, tzinfo=UTC) + spread
    assert notification.free_cancellation_until == datetime(2026, 6, 2, 17, 0, tzinfo=UTC)
    assert notification.codes == {"cancellation_policy": "48h"}
    validate(notification)


# ── follow_up_booked: a therapist-booked session, told to the client ─────────────────────────


def test_a_follow_up_tells_the_client_its_start_in_both_zones_the_charge_date_and_the_48_hour_policy() -> (
    None
):
    # Attended on Thursday 5 March 2026, 18:00 London (13:00 New York); the same time next week
    # is 12 March, 18:00 London — 14:00 in New York, where the clocks changed on 8 March.
    parent = open_at(london_18(date(2026, 3, 5)))
    machine.end_session(parent)
    plan = attendance.record_attendance(parent, SAME_TIME, parent.end)
    follow_up = attendance.follow_up_input(parent, plan, parent.end)

    notification = attendance.follow_up_notice(follow_up).to_notification(parent, parent.end)

    start = datetime(2026, 3, 12, 18, 0, tzinfo=UTC)
    assert notification.type is NotificationType.FOLLOW_UP_BOOKED
    assert notification.related_session_id == follow_up.booking.session_id
    assert notification.start == start
    assert notification.start_local_client is not None and notification.start_local_therapist is not None
    assert notification.start_local_client.isoformat() == "2026-03-12T14:00:00-04:00"
    assert notification.start_local_therapist.isoformat() == "2026-03-12T18:00:00+00:00"
    assert notification.client_local_time_changed is True
    spread = charge_spread_offset(follow_up.booking.session_id, follow_up.policy)
    assert notification.charge_at == start - timedelta(hours=48) + spread
    assert notification.free_cancellation_until == start - timedelta(hours=48)
    assert notification.codes["cancellation_policy"] == "48h"
    assert (notification.amount_minor, notification.currency) == (6000, "gbp")
    validate(notification)


def test_a_follow_up_carries_the_clients_zone_and_its_previous_sessions_start_in_its_input() -> None:
    parent = open_at(london_18(date(2026, 10, 22)))
    machine.end_session(parent)
    plan = attendance.record_attendance(parent, SAME_TIME, parent.end)

    child = attendance.follow_up_input(parent, plan, parent.end).booking

    assert child.client_timezone == NEW_YORK
    assert child.previous_start == parent.start
    # The child's own notifications compare with the parent: 29 October is 14:00 in New York.
    child_session = machine.open_session(
        SessionWorkflowInput(booking=child, booked_at=parent.end), parent.end
    )
    reminder = Notice(NotificationType.ATTENDANCE_UPDATE_DUE, Audience.THERAPIST, 1, {"reminder_number": 1})
    notification = reminder.to_notification(child_session, child_session.end)
    assert notification.client_local_time_changed is True
    assert notification.start_local_client is not None
    assert notification.start_local_client.isoformat() == "2026-10-29T14:00:00-04:00"
