"""A session's workflow history as a readable timeline, for ops (the API and command-line tools).

Temporal's history is the system of record: every charge, refund, update and signal is in it. This
module reads the raw events and keeps what a person investigating a session needs — what happened,
when, and its essentials (charge outcome, PaymentIntent id, decline codes, refund amounts,
notification types, who filed an update) — decoding payloads with the client's data converter.

Local activities (the notices of a workflow task in one ``deliver_notifications``, the attendance
update's time claim, the follow-up's start) have no scheduled or completed events: each is one
``MARKER_RECORDED`` event (marker ``core_local_activity``) whose ``data`` is the SDK core's own
JSON (activity type, id, attempt) and whose ``result`` is the payload the activity returned, encoded
like any other. They are shown as ``activity_completed`` / ``activity_failed`` with ``local: true``.

Only allow-listed fields are copied out of payloads: opaque ids, codes, amounts, statuses and
times. Client secrets (``client_secret``, ``payment_intent_client_secret``), customer ids and
failure messages never reach the timeline; a card appears only as its opaque Stripe
``payment_method_id`` (which card a charge used, which card the client gave).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.api.enums.v1 import EventType
from temporalio.api.failure.v1 import Failure
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowHistory
from temporalio.converter import DataConverter, WorkflowSerializationContext, decode_typed_search_attributes

from contract.ids import SESSION_WORKFLOW_PREFIX, session_workflow_id
from contract.search_attributes import PAYMENT_INTENT, SESSION_END, SESSION_START, SESSION_STATUS
from contract.session import (
    SESSION_CANCEL,
    SESSION_FILE_ATTENDANCE,
    SESSION_MARK_NO_SHOW,
    SESSION_PAYMENT_EVENT,
    SESSION_REFUND,
    SESSION_RESCHEDULE,
    SESSION_UPDATE_PAYMENT_METHOD,
)
from temporal_client.codec import PayloadErasedError
from temporal_client.local_activities import LOCAL_ACTIVITY_MARKER

log = logging.getLogger("sessionflow.timeline")

DetailValue = bool | int | str | None
"""A scalar a UI or a terminal can show as is; lists are joined with commas, times are ISO 8601."""


class TimelineEvent(BaseModel):
    model_config = ConfigDict(frozen=True)

    at: datetime
    """When the event entered the history (the workflow's clock, fast-forwarded in tests)."""
    kind: str
    """``workflow_started``, ``timer_started``, ``timer_fired``, ``timer_cancelled``,
    ``activity_scheduled``, ``activity_completed``, ``activity_failed``, ``activity_timed_out``,
    ``activity_cancelled`` (a local activity's completion or failure is ``activity_completed`` or
    ``activity_failed`` with ``local: true``: it has no scheduled event), ``update_accepted``,
    ``update_completed``, ``update_failed``,
    ``signal_received``, ``status_changed``, ``child_session_started``, ``workflow_completed``,
    ``workflow_failed``, ``workflow_terminated``, ``workflow_cancelled``, ``workflow_timed_out``,
    ``workflow_continued_as_new``."""
    detail: dict[str, DetailValue] = Field(default_factory=dict)


class SessionTimeline(BaseModel):
    model_config = ConfigDict(frozen=True)

    session_id: str
    workflow_id: str
    events: list[TimelineEvent] = Field(default_factory=list)
    undecodable_payloads: int = 0
    """Payloads this process could not decrypt (a codec key it lacks): their details are missing."""
    erased_payloads: int = 0
    """Payloads whose client was erased (their data key destroyed): never readable again. The
    kept financial facts (charges, refunds) still show."""


# --------------------------------------------------------------------------------- allow lists
# (field in the payload, name in the timeline); a bare string keeps the name.

FieldSpec = tuple[str | tuple[str, str], ...]

_BOOKING_FIELDS: FieldSpec = (
    ("kind", "booking_kind"),
    "start",
    "duration_minutes",
    "therapist_timezone",
    "amount_minor",
    "currency",
    "therapist_id",
    "client_id",
    "previous_session_id",
    "prepaid_payment_intent_id",
    "connected_account_id",
)

_ACTIVITY_INPUT_FIELDS: dict[str, FieldSpec] = {
    # The card's opaque Stripe id answers "which card was charged" after a card change.
    # ``off_session`` answers "was the client present?" (README rule 11); absent in histories
    # recorded before it, when every charge was off-session.
    # A direct charge on the therapist's connected account names the account and the fee asked
    # (absent: the platform's own charge); a refund there, whether the fee goes back with it.
    "charge_session": (
        "attempt",
        "amount_minor",
        "currency",
        "payment_method_id",
        "payment_intent_id",
        "off_session",
        "connected_account_id",
        "application_fee_minor",
    ),
    "refund_payment": (
        "refund_number",
        "payment_intent_id",
        "target_refunded_minor",
        "connected_account_id",
        "refund_application_fee",
    ),
    "void_payment": ("request_number", "payment_intent_id", "connected_account_id"),
    "read_payment": ("payment_intent_id", "connected_account_id"),
    "deliver_notification": (
        ("type", "notification_type"),
        "event_id",
        "audience",
        "amount_minor",
        "currency",
        "related_session_id",
        "reminder_number",
        "slot_id",
        "codes",
    ),
    "practice_reserve_slot": ("request_id",),
    "practice_release_slots": ("request_id",),
    "practice_end_relationship": ("request_id",),
    "practice_register_client": ("request_id",),
    "practice_claim_time": ("request_id",),
    "practice_release_time": ("request_id",),
    "practice_cancel_future_sessions": ("request_id", "after"),
}

_ACTIVITY_RESULT_FIELDS: dict[str, FieldSpec] = {
    "charge_session": (
        "outcome",
        "payment_intent_id",
        "payment_intent_status",
        "decline_kind",
        "code",
        "decline_code",
        "advice_code",
        "connected_account_id",
        "application_fee_minor",
    ),
    "refund_payment": (
        "refund_id",
        "amount_minor",
        "refunded_total_minor",
        "captured_minor",
        "connected_account_id",
        "application_fee_minor",
        "application_fee_refunded_minor",
    ),
    "void_payment": ("voided", "payment_intent_id", "payment_intent_status"),
    "read_payment": ("payment_intent_id", "payment_intent_status"),
    "deliver_notification": ("event_id", "status_code"),
    "practice_reserve_slot": ("slot_id", "already_reserved", "replaced_slot_id"),
    "practice_release_slots": ("released_slot_ids",),
    "practice_end_relationship": ("released_slot_ids", "already_ended"),
    "practice_register_client": ("status",),
    "practice_check_booking_time": ("conflicting_slot_id",),
    "practice_claim_time": ("session_id", "start", "end"),
    "practice_release_time": ("released",),
    "practice_cancel_future_sessions": ("session_ids",),
}

_LOCAL_ACTIVITY_RESULT_FIELDS: dict[str, FieldSpec] = {
    # The lean lifecycle's local activities (issue 13); ``deliver_notifications`` is shown by
    # ``_delivery_detail`` (a list of outcomes, one per notice).
    "claim_time": ("session_id", "start", "end"),
    "start_follow_up": ("session_id", "workflow_id", "follow_up_session_id", "start", "already_started"),
}

_ATTRIBUTE_NAMES = {
    SESSION_STATUS.name: "status",
    SESSION_START.name: "start",
    SESSION_END.name: "end",
    PAYMENT_INTENT.name: "payment_intent_id",
}
"""A search attribute upsert's fields under the timeline's names (the rest keep their own)."""

"""The marker the SDK core records for each local activity (its name is the core's, not ours)."""

_UPDATE_INPUT_FIELDS: dict[str, FieldSpec] = {
    SESSION_CANCEL.name: ("requested_by", "submitted_by", "reason", "discretionary_refund", "received_at"),
    SESSION_RESCHEDULE.name: ("requested_by", "new_start", "received_at"),
    SESSION_FILE_ATTENDANCE.name: (
        "submitted_by",
        "outcome",
        "continue_sessions",
        "new_start",
        "client_agreed",
        "reserve_slot",
        "end_relationship",
        "end_reason",
        "cancel_future_sessions",
        "refund",
        "refund_amount_minor",
        "received_at",
    ),
    SESSION_UPDATE_PAYMENT_METHOD.name: ("payment_method_id",),
    SESSION_REFUND.name: ("requested_by", "reason", "amount_minor", "received_at"),
    SESSION_MARK_NO_SHOW.name: ("requested_by", "received_at"),
}

_UPDATE_RESULT_FIELDS: dict[str, FieldSpec] = {
    SESSION_CANCEL.name: (
        "status",
        "free",
        "refund_minor",
        "charge_kept",
        "discretionary_refund",
        "charge_in_flight",
    ),
    SESSION_RESCHEDULE.name: ("status", "start", "payment_carried", "next_charge_at"),
    SESSION_FILE_ATTENDANCE.name: (
        "status",
        "follow_up_session_id",
        "follow_up_start",
        "reserved_slot_id",
        "released_slot_ids",
        "slot_released",
        "relationship_ended",
        "cancelled_session_ids",
        "refund_minor",
        "incomplete_effects",
    ),
    SESSION_REFUND.name: (
        "grant_number",
        "amount_minor",
        "currency",
        "refunded_total_minor",
        "refundable_minor",
    ),
    SESSION_MARK_NO_SHOW.name: ("status", "marked_at", "already_marked"),
    SESSION_UPDATE_PAYMENT_METHOD.name: ("status", "retrying_now"),
}

_SIGNAL_FIELDS: dict[str, FieldSpec] = {
    SESSION_PAYMENT_EVENT.name: (
        ("type", "event_type"),
        "event_id",
        "payment_intent_id",
        "amount_refunded_minor",
        "code",
        "decline_code",
    ),
}

_RESULT_STATE_FIELDS: FieldSpec = ("status", "start", "end")
_RESULT_PAYMENT_FIELDS: FieldSpec = (
    ("status", "payment_status"),
    "payment_intent_id",
    "amount_paid_minor",
    "amount_refunded_minor",
    "connected_account_id",
    "application_fee_minor",
    "application_fee_refunded_minor",
)

_SKIPPED = frozenset(
    {
        EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
        EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
        EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
        EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT,
        EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED,
        EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED,
    }
)


# --------------------------------------------------------------------------------- helpers


def _scalar(value: object) -> DetailValue:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, Enum):
        return _scalar(value.value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat() if value.tzinfo else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return int(value) if value.is_integer() else str(round(value, 3))
    if isinstance(value, list | tuple):
        return ",".join(str(_scalar(item)) for item in value)
    if isinstance(value, Mapping):
        return ",".join(f"{key}={_scalar(item)}" for key, item in sorted(value.items()))
    return str(value)


def _acting_party(data: object) -> str | None:
    """Who sent a command, as ``role:id`` (``admin:…`` marks an admin's action); None for commands
    recorded before acting parties existed and for the service's own."""
    if isinstance(data, BaseModel):
        data = data.model_dump(mode="json")
    party = data.get("acting_party") if isinstance(data, Mapping) else None
    if isinstance(party, Mapping) and party.get("role") and party.get("id"):
        return f"{party['role']}:{party['id']}"
    return None


def _pick(data: object, fields: FieldSpec) -> dict[str, DetailValue]:
    """The allow-listed fields of a decoded payload; absent and ``None`` fields are left out."""
    if isinstance(data, BaseModel):
        data = data.model_dump(mode="json")
    if not isinstance(data, Mapping):
        return {}
    picked: dict[str, DetailValue] = {}
    for spec in fields:
        source, name = spec if isinstance(spec, tuple) else (spec, spec)
        value = data.get(source)
        if value is not None and value != [] and value != {}:
            picked[name] = _scalar(value)
    return picked


def _failure_detail(failure: Failure) -> dict[str, DetailValue]:
    """The failure's type code (our rule codes, or the exception's class), never its message."""
    detail: dict[str, DetailValue] = {}
    current: Failure | None = failure
    while current is not None:
        info = current.application_failure_info if current.HasField("application_failure_info") else None
        if info is not None and info.type:
            detail["error_type"] = info.type
            detail["non_retryable"] = info.non_retryable
            return detail
        if current.HasField("timeout_failure_info"):
            detail["error_type"] = "timeout"
            return detail
        if current.HasField("canceled_failure_info"):
            detail["error_type"] = "cancelled"
            return detail
        current = current.cause if current.HasField("cause") else None
    detail["error_type"] = "unknown"
    return detail


@dataclass
class _Decoder:
    converter: DataConverter
    undecodable: int = 0
    erased: int = 0

    async def first(self, payloads: Payloads | Sequence[Payload] | None) -> Any:
        items = list(payloads.payloads if isinstance(payloads, Payloads) else payloads or ())
        if not items:
            return None
        try:
            values = await self.converter.decode(items[:1])
        except PayloadErasedError:
            self.erased += 1
            return None
        except Exception:
            # A payload this process cannot decode (e.g. a codec key it does not hold) is shown as
            # such rather than failing the whole timeline.
            self.undecodable += 1
            log.warning("payload could not be decoded")
            return None
        return values[0] if values else None

    async def summary(self, event: HistoryEvent) -> str | None:
        if not event.HasField("user_metadata") or not event.user_metadata.HasField("summary"):
            return None
        value = await self.first([event.user_metadata.summary])
        return value if isinstance(value, str) else None


@dataclass
class _Pending:
    """What later events refer back to by id: scheduled activities, timers, accepted updates."""

    activities: dict[int, tuple[str, str | None]] = field(default_factory=dict)
    activity_attempts: dict[int, int] = field(default_factory=dict)
    timers: dict[str, str | None] = field(default_factory=dict)
    updates: dict[str, str] = field(default_factory=dict)


# --------------------------------------------------------------------------------- mapping


async def timeline_from_history(
    history: WorkflowHistory, data_converter: DataConverter, *, namespace: str = "default"
) -> SessionTimeline:
    """Map a session workflow's history to its timeline (no calls to Temporal)."""
    workflow_id = history.workflow_id
    decoder = _Decoder(
        data_converter.with_context(
            WorkflowSerializationContext(namespace=namespace, workflow_id=workflow_id)
        )
    )
    pending = _Pending()
    events: list[TimelineEvent] = []
    for event in history.events:
        if event.event_type in _SKIPPED:
            if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
                started = event.activity_task_started_event_attributes
                pending.activity_attempts[started.scheduled_event_id] = started.attempt
            continue
        mapped = await _map_event(event, decoder, pending)
        if mapped is not None:
            kind, detail = mapped
            at = event.event_time.ToDatetime(tzinfo=UTC)
            shown = {name: value for name, value in detail.items() if value is not None}
            events.append(TimelineEvent(at=at, kind=kind, detail=shown))
    if decoder.undecodable:
        log.warning("timeline has undecodable payloads", extra={"count": decoder.undecodable})
    session_id = workflow_id.removeprefix("session-")
    return SessionTimeline(
        session_id=session_id,
        workflow_id=workflow_id,
        events=events,
        undecodable_payloads=decoder.undecodable,
        erased_payloads=decoder.erased,
    )


async def _map_event(
    event: HistoryEvent, decoder: _Decoder, pending: _Pending
) -> tuple[str, dict[str, DetailValue]] | None:
    kind = event.event_type
    if kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
        started = event.workflow_execution_started_event_attributes
        workflow_input = await decoder.first(started.input)
        booking = workflow_input.get("booking") if isinstance(workflow_input, Mapping) else None
        detail = _pick(booking, _BOOKING_FIELDS)
        if isinstance(workflow_input, Mapping) and workflow_input.get("booked_at"):
            detail["booked_at"] = _scalar(workflow_input["booked_at"])
        if started.parent_workflow_execution.workflow_id:
            detail["parent_workflow_id"] = started.parent_workflow_execution.workflow_id
        if started.attempt > 1:
            detail["workflow_attempt"] = started.attempt
        return "workflow_started", detail

    if kind == EventType.EVENT_TYPE_TIMER_STARTED:
        timer = event.timer_started_event_attributes
        summary = await decoder.summary(event)
        pending.timers[timer.timer_id] = summary
        fires_in = timer.start_to_fire_timeout.ToTimedelta()
        return "timer_started", {
            "timer_id": timer.timer_id,
            "summary": summary,
            "fires_in_seconds": int(fires_in.total_seconds()),
            "fires_at": _scalar(event.event_time.ToDatetime(tzinfo=UTC) + fires_in),
        }
    if kind == EventType.EVENT_TYPE_TIMER_FIRED:
        timer_id = event.timer_fired_event_attributes.timer_id
        return "timer_fired", {"timer_id": timer_id, "summary": pending.timers.get(timer_id)}
    if kind == EventType.EVENT_TYPE_TIMER_CANCELED:
        timer_id = event.timer_canceled_event_attributes.timer_id
        return "timer_cancelled", {"timer_id": timer_id, "summary": pending.timers.get(timer_id)}

    if kind == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
        scheduled = event.activity_task_scheduled_event_attributes
        activity_type = scheduled.activity_type.name
        summary = await decoder.summary(event)
        pending.activities[event.event_id] = (activity_type, summary)
        detail = {"activity_type": activity_type, "activity_id": scheduled.activity_id, "summary": summary}
        fields = _ACTIVITY_INPUT_FIELDS.get(activity_type, ())
        if fields:
            detail.update(_pick(await decoder.first(scheduled.input), fields))
        return "activity_scheduled", detail
    if kind in (
        EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
        EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED,
        EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT,
        EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED,
    ):
        return await _activity_closed(event, decoder, pending)

    if kind == EventType.EVENT_TYPE_MARKER_RECORDED:
        return await _local_activity(event, decoder)

    if kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
        accepted = event.workflow_execution_update_accepted_event_attributes
        request = accepted.accepted_request
        name = request.input.name
        update_id = request.meta.update_id
        pending.updates[update_id] = name
        detail = {"update": name, "update_id": update_id}
        fields = _UPDATE_INPUT_FIELDS.get(name, ())
        if fields:
            arguments = await decoder.first(request.input.args)
            detail.update(_pick(arguments, fields))
            if party := _acting_party(arguments):
                detail["acting_party"] = party
        return "update_accepted", detail
    if kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED:
        completed = event.workflow_execution_update_completed_event_attributes
        update_id = completed.meta.update_id
        name = pending.updates.get(update_id, "unknown")
        detail = {"update": name, "update_id": update_id}
        if completed.outcome.HasField("failure"):
            detail.update(_failure_detail(completed.outcome.failure))
            return "update_failed", detail
        fields = _UPDATE_RESULT_FIELDS.get(name, ())
        if fields:
            detail.update(_pick(await decoder.first(completed.outcome.success), fields))
        return "update_completed", detail

    if kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
        signaled = event.workflow_execution_signaled_event_attributes
        detail = {"signal": signaled.signal_name}
        fields = _SIGNAL_FIELDS.get(signaled.signal_name, ())
        if fields:
            detail.update(_pick(await decoder.first(signaled.input), fields))
        return "signal_received", detail

    if kind == EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
        attributes = decode_typed_search_attributes(
            event.upsert_workflow_search_attributes_event_attributes.search_attributes
        )
        detail = {}
        for pair in attributes:
            name = _ATTRIBUTE_NAMES.get(pair.key.name, pair.key.name)
            detail[name] = _scalar(pair.value)
        return "status_changed", detail

    if kind == EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED:
        child = event.child_workflow_execution_started_event_attributes
        child_id = child.workflow_execution.workflow_id
        return "child_session_started", {
            "workflow_id": child_id,
            "session_id": child_id.removeprefix(SESSION_WORKFLOW_PREFIX),
        }
    if kind == EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED:
        failed = event.start_child_workflow_execution_failed_event_attributes
        return "child_session_start_failed", {"workflow_id": failed.workflow_id}

    return await _workflow_closed(event, decoder)


async def _activity_closed(
    event: HistoryEvent, decoder: _Decoder, pending: _Pending
) -> tuple[str, dict[str, DetailValue]]:
    kind = event.event_type
    if kind == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
        completed = event.activity_task_completed_event_attributes
        scheduled_id = completed.scheduled_event_id
    elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED:
        scheduled_id = event.activity_task_failed_event_attributes.scheduled_event_id
    elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
        scheduled_id = event.activity_task_timed_out_event_attributes.scheduled_event_id
    else:
        scheduled_id = event.activity_task_canceled_event_attributes.scheduled_event_id
    activity_type, summary = pending.activities.get(scheduled_id, ("unknown", None))
    detail: dict[str, DetailValue] = {"activity_type": activity_type, "summary": summary}
    attempt = pending.activity_attempts.get(scheduled_id)
    if attempt is not None and attempt > 1:
        detail["retry_attempt"] = attempt
    if kind == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
        fields = _ACTIVITY_RESULT_FIELDS.get(activity_type, ())
        if fields:
            detail.update(_pick(await decoder.first(completed.result), fields))
        return "activity_completed", detail
    if kind == EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED:
        detail.update(_failure_detail(event.activity_task_failed_event_attributes.failure))
        return "activity_failed", detail
    if kind == EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
        detail.update(_failure_detail(event.activity_task_timed_out_event_attributes.failure))
        return "activity_timed_out", detail
    return "activity_cancelled", detail


async def _local_activity(
    event: HistoryEvent, decoder: _Decoder
) -> tuple[str, dict[str, DetailValue]] | None:
    """A local activity's marker as an activity entry: its type, id and attempt from the core's
    ``data`` (plain JSON the core writes, never through our codec), its allow-listed result or
    its failure's type code."""
    marker = event.marker_recorded_event_attributes
    if marker.marker_name != LOCAL_ACTIVITY_MARKER:
        return None  # another marker (a version or patch marker) says nothing an operator needs
    info = await _marker_data(marker.details.get("data"), decoder)
    activity_type = info.get("activity_type")
    activity_type = activity_type if isinstance(activity_type, str) and activity_type else "unknown"
    detail: dict[str, DetailValue] = {"activity_type": activity_type, "local": True}
    if isinstance(info.get("activity_id"), str):
        detail["activity_id"] = info["activity_id"]
    attempt = info.get("attempt")
    if isinstance(attempt, int) and attempt > 1:
        detail["retry_attempt"] = attempt
    if marker.HasField("failure"):
        detail.update(_failure_detail(marker.failure))
        backoff = info.get("backoff")
        if isinstance(backoff, Mapping) and isinstance(backoff.get("seconds"), int | str):
            # A long retry the core hands to a timer: the local activity runs again after it.
            detail["retries_in_seconds"] = int(backoff["seconds"])
        return "activity_failed", detail
    result = await decoder.first(marker.details.get("result"))
    if activity_type == "deliver_notifications":
        detail.update(_delivery_detail(result))
    else:
        fields = _LOCAL_ACTIVITY_RESULT_FIELDS.get(activity_type) or _ACTIVITY_RESULT_FIELDS.get(
            activity_type, ()
        )
        if fields:
            detail.update(_pick(result, fields))
    return "activity_completed", detail


async def _marker_data(payloads: Payloads | None, decoder: _Decoder) -> Mapping[str, Any]:
    """The core's description of a local activity: plain JSON, or (should an SDK ever run it
    through the codec) whatever the converter makes of it."""
    items = list(payloads.payloads) if payloads is not None else []
    if not items:
        return {}
    if items[0].metadata.get("encoding") == b"json/plain":
        try:
            data = json.loads(items[0].data)
        except ValueError:
            return {}
    else:
        data = await decoder.first(items[:1])
    return data if isinstance(data, Mapping) else {}


def _delivery_detail(result: object) -> dict[str, DetailValue]:
    """``deliver_notifications``' outcomes: which event ids went out, which the backend refused
    for good and with which status — ids and codes only, never a notification's fields."""
    if isinstance(result, BaseModel):
        result = result.model_dump(mode="json")
    if not isinstance(result, Mapping):
        return {}
    detail: dict[str, DetailValue] = {}
    for outcome in ("delivered", "rejected"):
        items = [item for item in result.get(outcome) or [] if isinstance(item, Mapping)]
        if not items:
            continue
        detail[f"{outcome}_event_ids"] = _scalar([item.get("event_id") for item in items])
        detail[f"{outcome}_status_codes"] = _scalar([item.get("status_code") for item in items])
    return detail


async def _workflow_closed(
    event: HistoryEvent, decoder: _Decoder
) -> tuple[str, dict[str, DetailValue]] | None:
    kind = event.event_type
    if kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
        final = await decoder.first(event.workflow_execution_completed_event_attributes.result)
        detail = _pick(final, _RESULT_STATE_FIELDS)
        if isinstance(final, Mapping):
            detail.update(_pick(final.get("payment"), _RESULT_PAYMENT_FIELDS))
        return "workflow_completed", detail
    if kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
        return "workflow_failed", _failure_detail(event.workflow_execution_failed_event_attributes.failure)
    if kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED:
        # The reason is free text typed by an operator: only that there was one is shown.
        reason = event.workflow_execution_terminated_event_attributes.reason
        return "workflow_terminated", {"had_reason": bool(reason)}
    if kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED:
        return "workflow_cancelled", {}
    if kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT:
        return "workflow_timed_out", {}
    if kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
        attributes = event.workflow_execution_continued_as_new_event_attributes
        return "workflow_continued_as_new", {"new_run_id": attributes.new_execution_run_id}
    return None


# --------------------------------------------------------------------------------- entry point


async def session_timeline(client: Client, session_id: str) -> SessionTimeline:
    """Fetch the session's history (every run of its workflow id) and map it to a timeline.

    Raises ``temporalio.service.RPCError`` (``NOT_FOUND``) for an unknown session.
    """
    workflow_id = session_workflow_id(session_id)
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    return await timeline_from_history(history, client.data_converter, namespace=client.namespace)
