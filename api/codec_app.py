"""``sessionflow codec``: the codec endpoint alone, for the Temporal UI and CLI.

Only ``/codec/encode``, ``/codec/decode`` and the health checks: no session routes, no Temporal
client (the codec needs only the payload keys). So the port handed to operators' browsers exposes
nothing but decryption, and scales, restarts and is firewalled apart from the API.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api import errors
from api.models import Health
from api.routes import codec
from api.serve import serve
from observability.http import RequestObservabilityMiddleware
from observability.tracing import SERVICE_CODEC, configure_tracing, instrument_api
from settings import Settings
from temporal_client.codec import build_codec


def create_codec_app(settings: Settings | None = None) -> FastAPI:
    resolved = settings or Settings()
    provider = configure_tracing(resolved, SERVICE_CODEC)  # None: traces off

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = resolved
        app.state.codec = build_codec(resolved)  # bad keys fail the start, not the first request
        try:
            yield
        finally:
            if provider is not None:
                provider.shutdown()

    app = FastAPI(title="Sessionflow codec", version="1.0.0", lifespan=lifespan)
    errors.install(app)
    app.add_middleware(RequestObservabilityMiddleware)
    instrument_api(app, provider)  # spans carry the route and status, never a payload

    @app.get("/healthz", tags=["health"])
    async def healthz() -> Health:
        """The process is up."""
        return Health(status="ok")

    @app.get("/readyz", tags=["health"])
    async def readyz() -> Health:
        """The keys are loaded (they are, once the app has started): the codec can serve."""
        return Health(status="ready")

    codec.install(app, resolved.codec_ui_origins)
    return app


def main() -> None:
    serve(create_codec_app)
