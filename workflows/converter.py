"""The one data converter used by the worker, every client, the tests and the replayer, and the
one way to connect to Temporal with it.

Every payload is encrypted (``workflows.codec``). ``connect`` uses the keys from the settings;
``DATA_CONVERTER`` is the same converter with the default (local-only) key, for the tests, the
replayer of recorded histories and anything else that runs against a local dev server.
"""

from __future__ import annotations

from temporalio.client import Client
from temporalio.runtime import Runtime

from settings import LOCAL_CODEC_KEY, LOCAL_CODEC_KEY_ID, Settings
from workflows.codec import EncryptionCodec, build_data_converter, with_codec

DATA_CONVERTER = with_codec(EncryptionCodec({LOCAL_CODEC_KEY_ID: LOCAL_CODEC_KEY}, LOCAL_CODEC_KEY_ID))


async def connect(settings: Settings, *, runtime: Runtime | None = None) -> Client:
    """``runtime``: the worker's, exporting the SDK's Prometheus metrics (default runtime if None)."""
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=build_data_converter(settings),
        runtime=runtime,
    )
