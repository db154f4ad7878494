"""How workflow code calls its activities and reports refusals: one place for the timeouts, retry
policies and error mapping every call needs, so a workflow reads as what it does."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError, TimeoutType
from temporalio.exceptions import TimeoutError as ActivityTimeout

with workflow.unsafe.imports_passed_through():
    from activities.disputes import DisputeActivities
    from activities.follow_ups import FollowUpActivities
    from activities.notifications import NotificationActivities
    from activities.payments import STRIPE_OUTAGE_ERROR_TYPES, PaymentActivities
    from contract.ids import stripe_task_queue
    from domain.errors import RuleViolation
    from domain.notifications import Notification, NotificationBatch
    from domain.session_attendance import practice_unavailable
    from domain.state import FollowUpStart, FollowUpStarted
    from workflows.activity_options import (
        NOTIFICATION_LOCAL_RETRY_THRESHOLD,
        NOTIFICATION_RETRY_POLICY,
        NOTIFICATION_SCHEDULE_TO_CLOSE,
        NOTIFICATION_START_TO_CLOSE,
        PRACTICE_RELEASE_RETRY_POLICY,
        PRACTICE_RELEASE_SCHEDULE_TO_CLOSE,
        PRACTICE_RETRY_POLICY,
        PRACTICE_SCHEDULE_TO_CLOSE,
        PRACTICE_START_TO_CLOSE,
        STRIPE_RETRY_POLICY,
        STRIPE_SCHEDULE_TO_CLOSE,
        STRIPE_START_TO_CLOSE,
    )

RequestT = TypeVar("RequestT")
StripeActivitiesT = TypeVar("StripeActivitiesT", PaymentActivities, DisputeActivities)
ResultT = TypeVar("ResultT")


def refused(violation: RuleViolation) -> ApplicationError:
    """A rule's refusal as an update failure: the rule's stable code is the error type."""
    return ApplicationError(violation.message, type=violation.code, non_retryable=True)


def checked(decide: Callable[[], ResultT]) -> ResultT:
    """Run a rule; its refusal becomes the update's failure."""
    try:
        return decide()
    except RuleViolation as violation:
        raise refused(violation) from violation


def failure_type(failure: ActivityError) -> str:
    """What made an activity fail for good, as a code safe to record and log."""
    cause = failure.cause
    if isinstance(cause, ApplicationError) and cause.type:
        return cause.type
    return type(cause).__name__ if cause is not None else "ActivityError"


def stripe_unreachable(failure: ActivityError) -> bool:
    """True when the call never got an answer from Stripe: its budget ran out on timeouts, 5xx,
    429, 409 or dropped connections (an outage). False when Stripe answered with a refusal a retry
    cannot fix (a non-retryable ``ApplicationError``: invalid request, bad key…) — and for a fault
    of ours: an unexpected exception in the activity (a bug), or a budget that ran out before any
    worker took the call (the Stripe task queue is not polled). A fault is recorded as a failed
    attempt (bounded by the attempt times), never retried as an outage for ever."""
    return _is_outage(failure.cause)


def _is_outage(cause: BaseException | None) -> bool:
    if isinstance(cause, ActivityTimeout):
        if cause.type in (TimeoutType.START_TO_CLOSE, TimeoutType.HEARTBEAT):
            return True  # an attempt hung waiting for Stripe
        # The whole budget ran out: judge by the last attempt's failure. None means no attempt
        # ever started, i.e. no worker polls the Stripe task queue: ours to fix, not Stripe's.
        return _is_outage(cause.cause)
    if isinstance(cause, ApplicationError):
        return not cause.non_retryable and cause.type in STRIPE_OUTAGE_ERROR_TYPES
    return False


def count_charge_given_up(reason: str) -> None:
    """A charge handed to ops (``payment.ops_blocked``): ``sessionflow_charge_given_up{reason}``."""
    workflow.metric_meter().create_counter(
        "sessionflow_charge_given_up",
        "Session charges given up to ops: unpaid at the start after an outage, or Stripe unreachable "
        "until hours after the end; by reason.",
    ).add(1, {"reason": reason})


