"""The session workflow as its callers see it: type name, handle type, updates, signal, queries.

The handler names are the ``SessionWorkflow`` methods' names (``@workflow.update`` without a
name); tests/unit/test_contract.py fails when the workflow and this module disagree.
"""

from __future__ import annotations

from typing import Any

from temporalio.client import WorkflowHandle

from contract.messages import NO_ARGUMENT, Query, Signal, Update
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
from domain.dispute_evidence import DisputeEvidence
from domain.disputes import DisputeFact
from domain.payments import PaymentEvent
from domain.presence import ChargeAnswer, ChargeAnswerRequest
from domain.refunds import SessionRefund, SessionRefundResult
from domain.session_attendance import NoShowRequest, NoShowResult
from domain.state import SessionState

SESSION_WORKFLOW_TYPE = "SessionWorkflow"

SessionHandle = WorkflowHandle[Any, SessionState]
"""A session workflow's handle; its result is the final ``SessionState``."""

SESSION_CANCEL = Update("cancel", CancelRequest, CancelResult)
SESSION_RESCHEDULE = Update("reschedule", RescheduleRequest, RescheduleResult)
SESSION_UPDATE_PAYMENT_METHOD = Update(
    "update_payment_method", PaymentMethodUpdate, PaymentMethodUpdateResult
)
SESSION_FILE_ATTENDANCE = Update("file_attendance", AttendanceUpdate, AttendanceResult)
SESSION_CHARGE_ANSWER = Update("charge_answer", ChargeAnswerRequest, ChargeAnswer)
"""Waits until the charge a command just caused (a client's booking, a new card) is answered;
changes nothing. The API bounds the wait and sends no update id of its own (each ask is new)."""
SESSION_REFUND = Update("refund", SessionRefund, SessionRefundResult)
SESSION_MARK_NO_SHOW = Update("mark_no_show", NoShowRequest, NoShowResult)
SESSION_PAYMENT_EVENT = Signal("payment_event", PaymentEvent)
"""A Stripe webhook fact (deduplicated by event id in the workflow)."""
SESSION_DISPUTE_EVENT = Signal("dispute_event", DisputeFact)
"""A Stripe dispute fact (``charge.dispute.*``, confirmed); duplicates and stale ones change nothing."""
SESSION_DISPUTE_EVIDENCE = Query("dispute_evidence", NO_ARGUMENT, DisputeEvidence)
"""The evidence pack built from the session's recorded history (``domain.dispute_evidence``)."""
SESSION_STATE = Query("state", NO_ARGUMENT, SessionState)
SESSION_BOOKING = Query("booking", NO_ARGUMENT, SessionBooking)
"""The booking as it was made (for idempotent re-booking checks)."""

SESSION_CANCEL_PREVIEW = Query("cancel_preview", CancelRequest, CancelPreviewAnswer)
"""What ``cancel`` would answer for this request at its receipt time (adds nothing to history)."""
SESSION_RESCHEDULE_PREVIEW = Query("reschedule_preview", RescheduleRequest, ReschedulePreviewAnswer)
"""What ``reschedule`` would answer for this request at its receipt time (adds nothing to history)."""

SESSION_UPDATES: tuple[Update[Any, Any], ...] = (
    SESSION_CANCEL,
    SESSION_RESCHEDULE,
    SESSION_UPDATE_PAYMENT_METHOD,
    SESSION_FILE_ATTENDANCE,
    SESSION_CHARGE_ANSWER,
    SESSION_REFUND,
    SESSION_MARK_NO_SHOW,
)
SESSION_SIGNALS: tuple[Signal[Any], ...] = (SESSION_PAYMENT_EVENT, SESSION_DISPUTE_EVENT)
SESSION_QUERIES: tuple[Query[Any, Any], ...] = (
    SESSION_STATE,
    SESSION_BOOKING,
    SESSION_CANCEL_PREVIEW,
    SESSION_RESCHEDULE_PREVIEW,
    SESSION_DISPUTE_EVIDENCE,
)
