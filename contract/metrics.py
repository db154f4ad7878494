"""The metrics workflow code emits, as dashboards and alerts know them.

Workflow code records them through ``workflow.metric_meter()`` (nothing is recorded while a
workflow replays); the worker's SDK runtime serves them with the SDK's own on
``SESSIONFLOW_WORKER_METRICS_ADDRESS`` (``observability.metrics.temporal_runtime``, which also sets
the buckets below). The SDK adds ``namespace``, ``task_queue`` and ``workflow_type`` labels; ours
add none: no ids in labels.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

KIB: Final = 1024
MIB: Final = 1024 * KIB

PRACTICE_STATE_BYTES: Final = "sessionflow_practice_state_bytes"
PRACTICE_STATE_BYTES_HELP: Final = (
    "Serialised size of a therapist's practice state (what continue-as-new carries; Temporal refuses "
    "a payload over 2 MiB), recorded when a request changes it and at continue-as-new."
)
PRACTICE_STATE_WARN_BYTES: Final = 1 * MIB
"""Alert (warn) when a practice's state passes this: half the blob limit."""
PRACTICE_STATE_PAGE_BYTES: Final = 3 * MIB // 2
"""Alert (page) when a practice's state passes this: a quarter of the blob limit left."""

PRACTICE_OUTCOMES_FORGOTTEN_EARLY: Final = "sessionflow_practice_outcomes_forgotten_early"
PRACTICE_OUTCOMES_FORGOTTEN_EARLY_HELP: Final = (
    "Request outcomes a practice forgot before their retention ended because a burst reached the "
    "safety cap (a repeat of one of them would be processed again)."
)

HISTOGRAM_BUCKETS: Final = MappingProxyType(
    {
        PRACTICE_STATE_BYTES: (
            16 * KIB,
            64 * KIB,
            256 * KIB,
            512 * KIB,
            PRACTICE_STATE_WARN_BYTES,
            PRACTICE_STATE_PAGE_BYTES,
            2 * MIB,
        ),
    }
)
"""Bucket boundaries of the workflow histograms (the SDK's defaults are for milliseconds)."""
