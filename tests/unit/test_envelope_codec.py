"""Envelope encryption: which key a payload gets, what erasure does to it, the key store itself
(tombstones, the cache's staleness across processes, the master key's rotation)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel
from temporalio.client import WorkflowHistory
from temporalio.converter import ActivitySerializationContext, DataConverter, WorkflowSerializationContext
from typer.testing import CliRunner

from domain.payments import ChargeOutcome, ChargeRequest, ChargeResult
from domain.state import SessionWorkflowInput
from ops.cli import app
from settings import LOCAL_CODEC_KEY, LOCAL_CODEC_KEY_ID, Settings
from temporal_client.codec import (
    CLIENT_ID_METADATA,
    DATA_KEY_ID_METADATA,
    FINANCIAL_FACT_TYPES,
    KEPT_METADATA,
    KEY_ID_METADATA,
    EncryptionCodec,
    PayloadErasedError,
    iter_payloads,
    session_data_key_id,
    with_codec,
)
from temporal_client.kms import CLIENT_TAG, LocalFileKms
from tests.workflows.support import make_booking

ROOT = Path(__file__).resolve().parents[2]
M1, M2 = os.urandom(32), os.urandom(32)
NOW = datetime(2027, 3, 1, 9, tzinfo=UTC)


def kms(directory: Path, ring: dict[str, bytes] | None = None, current: str = "m1") -> LocalFileKms:
    return LocalFileKms(directory, ring or {"m1": M1}, current)


def converter(store: LocalFileKms | None) -> DataConverter:
    return with_codec(EncryptionCodec({LOCAL_CODEC_KEY_ID: LOCAL_CODEC_KEY}, LOCAL_CODEC_KEY_ID, store))


def session_context(session_id: str, *, refunds: bool = False) -> WorkflowSerializationContext:
    suffix = ":refunds" if refunds else ""
    return WorkflowSerializationContext(namespace="default", workflow_id=f"session-{session_id}{suffix}")


def charge_request(session_id: str) -> ChargeRequest:
    return ChargeRequest(
        session_id=session_id,
        attempt=1,
        amount_minor=6000,
        currency="gbp",
        customer_id="cus_1",
        payment_method_id="pm_card_visa",
    )


async def test_a_sessions_payloads_use_its_data_key_tagged_with_its_client(tmp_path: Path) -> None:
    store = kms(tmp_path)
    booking = make_booking(start=NOW + timedelta(days=5))
    workflow_input = SessionWorkflowInput(booking=booking)
    contextual = converter(store).with_context(session_context(booking.session_id))

    [sealed] = await contextual.encode([workflow_input])

    key_id = session_data_key_id(booking.session_id)
    assert sealed.metadata[DATA_KEY_ID_METADATA] == key_id.encode()
    assert KEY_ID_METADATA not in sealed.metadata
    assert store.list_data_keys(CLIENT_TAG, booking.client_id) == [key_id]
    # Decoding needs no context (the codec endpoint has none), and the converter's hints are gone.
    [plain] = await converter(store).payload_codec.decode([sealed])  # type: ignore[union-attr]
    assert CLIENT_ID_METADATA not in plain.metadata and KEPT_METADATA not in plain.metadata
    assert await converter(store).decode([sealed], [SessionWorkflowInput]) == [workflow_input]


async def test_a_refunds_workflow_and_an_activity_of_the_session_share_its_data_key(tmp_path: Path) -> None:
    store = kms(tmp_path)
    activity = ActivitySerializationContext(
        namespace="default",
        activity_id="1",
        activity_type="deliver_notification",
        activity_task_queue="q",
        workflow_id="session-ses_x",
        workflow_type="SessionWorkflow",
        is_local=False,
    )

    [from_refunds] = await converter(store).with_context(session_context("ses_x", refunds=True)).encode(["x"])
    [from_activity] = await converter(store).with_context(activity).encode(["y"])

    key_id = session_data_key_id("ses_x").encode()
    assert (
        from_refunds.metadata[DATA_KEY_ID_METADATA] == from_activity.metadata[DATA_KEY_ID_METADATA] == key_id
    )


async def test_financial_facts_practices_and_context_free_payloads_keep_the_shared_key(
    tmp_path: Path,
) -> None:
    store = kms(tmp_path)
    practice = WorkflowSerializationContext(namespace="default", workflow_id="practice-thr_1")

    [fact] = await converter(store).with_context(session_context("ses_x")).encode([charge_request("ses_x")])
    [of_practice] = await converter(store).with_context(practice).encode(["cli_1"])
    [no_context] = await converter(store).encode(["ses_x"])

    for sealed in (fact, of_practice, no_context):
        assert sealed.metadata[KEY_ID_METADATA] == LOCAL_CODEC_KEY_ID.encode()
        assert DATA_KEY_ID_METADATA not in sealed.metadata
    assert store.list_data_keys("scope", "session") == []  # nothing of a session was encrypted


async def test_after_the_erasure_the_session_does_not_decode_but_its_charge_does(tmp_path: Path) -> None:
    store = kms(tmp_path)
    contextual = converter(store).with_context(session_context("ses_x"))
    personal, fact = await contextual.encode(["free text about the client", charge_request("ses_x")])
    result = ChargeResult(outcome=ChargeOutcome.SUCCEEDED, payment_intent_id="pi_1")
    [answer] = await contextual.encode([result])

    assert store.destroy_data_keys([session_data_key_id("ses_x")]) == 1

    with pytest.raises(PayloadErasedError):
        await converter(store).decode([personal])
    with pytest.raises(PayloadErasedError):  # nor is anything of the session encrypted again
        await contextual.encode(["more"])
    assert await converter(store).decode([fact, answer], [ChargeRequest, ChargeResult]) == [
        charge_request("ses_x"),
        result,
    ]
    tombstone = json.loads((tmp_path / f"{session_data_key_id('ses_x')}.json").read_text())
    assert tombstone["state"] == "destroyed"
    assert "wrapped" not in tombstone and "tags" not in tombstone
    assert store.destroy_data_keys([session_data_key_id("ses_x")]) == 0  # again: nothing changes


_FREE_TEXT_FREE = {
    # Plain ``str`` fields of the kept facts, each a machine value set by Stripe or by us.
    "payment_intent_status": "Stripe's PaymentIntent status enum",
    "code": "Stripe's error code",
    "decline_code": "Stripe's decline code",
    "advice_code": "Stripe's advice code",
    "currency": "an ISO 4217 code, validated against the supported currencies",
}


def _plain_str_fields(model: type[BaseModel]) -> set[str]:
    """Fields whose JSON Schema admits any text: a string with no pattern, enum, const or format."""
    schema = model.model_json_schema()
    definitions = schema.get("$defs", {})
    loose: set[str] = set()

    def walk(name: str, node: dict[str, Any]) -> None:
        if "$ref" in node:
            node = definitions[node["$ref"].rsplit("/", 1)[-1]]
        for option in (*node.get("anyOf", ()), *node.get("allOf", ())):
            walk(name, option)
        if node.get("type") == "string" and not ({"pattern", "enum", "const", "format"} & set(node)):
            loose.add(name)
        for inner, child in node.get("properties", {}).items():
            walk(f"{name}.{inner}", child)

    for name, node in schema["properties"].items():
        walk(name, node)
    return loose


_SECRET_WORDS = ("secret", "token", "password", "api_key")
_NEVER_KEPT_WHEN_SET = {"ChargeResult.client_secret"}
"""Credentials a financial fact may carry while its session runs: a value holding one is
encrypted with the session's key, so it is erased with the client (the next test)."""


