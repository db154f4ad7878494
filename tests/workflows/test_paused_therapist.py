"""A paused therapist (issue 14 §2) on a real server against the stand-in: a charge on a connected
account whose charges Stripe disabled is held, never attempted nor declined to the client; it runs
once the account can charge again; still held at the auto-cancel it is the therapist's
cancellation; a paused practice takes no booking."""

from __future__ import annotations

from datetime import timedelta
from typing import cast

import pytest
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from contract.practice import PRACTICE_RECORD_ACCOUNT_STATUS, PRACTICE_SET_PAYMENT_ACCOUNT
from dev.notification_sink import NotificationSink
from dev.stripe_standin import StripeStandIn
from domain.booking import SessionBooking
from domain.errors import RuleViolation
from domain.notifications import Audience, NotificationType
from domain.payments import AccountChargesFact, ChargeOutcome
from domain.practice import RecordAccountStatus, SetPaymentAccount
from domain.status import Actor, PaymentStatus, SessionStatus
from temporal_client.practice_client import practice_handle, practice_update
from tests.workflows.support import (
    HOUR,
    STARTED,
    WAIT,
    SessionHandle,
    advance_to,
    history_at_rest,
    make_booking,
    notices_sent,
    real_now,
    result_of,
    start,
    state_of,
    succeeded_charges,
    unique,
    wait_for_state,
)
from workflows.session import SessionWorkflow

SECOND = timedelta(seconds=1)


async def _practice_with_account(env: WorkflowEnvironment, task_queue: str, account_id: str) -> str:
    therapist_id = unique("thr")
    await practice_update(
        env.client,
        therapist_id,
        "Europe/London",
        PRACTICE_SET_PAYMENT_ACCOUNT,
        SetPaymentAccount(account_id=account_id),
        request_id=unique("set"),
        task_queue=task_queue,
    )
    return therapist_id


async def _held_at_the_charge(
    env: WorkflowEnvironment, worker: Worker, standin: StripeStandIn
) -> tuple[str, SessionBooking, SessionHandle]:
    """A therapist follow-up on a connected account Stripe disabled after it was booked, held at
    its charge time (start − 48 h)."""
    account_id = standin.create_account()["id"]
    therapist_id = await _practice_with_account(env, worker.task_queue, account_id)
    booking = make_booking(start=real_now() + 72 * HOUR, therapist_id=therapist_id)
    handle = await start(env.client, booking, worker.task_queue)
    standin.set_account_status(account_id, charges_enabled=False, disabled_reason="requirements.past_due")
    await advance_to(env, handle, booking.start - 48 * HOUR + SECOND)
    held = await wait_for_state(handle, lambda s: s.status is SessionStatus.PAYMENT_ON_HOLD, "the hold")
    assert held.payment.status is PaymentStatus.ON_HOLD
    assert held.payment.attempts == []  # nothing attempted, nothing declined
    assert held.payment.held_reason == "requirements.past_due"
    assert held.payment.next_charge_at == booking.start - 24 * HOUR
    assert succeeded_charges(standin, booking.session_id) == []
    return account_id, booking, handle


async def test_a_charge_held_while_the_therapist_is_paused_runs_once_charges_are_enabled_again(
    env: WorkflowEnvironment, worker: Worker, standin: StripeStandIn
) -> None:
    account_id, booking, handle = await _held_at_the_charge(env, worker, standin)
    await history_at_rest(handle)
    sent = await notices_sent(handle)
    assert f"{booking.session_id}:payment_on_hold:client" in sent
    assert f"{booking.session_id}:payment_on_hold:therapist" in sent

    standin.set_account_status(account_id, charges_enabled=True, disabled_reason=None)
    await handle.signal(
        SessionWorkflow.payment_account_event, AccountChargesFact(account_id=account_id, charges_enabled=True)
    )
    paid = await wait_for_state(handle, lambda s: s.status is SessionStatus.PAID, "the resumed charge")

    assert [attempt.outcome for attempt in paid.payment.attempts] == [ChargeOutcome.SUCCEEDED]
    assert len(succeeded_charges(standin, booking.session_id)) == 1
    assert paid.payment.held_since is not None  # the record of the hold stays
    await history_at_rest(handle)
    sent = await notices_sent(handle)
    assert not any(":charge_failed:" in event_id for event_id in sent)  # never declined to the client
    assert f"{booking.session_id}:payment_recovered:1" in sent


async def test_a_session_still_held_at_its_auto_cancel_is_the_therapists_cancellation(
    env: WorkflowEnvironment, worker: Worker, standin: StripeStandIn
) -> None:
    await _still_held_at_the_auto_cancel(env, worker, standin)


async def test_a_session_still_held_after_a_last_look_at_its_account_is_the_therapists_cancellation(
    env: WorkflowEnvironment, worker: Worker, standin: StripeStandIn
) -> None:
    account_id = await _still_held_at_the_auto_cancel(env, worker, standin)
    # The account was read once more at the auto-cancel instant (review 14): 4 reads in all.
    reads = [r for r in standin.requests if r.method == "GET" and r.path == f"/v1/accounts/{account_id}"]
    assert len(reads) == 4


