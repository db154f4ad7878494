"""The API's request id and latency histogram, and ``GET /metrics``.

A pure ASGI middleware (so the request id is bound in the same context the handler and uvicorn's
access log run in): takes ``X-Request-ID`` from the request when it is a sane opaque token,
otherwise makes one, binds it into structlog's contextvars and returns it on the response. Latency
is labelled with the matched route's template (``/v1/sessions/{session_id}``), never the raw path,
so ids never become label values; unmatched requests are ``route="unmatched"``.
"""

from __future__ import annotations

import re
import time
import uuid

import structlog
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from observability.metrics import API_REQUEST_SECONDS

REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def request_id_from(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name.lower() == b"x-request-id":
            candidate = bytes(value).decode("latin-1")
            if _REQUEST_ID.fullmatch(candidate):
                return candidate
            break
    return uuid.uuid4().hex


class RequestObservabilityMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(scope)
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        try:
            with structlog.contextvars.bound_contextvars(request_id=request_id):
                await self.app(scope, receive, send_with_id)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            method = scope["method"] if scope["method"] in KNOWN_METHODS else "other"
            API_REQUEST_SECONDS.labels(route=template, method=method, status=str(status)).observe(
                time.perf_counter() - started
            )


# Any token is a valid HTTP method: a label per unknown one would let a caller grow the metrics.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


async def metrics_endpoint(_request: Request) -> Response:
    """Prometheus text format. Unauthenticated: serve the API on loopback or firewall the path."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
