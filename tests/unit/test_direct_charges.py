"""A session booked on the therapist's connected account (issue 14): what its Stripe requests
carry, at unit speed. The workflow tests run the same paths against the stand-in."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given

from domain import session as machine
from domain import session_attendance as attendance
from domain import session_commands as commands
from domain.attendance import AttendanceOutcome, AttendanceUpdate, ContinueChoice
from domain.booking import SessionBooking
from domain.commands import CancelRequest
from domain.commission import DEFAULT_COMMISSION, CommissionRates
from domain.payments import ChargeOutcome, ChargeResult, RefundResult
from domain.refunds import ClosedSessionRefunds, SessionRefund, begin_closed_refund, grant_closed_refund
from domain.session import Session
from domain.state import SessionWorkflowInput
from domain.status import Actor, BookingKind, CancelReason, PaymentStatus, RefundReason, SessionStatus
from tests.unit.session_sim import Command, Simulation
from tests.unit.test_session_properties import BOOKED_AT as BOOKED_AT_SIM
from tests.unit.test_session_properties import PROPERTY_SETTINGS, lives

H = timedelta(hours=1)
START = datetime(2027, 6, 15, 17, 0, tzinfo=UTC)
BOOKED = START - 10 * 24 * H
ACCOUNT = "acct_therapist1"
PRICE = 6000


def book(
    kind: BookingKind = BookingKind.THERAPIST_FOLLOW_UP,
    *,
    account: str | None = ACCOUNT,
    commission: CommissionRates = DEFAULT_COMMISSION,
) -> Session:
    prepaid = kind is BookingKind.INITIAL_PREPAID
    booking = SessionBooking(
        session_id="ses_direct",
        therapist_id="thr_1",
        client_id="cli_1",
        kind=kind,
        start=START,
        amount_minor=PRICE,
        currency="gbp",
        stripe_customer_id="cus_1",
        payment_method_id=None if prepaid else "pm_card_visa",
        prepaid_payment_intent_id="pi_prepaid" if prepaid else None,
        client_agreed=True,
        connected_account_id=account,
    )
    workflow_input = SessionWorkflowInput(booking=booking, booked_at=BOOKED, commission=commission)
    return machine.open_session(workflow_input, BOOKED)


def paid(session: Session, fee: int | None = 720) -> Session:
    pending = machine.begin_charge(session, START - 48 * H)
    result = ChargeResult(
        outcome=ChargeOutcome.SUCCEEDED,
        payment_intent_id="pi_1",
        payment_intent_status="succeeded",
        application_fee_minor=fee,
        connected_account_id=pending.request.connected_account_id,
    )
    machine.finish_charge(session, pending, result)
    assert session.payment.status is PaymentStatus.PAID
    return session


def cancel(session: Session, by: Actor, at: datetime, *, discretionary: bool = False) -> None:
    submitted_by = Actor.THERAPIST if discretionary else by  # only they may waive a late cancellation
    request = CancelRequest(
        requested_by=by,
        submitted_by=submitted_by,
        reason=CancelReason.OTHER,
        discretionary_refund=discretionary,
    )
    commands.cancel(session, request, at, at)


def grant(session: Session, amount: int | None = None) -> None:
    commands.refund(session, SessionRefund(reason=RefundReason.GOODWILL, amount_minor=amount), START + 2 * H)


def test_a_follow_up_on_a_connected_account_is_charged_there_with_ten_percent_plus_vat() -> None:
    session = book()
    request = machine.begin_charge(session, START - 48 * H).request
    assert request.connected_account_id == ACCOUNT
    assert request.application_fee_minor == 720
    assert session.payment.application_fee_minor == 720  # fixed at booking, before any charge


def test_a_session_without_an_account_is_charged_on_the_platform_as_before() -> None:
    session = book(account=None)
    request = machine.begin_charge(session, START - 48 * H).request
    assert request.connected_account_id is None and request.application_fee_minor is None
    assert session.payment.connected_account_id is None and session.payment.commission is None
    assert session.payment.application_fee_minor is None


def test_the_fee_is_the_commission_agreed_at_booking() -> None:
    session = book(commission=CommissionRates(follow_up_bp=1_500, vat_bp=0))
    assert machine.begin_charge(session, START - 48 * H).request.application_fee_minor == 900


def test_the_fee_stripe_reports_is_the_one_recorded() -> None:
    session = paid(book(), fee=719)
    assert session.payment.application_fee_minor == 719


def test_a_first_session_paid_at_checkout_carries_the_whole_amount_as_its_fee() -> None:
    session = book(BookingKind.INITIAL_PREPAID)
    assert session.payment.application_fee_minor == PRICE


def test_a_therapists_cancellation_refunds_on_the_account_and_returns_the_commission() -> None:
    session = paid(book())
    cancel(session, Actor.THERAPIST, START - 30 * H)
    request = machine.begin_refund(session)
    assert request.target_refunded_minor == PRICE
    assert (request.connected_account_id, request.refund_application_fee) == (ACCOUNT, True)


def test_a_clients_free_cancellation_after_payment_returns_the_commission() -> None:
    session = book(BookingKind.CLIENT_FOLLOW_UP)
    paid(session)
    cancel(session, Actor.CLIENT, START - 72 * H)
    assert session.status is SessionStatus.CANCELLED_FREE
    request = machine.begin_refund(session)
    assert (request.target_refunded_minor, request.refund_application_fee) == (PRICE, True)


def test_a_discretionary_refund_keeps_the_commission_by_default() -> None:
    session = paid(book())
    grant(session, 2000)
    request = machine.begin_refund(session)
    assert (request.target_refunded_minor, request.refund_application_fee) == (2000, False)


def test_a_waived_late_cancellation_is_discretionary() -> None:
    session = paid(book())
    cancel(session, Actor.CLIENT, START - 10 * H, discretionary=True)
    assert session.status is SessionStatus.CANCELLED_LATE
    assert machine.begin_refund(session).refund_application_fee is False


def test_a_discretionary_refund_returns_the_commission_when_configured() -> None:
    session = paid(book(commission=CommissionRates(discretionary_refund_returns_fee=True)))
    grant(session)
    assert machine.begin_refund(session).refund_application_fee is True


def test_a_platform_refund_says_nothing_of_a_fee() -> None:
    session = paid(book(account=None), fee=None)
    cancel(session, Actor.THERAPIST, START - 30 * H)
    request = machine.begin_refund(session)
    assert request.connected_account_id is None and request.refund_application_fee is None


def test_what_stripe_reports_of_the_fee_refunded_is_recorded_and_never_shrinks() -> None:
    session = paid(book())
    cancel(session, Actor.THERAPIST, START - 30 * H)
    request = machine.begin_refund(session)
    result = RefundResult(
        refund_id="re_1",
        amount_minor=PRICE,
        refunded_total_minor=PRICE,
        captured_minor=PRICE,
        application_fee_minor=720,
        application_fee_refunded_minor=720,
        connected_account_id=ACCOUNT,
    )
    machine.apply_refund_result(session, request, result)
    assert session.payment.application_fee_refunded_minor == 720
    stale = result.model_copy(update={"application_fee_refunded_minor": 0, "refund_id": None})
    machine.apply_refund_result(session, request, stale)
    assert session.payment.application_fee_refunded_minor == 720


@pytest.mark.parametrize("returns", [False, True])
def test_a_refund_after_the_session_closed_is_discretionary_on_the_same_account(returns: bool) -> None:
    session = paid(book(commission=CommissionRates(discretionary_refund_returns_fee=returns)))
    closed = ClosedSessionRefunds.of_closed_session(session.snapshot(), START + 3 * H)
    grant_closed_refund(closed, SessionRefund(reason=RefundReason.GOODWILL), START + 4 * H, "req-1")
    request = begin_closed_refund(closed)
    assert (request.connected_account_id, request.refund_application_fee) == (ACCOUNT, returns)


def test_reads_and_voids_look_on_the_account() -> None:
    session = book()
    assert machine.payment_read_request(session).connected_account_id == ACCOUNT
    assert machine.begin_void(session).connected_account_id == ACCOUNT
    platform = book(account=None)
    assert machine.payment_read_request(platform).connected_account_id is None
    assert machine.begin_void(platform).connected_account_id is None


def test_a_follow_up_is_booked_on_the_same_account_under_the_same_terms() -> None:
    rates = CommissionRates(follow_up_bp=1_200)
    session = paid(book(commission=rates))
    update = AttendanceUpdate(
        outcome=AttendanceOutcome.ATTENDED,
        continue_sessions=ContinueChoice.SAME_TIME,
        client_agreed=True,
    )
    attendance.begin_filing(session, update, session.end + H)
    plan = attendance.record_attendance(session, update, session.end + H)
    follow_up = attendance.follow_up_input(session, plan, session.end + H)
    assert follow_up.booking.connected_account_id == ACCOUNT
    assert follow_up.commission == rates


def test_a_refund_of_a_first_session_returns_the_marketplaces_whole_share() -> None:
    # 100 % commission: the therapist received nothing, so a goodwill refund comes out of the
    # marketplace's share (domain.md §4.7), never the therapist's balance.
    session = book(BookingKind.INITIAL_PREPAID)
    grant(session)
    request = machine.begin_refund(session)
    assert (request.connected_account_id, request.target_refunded_minor) == (ACCOUNT, PRICE)
    assert (request.refund_application_fee, request.return_whole_fee) == (True, True)


def test_a_part_refund_of_a_first_session_returns_the_same_part_of_the_commission() -> None:
    session = book(BookingKind.INITIAL_PREPAID)
    grant(session, 2000)
    request = machine.begin_refund(session)
    # Stripe's proportional return gives back 2000 of the 6000 fee: the therapist bears nothing.
    assert (request.refund_application_fee, request.return_whole_fee) == (True, False)


def test_a_refund_of_a_first_session_after_it_closed_returns_the_commission() -> None:
    session = book(BookingKind.INITIAL_PREPAID)
    closed = ClosedSessionRefunds.of_closed_session(session.snapshot(), START + 3 * H)
    grant_closed_refund(closed, SessionRefund(reason=RefundReason.GOODWILL), START + 4 * H, "req-1")
    request = begin_closed_refund(closed)
    assert (request.refund_application_fee, request.return_whole_fee) == (True, True)


def test_a_therapists_cancellation_after_a_part_refund_returns_the_whole_commission() -> None:
    session = paid(book())  # fee 720
    grant(session, 3000)
    first = machine.begin_refund(session)
    assert (first.refund_application_fee, first.return_whole_fee) == (False, False)
    machine.apply_refund_result(
        session,
        first,
        RefundResult(refund_id="re_1", amount_minor=3000, refunded_total_minor=3000, captured_minor=PRICE),
    )
    cancel(session, Actor.THERAPIST, START - 30 * H)
    second = machine.begin_refund(session)
    # Stripe would return only 360 of the 720 in proportion to this refund: the platform returns
    # the rest of its fee itself, since the session never took place.
    assert (second.target_refunded_minor, second.refund_application_fee) == (PRICE, True)
    assert second.return_whole_fee is True


def test_a_discretionary_refund_that_completes_the_charge_keeps_the_commission_by_default() -> None:
    session = paid(book())
    grant(session)
    request = machine.begin_refund(session)
    assert (request.target_refunded_minor, request.refund_application_fee) == (PRICE, False)
    assert request.return_whole_fee is False


def _follow_up_of(session: Session, practice_account_id: str | None = None) -> SessionWorkflowInput:
    update = AttendanceUpdate(
        outcome=AttendanceOutcome.ATTENDED,
        continue_sessions=ContinueChoice.SAME_TIME,
        client_agreed=True,
    )
    attendance.begin_filing(session, update, session.end + H)
    plan = attendance.record_attendance(session, update, session.end + H)
    now = session.end + H
    return attendance.follow_up_input(
        session, plan, now, time_claimed=True, practice_account_id=practice_account_id
    )


def test_a_therapists_follow_up_takes_the_practices_current_account() -> None:
    follow_up = _follow_up_of(paid(book()), practice_account_id="acct_therapist2")
    assert follow_up.booking.connected_account_id == "acct_therapist2"


def test_a_follow_up_of_a_session_booked_before_the_therapist_connected_moves_onto_the_account() -> None:
    follow_up = _follow_up_of(paid(book(account=None), fee=None), practice_account_id=ACCOUNT)
    assert follow_up.booking.connected_account_id == ACCOUNT
    assert follow_up.commission == DEFAULT_COMMISSION


def test_a_follow_up_keeps_its_parents_account_when_the_practice_names_none() -> None:
    # A claim answered before the answer carried the account (a replayed history): the parent's.
    assert _follow_up_of(paid(book()), practice_account_id=None).booking.connected_account_id == ACCOUNT


# ----------------------------------------------------------------------------- over random lives


def _on_an_account(simulation: Simulation) -> Simulation:
    """The same session and the same simulated Stripe, booked on a connected account."""
    session = simulation.session
    booking = session.booking.model_copy(update={"connected_account_id": ACCOUNT})
    booked_at = BOOKED_AT_SIM
    twin = machine.open_session(SessionWorkflowInput(booking=booking, booked_at=booked_at), booked_at)
    return Simulation(twin, copy.deepcopy(simulation.stripe))


_ACCOUNT_FIELDS = {
    "connected_account_id",
    "commission",
    "application_fee_minor",
    "application_fee_refunded_minor",
}


@PROPERTY_SETTINGS
@given(lives())
def test_a_connected_account_changes_where_money_moves_never_how_much_or_when(
    life: tuple[Simulation, list[tuple[datetime, Command]]],
) -> None:
    """Whatever happens, a session booked on a connected account takes exactly the steps, statuses
    and amounts the same session takes on the platform: only its requests' account, fee and
    fee-refund fields differ (the commission is Stripe's to take, never a rule of the session)."""
    simulation, timed = life
    twin = _on_an_account(simulation)

    platform_trace = simulation.run(timed)
    account_trace = twin.run(timed)

    assert account_trace.statuses == platform_trace.statuses
    assert account_trace.accepted == platform_trace.accepted
    assert account_trace.refused == platform_trace.refused
    assert account_trace.notices == platform_trace.notices
    assert (twin.stripe.captured, twin.stripe.refunded) == (
        simulation.stripe.captured,
        simulation.stripe.refunded,
    )
    platform_payment = simulation.session.payment.model_dump(exclude=_ACCOUNT_FIELDS)
    assert twin.session.payment.model_dump(exclude=_ACCOUNT_FIELDS) == platform_payment
    assert twin.session.payment.connected_account_id == ACCOUNT
