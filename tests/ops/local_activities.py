"""A tiny workflow that runs local activities as the session workflow's lean lifecycle does (the
notices of a task in one ``deliver_notifications``, the attendance update's time claim, the
follow-up's start), so the timeline's rendering of their markers is tested on a real history.

Its activities return what the real ones return in shape, plus a field that must never reach the
timeline (personal data a payload could carry)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from temporalio import activity, workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

LOCAL_ACTIVITIES_WORKFLOW = "TimelineLocalActivitiesTest"
PRIVATE = "jane.doe@example.com"
"""Stands for personal data in a result: the timeline must never show it."""


@activity.defn(name="deliver_notifications")
async def deliver_notifications(event_ids: list[str]) -> dict[str, Any]:
    return {
        "delivered": [{"event_id": event_id, "status_code": 204} for event_id in event_ids[:-1]],
        "rejected": [{"event_id": event_ids[-1], "status_code": 422}],
        "recipient_email": PRIVATE,
    }


@activity.defn(name="practice_claim_time")
async def claim_time(session_id: str) -> dict[str, Any]:
    if session_id.endswith("_taken"):
        raise ApplicationError(f"taken by {PRIVATE}", type="slot_conflict", non_retryable=True)
    return {
        "session_id": session_id,
        "start": "2027-03-02T09:00:00+00:00",
        "end": "2027-03-02T09:50:00+00:00",
    }


@activity.defn(name="start_follow_up")
async def start_follow_up(session_id: str) -> dict[str, Any]:
    return {"session_id": session_id, "workflow_id": f"session-{session_id}", "client_name": PRIVATE}


LOCAL_ACTIVITIES: list[Callable[..., Any]] = [deliver_notifications, claim_time, start_follow_up]

_ONCE = RetryPolicy(maximum_attempts=1)


@workflow.defn(name=LOCAL_ACTIVITIES_WORKFLOW)
class LocalActivitiesWorkflow:
    @workflow.run
    async def run(self, session_id: str) -> None:
        timeout = timedelta(seconds=10)
        await workflow.execute_local_activity(
            deliver_notifications,
            [f"{session_id}:booking_confirmed:1", f"{session_id}:booking_confirmed:2"],
            start_to_close_timeout=timeout,
        )
        await workflow.execute_local_activity(
            claim_time, f"{session_id}_next", start_to_close_timeout=timeout
        )
        # The refusal is what the timeline shows; the workflow goes on as the session's would.
        with contextlib.suppress(Exception):
            await workflow.execute_local_activity(
                claim_time, f"{session_id}_taken", start_to_close_timeout=timeout, retry_policy=_ONCE
            )
        await workflow.execute_local_activity(
            start_follow_up, f"{session_id}_next", start_to_close_timeout=timeout
        )
