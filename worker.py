"""The Sessionflow worker: runs SessionWorkflow and the payment activities on one task queue.

``build_worker`` is shared by the production entry point, the dev stack and the tests, so all of
them run exactly the same registration.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Sequence
from datetime import timedelta

import stripe
from temporalio.client import Client
from temporalio.worker import PollerBehaviorAutoscaling, Worker

from activities.payments import PaymentActivities
from activities.stripe_client import build_stripe_client
from settings import Settings
from workflows.converter import DATA_CONVERTER
from workflows.session import SessionWorkflow

WORKFLOWS: Sequence[type] = (SessionWorkflow,)
GRACEFUL_SHUTDOWN = timedelta(seconds=10)

log = logging.getLogger("sessionflow.worker")


async def connect(settings: Settings) -> Client:
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=DATA_CONVERTER,
    )


def build_worker(
    client: Client, *, task_queue: str, stripe_client: stripe.StripeClient, settings: Settings | None = None
) -> Worker:
    settings = settings or Settings()
    payments = PaymentActivities(stripe_client)
    return Worker(
        client,
        task_queue=task_queue,
        workflows=list(WORKFLOWS),
        activities=[payments.charge, payments.void, payments.refund],
        max_cached_workflows=settings.max_cached_workflows,
        max_concurrent_activities=settings.max_concurrent_activities,
        # Autoscaling pollers keep throughput and cut the long tails of the fixed default.
        workflow_task_poller_behavior=PollerBehaviorAutoscaling(),
        activity_task_poller_behavior=PollerBehaviorAutoscaling(),
        graceful_shutdown_timeout=GRACEFUL_SHUTDOWN,
    )


async def run_worker(settings: Settings) -> None:
    client = await connect(settings)
    worker = build_worker(
        client,
        task_queue=settings.task_queue,
        stripe_client=build_stripe_client(settings),
        settings=settings,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with worker:
        log.info(
            "worker polling",
            extra={"task_queue": settings.task_queue, "temporal": settings.temporal_address},
        )
        await stop.wait()
    log.info("worker stopped")


def main() -> None:
    settings = Settings()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    asyncio.run(run_worker(settings))


if __name__ == "__main__":
    main()
