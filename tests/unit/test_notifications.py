"""Notification events: the signature verifies only untouched, fresh bodies; ids are deterministic;
payloads refuse anything that is not an id or a machine code."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from domain.notifications import (
    Audience,
    Channel,
    DeliveryResult,
    Notification,
    NotificationSignatureError,
    NotificationType,
    notification_event_id,
    sign_payload,
    verify_signature,
)

SECRET = "nsec_unit_test"
NOW = 1_900_000_000
BODY = b'{"event_id":"ses_1:charge_failed:1","type":"charge_failed"}'


def notification_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "event_id": "ses_1:charge_failed:1",
        "type": "charge_failed",
        "audience": "both",
        "session_id": "ses_1",
        "therapist_id": "thr_1",
        "client_id": "cli_1",
        "occurred_at": datetime(2027, 6, 1, 9, 0, tzinfo=UTC).isoformat(),
        "codes": {"decline_code": "insufficient_funds", "decline_kind": "soft"},
    }
    data.update(overrides)
    return data


# ── signature ────────────────────────────────────────────────────────────────────────────────


def test_a_signed_body_verifies() -> None:
    header = sign_payload(BODY, SECRET, NOW)

    verify_signature(BODY, header, SECRET, now=NOW)
    verify_signature(BODY, header, SECRET, now=NOW + 300)  # the tolerance's edge is still fresh


def test_the_header_is_the_timestamp_and_an_hmac_sha256_over_timestamp_dot_body() -> None:
    header = sign_payload(BODY, SECRET, NOW)

    expected = hmac.new(SECRET.encode(), f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert header == f"t={NOW},v1={expected}"


@pytest.mark.parametrize(
    "tampered",
    [BODY.replace(b"charge_failed", b"charge_succeeded"), BODY + b" ", BODY[:-1], b""],
    ids=["changed", "appended", "truncated", "empty"],
)
def test_a_tampered_body_is_refused(tampered: bytes) -> None:
    header = sign_payload(BODY, SECRET, NOW)

    with pytest.raises(NotificationSignatureError, match="does not match"):
        verify_signature(tampered, header, SECRET, now=NOW)


def test_another_secret_is_refused() -> None:
    header = sign_payload(BODY, "nsec_someone_else", NOW)

    with pytest.raises(NotificationSignatureError, match="does not match"):
        verify_signature(BODY, header, SECRET, now=NOW)


def test_a_changed_timestamp_is_refused() -> None:
    signature = sign_payload(BODY, SECRET, NOW).split(",")[1]

    with pytest.raises(NotificationSignatureError, match="does not match"):
        verify_signature(BODY, f"t={NOW + 1},{signature}", SECRET, now=NOW)


@pytest.mark.parametrize("age", [301, 3600, -301], ids=["just-too-old", "an-hour-old", "from-the-future"])
def test_a_timestamp_outside_the_tolerance_is_refused(age: int) -> None:
    header = sign_payload(BODY, SECRET, NOW - age)

    with pytest.raises(NotificationSignatureError, match="tolerance"):
        verify_signature(BODY, header, SECRET, now=NOW)


def test_the_tolerance_is_configurable() -> None:
    header = sign_payload(BODY, SECRET, NOW - 10)

    verify_signature(BODY, header, SECRET, now=NOW, tolerance=10)
    with pytest.raises(NotificationSignatureError, match="tolerance"):
        verify_signature(BODY, header, SECRET, now=NOW, tolerance=9)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "garbage",
        "v1=abc",
        f"t={NOW}",
        f"t=soon,v1={'0' * 64}",
        f"t=-{NOW},v1={'0' * 64}",
        f"t={NOW},t={NOW},v1={'0' * 64}",
        f"t={NOW},v0={'0' * 64}",
        f"t={NOW},v1",
        f"t=١٢,v1={'0' * 64}",  # non-ASCII digits
    ],
)
def test_a_missing_or_garbled_header_is_refused(header: str | None) -> None:
    with pytest.raises(NotificationSignatureError):
        verify_signature(BODY, header, SECRET, now=NOW)


def test_any_v1_entry_may_match_so_secrets_can_rotate() -> None:
    old = sign_payload(BODY, "nsec_old", NOW).split(",")[1]
    new = sign_payload(BODY, SECRET, NOW).split(",")[1]

    verify_signature(BODY, f"t={NOW},{old},{new}", SECRET, now=NOW)
    verify_signature(BODY, f"t={NOW}, {new}, {old}", SECRET, now=NOW)


def test_an_empty_secret_is_a_configuration_error_not_a_signature() -> None:
    with pytest.raises(ValueError, match="empty"):
        sign_payload(BODY, "", NOW)
    with pytest.raises(ValueError, match="empty"):
        verify_signature(BODY, sign_payload(BODY, SECRET, NOW), "", now=NOW)


@given(
    body=st.binary(max_size=2048),
    secret=st.text(min_size=1, max_size=64),
    timestamp=st.integers(min_value=0, max_value=2**40),
    skew=st.integers(min_value=-300, max_value=300),
)
def test_every_signed_body_verifies_within_the_tolerance(
    body: bytes, secret: str, timestamp: int, skew: int
) -> None:
    verify_signature(body, sign_payload(body, secret, timestamp), secret, now=timestamp + skew)


@given(body=st.binary(min_size=1, max_size=512), data=st.data())
def test_flipping_any_bit_of_the_body_breaks_the_signature(body: bytes, data: st.DataObject) -> None:
    header = sign_payload(body, SECRET, NOW)
    index = data.draw(st.integers(min_value=0, max_value=len(body) - 1))
    bit = data.draw(st.integers(min_value=0, max_value=7))
    flipped = bytearray(body)
    flipped[index] ^= 1 << bit

    with pytest.raises(NotificationSignatureError):
        verify_signature(bytes(flipped), header, SECRET, now=NOW)


# ── event ids ────────────────────────────────────────────────────────────────────────────────


def test_the_event_id_is_derived_from_business_state() -> None:
    assert notification_event_id("ses_1", NotificationType.CHARGE_FAILED, 2) == "ses_1:charge_failed:2"
    assert (
        notification_event_id("thr_9", NotificationType.SLOT_RELEASED, "slot_ab12")
        == "thr_9:slot_released:slot_ab12"
    )


@given(
    subject=st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True),
    kind=st.sampled_from(NotificationType),
    sequence=st.integers(min_value=0, max_value=10**9),
)
def test_the_same_effect_always_gets_the_same_event_id(
    subject: str, kind: NotificationType, sequence: int
) -> None:
    first = notification_event_id(subject, kind, sequence)

    assert first == notification_event_id(subject, kind, sequence)
    assert first == notification_event_id(subject, NotificationType(kind.value), str(sequence))
    assert Notification.model_validate(notification_data(event_id=first)).event_id == first


def test_different_effects_get_different_event_ids() -> None:
    ids = {
        notification_event_id(subject, kind, sequence)
        for subject in ("ses_1", "ses_2")
        for kind in NotificationType
        for sequence in (1, 2)
    }
    assert len(ids) == 2 * len(NotificationType) * 2


@pytest.mark.parametrize("subject, sequence", [("ses 1", 1), ("", 1), ("ses_1", "a b"), ("ses_1", "x" * 200)])
def test_an_event_id_that_cannot_be_an_id_is_refused(subject: str, sequence: str | int) -> None:
    with pytest.raises(ValueError, match="event ids"):
        notification_event_id(subject, NotificationType.CHARGE_FAILED, sequence)


# ── the payload: ids and codes only ──────────────────────────────────────────────────────────


def test_a_notification_round_trips_through_json() -> None:
    notification = Notification.model_validate(notification_data(amount_minor=6000, currency="GBP"))

    assert Notification.model_validate_json(notification.model_dump_json()) == notification
    assert notification.type is NotificationType.CHARGE_FAILED
    assert notification.audience is Audience.BOTH
    assert notification.currency == "gbp"


def test_the_vocabularies_are_the_agreed_strings() -> None:
    assert [kind.value for kind in NotificationType] == [
        "charge_succeeded",
        "charge_failed",
        "action_required",
        "auto_cancelled",
        "refund_issued",
        "attendance_update_due",
        "follow_up_booked",
        "slot_released",
        "relationship_ended",
        "session_cancelled",
        "booking_confirmed",
        "session_rescheduled",
        "payment_recovered",
        "payment_pending",
        "payment_reminder",
        "slot_reserved",
    ]
    assert [audience.value for audience in Audience] == ["client", "therapist", "both"]
    assert [channel.value for channel in Channel] == ["email", "in_app", "dashboard_note"]


@pytest.mark.parametrize(
    "codes",
    [
        {"reason": "Client felt unwell"},
        {"reason": "client felt unwell"},
        {"Reason": "moved_away"},
        {"reason": "x" * 65},
        {"note": "jane@example.com"},
        {"": "moved_away"},
        {"reason": ""},
        {f"k{i}": "v" for i in range(17)},
    ],
    ids=[
        "sentence",
        "lower-case-sentence",
        "upper-case-key",
        "too-long",
        "e-mail",
        "empty-key",
        "empty",
        "many",
    ],
)
def test_codes_refuse_free_text(codes: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        Notification.model_validate(notification_data(codes=codes))


def test_codes_take_machine_codes() -> None:
    codes = {"decline_code": "insufficient_funds", "reason": "moved_away", "stripe.code": "card-declined:x"}

    assert Notification.model_validate(notification_data(codes=codes)).codes == codes


@pytest.mark.parametrize(
    "overrides",
    [
        {"session_id": "Jane Doe"},
        {"therapist_id": "dr.smith@example.com"},
        {"client_id": "x" * 65},
        {"event_id": "ses_1 charge failed"},
        {"slot_id": "Monday evening"},
        {"occurred_at": "2027-06-01T09:00:00"},  # naive
        {"type": "lunch_booked"},
        {"audience": "everyone"},
        {"reminder_number": 0},
        {"amount_minor": -1},
        {"currency": "xxx"},
    ],
)
def test_ids_and_fields_refuse_what_is_not_an_id(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        Notification.model_validate(notification_data(**overrides))


def test_the_client_secret_goes_only_with_action_required_and_never_into_repr() -> None:
    secret = "pi_123_secret_abcDEF-xyz"
    action = Notification.model_validate(
        notification_data(
            event_id="ses_1:action_required:1",
            type="action_required",
            audience="client",
            codes={},
            payment_intent_client_secret=secret,
        )
    )

    assert action.payment_intent_client_secret == secret
    assert secret not in repr(action) and secret not in str(action)
    with pytest.raises(ValidationError, match="only sent with action_required"):
        Notification.model_validate(notification_data(payment_intent_client_secret=secret))


def test_unknown_fields_are_ignored_so_older_and_newer_histories_still_read() -> None:
    notification = Notification.model_validate(notification_data(added_later="x"))

    assert not hasattr(notification, "added_later")


def test_the_delivery_result_keeps_the_event_id_and_the_status() -> None:
    assert DeliveryResult(event_id="ses_1:charge_failed:1", status_code=0).status_code == 0
    with pytest.raises(ValidationError):
        DeliveryResult(event_id="ses_1:charge_failed:1", status_code=600)
