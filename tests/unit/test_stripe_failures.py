"""How a Stripe call that failed for good is read (``workflows.calls.stripe_unreachable``): only
Stripe not answering is an outage (retried soon, for a bounded time); a refusal, a bug of ours or a
Stripe task queue nobody polls is a fault, recorded as a failed attempt and never retried for ever.
"""

from __future__ import annotations

import pytest
from temporalio.exceptions import ActivityError, ApplicationError, RetryState, TimeoutType
from temporalio.exceptions import TimeoutError as ActivityTimeout

from workflows.calls import stripe_unreachable


def failed(cause: BaseException | None) -> ActivityError:
    error = ActivityError(
        "activity failed",
        scheduled_event_id=1,
        started_event_id=2,
        identity="worker",
        activity_type="charge_session",
        activity_id="1",
        retry_state=RetryState.TIMEOUT,
    )
    error.__cause__ = cause
    return error


def timeout(kind: TimeoutType, last: BaseException | None = None) -> ActivityTimeout:
    error = ActivityTimeout("timed out", type=kind, last_heartbeat_details=[])
    error.__cause__ = last
    return error


@pytest.mark.parametrize(
    "error_type", ["APIConnectionError", "APIError", "RateLimitError", "StripeConnectionError"]
)
def test_stripe_not_answering_is_an_outage(error_type: str) -> None:
    assert stripe_unreachable(failed(ApplicationError("no answer", type=error_type)))
    # The budget ran out during a later attempt: judged by the last attempt's failure.
    last = ApplicationError("no answer", type=error_type)
    assert stripe_unreachable(failed(timeout(TimeoutType.SCHEDULE_TO_CLOSE, last)))


def test_an_attempt_that_hung_on_stripe_is_an_outage() -> None:
    assert stripe_unreachable(failed(timeout(TimeoutType.START_TO_CLOSE)))
    assert stripe_unreachable(
        failed(timeout(TimeoutType.SCHEDULE_TO_CLOSE, timeout(TimeoutType.START_TO_CLOSE)))
    )


def test_a_refusal_a_bug_or_an_unpolled_queue_is_a_fault() -> None:
    refused = ApplicationError("bad request", type="InvalidRequestError", non_retryable=True)
    assert not stripe_unreachable(failed(refused))
    # An unexpected exception in our own activity (retried by Temporal, then given up).
    assert not stripe_unreachable(failed(ApplicationError("boom", type="KeyError")))
    assert not stripe_unreachable(
        failed(timeout(TimeoutType.SCHEDULE_TO_CLOSE, ApplicationError("boom", type="AttributeError")))
    )
    # No worker ever took the call: nobody polls the Stripe task queue.
    assert not stripe_unreachable(failed(timeout(TimeoutType.SCHEDULE_TO_CLOSE)))
    assert not stripe_unreachable(failed(timeout(TimeoutType.SCHEDULE_TO_START)))
    assert not stripe_unreachable(failed(None))
