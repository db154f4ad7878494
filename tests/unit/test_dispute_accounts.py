"""Issue 14 review, finding 5: a dispute is a session's only when it is on the session's account and
of a PaymentIntent the session knows; a session keeps one record per dispute (its own charge and an
extra payment can both be disputed); a dispute of an extra payment holds that payment's refund.
(Started from the review's proof, tests/unit/test_review14_dispute_account.py, turned round.)"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain import session as machine
from domain.booking import SessionBooking
from domain.disputes import DisputeFact, DisputeStatus, apply_dispute_fact
from domain.payments import ChargeOutcome, ChargeResult
from domain.refunds import ClosedSessionRefunds
from domain.session import Session
from domain.session_disputes import apply_closed_dispute, apply_dispute
from domain.state import ExtraPayment, SessionWorkflowInput
from domain.status import BookingKind, SessionStatus

H = timedelta(hours=1)
START = datetime(2027, 6, 15, 17, 0, tzinfo=UTC)
BOOKED = START - 10 * 24 * H


def fact(
    n: int,
    dispute: str,
    pi: str,
    account: str | None,
    status: DisputeStatus = DisputeStatus.NEEDS_RESPONSE,
) -> DisputeFact:
    kind = "closed" if status in (DisputeStatus.WON, DisputeStatus.LOST) else "created"
    return DisputeFact(
        event_id=f"evt_{n}",
        type=f"charge.dispute.{kind}",
        dispute_id=dispute,
        payment_intent_id=pi,
        charge_id="ch_x",
        status=status,
        amount_minor=6000,
        currency="gbp",
        reason="fraudulent",
        created=START - (50 - n) * H,
        account=account,
    )


def paid_on(account: str | None) -> Session:
    booking = SessionBooking(
        session_id="ses_x",
        therapist_id="thr_a",
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
    session = machine.open_session(SessionWorkflowInput(booking=booking, booked_at=BOOKED), BOOKED)
    pending = machine.begin_charge(session, START - 48 * H)
    machine.finish_charge(
        session, pending, ChargeResult(outcome=ChargeOutcome.SUCCEEDED, payment_intent_id="pi_real")
    )
    return session


def test_a_dispute_from_another_account_never_reaches_the_session() -> None:
    session = paid_on("acct_a")
    # A PaymentIntent on another therapist's account, metadata session_id=ses_x, disputed.
    fake = apply_dispute(session, fact(1, "dp_fake", "pi_evil", "acct_b"))
    assert not fake.change.applied and not fake.notices and fake.foreign
    # Even naming the session's own PaymentIntent id, another account's event is not the session's.
    spoof = apply_dispute(session, fact(2, "dp_spoof", "pi_real", "acct_b"))
    assert not spoof.change.applied and spoof.foreign
    # The real dispute of the session's own charge is recorded and its therapist told.
    real = apply_dispute(session, fact(3, "dp_real", "pi_real", "acct_a"))
    assert real.change.applied and real.notices
    assert session.dispute is not None and session.dispute.dispute_id == "dp_real"
    assert [record.dispute_id for record in session.disputes] == ["dp_real"]


def test_a_dispute_of_a_payment_intent_the_session_does_not_know_never_reaches_it() -> None:
    session = paid_on(None)
    outcome = apply_dispute(session, fact(1, "dp_other", "pi_unknown", None))
    assert not outcome.change.applied and outcome.foreign and session.dispute is None
    # A platform session never takes a connected account's dispute, nor the reverse.
    assert apply_dispute(session, fact(2, "dp_acct", "pi_real", "acct_a")).foreign
    assert apply_dispute(paid_on("acct_a"), fact(3, "dp_plat", "pi_real", None)).foreign


def test_a_closed_sessions_refunds_take_only_the_sessions_own_disputes() -> None:
    session = paid_on("acct_a")
    refunds = ClosedSessionRefunds.of_closed_session(session.snapshot(), START + 2 * H)
    change, notices = apply_closed_dispute(refunds, fact(1, "dp_fake", "pi_evil", "acct_b"), START)
    assert not change.applied and not notices and refunds.dispute is None
    change, notices = apply_closed_dispute(refunds, fact(2, "dp_real", "pi_real", "acct_a"), START)
    assert change.applied and notices and [r.dispute_id for r in refunds.disputes] == ["dp_real"]


def with_extra_payment(session: Session) -> Session:
    session.payment.extra_payments.append(ExtraPayment(payment_intent_id="pi_extra"))
    return session


def test_each_dispute_of_a_session_is_recorded_by_its_own_id() -> None:
    session = with_extra_payment(paid_on("acct_a"))
    # The client charged twice disputes the extra payment first: the main one is not masked.
    extra = apply_dispute(session, fact(1, "dp_extra", "pi_extra", "acct_a"))
    main = apply_dispute(session, fact(2, "dp_main", "pi_real", "acct_a"))
    assert extra.change.opened and main.change.opened and main.notices
    assert sorted(record.dispute_id for record in session.disputes) == ["dp_extra", "dp_main"]
    # News of the first still moves its own record.
    later = apply_dispute(session, fact(3, "dp_extra", "pi_extra", "acct_a", DisputeStatus.UNDER_REVIEW))
    assert later.change.applied
    assert {r.dispute_id: r.status for r in session.disputes}["dp_extra"] is DisputeStatus.UNDER_REVIEW


def test_a_dispute_of_an_extra_payment_holds_that_payments_refund_and_the_session_waits() -> None:
    session = with_extra_payment(paid_on("acct_a"))
    assert machine.extra_payment_due(session) is not None
    apply_dispute(session, fact(1, "dp_extra", "pi_extra", "acct_a"))
    assert machine.extra_payment_due(session) is None  # Stripe would refuse it: charge_disputed
    session.status = SessionStatus.COMPLETED
    assert not machine.is_finished(session)  # a win pays it: the session waits for the outcome
    apply_dispute(session, fact(2, "dp_extra", "pi_extra", "acct_a", DisputeStatus.WON))
    due = machine.extra_payment_due(session)
    assert due is not None and due.payment_intent_id == "pi_extra"


def test_after_a_lost_dispute_of_an_extra_payment_the_session_stops_refunding_it_and_closes() -> None:
    session = with_extra_payment(paid_on("acct_a"))
    apply_dispute(session, fact(1, "dp_extra", "pi_extra", "acct_a"))
    apply_dispute(session, fact(2, "dp_extra", "pi_extra", "acct_a", DisputeStatus.LOST))
    assert machine.extra_payment_due(session) is None
    session.status = SessionStatus.COMPLETED
    assert not machine.money_owed(session)
    assert machine.is_finished(session)


def test_an_inquiry_escalated_to_a_chargeback_asks_for_an_answer_again() -> None:
    record, change = apply_dispute_fact(
        None, fact(1, "dp_1", "pi_real", None, DisputeStatus.WARNING_NEEDS_RESPONSE)
    )
    assert change.opened and not change.escalated
    record, change = apply_dispute_fact(
        record, fact(2, "dp_1", "pi_real", None, DisputeStatus.WARNING_UNDER_REVIEW)
    )
    assert not change.escalated
    record, change = apply_dispute_fact(
        record, fact(3, "dp_1", "pi_real", None, DisputeStatus.NEEDS_RESPONSE)
    )
    assert change.applied and change.escalated and not change.opened
    _, change = apply_dispute_fact(record, fact(4, "dp_1", "pi_real", None, DisputeStatus.UNDER_REVIEW))
    assert not change.escalated