async def _still_held_at_the_auto_cancel(
    env: WorkflowEnvironment, worker: Worker, standin: StripeStandIn
) -> str:
    account_id, booking, handle = await _held_at_the_charge(env, worker, standin)
    await advance_to(env, handle, booking.start - 24 * HOUR + SECOND)
    await wait_for_state(
        handle, lambda s: s.payment.next_charge_at == booking.start - 12 * HOUR, "the check at −24 h"
    )
    await advance_to(env, handle, booking.start - 12 * HOUR + SECOND)
    await wait_for_state(handle, lambda s: s.payment.next_charge_at is None, "the check at −12 h")
    await advance_to(env, handle, booking.start - 1 * HOUR + SECOND)
    final = await result_of(handle)

    assert final.status is SessionStatus.CANCELLED_BY_THERAPIST
    assert final.cancellation is not None and final.cancellation.requested_by is Actor.THERAPIST
    assert final.payment.status is PaymentStatus.NOT_COLLECTED
    assert final.payment.attempts == []
    assert succeeded_charges(standin, booking.session_id) == []
    sent = await notices_sent(handle)
    assert f"{booking.session_id}:session_cancelled:held" in sent
    assert f"{booking.session_id}:session_cancelled:held-therapist" in sent
    assert not any(":auto_cancelled:" in event_id or ":charge_failed:" in event_id for event_id in sent)
    return account_id


async def test_a_paused_practice_refuses_a_new_booking_and_tells_the_therapist_once(
    env: WorkflowEnvironment, worker: Worker, standin: StripeStandIn, notification_sink: NotificationSink
) -> None:
    account_id = standin.create_account()["id"]
    therapist_id = await _practice_with_account(env, worker.task_queue, account_id)
    await practice_update(
        env.client,
        therapist_id,
        "Europe/London",
        PRACTICE_RECORD_ACCOUNT_STATUS,
        RecordAccountStatus(
            account_id=account_id,
            charges_enabled=False,
            disabled_reason="requirements.past_due",
            observed_at=real_now(),
        ),
        request_id=unique("status"),
        task_queue=worker.task_queue,
    )
    booking = make_booking(start=real_now() + 72 * HOUR, therapist_id=therapist_id)

    with pytest.raises(RuleViolation) as refused:
        await start(env.client, booking, worker.task_queue)

    assert refused.value.code == "therapist_paused"
    [told] = await notification_sink.wait_for_async(
        lambda n: n.therapist_id == therapist_id and n.type is NotificationType.PAYMENTS_PAUSED, WAIT
    )
    assert told.audience is Audience.THERAPIST and told.codes == {"disabled_reason": "requirements.past_due"}
    assert told.session_id is None and told.client_id is None  # about the practice, no session
    # Its history (account set, paused, a booking refused before history) is recorded for replay.
    STARTED.append(cast(SessionHandle, practice_handle(env.client, therapist_id)))


async def test_a_booking_carries_the_practices_connected_account(
    env: WorkflowEnvironment, worker: Worker, standin: StripeStandIn
) -> None:
    account_id = standin.create_account()["id"]
    therapist_id = await _practice_with_account(env, worker.task_queue, account_id)
    booking = make_booking(start=real_now() + 72 * HOUR, therapist_id=therapist_id)
    handle = await start(env.client, booking, worker.task_queue)
    stored = await handle.query(SessionWorkflow.booking)
    assert stored.connected_account_id == account_id
    assert (await state_of(handle)).status is SessionStatus.SCHEDULED


async def test_a_held_session_whose_account_can_charge_again_is_charged_at_its_last_look_not_cancelled(
    env: WorkflowEnvironment, worker: Worker, standin: StripeStandIn
) -> None:
    account_id, booking, handle = await _held_at_the_charge(env, worker, standin)
    await advance_to(env, handle, booking.start - 24 * HOUR + SECOND)
    await wait_for_state(
        handle, lambda s: s.payment.next_charge_at == booking.start - 12 * HOUR, "the check at −24 h"
    )
    await advance_to(env, handle, booking.start - 12 * HOUR + SECOND)
    await wait_for_state(handle, lambda s: s.payment.next_charge_at is None, "the check at −12 h")
    # Stripe enables the account again, but the resume never reaches the session (no signal).
    standin.set_account_status(account_id, charges_enabled=True, disabled_reason=None)
    await advance_to(env, handle, booking.start - 1 * HOUR + SECOND)
    paid = await wait_for_state(handle, lambda s: s.status is SessionStatus.PAID, "the last look's charge")

    assert paid.cancellation is None
    assert [attempt.outcome for attempt in paid.payment.attempts] == [ChargeOutcome.SUCCEEDED]
    assert len(succeeded_charges(standin, booking.session_id)) == 1
    await history_at_rest(handle)
    sent = await notices_sent(handle)
    assert not any(":session_cancelled:" in event_id or ":auto_cancelled:" in event_id for event_id in sent)
