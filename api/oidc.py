"""The Temporal UI's user, authenticated by the OIDC access token the UI passes to the codec.

With ``TEMPORAL_CODEC_PASS_ACCESS_TOKEN=true`` the UI sends ``Authorization: Bearer <access
token>`` (and its ID token in ``Authorization-Extras``, which we ignore: its audience is the UI,
not us — which is why the configured audience must be the codec's own, never the UI's client id)
with every codec call, over https only. The token is a JWT signed by the identity
provider; we check the signature against the issuer's published keys (JWKS), then ``iss``, ``aud``,
``exp``/``nbf``/``iat`` and, if configured, a claim such as a group. The Origin header proves
nothing (any HTTP client sets any Origin), so it plays no part here.

A rejected token is a 401 (403 for a valid token without the required claim), with
``WWW-Authenticate`` as RFC 6750 says and one machine code; an identity provider we cannot reach is a
503 ``auth_unavailable`` — the user did nothing wrong and should retry, not sign in again. Neither
the token nor its claims are ever logged: only the code, and a digest of ``sub`` at most.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import jwt
from fastapi import HTTPException, status

from settings import Settings, is_loopback, parse_required_claim

log = logging.getLogger("sessionflow.codec.oidc")

REALM = "sessionflow-codec"
RETRY_AFTER_SECONDS = "5"
DISCOVERY_PATH = "/.well-known/openid-configuration"
REQUIRED_CLAIMS = ("exp", "iss", "aud", "sub")
"""RFC 9068 (JWT access tokens) requires these; ``iat`` and ``nbf`` are checked when present."""
ACCESS_TOKEN_TYPES = frozenset({"at+jwt", "jwt"})
"""The header ``typ`` values of a token taken as an access token (absent is accepted too)."""
MAX_DOCUMENT_BYTES = 256 * 1024
"""A discovery document or JWKS larger than this is not one (and is not read into memory)."""

_KEY_TYPES = {
    **dict.fromkeys(("RS256", "RS384", "RS512", "PS256", "PS384", "PS512"), ("RSA", None)),
    "ES256": ("EC", "P-256"),
    "ES384": ("EC", "P-384"),
    "ES512": ("EC", "P-521"),
    "EdDSA": ("OKP", "Ed25519"),
}
"""The key type (and curve) each accepted algorithm needs: a token cannot pick a key of another kind."""


class TokenRejected(Exception):
    """The caller's fault: answered 401 (or 403) with a code, never logged with the token."""

    def __init__(self, code: str, message: str, *, status_code: int = 401) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status_code = status_code


class IdentityProviderUnavailable(Exception):
    """The issuer's keys cannot be fetched: nobody's token can be checked for the moment."""


@dataclass(frozen=True)
class Principal:
    """Who called, as much as we keep: a digest of ``sub``, for logs that never name anyone."""

    subject_digest: str


def subject_digest(sub: object) -> str:
    return hashlib.sha256(str(sub).encode()).hexdigest()[:16]


