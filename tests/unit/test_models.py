"""Input models refuse bad data with clear messages, and stay readable by older/newer histories."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, TypeAdapter, ValidationError

from contract.ids import SESSION_WORKFLOW_PREFIX, session_id_from_workflow_id, session_workflow_id
from domain.booking import BookableMinutes, SessionBooking, check_booking
from domain.commands import CancelRequest, CancelResult, PaymentMethodUpdate, RescheduleRequest
from domain.errors import RuleViolation
from domain.ids import is_opaque_id
from domain.money import SUPPORTED_CURRENCIES
from domain.payments import (
    ChargeOutcome,
    ChargeRequest,
    ChargeResult,
    PaymentEvent,
    RefundRequest,
    VoidRequest,
    charge_idempotency_key,
    refund_idempotency_key,
    void_idempotency_key,
)
from domain.policy import DEFAULT_POLICY, SessionPolicy
from domain.state import PaymentLedger, SessionState, SessionWorkflowInput
from domain.status import Actor, BookingKind, CancelReason, PaymentStatus, SessionStatus

LONDON = ZoneInfo("Europe/London")
NOW = datetime(2027, 6, 1, 9, 0, tzinfo=UTC)
START = datetime(2027, 6, 15, 10, 0, tzinfo=UTC)


def booking_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "session_id": "ses_01HX9",
        "therapist_id": "th-42",
        "client_id": "cl_7",
        "kind": "therapist_follow_up",
        "start": START.isoformat(),
        "duration_minutes": 50,
        "therapist_timezone": "Europe/London",
        "amount_minor": 6000,
        "currency": "gbp",
        "stripe_customer_id": "cus_ABC123",
        "payment_method_id": "pm_card_visa",
        "client_agreed": True,
    }
    data.update(overrides)
    return data


def refusal(data: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as refused:
        SessionBooking.model_validate(data)
    return str(refused.value)


def error_fields(exc: ValidationError) -> set[str]:
    return {".".join(str(part) for part in error["loc"]) for error in exc.errors()}


# ---------------------------------------------------------------------------- SessionBooking


def test_valid_booking_is_accepted() -> None:
    booking = SessionBooking.model_validate(booking_data())
    assert booking.start == START
    assert booking.kind is BookingKind.THERAPIST_FOLLOW_UP
    assert booking.booked_by is Actor.THERAPIST
    assert booking.end == START + timedelta(minutes=50)


@pytest.mark.parametrize("start", [datetime(2027, 6, 15, 10, 0), "2027-06-15T10:00:00"])
def test_naive_start_is_refused_with_a_timezone_message(start: object) -> None:
    with pytest.raises(ValidationError) as refused:
        SessionBooking.model_validate(booking_data(start=start))
    assert "timezone" in str(refused.value)
    assert error_fields(refused.value) == {"start"}


@pytest.mark.parametrize("field", ["session_id", "therapist_id", "client_id", "previous_session_id"])
@pytest.mark.parametrize(
    "bad_id",
    ["has space", "a@b.com", "x" * 65, "", "name.surname", "ünïcode", "abc\n", "a/b"],
    ids=["space", "email", "65-chars", "empty", "dot", "non-ascii", "trailing-newline", "slash"],
)
def test_malformed_ids_are_refused(field: str, bad_id: str) -> None:
    with pytest.raises(ValidationError) as refused:
        SessionBooking.model_validate(booking_data(**{field: bad_id}))
    assert error_fields(refused.value) == {field}
    assert "pattern" in str(refused.value)


def test_ids_of_64_opaque_characters_are_accepted() -> None:
    longest = "A-z_9" * 12 + "abcd"
    assert len(longest) == 64
    booking = SessionBooking.model_validate(booking_data(session_id=longest, previous_session_id="p_1"))
    assert booking.session_id == longest


@pytest.mark.parametrize("field", ["stripe_customer_id", "payment_method_id"])
@pytest.mark.parametrize("bad", ["cus ABC", "ABC", "pm_", "x@y.z"])
def test_malformed_stripe_ids_are_refused(field: str, bad: str) -> None:
    with pytest.raises(ValidationError) as refused:
        SessionBooking.model_validate(booking_data(**{field: bad}))
    assert error_fields(refused.value) == {field}


@pytest.mark.parametrize("currency", ["xyz", "pound", "", "BTC"])
def test_unknown_currency_is_refused_with_the_accepted_list(currency: str) -> None:
    message = refusal(booking_data(currency=currency))
    assert "unknown currency" in message
    assert "gbp" in message and "usd" in message


@pytest.mark.parametrize("currency", ["GBP", " Eur ", "usd", "ChF"])
def test_currency_is_normalised_to_lower_case(currency: str) -> None:
    booking = SessionBooking.model_validate(booking_data(currency=currency))
    assert booking.currency == currency.strip().lower()
    assert booking.currency in SUPPORTED_CURRENCIES


@pytest.mark.parametrize("amount", [0, -1, -6000])
def test_non_positive_amount_is_refused(amount: int) -> None:
    with pytest.raises(ValidationError) as refused:
        SessionBooking.model_validate(booking_data(amount_minor=amount))
    assert error_fields(refused.value) == {"amount_minor"}
    assert "greater than 0" in str(refused.value)


def test_absurdly_large_amount_is_refused() -> None:
    message = refusal(booking_data(amount_minor=10_000_001))
    assert "less than or equal to 10000000" in message


@pytest.mark.parametrize(
    "zone", ["Mars/Olympus", "Europe/Londn", "europe/london", "", "../etc/passwd", "/etc/localtime", "Europe"]
)
def test_unknown_iana_zone_is_refused(zone: str) -> None:
    # "Europe" is a directory of the zone database: ZoneInfo raises IsADirectoryError for it.
    message = refusal(booking_data(therapist_timezone=zone))
    assert "unknown IANA time zone" in message


@pytest.mark.parametrize("zone", ["Europe/London", "America/New_York", "Asia/Kolkata", "UTC"])
def test_known_iana_zones_are_accepted(zone: str) -> None:
    assert SessionBooking.model_validate(booking_data(therapist_timezone=zone)).therapist_timezone == zone


def test_therapist_follow_up_without_client_agreement_is_refused() -> None:
    message = refusal(booking_data(client_agreed=False))
    assert "explicitly agreed" in message


def test_client_follow_up_needs_no_separate_agreement() -> None:
    booking = SessionBooking.model_validate(booking_data(kind="client_follow_up", client_agreed=False))
    assert booking.booked_by is Actor.CLIENT


def test_initial_prepaid_without_its_payment_intent_is_refused() -> None:
    message = refusal(booking_data(kind="initial_prepaid", payment_method_id=None))
    assert "prepaid_payment_intent_id" in message


def test_initial_prepaid_with_its_payment_intent_is_accepted_without_a_saved_card() -> None:
    booking = SessionBooking.model_validate(
        booking_data(kind="initial_prepaid", payment_method_id=None, prepaid_payment_intent_id="pi_123")
    )
    assert booking.prepaid_payment_intent_id == "pi_123"
    assert booking.booked_by is Actor.CLIENT


@pytest.mark.parametrize("kind", ["therapist_follow_up", "client_follow_up"])
def test_follow_up_without_a_saved_card_is_refused(kind: str) -> None:
    message = refusal(booking_data(kind=kind, payment_method_id=None))
    assert "payment_method_id" in message
    assert kind in message


def test_follow_up_with_a_prepaid_intent_is_refused() -> None:
    message = refusal(booking_data(prepaid_payment_intent_id="pi_123"))
    assert "only for initial_prepaid" in message


def test_booking_is_frozen_and_round_trips_through_json() -> None:
    booking = SessionBooking.model_validate(booking_data(previous_session_id="ses_00"))
    with pytest.raises(ValidationError):
        booking.amount_minor = 1  # type: ignore[misc]
    assert SessionBooking.model_validate_json(booking.model_dump_json()) == booking


def test_booking_end_is_elapsed_duration_across_the_autumn_change() -> None:
    # 01:30 BST on 31 October 2027, 50 minutes: ends at 01:20 GMT (wall clock), 50 elapsed minutes.
    start = datetime(2027, 10, 31, 1, 30, tzinfo=LONDON, fold=0)
    booking = SessionBooking.model_validate(booking_data(start=start))
    assert booking.end.astimezone(UTC) - start.astimezone(UTC) == timedelta(minutes=50)
    assert booking.end.astimezone(UTC) == datetime(2027, 10, 31, 1, 20, tzinfo=UTC)


# ------------------------------------------------------------------------------ check_booking


def booking(**overrides: Any) -> SessionBooking:
    return SessionBooking.model_validate(booking_data(**overrides))


@pytest.mark.parametrize(
    "now", [START, START + timedelta(seconds=1), START + timedelta(days=3)], ids=["now", "1s-ago", "past"]
)
def test_start_in_the_past_or_now_is_refused(now: datetime) -> None:
    with pytest.raises(RuleViolation) as refused:
        check_booking(booking(), now)
    assert refused.value.code == "start_in_past"


def test_start_one_second_ahead_is_accepted() -> None:
    check_booking(booking(), START - timedelta(seconds=1))


def test_start_beyond_the_booking_horizon_is_refused() -> None:
    now = START - timedelta(days=366, seconds=1)
    with pytest.raises(RuleViolation) as refused:
        check_booking(booking(), now)
    assert refused.value.code == "start_too_far"
    assert "366 days" in refused.value.message
    check_booking(booking(), START - timedelta(days=366))


def test_booking_horizon_comes_from_the_policy() -> None:
    policy = SessionPolicy(max_booking_horizon=timedelta(days=7))
    with pytest.raises(RuleViolation) as refused:
        check_booking(booking(), START - timedelta(days=8), policy)
    assert refused.value.code == "start_too_far"


@pytest.mark.parametrize(("minutes", "ok"), [(14, False), (15, True), (50, True), (240, True), (241, False)])
def test_duration_must_be_within_the_policy_range(minutes: int, ok: bool) -> None:
    session = booking(duration_minutes=minutes)
    if ok:
        check_booking(session, NOW)
        return
    with pytest.raises(RuleViolation) as refused:
        check_booking(session, NOW)
    assert refused.value.code == "duration_out_of_range"


BOOKABLE_MINUTES = TypeAdapter(BookableMinutes)


@pytest.mark.parametrize("minutes", [0, 5, 14, 241, 1000, 1440])
def test_a_duration_outside_the_default_policy_is_malformed_not_a_rule_refusal(minutes: int) -> None:
    # The API books under the default policy: 5 or 1000 minutes is bad input (422), not a 409.
    with pytest.raises(ValidationError) as refused:
        BOOKABLE_MINUTES.validate_python(minutes)
    [error] = refused.value.errors()
    assert error["type"] in ("greater_than_equal", "less_than_equal")


def test_the_bookable_duration_is_the_default_policy_range_and_the_schema_says_so() -> None:
    schema = BOOKABLE_MINUTES.json_schema()
    assert (schema["minimum"], schema["maximum"]) == (15, 240)
    assert timedelta(minutes=schema["minimum"]) == DEFAULT_POLICY.min_duration
    assert timedelta(minutes=schema["maximum"]) == DEFAULT_POLICY.max_duration
    for minutes in (15, 50, 240):
        assert BOOKABLE_MINUTES.validate_python(minutes) == minutes


def test_the_workflow_booking_keeps_durations_that_a_non_default_policy_allows() -> None:
    # The booking is also the workflow's input (and a follow-up copies it): a policy with
    # one-minute sessions (the fault drills) must still decode, and the policy decides.
    short = SessionBooking.model_validate(booking_data(duration_minutes=1))
    check_booking(short, NOW, SessionPolicy(min_duration=timedelta(minutes=1)))
    with pytest.raises(RuleViolation) as refused:
        check_booking(short, NOW)
    assert refused.value.code == "duration_out_of_range"


def test_start_check_uses_elapsed_time_when_both_share_a_zone() -> None:
    # Start 01:45 BST (00:45 UTC); now 01:30 GMT (01:30 UTC): the start has passed.
    start = datetime(2027, 10, 31, 1, 45, tzinfo=LONDON, fold=0)
    now = datetime(2027, 10, 31, 1, 30, tzinfo=LONDON, fold=1)
    with pytest.raises(RuleViolation) as refused:
        check_booking(booking(start=start), now)
    assert refused.value.code == "start_in_past"


def test_naive_now_is_a_programming_error_not_a_rule_violation() -> None:
    with pytest.raises(ValueError, match="timezone-aware") as refused:
        check_booking(booking(), datetime(2027, 6, 1, 9, 0))
    assert not isinstance(refused.value, RuleViolation)


# ----------------------------------------------------------------------------------- commands


@pytest.mark.parametrize("submitted_by", [Actor.THERAPIST, Actor.ADMIN])
def test_discretionary_refund_on_a_client_cancellation_entered_by_therapist_or_admin(
    submitted_by: Actor,
) -> None:
    request = CancelRequest(
        requested_by=Actor.CLIENT,
        reason=CancelReason.ILLNESS,
        submitted_by=submitted_by,
        discretionary_refund=True,
    )
    assert request.recorded_by is submitted_by


@pytest.mark.parametrize("submitted_by", [None, Actor.CLIENT])
def test_client_cannot_grant_themselves_a_discretionary_refund(submitted_by: Actor | None) -> None:
    with pytest.raises(ValidationError, match="only a therapist or admin"):
        CancelRequest(
            requested_by=Actor.CLIENT,
            reason=CancelReason.ILLNESS,
            submitted_by=submitted_by,
            discretionary_refund=True,
        )


@pytest.mark.parametrize("requested_by", [Actor.THERAPIST, Actor.ADMIN])
def test_discretionary_refund_only_applies_to_a_client_cancellation(requested_by: Actor) -> None:
    with pytest.raises(ValidationError, match="client's cancellation"):
        CancelRequest(
            requested_by=requested_by,
            reason=CancelReason.THERAPIST_UNAVAILABLE,
            submitted_by=Actor.ADMIN,
            discretionary_refund=True,
        )


@pytest.mark.parametrize(
    ("requested_by", "submitted_by"),
    [
        (Actor.THERAPIST, Actor.CLIENT),  # a client cannot file the therapist's (free) cancellation
        (Actor.ADMIN, Actor.CLIENT),
        (Actor.ADMIN, Actor.THERAPIST),
    ],
)
def test_nobody_files_a_cancellation_in_the_name_of_someone_with_more_authority(
    requested_by: Actor, submitted_by: Actor
) -> None:
    with pytest.raises(ValidationError) as refused:
        CancelRequest(requested_by=requested_by, reason=CancelReason.OTHER, submitted_by=submitted_by)
    [error] = refused.value.errors()
    assert error["loc"] == ("submitted_by",)
    assert error["type"] == "submitter_not_allowed"


@pytest.mark.parametrize(
    ("requested_by", "submitted_by"),
    [
        (Actor.CLIENT, None),
        (Actor.CLIENT, Actor.CLIENT),
        (Actor.CLIENT, Actor.THERAPIST),  # a therapist entering the client's phone call
        (Actor.CLIENT, Actor.ADMIN),
        (Actor.THERAPIST, None),
        (Actor.THERAPIST, Actor.THERAPIST),
        (Actor.THERAPIST, Actor.ADMIN),  # support acting on the therapist's request
        (Actor.ADMIN, None),
        (Actor.ADMIN, Actor.ADMIN),
    ],
)
def test_a_cancellation_is_filed_by_its_requester_or_on_their_behalf_by_more_authority(
    requested_by: Actor, submitted_by: Actor | None
) -> None:
    request = CancelRequest(requested_by=requested_by, reason=CancelReason.OTHER, submitted_by=submitted_by)
    assert request.recorded_by is (submitted_by or requested_by)


@pytest.mark.parametrize(
    ("status", "discretionary_refund", "free", "charge_kept", "waived"),
    [
        (SessionStatus.CANCELLED_FREE, False, True, False, False),
        (SessionStatus.CANCELLED_BY_THERAPIST, False, True, False, False),
        (SessionStatus.CANCELLED_LATE, False, False, True, False),
        # Waived at the therapist's discretion: refunded, yet not free under the 48-hour rule.
        (SessionStatus.CANCELLED_LATE, True, False, False, True),
    ],
)
def test_a_cancel_result_says_free_only_under_the_notice_rule_and_reports_a_waiver_apart(
    status: SessionStatus, discretionary_refund: bool, free: bool, charge_kept: bool, waived: bool
) -> None:
    result = CancelResult.for_cancellation(
        session_id="ses_1",
        status=status,
        discretionary_refund=discretionary_refund,
        refund_minor=6000,
        charge_in_flight=False,
    )
    assert (result.free, result.charge_kept, result.discretionary_refund) == (free, charge_kept, waived)
    assert result.status is status and result.refund_minor == 6000


def test_an_old_cancel_result_without_the_waiver_field_still_decodes() -> None:
    old = {
        "session_id": "ses_1",
        "status": "cancelled_late",
        "free": False,
        "refund_minor": 0,
        "charge_kept": True,
    }
    assert CancelResult.model_validate(old).discretionary_refund is False


def test_cancellation_is_recorded_by_the_requester_when_no_submitter_is_given() -> None:
    request = CancelRequest(requested_by=Actor.CLIENT, reason=CancelReason.CLIENT_REQUEST)
    assert request.recorded_by is Actor.CLIENT
    assert request.discretionary_refund is False


def test_cancel_reason_is_a_code_never_free_text() -> None:
    with pytest.raises(ValidationError):
        CancelRequest.model_validate({"requested_by": "client", "reason": "my anxiety got worse"})


def test_reschedule_needs_an_aware_new_start() -> None:
    with pytest.raises(ValidationError, match="timezone"):
        RescheduleRequest.model_validate({"requested_by": "client", "new_start": "2027-06-20T10:00:00"})
    request = RescheduleRequest.model_validate(
        {"requested_by": "client", "new_start": "2027-06-20T10:00:00+01:00"}
    )
    assert request.new_start == datetime(2027, 6, 20, 9, 0, tzinfo=UTC)


def test_new_payment_method_must_be_a_stripe_id() -> None:
    with pytest.raises(ValidationError):
        PaymentMethodUpdate(payment_method_id="4242 4242 4242 4242")
    assert PaymentMethodUpdate(payment_method_id="pm_1Nx").payment_method_id == "pm_1Nx"


# ---------------------------------------------------------------------------------------- ids

OPAQUE_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"
opaque_ids = st.text(alphabet=OPAQUE_ALPHABET, min_size=1, max_size=64)


@given(session_id=opaque_ids)
def test_session_workflow_id_round_trips(session_id: str) -> None:
    workflow_id = session_workflow_id(session_id)
    assert workflow_id == SESSION_WORKFLOW_PREFIX + session_id
    assert session_id_from_workflow_id(workflow_id) == session_id


@given(value=st.text(max_size=80))
def test_only_opaque_ids_make_workflow_ids(value: str) -> None:
    opaque = len(value) in range(1, 65) and all(char in OPAQUE_ALPHABET for char in value)
    assert is_opaque_id(value) is opaque
    if opaque:
        assert session_id_from_workflow_id(session_workflow_id(value)) == value
    else:
        with pytest.raises(ValueError, match="session id must be"):
            session_workflow_id(value)


@pytest.mark.parametrize("bad", ["", "a b", "a@b.com", "x" * 65, "abc\n", "ses/1"])
def test_bad_session_ids_have_no_workflow_id(bad: str) -> None:
    with pytest.raises(ValueError, match="session id must be"):
        session_workflow_id(bad)


@pytest.mark.parametrize(
    "workflow_id",
    [
        "practice-th_1",
        "ses_1",
        "session-",
        "session-a@b.com",
        "session-" + "x" * 65,
        "Session-abc",
        "session-ab\n",
    ],
)
def test_foreign_or_malformed_workflow_ids_are_not_sessions(workflow_id: str) -> None:
    with pytest.raises(ValueError, match="not a session workflow id"):
        session_id_from_workflow_id(workflow_id)


# --------------------------------------------------------------------------- idempotency keys


def test_idempotency_keys_come_from_business_state() -> None:
    assert charge_idempotency_key("ses_1", 1) == "session:ses_1:charge:1"
    assert charge_idempotency_key("ses_1", 3) == "session:ses_1:charge:3"
    assert refund_idempotency_key("ses_1", 2) == "session:ses_1:refund:2"
    assert void_idempotency_key("ses_1") == "session:ses_1:void"


def test_request_models_carry_reproducible_idempotency_keys() -> None:
    charge = {
        "session_id": "ses_1",
        "attempt": 2,
        "amount_minor": 6000,
        "currency": "GBP",
        "customer_id": "cus_1",
        "payment_method_id": "pm_1",
    }
    first, again = ChargeRequest.model_validate(charge), ChargeRequest.model_validate(charge)
    assert first.idempotency_key == again.idempotency_key == "session:ses_1:charge:2"
    assert first.model_dump_json() == again.model_dump_json()
    assert first.currency == "gbp"
    refund = RefundRequest(
        session_id="ses_1", refund_number=1, payment_intent_id="pi_1", target_refunded_minor=6000
    )
    assert refund.idempotency_key == "session:ses_1:refund:1"
    void = VoidRequest(session_id="ses_1", customer_id="cus_1", payment_intent_id="pi_1")
    assert void.idempotency_key == "session:ses_1:void"


@pytest.mark.parametrize("attempt", [0, -1])
def test_charge_attempts_are_numbered_from_one(attempt: int) -> None:
    with pytest.raises(ValidationError):
        ChargeRequest(
            session_id="ses_1",
            attempt=attempt,
            amount_minor=6000,
            currency="gbp",
            customer_id="cus_1",
            payment_method_id="pm_1",
        )


@pytest.mark.parametrize("number", [0, -2])
def test_refunds_are_numbered_from_one(number: int) -> None:
    with pytest.raises(ValidationError):
        RefundRequest(
            session_id="ses_1", refund_number=number, payment_intent_id="pi_1", target_refunded_minor=1
        )


# ---------------------------------------------------------------------- forward compatibility

STATE = {
    "session_id": "ses_1",
    "therapist_id": "th_1",
    "client_id": "cl_1",
    "kind": "client_follow_up",
    "status": "scheduled",
    "start": "2027-06-15T10:00:00Z",
    "end": "2027-06-15T10:50:00Z",
    "therapist_timezone": "Europe/London",
    "payment": {"amount_minor": 6000, "currency": "gbp", "field_from_the_future": 1},
}

KNOWN_GOOD: list[tuple[type[BaseModel], dict[str, Any]]] = [
    (SessionBooking, booking_data()),
    (SessionPolicy, {}),
    (SessionWorkflowInput, {"booking": booking_data()}),
    (SessionState, STATE),
    (PaymentLedger, {"amount_minor": 6000, "currency": "gbp"}),
    (CancelRequest, {"requested_by": "client", "reason": "illness"}),
    (RescheduleRequest, {"requested_by": "therapist", "new_start": "2027-06-20T10:00:00Z"}),
    (ChargeResult, {"outcome": "declined", "code": "card_declined"}),
    (
        PaymentEvent,
        {
            "event_id": "evt_1",
            "type": "payment_intent.succeeded",
            "payment_intent_id": "pi_1",
            "created": "2027-06-13T10:00:00Z",
        },
    ),
]


@pytest.mark.parametrize(("model", "data"), KNOWN_GOOD, ids=[model.__name__ for model, _ in KNOWN_GOOD])
def test_models_ignore_unknown_fields(model: type[BaseModel], data: dict[str, Any]) -> None:
    parsed = model.model_validate({**data, "added_in_a_later_version": {"x": 1}})
    assert "added_in_a_later_version" not in parsed.model_dump()
    assert parsed == model.model_validate(data)


def test_old_workflow_input_without_a_policy_gets_the_default_policy() -> None:
    workflow_input = SessionWorkflowInput.model_validate_json(
        SessionWorkflowInput.model_validate({"booking": booking_data()}).model_dump_json(exclude={"policy"})
    )
    assert workflow_input.policy == SessionPolicy()


def test_old_state_without_newer_ledger_fields_loads_with_defaults() -> None:
    state = SessionState.model_validate(STATE)
    assert state.status is SessionStatus.SCHEDULED
    assert state.payment.status is PaymentStatus.NOT_DUE
    assert state.payment.amount_paid_minor == 0
    assert state.payment.attempts == []
    assert state.cancellation is None
    assert state.reschedules == []


def test_charge_result_outcomes_are_a_closed_vocabulary() -> None:
    with pytest.raises(ValidationError):
        ChargeResult.model_validate({"outcome": "maybe"})
    assert ChargeResult.model_validate({"outcome": "failed"}).outcome is ChargeOutcome.FAILED
