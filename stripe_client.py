"""Builds the one async Stripe client a process uses: the worker's payment activities, the API's
webhook confirmation."""

from __future__ import annotations

import logging

import stripe

from settings import REAL_STRIPE_API_BASE, Settings

# The SDK otherwise writes a telemetry id under $HOME and sends it with every request.
stripe.enable_telemetry = False
# At DEBUG the SDK logs every response body ("API response body"), and a PaymentIntent's body
# carries its client secret: a process logging at DEBUG must not write it out.
logging.getLogger("stripe").setLevel(logging.INFO)


def build_stripe_client(settings: Settings) -> stripe.StripeClient:
    base_addresses = {}
    if settings.stripe_api_base.rstrip("/") != REAL_STRIPE_API_BASE:
        base_addresses["api"] = settings.stripe_api_base.rstrip("/")
    return stripe.StripeClient(
        settings.stripe_api_key.get_secret_value(),
        base_addresses=base_addresses,  # type: ignore[arg-type]
        http_client=stripe.HTTPXClient(
            timeout=settings.stripe_http_timeout_seconds, allow_sync_methods=False
        ),
        # StripeClient does not inherit the global default and would never retry; a few SDK
        # retries are free (same key) where each Temporal retry costs an Action.
        max_network_retries=settings.stripe_max_network_retries,
    )
