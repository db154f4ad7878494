"""Read the local activities a workflow ran from its history.

A local activity leaves one ``MARKER_RECORDED`` event (marker ``core_local_activity``): its
``data`` is sdk-core's own JSON (the activity type, attempt, times — never encrypted) and its
``result`` the activity's result, encoded by the project's data converter. Its input is not
recorded, which is why ``deliver_notifications`` returns each event id it handled.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent

LOCAL_ACTIVITY_MARKER = "core_local_activity"


@dataclass(frozen=True)
class LocalActivityRecord:
    activity_type: str
    attempt: int
    result: list[Payload]
    """Empty when it failed for good (the failure is in the marker's ``failure``)."""
    failed: bool


def local_activity_of(event: HistoryEvent) -> LocalActivityRecord | None:
    """The local activity an event records, or None for any other event."""
    if event.event_type != EventType.EVENT_TYPE_MARKER_RECORDED:
        return None
    marker = event.marker_recorded_event_attributes
    if marker.marker_name != LOCAL_ACTIVITY_MARKER or "data" not in marker.details:
        return None
    data = json.loads(marker.details["data"].payloads[0].data)
    result = list(marker.details["result"].payloads) if "result" in marker.details else []
    return LocalActivityRecord(
        activity_type=str(data.get("activity_type", "")),
        attempt=int(data.get("attempt") or 1),
        result=result,
        failed=marker.HasField("failure"),
    )
