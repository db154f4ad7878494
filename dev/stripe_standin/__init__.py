"""A project-owned, stateful Stripe API stand-in for tests and local demos.

It serves the real ``stripe`` client over HTTP on loopback, keeps PaymentIntents, Charges,
Refunds and Events in memory, implements Stripe's v1 idempotency semantics, can inject the
network and server failures a payment client must survive, and sends signed webhooks.
"""

from .faults import ALL_FAULT_KINDS, FaultKind, FaultRule
from .server import PLATFORM, RecordedRequest, StripeStandIn
from .webhooks import WebhookDelivery

__all__ = [
    "ALL_FAULT_KINDS",
    "PLATFORM",
    "FaultKind",
    "FaultRule",
    "RecordedRequest",
    "StripeStandIn",
    "WebhookDelivery",
]
