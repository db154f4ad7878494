"""The committed ``openapi.json`` is the contract the app serves (issue 16): a change to a route or a
model shows in review as a diff of that file, and clients are generated from it (``make client``)."""

from __future__ import annotations

import asyncio
import json
import re

import httpx

from api.app import create_app
from dev.openapi import OPENAPI_FILE, render_openapi

STALE = "openapi.json differs from what the app serves: run `make openapi` and commit it"


async def test_the_committed_openapi_file_is_exactly_what_the_app_serves() -> None:
    committed = OPENAPI_FILE.read_text(encoding="utf-8")
    # Over the app's own route, in process (no lifespan: serving the document needs no Temporal).
    transport = httpx.ASGITransport(app=create_app())
    async with asyncio.timeout(30), httpx.AsyncClient(transport=transport, base_url="http://api") as http:
        served = await http.get("/openapi.json")

    assert served.status_code == 200
    assert json.loads(committed) == served.json(), STALE
    assert committed == render_openapi(), STALE  # and in the stable, review-friendly text


def test_the_contract_is_versioned() -> None:
    info = json.loads(OPENAPI_FILE.read_text(encoding="utf-8"))["info"]

    assert re.fullmatch(r"\d+\.\d+\.\d+", info["version"]), info["version"]
    assert info["title"] == "Sessionflow API"
