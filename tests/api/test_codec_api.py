"""The remote codec endpoint over real HTTP, as the Temporal UI and CLI call it."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import httpx
from temporalio.api.common.v1 import Payload
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from api.app import create_app
from settings import Settings
from temporal_client.converter import DATA_CONVERTER
from tests.api.conftest import ADMIN
from tests.api.serving import serving
from tests.workflows.support import WAIT, unique


def wire(payloads: list[Payload]) -> dict[str, Any]:
    """Temporal's codec server JSON: metadata values and data are base64."""
    return {
        "payloads": [
            {
                "metadata": {key: base64.b64encode(value).decode() for key, value in p.metadata.items()},
                "data": base64.b64encode(p.data).decode(),
            }
            for p in payloads
        ]
    }


def unwire(body: dict[str, Any]) -> list[Payload]:
    return [
        Payload(
            metadata={key: base64.b64decode(value) for key, value in p["metadata"].items()},
            data=base64.b64decode(p.get("data", "")),
        )
        for p in body["payloads"]
    ]


async def test_decode_reads_what_the_worker_encrypted(http: httpx.AsyncClient) -> None:
    session_id = unique("ses")
    encrypted = await DATA_CONVERTER.encode([{"session_id": session_id}])
    assert session_id.encode() not in encrypted[0].data

    response = await http.post("/codec/decode", json=wire(encrypted), headers={"X-Namespace": "default"})

    assert response.status_code == 200, response.text
    [plain] = unwire(response.json())
    assert plain.metadata["encoding"] == b"json/plain"
    assert json.loads(plain.data) == {"session_id": session_id}


async def test_encode_then_decode_round_trips_and_plain_payloads_pass_through(
    http: httpx.AsyncClient,
) -> None:
    plain = DATA_CONVERTER.payload_converter.to_payloads([unique("cli"), 6000])

    encoded = await http.post("/codec/encode", json=wire(plain))
    assert encoded.status_code == 200, encoded.text
    sealed = unwire(encoded.json())
    assert [p.metadata["encoding"] for p in sealed] == [b"binary/encrypted"] * 2
    decoded = await http.post("/codec/decode", json=wire([*sealed, plain[0]]))

    assert decoded.status_code == 200, decoded.text
    assert unwire(decoded.json()) == [*plain, plain[0]]
    assert await DATA_CONVERTER.decode(sealed) == DATA_CONVERTER.payload_converter.from_payloads(plain)


async def test_the_codec_refuses_without_a_valid_token(api_url: str) -> None:
    body = wire(await DATA_CONVERTER.encode([unique("ses")]))
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as anonymous:
        missing = await anonymous.post("/codec/decode", json=body)
        wrong = await anonymous.post("/codec/decode", json=body, headers={"Authorization": "Bearer nope"})
        encode = await anonymous.post("/codec/encode", json=body)

    for response in (missing, wrong, encode):
        assert response.status_code == 401
        assert response.json()["code"] == "unauthorized"
        assert "payloads" not in response.json()


async def test_tampered_or_malformed_payloads_are_a_4xx_with_a_code(http: httpx.AsyncClient) -> None:
    [sealed] = await DATA_CONVERTER.encode([unique("ses")])
    tampered = Payload(metadata=dict(sealed.metadata), data=sealed.data[:-1] + bytes([sealed.data[-1] ^ 1]))

    altered = await http.post("/codec/decode", json=wire([tampered]))
    not_base64 = await http.post("/codec/decode", json={"payloads": [{"metadata": {}, "data": "%%%"}]})
    not_payloads = await http.post("/codec/decode", json={"payloads": "nope"})

    assert (altered.status_code, altered.json()["code"]) == (422, "payload_not_decryptable")
    assert (not_base64.status_code, not_base64.json()["code"]) == (422, "validation_error")
    assert (not_payloads.status_code, not_payloads.json()["code"]) == (422, "validation_error")


async def test_cors_lets_the_local_temporal_ui_call_the_codec_and_nothing_else(api_url: str) -> None:
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type,x-namespace",
    }
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as browser:

        async def ask(path: str, origin: str) -> httpx.Response:
            return await browser.options(path, headers={"Origin": origin, **preflight})

        ui = await ask("/codec/decode", "http://localhost:8233")
        ui_ip = await ask("/codec/decode", "http://127.0.0.1:8233")
        other = await ask("/codec/decode", "http://evil.example")
        sessions = await ask("/v1/sessions", "http://localhost:8233")

    assert ui.status_code == 200
    assert ui.headers["access-control-allow-origin"] == "http://localhost:8233"
    assert "authorization" in ui.headers["access-control-allow-headers"].lower()
    assert ui_ip.headers["access-control-allow-origin"] == "http://127.0.0.1:8233"
    assert "access-control-allow-origin" not in other.headers
    assert "access-control-allow-origin" not in sessions.headers


async def test_the_local_ui_decodes_without_a_token_only_in_local_only_mode(api_url: str) -> None:
    assert set(Settings().codec_key_ring) == {"local-only"}
    async with httpx.AsyncClient(base_url=api_url) as anonymous:
        from_ui = await anonymous.post(
            "/codec/decode", json={"payloads": []}, headers={"Origin": "http://localhost:8233"}
        )
        from_elsewhere = await anonymous.post(
            "/codec/decode", json={"payloads": []}, headers={"Origin": "http://example.invalid"}
        )

    assert from_ui.status_code == 200
    assert from_elsewhere.status_code == 401


async def test_with_ops_tokens_only_they_read_histories_and_decode(
    env: WorkflowEnvironment, worker: Worker, settings: Settings
) -> None:
    ops_token, backend_token = "ops-token-for-this-test", "backend-token-for-this-test"
    split = settings.model_copy(
        update={
            "task_queue": worker.task_queue,
            "api_token_sha256": (hashlib.sha256(backend_token.encode()).hexdigest(),),
            "ops_token_sha256": (hashlib.sha256(ops_token.encode()).hexdigest(),),
        }
    )
    app = create_app(split, client=env.client)
    history = f"/v1/sessions/{unique('ses')}/history"
    body: dict[str, list[Any]] = {"payloads": []}

    async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=WAIT) as http:
        as_backend = {"Authorization": f"Bearer {backend_token}", **ADMIN}
        as_ops = {"Authorization": f"Bearer {ops_token}", **ADMIN}
        backend_history = await http.get(history, headers=as_backend)
        backend_decode = await http.post("/codec/decode", json=body, headers=as_backend)
        ops_history = await http.get(history, headers=as_ops)
        ops_decode = await http.post("/codec/decode", json=body, headers=as_ops)
        ops_books = await http.get("/v1/sessions/ses_x", headers=as_ops)

    assert backend_history.status_code == 401 and backend_decode.status_code == 401
    assert ops_history.status_code == 404 and ops_decode.status_code == 200  # allowed in
    assert ops_books.status_code == 401  # an ops token is not a backend token