def _secret_fields(model: type[BaseModel]) -> set[str]:
    return {name for name in model.model_fields if any(word in name for word in _SECRET_WORDS)}


def test_the_kept_financial_facts_hold_no_field_of_free_text() -> None:
    loose = {
        f"{model.__name__}.{name}" for model in FINANCIAL_FACT_TYPES for name in _plain_str_fields(model)
    }

    unexplained = {
        field
        for field in loose
        if field.split(".")[-1] not in _FREE_TEXT_FREE and field not in _NEVER_KEPT_WHEN_SET
    }
    assert unexplained == set()
    assert {"amount_minor", "currency", "payment_intent_id"} <= set(ChargeRequest.model_fields)


def test_no_kept_financial_fact_holds_a_secret() -> None:
    secrets = {f"{model.__name__}.{name}" for model in FINANCIAL_FACT_TYPES for name in _secret_fields(model)}
    assert secrets == _NEVER_KEPT_WHEN_SET  # a new one must be added there and shown never kept

    payload_converter = converter(None).payload_converter
    with_secret = ChargeResult(
        outcome=ChargeOutcome.REQUIRES_ACTION, payment_intent_id="pi_1", client_secret="pi_1_secret_abc"
    )
    without = ChargeResult(outcome=ChargeOutcome.SUCCEEDED, payment_intent_id="pi_1")
    [secret_payload, kept_payload] = payload_converter.to_payloads([with_secret, without])
    assert KEPT_METADATA not in secret_payload.metadata
    assert kept_payload.metadata[KEPT_METADATA] == b"financial"


