"""Start the follow-up an attendance update booked, as a client start from a local activity.

A child workflow start bills two Actions in the parent's history and waits a workflow task for the
server's confirmation; this start is the follow-up's own (its ``WorkflowExecutionStarted``, billed
once, as every session's is) and runs inside the update's workflow task. The follow-up's id derives
from the session's, so a retried attempt (or a replay) finds it already started: that is success.
"""

from __future__ import annotations

from temporalio import activity
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from contract.ids import session_workflow_id
from contract.search_attributes import session_search_attributes
from contract.session import SESSION_WORKFLOW_TYPE
from domain.state import FollowUpStart, FollowUpStarted


class FollowUpActivities:
    """Bound to the worker's Temporal client and the task queue sessions run on."""

    def __init__(self, client: Client, task_queue: str) -> None:
        self._client = client
        self._task_queue = task_queue

    @activity.defn(name="start_follow_up")
    async def start(self, request: FollowUpStart) -> FollowUpStarted:
        booking = request.follow_up.booking
        try:
            await self._client.start_workflow(
                SESSION_WORKFLOW_TYPE,
                request.follow_up,
                id=session_workflow_id(booking.session_id),
                task_queue=self._task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                search_attributes=session_search_attributes(booking),
                static_summary=f"follow-up of session {request.booked_by_session_id}",
            )
        except WorkflowAlreadyStartedError:
            # Only this session starts a workflow under this id: an earlier attempt did.
            return FollowUpStarted(session_id=booking.session_id, already=True)
        return FollowUpStarted(session_id=booking.session_id)
