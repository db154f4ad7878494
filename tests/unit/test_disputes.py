"""Disputes answered from the history (``domain.disputes``, ``domain.session_disputes``): the
order rule, no refund against a disputed charge, who is told."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain import session as machine
from domain import session_commands as commands
from domain.commands import CancelRequest
from domain.disputes import (
    DisputeChange,
    DisputeFact,
    DisputeStatus,
    apply_dispute_fact,
    dispute_fact_from_stripe,
    holds_refunds,
)
from domain.errors import RuleViolation
from domain.notifications import Audience, NotificationType
from domain.payments import ChargeOutcome, ChargeResult
from domain.refunds import (
    ClosedSessionRefunds,
    SessionRefund,
    check_closed_refund,
    erasure_blocker,
    grant_closed_refund,
)
from domain.session import Session, Step
from domain.session_disputes import apply_closed_dispute, apply_dispute
from domain.status import Actor, BookingKind, CancelReason, RefundReason, SessionStatus
from tests.unit.session_sim import PRICE, open_session

H = timedelta(hours=1)
START = datetime(2027, 6, 15, 17, 0, tzinfo=UTC)
BOOKED = START - 10 * 24 * H
OPENED_AT = START - 5 * 24 * H
INTENT = "pi_1"


def paid() -> Session:
    session = open_session(BookingKind.THERAPIST_FOLLOW_UP, START, BOOKED)
    pending = machine.begin_charge(session, START - 48 * H)
    machine.finish_charge(
        session, pending, ChargeResult(outcome=ChargeOutcome.SUCCEEDED, payment_intent_id=INTENT)
    )
    return session


def fact(
    status: DisputeStatus, seconds: int = 0, *, event: str | None = None, dispute: str = "dp_1"
) -> DisputeFact:
    kind = {
        DisputeStatus.NEEDS_RESPONSE: "created",
        DisputeStatus.WARNING_NEEDS_RESPONSE: "created",
        DisputeStatus.WON: "closed",
        DisputeStatus.LOST: "closed",
        DisputeStatus.WARNING_CLOSED: "closed",
    }.get(status, "updated")
    return DisputeFact(
        event_id=event or f"evt_{dispute}_{status.value}_{seconds}",
        type=f"charge.dispute.{kind}",
        dispute_id=dispute,
        payment_intent_id=INTENT,
        charge_id="ch_1",
        status=status,
        amount_minor=PRICE,
        currency="gbp",
        reason="product_not_received",
        created=OPENED_AT + timedelta(seconds=seconds),
    )


def cancel_by_therapist(session: Session, at: datetime) -> None:
    request = CancelRequest(requested_by=Actor.THERAPIST, reason=CancelReason.OTHER)
    commands.cancel(session, request, at, at)


# ----------------------------------------------------------------------------- the order rule

LIFECYCLES = {
    "won": [DisputeStatus.NEEDS_RESPONSE, DisputeStatus.UNDER_REVIEW, DisputeStatus.WON],
    "lost": [DisputeStatus.NEEDS_RESPONSE, DisputeStatus.UNDER_REVIEW, DisputeStatus.LOST],
    "inquiry": [
        DisputeStatus.WARNING_NEEDS_RESPONSE,
        DisputeStatus.WARNING_UNDER_REVIEW,
        DisputeStatus.WARNING_CLOSED,
    ],
    "escalated": [DisputeStatus.WARNING_NEEDS_RESPONSE, DisputeStatus.NEEDS_RESPONSE, DisputeStatus.LOST],
}


@pytest.mark.parametrize("lifecycle", sorted(LIFECYCLES))
def test_facts_delivered_in_any_order_or_twice_end_in_the_disputes_final_status(lifecycle: str) -> None:
    facts = [fact(status, seconds) for seconds, status in enumerate(LIFECYCLES[lifecycle])]
    final = facts[-1].status
    for order in itertools.permutations(facts + facts[:1]):
        record = None
        for one in order:
            record, _ = apply_dispute_fact(record, one)
        assert record is not None and record.status is final


def test_a_closed_dispute_never_reopens_on_a_late_created() -> None:
    record, _ = apply_dispute_fact(None, fact(DisputeStatus.WON, 10))
    record, change = apply_dispute_fact(record, fact(DisputeStatus.NEEDS_RESPONSE, 0))
    assert not change.applied
    assert record is not None and record.status is DisputeStatus.WON


def test_a_dispute_first_heard_of_closed_opens_and_closes_at_once() -> None:
    _, change = apply_dispute_fact(None, fact(DisputeStatus.LOST, 10))
    assert change.applied and change.opened and change.closed


def test_a_newer_copy_of_the_same_stage_wins_and_an_older_one_changes_nothing() -> None:
    record, _ = apply_dispute_fact(None, fact(DisputeStatus.NEEDS_RESPONSE, 5))
    older = fact(DisputeStatus.NEEDS_RESPONSE, 1).model_copy(update={"amount_minor": 1})
    record, change = apply_dispute_fact(record, older)
    assert not change.applied and record is not None and record.amount_minor == PRICE
    newer = fact(DisputeStatus.NEEDS_RESPONSE, 9).model_copy(update={"amount_minor": 4000})
    record, change = apply_dispute_fact(record, newer)
    assert change.applied and record is not None and record.amount_minor == 4000


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(list(DisputeStatus)), st.integers(min_value=0, max_value=50)),
        min_size=1,
        max_size=8,
    )
)
def test_a_dispute_only_moves_forward_and_never_leaves_a_closed_status(
    deliveries: list[tuple[DisputeStatus, int]],
) -> None:
    record = None
    for status, seconds in deliveries:
        before = record
        record, _ = apply_dispute_fact(record, fact(status, seconds))
        if before is not None and not before.open:
            assert record is not None and not record.open


# ----------------------------------------------------------------------------- money held


def test_a_dispute_opened_holds_the_refund_a_later_cancellation_owes() -> None:
    session = paid()
    outcome = apply_dispute(session, fact(DisputeStatus.NEEDS_RESPONSE))
    assert outcome.wakes
    cancel_by_therapist(session, START - 24 * H)
    assert machine.refund_due(session) == 0
    assert session.dispute is not None and session.dispute.refund_held_minor == PRICE
    assert machine.next_step(session) is None  # waits for the dispute's outcome
    assert not machine.is_finished(session)


def test_a_dispute_won_pays_what_the_rules_owe() -> None:
    session = paid()
    apply_dispute(session, fact(DisputeStatus.NEEDS_RESPONSE))
    cancel_by_therapist(session, START - 24 * H)
    apply_dispute(session, fact(DisputeStatus.WON, 30))
    assert machine.refund_due(session) == PRICE
    assert machine.next_step(session) == machine.NextStep(Step.REFUND, None)


def test_a_dispute_lost_never_refunds_and_lets_the_session_close() -> None:
    session = paid()
    apply_dispute(session, fact(DisputeStatus.NEEDS_RESPONSE))
    cancel_by_therapist(session, START - 24 * H)
    apply_dispute(session, fact(DisputeStatus.LOST, 30))
    assert machine.refund_due(session) == 0
    assert session.status is SessionStatus.CANCELLED_BY_THERAPIST
    assert machine.is_finished(session)


def test_the_refund_command_is_refused_charge_disputed_while_open_or_lost() -> None:
    session = paid()
    request = SessionRefund(reason=RefundReason.GOODWILL, amount_minor=1000)
    apply_dispute(session, fact(DisputeStatus.NEEDS_RESPONSE))
    with pytest.raises(RuleViolation) as refused:
        commands.check_session_refund(session, request)
    assert refused.value.code == "charge_disputed"
    apply_dispute(session, fact(DisputeStatus.LOST, 30))
    with pytest.raises(RuleViolation):
        commands.check_session_refund(session, request)


def test_a_dispute_won_allows_a_therapists_refund_again() -> None:
    session = paid()
    apply_dispute(session, fact(DisputeStatus.NEEDS_RESPONSE))
    apply_dispute(session, fact(DisputeStatus.WON, 30))
    request = SessionRefund(reason=RefundReason.GOODWILL, amount_minor=1000)
    assert commands.check_session_refund(session, request) == 1000


def test_a_dispute_on_another_payment_of_the_session_holds_nothing_here() -> None:
    session = paid()
    other = fact(DisputeStatus.NEEDS_RESPONSE).model_copy(update={"payment_intent_id": "pi_other"})
    apply_dispute(session, other)
    assert not holds_refunds(session.dispute, session.payment.payment_intent_id)


# ----------------------------------------------------------------------------- who is told


def test_the_therapist_is_told_when_it_opens_and_when_it_closes_once_each() -> None:
    session = paid()
    opened = apply_dispute(session, fact(DisputeStatus.NEEDS_RESPONSE))
    again = apply_dispute(session, fact(DisputeStatus.NEEDS_RESPONSE))  # the same event twice
    review = apply_dispute(session, fact(DisputeStatus.UNDER_REVIEW, 5))
    closed = apply_dispute(session, fact(DisputeStatus.LOST, 9))
    assert [n.type for n in opened.notices] == [NotificationType.DISPUTE_OPENED]
    assert again.notices == [] and not again.wakes
    assert review.notices == []
    [notice] = closed.notices
    assert notice.type is NotificationType.DISPUTE_CLOSED and notice.audience is Audience.THERAPIST
    notification = notice.to_notification(session, START)
    assert notification.codes == {"reason": "product_not_received", "outcome": "lost"}
    assert notification.amount_minor == PRICE
    assert notification.event_id == "ses_sim:dispute_closed:dp_1"


def test_a_session_holding_a_refund_for_an_open_dispute_is_not_finished_even_before_money_is_read() -> None:
    session = paid()
    apply_dispute(session, fact(DisputeStatus.NEEDS_RESPONSE))
    cancel_by_therapist(session, START - 24 * H)
    assert session.dispute is not None
    session.dispute.refund_held_minor = 0  # as if nothing had asked what is owed yet
    assert not machine.is_finished(session)
    assert session.dispute.refund_held_minor == PRICE


def test_a_refund_stripe_refused_before_the_session_knew_of_the_dispute_is_replanned_on_the_news() -> None:
    session = paid()
    cancel_by_therapist(session, START - 24 * H)
    machine.begin_refund(session)
    machine.block(session, "refund: InvalidRequestError", START - 23 * H)  # Stripe: charge_disputed
    apply_dispute(session, fact(DisputeStatus.NEEDS_RESPONSE))
    assert session.blocked_until is None
    assert machine.next_step(session) is None  # held now: nothing to retry until the outcome
    apply_dispute(session, fact(DisputeStatus.WON, 30))
    assert machine.next_step(session) == machine.NextStep(Step.REFUND, None)


# ----------------------------------------------------------------------------- Stripe's objects

EVENT = {"id": "evt_1", "type": "charge.dispute.closed", "created": 1_800_000_000, "account": "acct_1"}
DISPUTE = {
    "id": "dp_1",
    "object": "dispute",
    "charge": "ch_1",
    "payment_intent": "pi_1",
    "status": "lost",
    "amount": 6000,
    "currency": "gbp",
    "reason": "fraudulent",
}


def test_a_fact_is_read_from_stripes_dispute_with_the_events_time_and_account() -> None:
    fact = dispute_fact_from_stripe(EVENT, DISPUTE)
    assert fact is not None
    assert (fact.dispute_id, fact.status, fact.account) == ("dp_1", DisputeStatus.LOST, "acct_1")
    assert fact.created == datetime.fromtimestamp(1_800_000_000, tz=UTC)


def test_a_dispute_of_no_payment_intent_is_none_and_a_malformed_one_is_refused() -> None:
    assert dispute_fact_from_stripe(EVENT, {**DISPUTE, "payment_intent": None}) is None
    assert dispute_fact_from_stripe({**EVENT, "type": "charge.refunded"}, DISPUTE) is None
    with pytest.raises(ValueError):
        dispute_fact_from_stripe(EVENT, {**DISPUTE, "status": "pending_review"})
    with pytest.raises(ValueError):
        dispute_fact_from_stripe({**EVENT, "created": None}, DISPUTE)


# ----------------------------------------------------------------------------- a closed session


def closed_refunds() -> ClosedSessionRefunds:
    session = paid()
    commands.cancel(
        session, CancelRequest(requested_by=Actor.CLIENT, reason=CancelReason.OTHER), START - H, START - H
    )
    return ClosedSessionRefunds.of_closed_session(session.snapshot(), START)


def test_a_closed_sessions_refund_is_refused_while_its_dispute_is_open_and_paid_once_won() -> None:
    refunds = closed_refunds()
    request = SessionRefund(reason=RefundReason.GOODWILL, amount_minor=2000)
    grant_closed_refund(refunds, request, START + H, "before-the-dispute")
    change, notices = apply_closed_dispute(refunds, fact(DisputeStatus.NEEDS_RESPONSE), START + 2 * H)
    assert change.opened and [n.type for n in notices] == [NotificationType.DISPUTE_OPENED]
    assert notices[0].audience is Audience.THERAPIST and notices[0].event_id == "ses_sim:dispute_opened:dp_1"
    assert refunds.refund_due() == 0  # the grant made before is held
    assert refunds.dispute is not None and refunds.dispute.refund_held_minor == 2000
    with pytest.raises(RuleViolation) as refused:
        check_closed_refund(refunds, request, START + 3 * H)
    assert refused.value.code == "charge_disputed"

    late_created = apply_closed_dispute(refunds, fact(DisputeStatus.NEEDS_RESPONSE), START + 4 * H)
    assert late_created == (DisputeChange(applied=False), [])
    _, closed = apply_closed_dispute(refunds, fact(DisputeStatus.WON, 30), START + 5 * H)
    assert [n.codes for n in closed] == [{"reason": "product_not_received", "outcome": "won"}]
    assert refunds.refund_due() == 2000


def test_a_closed_session_keeps_the_dispute_it_closed_with() -> None:
    session = paid()
    apply_dispute(session, fact(DisputeStatus.NEEDS_RESPONSE))
    apply_dispute(session, fact(DisputeStatus.LOST, 9))
    refunds = ClosedSessionRefunds.of_closed_session(session.snapshot(), START)
    assert refunds.dispute is not None and refunds.dispute.status is DisputeStatus.LOST
    with pytest.raises(RuleViolation):
        check_closed_refund(refunds, SessionRefund(reason=RefundReason.GOODWILL), START + H)


def test_an_erasure_waits_while_a_closed_sessions_dispute_is_open_or_a_refund_is_owed() -> None:
    refunds = closed_refunds()
    assert erasure_blocker(refunds) is None  # nothing owed, nothing disputed: may be closed
    grant_closed_refund(refunds, SessionRefund(reason=RefundReason.GOODWILL, amount_minor=2000), START + H)
    assert erasure_blocker(refunds) == "refund_owed"  # granted, not back with the client yet
    apply_closed_dispute(refunds, fact(DisputeStatus.NEEDS_RESPONSE), START + 2 * H)
    assert erasure_blocker(refunds) == "dispute_open"
    apply_closed_dispute(refunds, fact(DisputeStatus.LOST, 30), START + 3 * H)
    assert erasure_blocker(refunds) is None  # the bank decided: the held refund is never paid
