"""The Sessionflow worker: SessionWorkflow, PracticeWorkflow, SessionRefundsWorkflow and their
activities on the task queue, and the Stripe activities on the Stripe task queue
(``<task_queue>-stripe``) under a server-side rate limit.

``build_workers`` is shared by the production entry point, the dev stack and the tests, so all of
them run exactly the same registration and the same tuning from ``Settings``.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

import httpx
import stripe
from opentelemetry.sdk.trace import TracerProvider
from temporalio.client import Client
from temporalio.common import VersioningBehavior, WorkerDeploymentVersion
from temporalio.worker import PollerBehaviorAutoscaling, Worker, WorkerDeploymentConfig
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.disputes import DisputeActivities
from activities.follow_ups import FollowUpActivities
from activities.notifications import NotificationActivities
from activities.payments import PaymentActivities
from activities.practice import PracticeActivities
from contract.ids import stripe_task_queue
from observability.health import WorkerHealth, start_health_server
from observability.logging import configure_logging
from observability.metrics import start_app_metrics_server, temporal_runtime
from observability.session_counts import run_session_counts
from observability.tracing import (
    SERVICE_WORKER,
    configure_tracing,
    instrument_http_client,
    temporal_interceptors,
)
from settings import Settings
from stripe_client import build_stripe_client
from temporal_client.converter import connect
from workflows.practice import PracticeWorkflow
from workflows.refunds import SessionRefundsWorkflow
from workflows.session import SessionWorkflow

WORKFLOWS: Sequence[type] = (SessionWorkflow, PracticeWorkflow, SessionRefundsWorkflow)

VERSIONING_BEHAVIORS = {
    "auto_upgrade": VersioningBehavior.AUTO_UPGRADE,
    "pinned": VersioningBehavior.PINNED,
}

log = logging.getLogger("sessionflow.worker")


def build_notifier(
    settings: Settings, tracer_provider: TracerProvider | None = None
) -> NotificationActivities:
    """The notification activity with its own HTTP client (bounded timeout) from settings; traced
    (a client span per POST) when a tracer provider is given."""
    http = httpx.AsyncClient(timeout=settings.notify_timeout_seconds, follow_redirects=False)
    instrument_http_client(http, tracer_provider)
    return NotificationActivities(http, settings.notify_url, settings.notify_secret.get_secret_value())


def deployment_config(settings: Settings) -> WorkerDeploymentConfig | None:
    """Worker versioning when a deployment name and build id are configured, else None (unversioned).

    The default behaviour is AUTO_UPGRADE: a session lives for weeks and a practice for years, so
    pinning would keep every old build running until its last session ends. Running sessions move
    to the new build on their next workflow task instead, which is safe because every change is
    replay-tested against recorded histories and guarded by ``workflow.patched`` (deploy/README.md).
    """
    if not settings.worker_versioned:
        return None
    return WorkerDeploymentConfig(
        version=WorkerDeploymentVersion(
            deployment_name=settings.worker_deployment_name, build_id=settings.worker_build_id
        ),
        use_worker_versioning=True,
        default_versioning_behavior=VERSIONING_BEHAVIORS[settings.worker_versioning_behavior],
    )


# Deterministic by construction and checked (tests/unit/test_workflow_determinism.py): passed
# through, they are imported once per process instead of once per workflow run.
OWN_WORKFLOW_MODULES = ("workflows", "contract", "domain", "activities", "settings", "observability")
# The tracing interceptor's workflow side runs in the sandbox and uses OpenTelemetry's context
# (process-wide state, loaded lazily): it must be the process's module, never a sandbox re-import
# (the SDK's own OpenTelemetry plugin passes it through the same way). It makes no decisions.
TRACING_MODULES = ("opentelemetry",)


def workflow_runner(settings: Settings) -> SandboxedWorkflowRunner:
    """The sandbox the worker (and the replayers) run workflows in (``Settings.workflow_sandbox``)."""
    if settings.workflow_sandbox == "strict":
        return SandboxedWorkflowRunner(
            restrictions=SandboxRestrictions.default.with_passthrough_modules(*TRACING_MODULES)
        )
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(
            *OWN_WORKFLOW_MODULES, *TRACING_MODULES
        )
    )


def build_worker(
    client: Client,
    *,
    task_queue: str,
    stripe_client: stripe.StripeClient,
    settings: Settings | None = None,
    notifier: NotificationActivities | None = None,
    practice: PracticeActivities | None = None,
) -> Worker:
    settings = settings or Settings()
    payments = PaymentActivities(stripe_client, return_url=settings.payment_return_url)
    practice = practice or PracticeActivities(client, task_queue)
    notifier = notifier or build_notifier(settings)
    follow_ups = FollowUpActivities(client, task_queue)
    return Worker(
        client,
        task_queue=task_queue,
        workflows=list(WORKFLOWS),
        workflow_runner=workflow_runner(settings),
        activities=[
            # Still served here: Stripe calls scheduled on this queue before the Stripe queue
            # existed (sessions running through the deploy) must complete. New ones go to the
            # Stripe queue.
            *payment_activities(payments),
            notifier.deliver,
            notifier.deliver_all,
            follow_ups.start,
            practice.register_client,
            practice.check_booking_time,
            practice.reserve_slot,
            practice.release_slots,
            practice.claim_time,
            practice.release_time,
            practice.end_relationship,
            practice.cancel_future_sessions,
        ],
        max_cached_workflows=settings.max_cached_workflows,
        max_concurrent_workflow_tasks=settings.max_concurrent_workflow_tasks,
        max_concurrent_activities=settings.max_concurrent_activities,
        # Autoscaling pollers keep throughput and cut the long tails of a fixed poller count.
        workflow_task_poller_behavior=PollerBehaviorAutoscaling(
            minimum=settings.workflow_task_pollers_minimum,
            maximum=settings.workflow_task_pollers_maximum,
            initial=settings.workflow_task_pollers_initial,
        ),
        activity_task_poller_behavior=activity_pollers(settings),
        graceful_shutdown_timeout=timedelta(seconds=settings.graceful_shutdown_seconds),
        deployment_config=deployment_config(settings),
    )


def activity_pollers(settings: Settings) -> PollerBehaviorAutoscaling:
    # Autoscaling pollers keep throughput and cut the long tails of a fixed poller count.
    return PollerBehaviorAutoscaling(
        minimum=settings.activity_task_pollers_minimum,
        maximum=settings.activity_task_pollers_maximum,
        initial=settings.activity_task_pollers_initial,
    )


def payment_activities(payments: PaymentActivities) -> list[Callable[..., Any]]:
    return [payments.charge, payments.void, payments.read, payments.refund]


def dispute_activities(disputes: DisputeActivities) -> list[Callable[..., Any]]:
    return [disputes.submit_evidence, disputes.read]


def build_stripe_worker(
    client: Client, *, task_queue: str, stripe_client: stripe.StripeClient, settings: Settings | None = None
) -> Worker:
    """The Stripe activities on ``stripe_task_queue(task_queue)``, rate-limited by the server for
    the whole fleet (``max_task_queue_activities_per_second``); no workflows."""
    settings = settings or Settings()
    payments = PaymentActivities(stripe_client, return_url=settings.payment_return_url)
    return Worker(
        client,
        task_queue=stripe_task_queue(task_queue),
        activities=[
            *payment_activities(payments),
            *dispute_activities(DisputeActivities(stripe_client, submit=settings.dispute_evidence_submit)),
        ],
        max_concurrent_activities=settings.stripe_max_concurrent_activities,
        max_task_queue_activities_per_second=settings.stripe_activities_per_second,
        activity_task_poller_behavior=activity_pollers(settings),
        graceful_shutdown_timeout=timedelta(seconds=settings.graceful_shutdown_seconds),
        deployment_config=deployment_config(settings),
    )


def build_workers(
    client: Client,
    *,
    task_queue: str,
    stripe_client: stripe.StripeClient,
    settings: Settings | None = None,
    notifier: NotificationActivities | None = None,
    practice: PracticeActivities | None = None,
) -> list[Worker]:
    """Everything one worker process runs: the main worker and the Stripe worker."""
    settings = settings or Settings()
    return [
        build_worker(
            client,
            task_queue=task_queue,
            stripe_client=stripe_client,
            settings=settings,
            notifier=notifier,
            practice=practice,
        ),
        build_stripe_worker(client, task_queue=task_queue, stripe_client=stripe_client, settings=settings),
    ]


async def run_worker(settings: Settings) -> None:
    # Traces (off by default): the interceptor on the client reaches the workers built on it, so
    # workflow and activity spans continue the trace of the request that started or updated them.
    tracer_provider = configure_tracing(settings, SERVICE_WORKER)
    try:
        await _run_worker(settings, tracer_provider)
    finally:
        if tracer_provider is not None:
            tracer_provider.shutdown()  # exports the last batch


async def _run_worker(settings: Settings, tracer_provider: TracerProvider | None) -> None:
    client = await connect(
        settings, runtime=temporal_runtime(settings), interceptors=temporal_interceptors(tracer_provider)
    )
    start_app_metrics_server(settings)
    notifier = build_notifier(settings, tracer_provider)
    worker, stripe_worker = build_workers(
        client,
        task_queue=settings.task_queue,
        stripe_client=build_stripe_client(settings, tracer_provider),
        settings=settings,
        notifier=notifier,
    )
    versioning = deployment_config(settings)
    # Versioned: ready only while this build is the current version (it gets no tasks otherwise).
    health = WorkerHealth(client, version=None if versioning is None else versioning.version)
    health_server = await start_health_server(settings.worker_health_address, health)
    stop = asyncio.Event()

    def begin_shutdown() -> None:
        # Not ready from the first moment of the drain, so a rollout never counts a stopping pod.
        health.draining = True
        stop.set()

    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, begin_shutdown)
    # Ops' counts of overdue sessions (sessionflow_sessions_overdue), until the drain begins.
    counts = asyncio.create_task(run_session_counts(client, settings, stop))
    try:
        async with worker, stripe_worker:
            health.worker = worker
            log.info(
                "worker polling",
                extra={
                    "task_queue": settings.task_queue,
                    "stripe_task_queue": stripe_worker.task_queue,
                    "stripe_activities_per_second": settings.stripe_activities_per_second,
                    "temporal": settings.temporal_address,
                    "deployment": settings.worker_deployment_name or None,
                    "build_id": settings.worker_build_id or None,
                },
            )
            await stop.wait()
            log.info(
                "worker draining", extra={"graceful_shutdown_seconds": settings.graceful_shutdown_seconds}
            )
    finally:
        counts.cancel()
        await asyncio.gather(counts, return_exceptions=True)
        await notifier.aclose()
        if health_server is not None:
            health_server.close()
    log.info("worker stopped")


def main() -> None:
    settings = Settings()
    configure_logging(settings)
    asyncio.run(run_worker(settings))


if __name__ == "__main__":
    main()
