"""The remote codec endpoint for the Temporal UI and CLI: ``POST /codec/encode`` and
``POST /codec/decode`` in Temporal's codec server protocol, with the same keys as the worker.

The body is ``{"payloads": [{"metadata": {key: base64}, "data": base64}]}`` and so is the answer.
Both routes need the API's bearer token (the CLI: ``--codec-endpoint http://HOST:PORT/codec
--codec-auth "Bearer <token>"``). The Temporal UI calls them from the browser, so these routes, and
only these, answer CORS for its origins. With ``codec_oidc_issuer`` set (a shared UI with SSO), the
UI's user is authenticated by the OIDC access token the UI passes (api/oidc.py) and the Origin
header is never trusted: CORS then only lets the browser make the call, it admits no one.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request, status
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel, Field
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send
from temporalio.api.common.v1 import Payload

from api import oidc
from api.auth import bearer_scheme, require_ops_token, token_matches
from api.errors import ErrorBody, error_response
from api.wire_types import Base64
from settings import LOCAL_API_TOKEN_SHA256, LOCAL_CODEC_KEY_ID
from temporal_client.codec import (
    EncryptionCodec,
    PayloadDecryptionError,
    PayloadErasedError,
    build_codec,
    erased_placeholder,
)

PREFIX = "/codec"
UI_ORIGINS = ("http://127.0.0.1:8233", "http://localhost:8233")
"""The local Temporal UI (the dev server's default UI port); ``SESSIONFLOW_CODEC_UI_ORIGINS`` overrides."""


class CodecPayload(BaseModel):
    metadata: dict[str, Base64] = Field(default_factory=dict, description="values are base64")
    data: Base64 = Field(default="", description="base64")


class CodecPayloads(BaseModel):
    payloads: list[CodecPayload] = Field(default_factory=list)


def _local_ui_request(request: Request) -> bool:
    """The Temporal UI calling, either with the repo's public local-only key and token in force, or
    with ``codec_trust_ui_origins`` set for a codec server only the operator can reach.

    The UI cannot send our bearer token. In local-only mode the key that would be protected is
    published in this repository anyway, so requiring the token there protects nothing; with any
    real key or token configured, every call needs the token unless the operator opted in.
    """
    settings = request.app.state.settings
    if request.headers.get("origin") not in settings.codec_ui_origins:
        return False
    local_only = (
        set(settings.codec_key_ring) == {LOCAL_CODEC_KEY_ID}
        and LOCAL_API_TOKEN_SHA256 in settings.api_token_sha256
    )
    return local_only or bool(settings.codec_trust_ui_origins)


async def _codec_access(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)]
) -> None:
    settings = request.app.state.settings
    if settings.codec_oidc_enabled:
        await _oidc_access(request, credentials)
    elif not _local_ui_request(request):
        require_ops_token(request, credentials)


async def _oidc_access(request: Request, credentials: HTTPAuthorizationCredentials | None) -> None:
    """An ops token (the CLI), or the UI user's access token for this namespace; never the Origin."""
    settings = request.app.state.settings
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise oidc.rejection(oidc.TokenRejected("token_missing", "an access token or ops token is required"))
    if token_matches(credentials.credentials, settings.ops_token_sha256 or settings.api_token_sha256):
        return
    try:
        await _verifier(request).verify(credentials.credentials)
    except oidc.TokenRejected as exc:
        raise oidc.rejection(exc) from None
    except oidc.IdentityProviderUnavailable:
        raise oidc.unavailable() from None
    # The UI names the namespace it shows (X-Namespace); this codec holds that namespace's keys only.
    if request.headers.get("x-namespace") != settings.temporal_namespace:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            detail={"code": "namespace_not_allowed", "message": "this codec serves another namespace"},
        )


def _verifier(request: Request) -> oidc.AccessTokenVerifier:
    # One per app: it holds the issuer's keys between requests.
    state = request.app.state
    verifier: oidc.AccessTokenVerifier | None = getattr(state, "oidc_verifier", None)
    if verifier is None:
        verifier = oidc.AccessTokenVerifier(state.settings)
        state.oidc_verifier = verifier
    return verifier


