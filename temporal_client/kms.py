"""Key management for envelope encryption: per-session data keys wrapped by a master key.

The interface has the shape of a cloud KMS (AWS KMS ``GenerateDataKey`` / ``Decrypt``, Google
Cloud KMS, Vault transit): a data key is generated once, only its *wrapped* form (encrypted by a
master key) is ever stored, and unwrapping it needs the master key. On top of that, the store keeps
each data key's opaque tags (which client it belongs to), can destroy every key of a client (the
erasure) and can rewrap every key under a new master key (the master key's rotation).

``LocalFileKms`` is the implementation for one host or a shared volume: a directory with one JSON
file per data key (its id, the id of the master key that wrapped it, the wrapped key, its tags).
A destroyed key's file is replaced by a *tombstone* (id, state, when): no key material, no tags.
An erased client is recorded in ``erased/<HMAC-SHA256 of the client id>`` (keyed by
``SESSIONFLOW_ERASURE_HASH_KEY``, never the id) under the lock that destroys their keys: from then
on a key is never created or tagged for them (``ClientErasedError``).
Every change is written to a temporary file, fsync'd, renamed into place and the directory
fsync'd, under an exclusive ``flock`` on the directory's lock file, so a crash leaves either the
old or the new file and a tagging can never resurrect a key destroyed concurrently.
The lock is taken with non-blocking attempts and short pauses, bounded (``LOCK_TIMEOUT_SECONDS``),
and held briefly: one key's creation or tagging, an erasure's few keys, or one batch of the master
key's rotation (``rewrap_all`` lets it go between batches). It blocks the calling *thread*: the
codec's async ``encode``/``decode`` run KMS work in a thread, never on an event loop.

**The cache and its staleness bound.** Unwrapped keys are cached in memory (least recently used
first out, ``Settings.kms_cache_size``). Before a cached key is used, the key's file is stat'ed
(one ``stat`` call, a few microseconds): the entry is used only while the file is the very one it
was read from (same inode, size, modification time). Destroying or rewrapping a key replaces the
file, so every process sharing the directory stops using a destroyed key at its next payload —
the staleness bound is zero. (A cloud KMS implementation, where a check costs a network call,
would use a short TTL instead and document it as the bound.)
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import hmac
import json
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, TypeGuard

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from settings import CODEC_KEY_BYTES, Settings

CLIENT_TAG = "client"
"""The tag naming the client whose data a key protects (an opaque client id)."""
SCOPE_TAG = "scope"
SESSION_TAG = "session"
"""The tag naming the session a key belongs to (its opaque id): an erasure describes the workflow of
a key tagged with the client that visibility did not list (``temporal_client.erasure``)."""
_NONCE_BYTES = 12
_KEY_FILE_SUFFIX = ".json"
_LOCK_FILE = ".lock"
LOCK_TIMEOUT_SECONDS = 60.0
"""The longest a KMS change waits for the directory's lock before it fails (``KmsLockTimeoutError``):
every holder lets go within milliseconds (a key's creation, an erasure's few keys) or between its
batches (``rewrap_all``), so a longer wait means a stuck holder, not a busy one."""
_LOCK_POLL_FIRST, _LOCK_POLL_MAX = 0.001, 0.01
REWRAP_BATCH_SIZE = 100
"""Keys rewrapped under one holding of the lock: others' changes get in between batches."""
_REWRAP_PAUSE_SECONDS = 0.02
"""The lock stays free this long between two rewrap batches: longer than a waiter's longest poll
(``_LOCK_POLL_MAX``), so a waiting key creation gets its turn."""
_ERASED_DIR = "erased"


class KmsError(Exception):
    """The store is unusable for this key (missing, malformed, its master key not configured)."""


class DataKeyDestroyedError(KmsError):
    """The data key was destroyed (an erasure): what it encrypted can never be read again."""


class KmsLockTimeoutError(KmsError):
    """The directory's lock stayed held for ``LOCK_TIMEOUT_SECONDS``: a stuck holder."""


class UnknownDataKeyError(KmsError):
    """No data key by that id in the store."""


class ClientErasedError(KmsError):
    """The client was erased: no data key is ever created or tagged for them again (a booking
    racing the erasure, or made after it, gets no key, so it cannot start)."""


@dataclass(frozen=True)
class DataKey:
    key_id: str
    plaintext: bytes
    """The 32-byte AES-256 key; kept in memory only, never written anywhere."""
    wrapped: bytes
    master_key_id: str


def data_key_id(scope: str) -> str:
    """The data key of one scope (a session: ``session:<id>``), derived so that every process
    finds the same key without a lookup table; opaque, so a tombstone names no session."""
    return "dk_" + hashlib.sha256(f"sessionflow data key\0{scope}".encode()).hexdigest()[:40]


