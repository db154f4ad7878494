"""Request ids round-trip and every request lands in the latency histogram under its route
template (never the raw path, which would make every session id a label value)."""

from __future__ import annotations

import re
import uuid

import httpx


async def test_the_histogram_is_labelled_with_the_route_template(http: httpx.AsyncClient) -> None:
    session_id = f"ses_{uuid.uuid4().hex[:16]}"
    read = await http.get(f"/v1/sessions/{session_id}")
    assert read.status_code == 404

    metrics = await httpx.AsyncClient(base_url=str(http.base_url)).get("/metrics")  # no token needed

    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain")
    text = metrics.text
    assert "# TYPE sessionflow_api_request_seconds histogram" in text
    # prometheus_client sorts the labels by name.
    assert re.search(
        r'sessionflow_api_request_seconds_count\{method="GET",route="/v1/sessions/\{session_id\}",'
        r'status="404"\} [1-9]',
        text,
    ), text
    assert session_id not in text


async def test_a_request_id_round_trips_and_one_is_made_when_absent(http: httpx.AsyncClient) -> None:
    given = await http.get("/healthz", headers={"X-Request-ID": "req-abc.123"})
    made = await http.get("/healthz")
    unsafe = await http.get("/healthz", headers={"X-Request-ID": "no spaces or\tcontrols"})

    assert given.headers["x-request-id"] == "req-abc.123"
    assert re.fullmatch(r"[0-9a-f]{32}", made.headers["x-request-id"])
    assert re.fullmatch(r"[0-9a-f]{32}", unsafe.headers["x-request-id"])


async def test_an_invented_http_method_does_not_become_a_label(http: httpx.AsyncClient) -> None:
    invented = f"FOO{uuid.uuid4().hex[:6].upper()}"
    await http.request(invented, "/v1/sessions")

    text = (await httpx.AsyncClient(base_url=str(http.base_url)).get("/metrics")).text

    assert invented not in text
    assert re.search(r'sessionflow_api_request_seconds_count\{method="other",', text), text
