"""A refund the server aborts as the session closes ("workflow update was aborted by closing
workflow", NOT_FOUND — since the lean lifecycle an attendance update files and closes in one task)
goes to the closed session's refunds workflow, as one refused with "workflow execution already
completed" does. The control flow of ``refund_session`` only: the handle is a stand-in."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import cast

import pytest
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

import temporal_client.refunds_client as rc
from domain.refunds import SessionRefund
from domain.status import RefundReason


class Reached(Exception):
    pass


class Handle:
    def __init__(self) -> None:
        self.describes = 0

    async def describe(self, **_: object) -> object:
        self.describes += 1
        status = WorkflowExecutionStatus.RUNNING if self.describes == 1 else WorkflowExecutionStatus.COMPLETED
        return SimpleNamespace(status=status, close_time=datetime.now(UTC))

    async def result(self) -> object:
        raise Reached("fell through to the closed session's refunds path")


@pytest.mark.parametrize(
    "message", ["workflow execution already completed", "workflow update was aborted by closing workflow"]
)
async def test_a_refund_the_closing_session_could_not_take_goes_to_its_refunds_workflow(
    monkeypatch: pytest.MonkeyPatch, message: str
) -> None:
    handle = Handle()
    monkeypatch.setattr(rc, "session_handle", lambda client, sid: handle)

    async def aborted(*_: object, **__: object) -> object:
        raise RPCError(message, RPCStatusCode.NOT_FOUND, b"")

    monkeypatch.setattr(rc, "execute_update", aborted)
    with pytest.raises(Reached):
        await rc.refund_session(
            cast(Client, object()),
            "s1",
            SessionRefund(reason=RefundReason.SESSION_CUT_SHORT, amount_minor=1000),
            request_id="r1",
            task_queue="q",
            now=datetime.now(UTC),
        )