def count_unreported() -> None:
    """A session closed because its attendance update never came: ``sessionflow_sessions_unreported``
    (no labels: no ids in metrics). Counted once (the meter skips replays)."""
    workflow.metric_meter().create_counter(
        "sessionflow_sessions_unreported",
        "Sessions closed as unreported: their attendance update had not come by the policy's deadline.",
    ).add(1)


def count_unreported_money_to_ops(reason: str, outcome: str) -> None:
    """A session reached its unreported deadline unpaid (``payment.ops_blocked``, its ``reason``):
    ``closed`` with its money left to ops, or ``waiting_for_resume`` (its charge held at the start,
    still owed when the account can charge again). ``sessionflow_unreported_money_to_ops_total``;
    machine codes only, counted once (the meter skips replays), no command."""
    workflow.metric_meter().create_counter(
        "sessionflow_unreported_money_to_ops_total",
        "Unpaid sessions at their unreported deadline: closed with the money left to ops, or "
        "waiting for their held charge's resume; by the ops_blocked reason.",
    ).add(1, {"reason": reason, "outcome": outcome})


def count_stripe_unreachable(operation: str, failure: ActivityError) -> None:
    """Ops' signal of an outage: Stripe calls whose whole retry budget ran out, by operation and
    the last failure's type (``sessionflow_stripe_unreachable`` on the SDK's metrics endpoint).
    The workflow's meter skips replays, so each one is counted once."""
    workflow.metric_meter().create_counter(
        "sessionflow_stripe_unreachable",
        "Stripe calls that got no answer within their whole retry budget, by operation.",
    ).add(1, {"operation": operation, "reason": failure_type(failure)})


def count_money_blocked(operation: str, session_status: str) -> None:
    """Ops' signal of money Stripe will not move (``sessionflow_money_blocked_total``): a refund or
    void refused, counted each time it is tried (the session tries again every
    ``BLOCKED_MONEY_RETRY``, so a blocked session keeps counting until it is unblocked), by
    operation and the session's status (``closed`` for a closed session's refunds workflow). A
    metric, not a search attribute: no command, nothing to backfill on running sessions, and the
    workflow's meter skips replays."""
    workflow.metric_meter().create_counter(
        "sessionflow_money_blocked_total",
        "Refunds and voids Stripe refused or never answered (retried every 6 h), by operation "
        "and the session's status.",
    ).add(1, {"operation": operation, "session_status": session_status})


def count_dispute(status: str) -> None:
    """Ops' signal of disputes (``sessionflow_disputes_total{status}``, exported as named: the SDK
    adds no suffix): each status a session's dispute reaches, counted once (the workflow's meter
    skips replays)."""
    workflow.metric_meter().create_counter(
        "sessionflow_disputes_total",
        "Disputes of session charges, by the Stripe status the session recorded.",
    ).add(1, {"status": status})


async def call_stripe(
    activity: Callable[[StripeActivitiesT, RequestT], Awaitable[ResultT]], request: RequestT, summary: str
) -> ResultT:
    """One Stripe call (payments or the Dispute API), on the Stripe task queue (rate-limited by the
    server for every worker at once): timeouts keep every retry well inside the idempotency key's
    lifetime."""
    return await workflow.execute_activity_method(
        activity,
        request,
        task_queue=stripe_task_queue(workflow.info().task_queue),
        start_to_close_timeout=STRIPE_START_TO_CLOSE,
        schedule_to_close_timeout=STRIPE_SCHEDULE_TO_CLOSE,
        retry_policy=STRIPE_RETRY_POLICY,
        summary=summary,
    )


