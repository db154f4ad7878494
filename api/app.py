"""The FastAPI application: one Temporal client per process, created in the lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from opentelemetry.sdk.trace import TracerProvider
from temporalio.client import Client

from api import errors, notification_webhooks, openapi_links
from api.routes import codec, health, ops, sessions, therapists, webhooks
from domain.errors import RULE_CODES
from observability.http import RequestObservabilityMiddleware, metrics_endpoint
from observability.tracing import SERVICE_API, configure_tracing, instrument_api, temporal_interceptors
from settings import Settings
from temporal_client.converter import connect

API_VERSION = "1.1.0"
"""The contract's version (``info.version``), semver: major for a breaking change (a field, route or
value removed or renamed, a request the contract accepted now refused), minor for an addition
(a route, an optional field, a constraint or rule stated that the server already enforced), patch
for wording. 1.1.0: every constraint the validators enforce stated in the schema, the cross-field
rules documented per field and answered 409."""

DESCRIPTION = """\
Sessionflow runs every booked therapy session as a durable workflow: the 48-hour cancellation
rule, the off-session charge of the saved card, retries and refunds, and the therapist's
attendance update with follow-ups, reserved weekly slots and ended relationships.

Every route but the health checks and the Stripe webhook (which Stripe signs instead) needs
`Authorization: Bearer <token>`. Every `/v1/sessions` and `/v1/therapists` route needs
`Acting-Party: client:<id>` | `therapist:<id>` | `admin:<id>` naming who is acting: it is checked
against the session (its client, its therapist, or an admin; a therapist's practice: the therapist
or an admin) and recorded with each command in the session's history. Anyone else gets exactly
the `404` of a session that does not exist, so the API never confirms that someone else's session
exists; a party whose role may not do this gets `409 not_allowed`. Before a cancel or a move,
`POST …/cancel/preview` and `…/reschedule/preview` tell this party the consequence now — free or
late, what is charged or refunded, until when it is free — decided by the command's own rule.
Every command carries an
`Idempotency-Key` header: a retried request returns the first outcome and changes nothing.
Refusals by a rule are `409` with a machine-readable `code` and a `message` a UI can show.
Malformed input is `422` with `fields` naming each one; unknown ids `404`; Temporal (or, for the
webhook, Stripe) unreachable `503` with `Retry-After`, and so is a session whose workflow is
recovering from a failed or timed-out task (`session_busy`: send it again with the same key).

| `409` code | meaning |
|---|---|
"""
DESCRIPTION += "".join(f"| `{code}` | {meaning} |\n" for code, meaning in RULE_CODES.items())


def create_app(
    settings: Settings | None = None,
    client: Client | None = None,
    tracer_provider: TracerProvider | None = None,
) -> FastAPI:
    """Build the app; tests pass their own settings and Temporal client.

    Traces: ``tracer_provider`` when given (its owner shuts it down; a given ``client`` must then
    carry the tracing interceptor itself), else one from the settings (None: off), made here and
    shut down with the app.
    """
    resolved = settings or Settings()
    owned = tracer_provider is None
    provider = configure_tracing(resolved, SERVICE_API) if owned else tracer_provider

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = resolved
        app.state.tracer_provider = provider
        app.state.client = client or await connect(
            resolved, lazy=True, interceptors=temporal_interceptors(provider)
        )
        try:
            yield
        finally:
            if owned and provider is not None:
                provider.shutdown()  # exports the last batch

    app = FastAPI(title="Sessionflow API", version=API_VERSION, description=DESCRIPTION, lifespan=lifespan)
    errors.install(app)
    # Request id (X-Request-ID) + latency histogram; /metrics is unauthenticated (loopback).
    app.add_middleware(RequestObservabilityMiddleware)
    # Outermost: a server span per request, named by its route template (off: nothing added).
    instrument_api(app, provider)
    app.add_route("/metrics", metrics_endpoint, include_in_schema=False)
    app.include_router(health.router)
    app.include_router(sessions.router)
    app.include_router(therapists.router)
    app.include_router(ops.router)
    codec.install(app, resolved.codec_ui_origins)
    app.include_router(webhooks.router)
    notification_webhooks.install(app)
    _post_process_openapi(app)
    return app


def _post_process_openapi(app: FastAPI) -> None:
    """The one hook on the served document: what FastAPI generates, then the links between
    operations; built once and cached on the app, as FastAPI caches its own."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = openapi_links.add_links(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
