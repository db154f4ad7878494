"""Payload encryption: every payload Sessionflow hands Temporal is AES-256-GCM encrypted, so
histories at rest hold no readable health or payment data.

The whole original ``Payload`` (metadata and data) is serialised and encrypted with the current key
under a fresh random 12-byte nonce; the result carries ``encoding: binary/encrypted`` and
``encryption-key-id: <id>``. Decoding uses whichever key the payload names, so older keys keep
decrypting after a rotation, and passes through payloads that are not encrypted (histories
recorded before encryption still replay). The key id is bound as associated data, so a payload
relabelled with another key id fails to decrypt.

Codecs run outside workflow code (in the SDK's data converter), so the random nonce does not
affect determinism.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes, PayloadCodec

from settings import CODEC_KEY_BYTES, Settings

ENCODING = b"binary/encrypted"
KEY_ID_METADATA = "encryption-key-id"
NONCE_BYTES = 12


class PayloadDecryptionError(ValueError):
    """An encrypted payload that cannot be decrypted: unknown key id, tampered or malformed."""


class EncryptionCodec(PayloadCodec):
    def __init__(self, keys: Mapping[str, bytes], current_key_id: str) -> None:
        if current_key_id not in keys:
            raise ValueError(f"the current codec key id {current_key_id!r} is not among the keys")
        for key_id, key in keys.items():
            if len(key) != CODEC_KEY_BYTES:
                raise ValueError(f"codec key {key_id!r} must be {CODEC_KEY_BYTES} bytes (AES-256)")
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self._current_key_id = current_key_id

    @classmethod
    def from_settings(cls, settings: Settings) -> EncryptionCodec:
        return cls(settings.codec_key_ring, settings.codec_current_key_id)

    @property
    def current_key_id(self) -> str:
        return self._current_key_id

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.encrypt(payload) for payload in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.decrypt(payload) for payload in payloads]

    def encrypt(self, payload: Payload) -> Payload:
        key_id = self._current_key_id
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[key_id].encrypt(nonce, payload.SerializeToString(), key_id.encode())
        return Payload(
            metadata={"encoding": ENCODING, KEY_ID_METADATA: key_id.encode()},
            data=nonce + sealed,
        )

    def decrypt(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload  # not ours to decrypt: e.g. a history recorded before encryption
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
        if len(payload.data) <= NONCE_BYTES:
            raise PayloadDecryptionError(f"the encrypted payload (key id {key_id!r}) is truncated")
        nonce, sealed = payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:]
        try:
            plain = cipher.decrypt(nonce, sealed, key_id.encode())
        except InvalidTag:
            raise PayloadDecryptionError(
                f"the encrypted payload (key id {key_id!r}) fails authentication: it was altered "
                "or encrypted with a different key under that id"
            ) from None
        return Payload.FromString(plain)


def with_codec(codec: EncryptionCodec) -> DataConverter:
    """The pydantic data converter with ``codec`` applied to every payload.

    Failure messages and stack traces go through the codec too: a refusal names a slot, a
    decline its reason, and Temporal would otherwise keep them in clear in the history.
    """
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=codec,
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


def build_codec(settings: Settings) -> EncryptionCodec:
    return EncryptionCodec.from_settings(settings)


def build_data_converter(settings: Settings) -> DataConverter:
    return with_codec(build_codec(settings))


def payload_key_ids(message: Message) -> set[str]:
    """The codec key ids of every encrypted payload inside ``message`` (e.g. a history event):
    what a history still needs to decrypt. Walks nested messages, repeated fields and maps."""
    found: set[str] = set()
    pending: list[Message] = [message]
    while pending:
        current = pending.pop()
        if isinstance(current, Payload):
            key_id = current.metadata.get(KEY_ID_METADATA)
            if key_id is not None:
                found.add(key_id.decode(errors="replace"))
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
