"""The codec behind a shared Temporal UI: the UI's user is authenticated by the OIDC access token
the UI passes (TEMPORAL_CODEC_PASS_ACCESS_TOKEN), never by the Origin header.

Everything over real loopback HTTP: an identity provider stand-in serving OIDC discovery and its
JWKS (keys generated here with ``cryptography``), the codec app served by uvicorn, tokens signed as
the IdP would sign them — and forged as an attacker would."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import socket
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from pydantic import ValidationError

from api.codec_app import create_codec_app
from api.oidc import AccessTokenVerifier, IdentityProviderUnavailable, TokenRejected
from settings import Settings
from temporal_client.converter import DATA_CONVERTER
from tests.api.serving import serving
from tests.api.test_codec_api import unwire, wire
from tests.workflows.support import WAIT, unique

AUDIENCE = "api://sessionflow-codec"
NAMESPACE = "default"  # Settings().temporal_namespace: the namespace whose keys the codec holds
OPS_TOKEN = "ops-token-for-the-cli"
UI = "https://temporal-ui.example.com"

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


@cache
def rsa_key(name: str) -> rsa.RSAPrivateKey:
    del name  # one key per name, generated once per test run
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@cache
def ec_key(name: str) -> ec.EllipticCurvePrivateKey:
    del name
    return ec.generate_private_key(ec.SECP256R1())


def public_jwk(kid: str, key: PrivateKey) -> dict[str, Any]:
    if isinstance(key, rsa.RSAPrivateKey):
        jwk: dict[str, Any] = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    else:
        jwk = ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
    return {**jwk, "kid": kid, "use": "sig"}


@dataclass
class IdentityProvider:
    """An OIDC issuer as the codec sees one: a discovery document and a JWKS over HTTP."""

    url: str = ""
    keys: list[dict[str, Any]] = field(default_factory=list)
    jwks_fetches: int = 0
    down: bool = False
    """The JWKS endpoint answers 503 (the IdP in an outage)."""
    endless_bytes: int = 0
    """How much of its endless "JWKS" (``/endless``) the IdP has sent."""

    def publish(self, kid: str, key: PrivateKey) -> None:
        self.keys.append(public_jwk(kid, key))

    def claims(self, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims = {
            "iss": self.url,
            "aud": AUDIENCE,
            "sub": "00u1operator",
            "iat": now,
            "nbf": now,
            "exp": now + 300,
            "groups": ["everyone", "sessionflow-ops"],
            "email": "operator@example.com",  # personal data the codec must never log
        }
        claims.update(overrides)
        return {name: value for name, value in claims.items() if value is not None}

    def token(self, kid: str = "k1", key: PrivateKey | None = None, alg: str = "RS256", **claims: Any) -> str:
        signer = key if key is not None else rsa_key(kid)
        return jwt.encode(self.claims(**claims), signer, algorithm=alg, headers={"kid": kid})


def issuer_app(idp: IdentityProvider) -> FastAPI:
    app = FastAPI()

    @app.get("/.well-known/openid-configuration")
    async def discovery(request: Request) -> dict[str, str]:
        base = str(request.base_url).rstrip("/")
        return {"issuer": base, "jwks_uri": f"{base}/keys"}

    @app.get("/keys", response_model=None)
    async def keys() -> dict[str, list[dict[str, Any]]] | JSONResponse:
        idp.jwks_fetches += 1
        if idp.down:
            return JSONResponse({"error": "temporarily_unavailable"}, status_code=503)
        return {"keys": idp.keys}

    @app.get("/endless")
    async def endless() -> StreamingResponse:
        # A hostile or broken issuer: a JSON document that never ends.
        async def body() -> AsyncIterator[bytes]:
            yield b'{"keys": ["'
            chunk = b"x" * 65536
            while True:
                idp.endless_bytes += len(chunk)
                yield chunk
                await asyncio.sleep(0)

        return StreamingResponse(body(), media_type="application/json")

    return app


@asynccontextmanager
async def identity_provider() -> AsyncIterator[IdentityProvider]:
    idp = IdentityProvider()
    idp.publish("k1", rsa_key("k1"))
    async with serving(issuer_app(idp)) as url:
        idp.url = url
        yield idp


def oidc_settings(issuer: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "codec_oidc_issuer": issuer,
        "codec_oidc_audience": AUDIENCE,
        "codec_oidc_required_claim": "groups=sessionflow-ops",
        "codec_ui_origins": (UI,),
        "ops_token_sha256": (hashlib.sha256(OPS_TOKEN.encode()).hexdigest(),),
        **overrides,
    }
    return Settings(**values)


@asynccontextmanager
async def codec_for(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with (
        serving(create_codec_app(settings)) as url,
        httpx.AsyncClient(base_url=url, timeout=WAIT) as http,
    ):
        yield http


@pytest.fixture
async def idp() -> AsyncIterator[IdentityProvider]:
    async with identity_provider() as provider:
        yield provider


@pytest.fixture
async def codec(idp: IdentityProvider) -> AsyncIterator[httpx.AsyncClient]:
    async with codec_for(oidc_settings(idp.url)) as http:
        yield http


def as_the_ui(token: str, namespace: str = NAMESPACE) -> dict[str, str]:
    """The headers the Temporal UI sends with TEMPORAL_CODEC_PASS_ACCESS_TOKEN (src/lib/services/
    data-encoder.ts): the access token, the ID token in Authorization-Extras, the namespace."""
    return {
        "Authorization": f"Bearer {token}",
        "Authorization-Extras": "the-ui-id-token",
        "X-Namespace": namespace,
        "Origin": UI,
    }


async def sealed_body() -> tuple[str, dict[str, Any]]:
    session_id = unique("ses")
    return session_id, wire(await DATA_CONVERTER.encode([{"session_id": session_id}]))


async def test_a_ui_users_valid_access_token_decodes_payloads(
    idp: IdentityProvider, codec: httpx.AsyncClient
) -> None:
    session_id, body = await sealed_body()

    response = await codec.post(
        "/codec/decode?preserveStorageRefs=true", json=body, headers=as_the_ui(idp.token())
    )

    assert response.status_code == 200, response.text
    [plain] = unwire(response.json())
    assert json.loads(plain.data) == {"session_id": session_id}
    assert response.headers["access-control-allow-origin"] == UI  # CORS still answers the UI


async def test_an_es256_token_from_an_ec_key_is_accepted_too(idp: IdentityProvider) -> None:
    idp.publish("ec1", ec_key("ec1"))
    async with codec_for(oidc_settings(idp.url)) as codec:
        response = await codec.post(
            "/codec/encode",
            json={"payloads": []},
            headers=as_the_ui(idp.token("ec1", ec_key("ec1"), "ES256")),
        )
    assert response.status_code == 200, response.text


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forged(header: dict[str, Any], claims: dict[str, Any], sign: Callable[[bytes], bytes]) -> str:
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}".encode()
    return f"{signing_input.decode()}.{b64url(sign(signing_input))}"


def alg_none(idp: IdentityProvider) -> str:
    return forged({"alg": "none", "kid": "k1", "typ": "JWT"}, idp.claims(), lambda _: b"")


def hs256_with_the_public_key(idp: IdentityProvider) -> str:
    """The key-confusion forgery: HMAC "signed" with the issuer's public key, which anyone can fetch."""
    pem = (
        rsa_key("k1")
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return forged(
        {"alg": "HS256", "kid": "k1", "typ": "JWT"},
        idp.claims(),
        lambda data: hmac.new(pem, data, hashlib.sha256).digest(),
    )


REJECTED: dict[str, tuple[Callable[[IdentityProvider], str], str]] = {
    "expired": (
        lambda idp: idp.token(exp=int(time.time()) - 120, iat=int(time.time()) - 600),
        "token_expired",
    ),
    "not yet valid": (lambda idp: idp.token(nbf=int(time.time()) + 600), "token_not_yet_valid"),
    "for another audience": (lambda idp: idp.token(aud="api://another-app"), "token_audience_mismatch"),
    "from another issuer": (lambda idp: idp.token(iss="https://idp.example.com"), "token_issuer_mismatch"),
    "signed by another key under our kid": (
        lambda idp: idp.token("k1", rsa_key("attacker")),
        "token_signature_invalid",
    ),
    "alg none": (alg_none, "token_algorithm_refused"),
    "HS256 with the public key": (hs256_with_the_public_key, "token_algorithm_refused"),
    "ES256 claimed for an RSA key": (
        lambda idp: idp.token("k1", ec_key("attacker"), "ES256"),
        "token_algorithm_refused",
    ),
    "alg as a list": (
        lambda idp: forged({"alg": ["RS256"], "kid": "k1", "typ": "JWT"}, idp.claims(), lambda _: b"sig"),
        "token_algorithm_refused",
    ),
    "alg as an object": (
        lambda idp: forged({"alg": {"a": 1}, "kid": "k1", "typ": "JWT"}, idp.claims(), lambda _: b"sig"),
        "token_algorithm_refused",
    ),
    "typed as another kind of JWT": (
        lambda idp: jwt.encode(
            idp.claims(), rsa_key("k1"), "RS256", headers={"kid": "k1", "typ": "dpop+jwt"}
        ),
        "token_type_refused",
    ),
    "typed as a list": (
        lambda idp: jwt.encode(idp.claims(), rsa_key("k1"), "RS256", headers={"kid": "k1", "typ": ["JWT"]}),
        "token_type_refused",
    ),
    "without a subject": (lambda idp: idp.token(sub=None), "token_malformed"),
    "not a JWT at all": (lambda idp: "an-opaque-access-token", "token_malformed"),
}


@pytest.mark.parametrize("case", sorted(REJECTED))
async def test_a_token_that_fails_a_check_is_a_401_with_its_code_and_never_logged(
    case: str, idp: IdentityProvider, codec: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    make, code = REJECTED[case]
    token = make(idp)
    _, body = await sealed_body()

    with caplog.at_level(logging.DEBUG):
        response = await codec.post("/codec/decode", json=body, headers=as_the_ui(token))

    assert response.status_code == 401, response.text
    assert response.json()["code"] == code
    assert "payloads" not in response.json()
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith('Bearer realm="sessionflow-codec"') and 'error="invalid_token"' in challenge
    assert (
        token not in caplog.text
        and "operator@example.com" not in caplog.text
        and "00u1operator" not in caplog.text
    )


async def test_a_token_expired_within_the_leeway_is_still_accepted(
    idp: IdentityProvider, codec: httpx.AsyncClient
) -> None:
    token = idp.token(exp=int(time.time()) - 5)  # the default leeway is 30 s of clock skew
    response = await codec.post("/codec/encode", json={"payloads": []}, headers=as_the_ui(token))
    assert response.status_code == 200, response.text


async def test_a_valid_token_without_the_required_group_is_403_insufficient_scope(
    idp: IdentityProvider, codec: httpx.AsyncClient
) -> None:
    _, body = await sealed_body()
    response = await codec.post("/codec/decode", json=body, headers=as_the_ui(idp.token(groups=["everyone"])))

    assert response.status_code == 403, response.text
    assert response.json()["code"] == "token_claim_missing"
    assert 'error="insufficient_scope"' in response.headers["www-authenticate"]


async def test_a_nested_role_claim_can_be_required(idp: IdentityProvider) -> None:
    settings = oidc_settings(idp.url, codec_oidc_required_claim="realm_access.roles=sessionflow-ops")
    keycloak_like = idp.token(realm_access={"roles": ["sessionflow-ops"]})
    async with codec_for(settings) as codec:
        allowed = await codec.post("/codec/encode", json={"payloads": []}, headers=as_the_ui(keycloak_like))
        refused = await codec.post("/codec/encode", json={"payloads": []}, headers=as_the_ui(idp.token()))
    assert (allowed.status_code, refused.status_code) == (200, 403)


async def test_another_namespace_is_refused_even_with_a_valid_token(
    idp: IdentityProvider, codec: httpx.AsyncClient
) -> None:
    _, body = await sealed_body()
    response = await codec.post(
        "/codec/decode", json=body, headers=as_the_ui(idp.token(), namespace="billing")
    )
    assert response.status_code == 403
    assert response.json()["code"] == "namespace_not_allowed"


async def test_an_unknown_key_id_refetches_the_keys_once_then_is_a_401(
    idp: IdentityProvider, codec: httpx.AsyncClient
) -> None:
    assert (
        await codec.post("/codec/encode", json={"payloads": []}, headers=as_the_ui(idp.token()))
    ).status_code == 200
    assert idp.jwks_fetches == 1

    made_up = [idp.token("made-up", rsa_key("attacker")) for _ in range(3)]
    responses = [
        await codec.post("/codec/encode", json={"payloads": []}, headers=as_the_ui(token))
        for token in made_up
    ]

    assert [r.status_code for r in responses] == [401, 401, 401]
    assert {r.json()["code"] for r in responses} == {"token_key_unknown"}
    assert idp.jwks_fetches == 2  # one refresh for the first, none for the rest (min refresh 30 s)


async def test_a_key_rotated_at_the_issuer_is_picked_up(idp: IdentityProvider) -> None:
    async with codec_for(oidc_settings(idp.url)) as codec:
        before = await codec.post("/codec/encode", json={"payloads": []}, headers=as_the_ui(idp.token("k1")))
        idp.keys = [public_jwk("k2", rsa_key("k2"))]  # the issuer rotates: k2 signs, k1 is retired
        after = await codec.post("/codec/encode", json={"payloads": []}, headers=as_the_ui(idp.token("k2")))

    assert (before.status_code, after.status_code) == (200, 200)
    assert idp.jwks_fetches == 2


async def test_a_burst_on_a_cold_cache_fetches_the_keys_once(
    idp: IdentityProvider, codec: httpx.AsyncClient
) -> None:
    token = idp.token()
    async with asyncio.timeout(WAIT):
        responses = await asyncio.gather(
            *(codec.post("/codec/encode", json={"payloads": []}, headers=as_the_ui(token)) for _ in range(10))
        )
    assert {r.status_code for r in responses} == {200}
    assert idp.jwks_fetches == 1


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # nothing listens there once the socket is closed


async def test_an_unreachable_identity_provider_is_a_503_auth_unavailable_not_a_401(
    idp: IdentityProvider,
) -> None:
    token = idp.token()
    down = f"http://127.0.0.1:{closed_port()}"
    async with codec_for(oidc_settings(down, codec_oidc_http_timeout_seconds=2)) as codec:
        response = await codec.post(
            "/codec/encode", json={"payloads": []}, headers=as_the_ui(token, NAMESPACE)
        )

    assert response.status_code == 503, response.text
    assert response.json()["code"] == "auth_unavailable"
    assert response.headers["retry-after"]


async def test_an_endless_key_set_is_given_up_at_the_size_cap_not_read_until_the_timeout(
    idp: IdentityProvider,
) -> None:
    settings = oidc_settings(
        idp.url, codec_oidc_jwks_url=f"{idp.url}/endless", codec_oidc_http_timeout_seconds=5
    )
    async with codec_for(settings) as codec:
        began = time.monotonic()
        response = await codec.post("/codec/encode", json={"payloads": []}, headers=as_the_ui(idp.token()))
        took = time.monotonic() - began

    assert response.status_code == 503 and response.json()["code"] == "auth_unavailable"
    # Read while streaming, the body is dropped just past MAX_DOCUMENT_BYTES (256 KiB), at once;
    # read whole first, it ran on until the fetch's 10 s timeout. (Socket buffers let the IdP get
    # a few MiB ahead of the reader.)
    assert took < 5, took
    assert idp.endless_bytes < 32 * 1024 * 1024, idp.endless_bytes


async def test_a_discovery_document_naming_another_issuer_is_not_trusted(idp: IdentityProvider) -> None:
    # The codec is told the issuer is …/tenant; the document there (served for the root) names another.
    settings = oidc_settings(f"{idp.url}/tenant", codec_oidc_jwks_url="")
    async with codec_for(settings) as codec:
        response = await codec.post(
            "/codec/encode", json={"payloads": []}, headers=as_the_ui(idp.token(iss=f"{idp.url}/tenant"))
        )
    assert response.status_code == 503
    assert idp.jwks_fetches == 0


async def test_an_explicit_jwks_url_skips_discovery(idp: IdentityProvider) -> None:
    async with codec_for(oidc_settings(idp.url, codec_oidc_jwks_url=f"{idp.url}/keys")) as codec:
        response = await codec.post("/codec/encode", json={"payloads": []}, headers=as_the_ui(idp.token()))
    assert response.status_code == 200 and idp.jwks_fetches == 1


async def test_with_oidc_the_origin_header_alone_is_refused(idp: IdentityProvider) -> None:
    # Local-only keys and the UI's own origin: without OIDC this combination needs no token at all
    # (tests/api/test_codec_api.py); with an issuer configured, Origin admits no one.
    settings = oidc_settings(idp.url, codec_ui_origins=("http://localhost:8233",))
    assert set(settings.codec_key_ring) == {"local-only"}
    async with codec_for(settings) as codec:
        response = await codec.post(
            "/codec/decode",
            json={"payloads": []},
            headers={"Origin": "http://localhost:8233", "X-Namespace": NAMESPACE},
        )

    assert response.status_code == 401
    assert response.json()["code"] == "token_missing"
    assert response.headers["www-authenticate"] == 'Bearer realm="sessionflow-codec"'


async def test_ops_tokens_keep_working_for_the_cli_alongside_oidc(
    idp: IdentityProvider, codec: httpx.AsyncClient
) -> None:
    session_id, body = await sealed_body()
    response = await codec.post("/codec/decode", json=body, headers={"Authorization": f"Bearer {OPS_TOKEN}"})

    assert response.status_code == 200, response.text
    assert json.loads(unwire(response.json())[0].data) == {"session_id": session_id}
    assert idp.jwks_fetches == 0  # an ops token never reaches the IdP


async def test_the_ui_preflight_may_send_its_id_token_header(codec: httpx.AsyncClient) -> None:
    preflight = await codec.options(
        "/codec/decode",
        headers={
            "Origin": UI,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,authorization-extras,content-type,x-namespace",
        },
    )
    assert preflight.status_code == 200
    assert "authorization-extras" in preflight.headers["access-control-allow-headers"].lower()


@pytest.mark.parametrize(
    ("settings", "refusal"),
    [
        ({"codec_oidc_audience": AUDIENCE}, "need SESSIONFLOW_CODEC_OIDC_ISSUER"),
        ({"codec_oidc_issuer": "https://idp.example.com"}, "AUDIENCE is required"),
        ({"codec_oidc_issuer": "http://idp.example.com", "codec_oidc_audience": AUDIENCE}, "must use https"),
        ({"codec_oidc_algorithms": ("RS256", "HS256")}, "refused: \\['HS256'\\]"),
        ({"codec_oidc_algorithms": ("none",)}, "refused: \\['none'\\]"),
        ({"codec_oidc_required_claim": "groups"}, "NAME=VALUE"),
        (
            {
                "codec_oidc_issuer": "https://idp.example.com",
                "codec_oidc_audience": AUDIENCE,
                "codec_trust_ui_origins": True,
            },
            "TRUST_UI_ORIGINS cannot be combined with OIDC",
        ),
    ],
)
def test_unsafe_oidc_settings_refuse_to_start(settings: dict[str, Any], refusal: str) -> None:
    with pytest.raises(ValidationError, match=refusal):
        Settings(**settings)


class Clock:
    """The verifier's monotonic clock, moved by the test: key lifetimes pass without waiting."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_cached_keys_outlive_a_short_idp_outage_then_it_is_auth_unavailable(
    idp: IdentityProvider,
) -> None:
    clock = Clock()
    settings = oidc_settings(
        idp.url, codec_oidc_jwks_cache_seconds=600, codec_oidc_jwks_min_refresh_seconds=30
    )
    verifier = AccessTokenVerifier(settings, clock)
    token = idp.token()
    async with asyncio.timeout(WAIT):
        await verifier.verify(token)
        idp.down = True
        clock.now += 601  # the keys are due for a refresh, which fails: the cached ones still serve
        await verifier.verify(token)
        clock.now += 10  # within the back-off: no new attempt
        await verifier.verify(token)
        assert idp.jwks_fetches == 2
        clock.now += 600  # two lifetimes old: no longer trusted
        with pytest.raises(IdentityProviderUnavailable):
            await verifier.verify(token)
        idp.down = False
        with pytest.raises(IdentityProviderUnavailable):  # the failed attempt was just now: back-off
            await verifier.verify(token)
        clock.now += 30  # the IdP is back and the back-off over
        await verifier.verify(token)
    assert idp.jwks_fetches == 4


@pytest.mark.parametrize(
    ("required", "claims", "allowed"),
    [
        ("scope=codec.decode", {"scope": "openid codec.decode"}, True),
        ("scope=codec.decode", {"scope": "openid codec.decoder"}, False),
        ("roles=SessionflowOps,SessionflowAdmin", {"roles": ["SessionflowAdmin"]}, True),
        ("groups=sessionflow-ops", {"groups": "sessionflow-ops"}, True),
        ("groups=sessionflow-ops", {"groups": "sessionflow-ops-readers"}, False),
        (
            "https://sessionflow.example.com/roles=ops",
            {"https://sessionflow.example.com/roles": ["ops"]},
            True,
        ),
        ("permissions=default:read,default:admin", {"permissions": ["billing:admin", "default:read"]}, True),
        ("permissions=default:read,default:admin", {"permissions": ["billing:admin"]}, False),
    ],
)
async def test_the_required_claim_matches_strings_lists_scopes_and_namespaced_names(
    idp: IdentityProvider, required: str, claims: dict[str, Any], allowed: bool
) -> None:
    verifier = AccessTokenVerifier(oidc_settings(idp.url, codec_oidc_required_claim=required))
    token = idp.token(**{"groups": None, **claims})
    async with asyncio.timeout(WAIT):
        if allowed:
            await verifier.verify(token)
        else:
            with pytest.raises(TokenRejected, match="does not carry"):
                await verifier.verify(token)
