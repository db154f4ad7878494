"""The refunds workflow of a closed session, as its callers see it (``workflows/refunds.py``)."""

from __future__ import annotations

from typing import Any

from contract.messages import NO_ARGUMENT, Query, Signal, Update
from domain.disputes import DisputeFact
from domain.refunds import ClosedSessionRefunds, SessionRefund, SessionRefundResult

SESSION_REFUNDS_WORKFLOW_TYPE = "SessionRefundsWorkflow"

SESSION_REFUNDS_REFUND = Update("refund", SessionRefund, SessionRefundResult)
SESSION_REFUNDS_STATE = Query("state", NO_ARGUMENT, ClosedSessionRefunds)
SESSION_REFUNDS_DISPUTE_EVENT = Signal("dispute_event", DisputeFact)
"""A dispute of the closed session's charge (the webhook route, once the session cannot be signalled)."""

SESSION_REFUNDS_UPDATES: tuple[Update[Any, Any], ...] = (SESSION_REFUNDS_REFUND,)
SESSION_REFUNDS_QUERIES: tuple[Query[Any, Any], ...] = (SESSION_REFUNDS_STATE,)
SESSION_REFUNDS_SIGNALS: tuple[Signal[Any], ...] = (SESSION_REFUNDS_DISPUTE_EVENT,)
