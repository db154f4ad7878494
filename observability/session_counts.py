"""Sessions in conditions that need ops, counted from Temporal visibility for the alerts.

Some business alerts are about how long a session has been in a state (``payment_due`` for over an
hour, an attendance update still missing after the last reminder), which no event counter shows.
The worker counts them every ``SESSIONFLOW_SESSION_COUNTS_INTERVAL_SECONDS`` (60; 0: off) with
``CountWorkflowExecutions`` over the existing search attributes (``contract.visibility.
overdue_session_queries``) and serves the results as ``sessionflow_sessions_overdue{condition}`` on
its ``sessionflow_*`` endpoint. Every worker counts the same thing: alerts take ``max`` across
them. Each count is bounded by ``SESSIONFLOW_SESSION_COUNTS_TIMEOUT_SECONDS``; a count that fails
keeps the last value and is counted in ``sessionflow_session_count_failures_total{condition}``
(a worker never stops over its metrics). Counts are not billed Actions on Temporal Cloud.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime, timedelta

from prometheus_client import Counter, Gauge
from temporalio.client import Client

from contract.visibility import OverdueCondition, overdue_session_queries
from settings import Settings

log = logging.getLogger("sessionflow.session_counts")

SESSIONS_OVERDUE = Gauge(
    "sessionflow_sessions_overdue",
    "Running sessions in a condition that needs ops, counted from visibility: payment_due_over_1h, "
    "cancelled_open_1d_after_end, awaiting_update_past_last_reminder.",
    ["condition"],
)
SESSION_COUNT_FAILURES = Counter(
    "sessionflow_session_count_failures",
    "Visibility counts behind sessionflow_sessions_overdue that failed or timed out (the gauge "
    "keeps its last value).",
    ["condition"],
)


async def count_overdue_sessions(
    client: Client, now: datetime, *, limit_seconds: float
) -> dict[OverdueCondition, int]:
    """Count every condition at ``now`` and publish it; returns the counts that succeeded."""
    counted: dict[OverdueCondition, int] = {}
    for condition, query in overdue_session_queries(now).items():
        try:
            async with asyncio.timeout(limit_seconds):
                result = await client.count_workflows(query, rpc_timeout=timedelta(seconds=limit_seconds))
        except Exception as error:  # any failure is counted, never raised (see above)
            SESSION_COUNT_FAILURES.labels(condition=condition.value).inc()
            log.warning(
                "session count failed", extra={"condition": condition.value, "error": type(error).__name__}
            )
            continue
        SESSIONS_OVERDUE.labels(condition=condition.value).set(result.count)
        counted[condition] = result.count
    return counted


async def run_session_counts(client: Client, settings: Settings, stop: asyncio.Event) -> None:
    """Count every interval until ``stop`` is set (the worker's drain)."""
    if not settings.session_counts_interval_seconds:
        return
    while not stop.is_set():
        limit = settings.session_counts_timeout_seconds
        await count_overdue_sessions(client, datetime.now(UTC), limit_seconds=limit)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), settings.session_counts_interval_seconds)
