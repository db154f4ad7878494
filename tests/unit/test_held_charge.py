"""A paused therapist's sessions (issue 14 §2) at unit speed: a charge the therapist's connected
account cannot take is held, never declined to the client; it runs when the account can charge
again, and a session still held at its auto-cancel instant is the therapist's cancellation."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from jsonschema import Draft202012Validator, FormatChecker

from domain import session as machine
from domain import session_commands as commands
from domain.booking import SessionBooking
from domain.commands import RescheduleRequest
from domain.notification_catalogue import event_schema
from domain.notifications import Audience, NotificationType
from domain.payments import AccountChargesFact, ChargeOutcome, ChargeResult, PaymentEvent
from domain.session import NextStep, Session, Step
from domain.state import SessionWorkflowInput
from domain.status import Actor, BookingKind, PaymentStatus, SessionStatus

H = timedelta(hours=1)
START = datetime(2027, 6, 15, 17, 0, tzinfo=UTC)
BOOKED = START - 10 * 24 * H
ACCOUNT = "acct_therapist1"
HELD = ChargeResult(outcome=ChargeOutcome.HELD, code="requirements.past_due", attempted=False)
PAID = ChargeResult(outcome=ChargeOutcome.SUCCEEDED, payment_intent_id="pi_1")


def held_booking(account: str | None = ACCOUNT) -> SessionBooking:
    """A follow-up at ``START`` charged on the therapist's connected account ``account``."""
    return SessionBooking(
        session_id="ses_held",
        therapist_id="thr_1",
        client_id="cli_1",
        kind=BookingKind.THERAPIST_FOLLOW_UP,
        start=START,
        amount_minor=6000,
        currency="gbp",
        stripe_customer_id="cus_1",
        payment_method_id="pm_card_visa",
        client_agreed=True,
        connected_account_id=account,
    )


def book(account: str | None = ACCOUNT) -> Session:
    booking = held_booking(account)
    session = machine.open_session(SessionWorkflowInput(booking=booking, booked_at=BOOKED), BOOKED)
    session.terms_notices = True  # as every session booked since issue 12
    return session


def hold(session: Session, at: datetime, result: ChargeResult = HELD) -> list[machine.Notice]:
    return machine.hold_charge(session, machine.begin_charge(session, at), result, at)


def test_the_charge_is_made_on_the_therapists_connected_account() -> None:
    assert machine.begin_charge(book(), START - 48 * H).request.connected_account_id == ACCOUNT
    assert machine.begin_charge(book(account=None), START - 48 * H).request.connected_account_id is None


def test_a_held_charge_is_no_decline_and_tells_both_parties_once() -> None:
    session = book()
    notices = hold(session, START - 48 * H)
    assert session.status is SessionStatus.PAYMENT_ON_HOLD
    assert session.payment.status is PaymentStatus.ON_HOLD
    assert session.payment.attempts == []  # no decline attempt used, no key spent
    assert session.payment.held_since == START - 48 * H
    assert session.payment.held_reason == "requirements.past_due"
    assert [(n.type, n.audience, n.fields["codes"]) for n in notices] == [
        (NotificationType.PAYMENT_ON_HOLD, Audience.CLIENT, {"action": "none"}),
        (NotificationType.PAYMENT_ON_HOLD, Audience.THERAPIST, {"action": "enable_payments"}),
    ]
    assert hold(session, START - 24 * H) == []  # still held at the next check: told once


def test_a_held_charge_is_checked_again_at_the_later_attempt_instants() -> None:
    session = book()
    hold(session, START - 48 * H)
    assert machine.next_step(session) == NextStep(Step.CHARGE, START - 24 * H)
    hold(session, START - 24 * H)
    assert machine.next_step(session) == NextStep(Step.CHARGE, START - 12 * H)
    hold(session, START - 12 * H)
    assert machine.next_step(session) == NextStep(Step.AUTO_CANCEL, START - 1 * H)


def test_the_account_enabled_again_runs_the_held_charge_at_once_and_the_therapist_hears_it_recovered() -> (
    None
):
    session = book()
    hold(session, START - 48 * H)
    assert machine.resume_held(session, AccountChargesFact(account_id=ACCOUNT, charges_enabled=True))
    assert machine.next_step(session) == NextStep(Step.CHARGE, None)
    pending = machine.begin_charge(session, START - 40 * H)
    assert pending.request.attempt == 1  # the same attempt and key the hold never used
    notices = machine.finish_charge(session, pending, PAID)
    assert session.status is SessionStatus.PAID
    assert [n.type for n in notices] == [
        NotificationType.CHARGE_SUCCEEDED,
        NotificationType.PAYMENT_RECOVERED,
    ]


def test_only_the_sessions_own_account_enabled_resumes_it() -> None:
    session = book()
    hold(session, START - 48 * H)
    other = AccountChargesFact(account_id="acct_other", charges_enabled=True)
    disabled = AccountChargesFact(account_id=ACCOUNT, charges_enabled=False)
    assert not machine.resume_held(session, other)
    assert not machine.resume_held(session, disabled)
    paid = book()
    machine.finish_charge(paid, machine.begin_charge(paid, START - 48 * H), PAID)
    assert not machine.resume_held(paid, AccountChargesFact(account_id=ACCOUNT, charges_enabled=True))


