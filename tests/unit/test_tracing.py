"""Traces' settings and their privacy gate (observability.tracing), without a server: what a span
may leave with, whatever an instrumentation (or a later version of one) put on it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode
from pydantic import SecretStr, ValidationError

from observability.tracing import (
    SERVICE_WORKER,
    PrivateSpanExporter,
    configure_tracing,
    traces_file,
)
from settings import Settings

EMAIL = "philippa.quirkwood@example.org"


def gated() -> tuple[TracerProvider, InMemorySpanExporter]:
    exported = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(PrivateSpanExporter(exported)))
    return provider, exported


def test_traces_are_off_unless_an_exporter_is_configured() -> None:
    assert Settings().traces_exporter == "none"
    assert configure_tracing(Settings(), SERVICE_WORKER) is None


def test_a_span_leaves_with_allowlisted_attributes_only_and_urls_without_their_query() -> None:
    provider, exported = gated()
    with provider.get_tracer("t").start_as_current_span("POST", kind=SpanKind.CLIENT) as span:
        span.set_attributes(
            {
                "http.method": "POST",
                "http.url": f"http://127.0.0.1:12111/v1/customers/search?query=email:'{EMAIL}'#top",
                "url.full": "https://api.stripe.com/v1/payment_intents?expand[]=latest_charge",
                "url.query": f"email={EMAIL}",
                "http.status_code": 200,
                "http.request.header.authorization": ("Bearer sk_test_secret",),
                "user_agent.original": "Mozilla/5.0 (a person's browser)",
                "client.address": "203.0.113.7",
                "net.peer.ip": "203.0.113.7",
                "temporalWorkflowID": "session-ses_1",
                "app.client_email": EMAIL,
            }
        )

    [finished] = exported.get_finished_spans()
    assert dict(finished.attributes or {}) == {
        "http.method": "POST",
        "http.url": "http://127.0.0.1:12111/v1/customers/search",
        "url.full": "https://api.stripe.com/v1/payment_intents",
        "http.status_code": 200,
        "temporalWorkflowID": "session-ses_1",
    }


def test_an_exception_leaves_as_its_type_only() -> None:
    provider, exported = gated()
    with provider.get_tracer("t").start_as_current_span("RunActivity:charge_session") as span:
        span.record_exception(ValueError(f"no customer {EMAIL}"))
        span.set_status(Status(StatusCode.ERROR, f"ApplicationError: no customer {EMAIL}"))

    [finished] = exported.get_finished_spans()
    [event] = finished.events
    assert event.name == "exception"
    assert dict(event.attributes or {}) == {"exception.type": "ValueError", "exception.escaped": "False"}
    assert finished.status.status_code is StatusCode.ERROR
    assert finished.status.description == "ApplicationError"
    assert EMAIL not in finished.to_json()


def test_the_file_exporter_writes_each_finished_span_as_one_json_line_per_service(tmp_path: Path) -> None:
    settings = Settings(traces_exporter="file", traces_dir=tmp_path)
    provider = configure_tracing(settings, SERVICE_WORKER)
    assert provider is not None
    tracer = provider.get_tracer("t")
    with tracer.start_as_current_span("outer"), tracer.start_as_current_span("inner"):
        pass
    provider.shutdown()

    path = traces_file(settings, SERVICE_WORKER)
    assert path == tmp_path / "sessionflow-worker.jsonl"
    inner, outer = (json.loads(line) for line in path.read_text().splitlines())
    assert (inner["name"], outer["name"]) == ("inner", "outer")
    assert inner["parent_id"] == outer["context"]["span_id"]
    assert outer["resource"]["attributes"]["service.name"] == "sessionflow-worker"


def test_the_file_exporter_writes_under_the_data_directory_by_default(tmp_path: Path) -> None:
    settings = Settings(traces_exporter="file", data_dir=tmp_path)
    assert traces_file(settings, SERVICE_WORKER) == tmp_path / "traces" / "sessionflow-worker.jsonl"


def test_otlp_credentials_go_to_a_collector_beyond_this_machine_over_https_only() -> None:
    remote = "http://otel-collector.observability:4318/v1/traces"
    with pytest.raises(ValidationError, match="https"):
        Settings(traces_otlp_endpoint=remote, traces_otlp_headers=SecretStr("x-api-key=k1"))
    assert Settings(traces_otlp_endpoint=remote).traces_otlp_endpoint == remote  # no credentials
    assert Settings(
        traces_otlp_endpoint="https://collector.example/v1/traces",
        traces_otlp_headers=SecretStr("x-api-key=k1"),
    )


def test_otlp_headers_are_key_value_pairs_and_never_echoed() -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(traces_otlp_headers=SecretStr("x-api-key"))
    assert "x-api-key" not in str(refused.value)
    provider = configure_tracing(
        Settings(traces_exporter="otlp", traces_otlp_headers=SecretStr("x-api-key=k1, x-team = t")),
        SERVICE_WORKER,
    )
    assert provider is not None
    provider.shutdown()
