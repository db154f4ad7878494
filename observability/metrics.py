"""Prometheus metrics.

Worker process, two endpoints:

* ``settings.worker_metrics_address`` (default ``127.0.0.1:9464``): the Temporal SDK runtime's
  own metrics, exported by the Rust core through ``temporal_runtime(settings)``, the runtime of the
  client the worker uses. Counters carry no ``_total`` suffix; latencies are histograms in
  milliseconds. The alerts (deploy/prometheus/alerts.yaml) read, as a worker really exports them:
  ``temporal_workflow_task_schedule_to_start_latency``, ``temporal_activity_schedule_to_start_latency``
  (``namespace``, ``task_queue``), ``temporal_workflow_task_execution_failed`` (``failure_reason``:
  ``NonDeterminismError``, ``WorkflowError``, …; ``workflow_type``), ``temporal_sticky_cache_hit`` /
  ``temporal_sticky_cache_miss``, ``temporal_request_failure`` / ``temporal_long_request_failure``
  (``operation``, ``status_code``: ``RESOURCE_EXHAUSTED`` when throttled); also
  ``temporal_workflow_task_execution_latency``, ``temporal_activity_execution_latency``,
  ``temporal_request``, ….
  Workflow code adds its own there through ``workflow.metric_meter()`` (``contract.metrics``:
  ``sessionflow_practice_state_bytes``, ``sessionflow_practice_outcomes_forgotten_early``;
  ``workflows.calls``: ``sessionflow_money_blocked_total{operation, session_status}``,
  ``sessionflow_charge_given_up``, ``sessionflow_stripe_unreachable``, ``sessionflow_disputes_total``,
  ``sessionflow_sessions_unreported``, ``sessionflow_unreported_money_to_ops_total{reason, outcome}``).
* ``settings.worker_app_metrics_port`` (default ``9465``, same host): our counters below, served
  by ``prometheus_client``. The activities increment them; labels are opaque codes only:
  ``sessionflow_charges_total``, ``sessionflow_declines_total``, ``sessionflow_refunds_total``,
  ``sessionflow_stripe_unavailable_total``, ``sessionflow_stripe_rate_limited_total{resource}``
  (every 429, counted in ``stripe_client``), ``sessionflow_notifications_total{type}``,
  ``sessionflow_notification_failures_total{type, reason}``; and the overdue-session gauges
  ``sessionflow_sessions_overdue{condition}`` with ``sessionflow_session_count_failures_total``
  (``observability.session_counts``).

API process: ``sessionflow_api_request_seconds`` (see ``observability.http``) on ``GET /metrics``,
and ``sessionflow_stripe_rate_limited_total`` for its own Stripe calls.

Both: ``sessionflow_temporal_calls_total{call}``, every Temporal call of the process's client
(``temporal_client.call_metrics``, installed by ``connect``), on the endpoints above.

deploy/README.md ("Alerts and dashboards") lists each with its labels; the alert and dashboard
tests hold every metric they read to that list.
"""

from __future__ import annotations

import logging

from prometheus_client import Counter, Histogram, start_http_server
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from contract.metrics import HISTOGRAM_BUCKETS
from settings import Settings

log = logging.getLogger("sessionflow.metrics")

CHARGES = Counter(
    "sessionflow_charges", "Off-session charge attempts answered by Stripe, by outcome.", ["outcome"]
)
DECLINES = Counter("sessionflow_declines", "Charge attempts declined, by decline kind.", ["kind"])
REFUNDS = Counter("sessionflow_refunds", "Refunds created at Stripe.")
STRIPE_UNAVAILABLE = Counter(
    "sessionflow_stripe_unavailable",
    "Stripe calls (one activity attempt each) that failed without an answer Temporal should keep: "
    "connection errors, timeouts, 5xx, 429, 409; by operation and error type. Retried with the "
    "same key; a sustained rate is an outage (the workflows' sessionflow_stripe_unreachable, on "
    "the SDK's endpoint, counts calls whose whole retry budget ran out).",
    ["operation", "error"],
)
STRIPE_RATE_LIMITED = Counter(
    "sessionflow_stripe_rate_limited",
    "HTTP responses 429 (rate_limit) from Stripe, each one, the Stripe client's own retries "
    "included; by the API resource asked (payment_intents, refunds, accounts, …).",
    ["resource"],
)
NOTIFICATIONS = Counter(
    "sessionflow_notifications",
    "Notifications delivered to the backend, by type (reminders: attendance_update_due).",
    ["type"],
)
NOTIFICATION_FAILURES = Counter(
    "sessionflow_notification_failures",
    "Notification posts the backend did not take, by type and reason: unreachable (no answer), "
    "unavailable (5xx, 408, 409, 429: retried by Temporal), rejected (any other answer: not retried).",
    ["type", "reason"],
)
API_REQUEST_SECONDS = Histogram(
    "sessionflow_api_request_seconds",
    "API request latency, by route template, method and status code.",
    ["route", "method", "status"],
)


def host_port(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host.strip("[]") or "127.0.0.1", int(port)


def temporal_runtime(settings: Settings) -> Runtime | None:
    """A Temporal runtime exporting the SDK's metrics on ``worker_metrics_address``.

    None (the default runtime, no export) when the address is empty or cannot be bound: a worker
    that moves money keeps running without its metrics, and says so loudly.
    """
    if not settings.worker_metrics_address:
        return None
    try:
        return Runtime(
            telemetry=TelemetryConfig(
                metrics=PrometheusConfig(
                    bind_address=settings.worker_metrics_address,
                    histogram_bucket_overrides={
                        name: list(bounds) for name, bounds in HISTOGRAM_BUCKETS.items()
                    },
                )
            )
        )
    except ValueError as error:  # "Failed starting Prometheus exporter: Address already in use"
        log.error(
            "SDK metrics disabled: cannot serve them",
            extra={"address": settings.worker_metrics_address, "error": str(error)},
        )
        return None


def start_app_metrics_server(settings: Settings) -> None:
    """Serve the ``sessionflow_*`` counters on the worker's host, ``worker_app_metrics_port`` (0: off)."""
    if not settings.worker_app_metrics_port:
        return
    host = host_port(settings.worker_metrics_address)[0] if settings.worker_metrics_address else "127.0.0.1"
    try:
        start_http_server(settings.worker_app_metrics_port, addr=host)
    except OSError as error:
        log.error(
            "worker metrics disabled: cannot serve them",
            extra={"port": settings.worker_app_metrics_port, "error": str(error)},
        )
