"""Calls from a session into the therapist's practice, and cancelling a client's future sessions.

A workflow cannot send an update to another workflow, so a session's "reserve a slot", "release
the slot" and "end the relationship" go through these activities, which update the practice
workflow with update-with-start (the practice is started lazily). The request id passed in is the
update id: an activity retry returns the first outcome instead of applying the command twice.

A rule of the practice refusing a command (``slot_conflict``, ``relationship_ended``) comes back
as a non-retryable ``ApplicationError`` of the same type, so the session can refuse with it.

This module deliberately does not import ``workflows.session`` (the session workflow imports it):
sessions are addressed by workflow id and update name.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC
from typing import TypeVar

from temporalio import activity
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.workflow import UpdateMethodMultiParam

from domain.commands import CancelRequest, CancelResult
from domain.ids import session_id_from_workflow_id, session_workflow_id
from domain.practice import (
    BookingTimeCheck,
    CancelFutureSessionsCall,
    CheckBookingTimeCall,
    ClientRegistered,
    EndRelationshipCall,
    FutureSessionsCancelled,
    RegisterClientCall,
    RelationshipEnded,
    ReleaseSlotsCall,
    ReserveSlotCall,
    SlotReserved,
    SlotsReleased,
)
from domain.status import Actor, CancelReason, SessionStatus
from workflows.practice import PracticeWorkflow
from workflows.practice_client import booking_time_conflict, practice_update
from workflows.search_attributes import CLIENT_ID, SESSION_START, SESSION_STATUS, THERAPIST_ID

__all__ = [
    "CANCELLABLE_STATUSES",
    "CancelFutureSessionsCall",
    "EndRelationshipCall",
    "FutureSessionsCancelled",
    "PracticeActivities",
    "RegisterClientCall",
    "ReleaseSlotsCall",
    "ReserveSlotCall",
    "cancel_future_sessions",
    "future_sessions_query",
]

ArgT = TypeVar("ArgT")
ResultT = TypeVar("ResultT")

SESSION_WORKFLOW_TYPE = "SessionWorkflow"
SESSION_CANCEL_UPDATE = "cancel"
CANCELLABLE_STATUSES = (
    SessionStatus.SCHEDULED,
    SessionStatus.PAYMENT_DUE,
    SessionStatus.PAID,
    SessionStatus.PAYMENT_FAILED,
    SessionStatus.AWAITING_CLIENT_ACTION,
)
"""Statuses of a booked session that has not started and is not cancelled."""
PRACTICE_REFUSED = "practice_update_failed"
"""Type of the error for a practice refusal that carried no rule code (should not happen)."""


def future_sessions_query(call: CancelFutureSessionsCall) -> str:
    """The visibility query for the client's open sessions starting after ``call.after``.

    Ids are opaque (``[A-Za-z0-9_-]``, validated by the model), so quoting them is safe.
    """
    statuses = ", ".join(f"'{status.value}'" for status in CANCELLABLE_STATUSES)
    after = call.after.astimezone(UTC).isoformat()
    return (
        f"WorkflowType = '{SESSION_WORKFLOW_TYPE}' AND ExecutionStatus = 'Running'"
        f" AND {THERAPIST_ID.name} = '{call.therapist_id}' AND {CLIENT_ID.name} = '{call.client_id}'"
        f" AND {SESSION_STATUS.name} IN ({statuses}) AND {SESSION_START.name} > '{after}'"
    )


def _already_closed(error: RPCError) -> bool:
    return error.status is RPCStatusCode.NOT_FOUND or "already completed" in error.message


class PracticeActivities:
    """Activities bound to one Temporal client and the task queue practice workflows run on."""

    def __init__(self, client: Client, task_queue: str) -> None:
        self._client = client
        self._task_queue = task_queue

    async def _update(
        self,
        therapist_id: str,
        timezone: str,
        update: UpdateMethodMultiParam[[PracticeWorkflow, ArgT], ResultT],
        command: ArgT,
        request_id: str,
    ) -> ResultT:
        try:
            return await practice_update(
                self._client,
                therapist_id,
                timezone,
                update,
                command,
                request_id=request_id,
                task_queue=self._task_queue,
            )
        except WorkflowUpdateFailedError as failed:
            # The practice refused (its validator or handler): the same request will be refused
            # again, so do not retry; pass the rule's code on as the error type.
            cause = failed.cause
            if isinstance(cause, ApplicationError) and cause.type:
                raise ApplicationError(cause.message, type=cause.type, non_retryable=True) from failed
            raise ApplicationError(
                str(cause or failed), type=PRACTICE_REFUSED, non_retryable=True
            ) from failed

    @activity.defn(name="practice_check_booking_time")
    async def check_booking_time(self, call: CheckBookingTimeCall) -> BookingTimeCheck:
        """Refuse (non-retryable ``slot_conflict``) a time another client has reserved."""
        conflict = await booking_time_conflict(self._client, call.therapist_id, call.query)
        if conflict is not None:
            raise ApplicationError(
                f"the time overlaps reserved slot {conflict}", type="slot_conflict", non_retryable=True
            )
        return BookingTimeCheck()

    @activity.defn(name="practice_register_client")
    async def register_client(self, call: RegisterClientCall) -> ClientRegistered:
        return await self._update(
            call.therapist_id, call.timezone, PracticeWorkflow.register_client, call.command, call.request_id
        )

    @activity.defn(name="practice_reserve_slot")
    async def reserve_slot(self, call: ReserveSlotCall) -> SlotReserved:
        return await self._update(
            call.therapist_id, call.timezone, PracticeWorkflow.reserve_slot, call.command, call.request_id
        )

    @activity.defn(name="practice_release_slots")
    async def release_slots(self, call: ReleaseSlotsCall) -> SlotsReleased:
        return await self._update(
            call.therapist_id, call.timezone, PracticeWorkflow.release_slots, call.command, call.request_id
        )

    @activity.defn(name="practice_end_relationship")
    async def end_relationship(self, call: EndRelationshipCall) -> RelationshipEnded:
        return await self._update(
            call.therapist_id, call.timezone, PracticeWorkflow.end_relationship, call.command, call.request_id
        )

    @activity.defn(name="practice_cancel_future_sessions")
    async def cancel_future_sessions(self, call: CancelFutureSessionsCall) -> FutureSessionsCancelled:
        """Cancel the client's future sessions with this therapist as the therapist's cancellations
        (see ``cancel_future_sessions``), heartbeating after each session."""
        found: list[str] = []
        result = await cancel_future_sessions(
            self._client, call, on_session=lambda session_id: _progress(found, session_id)
        )
        activity.logger.info(
            "future sessions cancelled",
            extra={
                "therapist_id": call.therapist_id,
                "cancelled": len(result.session_ids),
                "found": len(found),
            },
        )
        return result


def _progress(found: list[str], session_id: str) -> None:
    found.append(session_id)
    activity.heartbeat(session_id)


async def cancel_future_sessions(
    client: Client,
    call: CancelFutureSessionsCall,
    *,
    on_session: Callable[[str], None] | None = None,
) -> FutureSessionsCancelled:
    """Cancel the client's future sessions with this therapist as the therapist's cancellations.

    Shared by the activity (a session's attendance update) and the API (ending a relationship).
    Sessions that refuse (started or cancelled meanwhile) or have closed are left alone. Each
    cancel's update id is ``{request_id}:{session_id}``, so a retry never cancels twice.
    Visibility is eventually consistent: a session booked a moment ago may be missed.
    ``on_session`` is called with each session id before it is cancelled (the activity heartbeats).
    """
    session_ids = sorted(
        [
            session_id_from_workflow_id(execution.id)
            async for execution in client.list_workflows(future_sessions_query(call))
        ]
    )
    request = CancelRequest(requested_by=Actor.THERAPIST, reason=CancelReason.OTHER)
    cancelled: list[str] = []
    for session_id in session_ids:
        if on_session is not None:
            on_session(session_id)
        handle = client.get_workflow_handle(session_workflow_id(session_id))
        try:
            await handle.execute_update(
                SESSION_CANCEL_UPDATE,
                request,
                id=f"{call.request_id}:{session_id}",
                result_type=CancelResult,
            )
        except WorkflowUpdateFailedError:
            continue  # refused: it has started, or was cancelled meanwhile
        except RPCError as error:
            if _already_closed(error):
                continue
            raise
        cancelled.append(session_id)
    return FutureSessionsCancelled(session_ids=cancelled)
