"""Temporal RPC errors that mean "not now" rather than "no".

The server refuses an update (and a query) with ``FAILED_PRECONDITION`` — the Go server's
``serviceerror.WorkflowNotReady`` — while the workflow's current workflow task is on its third
attempt or later (``failUpdateWorkflowTaskAttemptCount = 3`` in the history service's
``updateworkflow`` API): "Unable to perform workflow execution update due to Workflow Task in
failed state." The attempt count grows when a task fails *or times out*, so a worker killed mid-task
and a sticky queue nobody polls (two timeouts) are enough; it falls back to 1 as soon as a worker
completes the task. The update was not admitted, so sending it again under the same update id is
safe. Only a workflow wedged for good (a nondeterminism, a bug that fails every task) keeps
answering it, which is why callers retry it for a bounded time.
"""

from __future__ import annotations

from temporalio.service import RPCError, RPCStatusCode

WORKFLOW_TASK_FAILING = "workflow task in failed state"
"""In both the update's and the query's refusal ("Unable to query workflow due to …")."""


def workflow_task_failing(error: RPCError) -> bool:
    """The server refused because the workflow's task is failing or timing out (for now)."""
    refused = error.status == RPCStatusCode.FAILED_PRECONDITION
    return refused and WORKFLOW_TASK_FAILING in error.message.lower()


WORKFLOW_CLOSED_MESSAGES = ("workflow execution already completed", "aborted by closing workflow")
"""``NOT_FOUND`` for a workflow that has closed: the update came after the close, or was admitted
while the task that closed it ran (the server aborts it: nothing of it was applied)."""


def closed_while_updating(error: RPCError) -> bool:
    """The update never ran because the workflow closed (before it, or as it was admitted)."""
    message = error.message.lower()
    return error.status == RPCStatusCode.NOT_FOUND and any(
        text in message for text in WORKFLOW_CLOSED_MESSAGES
    )


RUN_NOT_READY = "workflow task is not scheduled yet"
"""``FAILED_PRECONDITION`` (``WorkflowNotReadyFailure``) for a query that reaches a run before its
first workflow task: a practice that has just continued as new, for a few milliseconds. The run
answers as soon as its first task has run, so the query is asked again."""


def run_not_ready(error: RPCError) -> bool:
    """The server refused a query because the run has not had its first workflow task yet."""
    refused = error.status == RPCStatusCode.FAILED_PRECONDITION
    return refused and RUN_NOT_READY in error.message.lower()
