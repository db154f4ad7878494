"""Payload encryption: every payload Sessionflow hands Temporal is AES-256-GCM encrypted, so
histories at rest hold no readable health or payment data — and one client's can be erased.

Two kinds of key, one AES-GCM per payload either way:

- **The shared key ring** (``SESSIONFLOW_CODEC_KEYS``; ``encryption-key-id: <id>``): the whole
  original ``Payload`` is encrypted with the current ring key under a fresh 12-byte nonce, the key
  id bound as associated data. Decoding uses whichever ring key the payload names, so older keys
  keep decrypting after a rotation. Every payload recorded before envelope encryption (the
  recorded histories, ``faults/evidence/``) is of this kind and decodes exactly as before.
- **A session's data key** (``encryption-data-key-id: dk_…``, envelope encryption,
  ``temporal_client.kms``): with a KMS configured (``SESSIONFLOW_KMS_DIR``), a payload that
  belongs to a session's workflow — or to that session's refunds workflow — is encrypted with a
  data key of that session, tagged with the session's client. Erasing client X destroys every
  data key tagged X (and the keys of X's sessions found in visibility): from then on no payload of
  X's sessions decodes anywhere, and decoding one raises ``PayloadErasedError``.

**Which key, decided where.** The SDK gives the codec a *serialization context* (``with_context``)
naming the workflow a payload belongs to: the client (start, signal, update, query, its result),
the worker for every workflow activation (the workflow's own id; a child's id for a child's input;
the calling workflow's id for activity inputs) and for activity tasks (the calling workflow's id,
``ActivitySerializationContext.workflow_id``). A payload with a session's workflow id
(``session-<id>`` or ``session-<id>:refunds``) gets that session's data key; every other payload
(practice workflows: many clients' opaque ids, no free text; payloads with no context) keeps the
shared ring. The codec sees only bytes, so what a payload *is* comes from the payload converter
(``SessionflowPayloadConverter``), which sees the value and adds two metadata entries that the
codec reads and strips before encrypting:

- ``sessionflow-kept: financial`` on the financial facts the marketplace must keep after an
  erasure (``FINANCIAL_FACT_TYPES``: charge, void, read and refund requests and results, Stripe's
  payment events — amounts, currency, PaymentIntent/refund ids, outcome codes; opaque ids only,
  no free text: ``tests/unit/test_envelope_codec.py`` checks every field). They are encrypted with
  the shared ring, so reconciliation reads them after the client's key is gone. Dates come from
  the history events themselves (never encrypted). Never a secret: a ``ChargeResult`` carrying
  the PaymentIntent's ``client_secret`` (a charge the client must complete on-session) is not
  marked, so it is encrypted with the session's key and erased with the client.
- ``sessionflow-client-id: <id>`` on a value that names its client (the session's workflow input,
  ``SessionWorkflowInput.booking.client_id``; a refunds workflow's ``ClosedSessionRefunds``): the
  codec tags the session's data key with it.

**Decoding needs no context**: the key is named in the payload's metadata, so the Temporal UI's
codec endpoint (which knows no workflow id), the CLI and the replayer decode any payload they hold
the key for. A payload of a destroyed key raises ``PayloadErasedError`` (not a
``PayloadDecryptionError``): the codec endpoint answers it as an ``erased`` placeholder payload,
the timeline counts it as erased, the CLI says so.

**Cost**: one AES-GCM per payload as before, plus a cached key lookup (a dictionary hit and one
``stat`` of the key's file, to see a destruction at once); a data key is unwrapped once per
process until it changes. The async ``encode``/``decode`` (what the SDK calls, in the API and the
worker) do a session's KMS work in a thread (``asyncio.to_thread``): a key's creation waits for
the KMS directory's lock, which another process's change may hold, and the event loop serving
everything else must not wait with it. Payloads of the shared ring alone stay on the loop. The
sync ``encrypt``/``decrypt`` (the timeline, the codec endpoint's decode, the CLI) are unchanged.

Codecs run outside workflow code (in the SDK's data converter), so the random nonce and the key
store's I/O do not affect determinism.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import os
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from pydantic import BaseModel
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import PydanticPayloadConverter, pydantic_data_converter
from temporalio.converter import (
    ActivitySerializationContext,
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    PayloadCodec,
    SerializationContext,
    WithSerializationContext,
    WorkflowSerializationContext,
)

from contract.ids import SESSION_REFUNDS_SUFFIX, session_id_from_workflow_id
from domain.payments import (
    ChargeRequest,
    ChargeResult,
    PaymentEvent,
    PaymentRead,
    PaymentReadRequest,
    RefundRequest,
    RefundResult,
    VoidRequest,
    VoidResult,
)
from settings import CODEC_KEY_BYTES, Settings
from temporal_client.kms import (
    CLIENT_TAG,
    SCOPE_TAG,
    SESSION_TAG,
    DataKeyDestroyedError,
    KeyManagementService,
    KmsError,
    LocalFileKms,
    UnknownDataKeyError,
    data_key_id,
)

ENCODING = b"binary/encrypted"
KEY_ID_METADATA = "encryption-key-id"
DATA_KEY_ID_METADATA = "encryption-data-key-id"
KEPT_METADATA = "sessionflow-kept"
CLIENT_ID_METADATA = "sessionflow-client-id"
ERASED_METADATA = "sessionflow-erased"
NONCE_BYTES = 12

FINANCIAL_FACT_TYPES: tuple[type[BaseModel], ...] = (
    ChargeRequest,
    ChargeResult,
    VoidRequest,
    VoidResult,
    PaymentReadRequest,
    PaymentRead,
    RefundRequest,
    RefundResult,
    PaymentEvent,
)
"""What the marketplace keeps after a client's erasure (encrypted with the shared ring): every
Stripe money movement's request and answer. Only amounts, currency, Stripe ids, outcome and
decline codes and dates: a unit test fails if one gains a field of free text. A value holding a
secret (a ``ChargeResult``'s ``client_secret``) is not kept: it stays under the session's key."""


class PayloadDecryptionError(ValueError):
    """An encrypted payload that cannot be decrypted: unknown key id, tampered or malformed."""


class PayloadErasedError(Exception):
    """The payload's data key was destroyed by a client's erasure: it will never decode again.
    Not a ``PayloadDecryptionError``: nothing is wrong, the data is gone on purpose."""

    def __init__(self, data_key_id: str) -> None:
        super().__init__(f"the payload's data key {data_key_id} was destroyed (client erasure)")
        self.data_key_id = data_key_id


class SessionflowPayloadConverter(PydanticPayloadConverter):
    """The pydantic payload converter, telling the codec what each payload is (see the module
    docstring): financial facts are marked kept, values naming their client carry its id. The
    codec strips both entries, so the stored payload is exactly the pydantic converter's."""

    def to_payloads(self, values: Sequence[Any]) -> list[Payload]:
        payloads = super().to_payloads(values)
        for value, payload in zip(values, payloads, strict=True):
            if isinstance(value, FINANCIAL_FACT_TYPES) and not _holds_a_secret(value):
                payload.metadata[KEPT_METADATA] = b"financial"
            elif (client_id := _client_of(value)) is not None:
                payload.metadata[CLIENT_ID_METADATA] = client_id.encode()
        return payloads


def _holds_a_secret(value: BaseModel) -> bool:
    """A PaymentIntent's ``client_secret`` (a ``ChargeResult`` asking the client to pay
    on-session) is a credential, not a financial fact: with the publishable key it reads and
    confirms the intent. A value carrying one stays under the session's key and is erased with the
    client; only charges that did not succeed carry one (``activities.payments``), and the books
    read successful charges (``temporal_client.erasure.history_money``)."""
    return isinstance(value, ChargeResult) and value.client_secret is not None


def _client_of(value: object) -> str | None:
    # The session's workflow input names it in its booking; a refunds workflow's state directly.
    for holder in (value, getattr(value, "booking", None)):
        client_id = getattr(holder, "client_id", None)
        if isinstance(client_id, str) and isinstance(holder, BaseModel):
            return client_id
    return None


def session_scope(context: SerializationContext | None) -> str | None:
    """The session a payload belongs to, from its serialization context; None for the shared key."""
    workflow_id: str | None = None
    if isinstance(context, WorkflowSerializationContext | ActivitySerializationContext):
        workflow_id = context.workflow_id
    if not workflow_id:
        return None
    try:
        return session_id_from_workflow_id(workflow_id.removesuffix(SESSION_REFUNDS_SUFFIX))
    except ValueError:
        return None


def session_data_key_id(session_id: str) -> str:
    return data_key_id(f"session:{session_id}")


class EncryptionCodec(PayloadCodec, WithSerializationContext):
    """See the module docstring. Without ``kms`` every payload uses the shared ring (as before
    envelope encryption). ``with_context`` returns a light copy sharing ciphers and caches."""

    def __init__(
        self, keys: Mapping[str, bytes], current_key_id: str, kms: KeyManagementService | None = None
    ) -> None:
        if current_key_id not in keys:
            raise ValueError(f"the current codec key id {current_key_id!r} is not among the keys")
        for key_id, key in keys.items():
            if len(key) != CODEC_KEY_BYTES:
                raise ValueError(f"codec key {key_id!r} must be {CODEC_KEY_BYTES} bytes (AES-256)")
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self._current_key_id = current_key_id
        self._kms = kms
        self._session: str | None = None
        # Data key ciphers by (key id, key bytes): AESGCM objects are reused while the KMS hands
        # back the same key (it checks the key is still live on every use).
        self._data_ciphers: OrderedDict[str, tuple[bytes, AESGCM]] = OrderedDict()
        self._tagged: OrderedDict[tuple[str, str], None] = OrderedDict()
        # Encode and decode of session payloads run in threads (``encode``): the caches, shared
        # by every ``with_context`` copy, are changed under this lock.
        self._caches_lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> EncryptionCodec:
        kms = LocalFileKms.from_settings(settings) if settings.kms_dir is not None else None
        return cls(settings.codec_key_ring, settings.codec_current_key_id, kms)

    @property
    def current_key_id(self) -> str:
        return self._current_key_id

    @property
    def kms(self) -> KeyManagementService | None:
        return self._kms

    def with_context(self, context: SerializationContext) -> EncryptionCodec:
        session = session_scope(context)
        if session == self._session:
            return self
        contextual = copy.copy(self)  # shares the ciphers and caches: called per activation
        contextual._session = session
        return contextual

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        if self._kms is not None and self._session is not None:
            # A session's key may need the KMS's directory lock (its creation, its client tag),
            # held meanwhile by another process's change: waited for in a thread, never on the
            # loop the API or the worker serves everything else from.
            return await asyncio.to_thread(self._encrypt_all, payloads)
        return self._encrypt_all(payloads)  # the shared ring only: AES in memory, microseconds

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        if self._kms is not None and any(DATA_KEY_ID_METADATA in p.metadata for p in payloads):
            return await asyncio.to_thread(self._decrypt_all, payloads)  # the KMS reads files
        return self._decrypt_all(payloads)

    def _encrypt_all(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.encrypt(payload) for payload in payloads]

    def _decrypt_all(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.decrypt(payload) for payload in payloads]

    def encrypt(self, payload: Payload) -> Payload:
        kept = payload.metadata.get(KEPT_METADATA) is not None
        client_id = payload.metadata.get(CLIENT_ID_METADATA)
        if kept or client_id is not None:
            payload = Payload(
                metadata={
                    name: value
                    for name, value in payload.metadata.items()
                    if name not in (KEPT_METADATA, CLIENT_ID_METADATA)
                },
                data=payload.data,
            )
        if self._kms is not None and self._session is not None and not kept:
            return self._encrypt_for_session(
                payload, self._session, client_id.decode() if client_id is not None else None
            )
        key_id = self._current_key_id
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[key_id].encrypt(nonce, payload.SerializeToString(), key_id.encode())
        return Payload(
            metadata={"encoding": ENCODING, KEY_ID_METADATA: key_id.encode()},
            data=nonce + sealed,
        )

    def _encrypt_for_session(self, payload: Payload, session_id: str, client_id: str | None) -> Payload:
        key_id = session_data_key_id(session_id)
        try:
            cipher = self._data_cipher(key_id)
        except UnknownDataKeyError:
            assert self._kms is not None
            tags = {
                SCOPE_TAG: "session",
                SESSION_TAG: session_id,
                **({CLIENT_TAG: client_id} if client_id else {}),
            }
            try:
                self._kms.generate_data_key(key_id, tags)
            except DataKeyDestroyedError:
                raise PayloadErasedError(key_id) from None
            cipher = self._data_cipher(key_id)
        except DataKeyDestroyedError:
            # The client was erased: nothing of theirs is written again, not even under another key.
            raise PayloadErasedError(key_id) from None
        if client_id is not None and (key_id, client_id) not in self._tagged:
            assert self._kms is not None
            # The session's id too: an erasure describes the workflow of a key visibility did not list.
            self._kms.tag_data_key(key_id, {CLIENT_TAG: client_id, SESSION_TAG: session_id})
            with self._caches_lock:
                self._tagged[(key_id, client_id)] = None
                while len(self._tagged) > 10_000:
                    self._tagged.popitem(last=False)
        aad = f"dk:{key_id}".encode()
        nonce = os.urandom(NONCE_BYTES)
        sealed = cipher.encrypt(nonce, payload.SerializeToString(), aad)
        return Payload(
            metadata={"encoding": ENCODING, DATA_KEY_ID_METADATA: key_id.encode()},
            data=nonce + sealed,
        )

    def _data_cipher(self, key_id: str) -> AESGCM:
        if self._kms is None:
            raise PayloadDecryptionError(
                f"the payload was encrypted with data key {key_id}, and no KMS is configured "
                "(SESSIONFLOW_KMS_DIR)"
            )
        key = self._kms.decrypt_data_key(key_id)
        with self._caches_lock:
            cached = self._data_ciphers.get(key_id)
            if cached is not None and cached[0] == key:
                self._data_ciphers.move_to_end(key_id)
                return cached[1]
            cipher = AESGCM(key)
            self._data_ciphers[key_id] = (key, cipher)
            while len(self._data_ciphers) > 10_000:
                self._data_ciphers.popitem(last=False)
            return cipher

    def decrypt(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload  # not ours to decrypt: e.g. a history recorded before encryption
        raw_data_key_id = payload.metadata.get(DATA_KEY_ID_METADATA)
        if raw_data_key_id is not None:
            return self._decrypt_with_data_key(payload, raw_data_key_id.decode(errors="replace"))
        raw_key_id = payload.metadata.get(KEY_ID_METADATA)
        if raw_key_id is None:
            raise PayloadDecryptionError(f"an encrypted payload has no {KEY_ID_METADATA} metadata")
        key_id = raw_key_id.decode(errors="replace")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise PayloadDecryptionError(
                f"the payload was encrypted with key id {key_id!r}, which is not configured "
                "(SESSIONFLOW_CODEC_KEYS); add the old key back to decrypt it"
            )
        return self._open(payload, cipher, key_id.encode(), f"key id {key_id!r}")

    def _decrypt_with_data_key(self, payload: Payload, key_id: str) -> Payload:
        try:
            cipher = self._data_cipher(key_id)
        except DataKeyDestroyedError:
            raise PayloadErasedError(key_id) from None
        except KmsError as error:
            raise PayloadDecryptionError(str(error)) from None
        return self._open(payload, cipher, f"dk:{key_id}".encode(), f"data key {key_id}")

    @staticmethod
    def _open(payload: Payload, cipher: AESGCM, aad: bytes, named: str) -> Payload:
        if len(payload.data) <= NONCE_BYTES:
            raise PayloadDecryptionError(f"the encrypted payload ({named}) is truncated")
        nonce, sealed = payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:]
        try:
            plain = cipher.decrypt(nonce, sealed, aad)
        except InvalidTag:
            raise PayloadDecryptionError(
                f"the encrypted payload ({named}) fails authentication: it was altered "
                "or encrypted with a different key under that id"
            ) from None
        return Payload.FromString(plain)


def session_erased(converter: DataConverter, session_id: str) -> bool:
    """The session's data key was destroyed (its client erased): its state can never be read."""
    codec = converter.payload_codec
    if not isinstance(codec, EncryptionCodec) or codec.kms is None:
        return False
    return codec.kms.is_destroyed(session_data_key_id(session_id))


def erased_placeholder(error: PayloadErasedError) -> Payload:
    """What the codec endpoint answers for a payload of a destroyed key: a JSON payload saying
    so, which the Temporal UI and CLI show instead of an error."""
    return Payload(
        metadata={"encoding": b"json/plain", ERASED_METADATA: b"true"},
        data=f'{{"erased": true, "data_key_id": "{error.data_key_id}"}}'.encode(),
    )


def with_codec(codec: EncryptionCodec) -> DataConverter:
    """The pydantic data converter with ``codec`` applied to every payload.

    Failure messages and stack traces go through the codec too: a refusal names a slot, a
    decline its reason, and Temporal would otherwise keep them in clear in the history.
    """
    return dataclasses.replace(
        pydantic_data_converter,
        payload_converter_class=SessionflowPayloadConverter,
        payload_codec=codec,
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


def build_codec(settings: Settings) -> EncryptionCodec:
    return EncryptionCodec.from_settings(settings)


def build_data_converter(settings: Settings) -> DataConverter:
    return with_codec(build_codec(settings))


def iter_payloads(message: Message) -> list[Payload]:
    """Every payload inside ``message`` (e.g. a history event), nested messages, repeated
    fields and maps included."""
    found: list[Payload] = []
    pending: list[Message] = [message]
    while pending:
        current = pending.pop()
        if isinstance(current, Payload):
            found.append(current)
            continue
        for field, value in current.ListFields():
            entry = field.message_type
            if field.type != FieldDescriptor.TYPE_MESSAGE or entry is None:
                continue
            if entry.GetOptions().map_entry:
                if entry.fields_by_name["value"].type == FieldDescriptor.TYPE_MESSAGE:
                    pending.extend(value.values())
            elif field.is_repeated:
                pending.extend(value)
            else:
                pending.append(value)
    return found


def payload_key_ids(message: Message) -> set[str]:
    """The codec key ids of every encrypted payload inside ``message`` (e.g. a history event):
    what a history still needs to decrypt (a session's data key as ``data-key:dk_…``)."""
    found: set[str] = set()
    for payload in iter_payloads(message):
        key_id = payload.metadata.get(KEY_ID_METADATA)
        if key_id is not None:
            found.add(key_id.decode(errors="replace"))
        data_key = payload.metadata.get(DATA_KEY_ID_METADATA)
        if data_key is not None:
            found.add(f"data-key:{data_key.decode(errors='replace')}")
    return found