class KeyManagementService(Protocol):
    """What the codec and the erasure need from a KMS (the shape of a cloud one)."""

    def generate_data_key(self, key_id: str, tags: Mapping[str, str]) -> DataKey:
        """The live data key ``key_id``, created (random, wrapped by the current master key, with
        ``tags``) if it does not exist; raises ``DataKeyDestroyedError`` if it was destroyed."""
        ...

    def decrypt_data_key(self, key_id: str) -> bytes:
        """Unwrap the data key ``key_id``; ``DataKeyDestroyedError`` after its destruction,
        ``UnknownDataKeyError`` if it never existed."""
        ...

    def tag_data_key(self, key_id: str, tags: Mapping[str, str]) -> None:
        """Add tags to a live key (a no-op on a destroyed one: it must stay destroyed)."""
        ...

    def list_data_keys(self, tag: str, value: str) -> list[str]:
        """The ids of the live data keys tagged ``tag=value``."""
        ...

    def destroy_data_keys(self, key_ids: list[str], *, erased_client: str | None = None) -> int:
        """Destroy these data keys (leaving tombstones); how many were live before. With
        ``erased_client``, under the same lock: record the client as erased (no key is created or
        tagged for them again: ``ClientErasedError``) and destroy every key tagged with them too."""
        ...

    def is_client_erased(self, client_id: str) -> bool:
        """``destroy_data_keys`` recorded this client as erased."""
        ...

    def rewrap_all(
        self,
        *,
        batch_size: int = REWRAP_BATCH_SIZE,
        between_batches: Callable[[int], None] | None = None,
    ) -> int:
        """Rewrap every live data key under the current master key, ``batch_size`` keys per
        holding of the store's lock (others' changes get in between); how many changed.
        ``between_batches(rewrapped so far)`` runs between two batches, the lock free."""
        ...

    def is_destroyed(self, key_id: str) -> bool:
        """The key was destroyed (a tombstone stands in its place)."""
        ...


@dataclass
class _Cached:
    key: bytes
    identity: tuple[int, int, int]


