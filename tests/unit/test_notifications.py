"""Notification events: the Standard Webhooks signature verifies (with the ``standardwebhooks``
library) only untouched, fresh bodies; ids are deterministic; payloads refuse anything that is not
an id, an instant or a machine code."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError
from standardwebhooks import Webhook, WebhookVerificationError

from activities.notifications import signed_headers
from domain.notifications import (
    WEBHOOK_ID_HEADER,
    WEBHOOK_SIGNATURE_HEADER,
    WEBHOOK_TIMESTAMP_HEADER,
    Audience,
    Channel,
    DeliveryResult,
    Notification,
    NotificationType,
    notification_event_id,
    webhook_secret,
)
from settings import LOCAL_NOTIFY_SECRET, Settings

SECRET = "whsec_" + base64.b64encode(b"sessionflow unit test key").decode()
EVENT_ID = "ses_1:charge_failed:1"
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


# ── the Standard Webhooks signature ──────────────────────────────────────────────────────────


def fresh() -> datetime:
    # The library checks the timestamp against the real clock (5 minutes either way): sign "now".
    return datetime.now(UTC).replace(microsecond=0)


def test_a_delivery_signed_by_sessionflow_verifies_with_the_standardwebhooks_library() -> None:
    headers = signed_headers(BODY, EVENT_ID, SECRET, fresh())

    assert Webhook(SECRET).verify(BODY, headers) == json.loads(BODY)


def test_the_headers_are_the_event_id_the_timestamp_and_a_v1_hmac_over_id_timestamp_and_body() -> None:
    sent_at = datetime(2030, 3, 17, 17, 46, 40, tzinfo=UTC)
    headers = signed_headers(BODY, EVENT_ID, SECRET, sent_at)

    key = base64.b64decode(SECRET.removeprefix("whsec_"))
    mac = hmac.new(key, f"{EVENT_ID}.1900000000.".encode() + BODY, hashlib.sha256).digest()
    assert headers == {
        WEBHOOK_ID_HEADER: EVENT_ID,
        WEBHOOK_TIMESTAMP_HEADER: "1900000000",
        WEBHOOK_SIGNATURE_HEADER: "v1," + base64.b64encode(mac).decode(),
    }


@pytest.mark.parametrize(
    "tampered",
    [BODY + b" ", BODY.replace(b"charge_failed", b"charge_succeeded"), b""],
    ids=["appended", "changed", "emptied"],
)
def test_a_tampered_body_is_refused(tampered: bytes) -> None:
    headers = signed_headers(BODY, EVENT_ID, SECRET, fresh())

    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        Webhook(SECRET).verify(tampered, headers)


def test_another_event_id_under_the_same_signature_is_refused() -> None:
    headers = signed_headers(BODY, EVENT_ID, SECRET, fresh())

    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(BODY, {**headers, WEBHOOK_ID_HEADER: "ses_1:charge_failed:2"})


def test_another_secret_is_refused() -> None:
    headers = signed_headers(BODY, EVENT_ID, "whsec_" + base64.b64encode(b"someone else").decode(), fresh())

    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(BODY, headers)


@pytest.mark.parametrize("age", [timedelta(minutes=6), timedelta(minutes=-6)], ids=["old", "ahead"])
def test_a_delivery_more_than_five_minutes_old_or_ahead_is_refused(age: timedelta) -> None:
    headers = signed_headers(BODY, EVENT_ID, SECRET, fresh() - age)

    with pytest.raises(WebhookVerificationError, match=r"too old|too new"):
        Webhook(SECRET).verify(BODY, headers)


def test_a_delivery_without_the_headers_is_refused() -> None:
    headers = signed_headers(BODY, EVENT_ID, SECRET, fresh())
    for missing in headers:
        with pytest.raises(WebhookVerificationError, match="Missing"):
            Webhook(SECRET).verify(BODY, {k: v for k, v in headers.items() if k != missing})


def test_a_whsec_secret_is_used_as_given() -> None:
    assert webhook_secret(SECRET) == SECRET


def test_a_plain_secret_from_an_older_configuration_is_derived_its_bytes_being_the_key() -> None:
    derived = webhook_secret("nsec_old_config")

    assert derived == "whsec_" + base64.b64encode(b"nsec_old_config").decode()
    # The backend verifies with the derived value; the old HMAC key bytes are unchanged.
    headers = signed_headers(BODY, EVENT_ID, "nsec_old_config", fresh())
    Webhook(derived).verify(BODY, headers)


@pytest.mark.parametrize("secret", ["", "whsec_", "whsec_not base64!", "whsec_abc"])
def test_an_empty_or_garbled_secret_is_a_configuration_error(secret: str) -> None:
    with pytest.raises(ValueError):
        webhook_secret(secret)


@given(body=st.binary(max_size=2048), key=st.binary(min_size=1, max_size=64))
def test_every_signed_body_verifies_with_the_library(body: bytes, key: bytes) -> None:
    secret = "whsec_" + base64.b64encode(key).decode()
    Webhook(secret).verify(body, signed_headers(body, EVENT_ID, secret, fresh()), json_parse=False)


@given(body=st.binary(min_size=1, max_size=512), data=st.data())
def test_flipping_any_bit_of_the_body_breaks_the_signature(body: bytes, data: st.DataObject) -> None:
    headers = signed_headers(body, EVENT_ID, SECRET, fresh())
    index = data.draw(st.integers(min_value=0, max_value=len(body) - 1))
    bit = data.draw(st.integers(min_value=0, max_value=7))
    flipped = bytearray(body)
    flipped[index] ^= 1 << bit

    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(bytes(flipped), headers, json_parse=False)


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
        "dispute_opened",
        "dispute_closed",
        "payments_paused",
        "payment_on_hold",
        "session_unreported",
    ]
    assert [channel.value for channel in Channel] == ["email", "in_app", "dashboard_note"]
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


def test_the_client_secret_goes_only_to_the_client_who_must_pay_and_never_into_repr() -> None:
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
    with pytest.raises(ValidationError, match="only sent with action_required or payment_reminder"):
        Notification.model_validate(notification_data(payment_intent_client_secret=secret))
    reminder = notification_data(
        event_id="ses_1:payment_reminder:2", type="payment_reminder", audience="client", codes={}
    )
    assert Notification.model_validate({**reminder, "payment_intent_client_secret": secret})
    for audience in ("therapist", "both"):
        with pytest.raises(ValidationError, match="only sent to the client"):
            Notification.model_validate(
                {**reminder, "audience": audience, "payment_intent_client_secret": secret}
            )


def test_unknown_fields_are_ignored_so_older_and_newer_histories_still_read() -> None:
    notification = Notification.model_validate(notification_data(added_later="x"))

    assert not hasattr(notification, "added_later")


def test_the_delivery_result_keeps_the_event_id_and_the_status() -> None:
    assert DeliveryResult(event_id="ses_1:charge_failed:1", status_code=0).status_code == 0
    with pytest.raises(ValidationError):
        DeliveryResult(event_id="ses_1:charge_failed:1", status_code=600)


# ── the secret in the settings ───────────────────────────────────────────────────────────────


def test_the_notify_secret_setting_takes_the_standard_webhooks_form_and_a_plain_older_secret() -> None:
    assert Settings().notify_secret.get_secret_value() == LOCAL_NOTIFY_SECRET
    assert webhook_secret(LOCAL_NOTIFY_SECRET) == LOCAL_NOTIFY_SECRET  # already whsec_<base64>
    for secret in (SECRET, "nsec_from_an_older_config"):
        url = "https://backend.example/sessionflow/notifications"
        assert Settings(notify_url=url, notify_secret=secret).notify_secret.get_secret_value() == secret


@pytest.mark.parametrize("secret", ["whsec_", "whsec_not base64!", "whsec_abc"])
def test_a_garbled_whsec_setting_is_refused_at_start_saying_what_the_form_is(secret: str) -> None:
    with pytest.raises(ValidationError, match="whsec_ followed by the standard base64"):
        Settings(notify_secret=secret)


@pytest.mark.parametrize(
    "secret", [LOCAL_NOTIFY_SECRET, "nsec_local_only"], ids=["built-in", "older-built-in"]
)
def test_the_built_in_secrets_are_refused_for_a_backend_beyond_this_machine(secret: str) -> None:
    with pytest.raises(ValidationError, match="local sink only"):
        Settings(notify_url="https://backend.example/notifications", notify_secret=secret)
