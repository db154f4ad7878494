"""Typed dependencies shared by the routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Path, Request
from temporalio.client import Client

from domain.ids import OPAQUE_ID_PATTERN
from settings import Settings


def _client(request: Request) -> Client:
    client: Client = request.app.state.client
    return client


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


TemporalClient = Annotated[Client, Depends(_client)]
AppSettings = Annotated[Settings, Depends(_settings)]
SessionId = Annotated[str, Path(pattern=OPAQUE_ID_PATTERN, description="opaque session id")]
TherapistId = Annotated[str, Path(pattern=OPAQUE_ID_PATTERN, description="opaque therapist id")]
ClientId = Annotated[str, Path(pattern=OPAQUE_ID_PATTERN, description="opaque client id")]
IdempotencyKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        pattern=r"^[A-Za-z0-9_.:-]{1,128}$",
        description=(
            "the caller's id for this request (a fresh one per request): the same request sent "
            "again with the same key returns the first outcome and changes nothing. The key is "
            "bound to the operation, the target and the body; reused for anything else it names "
            "another request."
        ),
    ),
]
