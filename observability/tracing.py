"""OpenTelemetry traces for every process (README "Traces"): one tracer provider per process, the
Temporal interceptor, the API's and the HTTP clients' instrumentation — and the one privacy gate
every finished span passes before any exporter sees it.

Off by default (``SESSIONFLOW_TRACES_EXPORTER=none``): :func:`configure_tracing` then returns
None and nothing is instrumented. Nothing here sets OpenTelemetry's global tracer provider: each
instrumentation is handed the process's provider, so a test builds its own and a library that
reaches for the global one records nothing.

Privacy (health data): span attributes are reduced to :data:`RECORDED_ATTRIBUTES` (opaque ids,
machine codes, numbers, route templates, URLs without their query), exception events keep their
type only and a status description its exception type only (:class:`PrivateSpanExporter`).
Request and response bodies and headers are never recorded by the instrumentations used here,
and the gate would drop them if they were. Only W3C ``traceparent`` crosses process boundaries:
baggage, which a caller could fill with anything, is neither read from requests nor sent on.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Literal
from urllib.parse import urlsplit, urlunsplit

import httpx
from fastapi import FastAPI
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.propagate import set_global_textmap
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace import Link, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util.types import AttributeValue
from temporalio.api.common.v1 import Payload
from temporalio.contrib.opentelemetry import TracingInterceptor, TracingWorkflowInboundInterceptor
from temporalio.contrib.opentelemetry._context import attached_context
from temporalio.worker import HandleSignalInput, HandleUpdateInput, WorkflowInterceptorClassInput

from settings import Settings, parse_header_list

Service = Literal["sessionflow-api", "sessionflow-worker", "sessionflow-codec"]
SERVICE_API: Service = "sessionflow-api"
SERVICE_WORKER: Service = "sessionflow-worker"
SERVICE_CODEC: Service = "sessionflow-codec"

TRACER_NAME = "sessionflow"

EXCLUDED_URLS = r"/metrics(\?|$),/healthz(\?|$),/readyz(\?|$)"
"""Scrapes and probes (every few seconds, forever) are not traced: the FastAPI instrumentation's
comma-separated regexes, searched in the request URL."""

# Only W3C trace context crosses a process boundary (HTTP or a Temporal header, which history
# keeps unencrypted): baggage is whatever a caller put there, so it is never taken in or sent on.
TRACE_CONTEXT_ONLY = TraceContextTextMapPropagator()

URL_ATTRIBUTES = frozenset({"http.url", "url.full", "http.target"})
"""Recorded without query string or fragment (a query could carry anything)."""
RECORDED_ATTRIBUTES = frozenset(
    {
        # The Temporal interceptor: workflow ids hold opaque ids only (session-<id>, practice-<id>).
        "temporalWorkflowID",
        "temporalRunID",
        "temporalActivityID",
        "temporalActivityType",
        "temporalUpdateID",
        # HTTP, server and client, in both semantic-convention generations.
        "http.method",
        "http.request.method",
        "http.route",
        "http.status_code",
        "http.response.status_code",
        "http.scheme",
        "url.scheme",
        "http.flavor",
        "network.protocol.version",
        "url.path",
        "server.address",
        "server.port",
        "net.host.name",
        "net.host.port",
        "net.peer.name",
        "net.peer.port",
        "http.server_name",
        "error.type",
        *URL_ATTRIBUTES,
    }
)
"""Every attribute key a span may leave with; any other is dropped. Left out on purpose: the
caller's address and user agent (``client.address``, ``net.peer.ip``, ``user_agent.original``,
``http.user_agent``: a person's, for the codec's browser users), ``url.query``, captured headers
(``http.request.header.*``: Authorization among them), and anything a library adds later."""
EXCEPTION_EVENT_ATTRIBUTES = frozenset({"exception.type", "exception.escaped"})
"""An exception event keeps its type: its message and stack trace (whose last line is the message)
can quote a value, and a log record with ids says what happened."""


def configure_tracing(settings: Settings, service: Service) -> TracerProvider | None:
    """The process's tracer provider from settings, or None when traces are off.

    Called once per process at start (the API's lifespan owner, the worker, the codec server); the
    caller shuts it down on exit so the last batch is exported.
    """
    exporter = span_exporter(settings, service)
    if exporter is None:
        return None
    # Incoming requests are read, and outgoing ones written, with trace context alone.
    set_global_textmap(TRACE_CONTEXT_ONLY)
    attributes: dict[str, AttributeValue] = {"service.name": service, "service.namespace": "sessionflow"}
    if settings.worker_build_id:
        attributes["service.version"] = settings.worker_build_id
    provider = TracerProvider(
        resource=Resource.create(attributes),
        sampler=ParentBased(TraceIdRatioBased(settings.traces_sample_ratio)),
    )
    private = PrivateSpanExporter(exporter)
    # OTLP: batched off the request path; console and file (local): each span as it ends.
    processor: SpanProcessor = (
        BatchSpanProcessor(private) if settings.traces_exporter == "otlp" else SimpleSpanProcessor(private)
    )
    provider.add_span_processor(processor)
    return provider


def span_exporter(settings: Settings, service: Service) -> SpanExporter | None:
    match settings.traces_exporter:
        case "none":
            return None
        case "otlp":
            return OTLPSpanExporter(
                endpoint=settings.traces_otlp_endpoint,
                headers=parse_header_list(settings.traces_otlp_headers.get_secret_value()) or None,
            )
        case "console":
            return JsonLinesSpanExporter(None)
        case "file":
            return JsonLinesSpanExporter(traces_file(settings, service))


def traces_file(settings: Settings, service: Service) -> Path:
    """Where the ``file`` exporter of ``service`` writes: one file per process kind."""
    return settings.traces_directory / f"{service}.jsonl"


class JsonLinesSpanExporter(SpanExporter):
    """Each finished span as one line of JSON (OpenTelemetry's own span JSON), appended to a file,
    or printed (``path`` None). A lock per exporter: spans end on the event loop and in the
    workflow threads."""

    def __init__(self, path: Path | None) -> None:
        self._lock = threading.Lock()
        self._out: IO[str] | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._out = path.open("a", encoding="utf-8")

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        lines = "".join(span.to_json(indent=None) + "\n" for span in spans)
        with self._lock:
            if self._out is None:
                sys.stdout.write(lines)
                sys.stdout.flush()
            elif not self._out.closed:
                self._out.write(lines)
                self._out.flush()
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        with self._lock:
            if self._out is not None:
                self._out.close()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True


class PrivateSpanExporter(SpanExporter):
    """Hands ``inner`` each span with only what may leave: see :func:`private_span`."""

    def __init__(self, inner: SpanExporter) -> None:
        self.inner = inner

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return self.inner.export([private_span(span) for span in spans])

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self.inner.force_flush(timeout_millis)


def private_span(span: ReadableSpan) -> ReadableSpan:
    """``span`` with attributes on the allowlist only, URLs without query, exceptions by type."""
    return ReadableSpan(
        name=span.name,
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=private_attributes(span.attributes),
        events=tuple(_private_event(event) for event in span.events),
        links=tuple(Link(link.context, private_attributes(link.attributes)) for link in span.links),
        kind=span.kind,
        status=_private_status(span.status),
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


def private_attributes(attributes: Any) -> dict[str, AttributeValue]:
    kept: dict[str, AttributeValue] = {}
    for key, value in dict(attributes or {}).items():
        if key not in RECORDED_ATTRIBUTES:
            continue
        kept[key] = without_query(value) if key in URL_ATTRIBUTES and isinstance(value, str) else value
    return kept


def without_query(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def _private_event(event: Event) -> Event:
    if event.name != "exception":
        # No instrumentation used here adds other events; if one did, its name alone is kept.
        return Event(event.name, {}, event.timestamp)
    attributes = {k: v for k, v in dict(event.attributes or {}).items() if k in EXCEPTION_EVENT_ATTRIBUTES}
    return Event(event.name, attributes, event.timestamp)


def _private_status(status: Status) -> Status:
    """An error's description keeps the exception's type ("ApplicationError: …" → "ApplicationError")."""
    if status.status_code is not StatusCode.ERROR or not status.description:
        return status
    kind = status.description.split(":", 1)[0].strip()
    return Status(StatusCode.ERROR, kind if kind.replace(".", "").replace("_", "").isalnum() else None)


class _TraceContextWorkflowInterceptor(TracingWorkflowInboundInterceptor):
    """The SDK's workflow-side tracing, reading and writing trace context only (no baggage), and
    with each update and signal handled in the trace of the request that sent it.

    The SDK's interceptor puts every span of a workflow in the trace that started it, the handling
    of a later update only linked to the update's call. A session lives for weeks and a practice
    for years (its first booking's trace would collect every later update), so here the update's
    or signal's own header is the parent of its validation and handling spans, and of the
    activities and workflow calls its handler makes; the workflow's start is the link. A message
    sent without trace context is handled as the SDK does. Spans are still made only outside the
    sandbox, at the workflow's time, never on replay (``_completed_span``): no command changes.
    """

    def __init__(self, next: Any) -> None:
        super().__init__(next)
        self.text_map_propagator = TRACE_CONTEXT_ONLY

    def handle_update_validator(self, input: HandleUpdateInput) -> None:
        if not self._message_carrier(input.headers):
            super().handle_update_validator(input)
            return
        with self._message_context(input.headers):
            self._handled_span(f"ValidateUpdate:{input.update}")
            self.next.handle_update_validator(input)

    async def handle_update_handler(self, input: HandleUpdateInput) -> Any:
        if not self._message_carrier(input.headers):
            return await super().handle_update_handler(input)
        with self._message_context(input.headers):
            self._handled_span(f"HandleUpdate:{input.update}")
            return await self.next.handle_update_handler(input)

    async def handle_signal(self, input: HandleSignalInput) -> None:
        if not self._message_carrier(input.headers):
            await super().handle_signal(input)
            return
        with self._message_context(input.headers):
            self._handled_span(f"HandleSignal:{input.signal}")
            await self.next.handle_signal(input)

    def _message_carrier(self, headers: Mapping[str, Payload]) -> dict[str, Any] | None:
        header = headers.get(self.header_key)
        if not header:
            return None
        carrier: dict[str, Any] | None = self.payload_converter.from_payloads([header])[0]
        return carrier or None

    @contextmanager
    def _message_context(self, headers: Mapping[str, Payload]) -> Iterator[None]:
        context = self.text_map_propagator.extract(self._message_carrier(headers) or {})
        with attached_context(self._set_on_context(context)):
            yield

    def _handled_span(self, name: str) -> None:
        self._completed_span(
            name, link_context_carrier=self._load_workflow_context_carrier(), kind=SpanKind.SERVER
        )


class SessionflowTracingInterceptor(TracingInterceptor):
    """The SDK's :class:`TracingInterceptor` (client calls, workflows, activities) with trace context
    only in the ``_tracer-data`` header. Workflow spans are made outside the sandbox, end the instant
    they start (at the workflow's own time) and are not made again on replay: the interceptor adds
    no command (tests/workflows/test_replay.py replays every recorded history with it)."""

    def __init__(self, provider: TracerProvider) -> None:
        super().__init__(provider.get_tracer(TRACER_NAME))
        self.text_map_propagator = TRACE_CONTEXT_ONLY

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[TracingWorkflowInboundInterceptor]:
        super().workflow_interceptor_class(input)  # registers the span-making extern function
        return _TraceContextWorkflowInterceptor


def temporal_interceptors(provider: TracerProvider | None) -> list[SessionflowTracingInterceptor]:
    """The interceptors for ``Client.connect`` (a worker built on the client inherits them)."""
    return [] if provider is None else [SessionflowTracingInterceptor(provider)]


def instrument_api(app: FastAPI, provider: TracerProvider | None) -> None:
    """A server span per request, named by the route template (``POST /v1/sessions/{session_id}/
    attendance``), scrapes and probes left out, no per-message ``send``/``receive`` spans."""
    if provider is None:
        return
    FastAPIInstrumentor.instrument_app(
        app, tracer_provider=provider, excluded_urls=EXCLUDED_URLS, exclude_spans=["receive", "send"]
    )


def instrument_http_client(client: httpx.AsyncClient, provider: TracerProvider | None) -> None:
    """A client span per request of this one client (its transport is wrapped; httpx itself is not
    patched, so no other client in the process is traced)."""
    if provider is None:
        return
    HTTPXClientInstrumentor.instrument_client(client, tracer_provider=provider)
