"""The payload encryption codec and its key configuration."""

from __future__ import annotations

import base64
import hashlib
import os

import pytest
from pydantic import SecretStr
from temporalio.api.common.v1 import Payload

from settings import LOCAL_CODEC_KEY, LOCAL_CODEC_KEY_ID, Settings
from temporal_client.codec import ENCODING, KEY_ID_METADATA, EncryptionCodec, PayloadDecryptionError
from temporal_client.converter import DATA_CONVERTER

OLD, NEW = os.urandom(32), os.urandom(32)
PLAIN = Payload(
    metadata={"encoding": b"json/plain"},
    data=b'{"session_id":"ses_secret","client_id":"cli_secret","amount_minor":6000}',
)


def keys(**ring: bytes) -> str:
    return ",".join(f"{key_id}:{base64.b64encode(key).decode()}" for key_id, key in ring.items())


async def test_a_payload_round_trips_and_its_plaintext_is_gone() -> None:
    codec = EncryptionCodec({"k1": OLD}, "k1")

    [sealed] = await codec.encode([PLAIN])

    assert sealed.metadata["encoding"] == ENCODING == b"binary/encrypted"
    assert sealed.metadata[KEY_ID_METADATA] == b"k1"
    assert b"secret" not in sealed.data and b"6000" not in sealed.data
    assert b"json/plain" not in sealed.data  # the original metadata is encrypted too
    assert await codec.decode([sealed]) == [PLAIN]


async def test_every_encryption_uses_a_fresh_nonce() -> None:
    codec = EncryptionCodec({"k1": OLD}, "k1")
    first, second = await codec.encode([PLAIN, PLAIN])
    assert first.data != second.data
    assert await codec.decode([first, second]) == [PLAIN, PLAIN]


@pytest.mark.parametrize("where", ["nonce", "ciphertext", "tag"])
async def test_a_tampered_payload_is_refused(where: str) -> None:
    codec = EncryptionCodec({"k1": OLD}, "k1")
    [sealed] = await codec.encode([PLAIN])
    data = bytearray(sealed.data)
    data[{"nonce": 0, "ciphertext": 20, "tag": -1}[where]] ^= 0x01
    tampered = Payload(metadata=dict(sealed.metadata), data=bytes(data))

    with pytest.raises(PayloadDecryptionError, match="fails authentication"):
        await codec.decode([tampered])


async def test_a_payload_relabelled_with_another_key_id_is_refused() -> None:
    codec = EncryptionCodec({"k1": OLD, "k2": OLD}, "k1")
    [sealed] = await codec.encode([PLAIN])
    relabelled = Payload(metadata={**sealed.metadata, KEY_ID_METADATA: b"k2"}, data=sealed.data)

    with pytest.raises(PayloadDecryptionError, match="fails authentication"):
        await codec.decode([relabelled])


async def test_an_unknown_key_id_is_a_clear_error() -> None:
    [sealed] = await EncryptionCodec({"retired": OLD}, "retired").encode([PLAIN])

    with pytest.raises(PayloadDecryptionError, match="key id 'retired', which is not configured"):
        await EncryptionCodec({"k2": NEW}, "k2").decode([sealed])


async def test_after_a_rotation_old_payloads_still_decode_and_new_ones_use_the_new_key() -> None:
    [old] = await EncryptionCodec({"k1": OLD}, "k1").encode([PLAIN])
    rotated = EncryptionCodec({"k1": OLD, "k2": NEW}, "k2")

    [new] = await rotated.encode([PLAIN])

    assert new.metadata[KEY_ID_METADATA] == b"k2"
    assert await rotated.decode([old, new]) == [PLAIN, PLAIN]


async def test_payloads_that_are_not_encrypted_pass_through() -> None:
    codec = EncryptionCodec({"k1": OLD}, "k1")
    binary = Payload(metadata={"encoding": b"binary/plain"}, data=b"\x00\x01")
    null = Payload(metadata={"encoding": b"binary/null"})
    assert await codec.decode([PLAIN, binary, null]) == [PLAIN, binary, null]


async def test_the_shared_data_converter_encrypts_with_the_local_key() -> None:
    [sealed] = await DATA_CONVERTER.encode(["ses_secret"])
    assert sealed.metadata[KEY_ID_METADATA] == LOCAL_CODEC_KEY_ID.encode()
    assert b"ses_secret" not in sealed.data
    assert await DATA_CONVERTER.decode([sealed], [str]) == ["ses_secret"]
    # Histories recorded before encryption hold plain payloads: they still decode.
    plain = DATA_CONVERTER.payload_converter.to_payloads(["ses_old"])
    assert await DATA_CONVERTER.decode(plain, [str]) == ["ses_old"]


def test_settings_read_the_key_ring_and_the_current_key() -> None:
    settings = Settings(codec_keys=keys(k1=OLD, k2=NEW), codec_current_key_id="k2")
    assert settings.codec_key_ring == {"k1": OLD, "k2": NEW}
    assert EncryptionCodec.from_settings(settings).current_key_id == "k2"


def test_the_default_is_the_local_only_key() -> None:
    settings = Settings()
    assert settings.codec_key_ring == {LOCAL_CODEC_KEY_ID: LOCAL_CODEC_KEY}
    assert settings.codec_current_key_id == LOCAL_CODEC_KEY_ID


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"codec_keys": "k1"}, "not ID:BASE64KEY"),
        ({"codec_keys": "k1:not base64!"}, "not valid base64"),
        ({"codec_keys": keys(k1=b"short")}, "must be 32 bytes"),
        ({"codec_keys": f"{keys(k1=OLD)},{keys(k1=NEW)}"}, "appears twice"),
        ({"codec_keys": keys(k1=OLD), "codec_current_key_id": "k9"}, "must name one of"),
        ({"temporal_address": "temporal.example.com:7233"}, "local-only payload key is refused"),
        (
            {"temporal_address": "10.0.0.5:7233", "codec_keys": keys(k1=LOCAL_CODEC_KEY)},
            "local-only payload key is refused",
        ),
    ],
)
def test_bad_key_configuration_is_refused_without_echoing_keys(
    overrides: dict[str, str], message: str
) -> None:
    if "codec_keys" in overrides:
        overrides.setdefault("codec_current_key_id", "k1")
    with pytest.raises(ValueError, match=message) as refused:
        Settings(**overrides)  # type: ignore[arg-type]
    assert base64.b64encode(OLD).decode() not in str(refused.value)
    assert base64.b64encode(LOCAL_CODEC_KEY).decode() not in str(refused.value)


def test_a_remote_temporal_with_real_keys_is_accepted() -> None:
    settings = Settings(
        temporal_address="temporal.example.com:7233",
        codec_keys=keys(prod=NEW),
        codec_current_key_id="prod",
        api_token_sha256=(hashlib.sha256(b"a real token").hexdigest(),),
        stripe_webhook_secret=SecretStr("whsec_configured_for_this_test"),
    )
    assert settings.codec_key_ring == {"prod": NEW}
