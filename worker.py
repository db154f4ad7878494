"""The Sessionflow worker: runs SessionWorkflow, the payment and notification activities on one queue.

``build_worker`` is shared by the production entry point, the dev stack and the tests, so all of
them run exactly the same registration.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Sequence
from datetime import timedelta

import httpx
import stripe
from temporalio.client import Client
from temporalio.worker import PollerBehaviorAutoscaling, Worker

from activities.notifications import NotificationActivities
from activities.payments import PaymentActivities
from activities.practice import PracticeActivities
from activities.stripe_client import build_stripe_client
from observability.logging import configure_logging
from observability.metrics import start_app_metrics_server, temporal_runtime
from settings import Settings
from workflows.converter import connect
from workflows.practice import PracticeWorkflow
from workflows.session import SessionWorkflow

WORKFLOWS: Sequence[type] = (SessionWorkflow, PracticeWorkflow)
GRACEFUL_SHUTDOWN = timedelta(seconds=10)

log = logging.getLogger("sessionflow.worker")


def build_notifier(settings: Settings) -> NotificationActivities:
    """The notification activity with its own HTTP client (bounded timeout) from settings."""
    http = httpx.AsyncClient(timeout=settings.notify_timeout_seconds, follow_redirects=False)
    return NotificationActivities(http, settings.notify_url, settings.notify_secret.get_secret_value())


def build_worker(
    client: Client,
    *,
    task_queue: str,
    stripe_client: stripe.StripeClient,
    settings: Settings | None = None,
    notifier: NotificationActivities | None = None,
) -> Worker:
    settings = settings or Settings()
    payments = PaymentActivities(stripe_client)
    practice = PracticeActivities(client, task_queue)
    notifier = notifier or build_notifier(settings)
    return Worker(
        client,
        task_queue=task_queue,
        workflows=list(WORKFLOWS),
        activities=[
            payments.charge,
            payments.void,
            payments.refund,
            notifier.deliver,
            practice.register_client,
            practice.check_booking_time,
            practice.reserve_slot,
            practice.release_slots,
            practice.end_relationship,
            practice.cancel_future_sessions,
        ],
        max_cached_workflows=settings.max_cached_workflows,
        max_concurrent_activities=settings.max_concurrent_activities,
        # Autoscaling pollers keep throughput and cut the long tails of the fixed default.
        workflow_task_poller_behavior=PollerBehaviorAutoscaling(),
        activity_task_poller_behavior=PollerBehaviorAutoscaling(),
        graceful_shutdown_timeout=GRACEFUL_SHUTDOWN,
    )


async def run_worker(settings: Settings) -> None:
    client = await connect(settings, runtime=temporal_runtime(settings))
    start_app_metrics_server(settings)
    notifier = build_notifier(settings)
    worker = build_worker(
        client,
        task_queue=settings.task_queue,
        stripe_client=build_stripe_client(settings),
        settings=settings,
        notifier=notifier,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        async with worker:
            log.info(
                "worker polling",
                extra={"task_queue": settings.task_queue, "temporal": settings.temporal_address},
            )
            await stop.wait()
    finally:
        await notifier.aclose()
    log.info("worker stopped")


def main() -> None:
    settings = Settings()
    configure_logging(settings)
    asyncio.run(run_worker(settings))


if __name__ == "__main__":
    main()