router = APIRouter(
    prefix=PREFIX,
    tags=["codec"],
    dependencies=[Depends(_codec_access)],
    responses={
        401: {"model": ErrorBody, "description": "missing or wrong bearer token, or a rejected access token"},
        403: {
            "model": ErrorBody,
            "description": "an access token without the required claim, or another namespace",
        },
        422: {"model": ErrorBody, "description": "malformed payloads, or a payload that cannot be decrypted"},
        503: {"model": ErrorBody, "description": "the identity provider cannot be reached (OIDC)"},
    },
)


def _codec(request: Request) -> EncryptionCodec:
    state = request.app.state
    codec: EncryptionCodec | None = getattr(state, "codec", None)
    if codec is None:
        codec = build_codec(state.settings)
        state.codec = codec
    return codec


Codec = Annotated[EncryptionCodec, Depends(_codec)]


def _b64(value: str, where: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"{where} is not valid base64") from None


def _to_protos(body: CodecPayloads) -> list[Payload]:
    return [
        Payload(
            metadata={key: _b64(value, f"payloads[{i}].metadata.{key}") for key, value in p.metadata.items()},
            data=_b64(p.data, f"payloads[{i}].data"),
        )
        for i, p in enumerate(body.payloads)
    ]


def _to_body(payloads: Sequence[Payload]) -> CodecPayloads:
    return CodecPayloads(
        payloads=[
            CodecPayload(
                metadata={key: base64.b64encode(value).decode() for key, value in p.metadata.items()},
                data=base64.b64encode(p.data).decode(),
            )
            for p in payloads
        ]
    )


async def _apply(
    body: CodecPayloads, transform: Callable[[Sequence[Payload]], Awaitable[list[Payload]]]
) -> CodecPayloads | JSONResponse:
    try:
        payloads = _to_protos(body)
    except ValueError as exc:
        return error_response(422, "validation_error", str(exc))
    try:
        return _to_body(await transform(payloads))
    except PayloadDecryptionError as exc:
        return error_response(422, "payload_not_decryptable", str(exc))


@router.post("/encode", operation_id="encodePayloads", response_model=CodecPayloads)
async def encode(body: CodecPayloads, codec: Codec) -> CodecPayloads | JSONResponse:
    """Encrypt payloads with the current key."""
    return await _apply(body, codec.encode)


@router.post("/decode", operation_id="decodePayloads", response_model=CodecPayloads)
async def decode(body: CodecPayloads, codec: Codec) -> CodecPayloads | JSONResponse:
    """Decrypt payloads with the key each names; payloads that are not encrypted come back as they are.
    A payload whose client was erased comes back as ``{"erased": true, "data_key_id": …}``
    (metadata ``sessionflow-erased: true``), so the UI shows "erased" instead of an error."""

    def each_now(payloads: Sequence[Payload]) -> list[Payload]:
        decoded: list[Payload] = []
        for payload in payloads:
            try:
                decoded.append(codec.decrypt(payload))
            except PayloadErasedError as erased:
                decoded.append(erased_placeholder(erased))
        return decoded

    async def each(payloads: Sequence[Payload]) -> list[Payload]:
        # Data keys are read from the KMS directory (a network volume in production): in a
        # thread, so one slow read never holds the endpoint's other requests.
        return await asyncio.to_thread(each_now, payloads)

    return await _apply(body, each)


class _CodecCORS:
    """CORS for the local Temporal UI on the codec routes only; every other route stays same-origin."""

    def __init__(self, app: ASGIApp, origins: Sequence[str] = UI_ORIGINS) -> None:
        self._app = app
        self._cors = CORSMiddleware(
            app,
            allow_origins=list(origins),
            allow_methods=["POST"],
            # What the UI sends: with TEMPORAL_CODEC_PASS_ACCESS_TOKEN, its ID token rides along in
            # Authorization-Extras, and a preflight refusing it would fail every call.
            allow_headers=["Authorization", "Authorization-Extras", "Content-Type", "X-Namespace"],
            allow_credentials=True,
            max_age=600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] == "http" and (path == PREFIX or path.startswith(f"{PREFIX}/")):
            await self._cors(scope, receive, send)
        else:
            await self._app(scope, receive, send)


def install(app: FastAPI, origins: Sequence[str] = UI_ORIGINS) -> None:
    """Add the codec routes and their CORS (for the Temporal UI at ``origins``) to the app."""
    app.include_router(router)
    app.add_middleware(_CodecCORS, origins=tuple(origins))
