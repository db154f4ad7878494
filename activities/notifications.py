"""Deliver notification events to the marketplace backend as signed JSON POSTs (Standard Webhooks).

The body is the notification's JSON, serialised once; ``webhook-id`` is the event id (fixed by
business state, so the backend can drop duplicates), ``webhook-timestamp`` the current time of this
attempt, and ``webhook-signature`` signs id, timestamp and those exact bytes with the
``standardwebhooks`` library, so the backend verifies with the same library's
``Webhook(secret).verify(body, headers)``. 2xx is delivered; a 4xx
other than 408/409/429 means the backend refused the payload — a bug a retry cannot fix — and
raises a non-retryable ``NotificationRejected``; anything else (5xx, 408, 409, 429, a connection
error, a timeout) raises so Temporal retries with the same event id. Logs carry ids and codes only,
never the client secret.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
from standardwebhooks import Webhook
from temporalio import activity
from temporalio.exceptions import ApplicationError

from domain.notifications import (
    NOTIFICATION_REJECTED,
    WEBHOOK_ID_HEADER,
    WEBHOOK_SIGNATURE_HEADER,
    WEBHOOK_TIMESTAMP_HEADER,
    BatchDelivery,
    DeliveryResult,
    Notification,
    NotificationBatch,
    webhook_secret,
)
from observability.metrics import NOTIFICATION_FAILURES, NOTIFICATIONS

__all__ = ["RETRYABLE_4XX", "BatchDelivery", "DeliveryResult", "NotificationActivities", "signed_headers"]

NOTIFICATION_UNAVAILABLE = "NotificationEndpointUnavailable"
# Client errors that say "not now" rather than "never": timeout, conflict, rate limit.
RETRYABLE_4XX = frozenset({408, 409, 429})
# A Retry-After the endpoint sends is honoured up to the retry policy's own maximum interval.
MAX_RETRY_AFTER = timedelta(minutes=10)


def _retry_after(response: httpx.Response) -> timedelta | None:
    value = response.headers.get("Retry-After", "").strip()
    if not value.isascii() or not value.isdigit() or int(value) == 0:
        return None  # absent, zero or an HTTP date: Temporal's backoff decides
    return min(timedelta(seconds=int(value)), MAX_RETRY_AFTER)


def signed_headers(body: bytes, event_id: str, secret: str, sent_at: datetime) -> dict[str, str]:
    """The Standard Webhooks headers of one delivery attempt of ``body`` at ``sent_at``.

    ``secret`` is ``whsec_<base64>`` or a plain secret (derived: :func:`webhook_secret`).
    """
    signature = Webhook(webhook_secret(secret)).sign(event_id, sent_at, body)
    return {
        WEBHOOK_ID_HEADER: event_id,
        WEBHOOK_TIMESTAMP_HEADER: str(int(sent_at.timestamp())),
        WEBHOOK_SIGNATURE_HEADER: signature,
    }


def _log_fields(notification: Notification, **extra: object) -> dict[str, object]:
    # Opaque ids and codes only: the client secret and anything else stay out of logs.
    return {
        "event_id": notification.event_id,
        "notification_type": str(notification.type),
        "session_id": notification.session_id,
        "therapist_id": notification.therapist_id,
        **extra,
    }


class NotificationActivities:
    """The delivery activity, bound to one HTTP client, endpoint and signing secret (injected)."""

    def __init__(self, http: httpx.AsyncClient, url: str, secret: str) -> None:
        if url and not secret:
            raise ValueError("a notification endpoint needs a signing secret")
        self._http = http
        self._url = url
        # Checked (and a plain secret derived) once, so a bad one fails the worker at start.
        self._secret = webhook_secret(secret) if secret else ""

    @property
    def enabled(self) -> bool:
        return bool(self._url)

    async def aclose(self) -> None:
        """Close the HTTP client (the worker calls it once it has drained)."""
        await self._http.aclose()

    @activity.defn(name="deliver_notification")
    async def deliver(self, notification: Notification) -> DeliveryResult:
        outcome = await self._post(notification)
        if isinstance(outcome, ApplicationError):
            raise outcome
        return outcome

    @activity.defn(name="deliver_notifications")
    async def deliver_all(self, batch: NotificationBatch) -> BatchDelivery:
        """Every notice of one workflow task, run as one local activity (one Action however many
        notices), posted at once. It never retries a notice itself: one the backend could not
        take now is reported ``unavailable`` and the workflow gives it an activity of its own (a
        backend failing one payload must not hold back the others); one it refused for good is
        reported ``rejected``."""
        outcomes = await asyncio.gather(
            *(self._outcome(notification) for notification in batch.notifications)
        )
        delivered: list[DeliveryResult] = []
        rejected: list[DeliveryResult] = []
        unavailable: list[str] = []
        for notification, outcome in zip(batch.notifications, outcomes, strict=True):
            if isinstance(outcome, DeliveryResult):
                delivered.append(outcome)
            elif outcome is not None and outcome.non_retryable:
                rejected.append(
                    DeliveryResult(event_id=notification.event_id, status_code=_status_of(outcome))
                )
            else:
                unavailable.append(notification.event_id)
        return BatchDelivery(delivered=delivered, rejected=rejected, unavailable=unavailable)

    async def _outcome(self, notification: Notification) -> DeliveryResult | ApplicationError | None:
        """One POST's outcome; None when the endpoint gave no answer (a transport error)."""
        try:
            return await self._post(notification)
        except httpx.TransportError:
            return None

    async def _post(self, notification: Notification) -> DeliveryResult | ApplicationError:
        """One signed POST: the result when delivered, the error to raise when not (retryable when
        the endpoint is unavailable, non-retryable when it refused the payload). A transport error
        (connection refused or reset, a timeout) is raised as is."""
        if not self._url:
            activity.logger.info(
                "notifications are disabled (no endpoint); dropped", extra=_log_fields(notification)
            )
            return DeliveryResult(event_id=notification.event_id, status_code=0)
        body = notification.model_dump_json().encode()
        # Whole seconds: the timestamp header and the signed string carry the same value.
        sent_at = datetime.now(UTC).replace(microsecond=0)
        headers = {
            "Content-Type": "application/json",
            **signed_headers(body, notification.event_id, self._secret, sent_at),
        }
        try:
            response = await self._http.post(self._url, content=body, headers=headers)
        except httpx.TransportError as exc:
            # Connection refused or reset, a timeout: Temporal retries with the same event id.
            NOTIFICATION_FAILURES.labels(type=str(notification.type), reason="unreachable").inc()
            activity.logger.warning(
                "notification endpoint unreachable",
                extra=_log_fields(notification, error=type(exc).__name__),
            )
            raise
        status = response.status_code
        fields = _log_fields(notification, status_code=status)
        if 200 <= status < 300:
            activity.logger.info("notification delivered", extra=fields)
            NOTIFICATIONS.labels(type=str(notification.type)).inc()
            return DeliveryResult(event_id=notification.event_id, status_code=status)
        if status >= 500 or status in RETRYABLE_4XX:
            activity.logger.warning("notification endpoint unavailable; Temporal retries", extra=fields)
            NOTIFICATION_FAILURES.labels(type=str(notification.type), reason="unavailable").inc()
            return ApplicationError(
                f"the notification endpoint answered {status}",
                {"event_id": notification.event_id, "status_code": status},
                type=NOTIFICATION_UNAVAILABLE,
                next_retry_delay=_retry_after(response),
            )
        # Any other answer (4xx, or a redirect we do not follow) is a refusal of this payload.
        activity.logger.error("notification rejected by the endpoint", extra=fields)
        NOTIFICATION_FAILURES.labels(type=str(notification.type), reason="rejected").inc()
        return ApplicationError(
            f"the notification endpoint refused the event ({status})",
            {"event_id": notification.event_id, "status_code": status},
            type=NOTIFICATION_REJECTED,
            non_retryable=True,
        )


def _status_of(failure: ApplicationError) -> int:
    details = failure.details[0] if failure.details else {}
    status = details.get("status_code", 0) if isinstance(details, dict) else 0
    return status if isinstance(status, int) and 0 <= status <= 599 else 0
