"""Present or absent: which charges are on-session (customer-initiated, 3-D Secure in the client's
browser) and which off-session (merchant-initiated on the saved card), decided by the command that
causes the charge (``domain.presence``, README rule 11) — at unit speed, without a server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain import session as machine
from domain import session_commands as commands
from domain.commands import PaymentMethodUpdate
from domain.payments import ChargeOutcome, ChargeResult
from domain.presence import ChargeCause, booking_charge_cause, booking_charged_on_session, client_present
from domain.status import Actor, BookingKind, DeclineKind, PaymentStatus, SessionStatus
from tests.unit.session_sim import open_session

H = timedelta(hours=1)
MINUTE = timedelta(minutes=1)
START = datetime(2027, 6, 15, 17, 0, tzinfo=UTC)
BOOKED = START - 10 * 24 * H

SECRET = "pi_1_secret_abc"
ACTION = ChargeResult(
    outcome=ChargeOutcome.REQUIRES_ACTION,
    payment_intent_id="pi_1",
    payment_intent_status="requires_action",
    client_secret=SECRET,
    decline_kind=DeclineKind.AUTHENTICATION_REQUIRED,
)
SOFT = ChargeResult(
    outcome=ChargeOutcome.DECLINED,
    payment_intent_id="pi_1",
    decline_kind=DeclineKind.SOFT,
    code="card_declined",
    decline_code="insufficient_funds",
)
HARD = SOFT.model_copy(update={"decline_kind": DeclineKind.HARD, "decline_code": "expired_card"})
SUCCEEDED = ChargeResult(outcome=ChargeOutcome.SUCCEEDED, payment_intent_id="pi_1")


@pytest.mark.parametrize(
    ("kind", "present"),
    [
        (BookingKind.CLIENT_FOLLOW_UP, True),
        (BookingKind.THERAPIST_FOLLOW_UP, False),
        (BookingKind.INITIAL_PREPAID, False),
    ],
)
def test_only_the_clients_own_booking_is_charged_while_they_are_present(
    kind: BookingKind, present: bool
) -> None:
    assert booking_charged_on_session(kind) is present
    assert client_present(booking_charge_cause(kind)) is present


def test_a_client_booking_from_their_dashboard_is_charged_on_session() -> None:
    session = open_session(BookingKind.CLIENT_FOLLOW_UP, START, BOOKED)
    pending = machine.begin_charge(session, BOOKED)
    assert pending.request.off_session is False
    machine.finish_charge(session, pending, SUCCEEDED)
    assert session.payment.attempts[-1].on_session


def test_a_scheduled_charge_is_off_session() -> None:
    session = open_session(BookingKind.THERAPIST_FOLLOW_UP, START, BOOKED)
    assert machine.begin_charge(session, START - 48 * H).request.off_session is True


def test_a_therapists_booking_inside_the_window_is_charged_at_once_but_off_session() -> None:
    session = open_session(BookingKind.THERAPIST_FOLLOW_UP, START, START - 10 * H)
    assert session.payment.next_charge_at == START - 10 * H
    assert machine.begin_charge(session, START - 10 * H).request.off_session is True


def test_the_retries_of_a_client_booking_are_the_merchants_and_off_session() -> None:
    session = open_session(BookingKind.CLIENT_FOLLOW_UP, START, BOOKED)
    machine.finish_charge(session, machine.begin_charge(session, BOOKED), SOFT)
    assert session.payment.next_charge_at == START - 48 * H  # the next attempt time
    retry = machine.begin_charge(session, START - 48 * H)
    assert retry.request.off_session is True


def test_a_client_entering_a_new_card_after_a_decline_authenticates_in_their_browser() -> None:
    session = open_session(BookingKind.THERAPIST_FOLLOW_UP, START, BOOKED)
    machine.finish_charge(session, machine.begin_charge(session, START - 48 * H), HARD)
    result = commands.update_payment_method(
        session, PaymentMethodUpdate(payment_method_id="pm_new"), START - 40 * H
    )
    assert result.retrying_now
    assert machine.charge_answer_pending(session, START - 40 * H)
    pending = machine.begin_charge(session, START - 40 * H)
    assert pending.request.off_session is False
    assert machine.charge_answer_pending(session, START - 40 * H)  # in flight

    machine.finish_charge(session, pending, ACTION)

    answer = machine.charge_answer(session, START - 40 * H)
    assert answer.answered and answer.status is SessionStatus.AWAITING_CLIENT_ACTION
    assert answer.payment_intent_client_secret == SECRET
    assert session.charge_cause is ChargeCause.SCHEDULE


def test_a_card_forwarded_by_the_therapist_is_retried_off_session() -> None:
    session = open_session(BookingKind.THERAPIST_FOLLOW_UP, START, BOOKED)
    machine.finish_charge(session, machine.begin_charge(session, START - 48 * H), HARD)
    update = PaymentMethodUpdate(payment_method_id="pm_new", requested_by=Actor.THERAPIST)
    assert commands.update_payment_method(session, update, START - 40 * H).retrying_now
    assert machine.begin_charge(session, START - 40 * H).request.off_session is True


def test_a_new_card_given_during_an_attempt_is_retried_on_session_if_that_attempt_is_declined() -> None:
    session = open_session(BookingKind.THERAPIST_FOLLOW_UP, START, BOOKED)
    in_flight = machine.begin_charge(session, START - 48 * H)
    commands.update_payment_method(session, PaymentMethodUpdate(payment_method_id="pm_new"), START - 48 * H)
    machine.finish_charge(session, in_flight, SOFT)
    assert session.payment.retry_now
    assert machine.begin_charge(session, START - 48 * H + MINUTE).request.off_session is False


def test_an_outage_retry_of_an_on_session_try_is_off_session_under_a_new_key() -> None:
    """Nobody waits for a try 5 minutes later; the key the on-session try used must not be reused
    with other parameters (Stripe refuses), so the retry looks the intent up under a new one."""
    session = open_session(BookingKind.CLIENT_FOLLOW_UP, START, BOOKED)
    first = machine.begin_charge(session, BOOKED)
    machine.charge_unreachable(session, first, "TimeoutError", BOOKED + H)
    assert not machine.charge_answer_pending(session, BOOKED + H)
    assert not machine.charge_answer(session, BOOKED + H).answered

    retry = machine.begin_charge(session, BOOKED + H + 5 * MINUTE)
    assert (first.request.off_session, retry.request.off_session) == (False, True)
    assert retry.request.key_generation == 1 and retry.request.may_have_created_intent


def test_an_off_session_outage_retry_keeps_its_key() -> None:
    session = open_session(BookingKind.THERAPIST_FOLLOW_UP, START, BOOKED)
    first = machine.begin_charge(session, START - 48 * H)
    machine.charge_unreachable(session, first, "TimeoutError", START - 47 * H)
    retry = machine.begin_charge(session, START - 47 * H + 5 * MINUTE)
    assert retry.request.idempotency_key == first.request.idempotency_key


def test_the_answer_is_not_pending_for_a_charge_not_yet_due_nor_for_a_session_that_owes_none() -> None:
    scheduled = open_session(BookingKind.THERAPIST_FOLLOW_UP, START, BOOKED)
    assert not machine.charge_answer_pending(scheduled, BOOKED)
    answer = machine.charge_answer(scheduled, BOOKED)
    assert answer.payment_status is PaymentStatus.NOT_DUE and answer.payment_intent_client_secret is None

    prepaid = open_session(BookingKind.INITIAL_PREPAID, START, BOOKED)
    assert not machine.charge_answer_pending(prepaid, BOOKED)

    client = open_session(BookingKind.CLIENT_FOLLOW_UP, START, BOOKED)
    assert machine.charge_answer_pending(client, BOOKED)  # charged at once: due now
