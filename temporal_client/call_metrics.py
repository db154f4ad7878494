"""Every Temporal call a client of ours makes, counted by kind: ``sessionflow_temporal_calls_total``.

Queries and rejected updates are billed Actions that never appear in a workflow's history, so the
only place to count them is the caller. A client interceptor (installed by
``temporal_client.converter.connect``) sees every call whatever helper or route made it: the API's
(``GET /metrics``), the worker's activities' (the worker's app-metrics port) and a driver's.

Kinds (the ``call`` label, a fixed set): ``start``, ``signal_with_start``, ``update_with_start``,
``update``, ``query``, ``signal``, ``describe``, ``list``, ``count``, ``history`` (a result's long
poll), ``cancel``, ``terminate``. Billed among them: start, signal(-with-start), update(-with-start)
— counted again in the history when accepted — and query; describe, list, count and history
reads are not billed.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import Counter
from temporalio.client import (
    CancelWorkflowInput,
    CountWorkflowsInput,
    DescribeWorkflowInput,
    FetchWorkflowHistoryEventsInput,
    Interceptor,
    ListWorkflowsInput,
    OutboundInterceptor,
    QueryWorkflowInput,
    SignalWorkflowInput,
    StartWorkflowInput,
    StartWorkflowUpdateInput,
    StartWorkflowUpdateWithStartInput,
    TerminateWorkflowInput,
    WorkflowExecutionAsyncIterator,
    WorkflowExecutionCount,
    WorkflowExecutionDescription,
    WorkflowHandle,
    WorkflowHistoryEventAsyncIterator,
    WorkflowUpdateHandle,
)

TEMPORAL_CALLS = Counter(
    "sessionflow_temporal_calls",
    "Temporal client calls made by this process, by kind (queries are billed Actions that never "
    "appear in a history; describe, list, count and history reads are not billed).",
    ["call"],
)
CALLS = (
    "start",
    "signal_with_start",
    "update_with_start",
    "update",
    "query",
    "signal",
    "describe",
    "list",
    "count",
    "history",
    "cancel",
    "terminate",
)
for _call in CALLS:
    TEMPORAL_CALLS.labels(_call)  # every kind shows from the start, at 0: a reader can diff


def _count(call: str) -> None:
    TEMPORAL_CALLS.labels(call).inc()


class CallCounter(Interceptor):
    """The client interceptor that counts each call before it is made (a failed call counts too:
    a rejected update is billed)."""

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        return _Counting(next)


class _Counting(OutboundInterceptor):
    async def start_workflow(self, input: StartWorkflowInput) -> WorkflowHandle[Any, Any]:
        _count("signal_with_start" if input.start_signal else "start")
        return await super().start_workflow(input)

    async def start_update_with_start_workflow(
        self, input: StartWorkflowUpdateWithStartInput
    ) -> WorkflowUpdateHandle[Any]:
        _count("update_with_start")
        return await super().start_update_with_start_workflow(input)

    async def start_workflow_update(self, input: StartWorkflowUpdateInput) -> WorkflowUpdateHandle[Any]:
        _count("update")
        return await super().start_workflow_update(input)

    async def query_workflow(self, input: QueryWorkflowInput) -> Any:
        _count("query")
        return await super().query_workflow(input)

    async def signal_workflow(self, input: SignalWorkflowInput) -> None:
        _count("signal")
        await super().signal_workflow(input)

    async def describe_workflow(self, input: DescribeWorkflowInput) -> WorkflowExecutionDescription:
        _count("describe")
        return await super().describe_workflow(input)

    def list_workflows(self, input: ListWorkflowsInput) -> WorkflowExecutionAsyncIterator:
        _count("list")
        return super().list_workflows(input)

    async def count_workflows(self, input: CountWorkflowsInput) -> WorkflowExecutionCount:
        _count("count")
        return await super().count_workflows(input)

    def fetch_workflow_history_events(
        self, input: FetchWorkflowHistoryEventsInput
    ) -> WorkflowHistoryEventAsyncIterator:
        _count("history")
        return super().fetch_workflow_history_events(input)

    async def cancel_workflow(self, input: CancelWorkflowInput) -> None:
        _count("cancel")
        await super().cancel_workflow(input)

    async def terminate_workflow(self, input: TerminateWorkflowInput) -> None:
        _count("terminate")
        await super().terminate_workflow(input)


def parse_calls(metrics_text: str) -> dict[str, float]:
    """The counter's values by kind from a Prometheus text exposition (a reader's helper)."""
    calls: dict[str, float] = {}
    prefix = 'sessionflow_temporal_calls_total{call="'
    for line in metrics_text.splitlines():
        if line.startswith(prefix):
            label, _, value = line[len(prefix) :].partition('"} ')
            calls[label] = float(value)
    return calls