class LocalFileKms:
    """``KeyManagementService`` on a directory (see the module docstring)."""

    def __init__(
        self,
        directory: Path,
        master_keys: Mapping[str, bytes],
        current_master_key_id: str,
        *,
        cache_size: int = 10_000,
        erased_hash_key: bytes = b"sessionflow erased clients",
    ) -> None:
        if current_master_key_id not in master_keys:
            raise ValueError(f"the current master key id {current_master_key_id!r} is not among the keys")
        for master_id, key in master_keys.items():
            if len(key) != CODEC_KEY_BYTES:
                raise ValueError(f"master key {master_id!r} must be {CODEC_KEY_BYTES} bytes (AES-256)")
        self._dir = directory
        self._dir.mkdir(parents=True, exist_ok=True)
        self._dir_text = os.fspath(directory)
        self._masters = {master_id: AESGCM(key) for master_id, key in master_keys.items()}
        self._current = current_master_key_id
        self._cache: OrderedDict[str, _Cached] = OrderedDict()
        self._cache_size = cache_size
        self._cache_lock = threading.Lock()
        self._erased_hash_key = erased_hash_key

    @classmethod
    def from_settings(cls, settings: Settings) -> LocalFileKms:
        if settings.kms_dir is None:
            raise ValueError("SESSIONFLOW_KMS_DIR is not set: envelope encryption is off")
        return cls(
            settings.kms_dir,
            settings.kms_master_key_ring,
            settings.kms_current_master_key_id,
            cache_size=settings.kms_cache_size,
            erased_hash_key=settings.erasure_hash_key.get_secret_value().encode(),
        )

    @property
    def directory(self) -> Path:
        return self._dir

    # ------------------------------------------------------------------ the protocol

    def generate_data_key(self, key_id: str, tags: Mapping[str, str]) -> DataKey:
        with self._locked():
            self._refuse_erased(tags)
            record = self._read(key_id)
            if record is None:
                plaintext = AESGCM.generate_key(bit_length=256)
                wrapped = self._wrap(key_id, plaintext, self._current)
                self._write(key_id, _live_record(key_id, self._current, wrapped, dict(tags)))
                return DataKey(key_id, plaintext, wrapped, self._current)
        plaintext = self.decrypt_data_key(key_id)
        if tags and any(record.get("tags", {}).get(name) != value for name, value in tags.items()):
            self.tag_data_key(key_id, tags)
        return DataKey(key_id, plaintext, base64.b64decode(record["wrapped"]), record["master_key_id"])

    def decrypt_data_key(self, key_id: str) -> bytes:
        try:
            # A string path and one stat: this runs for every payload (pathlib costs more here).
            identity = _identity(self._path_text(key_id))
        except FileNotFoundError:
            self._forget(key_id)
            raise UnknownDataKeyError(f"no data key {key_id}") from None
        with self._cache_lock:
            cached = self._cache.get(key_id)
            if cached is not None and cached.identity == identity:
                self._cache.move_to_end(key_id)
                return cached.key
        record = self._read(key_id)
        if record is None:
            raise UnknownDataKeyError(f"no data key {key_id}")
        if record.get("state") != "live":
            self._forget(key_id)
            raise DataKeyDestroyedError(f"data key {key_id} was destroyed")
        key = self._unwrap(key_id, record)
        with self._cache_lock:
            # The identity read before the file: if it changed in between, the next use re-reads.
            self._cache[key_id] = _Cached(key, identity)
            self._cache.move_to_end(key_id)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return key

    def tag_data_key(self, key_id: str, tags: Mapping[str, str]) -> None:
        with self._locked():
            self._refuse_erased(tags)
            record = self._read(key_id)
            if record is None or record.get("state") != "live":
                return
            record["tags"] = {**record.get("tags", {}), **tags}
            self._write(key_id, record)

    def list_data_keys(self, tag: str, value: str) -> list[str]:
        found: list[str] = []
        for key_id in self._key_ids():
            record = self._read(key_id)
            if _is_live(record) and record.get("tags", {}).get(tag) == value:
                found.append(key_id)
        return found

    def destroy_data_keys(self, key_ids: list[str], *, erased_client: str | None = None) -> int:
        destroyed = 0
        with self._locked():
            if erased_client is not None:
                # Under the same lock as the destruction: from here no key is created or tagged
                # for the client, and every key tagged with them by now is destroyed below.
                marker = self._erased_marker(erased_client)
                if not marker.exists():
                    write_record(marker, {"erased_at": datetime.now(UTC).isoformat()})
                tagged = self.list_data_keys(CLIENT_TAG, erased_client)
                key_ids = sorted({*key_ids, *tagged})
            for key_id in key_ids:
                record = self._read(key_id)
                if record is not None and record.get("state") != "live":
                    continue  # already a tombstone: destroying again changes nothing
                # A key never created gets a tombstone too, so no process can create it later.
                self._write(key_id, _tombstone(key_id))
                destroyed += record is not None
                self._forget(key_id)
        return destroyed

    def rewrap_all(
        self,
        *,
        batch_size: int = REWRAP_BATCH_SIZE,
        between_batches: Callable[[int], None] | None = None,
    ) -> int:
        # Batches, the lock let go between them: a rotation over a large (NFS) directory must not
        # hold every key creation and erasure for minutes. Each key is re-read under the lock, so
        # one destroyed or rewrapped meanwhile is skipped, never resurrected.
        pending = self._key_ids()
        changed = 0
        while pending:
            batch, pending = pending[:batch_size], pending[batch_size:]
            with self._locked():
                for key_id in batch:
                    record = self._read(key_id)
                    if not _is_live(record) or record["master_key_id"] == self._current:
                        continue
                    rewrapped = self._wrap(key_id, self._unwrap(key_id, record), self._current)
                    record["wrapped"] = base64.b64encode(rewrapped).decode()
                    record["master_key_id"] = self._current
                    self._write(key_id, record)
                    changed += 1
            if pending:
                if between_batches is not None:
                    between_batches(changed)
                time.sleep(_REWRAP_PAUSE_SECONDS)  # a waiter polling for the lock gets its turn
        return changed

    def is_destroyed(self, key_id: str) -> bool:
        record = self._read(key_id)
        return record is not None and record.get("state") != "live"

    def is_client_erased(self, client_id: str) -> bool:
        """The client was erased (``destroy_data_keys(…, erased_client=…)``): recorded as a keyed
        HMAC of their id (``SESSIONFLOW_ERASURE_HASH_KEY``), never the id."""
        return self._erased_marker(client_id).exists()

    def data_key_tags(self, key_id: str) -> dict[str, str]:
        """A live key's tags (empty for a destroyed or unknown one)."""
        record = self._read(key_id)
        return dict(record.get("tags", {})) if _is_live(record) else {}

    def master_key_ids_in_use(self) -> set[str]:
        """The master keys still wrapping some live data key: none but the current one after
        ``rewrap_all``, so older master keys may then be removed from the ring."""
        used: set[str] = set()
        for key_id in self._key_ids():
            record = self._read(key_id)
            if record is not None and record.get("state") == "live":
                used.add(record["master_key_id"])
        return used

    # ------------------------------------------------------------------ files

    def _path(self, key_id: str) -> Path:
        return Path(self._path_text(key_id))

    def _path_text(self, key_id: str) -> str:
        if not key_id.startswith("dk_") or not key_id[3:].isalnum():
            raise KmsError("malformed data key id")
        return f"{self._dir_text}/{key_id}{_KEY_FILE_SUFFIX}"

    def _key_ids(self) -> list[str]:
        paths = self._dir.glob(f"dk_*{_KEY_FILE_SUFFIX}")
        return sorted(path.name.removesuffix(_KEY_FILE_SUFFIX) for path in paths)

    def _read(self, key_id: str) -> dict[str, Any] | None:
        try:
            text = self._path(key_id).read_text()
        except FileNotFoundError:
            return None
        try:
            record = json.loads(text)
        except ValueError:
            raise KmsError(f"data key file {key_id} is not valid JSON") from None
        if not isinstance(record, dict) or record.get("key_id") != key_id:
            raise KmsError(f"data key file {key_id} does not describe that key")
        return record

    def _write(self, key_id: str, record: Mapping[str, Any]) -> None:
        _write_atomically(self._path(key_id), json.dumps(record, sort_keys=True).encode())

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """The directory's exclusive lock, taken with non-blocking attempts and a growing pause
        (1 to 10 ms) up to ``LOCK_TIMEOUT_SECONDS``: never an unbounded wait. It blocks the
        calling thread, so async callers run KMS work in a thread (``EncryptionCodec.encode``)."""
        fd = os.open(self._dir / _LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            deadline = time.monotonic() + LOCK_TIMEOUT_SECONDS
            pause = _LOCK_POLL_FIRST
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise KmsLockTimeoutError(
                            f"the KMS directory's lock stayed held for {LOCK_TIMEOUT_SECONDS:.0f} s"
                        ) from None
                    time.sleep(pause)
                    pause = min(pause * 2, _LOCK_POLL_MAX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def _erased_marker(self, client_id: str) -> Path:
        digest = hmac.new(self._erased_hash_key, f"client\0{client_id}".encode(), hashlib.sha256)
        return self._dir / _ERASED_DIR / digest.hexdigest()

    def _refuse_erased(self, tags: Mapping[str, str]) -> None:
        client_id = tags.get(CLIENT_TAG)
        if client_id is not None and self.is_client_erased(client_id):
            raise ClientErasedError("the key's client was erased: no new key is made for them")

    def _forget(self, key_id: str) -> None:
        with self._cache_lock:
            self._cache.pop(key_id, None)

    # ------------------------------------------------------------------ wrapping

    def _wrap(self, key_id: str, plaintext: bytes, master_id: str) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + self._masters[master_id].encrypt(nonce, plaintext, _aad(key_id, master_id))

    def _unwrap(self, key_id: str, record: Mapping[str, Any]) -> bytes:
        master_id = str(record.get("master_key_id"))
        master = self._masters.get(master_id)
        if master is None:
            raise KmsError(
                f"data key {key_id} is wrapped by master key {master_id!r}, which is not configured "
                "(SESSIONFLOW_KMS_MASTER_KEYS): add it back, or run `sessionflow kms rotate-master` "
                "while both are configured"
            )
        wrapped = base64.b64decode(str(record.get("wrapped")))
        try:
            return master.decrypt(wrapped[:_NONCE_BYTES], wrapped[_NONCE_BYTES:], _aad(key_id, master_id))
        except InvalidTag:
            raise KmsError(f"data key {key_id} fails authentication under master key {master_id!r}") from None


def _is_live(record: dict[str, Any] | None) -> TypeGuard[dict[str, Any]]:
    return record is not None and record.get("state") == "live"


def _aad(key_id: str, master_id: str) -> bytes:
    # Bound to the key's id and its master's: a wrapped key copied under another id never unwraps.
    return f"{key_id}\0{master_id}".encode()


def _live_record(key_id: str, master_id: str, wrapped: bytes, tags: dict[str, str]) -> dict[str, Any]:
    return {
        "key_id": key_id,
        "state": "live",
        "master_key_id": master_id,
        "wrapped": base64.b64encode(wrapped).decode(),
        "tags": tags,
        "created_at": datetime.now(UTC).isoformat(),
    }


def _tombstone(key_id: str) -> dict[str, Any]:
    return {"key_id": key_id, "state": "destroyed", "destroyed_at": datetime.now(UTC).isoformat()}


def _identity(path: str) -> tuple[int, int, int]:
    stat = os.stat(path)
    return (stat.st_ino, stat.st_size, stat.st_mtime_ns)


def _write_atomically(path: Path, data: bytes) -> None:
    """Write-to-temporary, fsync, rename, fsync the directory: a reader (or a crash) sees the old
    file or the new one, never a torn one; the rename gives the file a new inode, which is what
    tells every process's cache that the key changed."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temporary, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def write_record(path: Path, record: Mapping[str, Any]) -> None:
    """Write a small JSON record durably (an erasure record next to the keys)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_atomically(path, json.dumps(record, sort_keys=True, indent=1).encode())
