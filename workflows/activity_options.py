"""Timeouts and retry policies of every activity call, named, each with its reason."""

from __future__ import annotations

from datetime import timedelta

from temporalio.common import RetryPolicy
from temporalio.workflow import unsafe

with unsafe.imports_passed_through():
    from activities.payments import NON_RETRYABLE_ERROR_TYPES
    from domain.notifications import NOTIFICATION_REJECTED

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

# One signed POST to the backend: the HTTP client's timeout (5 s per phase by default) with room.
NOTIFICATION_START_TO_CLOSE = timedelta(seconds=30)
# The backend may be down for minutes (a deploy) or hours (an incident): a person must still hear
# about a charge or a decline, so keep trying for a day. The event id is fixed by business state, so
# a late or repeated delivery is deduplicated by the backend, never shown twice.
NOTIFICATION_SCHEDULE_TO_CLOSE = timedelta(hours=24)
NOTIFICATION_RETRY_POLICY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=2.0,
    # Capped so a backend that comes back is served within ~10 minutes, at ≤ ~150 attempts a day.
    maximum_interval=timedelta(minutes=10),
    # A 4xx means the backend refused this payload: a bug that the same retry cannot fix.
    non_retryable_error_types=[NOTIFICATION_REJECTED],
)

# A lean session sends its notices as local activities (issue 13); a batch never retries a notice
# (one the backend cannot take gets an activity of its own), so it is retried only after a fault of
# the worker. Such a retry whose backoff is longer than this waits on a timer instead of holding the
# session's workflow task open; the first retry's backoff (2 s) is already longer.
NOTIFICATION_LOCAL_RETRY_THRESHOLD = timedelta(seconds=1)

# A call into the therapist's PracticeWorkflow: a Temporal round trip answering in milliseconds (a
# practice started lazily included), not an outside service; one attempt that has not answered in
# 4 s is lost, and the next one is tried.
PRACTICE_START_TO_CLOSE = timedelta(seconds=4)
# Every practice call is awaited inside the attendance update's handler, and the API waits on that
# update for UPDATE_RPC_TIMEOUT (30 s, temporal_client/rpc_timeouts.py). A practice that has not
# answered in 8 s is down (its worker stopped, its workflow task failing), not slow: the claim is
# then refused (`practice_unavailable`, nothing recorded, the update can be filed again) and an
# effect after the update is recorded is reported in `incomplete_effects`. The worst update awaits
# at most three of these in a row (release + end relationship + cancel future sessions; a claim
# excludes all three), 24 s, so the API still answers within its own deadline.
PRACTICE_SCHEDULE_TO_CLOSE = timedelta(seconds=8)
# Bounded by PRACTICE_SCHEDULE_TO_CLOSE and by attempts (1 s, then 2 s between them); a rule
# refusal such as a slot conflict comes back as a non-retryable ApplicationError raised by the
# activity itself and is never retried.
PRACTICE_RETRY_POLICY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=2),
    maximum_attempts=3,
)

PRACTICE_RELEASE_SCHEDULE_TO_CLOSE = timedelta(hours=1)
# Freeing a cancelled session's time runs in the main loop (no caller waits on it), so it may wait
# out a practice outage; one still unanswered after an hour is logged and left to lapse when the
# session would have ended (the time stays blocked until then: an error ops see, never a double
# booking).
PRACTICE_RELEASE_RETRY_POLICY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
)