def test_still_held_at_the_auto_cancel_it_is_the_therapists_cancellation_free_for_the_client() -> None:
    session = book()
    hold(session, START - 12 * H)
    notices = machine.cancel_held(session, START - 1 * H)
    assert session.status is SessionStatus.CANCELLED_BY_THERAPIST
    assert session.cancellation is not None and session.cancellation.requested_by is Actor.THERAPIST
    assert session.payment.status is PaymentStatus.NOT_COLLECTED
    assert not machine.charge_owed(session) and not machine.void_due(session)
    assert {(n.audience, n.fields["codes"]["requested_by"], n.fields["codes"]["free"]) for n in notices} == {
        (Audience.CLIENT, "therapist", "true"),
        (Audience.THERAPIST, "therapist", "true"),
    }
    assert all(n.type is NotificationType.SESSION_CANCELLED for n in notices)


def test_a_stripe_refusal_because_the_account_cannot_charge_holds_under_a_new_key_next_time() -> None:
    session = book()
    refused = ChargeResult(outcome=ChargeOutcome.HELD, code="account_invalid", attempted=True)
    hold(session, START - 48 * H, refused)
    assert [a.outcome for a in session.payment.attempts] == [ChargeOutcome.HELD]
    machine.resume_held(session, AccountChargesFact(account_id=ACCOUNT, charges_enabled=True))
    assert machine.begin_charge(session, START - 40 * H).request.attempt == 2


def test_a_held_session_that_has_started_is_not_cancelled_and_is_charged_on_resume() -> None:
    session = book()
    hold(session, START + 1 * H)  # a late booking's charge, held after the start
    assert machine.cancel_held(session, START + 1 * H) == []
    assert session.status is SessionStatus.PAYMENT_ON_HOLD
    assert session.payment.ops_blocked == machine.HELD_AT_START
    assert machine.resume_held(session, AccountChargesFact(account_id=ACCOUNT, charges_enabled=True))
    assert machine.next_step(session) == NextStep(Step.CHARGE, None)


def test_an_account_enabled_while_its_check_is_under_way_is_looked_at_again_at_once() -> None:
    session = book()
    hold(session, START - 48 * H)
    pending = machine.begin_charge(session, START - 24 * H)  # the re-check at − 24 h
    enabled = AccountChargesFact(account_id=ACCOUNT, charges_enabled=True)
    assert not machine.resume_held(session, enabled)  # the loop is busy with this very check
    machine.hold_charge(session, pending, HELD, START - 24 * H)  # it had read the account just before
    assert machine.next_step(session) == NextStep(Step.CHARGE, None)


def test_the_hold_and_the_held_cancellation_notices_match_their_types_schemas() -> None:
    session = book()
    notices = hold(session, START - 12 * H) + machine.cancel_held(session, START - 1 * H)
    for notice in notices:
        notification = notice.to_notification(session, START - 1 * H)
        body = json.loads(notification.model_dump_json())
        Draft202012Validator(event_schema(notification.type), format_checker=FormatChecker()).validate(body)


# ----------------------------------------------------------------- review 14: a held charge follows the facts


def book_settling() -> Session:
    session = book()
    session.held_settles = True  # as every session on a connected account past charge-held-settles
    return session


def succeeded(intent_id: str, at: datetime) -> PaymentEvent:
    return PaymentEvent(
        event_id=f"evt_{intent_id}", type="payment_intent.succeeded", payment_intent_id=intent_id, created=at
    )


def test_a_payment_that_went_through_settles_a_held_charge_and_the_session_is_not_cancelled() -> None:
    session = book_settling()
    # The first try went through (its answer lost); the retry found the account disabled.
    hold(session, START - 48 * H)

    outcome = machine.apply_payment_event(session, succeeded("pi_lost", START - 47 * H))

    assert outcome.wakes
    assert session.payment.status is PaymentStatus.PAID
    assert session.payment.payment_intent_id == "pi_lost"
    assert not machine.charge_held(session)
    assert session.payment.next_charge_at is None


def test_a_payment_reported_while_the_account_was_read_settles_the_charge_instead_of_holding_it() -> None:
    session = book_settling()
    pending = machine.begin_charge(session, START - 48 * H)
    machine.apply_payment_event(session, succeeded("pi_lost", START - 48 * H))

    notices = machine.hold_charge(session, pending, HELD, START - 48 * H)

    assert notices == []
    assert session.payment.status is PaymentStatus.PAID and not machine.charge_held(session)


def test_a_held_real_try_cancelled_as_held_leaves_a_possible_payment_to_be_voided_or_refunded() -> None:
    session = book_settling()
    # A retry found no PaymentIntent, but the key was used: held as attempted.
    tried = HELD.model_copy(update={"attempted": True})
    hold(session, START - 48 * H, tried)
    machine.cancel_held(session, START - H)
    machine.time_released(session)

    assert session.status is SessionStatus.CANCELLED_BY_THERAPIST
    assert machine.void_due(session)
    assert not machine.is_finished(session)


def test_a_held_session_moved_a_week_later_is_checked_again_48_hours_before_its_new_start() -> None:
    session = book_settling()
    hold(session, START - 48 * H)
    now = START - 40 * H
    new_start = START + 7 * 24 * H

    commands.reschedule(
        session, RescheduleRequest(requested_by=Actor.THERAPIST, new_start=new_start), now, now
    )

    assert session.payment.next_charge_at is not None
    assert new_start - 48 * H <= session.payment.next_charge_at < new_start


def test_a_held_session_moved_earlier_is_checked_again_at_once_before_its_new_start() -> None:
    session = book_settling()
    hold(session, START - 48 * H)
    now = START - 47 * H
    new_start = START - 30 * H

    commands.reschedule(
        session, RescheduleRequest(requested_by=Actor.THERAPIST, new_start=new_start), now, now
    )

    assert session.payment.next_charge_at == now
    step = machine.next_step(session)
    assert step is not None and step.at is not None and step.at < new_start - H
