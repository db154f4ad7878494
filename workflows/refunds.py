"""SessionRefundsWorkflow: refunds of a session whose own workflow has closed.

A session's workflow ends soon after the session completes or is cancelled (nothing left to
charge, refund or void), yet a therapist may refund it later: a late cancellation refunded in
part the next day, a completed session refunded after a complaint. Keeping every session's
workflow open for months "in case" would leave every completed and cancelled session running
(and change when every session's workflow closes, which callers and tests wait on); instead a
refund on a closed session starts this short-lived-in-Actions workflow, one per session
(``session-{id}:refunds``, update-with-start, ``USE_EXISTING``), which:

* starts from the closed session's final ledger (``ClosedSessionRefunds.of_closed_session``): what
  was captured, what is back, and how many refund requests were made, so its Stripe keys
  (``session:{id}:refund:{m}``) carry on from the session's and never repeat one;
* serialises every later refund of the session (its updates run one at a time on one state), so
  partial refunds add up exactly and never exceed what was captured;
* pays by the same "top up to a target" refund activity as the session, so a lost answer or a
  retried request never refunds twice;
* lives for ``REFUND_PERIOD_AFTER_CLOSE`` after the session closed (one timer), then closes; a
  refund after that is ``refund_window_closed`` (its id is never reused).

A dispute of the closed session's charge reaches this workflow too (signal ``dispute_event``, by
signal-with-start from the webhook route): while it is open or lost no refund is paid or granted
(``charge_disputed``), and one granted before is paid once it is won (``domain.disputes``). When
the refund period ends while an open dispute holds a refund, the workflow waits for that dispute's
close (the webhook route still signals it past the period), at most ``DISPUTE_DECISION_BOUND``
(Stripe's own timeline, with margin); then it reads the dispute from Stripe and, if still open,
hands the session to ops and closes (``refunds-wait-for-open-dispute``).

The two paths never overlap: the API sends a refund to the session's workflow while it runs and
here only once it has closed, and a closed session's workflow never runs again (its id is
never reused), so no refund is ever owed by both.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.disputes import DisputeActivities
    from activities.payments import PaymentActivities
    from contract.refunds import SESSION_REFUNDS_WORKFLOW_TYPE
    from domain import refunds as rules
    from domain import session_disputes
    from domain.dispute_evidence import DisputeEvidence, EvidenceSubmission, evidence_stage
    from domain.disputes import (
        DisputeFact,
        DisputeLookup,
        DisputeRecord,
        DisputeStatus,
        fact_read_from_stripe,
        needs_response,
    )
    from domain.payments import RefundRequest, RefundResult
    from domain.refunds import (
        DISPUTE_OPEN_PAST_BOUND,
        ClosedSessionRefunds,
        SessionRefund,
        SessionRefundResult,
    )
    from domain.session import BLOCKED_MONEY_RETRY
    from workflows.calls import (
        call_stripe,
        checked,
        count_dispute,
        count_money_blocked,
        count_stripe_unreachable,
        deliver,
        failure_type,
        stripe_unreachable,
    )
    from workflows.patches import (
        DISPUTE_EVIDENCE_EVERY_ANSWER,
        DISPUTES_ANSWERED,
        DISPUTES_BY_ID,
        REFUNDS_WAIT_FOR_OPEN_DISPUTE,
    )


@workflow.defn(name=SESSION_REFUNDS_WORKFLOW_TYPE)
class SessionRefundsWorkflow:
    @workflow.init
    def __init__(self, refunds: ClosedSessionRefunds) -> None:
        self._refunds = refunds.model_copy(deep=True)
        self._outbox: list[asyncio.Task[None]] = []
        self._changed = False
        self._blocked_until: datetime | None = None
        self._waits_for_dispute = False
        """Past the refund period, waiting for the close of a dispute that holds a refund."""

    @workflow.run
    async def run(self, refunds: ClosedSessionRefunds) -> ClosedSessionRefunds:
        state = self._refunds
        while True:
            self._changed = False
            now = workflow.now()
            if state.refund_due() > 0 and (self._blocked_until is None or now >= self._blocked_until):
                await self._refund()
                continue
            wake_at = state.closes_at if self._blocked_until is None else self._blocked_until
            if now >= state.closes_at and state.refund_due() == 0:
                awaited = state.awaited_dispute()
                if awaited is None or not self._wait_for_dispute():
                    break
                wake_at = state.dispute_wait_ends(awaited)
                if now >= wake_at:
                    if await self._read_dispute(awaited):
                        continue
                    break
            delay = max(wake_at - now, timedelta(seconds=1))
            with contextlib.suppress(TimeoutError):  # the refund period ended, or a retry is due
                await workflow.wait_condition(
                    lambda: self._changed,
                    timeout=delay,
                    timeout_summary="dispute close" if self._waits_for_dispute else "refund",
                )
        await workflow.wait_condition(
            lambda: workflow.all_handlers_finished() and all(task.done() for task in self._outbox)
        )
        return state

    def _wait_for_dispute(self) -> bool:
        """Whether this run waits past the period for a dispute holding a refund (the patch: a
        run recorded before closed with the refund held)."""
        if not self._waits_for_dispute and workflow.patched(REFUNDS_WAIT_FOR_OPEN_DISPUTE):
            self._waits_for_dispute = True
            self._log(logging.INFO, "refund period over; waiting for the dispute holding a refund")
        return self._waits_for_dispute

    async def _read_dispute(self, record: DisputeRecord) -> bool:
        """Stripe's own timeline is over and no close reached us (a lost webhook, or a dispute
        still open): read it. A close is applied as its webhook would have been (True: plan again);
        still open, or unreadable, hands the held refund to ops and the workflow closes (False)."""
        lookup = DisputeLookup(
            session_id=self._refunds.session_id, dispute_id=record.dispute_id, account=record.account
        )
        status: DisputeStatus | None = None
        try:
            status = (await call_stripe(DisputeActivities.read, lookup, "dispute read")).status
        except ActivityError as failure:
            self._log(
                logging.ERROR, "dispute not read", dispute_id=record.dispute_id, reason=failure_type(failure)
            )
        if status is not None and status is not record.status:
            self.dispute_event(fact_read_from_stripe(record, status, workflow.now()))
            if self._changed:
                return True
        self._refunds.blocked_reason = DISPUTE_OPEN_PAST_BOUND
        count_money_blocked("refund_held_by_dispute", "closed")
        self._log(
            logging.ERROR,
            "refund held by a dispute still open after Stripe's timeline; handed to ops",
            dispute_id=record.dispute_id,
            dispute_status=status.value if status is not None else None,
            amount_minor=record.refund_held_minor,
        )
        return False

    async def _refund(self) -> None:
        state = self._refunds
        request = rules.begin_closed_refund(state)
        try:
            result = await call_refund(request)
        except ActivityError as failure:
            if stripe_unreachable(failure):
                count_stripe_unreachable("refund", failure)
            state.blocked_reason = f"refund: {failure_type(failure)}"
            count_money_blocked("refund", "closed")
            self._blocked_until = workflow.now() + BLOCKED_MONEY_RETRY
            self._log(logging.ERROR, "refund refused by Stripe; will retry", reason=state.blocked_reason)
            return
        self._blocked_until = None
        amount = rules.apply_closed_refund_result(state, request, result)
        if amount > 0:
            notification = rules.refund_issued(state, request, result, amount, workflow.now())
            self._outbox.append(asyncio.create_task(deliver(notification)))

    @workflow.update
    def refund(self, request: SessionRefund) -> SessionRefundResult:
        request_id = _update_id()
        result = checked(
            lambda: rules.grant_closed_refund(self._refunds, request, workflow.now(), request_id)
        )
        self._blocked_until = None  # news: a refund Stripe refused is tried again with this one
        self._changed = True
        self._log(
            logging.INFO, "refund granted", reason=request.reason.value, amount_minor=result.amount_minor
        )
        return result

    @refund.validator
    def _validate_refund(self, request: SessionRefund) -> None:
        request_id = _update_id()
        checked(lambda: rules.check_closed_refund(self._refunds, request, workflow.now(), request_id))

    @workflow.signal
    def dispute_event(self, fact: DisputeFact) -> None:
        """A dispute of the closed session's charge (``domain.disputes``): recorded; a refund is
        held while it is open or lost, and one held is paid once it is won."""
        if not workflow.patched(DISPUTES_ANSWERED):
            return  # never reached: a history without the marker never had this signal
        if self._waits_for_dispute and not self._refunds.takes_after_period(fact):
            return  # past the period only the awaited dispute's news counts
        change, notices = session_disputes.apply_closed_dispute(
            self._refunds, fact, workflow.now(), by_dispute_id=workflow.patched(DISPUTES_BY_ID)
        )
        if not change.applied:
            return
        record = self._refunds.dispute
        assert record is not None
        count_dispute(record.status.value)
        self._log(
            logging.WARNING if change.opened else logging.INFO,
            "dispute recorded",
            dispute_id=record.dispute_id,
            dispute_status=record.status.value,
            reason=record.reason,
        )
        self._outbox += [asyncio.create_task(deliver(notification)) for notification in notices]
        self._blocked_until = None  # a refund Stripe refused (charge_disputed) is tried again on news
        self._changed = True
        asks = (change.opened and needs_response(record)) or change.escalated
        if asks and self._refunds.evidence is not None and workflow.patched(DISPUTE_EVIDENCE_EVERY_ANSWER):
            # Most disputes come after the session closed: answered from the pack it closed with,
            # awaited before this workflow closes.
            self._outbox.append(asyncio.create_task(self._submit_evidence(record, self._refunds.evidence)))
        elif asks:
            self._log(logging.WARNING, "dispute evidence left to the export", dispute_id=record.dispute_id)

    async def _submit_evidence(self, record: DisputeRecord, evidence: DisputeEvidence) -> None:
        """Hand the evidence pack to Stripe's Dispute API (when the worker is configured to), as
        SessionWorkflow does for a dispute of a running session."""
        request = EvidenceSubmission(
            session_id=self._refunds.session_id,
            dispute_id=record.dispute_id,
            account=record.account,
            evidence=evidence,
            stage=evidence_stage(record),
        )
        try:
            answer = await call_stripe(DisputeActivities.submit_evidence, request, "dispute evidence")
        except ActivityError as failure:
            self._log(
                logging.ERROR,
                "dispute evidence not submitted",
                dispute_id=record.dispute_id,
                reason=failure_type(failure),
            )
            return
        self._log(
            logging.INFO,
            "dispute evidence submitted" if answer.submitted else "dispute evidence exported",
            dispute_id=record.dispute_id,
            dispute_status=answer.status,
        )

    @workflow.query
    def state(self) -> ClosedSessionRefunds:
        return self._refunds.model_copy(deep=True)

    def _log(self, level: int, message: str, **fields: object) -> None:
        # Opaque ids and codes only.
        workflow.logger.log(level, message, extra={"session_id": self._refunds.session_id, **fields})


def _update_id() -> str | None:
    """The request's id: a retry of a request the session granted before it closed is found by it."""
    info = workflow.current_update_info()
    return info.id if info is not None else None


async def call_refund(request: RefundRequest) -> RefundResult:
    return await call_stripe(PaymentActivities.refund, request, f"refund {request.refund_number}")
