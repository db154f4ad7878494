"""SessionWorkflow: one booked session, from booking to the attendance update.

Every rule lives in ``domain.session`` (the session as a state machine), ``domain.session_commands``
and ``domain.session_attendance`` (what a person may ask of it). This workflow holds one
:class:`~domain.session.Session` and carries out what they decide: it sleeps until the next step,
calls Stripe and the therapist's practice, starts the follow-up and sends notifications.

Commands are updates whose validators run the same check as their handlers (a refusal never enters
history); Stripe webhook facts are signals deduplicated by event id. Updates only decide; the main
loop does the money work they leave owed, so a Stripe outage never blocks a cancellation. A step
taken when a timer fires decides on the instant the timer was for (``domain.session.clock``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any

from temporalio import workflow
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from activities.disputes import DisputeActivities
    from activities.payments import PaymentActivities
    from activities.practice import PracticeActivities
    from contract.ids import session_workflow_id
    from contract.search_attributes import (
        PAYMENT_INTENT,
        SESSION_END,
        SESSION_START,
        SESSION_STATUS,
        session_search_attributes,
    )
    from contract.session import SESSION_WORKFLOW_TYPE
    from domain import session as machine
    from domain import session_attendance as attendance
    from domain import session_commands as commands
    from domain import session_disputes, session_time
    from domain.attendance import AttendanceResult, AttendanceUpdate
    from domain.booking import SessionBooking
    from domain.commands import (
        CancelPreviewAnswer,
        CancelRequest,
        CancelResult,
        PaymentMethodUpdate,
        PaymentMethodUpdateResult,
        ReschedulePreviewAnswer,
        RescheduleRequest,
        RescheduleResult,
    )
    from domain.dispute_evidence import (
        DisputeEvidence,
        EvidenceSource,
        EvidenceSubmission,
        evidence_pack,
        evidence_stage,
    )
    from domain.disputes import DisputeFact, DisputeRecord, needs_response
    from domain.errors import RuleViolation
    from domain.notifications import Notification
    from domain.payments import AccountChargesFact, ChargeOutcome, PaymentEvent
    from domain.presence import ChargeAnswer, ChargeAnswerRequest
    from domain.refunds import SessionRefund, SessionRefundResult
    from domain.session import NextStep, Notice, Step
    from domain.session_attendance import AttendanceEffects, AttendancePlan, NoShowRequest, NoShowResult
    from domain.state import FollowUpStart, SessionState, SessionWorkflowInput
    from domain.status import PaymentStatus, SessionStatus
    from domain.unreported import UnreportedMoney, unreported_money
    from workflows.calls import (
        call_practice,
        call_practice_patiently,
        call_stripe,
        checked,
        count_charge_given_up,
        count_dispute,
        count_money_blocked,
        count_stripe_unreachable,
        count_unreported,
        count_unreported_money_to_ops,
        deliver,
        deliver_batch,
        failure_type,
        start_follow_up,
        stripe_unreachable,
    )
    from workflows.patches import (
        AUTO_CANCEL_READS_PAYMENT,
        CHARGE_ANSWER_BOUNDED,
        CHARGE_HELD_SETTLES,
        CHARGE_HELD_WHILE_PAUSED,
        CHARGE_OUTAGE_IS_NOT_A_DECLINE,
        DISPUTE_EVIDENCE_EVERY_ANSWER,
        DISPUTE_EVIDENCE_SUBMITTED,
        DISPUTES_ANSWERED,
        DISPUTES_BY_ID,
        FOLLOW_UP_CLAIMS_TIME,
        HELD_LAST_LOOK,
        LEAN_FROM_FIRST_TASK,
        LEAN_LIFECYCLE,
        MONEY_OWED_WHILE_CLOSING,
        MOVE_CLAIMS_TIME,
        NO_SHOW_STAYS_NO_SHOW,
        OUTCOME_SURVIVES_SESSION_END,
        REFUND_ANNOUNCED_AFTER_LOST_ANSWER,
        SESSION_UNREPORTED_CLOSE,
        TERMS_NOTIFICATIONS,
    )


# How long ``charge_answer`` holds for Stripe's answer: a little over the API's own 10 s wait.
CHARGE_ANSWER_HOLD = timedelta(seconds=15)

# The attendance update's effects on the practice, by the code a failed one is reported under.
_PRACTICE_EFFECTS = MappingProxyType(
    {
        "release_slots": PracticeActivities.release_slots,
        "end_relationship": PracticeActivities.end_relationship,
        "cancel_future_sessions": PracticeActivities.cancel_future_sessions,
        "release_follow_up_time": PracticeActivities.release_time,
    }
)


@workflow.defn(name=SESSION_WORKFLOW_TYPE)
class SessionWorkflow:
    @workflow.init
    def __init__(self, workflow_input: SessionWorkflowInput) -> None:
        self._session = machine.open_session(workflow_input, workflow.now())
        self._booked_at = workflow_input.booked_at or workflow.now()  # the dispute evidence's
        # Notifications are sent without holding up the session; all are awaited before it ends.
        self._outbox: list[asyncio.Task[None]] = []
        # Set by handlers: the main loop re-plans (and restarts its timer) only when something moved.
        self._changed = False
        # The lean lifecycle (issue 13), decided once (``_lean``): notices of one workflow task
        # leave together, the status is published only while the session waits.
        self._lean_decided: bool | None = None
        self._running = False
        self._unsent: list[Notification] = []
        self._sending = False
        self._waiting_for: Callable[[], bool] | None = None
        self._background: list[asyncio.Task[None]] = []
        # Whether this run closes a session whose update never came (``_closes_unreported``).
        self._unreported_close: bool | None = None

    # ----------------------------------------------------------------------------- main loop

    @workflow.run
    async def run(self, workflow_input: SessionWorkflowInput) -> SessionState:
        session = self._session
        # Sessions booked from here on tell each party what the terms say (issue 12): a session
        # that was running before replays without the marker and keeps the notices it had.
        session.terms_notices = workflow.patched(TERMS_NOTIFICATIONS)
        # Only a direct charge can be held: other sessions record no marker for it.
        session.held_settles = session.booking.connected_account_id is not None and workflow.patched(
            CHARGE_HELD_SETTLES
        )
        self._running = True
        if self._lean:
            self._background = [
                asyncio.create_task(self._send_notices()),
                asyncio.create_task(self._publish_while_waiting()),
            ]
        self._notify(machine.booking_notices(session), workflow_input.booked_at)
        self._publish_status()
        while True:
            while not machine.is_finished(session):
                self._changed = False
                plan = machine.next_step(session)
                if plan is not None and plan.step is Step.CLOSE_UNREPORTED and not self._closes_unreported():
                    plan = None  # recorded before the unreported close: waits for ever, as it did
                if plan is None:
                    await self._wait(lambda: self._changed)
                    continue
                due = await self._sleep_until(plan)
                if due is not None:
                    await self._take(plan.step, due)
            await self._wait(lambda: workflow.all_handlers_finished() and self._outbox_empty())
            # A refund granted (or a payment reported) while the last handlers finished leaves money
            # owed: pay it before closing, or the closed ledger would hold a grant never paid.
            # Histories from before replay their close (the gate is consulted only in that case).
            if machine.is_finished(session) or not workflow.patched(MONEY_OWED_WHILE_CLOSING):
                if self._lean:
                    self._publish()  # the final status, in the task that closes the session
                return session.snapshot()

    @property
    def _lean(self) -> bool:
        """Sessions booked from here on cost the engine's floor in Actions (issue 13); a session
        running before keeps the commands it was started with. Decided at the first use: the
        start of the run, or a handler the SDK runs before it (a command delivered with the first
        workflow task)."""
        if self._lean_decided is None:
            if not self._running and not workflow.patched(LEAN_FROM_FIRST_TASK):
                # Recorded before this rule: such a handler ran the old path (the run decided).
                return False
            self._lean_decided = self._session.lean = workflow.patched(LEAN_LIFECYCLE)
        return self._lean_decided

    def _closes_unreported(self) -> bool:
        """Sessions reaching their attendance update's deadline from here on close as
        ``unreported``; one recorded before waits for ever. Decided the first time the deadline is
        planned (after the last reminder), so only sessions that get that far record the marker."""
        if self._unreported_close is None:
            self._unreported_close = workflow.patched(SESSION_UNREPORTED_CLOSE)
        return self._unreported_close

    async def _wait(
        self, condition: Callable[[], bool], until: timedelta | None = None, summary: str | None = None
    ) -> None:
        """The main loop waits (for ``condition``, or for ``until``: raises ``TimeoutError``): the
        moment a lean session's status is published, unless the loop is about to wake."""
        self._waiting_for = condition
        try:
            await workflow.wait_condition(condition, timeout=until, timeout_summary=summary)
        finally:
            self._waiting_for = None

    def _outbox_empty(self) -> bool:
        return all(task.done() for task in self._outbox) and not self._unsent and not self._sending

    async def _sleep_until(self, plan: NextStep) -> datetime | None:
        """Wait for the step; the instant it is taken at, or None when a handler moved the session
        first (re-plan)."""
        if plan.at is None:
            return self._now()
        delay = plan.at - self._now()
        if delay > timedelta(0):
            try:
                await self._wait(lambda: self._changed, until=delay, summary=plan.step.value)
            except TimeoutError:
                pass
            else:
                return None
        machine.timer_fired(self._session, plan.at)
        return self._now()

    def _now(self) -> datetime:
        return machine.clock(self._session, workflow.now())

    async def _take(self, step: Step, now: datetime) -> None:
        session = self._session
        if step is Step.RELEASE_TIME:
            await self._release_time()
        elif step is Step.RESTORE_TIME:
            await self._restore_time_patiently()
        elif step is Step.REFUND:
            await self._refund()
        elif step is Step.VOID:
            await self._void()
        elif step is Step.CHARGE:
            await self._charge(now)
        elif step is Step.AUTO_CANCEL:
            if machine.charge_held(session) and workflow.patched(CHARGE_HELD_WHILE_PAUSED):
                if machine.wants_last_look(session) and workflow.patched(HELD_LAST_LOOK):
                    # A last look at the account first: paid, it goes ahead; declined, it is
                    # auto-cancelled as any unpaid session; still held, the therapist's cancellation.
                    machine.take_last_look(session)
                    await self._charge(now)
                    return
                self._cancel_held(now)
                return
            if (
                machine.may_have_been_paid(session)
                and workflow.patched(AUTO_CANCEL_READS_PAYMENT)
                and await self._paid_or_moved_meanwhile()
            ):
                return
            notices = machine.auto_cancel(session)
            self._publish_status()
            self._notify(notices, now)
            if session.status is SessionStatus.CANCELLED_UNPAID:
                self._log(logging.INFO, "session cancelled unpaid")
            elif session.payment.ops_blocked is not None:
                self._charge_given_up()
        elif step is Step.RETRY_MONEY:
            machine.unblock(session)
        elif step is Step.REMIND:
            self._notify([machine.remind(session)], now)
        elif step is Step.CLOSE_UNREPORTED:
            # The attendance update never came: closed, the charge kept; an update recorded or
            # being filed first wins (then this changes nothing).
            if machine.defer_unreported(session, now):
                # Its charge was held at the start and is still owed on resume: closing would lose
                # it, so it waits (no command: nothing is sent, no timer planned). Ops hear of it.
                reason = session.payment.ops_blocked or "unknown"
                count_unreported_money_to_ops(reason, "waiting_for_resume")
                self._log(
                    logging.WARNING,
                    "unreported deadline passed: waiting for the held charge's resume",
                    reason=reason,
                )
            elif notices := machine.close_unreported(session, now):
                self._notify(notices, now)
                count_unreported()
                self._log(logging.WARNING, "session closed unreported", status=session.status.value)
                if unreported_money(session.payment) is UnreportedMoney.LEFT_TO_OPS:
                    # Unpaid: what is owed stays with ops (``left_to_ops``); they hear of it here.
                    reason = session.payment.ops_blocked or "unknown"
                    count_unreported_money_to_ops(reason, "closed")
                    self._log(
                        logging.WARNING, "session closed unreported: its money is left to ops", reason=reason
                    )
        elif step is Step.PAYMENT_REMINDER:
            self._notify([machine.remind_payment(session, now)], now)
        elif step is Step.COMPLETE:
            # A no-show stays client_no_show (no upsert to completed); histories from before replay
            # the old ending.
            keep_no_show = session.status is SessionStatus.CLIENT_NO_SHOW and workflow.patched(
                NO_SHOW_STAYS_NO_SHOW
            )
            machine.complete(session, keep_no_show=keep_no_show)
        elif step is Step.SESSION_END and not (
            machine.outcome_filed(session) and workflow.patched(OUTCOME_SURVIVES_SESSION_END)
        ):
            # An attendance update filed as the end timer fired (one workflow task) keeps its
            # outcome: overwriting it with awaiting_update left the session open forever.
            machine.end_session(session)
        self._publish_status()

    # ----------------------------------------------------------------------------- money

    async def _charge(self, now: datetime) -> None:
        session = self._session
        pending = machine.begin_charge(session, now)
        self._publish_status()
        attempt = pending.request.attempt
        try:
            result = await call_stripe(PaymentActivities.charge, pending.request, f"charge attempt {attempt}")
        except ActivityError as failure:
            reason = failure_type(failure)
            if stripe_unreachable(failure):
                count_stripe_unreachable("charge", failure)
                if workflow.patched(CHARGE_OUTAGE_IS_NOT_A_DECLINE):
                    # An outage is not a decline: no attempt used, no word to the client.
                    self._notify(machine.charge_unreachable(session, pending, reason, self._now()))
                    self._publish_status()
                    self._log(
                        logging.ERROR,
                        "Stripe unreachable: charge attempt to be tried again",
                        attempt=attempt,
                        reason=reason,
                        tries=session.payment.unreachable_tries,
                    )
                    if session.payment.ops_blocked is not None:
                        self._charge_given_up()
                    return
            result = machine.refused_charge(reason)
            self._log(logging.ERROR, "charge attempt could not be made", attempt=attempt, reason=reason)
        if result.outcome is ChargeOutcome.HELD and workflow.patched(CHARGE_HELD_WHILE_PAUSED):
            # The therapist's account cannot take charges: held, never declined to the client.
            notices = machine.hold_charge(session, pending, result, self._now())
            self._publish_status()
            self._notify(notices)
            self._log(
                logging.WARNING,
                "charge held: the therapist's account cannot take charges",
                attempt=attempt,
                reason=result.code,
                next_check=session.payment.next_charge_at,
            )
            return
        # Stripe refusing our request (or a fault of ours) is not a card decline: since the outage
        # patch it is told to nobody (ops see the ERROR); histories from before replay the notice.
        tell_refusals = result.outcome is ChargeOutcome.FAILED and not workflow.patched(
            CHARGE_OUTAGE_IS_NOT_A_DECLINE
        )
        notices = machine.finish_charge(session, pending, result, tell_refusals=tell_refusals)
        self._publish_status()
        self._notify(notices)
        self._log(
            logging.INFO,
            "charge attempt finished",
            attempt=attempt,
            outcome=result.outcome.value,
            decline_code=result.decline_code,
        )

    def _cancel_held(self, now: datetime) -> None:
        """Still held at the auto-cancel: the therapist's cancellation (the client is never at
        fault); the main loop then voids anything left open and releases the time."""
        notices = machine.cancel_held(self._session, now)
        self._publish_status()
        self._notify(notices, now)
        if self._session.status.is_cancelled:
            self._log(logging.INFO, "held session cancelled as the therapist's cancellation")
        else:
            self._charge_given_up()

    async def _paid_or_moved_meanwhile(self) -> bool:
        """Read the PaymentIntent before the auto-cancel; True when the session is no longer owed a
        charge (paid on-session, or a command or fact arrived during the read): re-plan."""
        session = self._session
        request = machine.payment_read_request(session)
        try:
            read = await call_stripe(PaymentActivities.read, request, "read payment")
        except ActivityError as failure:
            if stripe_unreachable(failure):
                count_stripe_unreachable("read", failure)
            # Stripe unreachable: cancel as before; a payment the void then finds is refunded.
            self._log(logging.WARNING, "payment unread before the auto-cancel", reason=failure_type(failure))
        else:
            notices = machine.apply_payment_read(session, read)
            self._publish_status()
            self._notify(notices)
        return not machine.charge_owed(session)

    async def _refund(self) -> None:
        session = self._session
        request = machine.begin_refund(session)
        if request.extra:
            self._log(
                logging.ERROR,
                "the session was paid twice: refunding the second payment in full",
                payment_intent_id=request.payment_intent_id,
            )
        try:
            result = await call_stripe(PaymentActivities.refund, request, f"refund {request.refund_number}")
        except ActivityError as failure:
            if stripe_unreachable(failure):
                count_stripe_unreachable("refund", failure)
            self._block("refund", f"refund: {failure_type(failure)}")
            return
        announcement = machine.apply_refund_result(session, request, result)
        if announcement is None or (
            announcement.lost_answer and not workflow.patched(REFUND_ANNOUNCED_AFTER_LOST_ANSWER)
        ):
            return
        now = self._now()
        self._notify([machine.announce_refund(session, request, result, announcement.amount_minor, now)])

    async def _void(self) -> None:
        session = self._session
        request = machine.begin_void(session)
        try:
            result = await call_stripe(PaymentActivities.void, request, "void pending payment")
        except ActivityError as failure:
            if stripe_unreachable(failure):
                count_stripe_unreachable("void", failure)
            self._block("void", f"void: {failure_type(failure)}")
            return
        refused = machine.apply_void_result(session, result)
        if refused is not None:
            self._block("void", refused)

    def _charge_given_up(self) -> None:
        """The charge needs a person now (``payment.ops_blocked``): ops hear of it, loudly."""
        reason = self._session.payment.ops_blocked or "unknown"
        count_charge_given_up(reason)
        self._log(logging.ERROR, "charge given up: the session needs ops", reason=reason)

    def _block(self, operation: str, reason: str) -> None:
        machine.block(self._session, reason, self._now())
        count_money_blocked(operation, self._session.status.value)
        self._log(logging.ERROR, "money work refused by Stripe; will retry", reason=reason)

    async def _release_time(self) -> None:
        """Free a cancelled session's time at the practice. Only sessions booked with a claim
        (their input says so) or moved since take this step, so no running session's commands
        change."""
        try:
            await call_practice_patiently(
                PracticeActivities.release_time, session_time.release_call(self._session)
            )
        except ActivityError as failure:
            self._log(
                logging.ERROR, "session time not released; it lapses at the end", reason=failure_type(failure)
            )
        machine.time_released(self._session)

    # ----------------------------------------------------------------------------- updates

    def _received(self, claimed: datetime | None) -> datetime:
        return commands.receipt_time(claimed, self._now())

    @workflow.update
    def cancel(self, request: CancelRequest) -> CancelResult:
        session = self._session
        received_at = self._received(request.received_at)
        result, notices = checked(lambda: commands.cancel(session, request, received_at, self._now()))
        self._publish_status()
        self._changed = True
        self._notify(notices)
        self._log(logging.INFO, "session cancelled", status=result.status.value)
        return result

    @cancel.validator
    def _validate_cancel(self, request: CancelRequest) -> None:
        checked(lambda: commands.check_cancel(self._session, self._now(), request.acting_party))

    @workflow.update
    async def reschedule(self, request: RescheduleRequest) -> RescheduleResult:
        session = self._session
        received_at = self._received(request.received_at)
        if not workflow.patched(MOVE_CLAIMS_TIME):
            return self._move(request, received_at)
        # The new time is claimed in the practice's serialised updates (another session's time or
        # another client's slot refuses it) before the move is recorded; one move at a time.
        checked(lambda: commands.check_reschedule(session, request, self._now()))
        session.moving = True
        try:
            number = machine.next_claim_number(session)
            # From here the practice may hold a time for this session (even if the answer is
            # lost): a cancellation must release it.
            session.holds_time = True
            try:
                await call_practice(
                    PracticeActivities.claim_time,
                    session_time.move_claim_call(session, request.new_start, number),
                    local=self._lean,
                )
            except ApplicationError as failure:
                if failure.type == "practice_unavailable":
                    # The claim may have landed with its answer lost: hold the current time again.
                    await self._restore_time()
                raise
            session.moving = False  # claimed: the move is recorded (or refused) at once
            try:
                return self._move(request, received_at)
            except ApplicationError:
                session.moving = True  # no other move while the own time is claimed back
                await self._restore_time()
                raise
        finally:
            session.moving = False

    def _move(self, request: RescheduleRequest, received_at: datetime) -> RescheduleResult:
        result = checked(lambda: commands.reschedule(self._session, request, received_at, self._now()))
        moved = [SESSION_START.value_set(result.start)]
        if self._lean:
            moved.append(SESSION_END.value_set(self._session.end))
        workflow.upsert_search_attributes(moved)
        self._changed = True
        self._notify(commands.reschedule_notices(self._session))
        return result

    async def _restore_time(self) -> None:
        """A move claimed its new time and was then refused (the session changed meanwhile): hold
        the session's own time again. A cancelled session releases its time instead (main loop);
        a claim the practice did not answer is retried from the main loop."""
        session = self._session
        if session.status.is_cancelled:
            self._changed = True
            return
        number = machine.next_claim_number(session)
        try:
            await call_practice(
                PracticeActivities.claim_time,
                session_time.restore_claim_call(session, number),
                local=self._lean,
            )
        except ApplicationError as failure:
            if failure.type == "practice_unavailable":
                machine.restore_later(session)
                self._changed = True
            else:
                self._log(logging.ERROR, "session time taken during a refused move", reason=failure.type)

    async def _restore_time_patiently(self) -> None:
        """The main loop's retry of a refused move's restore (the practice did not answer)."""
        session = self._session
        number = machine.next_claim_number(session)
        try:
            await call_practice_patiently(
                PracticeActivities.claim_time, session_time.restore_claim_call(session, number)
            )
        except ActivityError as failure:
            self._log(
                logging.ERROR, "session time not restored after a refused move", reason=failure_type(failure)
            )
        machine.time_restored(session)

    @reschedule.validator
    def _validate_reschedule(self, request: RescheduleRequest) -> None:
        checked(lambda: commands.check_reschedule(self._session, request, self._now()))

    @workflow.update
    def update_payment_method(self, update: PaymentMethodUpdate) -> PaymentMethodUpdateResult:
        result = checked(lambda: commands.update_payment_method(self._session, update, self._now()))
        if result.retrying_now:
            self._changed = True
        return result

    @update_payment_method.validator
    def _validate_payment_method(self, update: PaymentMethodUpdate) -> None:
        checked(lambda: commands.check_payment_method_update(self._session, self._now(), update.acting_party))

    @workflow.update
    async def charge_answer(self, request: ChargeAnswerRequest) -> ChargeAnswer:
        """The answer to the charge a command just caused, once Stripe gave it: for the client who
        is present, with the client secret when their bank asks for 3-D Secure. Read-only; it
        issues no command (no timer: the caller bounds its wait), so no running session changes."""
        session = self._session

        def answered() -> bool:
            return not machine.charge_answer_pending(session, self._now())

        if workflow.patched(CHARGE_ANSWER_BOUNDED):
            # Bounded like every handler's wait: a caller gone for good must not leave it waiting
            # until the charge ends; past the bound the answer is "not answered yet".
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(answered, timeout=CHARGE_ANSWER_HOLD)
        else:
            await workflow.wait_condition(answered)
        return machine.charge_answer(session, self._now())

    @workflow.update
    def refund(self, request: SessionRefund) -> SessionRefundResult:
        """A therapist's or admin's refund, in full or in part, any time after the payment was
        captured; the main loop pays it back. Once this workflow has closed, refunds go through
        ``SessionRefundsWorkflow`` (``workflows/refunds.py``)."""
        session = self._session
        received_at = self._received(request.received_at)
        info = workflow.current_update_info()
        request_id = info.id if info is not None else None
        result = checked(lambda: commands.refund(session, request, received_at, request_id))
        self._changed = True
        self._log(
            logging.INFO, "refund granted", reason=request.reason.value, amount_minor=result.amount_minor
        )
        return result

    @refund.validator
    def _validate_refund(self, request: SessionRefund) -> None:
        checked(lambda: commands.check_session_refund(self._session, request))

    @workflow.update
    def mark_no_show(self, request: NoShowRequest) -> NoShowResult:
        """The client is not attending, from the session's start; the attendance update follows."""
        session = self._session
        received_at = self._received(request.received_at)
        result = checked(lambda: attendance.mark_no_show(session, request, received_at))
        if not result.already_marked:
            self._publish_status()
            self._changed = True
            self._log(logging.INFO, "client marked as not attending")
        return result

    @mark_no_show.validator
    def _validate_no_show(self, request: NoShowRequest) -> None:
        session = self._session
        checked(lambda: attendance.check_no_show(session, request, self._received(request.received_at)))

    @workflow.update
    async def file_attendance(self, update: AttendanceUpdate) -> AttendanceResult:
        """The therapist's attendance update: claim its time, record it, then carry it out."""
        session = self._session
        received_at = self._received(update.received_at)
        checked(lambda: attendance.begin_filing(session, update, received_at))
        effects = AttendanceEffects()
        try:
            # Another client's reserved time refuses the whole update before anything is recorded.
            effects.reserved_slot_id = await self._claim_time(update, effects)
        except BaseException:
            attendance.abandon_filing(session)
            if self._unreported_close and machine.unreported_due(session, self._now()):
                # Its deadline passed while it was being filed: the close it held back is due now.
                self._changed = True
            raise
        plan = attendance.record_attendance(session, update, received_at)
        self._publish_status()
        self._changed = True
        # From here the update stands: an effect that fails is reported, and the session still
        # completes (a stuck session would hide it from every list).
        await self._carry_out(update, plan, effects)
        if effects.incomplete:
            self._log(logging.ERROR, "attendance effects incomplete", effects=",".join(effects.incomplete))
        result = attendance.finish_attendance(session, update, plan, effects)
        self._changed = True
        rebooked = bool(effects.follow_up_session_id)
        self._log(logging.INFO, "attendance update filed", outcome=update.outcome.value, rebooked=rebooked)
        return result

    @file_attendance.validator
    def _validate_attendance(self, update: AttendanceUpdate) -> None:
        session = self._session
        checked(lambda: attendance.check_attendance(session, update, self._received(update.received_at)))

    async def _claim_time(self, update: AttendanceUpdate, effects: AttendanceEffects) -> str | None:
        """Claim the follow-up's time and reserve the weekly slot, as asked; the reserved slot's
        id. Raises the practice's refusal."""
        session = self._session
        if workflow.patched(FOLLOW_UP_CLAIMS_TIME):
            rule = attendance.reserved_slot_rule(session, update)
            if start := attendance.follow_up_start(session, update):
                number = machine.next_claim_number(session)
                claim = session_time.follow_up_claim_call(session, start, rule, number)
                claimed = await call_practice(PracticeActivities.claim_time, claim, local=self._lean)
                effects.follow_up_time_claimed = True
                # The practice's current account, as its recorded answer says (no new command).
                effects.follow_up_account_id = claimed.payment_account_id
                return str(claimed.reserved.slot_id) if claimed.reserved is not None else None
            if rule is not None:
                reserved = await call_practice(
                    PracticeActivities.reserve_slot,
                    attendance.reserve_slot_call(session, rule),
                    local=self._lean,
                )
                return str(reserved.slot_id)
            return None
        if rule := attendance.reserved_slot_rule(session, update):
            call = attendance.reserve_slot_call(session, rule)
            reserved = await call_practice(PracticeActivities.reserve_slot, call)
            # A replaced slot of the same client is a move, not a removal: no banner for it.
            return str(reserved.slot_id)
        if start := attendance.follow_up_start(session, update):
            await call_practice(
                PracticeActivities.check_booking_time, attendance.booking_time_call(session, start)
            )
        return None

    async def _carry_out(
        self, update: AttendanceUpdate, plan: AttendancePlan, effects: AttendanceEffects
    ) -> None:
        session = self._session
        if plan.follow_up_start is not None:
            try:
                effects.follow_up_session_id = await self._book_follow_up(plan, effects)
            except (ApplicationError, ActivityError):
                effects.incomplete.append("book_follow_up")
                # A child start that failed never started; a client start whose answer never came
                # may have (a lean session's): its time stays held for ops to settle, never freed
                # under a follow-up that may exist.
                if effects.follow_up_time_claimed and not self._lean:
                    # No follow-up holds the claimed time: free it for other bookings.
                    await self._effect(
                        "release_follow_up_time", session_time.follow_up_release_call(session), effects
                    )
        if plan.release_slots:
            call = attendance.release_slots_call(session)
            if released := await self._effect("release_slots", call, effects):
                effects.released_slot_ids.extend(released.released_slot_ids)
        if plan.end_relationship:
            end_call = attendance.end_relationship_call(session, update)
            if ended := await self._effect("end_relationship", end_call, effects):
                effects.released_slot_ids.extend(ended.released_slot_ids)
                self._notify(attendance.relationship_ended_notices(session, update))
        if plan.cancel_future_sessions:
            cancel_call = attendance.cancel_future_sessions_call(session)
            if future := await self._effect("cancel_future_sessions", cancel_call, effects):
                effects.cancelled_session_ids.extend(future.session_ids)
        self._notify(attendance.slot_released_notices(effects.released_slot_ids))
        self._notify(attendance.slot_reserved_notices(session, effects.reserved_slot_id))

    async def _effect(self, code: str, call: Any, effects: AttendanceEffects) -> Any:
        """One practice effect of a recorded update; a failure is reported (``code``, part of the
        result's ``incomplete_effects``), never raised."""
        try:
            # Cancelling future sessions pages through visibility and heartbeats: an activity of its
            # own; the others are one practice update each, run inside the update's task.
            local = self._lean and code != "cancel_future_sessions"
            return await call_practice(_PRACTICE_EFFECTS[code], call, local=local)
        except (ApplicationError, ActivityError):
            effects.incomplete.append(code)
            return None

    async def _book_follow_up(self, plan: AttendancePlan, effects: AttendanceEffects) -> str:
        session = self._session
        follow_up = attendance.follow_up_input(
            session,
            plan,
            self._now(),
            time_claimed=effects.follow_up_time_claimed,
            practice_account_id=effects.follow_up_account_id,
        )
        follow_up_id = follow_up.booking.session_id
        if self._lean:
            # A client start from a local activity: the follow-up's own start is its one Action
            # (a child start bills two here) and it runs inside this workflow task.
            await start_follow_up(FollowUpStart(follow_up=follow_up, booked_by_session_id=session.session_id))
            self._notify(attendance.follow_up_notices(session, follow_up))
            return follow_up_id
        await workflow.start_child_workflow(
            SessionWorkflow.run,
            follow_up,
            id=session_workflow_id(follow_up_id),
            # The follow-up lives its own life: this session completes long before it happens.
            parent_close_policy=ParentClosePolicy.ABANDON,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            search_attributes=session_search_attributes(follow_up.booking),
            static_summary=f"follow-up of session {session.session_id}",
        )
        self._notify(attendance.follow_up_notices(session, follow_up))
        return follow_up_id

    # ----------------------------------------------------------------------------- effects

    def _notify(self, notices: list[Notice], occurred_at: datetime | None = None) -> None:
        for notice in notices:
            try:
                notification = notice.to_notification(self._session, occurred_at or self._now())
            except ValueError:
                # An unexpected code must not wedge the session: a missing notification is logged.
                self._log(logging.ERROR, "notification could not be built", type=notice.type.value)
                continue
            if self._lean:
                self._unsent.append(notification)  # leaves with the task's other notices
            else:
                self._outbox.append(asyncio.create_task(deliver(notification)))

    def _log(self, level: int, message: str, **fields: object) -> None:
        # Opaque ids and codes only: never a name, a note or a free-text reason.
        workflow.logger.log(level, message, extra={"session_id": self._session.session_id, **fields})

    def _publish_status(self) -> None:
        # Each upsert is a billed Action: only when the visible status really changes. A lean
        # session publishes only while it waits (``_publish_while_waiting``).
        if self._lean:
            return
        status = self._session.status.value
        if workflow.info().typed_search_attributes.get(SESSION_STATUS) != status:
            workflow.upsert_search_attributes([SESSION_STATUS.value_set(status)])

    async def _send_notices(self) -> None:
        """A lean session's outbox: whatever one workflow task noticed leaves in one local
        activity (one Action for every local activity of the task)."""
        while True:
            await workflow.wait_condition(lambda: bool(self._unsent))
            batch, self._unsent = self._unsent, []
            self._sending = True
            try:
                unavailable = await deliver_batch(batch)
            finally:
                self._sending = False
            # Each notice the backend could not take now gets an activity of its own, retried for a
            # day, and the later notices go out meanwhile.
            self._outbox += [asyncio.create_task(deliver(notification)) for notification in unavailable]

    async def _publish_while_waiting(self) -> None:
        """A lean session's search attributes follow it only when it waits and no handler runs: a
        status seen for milliseconds (``payment_due`` during a charge, ``attended`` before the
        close) costs no upsert, and the changes of one task make one upsert."""
        while True:
            await workflow.wait_condition(self._settled)
            self._publish()

    def _settled(self) -> bool:
        """The main loop waits and will not wake in this task, no handler runs, and the published
        search attributes are behind the session."""
        waiting_for = self._waiting_for
        return (
            waiting_for is not None
            and not waiting_for()
            and workflow.all_handlers_finished()
            and bool(self._unpublished())
        )

    def _unpublished(self) -> list[Any]:
        """The search-attribute updates that would bring the published ones up to the session."""
        session = self._session
        published = workflow.info().typed_search_attributes
        updates: list[Any] = []
        if published.get(SESSION_STATUS) != session.status.value:
            updates.append(SESSION_STATUS.value_set(session.status.value))
        intent = session.payment.payment_intent_id
        if (
            session.payment.status is PaymentStatus.PAID
            and intent
            and published.get(PAYMENT_INTENT) != intent
        ):
            # With its paid status: the webhook route can tell a payment the session knows.
            updates.append(PAYMENT_INTENT.value_set(intent))
        return updates

    def _publish(self) -> None:
        if updates := self._unpublished():
            workflow.upsert_search_attributes(updates)

    # ----------------------------------------------------------------------------- facts, reads

    @workflow.signal
    def payment_event(self, event: PaymentEvent) -> None:
        """A Stripe webhook fact; duplicates and stale events change nothing."""
        if self._lean:
            machine.catch_up_end(self._session, self._now())
        outcome = machine.apply_payment_event(self._session, event)
        self._publish_status()
        self._notify(outcome.notices)
        # Waking the main loop restarts its timer (a billed Action): only for facts that matter.
        if outcome.wakes:
            self._changed = True

    @workflow.signal
    def payment_account_event(self, fact: AccountChargesFact) -> None:
        """The therapist's connected account can take charges again (read from Stripe after an
        ``account.updated``): a held charge runs at once; any other session changes nothing."""
        if machine.resume_held(self._session, fact):
            self._log(logging.INFO, "held charge resumed: the therapist's account can charge again")
            self._changed = True

    @workflow.signal
    def dispute_event(self, fact: DisputeFact) -> None:
        """A Stripe dispute fact (``domain.disputes``); duplicates and stale ones change nothing."""
        if not workflow.patched(DISPUTES_ANSWERED):
            return  # never reached: a history without the marker never had this signal
        outcome = session_disputes.apply_dispute(
            self._session, fact, by_dispute_id=workflow.patched(DISPUTES_BY_ID)
        )
        if outcome.foreign:
            # Another account's dispute, or of a PaymentIntent this session never had: never its.
            self._log(logging.WARNING, "dispute not the session's ignored", dispute_id=fact.dispute_id)
        if not outcome.change.applied:
            return
        record = self._session.dispute
        assert record is not None
        count_dispute(record.status.value)
        self._log(
            logging.WARNING if outcome.change.opened else logging.INFO,
            "dispute recorded",
            dispute_id=record.dispute_id,
            dispute_status=record.status.value,
            reason=record.reason,
            refund_held_minor=record.refund_held_minor,
        )
        self._notify(outcome.notices)
        self._changed = True
        if outcome.change.opened and needs_response(record) and workflow.patched(DISPUTE_EVIDENCE_SUBMITTED):
            # Awaited with the notices before the session closes.
            self._outbox.append(asyncio.create_task(self._submit_evidence(record)))
        elif outcome.change.escalated and workflow.patched(DISPUTE_EVIDENCE_EVERY_ANSWER):
            # An inquiry became a chargeback: the bank asks again, and is answered again.
            self._outbox.append(asyncio.create_task(self._submit_evidence(record)))

    async def _submit_evidence(self, record: DisputeRecord) -> None:
        """Hand the evidence pack to Stripe's Dispute API (when the worker is configured to)."""
        request = EvidenceSubmission(
            session_id=self._session.session_id,
            dispute_id=record.dispute_id,
            account=record.account,
            evidence=self._evidence(),
            stage=evidence_stage(record),
        )
        try:
            answer = await call_stripe(DisputeActivities.submit_evidence, request, "dispute evidence")
        except ActivityError as failure:
            reason = failure_type(failure)
            self._log(
                logging.ERROR, "dispute evidence not submitted", dispute_id=record.dispute_id, reason=reason
            )
            return
        self._log(
            logging.INFO,
            "dispute evidence submitted" if answer.submitted else "dispute evidence exported",
            dispute_id=record.dispute_id,
            dispute_status=answer.status,
        )

    def _evidence(self) -> DisputeEvidence:
        session = self._session
        source = EvidenceSource(
            state=session.snapshot(),
            booking=session.booking,
            policy=session.policy,
            booked_at=self._booked_at,
        )
        return evidence_pack(source)

    @workflow.query
    def dispute_evidence(self) -> DisputeEvidence:
        """The evidence pack for a disputed charge, from the recorded history (no free text)."""
        return self._evidence()

    @workflow.query
    def state(self) -> SessionState:
        return self._session.snapshot()

    @workflow.query
    def cancel_preview(self, request: CancelRequest) -> CancelPreviewAnswer:
        """What ``cancel`` would answer for this request at its receipt time; changes nothing."""
        received_at, now = self._preview_instants(request.received_at)
        try:
            preview = commands.preview_cancel(self._session, request, received_at, now)
        except RuleViolation as violation:
            return CancelPreviewAnswer(refused=commands.refusal(violation))
        return CancelPreviewAnswer(preview=preview)

    @workflow.query
    def reschedule_preview(self, request: RescheduleRequest) -> ReschedulePreviewAnswer:
        """What ``reschedule`` would answer for this request at its receipt time; changes nothing."""
        received_at, now = self._preview_instants(request.received_at)
        try:
            preview = commands.preview_reschedule(self._session, request, received_at, now)
        except RuleViolation as violation:
            return ReschedulePreviewAnswer(refused=commands.refusal(violation))
        return ReschedulePreviewAnswer(preview=preview)

    def _preview_instants(self, claimed: datetime | None) -> tuple[datetime, datetime]:
        """The receipt time and clock a preview is judged on. A query runs on the workflow's
        clock as of its last task, which may be hours behind while it sleeps: the API's stamp is
        the instant the real command would be judged on, so the clock is brought up to it."""
        now = self._now() if claimed is None else max(self._now(), claimed)
        return commands.receipt_time(claimed, now), now

    @workflow.query
    def booking(self) -> SessionBooking:
        """The booking as it was made (for idempotent re-booking checks)."""
        return self._session.booking
