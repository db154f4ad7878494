"""Bearer-token authentication: tokens are configured as SHA-256 digests, compared in constant
time, and never logged."""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

bearer_scheme = HTTPBearer(auto_error=False, description="Authorization: Bearer <token>")


def token_matches(token: str, digests: tuple[str, ...]) -> bool:
    presented = hashlib.sha256(token.encode()).hexdigest()
    # Every digest is compared, so the time taken does not reveal which one (or none) matched.
    matched = False
    for digest in digests:
        matched |= hmac.compare_digest(presented, digest)
    return matched


def require_token(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)]
) -> None:
    _check(credentials, request.app.state.settings.api_token_sha256)


def require_ops_token(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)]
) -> None:
    """Histories and the codec decrypt session data: with ops tokens configured, only they may.

    Without them (a local stack) the API's tokens are accepted, as everywhere else.
    """
    settings = request.app.state.settings
    _check(credentials, settings.ops_token_sha256 or settings.api_token_sha256)


def _check(credentials: HTTPAuthorizationCredentials | None, digests: tuple[str, ...]) -> None:
    if (
        credentials is None
        or credentials.scheme.lower() != "bearer"
        or not token_matches(credentials.credentials, digests)
    ):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail={"code": "unauthorized", "message": "a valid bearer token is required"},
            headers={"WWW-Authenticate": "Bearer"},
        )


Authenticated = Depends(require_token)
OpsAuthenticated = Depends(require_ops_token)
