"""Calls from a session into the therapist's practice, and cancelling a client's future sessions.

A workflow cannot send an update to another workflow, so a session's "reserve a slot", "release
the slot" and "end the relationship" go through these activities, which update the practice
workflow with update-with-start (the practice is started lazily). The request id passed in is the
update id: an activity retry returns the first outcome instead of applying the command twice.

A rule of the practice refusing a command (``slot_conflict``, ``relationship_ended``) comes back
as a non-retryable ``ApplicationError`` of the same type, so the session can refuse with it.

Workflows are addressed by their contract (``contract``) through ``temporal_client``, never by
their classes: the session workflow imports this module, so this module imports no workflow.
"""

from __future__ import annotations

from typing import TypeVar

from temporalio import activity
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from contract.messages import Update
from contract.practice import (
    PRACTICE_CLAIM_TIME,
    PRACTICE_END_RELATIONSHIP,
    PRACTICE_REGISTER_CLIENT,
    PRACTICE_RELEASE_SLOTS,
    PRACTICE_RELEASE_TIME,
    PRACTICE_RESERVE_SLOT,
)
from domain.errors import RuleViolation
from domain.practice import (
    BookingTimeCheck,
    CancelFutureSessionsCall,
    CheckBookingTimeCall,
    ClaimTimeCall,
    ClientRegistered,
    EndRelationshipCall,
    FutureSessionsCancelled,
    RegisterClientCall,
    RelationshipEnded,
    ReleaseSlotsCall,
    ReleaseTimeCall,
    ReserveSlotCall,
    SlotReserved,
    SlotsReleased,
    TimeClaimed,
    TimeReleased,
)
from temporal_client.practice_client import booking_time_conflict, practice_update
from temporal_client.session_client import cancel_future_sessions

__all__ = ["PracticeActivities"]

ArgT = TypeVar("ArgT")
ResultT = TypeVar("ResultT")

PRACTICE_REFUSED = "practice_update_failed"
"""Type of the error for a practice refusal that carried no rule code (should not happen)."""


class PracticeActivities:
    """Activities bound to one Temporal client and the task queue practice workflows run on."""

    def __init__(self, client: Client, task_queue: str) -> None:
        self._client = client
        self._task_queue = task_queue

    async def _update(
        self,
        therapist_id: str,
        timezone: str,
        update: Update[ArgT, ResultT],
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
        except RuleViolation as violation:
            # e.g. practice_closed: retrying cannot help until ops act.
            raise ApplicationError(violation.message, type=violation.code, non_retryable=True) from violation
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
            call.therapist_id, call.timezone, PRACTICE_REGISTER_CLIENT, call.command, call.request_id
        )

    @activity.defn(name="practice_reserve_slot")
    async def reserve_slot(self, call: ReserveSlotCall) -> SlotReserved:
        return await self._update(
            call.therapist_id, call.timezone, PRACTICE_RESERVE_SLOT, call.command, call.request_id
        )

    @activity.defn(name="practice_release_slots")
    async def release_slots(self, call: ReleaseSlotsCall) -> SlotsReleased:
        return await self._update(
            call.therapist_id, call.timezone, PRACTICE_RELEASE_SLOTS, call.command, call.request_id
        )

    @activity.defn(name="practice_claim_time")
    async def claim_time(self, call: ClaimTimeCall) -> TimeClaimed:
        """Claim a session's time (and the weekly slot, if asked) in one serialised step."""
        return await self._update(
            call.therapist_id, call.timezone, PRACTICE_CLAIM_TIME, call.command, call.request_id
        )

    @activity.defn(name="practice_release_time")
    async def release_time(self, call: ReleaseTimeCall) -> TimeReleased:
        return await self._update(
            call.therapist_id, call.timezone, PRACTICE_RELEASE_TIME, call.command, call.request_id
        )

    @activity.defn(name="practice_end_relationship")
    async def end_relationship(self, call: EndRelationshipCall) -> RelationshipEnded:
        return await self._update(
            call.therapist_id, call.timezone, PRACTICE_END_RELATIONSHIP, call.command, call.request_id
        )

    @activity.defn(name="practice_cancel_future_sessions")
    async def cancel_future_sessions(self, call: CancelFutureSessionsCall) -> FutureSessionsCancelled:
        """Cancel the client's future sessions with this therapist as the therapist's cancellations
        (``temporal_client.session_client.cancel_future_sessions``), heartbeating after each one."""
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