class JwksCache:
    """The issuer's public keys by ``kid``, fetched over HTTP and kept for ``cache_seconds``.

    A ``kid`` we do not hold refetches the set (the issuer rotated its keys) — at most once every
    ``min_refresh_seconds``, so forged key ids cannot make us hammer the IdP; a failed fetch is not
    retried more often either. Fetches are single-flight: a burst of calls after expiry makes one
    request. If a refresh fails while we still hold keys, those keep serving for one more lifetime
    (an IdP blip does not lock everyone out); with no usable keys, the outage is
    :class:`IdentityProviderUnavailable`.
    """

    def __init__(self, settings: Settings, clock: Callable[[], float] = time.monotonic) -> None:
        self._issuer = settings.codec_oidc_issuer
        self._jwks_url = settings.codec_oidc_jwks_url
        self._timeout = settings.codec_oidc_http_timeout_seconds
        self._lifetime = settings.codec_oidc_jwks_cache_seconds
        self._min_refresh = settings.codec_oidc_jwks_min_refresh_seconds
        self._clock = clock
        self._keys: dict[str, dict[str, Any]] = {}
        self._fetched_at: float | None = None  # last successful fetch
        self._attempted_at: float | None = None  # last attempt, successful or not
        self._rotation_checked_at: float | None = None  # last refresh for an unknown kid
        self._generation = 0  # attempts so far: callers queued behind one reuse its result
        self._lock = asyncio.Lock()  # its holder is bounded by the fetch timeout, so are its waiters

    async def key(self, kid: str | None) -> dict[str, Any]:
        """The JWK for ``kid`` (the only key, when the token names none)."""
        if self._fetched_at is None or self._clock() - self._fetched_at >= self._lifetime:
            await self._refresh(backoff=True)
            self._check_usable()
        found = self._find(kid)
        now = self._clock()
        if found is None and (
            self._rotation_checked_at is None or now - self._rotation_checked_at >= self._min_refresh
        ):
            # A kid we do not know: the issuer may have rotated its keys. Checked at most once per
            # interval, whatever the number of made-up kids.
            self._rotation_checked_at = now
            await self._refresh(backoff=False)
            self._check_usable()
            found = self._find(kid)
        if found is None:
            raise TokenRejected(
                "token_key_unknown", "the token's signing key is not one of the issuer's keys"
            )
        return found

    def _find(self, kid: str | None) -> dict[str, Any] | None:
        if kid is None:
            return next(iter(self._keys.values())) if len(self._keys) == 1 else None
        return self._keys.get(kid)

    def _check_usable(self) -> None:
        # Keys up to one lifetime past their refresh still serve while the issuer cannot be reached.
        if self._fetched_at is None or self._clock() - self._fetched_at >= 2 * self._lifetime:
            raise IdentityProviderUnavailable

    async def _refresh(self, *, backoff: bool) -> None:
        generation = self._generation
        async with self._lock:
            if self._generation != generation:
                return  # refreshed (or tried) while this caller waited
            if (
                backoff
                and self._attempted_at is not None
                and self._clock() - self._attempted_at < self._min_refresh
            ):
                return  # tried a moment ago (and failed, or the keys would be fresh): do not hammer
            self._generation += 1
            self._attempted_at = self._clock()
            try:
                async with asyncio.timeout(2 * self._timeout):  # discovery, then the keys
                    keys = await self._fetch()
            except (IdentityProviderUnavailable, TimeoutError):
                log.warning("oidc keys unavailable")
                return
            self._keys, self._fetched_at = keys, self._attempted_at

    async def _fetch(self) -> dict[str, dict[str, Any]]:
        try:
            async with httpx.AsyncClient(timeout=self._timeout, follow_redirects=False) as http:
                url = self._jwks_url or await self._discover(http)
                document = await _get_json(http, url)
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("oidc keys fetch failed", extra={"error": type(exc).__name__})
            raise IdentityProviderUnavailable from None
        keys = document.get("keys")
        usable = {
            str(jwk.get("kid", "")): jwk
            for jwk in (keys if isinstance(keys, list) else [])
            if isinstance(jwk, dict)
            and jwk.get("use", "sig") == "sig"
            and jwk.get("kty") in {"RSA", "EC", "OKP"}  # never "oct": a shared secret is no public key
        }
        if not usable:
            log.warning("oidc keys fetch failed", extra={"error": "no_signing_keys"})
            raise IdentityProviderUnavailable
        return usable

    async def _discover(self, http: httpx.AsyncClient) -> str:
        document = await _get_json(http, self._issuer.rstrip("/") + DISCOVERY_PATH)
        # OpenID Connect Discovery 1.0 §4.3: the document must name the issuer we asked.
        if document.get("issuer") != self._issuer:
            raise ValueError("discovery document for another issuer")
        jwks_uri = document.get("jwks_uri")
        parts = urlsplit(jwks_uri if isinstance(jwks_uri, str) else "")
        # The rule for the configured URLs: keys only over https, unless on this machine.
        if not (parts.scheme == "https" or (parts.scheme == "http" and is_loopback(parts.hostname or ""))):
            raise ValueError("discovery document without an https jwks_uri")
        return str(jwks_uri)


async def _get_json(http: httpx.AsyncClient, url: str) -> dict[str, Any]:
    """A JSON object from the issuer, read at most ``MAX_DOCUMENT_BYTES`` into memory: the body is
    streamed and given up as soon as it is longer (a huge or endless answer costs nothing)."""
    async with http.stream("GET", url, headers={"Accept": "application/json"}) as response:
        if response.status_code != 200:
            raise ValueError(f"status {response.status_code}")
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > MAX_DOCUMENT_BYTES:
                raise ValueError("document too large")
    document = json.loads(body)
    if not isinstance(document, dict):
        raise ValueError("not a JSON object")
    return document


