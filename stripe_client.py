"""Builds the one async Stripe client a process uses: the worker's payment activities, the API's
webhook confirmation."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx
import stripe
from opentelemetry.sdk.trace import TracerProvider

from observability.metrics import STRIPE_RATE_LIMITED
from observability.tracing import instrument_http_client
from settings import REAL_STRIPE_API_BASE, Settings

# The SDK otherwise writes a telemetry id under $HOME and sends it with every request.
stripe.enable_telemetry = False
# At DEBUG the SDK logs every response body ("API response body"), and a PaymentIntent's body
# carries its client secret: a process logging at DEBUG must not write it out.
logging.getLogger("stripe").setLevel(logging.INFO)


_RESOURCE = re.compile(r"^/v1/([a-z_]+)")


def stripe_resource(url: str) -> str:
    """The API resource a request addresses (``/v1/payment_intents/pi_…/confirm`` →
    ``payment_intents``): a metric label without the ids in the path."""
    found = _RESOURCE.match(urlsplit(url).path)
    return found.group(1) if found else "other"


class CountingHTTPXClient(stripe.HTTPXClient):
    """The SDK's httpx client, counting each 429 Stripe answers (``sessionflow_stripe_rate_limited``).

    Counted here, under the SDK's own retries, because that is the one place every 429 passes:
    one the SDK retried away never reaches the activity or the webhook route, yet it is the
    first sign that our request rate (``SESSIONFLOW_STRIPE_ACTIVITIES_PER_SECOND`` × requests per
    call) is over Stripe's limit."""

    async def request_async(
        self, method: str, url: str, headers: Mapping[str, str], post_data: Any = None
    ) -> tuple[bytes, int, Mapping[str, str]]:
        content, status, response_headers = await super().request_async(method, url, headers, post_data)
        if status == 429:
            STRIPE_RATE_LIMITED.labels(resource=stripe_resource(url)).inc()
        return content, status, response_headers


def build_stripe_client(
    settings: Settings, tracer_provider: TracerProvider | None = None
) -> stripe.StripeClient:
    """``tracer_provider``: traces on, each request to Stripe is a client span (method, URL path
    with its object ids, status; never a body or a header)."""
    base_addresses = {}
    if settings.stripe_api_base.rstrip("/") != REAL_STRIPE_API_BASE:
        base_addresses["api"] = settings.stripe_api_base.rstrip("/")
    http_client = CountingHTTPXClient(timeout=settings.stripe_http_timeout_seconds, allow_sync_methods=False)
    if tracer_provider is not None:
        instrument_http_client(stripe_httpx_client(http_client), tracer_provider)
    return stripe.StripeClient(
        settings.stripe_api_key.get_secret_value(),
        base_addresses=base_addresses,  # type: ignore[arg-type]
        http_client=http_client,
        # StripeClient does not inherit the global default and would never retry; a few SDK
        # retries are free (same key) where each Temporal retry costs an Action.
        max_network_retries=settings.stripe_max_network_retries,
    )


def stripe_httpx_client(http_client: stripe.HTTPXClient) -> httpx.AsyncClient:
    """The ``httpx.AsyncClient`` inside Stripe's ``HTTPXClient``, to trace that one client rather
    than patch httpx for the whole process. Stripe does not expose it, so this reads its private
    attribute and refuses to start (instead of silently tracing nothing) if a new SDK moves it."""
    inner = getattr(http_client, "_client_async", None)
    if not isinstance(inner, httpx.AsyncClient):
        raise RuntimeError("stripe.HTTPXClient no longer keeps its httpx.AsyncClient in _client_async")
    return inner
