"""The one data converter used by the worker, every client, the tests and the replayer, and the
one way to connect to Temporal with it.

Every payload is encrypted (``temporal_client.codec``). ``connect`` uses the keys from the settings;
``DATA_CONVERTER`` is the same converter with the default (local-only) key, for the tests, the
replayer of recorded histories and anything else that runs against a local dev server.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from temporalio.client import Client, Interceptor
from temporalio.runtime import Runtime
from temporalio.service import TLSConfig

from settings import LOCAL_CODEC_KEY, LOCAL_CODEC_KEY_ID, Settings
from temporal_client.call_metrics import CallCounter
from temporal_client.codec import EncryptionCodec, build_data_converter, with_codec

DATA_CONVERTER = with_codec(EncryptionCodec({LOCAL_CODEC_KEY_ID: LOCAL_CODEC_KEY}, LOCAL_CODEC_KEY_ID))


def _read(path: Path | None, what: str) -> bytes | None:
    if path is None:
        return None
    try:
        return path.read_bytes()
    except OSError as error:
        # Named so a missing Secret mount fails the pod at start with a reason, not at first RPC.
        raise ValueError(f"cannot read the Temporal {what} at {path}: {error.strerror}") from None


def temporal_tls(settings: Settings) -> TLSConfig | bool:
    """The client's TLS: False on a plaintext connection, True for the system roots, or a config
    with the private CA, server name override and mTLS client certificate the settings name."""
    if not settings.temporal_tls_enabled:
        return False
    ca = _read(settings.temporal_tls_server_ca_path, "server CA certificate")
    cert = _read(settings.temporal_tls_client_cert_path, "client certificate")
    key = _read(settings.temporal_tls_client_key_path, "client key")
    if ca is None and cert is None and settings.temporal_tls_server_name is None:
        return True
    return TLSConfig(
        server_root_ca_cert=ca,
        domain=settings.temporal_tls_server_name,
        client_cert=cert,
        client_private_key=key,
    )


async def connect(
    settings: Settings,
    *,
    runtime: Runtime | None = None,
    lazy: bool = False,
    interceptors: Sequence[Interceptor] = (),
) -> Client:
    """``runtime``: the worker's, exporting the SDK's Prometheus metrics (default runtime if None).

    ``interceptors``: more, after the call counter — the tracing interceptor when traces are on
    (``observability.tracing.temporal_interceptors``); a worker built on the client inherits them.

    Every call the client makes is counted (``temporal_client.call_metrics``): the billed queries
    never appear in a history.

    ``lazy``: connect on first use, so a process that serves while Temporal is down (the API:
    health, 503s) starts anyway instead of crash-looping.
    """
    api_key = settings.temporal_api_key
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        api_key=api_key.get_secret_value() if api_key is not None else None,
        tls=temporal_tls(settings),
        data_converter=build_data_converter(settings),
        runtime=runtime,
        lazy=lazy,
        interceptors=[CallCounter(), *interceptors],
    )
