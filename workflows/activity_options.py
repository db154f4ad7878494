"""Timeouts and retry policies of every activity call, named, each with its reason."""

from __future__ import annotations

from datetime import timedelta

from temporalio.common import RetryPolicy
from temporalio.workflow import unsafe

with unsafe.imports_passed_through():
    from activities.payments import NON_RETRYABLE_ERROR_TYPES

# One Stripe call with the SDK's own retry: 2 × 8 s HTTP timeout plus backoff fits in 20 s.
STRIPE_START_TO_CLOSE = timedelta(seconds=20)
# Stripe may prune idempotency keys after 24 h; give up well before so a late retry can never
# turn into a second charge under a forgotten key.
STRIPE_SCHEDULE_TO_CLOSE = timedelta(hours=1)
STRIPE_RETRY_POLICY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=60),
    non_retryable_error_types=NON_RETRYABLE_ERROR_TYPES,
)