async def call_practice(activity: Any, call: Any, *, local: bool = False) -> Any:
    """One call into the therapist's PracticeWorkflow (a workflow cannot update another), bounded
    by PRACTICE_SCHEDULE_TO_CLOSE: it is awaited inside an update handler. Raises an
    ``ApplicationError`` typed with the practice's refusal code, or ``practice_unavailable`` when
    the practice did not answer within the bound.

    ``local``: run it as a local activity, inside the caller's workflow task (no activity task
    round trip; every local activity of one workflow task bills one Action together)."""
    try:
        if local:
            return await workflow.execute_local_activity_method(
                activity,
                call,
                start_to_close_timeout=PRACTICE_START_TO_CLOSE,
                schedule_to_close_timeout=PRACTICE_SCHEDULE_TO_CLOSE,
                retry_policy=PRACTICE_RETRY_POLICY,
            )
        return await workflow.execute_activity_method(
            activity,
            call,
            start_to_close_timeout=PRACTICE_START_TO_CLOSE,
            schedule_to_close_timeout=PRACTICE_SCHEDULE_TO_CLOSE,
            retry_policy=PRACTICE_RETRY_POLICY,
        )
    except ActivityError as failure:
        cause = failure.cause
        if isinstance(cause, ApplicationError) and cause.non_retryable:
            # A rule of the practice refused it (e.g. slot_conflict): refuse the update with it.
            raise ApplicationError(cause.message, type=cause.type, non_retryable=True) from failure
        # Timed out or out of attempts: the practice did not answer (its worker down, its workflow
        # stuck). An update handler must never wait on it for ever.
        raise refused(practice_unavailable()) from failure


async def call_practice_patiently(activity: Any, call: Any) -> Any:
    """A practice call nobody waits on (freeing a cancelled session's time), retried through an
    outage for up to PRACTICE_RELEASE_SCHEDULE_TO_CLOSE. Raises ``ActivityError`` after that."""
    return await workflow.execute_activity_method(
        activity,
        call,
        start_to_close_timeout=PRACTICE_START_TO_CLOSE,
        schedule_to_close_timeout=PRACTICE_RELEASE_SCHEDULE_TO_CLOSE,
        retry_policy=PRACTICE_RELEASE_RETRY_POLICY,
    )


async def deliver(notification: Notification) -> None:
    """Send one notification; a delivery that fails for good is logged, never raised."""
    try:
        await workflow.execute_activity_method(
            NotificationActivities.deliver,
            notification,
            start_to_close_timeout=NOTIFICATION_START_TO_CLOSE,
            schedule_to_close_timeout=NOTIFICATION_SCHEDULE_TO_CLOSE,
            retry_policy=NOTIFICATION_RETRY_POLICY,
            summary=notification.type.value,
        )
    except ActivityError:
        _not_delivered(notification.session_id, notification.event_id)


async def deliver_batch(notifications: list[Notification]) -> list[Notification]:
    """Send the notices of one workflow task in one local activity; the ones the backend could not
    take now are returned (the caller gives each its own activity). One refused for good (or a
    batch that failed for good) is logged, never raised."""
    try:
        delivery = await workflow.execute_local_activity_method(
            NotificationActivities.deliver_all,
            NotificationBatch(notifications=notifications),
            start_to_close_timeout=NOTIFICATION_START_TO_CLOSE,
            schedule_to_close_timeout=NOTIFICATION_SCHEDULE_TO_CLOSE,
            retry_policy=NOTIFICATION_RETRY_POLICY,
            # Every retry waits on a timer, outside the workflow task: a worker fault must not hold
            # the session's task (and every command behind it) open.
            local_retry_threshold=NOTIFICATION_LOCAL_RETRY_THRESHOLD,
            summary=",".join(notification.type.value for notification in notifications),
        )
    except ActivityError:
        for notification in notifications:
            _not_delivered(notification.session_id, notification.event_id)
        return []
    refused = {result.event_id for result in delivery.rejected}
    for notification in notifications:
        if notification.event_id in refused:
            _not_delivered(notification.session_id, notification.event_id)
    retry = set(delivery.unavailable)
    return [notification for notification in notifications if notification.event_id in retry]


def _not_delivered(session_id: str | None, event_id: str) -> None:
    workflow.logger.error(
        "notification not delivered", extra={"session_id": session_id, "event_id": event_id}
    )


async def start_follow_up(request: FollowUpStart) -> FollowUpStarted:
    """Start the follow-up from a local activity (a client start: the follow-up's own start is its
    only Action). Bounded like a practice call: it runs inside the attendance update. Raises
    ``ActivityError`` when it could not be started."""
    return await workflow.execute_local_activity_method(
        FollowUpActivities.start,
        request,
        start_to_close_timeout=PRACTICE_START_TO_CLOSE,
        schedule_to_close_timeout=PRACTICE_SCHEDULE_TO_CLOSE,
        retry_policy=PRACTICE_RETRY_POLICY,
    )
