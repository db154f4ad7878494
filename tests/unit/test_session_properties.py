"""Properties of the session state machine over random lives: random bookings, commands and
payment facts at random instants, against a simulated Stripe (``session_sim``).

Whatever happens, in any order: the client's card is charged at most once; nothing is refunded
beyond what was captured; a client's free cancellation ends with nothing kept; a late one keeps
the fee unless a therapist or admin waived it; a therapist's or admin's keeps nothing; a stale or
repeated payment fact never moves a session backwards.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import get_args

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain import session as machine
from domain.attendance import AttendanceOutcome, AttendanceUpdate
from domain.commands import CancelRequest, PaymentMethodUpdate, RescheduleRequest
from domain.notifications import Audience, NotificationType
from domain.payments import ChargeOutcome
from domain.policy import is_free_cancellation
from domain.refunds import SessionRefund
from domain.status import Actor, BookingKind, CancelReason, PaymentStatus, RefundReason, SessionStatus
from tests.unit.session_sim import (
    PRICE,
    Attendance,
    Cancel,
    ChargeScript,
    Command,
    DashboardRefund,
    Grant,
    MarkNoShow,
    Move,
    NewCard,
    PaysOnSession,
    SimulatedStripe,
    Simulation,
    Trace,
    open_session,
)

BOOKED_AT = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
H = timedelta(hours=1)

kinds = st.sampled_from(list(BookingKind))
charge_scripts: st.SearchStrategy[list[ChargeScript]] = st.lists(
    st.sampled_from(list(get_args(ChargeScript))), max_size=4
)


@st.composite
def instants(draw: st.DrawFn, start: datetime) -> datetime:
    anchor = draw(st.sampled_from(["booking", "deadline", "deadline", "start", "anywhere"]))
    if anchor == "anywhere":
        return BOOKED_AT + timedelta(seconds=draw(st.integers(0, 20 * 24 * 3600)))
    base = {"booking": BOOKED_AT, "deadline": start - 48 * H, "start": start}[anchor]
    # The boundary itself and the seconds either side of it, as often as anywhere near it.
    seconds = draw(st.one_of(st.just(0), st.sampled_from([-1, 1]), st.integers(-90, 90)))
    return max(BOOKED_AT, base + timedelta(seconds=seconds))


@st.composite
def commands_for(draw: st.DrawFn, start: datetime) -> Command:
    # Cancellations are where the money rules branch most: drawn as often as the rest together.
    kind = draw(
        st.sampled_from(
            ["cancel"] * 5 + ["move", "card", "pays", "attendance", "dashboard_refund", "grant", "no_show"]
        )
    )
    if kind == "grant":
        amount = draw(st.one_of(st.none(), st.integers(1, PRICE + 1)))
        return Grant(SessionRefund(reason=RefundReason.GOODWILL, amount_minor=amount))
    if kind == "no_show":
        return MarkNoShow()
    if kind == "cancel":
        requested_by = draw(st.sampled_from(list(Actor)))
        waive = requested_by is Actor.CLIENT and draw(st.booleans())
        return Cancel(
            CancelRequest(
                requested_by=requested_by,
                reason=CancelReason.OTHER,
                submitted_by=Actor.THERAPIST if waive else None,
                discretionary_refund=waive,
            )
        )
    if kind == "move":
        new_start = start + timedelta(hours=draw(st.integers(-72, 14 * 24)))
        return Move(RescheduleRequest(requested_by=draw(st.sampled_from(list(Actor))), new_start=new_start))
    if kind == "card":
        return NewCard(
            PaymentMethodUpdate(payment_method_id=draw(st.sampled_from(["pm_new", "pm_card_visa"])))
        )
    if kind == "dashboard_refund":
        return DashboardRefund()
    if kind == "pays":
        return PaysOnSession(deliveries=draw(st.integers(1, 3)))
    return Attendance(
        AttendanceUpdate(outcome=draw(st.sampled_from(list(AttendanceOutcome))), refund=draw(st.booleans()))
    )


@st.composite
def lives(draw: st.DrawFn) -> tuple[Simulation, list[tuple[datetime, Command]]]:
    kind = draw(kinds)
    start = BOOKED_AT + timedelta(minutes=draw(st.integers(10, 10 * 24 * 60)))
    session = open_session(kind, start, BOOKED_AT)
    stripe = SimulatedStripe(
        amount=PRICE, charges=draw(charge_scripts), refund_outages=draw(st.integers(0, 2))
    )
    if kind is BookingKind.INITIAL_PREPAID:
        stripe.intent_status, stripe.captures, stripe.captured = "succeeded", 1, PRICE
    timed = draw(st.lists(st.tuples(instants(start), commands_for(start)), max_size=6))
    return Simulation(session, stripe), timed


def run(life: tuple[Simulation, list[tuple[datetime, Command]]]) -> tuple[Simulation, Trace]:
    simulation, timed = life
    return simulation, simulation.run(timed)


PROPERTY_SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY_SETTINGS
@given(lives())
def test_the_card_is_charged_at_most_once(life: tuple[Simulation, list[tuple[datetime, Command]]]) -> None:
    simulation, trace = run(life)
    assert simulation.stripe.captures <= 1
    assert trace.charged_while_paid == 0
    succeeded = [a for a in simulation.session.payment.attempts if a.outcome.value == "succeeded"]
    assert len(succeeded) <= 1


@PROPERTY_SETTINGS
@given(lives())
def test_refunds_never_exceed_what_was_captured(
    life: tuple[Simulation, list[tuple[datetime, Command]]],
) -> None:
    simulation, _ = run(life)
    payment = simulation.session.payment
    assert simulation.stripe.refunded <= simulation.stripe.captured
    assert payment.amount_refunded_minor <= max(payment.amount_paid_minor, simulation.stripe.captured)
    assert sum(record.amount_minor for record in payment.refunds) <= simulation.stripe.captured


@PROPERTY_SETTINGS
@given(lives())
def test_what_a_cancellation_keeps_follows_who_cancelled_and_when(
    life: tuple[Simulation, list[tuple[datetime, Command]]],
) -> None:
    simulation, trace = run(life)
    session, stripe = simulation.session, simulation.stripe
    if not session.status.is_cancelled or not machine.is_finished(session):
        return
    assert session.payment.status is not PaymentStatus.PROCESSING
    # Nothing the client could still pay is left open once the session is closed.
    assert stripe.intent_status in (None, "succeeded", "canceled")
    cancellation = session.cancellation
    if session.status is SessionStatus.CANCELLED_FREE:
        assert cancellation is not None and cancellation.requested_by is Actor.CLIENT
        assert stripe.kept == 0
    elif session.status in (SessionStatus.CANCELLED_BY_THERAPIST, SessionStatus.CANCELLED_UNPAID):
        assert stripe.kept == 0
    elif session.status is SessionStatus.CANCELLED_LATE:
        assert cancellation is not None
        if cancellation.discretionary_refund:
            assert stripe.kept == 0
        elif stripe.captures and not trace.refunded_elsewhere and not trace.granted_minor:
            assert stripe.kept == PRICE


@PROPERTY_SETTINGS
@given(lives())
def test_a_free_cancellation_was_received_strictly_before_the_deadline(
    life: tuple[Simulation, list[tuple[datetime, Command]]],
) -> None:
    simulation, _ = run(life)
    session = simulation.session
    if session.status is SessionStatus.CANCELLED_FREE:
        assert session.cancellation is not None
        assert is_free_cancellation(session.start, session.cancellation.at)
        assert session.cancellation.at < session.start - 48 * H
        assert not session.payment.charge_kept_by_late_move


@PROPERTY_SETTINGS
@given(lives())
def test_no_status_moves_backwards_on_a_stale_fact(
    life: tuple[Simulation, list[tuple[datetime, Command]]],
) -> None:
    _, trace = run(life)
    assert trace.stale_fact_moves == []
    # A closed session stays closed, and a completed one stays completed.
    closed_at = next((i for i, s in enumerate(trace.statuses) if s.is_cancelled), None)
    if closed_at is not None:
        assert all(status.is_cancelled for status in trace.statuses[closed_at:])
        assert len(set(trace.statuses[closed_at:])) == 1
    if SessionStatus.COMPLETED in trace.statuses:
        assert trace.statuses[-1] is SessionStatus.COMPLETED
    # Money taken is never forgotten: a session once paid is not cancelled as unpaid.
    if SessionStatus.PAID in trace.statuses:
        assert (
            SessionStatus.CANCELLED_UNPAID not in trace.statuses[trace.statuses.index(SessionStatus.PAID) :]
        )


@PROPERTY_SETTINGS
@given(lives())
def test_a_session_that_took_place_was_paid(life: tuple[Simulation, list[tuple[datetime, Command]]]) -> None:
    simulation, trace = run(life)
    if any(status in (SessionStatus.ATTENDED, SessionStatus.CLIENT_NO_SHOW) for status in trace.statuses):
        assert simulation.stripe.captures == 1
        assert simulation.session.payment.status is PaymentStatus.PAID


@PROPERTY_SETTINGS
@given(
    kind=kinds,
    seconds=st.integers(-3, 3),
    scripts=charge_scripts,
    start_minutes=st.integers(49 * 60, 10 * 24 * 60),
)
def test_a_client_cancellation_is_free_only_strictly_before_the_deadline(
    kind: BookingKind, seconds: int, scripts: list[ChargeScript], start_minutes: int
) -> None:
    start = BOOKED_AT + timedelta(minutes=start_minutes)
    simulation = Simulation(
        open_session(kind, start, BOOKED_AT), SimulatedStripe(amount=PRICE, charges=scripts)
    )
    at = start - 48 * H + timedelta(seconds=seconds)
    simulation.run([(at, Cancel(CancelRequest(requested_by=Actor.CLIENT, reason=CancelReason.OTHER)))])
    session, stripe = simulation.session, simulation.stripe
    expected = SessionStatus.CANCELLED_FREE if seconds < 0 else SessionStatus.CANCELLED_LATE
    assert session.status is expected
    if expected is SessionStatus.CANCELLED_FREE:
        assert stripe.kept == 0
        if kind is BookingKind.THERAPIST_FOLLOW_UP:
            assert stripe.confirm_calls == 0  # its charge, due at the deadline, never happens
    else:
        # The charge stands: collected (now or at a retry) and never refunded, or — when the card
        # could not be charged by start − 1 h — its open PaymentIntent voided.
        assert stripe.refunded == 0
        assert stripe.captures == 1 or stripe.intent_status in (None, "canceled")


@PROPERTY_SETTINGS
@given(lives())
def test_an_outage_is_never_a_decline(life: tuple[Simulation, list[tuple[datetime, Command]]]) -> None:
    """Only a card decline is a decline: a charge that got no answer from Stripe uses no attempt
    and tells nobody the charge failed; every ``charge_failed`` is a decline Stripe gave."""
    simulation, trace = run(life)
    attempts = simulation.session.payment.attempts
    assert all(attempt.outcome is not ChargeOutcome.FAILED for attempt in attempts)
    declined = [attempt for attempt in attempts if attempt.outcome is ChargeOutcome.DECLINED]
    assert trace.notices.count(NotificationType.CHARGE_FAILED) == len(declined)


@PROPERTY_SETTINGS
@given(lives())
def test_only_a_charge_the_clients_own_command_just_caused_is_made_on_session(
    life: tuple[Simulation, list[tuple[datetime, Command]]],
) -> None:
    """README rule 11: the first try after the client's own booking or new card is on-session;
    every other try — at its time, after a decline, after an outage — is off-session."""
    _, trace = run(life)
    assert all(on_session == caused_by_client for on_session, caused_by_client in trace.tries), trace.tries


@PROPERTY_SETTINGS
@given(lives())
def test_a_session_is_never_cancelled_unpaid_while_stripe_is_unreachable(
    life: tuple[Simulation, list[tuple[datetime, Command]]],
) -> None:
    simulation, _ = run(life)
    session = simulation.session
    if session.status is SessionStatus.CANCELLED_UNPAID:
        # Cancelled for a decline (or an authentication the client never gave) Stripe answered.
        assert session.payment.unreachable_tries == 0
        assert session.payment.attempts and session.payment.attempts[-1].decline_kind is not None


@PROPERTY_SETTINGS
@given(lives())
def test_on_the_terms_notices_each_party_hears_of_the_payment_as_the_terms_say(
    life: tuple[Simulation, list[tuple[datetime, Command]]],
) -> None:
    """Issue 12 §1 over random lives: every decline is told to both (the client's copy with what to
    do), the receipt to the client only, a recovery to the therapist only after a failure or
    action notice, every action request with the therapist's pending notice, reminders to the
    client only and numbered 1, 2, …; nothing to ``both``."""
    simulation, timed = life
    simulation.session.terms_notices = True
    simulation, trace = run((simulation, timed))
    told = [(n.type, n.audience) for n in trace.told]
    T, A = NotificationType, Audience
    declines = sum(1 for a in simulation.session.payment.attempts if a.outcome is ChargeOutcome.DECLINED)
    assert told.count((T.CHARGE_FAILED, A.CLIENT)) == told.count((T.CHARGE_FAILED, A.THERAPIST)) == declines
    assert all(
        "action" in n.fields["codes"]
        for n in trace.told
        if (n.type, n.audience) == (T.CHARGE_FAILED, A.CLIENT)
    )
    assert told.count((T.ACTION_REQUIRED, A.CLIENT)) == told.count((T.PAYMENT_PENDING, A.THERAPIST))
    assert {audience for type_, audience in told if type_ is T.CHARGE_SUCCEEDED} <= {A.CLIENT}
    for index, (type_, audience) in enumerate(told):
        if type_ is T.PAYMENT_RECOVERED:
            assert audience is A.THERAPIST
            assert {T.CHARGE_FAILED, T.ACTION_REQUIRED} & {earlier for earlier, _ in told[:index]}
    reminders = [n for n in trace.told if n.type is T.PAYMENT_REMINDER]
    assert [n.fields["reminder_number"] for n in reminders] == list(range(1, len(reminders) + 1))
    assert all(n.audience is A.CLIENT for n in reminders)
    assert A.BOTH not in {audience for _, audience in told}


@PROPERTY_SETTINGS
@given(lives())
def test_a_granted_refund_is_paid_back_and_never_beyond_what_was_captured(
    life: tuple[Simulation, list[tuple[datetime, Command]]],
) -> None:
    simulation, trace = run(life)
    session, stripe = simulation.session, simulation.stripe
    assert stripe.refunded <= stripe.captured
    if machine.is_finished(session) and stripe.captures and not trace.refunded_elsewhere:
        # Everything granted went back (all of it at most), as the rules' own refunds did.
        assert stripe.refunded >= min(stripe.captured, trace.granted_minor)


@PROPERTY_SETTINGS
@given(lives())
def test_a_no_show_stays_a_no_show(life: tuple[Simulation, list[tuple[datetime, Command]]]) -> None:
    simulation, trace = run(life)
    session = simulation.session
    if session.no_show is not None or (
        session.attendance is not None
        and session.attendance.update.outcome is AttendanceOutcome.CLIENT_NO_SHOW
    ):
        assert session.status is SessionStatus.CLIENT_NO_SHOW
        assert SessionStatus.COMPLETED not in trace.statuses
