"""Histories at rest hold no readable session data: every payload is encrypted, and only a client
with the codec reads it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import pytest
from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload, SearchAttributes
from temporalio.api.history.v1 import MarkerRecordedEventAttributes
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from contract.ids import practice_workflow_id
from domain.status import SessionStatus
from temporal_client.codec import ENCODING, KEY_ID_METADATA
from temporal_client.local_activities import LOCAL_ACTIVITY_MARKER
from tests.workflows.support import (
    HOUR,
    WAIT,
    advance_to,
    make_booking,
    raw_history,
    real_now,
    start,
    wait_for_state,
)
from workflows import patches

PATCH_MARKER = "core_patch"


PATCH_IDS = frozenset(
    value for name, value in vars(patches).items() if name.isupper() and isinstance(value, str)
)


LOCAL_ACTIVITY_MARKER_FIELDS = {
    "seq",
    "attempt",
    "activity_id",
    "activity_type",
    "complete_time",
    "backoff",
    "original_schedule_time",
    "activation_index",
}


def payloads_in(message: Message) -> Iterator[Payload]:
    """Every Payload in a protobuf message (inputs, results, memos, failures' details …) but the
    search attributes' and the patch markers'."""
    if isinstance(message, Payload):
        yield message
        return
    if isinstance(message, SearchAttributes):
        return  # deliberately plain opaque ids, for listing; the server must read them
    if isinstance(message, MarkerRecordedEventAttributes) and message.marker_name == PATCH_MARKER:
        # Written by the SDK's core, not our data converter: it holds only a patch id of ours.
        [details] = message.details.values()
        assert json.loads(details.payloads[0].data)["id"] in PATCH_IDS
        return
    if isinstance(message, MarkerRecordedEventAttributes) and message.marker_name == LOCAL_ACTIVITY_MARKER:
        # sdk-core's record of a local activity (issue 13): its own plain JSON holds the activity's
        # type, attempt and times only; the result is ours, encrypted like every payload.
        [data] = message.details["data"].payloads
        assert set(json.loads(data.data)) <= LOCAL_ACTIVITY_MARKER_FIELDS, json.loads(data.data)
        if "result" in message.details:
            yield from message.details["result"].payloads
        return
    for field, value in message.ListFields():
        if field.message_type is None:
            continue
        if field.message_type.GetOptions().map_entry:
            values = value.values()
        elif field.is_repeated:
            values = value
        else:
            values = [value]
        for item in values:
            if isinstance(item, Message):
                yield from payloads_in(item)


async def test_a_charged_sessions_history_holds_only_encrypted_payloads(
    env: WorkflowEnvironment, worker: Worker
) -> None:
    session = make_booking(start=real_now() + 72 * HOUR)
    handle = await start(env.client, session, worker.task_queue)
    await advance_to(env, handle, session.start - 47 * HOUR)
    paid = await wait_for_state(handle, lambda s: s.status is SessionStatus.PAID, "the charge")
    assert session.payment_method_id
    secrets = [
        session.session_id,
        session.therapist_id,
        session.client_id,
        session.payment_method_id,
        session.stripe_customer_id,
        str(session.amount_minor),
    ]

    for workflow_id in (handle.id, practice_workflow_id(session.therapist_id)):
        payloads = list(payloads_in(await raw_history(env, workflow_id)))
        assert payloads, f"{workflow_id}: no payloads found"
        for payload in payloads:
            assert payload.metadata["encoding"] == ENCODING, f"{workflow_id}: a plain payload"
            assert payload.metadata[KEY_ID_METADATA]
            blob = payload.data + b"".join(payload.metadata.values())
            for secret in secrets:
                assert secret.encode() not in blob, f"{workflow_id}: {secret} readable at rest"

    # A client without the codec cannot read the state; the normal client (above) reads it.
    config = env.client.config()
    config["data_converter"] = pydantic_data_converter
    plain_client = Client(**config)
    with pytest.raises(Exception, match="binary/encrypted") as unreadable:
        await asyncio.wait_for(plain_client.get_workflow_handle(handle.id).query("state"), WAIT)
    assert session.session_id not in str(unreadable.value)
    assert (paid.session_id, paid.client_id) == (session.session_id, session.client_id)
