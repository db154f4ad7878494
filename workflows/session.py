"""SessionWorkflow: one booked session, from booking to the attendance update.

Reads like the policy: wait for the charge time, charge the saved card, retry or wait for the
client on a decline, settle refunds and voids after a cancellation, and mark the session
``awaiting_update`` once it has ended. Commands arrive as updates with validators (rejections never
enter history); Stripe webhook facts arrive as signals deduplicated by event id.

Updates only decide (they are synchronous and never wait on Stripe); the main loop does the
money work the decisions leave owed — charge, refund, void — so a Stripe outage never blocks a
cancellation, and facts arriving in any order converge on the same end state.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from enum import Enum
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDReusePolicy
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from activities.notifications import NotificationActivities
    from activities.payments import PaymentActivities
    from activities.practice import PracticeActivities
    from contract.ids import session_workflow_id
    from contract.search_attributes import CLIENT_ID, SESSION_START, SESSION_STATUS, THERAPIST_ID
    from contract.session import SESSION_WORKFLOW_TYPE
    from domain.attendance import (
        AttendanceRecord,
        AttendanceResult,
        AttendanceUpdate,
        ContinueChoice,
        check_attendance_update,
    )
    from domain.booking import SessionBooking
    from domain.commands import (
        CancelRequest,
        CancelResult,
        PaymentMethodUpdate,
        PaymentMethodUpdateResult,
        RescheduleRequest,
        RescheduleResult,
    )
    from domain.errors import RuleViolation
    from domain.ids import follow_up_session_id
    from domain.ledger import (
        apply_refunded_amount,
        apply_succeeded_intent,
        awaits_money,
        mark_paid,
        may_hold_open_intent,
        record_charge,
    )
    from domain.notifications import Audience, Notification, NotificationType, notification_event_id
    from domain.payments import (
        ChargeOutcome,
        ChargeRequest,
        ChargeResult,
        PaymentEvent,
        RefundRequest,
        VoidRequest,
    )
    from domain.policy import (
        auto_cancel_at,
        cancellation_status,
        charge_due_after_move,
        charge_still_owed,
        check_can_change,
        first_charge_at,
        is_late_client_move,
        refund_owed,
    )
    from domain.practice import (
        BookingTimeQuery,
        CancelFutureSessionsCall,
        CheckBookingTimeCall,
        EndRelationship,
        EndRelationshipCall,
        ReleaseSlots,
        ReleaseSlotsCall,
        ReserveSlot,
        ReserveSlotCall,
    )
    from domain.slots import SLOT_MAX_MINUTES, SLOT_MIN_MINUTES, WeeklySlotRule, same_time_next_week
    from domain.state import (
        CancellationRecord,
        PaymentLedger,
        RefundRecord,
        RescheduleRecord,
        SessionState,
        SessionWorkflowInput,
    )
    from domain.status import Actor, BookingKind, PaymentStatus, SessionStatus
    from workflows.activity_options import (
        NOTIFICATION_RETRY_POLICY,
        NOTIFICATION_SCHEDULE_TO_CLOSE,
        NOTIFICATION_START_TO_CLOSE,
        PRACTICE_RETRY_POLICY,
        PRACTICE_START_TO_CLOSE,
        STRIPE_RETRY_POLICY,
        STRIPE_SCHEDULE_TO_CLOSE,
        STRIPE_START_TO_CLOSE,
    )

# A request's receipt time, stamped by our API, is trusted only this far behind the workflow's
# clock (the workflow task may run after the timer that makes it late); otherwise it is now.
MAX_RECEIPT_LAG = timedelta(minutes=5)
# After Stripe refuses a refund or a void, try again this much later (or on any new fact).
BLOCKED_MONEY_RETRY = timedelta(hours=6)
# Patch id: histories recorded before the fix replay the old overwrite (found by `make bench`).
OUTCOME_SURVIVES_SESSION_END = "outcome-survives-session-end"
# Patch id: a refund whose answer was lost (the retry found the money already back) is announced;
# histories recorded before the fix replay without the notice (found by `make faults`).
REFUND_ANNOUNCED_AFTER_LOST_ANSWER = "refund-announced-after-lost-answer"

RequestT = TypeVar("RequestT")
ResultT = TypeVar("ResultT")


class _Step(Enum):
    CHARGE = "charge"
    AUTO_CANCEL = "auto_cancel"
    SESSION_END = "session_end"
    RETRY_MONEY = "retry_money"
    REMIND = "attendance_reminder"
    COMPLETE = "complete"


_OUTCOME_STATUSES = frozenset({SessionStatus.ATTENDED, SessionStatus.CLIENT_NO_SHOW})
# A late payment fact never moves a session that has taken place back to a payment status.
_AFTER_THE_SESSION = _OUTCOME_STATUSES | {SessionStatus.AWAITING_UPDATE, SessionStatus.COMPLETED}


def _refused(violation: RuleViolation) -> ApplicationError:
    return ApplicationError(violation.message, type=violation.code, non_retryable=True)


@workflow.defn(name=SESSION_WORKFLOW_TYPE)
class SessionWorkflow:
    @workflow.init
    def __init__(self, workflow_input: SessionWorkflowInput) -> None:
        booking = workflow_input.booking
        self._booking = booking
        self._policy = workflow_input.policy
        self._start = booking.start
        self._payment = PaymentLedger(
            amount_minor=booking.amount_minor,
            currency=booking.currency,
            payment_method_id=booking.payment_method_id,
        )
        if booking.kind is BookingKind.INITIAL_PREPAID:
            self._payment.payment_intent_id = booking.prepaid_payment_intent_id
            mark_paid(self._payment)
            self._status = SessionStatus.PAID
        else:
            booked_at = workflow_input.booked_at or workflow.now()
            self._payment.next_charge_at = first_charge_at(
                booking.kind, booking.start, booked_at, self._policy
            )
            self._status = SessionStatus.SCHEDULED
        self._cancellation: CancellationRecord | None = None
        self._reschedules: list[RescheduleRecord] = []
        self._seen_event_ids: set[str] = set()
        # In arrival order (not a set) so adopting one after a lost attempt is deterministic.
        self._succeeded_intents: list[str] = []
        self._blocked_until: datetime | None = None
        self._attendance: AttendanceRecord | None = None
        self._attendance_result: AttendanceResult | None = None
        self._filing = False
        self._reminders_sent = 0
        # Notifications are sent without holding up the session; all are awaited before it ends.
        self._outbox: list[asyncio.Task[None]] = []
        self._changed = False

    # ----------------------------------------------------------------------------- main loop

    @workflow.run
    async def run(self, workflow_input: SessionWorkflowInput) -> SessionState:
        self._publish_status()
        while not self._finished():
            self._changed = False
            if self._money_owed() and self._blocked_until is None:
                await self._settle_money()
                continue
            step = self._next_step()
            if step is None:
                await workflow.wait_condition(lambda: self._changed)
                continue
            at, kind = step
            if await self._sleep_until(at, kind):
                await self._take(kind)
        await workflow.wait_condition(
            lambda: workflow.all_handlers_finished() and all(task.done() for task in self._outbox)
        )
        return self._snapshot()

    def _finished(self) -> bool:
        closed = self._status.is_cancelled or self._status is SessionStatus.COMPLETED
        return closed and not self._money_owed() and not self._charge_owed()

    def _next_step(self) -> tuple[datetime, _Step] | None:
        payment = self._payment
        if self._blocked_until is not None:
            return self._blocked_until, _Step.RETRY_MONEY
        if self._charge_owed():
            if payment.retry_now:
                return workflow.now(), _Step.CHARGE
            if payment.next_charge_at is not None:
                return payment.next_charge_at, _Step.CHARGE
            return auto_cancel_at(self._start, self._policy), _Step.AUTO_CANCEL
        if self._status in (SessionStatus.PAID, SessionStatus.SCHEDULED):
            return self._end(), _Step.SESSION_END
        if self._status in _OUTCOME_STATUSES and self._attendance_result is not None:
            return workflow.now(), _Step.COMPLETE
        reminders = self._policy.attendance_reminder_offsets
        if self._status is SessionStatus.AWAITING_UPDATE and self._reminders_sent < len(reminders):
            return self._end() + reminders[self._reminders_sent], _Step.REMIND
        # Awaiting the attendance update after the last reminder: nothing is assumed, ever.
        return None

    async def _sleep_until(self, at: datetime, step: _Step) -> bool:
        """Wait for ``at``; False when a handler changed something first (recompute the plan)."""
        if self._changed:
            return False
        delay = at - workflow.now()
        if delay <= timedelta(0):
            return True
        try:
            await workflow.wait_condition(lambda: self._changed, timeout=delay, timeout_summary=step.value)
        except TimeoutError:
            return True
        return False

    async def _take(self, step: _Step) -> None:
        if step is _Step.CHARGE:
            await self._charge()
        elif step is _Step.AUTO_CANCEL:
            self._auto_cancel()
        elif step is _Step.RETRY_MONEY:
            self._unblock()
        elif step is _Step.REMIND:
            self._reminders_sent += 1
            self._notify(
                NotificationType.ATTENDANCE_UPDATE_DUE,
                Audience.THERAPIST,
                self._reminders_sent,
                reminder_number=self._reminders_sent,
            )
        elif step is _Step.COMPLETE:
            self._set_status(SessionStatus.COMPLETED)
        elif not (self._status in _OUTCOME_STATUSES and workflow.patched(OUTCOME_SURVIVES_SESSION_END)):
            # An attendance update filed as the end timer fired (one workflow task) keeps its
            # outcome: overwriting it with awaiting_update left the session open forever.
            self._set_status(SessionStatus.AWAITING_UPDATE)

    def _end(self) -> datetime:
        return self._start + self._booking.duration

    # ----------------------------------------------------------------------------- charging

    def _discretionary_refund(self) -> bool:
        return self._cancellation is not None and self._cancellation.discretionary_refund

    def _charge_owed(self) -> bool:
        payment = self._payment
        if payment.status in (PaymentStatus.PAID, PaymentStatus.VOIDED, PaymentStatus.NOT_COLLECTED):
            return False
        return charge_still_owed(self._status, self._discretionary_refund())

    async def _charge(self) -> None:
        payment = self._payment
        assert payment.payment_method_id is not None  # every unpaid booking kind carries one
        attempt = len(payment.attempts) + 1
        attempted_at = workflow.now()
        start_when_attempted = self._start
        payment.status = PaymentStatus.PROCESSING
        payment.last_attempted_payment_method_id = payment.payment_method_id
        payment.retry_now = False
        if not self._status.is_cancelled:
            self._set_status(SessionStatus.PAYMENT_DUE)
        request = ChargeRequest(
            session_id=self._booking.session_id,
            attempt=attempt,
            amount_minor=payment.amount_minor,
            currency=payment.currency,
            customer_id=self._booking.stripe_customer_id,
            payment_method_id=payment.payment_method_id,
            payment_intent_id=payment.payment_intent_id,
        )
        try:
            result = await self._stripe(PaymentActivities.charge, request, f"charge attempt {attempt}")
        except ActivityError as failure:
            result = ChargeResult(outcome=ChargeOutcome.FAILED, code=_failure_type(failure))
            workflow.logger.warning(
                "charge attempt could not be made",
                extra={"session_id": self._booking.session_id, "attempt": attempt},
            )
        record_charge(
            payment, attempt=attempt, at=attempted_at, result=result, start=self._start, policy=self._policy
        )
        for intent_id in self._succeeded_intents:
            # A webhook that arrived during the attempt (or for an intent whose id the attempt
            # never learnt) settles it.
            if apply_succeeded_intent(payment, intent_id):
                break
        if awaits_money(payment) and payment.payment_method_id != request.payment_method_id:
            payment.retry_now = True  # a new card arrived while this attempt was in flight
        if payment.status is PaymentStatus.DECLINED_SOFT and self._start != start_when_attempted:
            self._follow_moved_start(start_when_attempted, attempted_at)
        if not self._charge_owed():
            payment.next_charge_at = None  # cancelled while the attempt was in flight
            payment.retry_now = False
        self._status_from_payment()
        self._notify_charge(attempt, result)
        workflow.logger.info(
            "charge attempt finished",
            extra={
                "session_id": self._booking.session_id,
                "attempt": attempt,
                "outcome": result.outcome.value,
                "decline_code": result.decline_code,
            },
        )

    def _follow_moved_start(self, old_start: datetime, attempted_at: datetime) -> None:
        """The session was moved while an attempt was in flight and it was declined: the next
        attempt follows the new start, as if the move had come just after the decline."""
        move = self._reschedules[-1]
        self._payment.next_charge_at = charge_due_after_move(
            requested_by=move.requested_by,
            old_start=old_start,
            new_start=self._start,
            current_due=self._payment.next_charge_at,
            received_at=max(move.at, attempted_at),
            last_attempt_at=attempted_at,
            policy=self._policy,
        )

    def _notify_charge(self, attempt: int, result: ChargeResult) -> None:
        payment = self._payment
        if payment.status is PaymentStatus.PAID:
            self._notify(
                NotificationType.CHARGE_SUCCEEDED,
                Audience.BOTH,
                attempt,
                amount_minor=payment.amount_paid_minor,
                currency=payment.currency,
            )
        elif payment.status is PaymentStatus.REQUIRES_ACTION:
            self._notify(
                NotificationType.ACTION_REQUIRED,
                Audience.CLIENT,
                attempt,
                payment_intent_client_secret=payment.client_secret,
                amount_minor=payment.amount_minor,
                currency=payment.currency,
            )
        else:
            codes = {"outcome": result.outcome.value}
            for key, value in (
                ("code", result.code),
                ("decline_code", result.decline_code),
                ("decline_kind", result.decline_kind.value if result.decline_kind else None),
            ):
                if value:
                    codes[key] = value.lower()
            self._notify(NotificationType.CHARGE_FAILED, Audience.BOTH, attempt, codes=codes)

    def _status_from_payment(self) -> None:
        if self._status.is_cancelled or self._status in _AFTER_THE_SESSION:
            return
        status = {
            PaymentStatus.PAID: SessionStatus.PAID,
            PaymentStatus.REQUIRES_ACTION: SessionStatus.AWAITING_CLIENT_ACTION,
            PaymentStatus.DECLINED_SOFT: SessionStatus.PAYMENT_FAILED,
            PaymentStatus.DECLINED_HARD: SessionStatus.PAYMENT_FAILED,
            PaymentStatus.NOT_DUE: SessionStatus.SCHEDULED,
        }.get(self._payment.status)
        if status is not None:
            self._set_status(status)

    def _auto_cancel(self) -> None:
        payment = self._payment
        payment.next_charge_at = None
        payment.client_secret = None
        if self._status is SessionStatus.CANCELLED_LATE:
            # A late cancellation's charge could not be collected before the session time; its
            # pending PaymentIntent is voided next.
            payment.status = PaymentStatus.NOT_COLLECTED
            return
        self._set_status(SessionStatus.CANCELLED_UNPAID)
        self._notify(NotificationType.AUTO_CANCELLED, Audience.BOTH, 1)
        workflow.logger.info("session cancelled unpaid", extra={"session_id": self._booking.session_id})

    # ----------------------------------------------------------------------------- refunds, voids

    def _refund_target(self) -> int:
        payment = self._payment
        if payment.status is not PaymentStatus.PAID:
            return 0
        if self._attendance is not None and self._attendance.update.refund:
            return payment.amount_paid_minor  # a discretionary refund filed with the attendance update
        return refund_owed(self._status, self._discretionary_refund(), payment.amount_paid_minor)

    def _refund_due(self) -> int:
        return max(0, self._refund_target() - self._payment.amount_refunded_minor)

    def _void_due(self) -> bool:
        return self._status.is_cancelled and not self._charge_owed() and may_hold_open_intent(self._payment)

    def _money_owed(self) -> bool:
        return self._refund_due() > 0 or self._void_due()

    async def _settle_money(self) -> None:
        if self._refund_due() > 0:
            await self._refund()
        elif self._void_due():
            await self._void()

    def _block(self, reason: str) -> None:
        """Stripe refused: keep the session open and visible, try again later or on news."""
        self._payment.blocked_reason = reason
        self._blocked_until = workflow.now() + BLOCKED_MONEY_RETRY
        workflow.logger.error(
            "money work refused by Stripe; will retry",
            extra={"session_id": self._booking.session_id, "reason": reason},
        )

    def _unblock(self) -> None:
        self._blocked_until = None
        self._payment.blocked_reason = None

    async def _refund(self) -> None:
        payment = self._payment
        assert payment.payment_intent_id is not None
        # Every request gets its own key: a refused one is never replayed from Stripe's cache,
        # and the activity refunds only what the charge has not refunded yet.
        payment.refund_requests += 1
        number = payment.refund_requests
        try:
            result = await self._stripe(
                PaymentActivities.refund,
                RefundRequest(
                    session_id=self._booking.session_id,
                    refund_number=number,
                    payment_intent_id=payment.payment_intent_id,
                    target_refunded_minor=self._refund_target(),
                ),
                f"refund {number}",
            )
        except ActivityError as failure:
            self._block(f"refund: {_failure_type(failure)}")
            return
        payment.amount_paid_minor = min(payment.amount_paid_minor, result.captured_minor)
        payment.amount_refunded_minor = max(payment.amount_refunded_minor, result.refunded_total_minor)
        announced = sum(record.amount_minor for record in payment.refunds)
        amount = result.amount_minor
        if result.refund_id is None and result.refunded_total_minor > announced:
            # An earlier try of this request refunded and its answer was lost: the retry found the
            # money already back (refund_id None). The client must still hear about it.
            if not workflow.patched(REFUND_ANNOUNCED_AFTER_LOST_ANSWER):
                return
            amount = result.refunded_total_minor - announced
        elif result.refund_id is None:
            return
        payment.refunds.append(
            RefundRecord(number=number, refund_id=result.refund_id, amount_minor=amount, at=workflow.now())
        )
        self._notify(
            NotificationType.REFUND_ISSUED,
            Audience.BOTH,
            number,
            amount_minor=amount,
            currency=payment.currency,
        )

    async def _void(self) -> None:
        payment = self._payment
        payment.void_requests += 1
        try:
            result = await self._stripe(
                PaymentActivities.void,
                VoidRequest(
                    session_id=self._booking.session_id,
                    request_number=payment.void_requests,
                    customer_id=self._booking.stripe_customer_id,
                    payment_intent_id=payment.payment_intent_id,
                ),
                "void pending payment",
            )
        except ActivityError as failure:
            self._block(f"void: {_failure_type(failure)}")
            return
        if payment.status is PaymentStatus.PAID:
            return  # a webhook reported the payment while the void was in flight: refund next
        if result.payment_intent_id is not None:
            payment.payment_intent_id = result.payment_intent_id
        if result.payment_intent_status == "succeeded":
            mark_paid(payment)  # the client paid before the void arrived: refunded next round
        elif result.voided:
            payment.status = PaymentStatus.VOIDED
            payment.voided = True
            payment.client_secret = None
        else:
            self._block(f"void: payment intent is {result.payment_intent_status}")

    # ----------------------------------------------------------------------------- updates

    def _receipt_time(self, claimed: datetime | None) -> datetime:
        """When a request counts as received: our API's stamp, unless it is implausible."""
        now = workflow.now()
        if claimed is None or claimed > now or now - claimed > MAX_RECEIPT_LAG:
            return now
        return claimed

    @workflow.update
    def cancel(self, request: CancelRequest) -> CancelResult:
        received_at = self._receipt_time(request.received_at)
        self._check_can_change(workflow.now(), "cancel")
        payment = self._payment
        status = cancellation_status(
            request.requested_by,
            self._start,
            received_at,
            self._policy,
            charge_kept_by_late_move=payment.charge_kept_by_late_move,
        )
        self._cancellation = CancellationRecord(
            requested_by=request.requested_by,
            recorded_by=request.recorded_by,
            reason=request.reason,
            at=received_at,
            discretionary_refund=request.discretionary_refund,
        )
        self._set_status(status)
        if not self._charge_owed():
            payment.next_charge_at = None
            payment.retry_now = False
        self._unblock()
        self._changed = True
        refund = max(
            0,
            refund_owed(status, request.discretionary_refund, payment.amount_paid_minor)
            - payment.amount_refunded_minor,
        )
        self._notify(
            NotificationType.SESSION_CANCELLED,
            Audience.BOTH,
            1,
            codes={
                "status": status.value,
                "requested_by": request.requested_by.value,
                "reason": request.reason.value,
            },
        )
        workflow.logger.info(
            "session cancelled", extra={"session_id": self._booking.session_id, "status": status.value}
        )
        return CancelResult.for_cancellation(
            session_id=self._booking.session_id,
            status=status,
            discretionary_refund=request.discretionary_refund,
            refund_minor=refund,
            charge_in_flight=payment.status is PaymentStatus.PROCESSING,
        )

    @cancel.validator
    def _validate_cancel(self, request: CancelRequest) -> None:
        # The start is judged on our own clock: a receipt stamp only decides the 48-hour notice.
        self._check_can_change(workflow.now(), "cancel")

    @workflow.update
    def reschedule(self, request: RescheduleRequest) -> RescheduleResult:
        received_at = self._receipt_time(request.received_at)
        self._check_move(request, received_at)
        old_start, new_start = self._start, request.new_start
        payment = self._payment
        client_charged_at_once = self._booking.kind is BookingKind.CLIENT_FOLLOW_UP and not payment.attempts
        if (
            payment.status in (PaymentStatus.NOT_DUE, PaymentStatus.DECLINED_SOFT)
            and not client_charged_at_once
        ):
            payment.next_charge_at = charge_due_after_move(
                requested_by=request.requested_by,
                old_start=old_start,
                new_start=new_start,
                current_due=payment.next_charge_at,
                received_at=received_at,
                last_attempt_at=payment.attempts[-1].at if payment.attempts else None,
                policy=self._policy,
            )
        if is_late_client_move(request.requested_by, old_start, received_at, self._policy):
            payment.charge_kept_by_late_move = True
        elif request.requested_by is not Actor.CLIENT:
            # The therapist (or an admin) chose the new time: the client's notice starts afresh.
            payment.charge_kept_by_late_move = False
        self._start = new_start
        self._reschedules.append(
            RescheduleRecord(
                requested_by=request.requested_by, at=received_at, old_start=old_start, new_start=new_start
            )
        )
        workflow.upsert_search_attributes([SESSION_START.value_set(new_start)])
        self._changed = True
        return RescheduleResult(
            session_id=self._booking.session_id,
            status=self._status,
            start=new_start,
            payment_carried=payment.status is PaymentStatus.PAID,
            next_charge_at=payment.next_charge_at,
        )

    @reschedule.validator
    def _validate_reschedule(self, request: RescheduleRequest) -> None:
        self._check_move(request, self._receipt_time(request.received_at))

    @workflow.update
    def update_payment_method(self, update: PaymentMethodUpdate) -> PaymentMethodUpdateResult:
        self._check_payment_method_update()
        payment = self._payment
        payment.payment_method_id = update.payment_method_id
        # Only a different card is tried at once: re-trying the declined one off-schedule would
        # just decline again (and repeated retries draw card-network penalties).
        retrying = (
            awaits_money(payment) and update.payment_method_id != payment.last_attempted_payment_method_id
        )
        if retrying:
            payment.retry_now = True
            self._changed = True
        return PaymentMethodUpdateResult(
            session_id=self._booking.session_id, status=self._status, retrying_now=retrying
        )

    @update_payment_method.validator
    def _validate_payment_method(self, update: PaymentMethodUpdate) -> None:
        self._check_payment_method_update()

    def _check_can_change(self, received_at: datetime, action: str) -> None:
        try:
            check_can_change(self._status, self._start, received_at, action)
        except RuleViolation as violation:
            raise _refused(violation) from violation

    def _check_move(self, request: RescheduleRequest, received_at: datetime) -> None:
        now = workflow.now()
        self._check_can_change(now, "reschedule")
        if request.new_start <= now:
            raise _refused(RuleViolation("start_in_past", "the new start must be in the future"))
        if request.new_start == self._start:
            raise _refused(RuleViolation("same_start", "the session already starts at that time"))
        if request.new_start - now > self._policy.max_booking_horizon:
            raise _refused(RuleViolation("start_too_far", "the new start is too far ahead"))

    def _check_payment_method_update(self) -> None:
        if self._payment.status is PaymentStatus.PAID:
            raise _refused(RuleViolation("already_paid", "the session is already paid"))
        if not self._charge_owed():
            raise _refused(RuleViolation("nothing_to_charge", "the session has nothing left to charge"))
        if workflow.now() >= self._start:
            raise _refused(RuleViolation("session_started", "the session has started"))

    # ----------------------------------------------------------------------------- attendance

    @workflow.update
    async def file_attendance(self, update: AttendanceUpdate) -> AttendanceResult:
        """The therapist's attendance update: record it, then book, reserve, release or end."""
        received_at = self._receipt_time(update.received_at)
        self._check_attendance(update, received_at)
        booking = self._booking
        follow_up_start = self._follow_up_start(update)
        # Refuses a second filing (another request id) while this one awaits the practice.
        self._filing = True
        try:
            # Another client's reserved time refuses the whole update before anything is recorded.
            reserved_slot_id = await self._claim_time(update, follow_up_start)
        except BaseException:
            self._filing = False
            raise
        self._attendance = AttendanceRecord(update=update, at=received_at)
        self._filing = False
        self._set_status(update.outcome.status)
        self._changed = True
        # From here the update is recorded: an effect that fails is reported, and the session
        # still completes (a stuck session would hide it from every list).
        incomplete: list[str] = []
        released: list[str] = []
        follow_up_id: str | None = None
        if follow_up_start is not None:
            try:
                follow_up_id = await self._book_follow_up(follow_up_start)
            except (ApplicationError, ActivityError):
                incomplete.append("book_follow_up")
        if update.continue_sessions is ContinueChoice.NO and not update.reserve_slot:
            # "No, I don't want to rebook" releases the client's reserved slot (the seed page).
            try:
                outcome = await self._practice(
                    PracticeActivities.release_slots,
                    ReleaseSlotsCall(
                        therapist_id=booking.therapist_id,
                        timezone=booking.therapist_timezone,
                        request_id=f"{booking.session_id}:attendance:release",
                        command=ReleaseSlots(client_id=booking.client_id),
                    ),
                )
                released.extend(outcome.released_slot_ids)
            except (ApplicationError, ActivityError):
                incomplete.append("release_slots")
        cancelled: list[str] = []
        if update.end_relationship:
            assert update.end_reason is not None  # the validator requires it
            try:
                ended = await self._practice(
                    PracticeActivities.end_relationship,
                    EndRelationshipCall(
                        therapist_id=booking.therapist_id,
                        timezone=booking.therapist_timezone,
                        request_id=f"{booking.session_id}:attendance:end",
                        command=EndRelationship(client_id=booking.client_id, reason=update.end_reason),
                    ),
                )
                released.extend(ended.released_slot_ids)
                self._notify(
                    NotificationType.RELATIONSHIP_ENDED,
                    Audience.THERAPIST,
                    1,
                    codes={"reason": update.end_reason.value},
                )
            except (ApplicationError, ActivityError):
                incomplete.append("end_relationship")
            if update.cancel_future_sessions:
                try:
                    future = await self._practice(
                        PracticeActivities.cancel_future_sessions,
                        CancelFutureSessionsCall(
                            therapist_id=booking.therapist_id,
                            client_id=booking.client_id,
                            request_id=f"{booking.session_id}:attendance:cancel-future",
                            after=self._start,
                        ),
                    )
                    cancelled = list(future.session_ids)
                except (ApplicationError, ActivityError):
                    incomplete.append("cancel_future_sessions")
        for slot_id in released:
            self._notify(NotificationType.SLOT_RELEASED, Audience.BOTH, slot_id, slot_id=slot_id)
        if incomplete:
            workflow.logger.error(
                "attendance effects incomplete",
                extra={"session_id": booking.session_id, "effects": ",".join(incomplete)},
            )
        self._attendance_result = AttendanceResult(
            session_id=booking.session_id,
            status=self._status,
            follow_up_session_id=follow_up_id,
            follow_up_start=follow_up_start,
            reserved_slot_id=reserved_slot_id,
            released_slot_ids=released,
            slot_released=bool(released),
            relationship_ended=update.end_relationship,
            cancelled_session_ids=cancelled,
            refund_minor=self._refund_due(),
            incomplete_effects=incomplete,
        )
        self._changed = True
        workflow.logger.info(
            "attendance update filed",
            extra={
                "session_id": booking.session_id,
                "outcome": update.outcome.value,
                "rebooked": bool(follow_up_id),
            },
        )
        return self._attendance_result

    async def _claim_time(self, update: AttendanceUpdate, follow_up_start: datetime | None) -> str | None:
        """Reserve the weekly slot if asked, else check the follow-up's time is free of other
        clients' slots; returns the reserved slot's id. Raises the practice's refusal."""
        booking = self._booking
        if update.reserve_slot:
            rule = WeeklySlotRule.from_start(
                follow_up_start or self._start, booking.therapist_timezone, booking.duration_minutes
            )
            reserved = await self._practice(
                PracticeActivities.reserve_slot,
                ReserveSlotCall(
                    therapist_id=booking.therapist_id,
                    timezone=booking.therapist_timezone,
                    request_id=f"{booking.session_id}:attendance:reserve",
                    command=ReserveSlot(client_id=booking.client_id, rule=rule),
                ),
            )
            # A replaced slot of the same client is a move, not a removal: no banner for it.
            return str(reserved.slot_id)
        if follow_up_start is not None:
            await self._practice(
                PracticeActivities.check_booking_time,
                CheckBookingTimeCall(
                    therapist_id=booking.therapist_id,
                    query=BookingTimeQuery(
                        client_id=booking.client_id,
                        start=follow_up_start,
                        end=follow_up_start + booking.duration,
                    ),
                ),
            )
        return None

    @file_attendance.validator
    def _validate_attendance(self, update: AttendanceUpdate) -> None:
        self._check_attendance(update, self._receipt_time(update.received_at))

    def _check_attendance(self, update: AttendanceUpdate, received_at: datetime) -> None:
        try:
            check_attendance_update(
                update,
                session_start=self._start,
                now=received_at,
                status=self._status,
                already_filed=self._attendance is not None or self._filing,
                has_saved_card=self._payment.payment_method_id is not None,
                follow_up_start=self._follow_up_start(update),
                max_booking_horizon=self._policy.max_booking_horizon,
            )
            minutes = self._booking.duration_minutes
            if update.reserve_slot and not SLOT_MIN_MINUTES <= minutes <= SLOT_MAX_MINUTES:
                # Refused here, before history: built in the handler, the rule would fail the task.
                raise RuleViolation(
                    "slot_duration_out_of_range",
                    f"a reserved slot lasts {SLOT_MIN_MINUTES}-{SLOT_MAX_MINUTES} minutes; "
                    f"this session lasts {minutes}",
                )
        except RuleViolation as violation:
            raise _refused(violation) from violation

    def _follow_up_start(self, update: AttendanceUpdate) -> datetime | None:
        if update.continue_sessions is ContinueChoice.SAME_TIME:
            return same_time_next_week(self._start, self._booking.therapist_timezone)
        if update.continue_sessions is ContinueChoice.DIFFERENT_TIME:
            return update.new_start
        return None

    async def _book_follow_up(self, start: datetime) -> str:
        """A new session, booked by the therapist with the client's recorded agreement."""
        booking = self._booking
        follow_up_id = follow_up_session_id(booking.session_id)
        follow_up = SessionBooking(
            session_id=follow_up_id,
            therapist_id=booking.therapist_id,
            client_id=booking.client_id,
            kind=BookingKind.THERAPIST_FOLLOW_UP,
            start=start,
            duration_minutes=booking.duration_minutes,
            therapist_timezone=booking.therapist_timezone,
            amount_minor=booking.amount_minor,
            currency=booking.currency,
            stripe_customer_id=booking.stripe_customer_id,
            payment_method_id=self._payment.payment_method_id,
            client_agreed=True,
            previous_session_id=booking.session_id,
        )
        await workflow.start_child_workflow(
            SessionWorkflow.run,
            SessionWorkflowInput(booking=follow_up, policy=self._policy, booked_at=workflow.now()),
            id=session_workflow_id(follow_up_id),
            # The follow-up lives its own life: this session completes long before it happens.
            parent_close_policy=ParentClosePolicy.ABANDON,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(SESSION_STATUS, SessionStatus.SCHEDULED.value),
                    SearchAttributePair(THERAPIST_ID, booking.therapist_id),
                    SearchAttributePair(CLIENT_ID, booking.client_id),
                    SearchAttributePair(SESSION_START, start),
                ]
            ),
            static_summary=f"follow-up of session {booking.session_id}",
        )
        self._notify(NotificationType.FOLLOW_UP_BOOKED, Audience.BOTH, 1, related_session_id=follow_up_id)
        return follow_up_id

    async def _stripe(
        self,
        activity: Callable[[PaymentActivities, RequestT], Awaitable[ResultT]],
        request: RequestT,
        summary: str,
    ) -> ResultT:
        """One Stripe call: timeouts keep every retry well inside the idempotency key's lifetime."""
        return await workflow.execute_activity_method(
            activity,
            request,
            start_to_close_timeout=STRIPE_START_TO_CLOSE,
            schedule_to_close_timeout=STRIPE_SCHEDULE_TO_CLOSE,
            retry_policy=STRIPE_RETRY_POLICY,
            summary=summary,
        )

    async def _practice(self, activity: Any, call: Any) -> Any:
        """One call into the therapist's PracticeWorkflow (a workflow cannot update another)."""
        try:
            return await workflow.execute_activity_method(
                activity,
                call,
                start_to_close_timeout=PRACTICE_START_TO_CLOSE,
                retry_policy=PRACTICE_RETRY_POLICY,
            )
        except ActivityError as failure:
            cause = failure.cause
            if isinstance(cause, ApplicationError) and cause.non_retryable:
                # A rule of the practice refused it (e.g. slot_conflict): refuse the update with it.
                raise ApplicationError(cause.message, type=cause.type, non_retryable=True) from failure
            raise

    # ----------------------------------------------------------------------------- notifications

    def _notify(self, kind: NotificationType, audience: Audience, sequence: int | str, **fields: Any) -> None:
        booking = self._booking
        try:
            notification = Notification(
                event_id=notification_event_id(booking.session_id, kind, sequence),
                type=kind,
                audience=audience,
                session_id=booking.session_id,
                therapist_id=booking.therapist_id,
                client_id=booking.client_id,
                occurred_at=workflow.now(),
                **fields,
            )
        except ValueError:
            # An unexpected code must not wedge the session: a missing notification is logged.
            workflow.logger.error(
                "notification could not be built",
                extra={"session_id": booking.session_id, "type": kind.value},
            )
            return
        self._outbox.append(asyncio.create_task(self._deliver(notification)))

    async def _deliver(self, notification: Notification) -> None:
        try:
            await workflow.execute_activity_method(
                NotificationActivities.deliver,
                notification,
                start_to_close_timeout=NOTIFICATION_START_TO_CLOSE,
                schedule_to_close_timeout=NOTIFICATION_SCHEDULE_TO_CLOSE,
                retry_policy=NOTIFICATION_RETRY_POLICY,
                summary=notification.type.value,
            )
        except ActivityError:
            workflow.logger.error(
                "notification not delivered",
                extra={"session_id": self._booking.session_id, "event_id": notification.event_id},
            )

    # ----------------------------------------------------------------------------- facts, reads

    @workflow.signal
    def payment_event(self, event: PaymentEvent) -> None:
        """A Stripe webhook fact; duplicates and stale events change nothing."""
        if event.event_id in self._seen_event_ids:
            return
        self._seen_event_ids.add(event.event_id)
        changed = self._blocked_until is not None  # news is a reason to retry refused money work
        self._unblock()
        if event.type == "payment_intent.succeeded":
            if event.payment_intent_id not in self._succeeded_intents:
                self._succeeded_intents.append(event.payment_intent_id)
            if apply_succeeded_intent(self._payment, event.payment_intent_id):
                self._status_from_payment()
                self._notify(
                    NotificationType.CHARGE_SUCCEEDED,
                    Audience.BOTH,
                    f"{len(self._payment.attempts)}-on-session",
                    amount_minor=self._payment.amount_paid_minor,
                    currency=self._payment.currency,
                )
                changed = True
        elif event.type == "charge.refunded" and event.amount_refunded_minor is not None:
            before = self._payment.amount_refunded_minor
            apply_refunded_amount(self._payment, event.payment_intent_id, event.amount_refunded_minor)
            # Only what is still owed after a cancellation depends on the refunded amount.
            grew = self._payment.amount_refunded_minor != before
            changed = changed or (grew and self._status.is_cancelled)
        # Waking the main loop restarts its timer (a billed Action): only for facts that matter.
        if changed:
            self._changed = True

    @workflow.query
    def state(self) -> SessionState:
        return self._snapshot()

    @workflow.query
    def booking(self) -> SessionBooking:
        """The booking as it was made (for idempotent re-booking checks)."""
        return self._booking

    def _snapshot(self) -> SessionState:
        booking = self._booking
        return SessionState(
            session_id=booking.session_id,
            therapist_id=booking.therapist_id,
            client_id=booking.client_id,
            kind=booking.kind,
            status=self._status,
            start=self._start,
            end=self._end(),
            therapist_timezone=booking.therapist_timezone,
            payment=self._payment.model_copy(deep=True),
            cancellation=self._cancellation,
            reschedules=list(self._reschedules),
            attendance=self._attendance,
            attendance_result=self._attendance_result,
            reminders_sent=self._reminders_sent,
        )

    def _set_status(self, status: SessionStatus) -> None:
        self._status = status
        self._publish_status()

    def _publish_status(self) -> None:
        # Each upsert is a billed Action: only when the visible status really changes.
        current = workflow.info().typed_search_attributes.get(SESSION_STATUS)
        if current != self._status.value:
            workflow.upsert_search_attributes([SESSION_STATUS.value_set(self._status.value)])


def _failure_type(failure: ActivityError) -> str:
    cause = failure.cause
    if isinstance(cause, ApplicationError) and cause.type:
        return cause.type
    return type(cause).__name__ if cause is not None else "ActivityError"
