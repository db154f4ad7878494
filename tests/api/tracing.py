"""The API and a worker with traces on, as two processes would run them: each with its own tracer
provider from the settings (``file`` exporter, one JSON-lines file per service), its own Temporal
client carrying the tracing interceptor, the Stripe and notification HTTP clients traced. Spans
are read back from the files the exporter wrote, exactly as an operator would."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from opentelemetry.sdk.trace import TracerProvider
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from observability.tracing import (
    SERVICE_API,
    SERVICE_WORKER,
    Service,
    configure_tracing,
    temporal_interceptors,
    traces_file,
)
from settings import Settings
from stripe_client import build_stripe_client
from tests.api.serving import serving
from tests.workflows.support import running_worker


@dataclass(frozen=True)
class Span:
    """One finished span as the file exporter wrote it."""

    service: str
    name: str
    kind: str
    trace_id: str
    span_id: str
    parent_id: str | None
    attributes: dict[str, Any]
    links: tuple[str, ...]
    """The span ids this span links to."""
    events: tuple[dict[str, Any], ...]
    status: dict[str, Any]
    resource: dict[str, Any]

    @classmethod
    def from_json(cls, line: str) -> Span:
        raw = json.loads(line)
        return cls(
            service=raw["resource"]["attributes"]["service.name"],
            name=raw["name"],
            kind=raw["kind"].removeprefix("SpanKind."),
            trace_id=raw["context"]["trace_id"],
            span_id=raw["context"]["span_id"],
            parent_id=raw["parent_id"],
            attributes=raw["attributes"],
            links=tuple(link["context"]["span_id"] for link in raw["links"]),
            events=tuple(raw["events"]),
            status=raw["status"],
            resource=raw["resource"]["attributes"],
        )


@dataclass
class Traced:
    http: httpx.AsyncClient
    settings: Settings
    files: dict[Service, Path] = field(default_factory=dict)

    def text(self) -> str:
        """Everything both processes exported, as written."""
        return "".join(path.read_text(encoding="utf-8") for path in self.files.values() if path.exists())

    def spans(self) -> list[Span]:
        """Every span both processes exported so far (each span is written as it ends)."""
        return [
            Span.from_json(line)
            for path in self.files.values()
            if path.exists()
            for line in path.read_text(encoding="utf-8").splitlines()
        ]


@asynccontextmanager
async def traced_stack(
    env: WorkflowEnvironment, settings: Settings, task_queue: str, headers: dict[str, str]
) -> AsyncIterator[Traced]:
    """The API on real HTTP and a real worker, each traced as its own process would be."""
    settings = settings.model_copy(update={"task_queue": task_queue})
    api_provider = configure_tracing(settings, SERVICE_API)
    worker_provider = configure_tracing(settings, SERVICE_WORKER)
    assert api_provider is not None and worker_provider is not None
    api_client, worker_client = (
        traced_client(env.client, provider) for provider in (api_provider, worker_provider)
    )
    stripe_client = build_stripe_client(settings, worker_provider)
    try:
        async with (
            running_worker(
                worker_client, task_queue, stripe_client, settings, tracer_provider=worker_provider
            ),
            serving(create_app(settings, client=api_client, tracer_provider=api_provider)) as url,
            httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as http,
        ):
            yield Traced(
                http=http,
                settings=settings,
                files={service: traces_file(settings, service) for service in (SERVICE_API, SERVICE_WORKER)},
            )
    finally:
        api_provider.shutdown()
        worker_provider.shutdown()


def traced_client(client: Client, provider: TracerProvider) -> Client:
    """A client on the same connection as ``client``, with the tracing interceptor added."""
    config = client.config()
    config["interceptors"] = [*config["interceptors"], *temporal_interceptors(provider)]
    return Client(**config)


def ancestors(span: Span, by_id: dict[str, Span]) -> Iterator[Span]:
    """The span's parent, its parent's parent, … as far as the exported spans go."""
    parent = by_id.get(span.parent_id or "")
    while parent is not None:
        yield parent
        parent = by_id.get(parent.parent_id or "")
