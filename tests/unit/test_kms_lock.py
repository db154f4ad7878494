"""The KMS's directory lock never stalls an event loop: while another process holds it (a key's
creation, an erasure's destroy loop, ``sessionflow kms rotate-master``), the codec waits for it
off the loop, and the master key's rotation lets others in between its batches."""

from __future__ import annotations

import asyncio
import fcntl
import os
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from temporalio.converter import WorkflowSerializationContext

from contract.ids import session_workflow_id
from domain.state import SessionWorkflowInput
from settings import LOCAL_CODEC_KEY, LOCAL_CODEC_KEY_ID
from temporal_client.codec import EncryptionCodec, session_data_key_id, with_codec
from temporal_client.kms import CLIENT_TAG, LocalFileKms
from tests.workflows.support import make_booking

M1, M2 = os.urandom(32), os.urandom(32)
TICKS_WHILE_LOCKED = 20
"""Ticks of 10 ms the loop must make while the codec waits for the lock."""
HOLD_AT_MOST = 3.0
"""The other holder lets go after this at the latest (the test's bound if the loop is frozen)."""


def _hold_lock(directory: Path, locked: threading.Event, release: threading.Event) -> None:
    """Another process's KMS change: the lock is the directory's ``.lock`` file, an own open file
    description (flock locks conflict between those, in one process as across processes)."""
    fd = os.open(directory / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        locked.set()
        release.wait(HOLD_AT_MOST)
    finally:
        os.close(fd)


async def test_the_loop_keeps_running_while_a_new_sessions_key_waits_for_the_kms_lock(tmp_path: Path) -> None:
    store = LocalFileKms(tmp_path, {"m1": M1}, "m1")
    booking = make_booking(start=datetime(2027, 3, 1, 9, tzinfo=UTC) + timedelta(days=5))
    contextual = with_codec(
        EncryptionCodec({LOCAL_CODEC_KEY_ID: LOCAL_CODEC_KEY}, LOCAL_CODEC_KEY_ID, store)
    ).with_context(
        WorkflowSerializationContext(namespace="default", workflow_id=session_workflow_id(booking.session_id))
    )
    locked, release = threading.Event(), threading.Event()
    holder = threading.Thread(target=_hold_lock, args=(tmp_path, locked, release))
    holder.start()
    try:
        assert await asyncio.wait_for(asyncio.to_thread(locked.wait, HOLD_AT_MOST), HOLD_AT_MOST)
        # The session's first payload creates its data key: that needs the lock.
        encoding = asyncio.create_task(contextual.encode([SessionWorkflowInput(booking=booking)]))
        pending_at_each_tick: list[bool] = []
        while len(pending_at_each_tick) < TICKS_WHILE_LOCKED:
            await asyncio.sleep(0.01)
            pending_at_each_tick.append(not encoding.done())
        release.set()
        [sealed] = await asyncio.wait_for(encoding, HOLD_AT_MOST)
    finally:
        release.set()
        holder.join(HOLD_AT_MOST)

    # A frozen loop ticks only after the encode got the lock (when the holder gave up): every
    # tick then finds it done. Here the loop ticked on while the encode waited, all 20 times.
    assert pending_at_each_tick == [True] * TICKS_WHILE_LOCKED
    assert store.list_data_keys(CLIENT_TAG, booking.client_id) == [session_data_key_id(booking.session_id)]
    assert await with_codec(
        EncryptionCodec({LOCAL_CODEC_KEY_ID: LOCAL_CODEC_KEY}, LOCAL_CODEC_KEY_ID, store)
    ).decode([sealed], [SessionWorkflowInput]) == [SessionWorkflowInput(booking=booking)]


def test_the_sync_codec_paths_still_encrypt_and_decrypt_with_a_sessions_key(tmp_path: Path) -> None:
    """The timeline and the CLI call ``encrypt``/``decrypt`` directly, outside any loop."""
    store = LocalFileKms(tmp_path, {"m1": M1}, "m1")
    codec = EncryptionCodec({LOCAL_CODEC_KEY_ID: LOCAL_CODEC_KEY}, LOCAL_CODEC_KEY_ID, store)
    context = WorkflowSerializationContext(namespace="default", workflow_id="session-ses_sync")
    contextual = codec.with_context(context)
    [payload] = with_codec(codec).payload_converter.to_payloads(["a note"])

    sealed = contextual.encrypt(payload)

    assert sealed.metadata["encryption-data-key-id"] == session_data_key_id("ses_sync").encode()
    assert codec.decrypt(sealed) == payload


def test_rotate_master_rewraps_in_batches_letting_the_lock_go_between_them(tmp_path: Path) -> None:
    before = LocalFileKms(tmp_path, {"m1": M1}, "m1")
    for n in range(7):
        before.generate_data_key(session_data_key_id(f"ses_{n}"), {})
    rotating = LocalFileKms(tmp_path, {"m1": M1, "m2": M2}, "m2")
    free_between_batches: list[bool] = []

    def between_batches(rewrapped: int) -> None:
        # What another process's key creation finds at this moment: a free lock.
        fd = os.open(tmp_path / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            free_between_batches.append(True)
        except BlockingIOError:
            free_between_batches.append(False)
        finally:
            os.close(fd)

    changed = rotating.rewrap_all(batch_size=3, between_batches=between_batches)

    assert changed == 7
    assert free_between_batches == [True, True]  # after the first 3 and the next 3; the last 1 ends it
    assert rotating.master_key_ids_in_use() == {"m2"}
