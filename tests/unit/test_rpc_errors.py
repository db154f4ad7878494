"""A session whose workflow task is failing for the moment is "retry shortly", not our fault.

The server's words (temporalio/temporal, service/history/api/updateworkflow: an update refused while
the workflow task is on its 3rd+ attempt; the query's counterpart) arrive as FAILED_PRECONDITION.
"""

from __future__ import annotations

import json

import pytest
from fastapi import Request
from temporalio.service import RPCError, RPCStatusCode

from api.errors import RETRY_AFTER_SECONDS, _rpc
from temporal_client.rpc_errors import closed_while_updating, workflow_task_failing

UPDATE_REFUSED = "Unable to perform workflow execution update due to Workflow Task in failed state."
QUERY_REFUSED = "Unable to query workflow due to Workflow Task in failed state."


def _request() -> Request:
    return Request({"type": "http", "method": "POST", "path": "/", "headers": []})


@pytest.mark.parametrize("message", [UPDATE_REFUSED, QUERY_REFUSED])
def test_a_failing_workflow_task_is_recognised(message: str) -> None:
    assert workflow_task_failing(RPCError(message, RPCStatusCode.FAILED_PRECONDITION, b""))


@pytest.mark.parametrize(
    ("message", "status"),
    [
        (UPDATE_REFUSED, RPCStatusCode.INTERNAL),
        ("some other precondition", RPCStatusCode.FAILED_PRECONDITION),
    ],
)
def test_other_errors_are_not(message: str, status: RPCStatusCode) -> None:
    assert not workflow_task_failing(RPCError(message, status, b""))


def test_the_api_answers_503_with_retry_after() -> None:
    response = _rpc(_request(), RPCError(UPDATE_REFUSED, RPCStatusCode.FAILED_PRECONDITION, b""))

    assert response.status_code == 503
    assert response.headers["Retry-After"] == RETRY_AFTER_SECONDS
    assert json.loads(bytes(response.body))["code"] == "session_busy"


def test_another_failed_precondition_stays_a_500() -> None:
    response = _rpc(_request(), RPCError("something else", RPCStatusCode.FAILED_PRECONDITION, b""))

    assert response.status_code == 500


@pytest.mark.parametrize(
    "message", ["workflow execution already completed", "workflow update was aborted by closing workflow"]
)
def test_a_command_that_met_a_closed_session_is_session_closed_not_an_unknown_session(message: str) -> None:
    # The server aborts an update admitted while the task that closes the workflow ran: a second
    # attendance update racing the first, which files, books and closes in one task (issue 13).
    error = RPCError(message, RPCStatusCode.NOT_FOUND, b"")
    assert closed_while_updating(error)
    response = _rpc(_request(), error)
    assert response.status_code == 409
    assert json.loads(bytes(response.body))["code"] == "session_closed"


def test_an_unknown_session_is_still_not_found() -> None:
    error = RPCError("workflow not found for ID: session-x", RPCStatusCode.NOT_FOUND, b"")
    assert not closed_while_updating(error)
    assert _rpc(_request(), error).status_code == 404