class AccessTokenVerifier:
    """Checks a UI user's access token; one per process (it holds the key cache)."""

    def __init__(self, settings: Settings, clock: Callable[[], float] = time.monotonic) -> None:
        self._settings = settings
        self._algorithms = frozenset(settings.codec_oidc_algorithms)
        self._required = (
            parse_required_claim(settings.codec_oidc_required_claim)
            if settings.codec_oidc_required_claim
            else None
        )
        self.keys = JwksCache(settings, clock)

    async def verify(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise TokenRejected("token_malformed", "the bearer token is not a JWT") from None
        alg = header.get("alg")
        # Any JSON value can stand there: a list or object would not even hash (a 500, not a 401).
        if not isinstance(alg, str) or alg not in self._algorithms:
            raise TokenRejected("token_algorithm_refused", "the token's signature algorithm is not accepted")
        if "typ" in header and not _access_token_type(header["typ"]):
            raise TokenRejected("token_type_refused", "the token is not a JWT access token")
        kid = header.get("kid")
        jwk = await self.keys.key(kid if isinstance(kid, str) else None)
        key = _key_for(jwk, alg)
        settings = self._settings
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key,
                algorithms=[alg],
                audience=settings.codec_oidc_audience,
                issuer=settings.codec_oidc_issuer,
                leeway=settings.codec_oidc_leeway_seconds,
                options={"require": list(REQUIRED_CLAIMS)},
            )
        except jwt.ExpiredSignatureError:
            raise TokenRejected("token_expired", "the access token has expired; sign in again") from None
        except jwt.ImmatureSignatureError:
            raise TokenRejected("token_not_yet_valid", "the access token is not valid yet") from None
        except jwt.InvalidAudienceError:
            raise TokenRejected("token_audience_mismatch", "the access token is not for this codec") from None
        except jwt.InvalidIssuerError:
            raise TokenRejected("token_issuer_mismatch", "the access token is from another issuer") from None
        except jwt.InvalidSignatureError:
            raise TokenRejected(
                "token_signature_invalid", "the access token's signature is invalid"
            ) from None
        except jwt.MissingRequiredClaimError:
            raise TokenRejected("token_malformed", "the access token lacks a required claim") from None
        except jwt.PyJWTError:
            raise TokenRejected("token_malformed", "the access token could not be verified") from None
        principal = Principal(subject_digest(claims["sub"]))
        if self._required is not None:
            name, accepted = self._required
            if not accepted & _claim_values(claims, name):
                log.info(
                    "codec access refused",
                    extra={"code": "token_claim_missing", "subject": principal.subject_digest},
                )
                raise TokenRejected(
                    "token_claim_missing",
                    f"the access token does not carry the {name} the codec requires",
                    status_code=status.HTTP_403_FORBIDDEN,
                )
        return principal


def _access_token_type(typ: object) -> bool:
    """RFC 9068 §2.1: a JWT access token is typed ``at+jwt``; many issuers still send ``JWT``.
    Media types compare case-insensitively and may carry the ``application/`` prefix (RFC 7515
    §4.1.9). Any other type (``dpop+jwt``, ``logout+jwt``, ...) is another kind of token."""
    if not isinstance(typ, str):
        return False
    kind = typ.lower().removeprefix("application/")
    return kind in ACCESS_TOKEN_TYPES


def _key_for(jwk: Mapping[str, Any], alg: str) -> jwt.PyJWK:
    """The JWK bound to the token's algorithm, if the key may be used with it."""
    kty, crv = _KEY_TYPES[alg]
    if jwk.get("kty") != kty or (crv is not None and jwk.get("crv") != crv):
        raise TokenRejected("token_algorithm_refused", "the token's algorithm does not fit its key")
    if "alg" in jwk and jwk["alg"] != alg:
        raise TokenRejected("token_algorithm_refused", "the token's algorithm is not its key's")
    try:
        return jwt.PyJWK(dict(jwk), algorithm=alg)
    except jwt.PyJWTError:
        raise TokenRejected("token_key_unknown", "the issuer's key could not be read") from None


def _claim_values(claims: Mapping[str, Any], name: str) -> frozenset[str]:
    """The string values of a claim: a string, a list of strings, or a space-separated ``scope``.

    A name with dots is first looked up as it is (Auth0's namespaced claims are URLs), then as a
    path into nested objects (Keycloak's ``realm_access.roles``)."""
    value: Any = claims.get(name)
    if value is None and "." in name:
        value = claims
        for part in name.split("."):
            value = value.get(part) if isinstance(value, Mapping) else None
    if isinstance(value, str):
        return frozenset(value.split()) if name in {"scope", "scp"} else frozenset({value})
    if isinstance(value, list):
        return frozenset(item for item in value if isinstance(item, str))
    return frozenset()


def rejection(exc: TokenRejected) -> HTTPException:
    """RFC 6750 §3: the error in ``WWW-Authenticate`` (``invalid_token`` / ``insufficient_scope``)."""
    challenge = f'Bearer realm="{REALM}"'
    if exc.code != "token_missing":  # no credentials: the bare challenge (RFC 6750 §3.1)
        error = "insufficient_scope" if exc.status_code == status.HTTP_403_FORBIDDEN else "invalid_token"
        challenge += f', error="{error}", error_description="{exc.message.replace(chr(34), chr(39))}"'
    return HTTPException(
        exc.status_code,
        detail={"code": exc.code, "message": exc.message},
        headers={"WWW-Authenticate": challenge},
    )


def unavailable() -> HTTPException:
    return HTTPException(
        status.HTTP_503_SERVICE_UNAVAILABLE,
        detail={
            "code": "auth_unavailable",
            "message": "the identity provider cannot be reached to check access tokens; retry shortly",
        },
        headers={"Retry-After": RETRY_AFTER_SECONDS},
    )