async def test_a_payment_intents_client_secret_is_erased_with_the_session(tmp_path: Path) -> None:
    store = kms(tmp_path)
    contextual = converter(store).with_context(session_context("ses_x"))
    requires_action = ChargeResult(
        outcome=ChargeOutcome.REQUIRES_ACTION,
        payment_intent_id="pi_1",
        payment_intent_status="requires_action",
        client_secret="pi_1_secret_abc",
    )
    [sealed] = await contextual.encode([requires_action])
    assert sealed.metadata[DATA_KEY_ID_METADATA] == session_data_key_id("ses_x").encode()
    assert await converter(store).decode([sealed], [ChargeResult]) == [requires_action]  # while it runs

    store.destroy_data_keys([session_data_key_id("ses_x")])

    with pytest.raises(PayloadErasedError):
        await converter(store).decode([sealed], [ChargeResult])


async def test_every_recorded_history_still_decodes_with_envelope_encryption_on(tmp_path: Path) -> None:
    envelope = converter(kms(tmp_path))
    decoded = 0
    files = [
        *sorted((ROOT / "tests" / "histories").glob("*.json")),
        *(ROOT / "faults" / "evidence").glob("*.json"),
    ]
    for path in files:
        history = WorkflowHistory.from_json(path.stem, json.loads(path.read_text()))
        for event in history.events:
            payloads = iter_payloads(event)
            decoded += len(await envelope.payload_codec.decode(payloads))  # type: ignore[union-attr]
    assert len(files) > 140 and decoded > 3_000  # 3,760 payloads on 2026-12-04


