"""The fault suite's judge on hand-made evidence: it must catch what it exists to catch.

A checker that never fails proves nothing, so each rule is shown failing here: a second charge, a
refund that was owed and not made, a cancellation whose recorded receipt time turns a free
cancellation late, a notification that never arrived or came back different, a session left
running. No stack is started; these take milliseconds.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from domain.notifications import Audience, Notification, NotificationType
from domain.state import CancellationRecord, PaymentLedger, SessionState
from domain.status import Actor, BookingKind, CancelReason, PaymentStatus, SessionStatus
from faults.checks import Judgement, StripeEvidence, WorkflowEvidence, judge_notifications, judge_sessions
from faults.driver import LifecycleRecord
from faults.scripts import AMOUNT_MINOR, LifecyclePath, Script, compressed_policy

POLICY = compressed_policy(1.0)
HOUR = timedelta(seconds=1)  # one policy hour of the compressed policy
BOOKED = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
START = BOOKED + 60 * HOUR


def script(path: LifecyclePath, **fields: Any) -> Script:
    values: dict[str, Any] = {
        "index": 0,
        "path": path,
        "session_id": "ses_a",
        "therapist_id": "thr_a",
        "client_id": "cli_a",
        "customer_id": "cus_a",
        "kind": BookingKind.THERAPIST_FOLLOW_UP,
        "card": "visa",
        "lead_hours": 60,
        "launch_delay_seconds": 0,
    }
    values.update(fields)
    return Script(**values)


def state(
    status: SessionStatus, *, paid: int = 0, refunded: int = 0, cancelled_at: datetime | None = None
) -> SessionState:
    cancellation = None
    if cancelled_at is not None:
        cancellation = CancellationRecord(
            requested_by=Actor.CLIENT,
            recorded_by=Actor.CLIENT,
            reason=CancelReason.CLIENT_REQUEST,
            at=cancelled_at,
            discretionary_refund=False,
        )
    return SessionState(
        session_id="ses_a",
        therapist_id="thr_a",
        client_id="cli_a",
        kind=BookingKind.THERAPIST_FOLLOW_UP,
        status=status,
        start=START,
        end=START + timedelta(minutes=1),
        therapist_timezone="Europe/London",
        payment=PaymentLedger(
            status=PaymentStatus.PAID if paid else PaymentStatus.NOT_DUE,
            amount_minor=AMOUNT_MINOR,
            currency="gbp",
            amount_paid_minor=paid,
            amount_refunded_minor=refunded,
        ),
        cancellation=cancellation,
    )


def stripe(*, charges: int = 0, refunded: int = 0, intent_status: str = "succeeded") -> StripeEvidence:
    intents = (
        [{"id": "pi_a", "status": intent_status, "metadata": {"session_id": "ses_a"}}] if charges else []
    )
    return StripeEvidence(
        intents_by_session={"ses_a": intents},
        succeeded_charges={"ses_a": [{"id": f"ch_{n}", "status": "succeeded"} for n in range(charges)]},
        refunded_minor={"ses_a": refunded},
        refunds_by_session={"ses_a": 1 if refunded else 0},
        faults_by_kind=Counter(),
        requests=0,
        events=[],
    )


def notified(*types: NotificationType) -> dict[str, list[Notification]]:
    return {
        "ses_a": [
            Notification(
                event_id=f"ses_a:{kind.value}:1",
                type=kind,
                audience=Audience.BOTH,
                session_id="ses_a",
                therapist_id="thr_a",
                client_id="cli_a",
                occurred_at=BOOKED,
            )
            for kind in types
        ]
    }


def judge(
    record: LifecycleRecord, session: SessionState, execution: str, money: StripeEvidence, heard: Any
) -> list[str]:
    judgement = Judgement()
    judge_sessions([record], {"ses_a": session}, {"ses_a": execution}, money, heard, POLICY, judgement)
    return [violation.reason for violation in judgement.violations]


def test_an_attended_session_charged_once_and_announced_passes() -> None:
    record = LifecycleRecord(script(LifecyclePath.ATTENDED), booked_at=BOOKED)
    reasons = judge(
        record,
        state(SessionStatus.COMPLETED, paid=AMOUNT_MINOR),
        "COMPLETED",
        stripe(charges=1),
        notified(NotificationType.CHARGE_SUCCEEDED),
    )
    assert reasons == []


def test_a_second_charge_is_a_violation_and_a_duplicate() -> None:
    record = LifecycleRecord(script(LifecyclePath.ATTENDED), booked_at=BOOKED)
    judgement = Judgement()
    judge_sessions(
        [record],
        {"ses_a": state(SessionStatus.COMPLETED, paid=AMOUNT_MINOR)},
        {"ses_a": "COMPLETED"},
        stripe(charges=2),
        notified(NotificationType.CHARGE_SUCCEEDED),
        POLICY,
        judgement,
    )
    assert [v.reason for v in judgement.violations] == ["2 successful charges at Stripe, expected 1"]
    assert judgement.duplicates["charges"] == 1


def test_an_owed_refund_that_never_came_is_a_violation() -> None:
    record = LifecycleRecord(script(LifecyclePath.NO_SHOW, refund=True), booked_at=BOOKED)
    reasons = judge(
        record,
        state(SessionStatus.COMPLETED, paid=AMOUNT_MINOR),
        "COMPLETED",
        stripe(charges=1),
        notified(NotificationType.CHARGE_SUCCEEDED),
    )
    assert f"refunded 0 at Stripe, owed {AMOUNT_MINOR}" in reasons
    assert f"ledger says refunded 0, owed {AMOUNT_MINOR}" in reasons


def test_a_receipt_time_recorded_past_the_deadline_contradicts_a_free_cancellation() -> None:
    # Sent many hours before start − 48 h, but the session recorded it after the deadline.
    sent = START - 55 * HOUR
    record = LifecycleRecord(script(LifecyclePath.FREE_CANCEL), booked_at=BOOKED, cancel_sent_at=sent)
    reasons = judge(
        record,
        state(SessionStatus.CANCELLED_LATE, paid=AMOUNT_MINOR, cancelled_at=START - 47 * HOUR),
        "COMPLETED",
        stripe(charges=1),
        notified(NotificationType.SESSION_CANCELLED, NotificationType.CHARGE_SUCCEEDED),
    )
    assert any("makes it late" in reason for reason in reasons)


def test_a_session_left_running_with_an_open_intent_is_stuck() -> None:
    record = LifecycleRecord(script(LifecyclePath.SOFT_DECLINE_UNPAID), booked_at=BOOKED)
    reasons = judge(
        record,
        state(SessionStatus.PAYMENT_FAILED),
        "RUNNING",
        StripeEvidence(
            intents_by_session={"ses_a": [{"id": "pi_a", "status": "requires_payment_method"}]},
            succeeded_charges={},
            refunded_minor={},
            refunds_by_session={},
            faults_by_kind=Counter(),
            requests=0,
            events=[],
        ),
        {},
    )
    assert "workflow is RUNNING, expected COMPLETED (status payment_failed)" in reasons
    assert "status payment_failed, the rules demand cancelled_unpaid" in reasons
    assert "closed with a PaymentIntent still collectable (requires_payment_method)" in reasons


def test_notifications_must_all_arrive_and_repeat_identically() -> None:
    [first] = notified(NotificationType.CHARGE_SUCCEEDED)["ses_a"]
    altered = first.model_copy(update={"amount_minor": 1})
    evidence = WorkflowEvidence("session-ses_a", "run", "SessionWorkflow", "COMPLETED")
    evidence.notifications = [first.event_id, "ses_a:refund_issued:1"]
    judgement = Judgement()

    scheduled, unique = judge_notifications([evidence], [first, altered], judgement)

    assert (scheduled, unique) == (2, 1)
    reasons = [violation.reason for violation in judgement.violations]
    assert "notification ses_a:charge_succeeded:1 redelivered with different content" in reasons
    assert "notification ses_a:refund_issued:1 scheduled but never delivered" in reasons


def test_a_payment_made_at_the_wire_then_auto_cancelled_and_refunded_is_caught() -> None:
    # What the suite sees without the auto-cancel's read: paid on-session at start − 2.5 h, the
    # webhook held past start − 1 h, the session cancelled unpaid and the payment given back.
    record = LifecycleRecord(
        script(LifecyclePath.PAID_AT_THE_WIRE, card="authentication_required", pay_hours_before=2.5),
        booked_at=BOOKED,
    )
    reasons = judge(
        record,
        state(SessionStatus.CANCELLED_UNPAID, paid=AMOUNT_MINOR, refunded=AMOUNT_MINOR),
        "COMPLETED",
        stripe(charges=1, refunded=AMOUNT_MINOR),
        notified(
            NotificationType.ACTION_REQUIRED,
            NotificationType.AUTO_CANCELLED,
            NotificationType.CHARGE_SUCCEEDED,
            NotificationType.REFUND_ISSUED,
        ),
    )
    assert "status cancelled_unpaid, the rules demand completed" in reasons
    assert f"refunded {AMOUNT_MINOR} at Stripe, owed 0" in reasons
    assert "told it was cancelled (auto_cancelled), the rules demand completed" in reasons


def test_a_payment_made_at_the_wire_found_by_the_auto_cancel_passes() -> None:
    record = LifecycleRecord(
        script(LifecyclePath.PAID_AT_THE_WIRE, card="authentication_required", pay_hours_before=2.5),
        booked_at=BOOKED,
    )
    reasons = judge(
        record,
        state(SessionStatus.COMPLETED, paid=AMOUNT_MINOR),
        "COMPLETED",
        stripe(charges=1),
        notified(NotificationType.ACTION_REQUIRED, NotificationType.CHARGE_SUCCEEDED),
    )
    assert reasons == []
