"""The refunds workflow of a closed session, as its callers see it (``workflows/refunds.py``)."""

from __future__ import annotations

from typing import Any

from contract.messages import NO_ARGUMENT, Query, Update
from domain.refunds import ClosedSessionRefunds, SessionRefund, SessionRefundResult

SESSION_REFUNDS_WORKFLOW_TYPE = "SessionRefundsWorkflow"

SESSION_REFUNDS_REFUND = Update("refund", SessionRefund, SessionRefundResult)
SESSION_REFUNDS_STATE = Query("state", NO_ARGUMENT, ClosedSessionRefunds)

SESSION_REFUNDS_UPDATES: tuple[Update[Any, Any], ...] = (SESSION_REFUNDS_REFUND,)
SESSION_REFUNDS_QUERIES: tuple[Query[Any, Any], ...] = (SESSION_REFUNDS_STATE,)