def test_a_destroyed_key_stops_decoding_at_once_in_another_process_with_a_warm_cache(tmp_path: Path) -> None:
    store = kms(tmp_path)
    key_id = store.generate_data_key(session_data_key_id("ses_x"), {CLIENT_TAG: "cli_1"}).key_id
    reader = subprocess.Popen(  # another process sharing the directory: caches the key, then waits
        [sys.executable, "-c", _READER, str(tmp_path), base64.b64encode(M1).decode(), key_id],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert reader.stdout is not None and reader.stdin is not None
        assert reader.stdout.readline().strip() == "cached"
        store.destroy_data_keys([key_id])
        reader.stdin.write("go\n")
        reader.stdin.flush()
        assert reader.stdout.readline().strip() == "destroyed"
    finally:
        reader.kill()
        reader.wait(timeout=10)


_READER = """
import sys
from pathlib import Path
from typing import Any
import base64
import hashlib
from temporal_client.kms import DataKeyDestroyedError, LocalFileKms
store = LocalFileKms(Path(sys.argv[1]), {"m1": base64.b64decode(sys.argv[2])}, "m1")
store.decrypt_data_key(sys.argv[3])
print("cached", flush=True)
sys.stdin.readline()
try:
    store.decrypt_data_key(sys.argv[3])
    print("still decodes", flush=True)
except DataKeyDestroyedError:
    print("destroyed", flush=True)
"""


def _ring(**keys: bytes) -> str:
    return ",".join(f"{key_id}:{base64.b64encode(key).decode()}" for key_id, key in keys.items())


async def test_after_rotate_master_old_and_new_payloads_decode_with_only_the_new_master_key(
    tmp_path: Path,
) -> None:
    old_store = kms(tmp_path)
    [old] = await converter(old_store).with_context(session_context("ses_old")).encode(["before"])
    env = {
        "SESSIONFLOW_KMS_DIR": str(tmp_path),
        "SESSIONFLOW_KMS_MASTER_KEYS": _ring(m1=M1, m2=M2),
        "SESSIONFLOW_KMS_CURRENT_MASTER_KEY_ID": "m2",
    }
    both = kms(tmp_path, {"m1": M1, "m2": M2}, "m2")
    [new] = await converter(both).with_context(session_context("ses_new")).encode(["after"])

    rotated = CliRunner().invoke(app, ["kms", "rotate-master"], env=env, catch_exceptions=False)

    assert rotated.exit_code == 0, rotated.output
    assert "rewrapped 1 data key(s); master keys in use: m2" in rotated.output
    only_new = kms(tmp_path, {"m2": M2}, "m2")
    assert await converter(only_new).decode([old, new], [str, str]) == ["before", "after"]
    again = CliRunner().invoke(app, ["kms", "rotate-master"], env=env, catch_exceptions=False)
    assert "rewrapped 0 data key(s)" in again.output


def test_a_data_key_file_holds_only_the_wrapped_key_and_opaque_tags(tmp_path: Path) -> None:
    store = kms(tmp_path)
    key = store.generate_data_key(session_data_key_id("ses_x"), {CLIENT_TAG: "cli_1", "scope": "session"})

    record = json.loads((tmp_path / f"{key.key_id}.json").read_text())

    assert set(record) == {"key_id", "state", "master_key_id", "wrapped", "tags", "created_at"}
    assert base64.b64encode(key.plaintext).decode() not in json.dumps(record)
    assert record["tags"] == {CLIENT_TAG: "cli_1", "scope": "session"}
    assert list(tmp_path.glob("*.tmp")) == []  # written through a temporary file, renamed into place


def test_the_key_cache_is_bounded(tmp_path: Path) -> None:
    store = LocalFileKms(tmp_path, {"m1": M1}, "m1", cache_size=2)
    ids = [store.generate_data_key(session_data_key_id(f"ses_{n}"), {}).key_id for n in range(3)]

    for key_id in ids:
        store.decrypt_data_key(key_id)

    assert list(store._cache) == ids[1:]  # the least recently used left first


def test_the_local_only_master_key_and_hash_key_are_refused_off_loopback(tmp_path: Path) -> None:
    real_codec = {
        "codec_keys": _ring(k1=M1),
        "codec_current_key_id": "k1",
        "api_token_sha256": (hashlib.sha256(b"a real token").hexdigest(),),
        "stripe_webhook_secret": "whsec_configured_for_this_test",
    }
    remote = {"temporal_address": "temporal.internal:7233", "kms_dir": tmp_path, **real_codec}

    with pytest.raises(ValueError, match="local-only KMS master key is refused"):
        Settings(**remote, erasure_hash_key="a real secret")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="local-only erasure hash key is refused"):
        Settings(**remote, kms_master_keys=_ring(m1=M1), kms_current_master_key_id="m1")  # type: ignore[arg-type]
    configured = Settings(
        **remote,  # type: ignore[arg-type]
        kms_master_keys=_ring(m1=M1, m2=M2),
        kms_current_master_key_id="m2",
        erasure_hash_key="a real secret",
    )
    assert configured.kms_master_key_ring == {"m1": M1, "m2": M2}
    with pytest.raises(ValueError, match="current KMS master key id"):
        Settings(kms_master_keys=_ring(m1=M1), kms_current_master_key_id="m9")
