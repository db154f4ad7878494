"""Typed configuration for every Sessionflow process, read from the environment.

Every variable is prefixed ``SESSIONFLOW_`` (``SESSIONFLOW_TEMPORAL_ADDRESS`` …). Settings are
read when a process starts (``Settings()``), never at import time, so tests can build their own.

One thing does happen at import: :func:`pin_zone_data`. Every process of ours (worker, API, codec
server, ops CLI and its replayer, ``make run``'s stack and its children, the tests) imports this
module before it resolves a time zone, so this is the one place that makes them all read the
pinned ``tzdata`` package instead of the host's zone files.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import zoneinfo
from datetime import timedelta
from ipaddress import ip_address
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import tzdata  # type: ignore[import-untyped]  # no stubs: only IANA_VERSION is read
from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from domain.commission import CommissionRates
from domain.policy import DEFAULT_POLICY, DEFAULT_UNREPORTED_AFTER, SessionPolicy


def pin_zone_data() -> None:
    """Resolve IANA zones from the pinned ``tzdata`` package only, never from the host's files.

    ``zoneinfo`` searches the host's database (``/usr/share/zoneinfo`` …) before the ``tzdata``
    package, so two hosts with different releases would turn one wall-clock time into different
    instants (America/Vancouver, December 2026: -08:00 in 2025b, -07:00 from 2026a on). An empty
    search path leaves only the package, whose version the locks pin. ``PYTHONTZPATH`` is set too,
    so child processes (``make run``'s) and any fresh import of ``zoneinfo`` get the same empty
    path. Instances built before this are dropped from ``ZoneInfo``'s cache. Not in ``domain``:
    the domain stays free of process-wide side effects, and the workflow sandbox forbids
    ``reset_tzpath`` (``zoneinfo`` is passed through, so the sandbox sees this process's setting).
    """
    os.environ["PYTHONTZPATH"] = ""
    if zoneinfo.TZPATH:
        zoneinfo.reset_tzpath([])
        zoneinfo.ZoneInfo.clear_cache()


pin_zone_data()


def zone_data_version() -> str:
    """The IANA release of the zone data in force (the pinned ``tzdata`` package), e.g. "2026f"."""
    return str(tzdata.IANA_VERSION)


STANDIN_API_KEY = "sk_test_standin"
REAL_STRIPE_API_BASE = "https://api.stripe.com"
LOCAL_NOTIFY_SECRET = "whsec_c2Vzc2lvbmZsb3cgbG9jYWwtb25seSBub3RpZnkga2V5ISE="
"""The local sink's Standard Webhooks secret (``whsec_`` + base64 of the key); loopback only."""
_LOCAL_NOTIFY_SECRETS = frozenset({LOCAL_NOTIFY_SECRET, "nsec_local_only"})
"""The built-in secret, and the one it replaced (a configuration may still name it)."""
STANDIN_WEBHOOK_SECRET = "whsec_standin_local_only"
LOCAL_STRIPE_RETURN_URL = "http://127.0.0.1:8000/payment-returned"
"""Where the stand-in's (never followed) 3-D Secure redirects say the browser comes back to."""


LOCAL_API_TOKEN = "sfdev_local_only_token"
"""The bearer token `make run` prints; accepted only while the API listens on loopback."""
LOCAL_API_TOKEN_SHA256 = hashlib.sha256(LOCAL_API_TOKEN.encode()).hexdigest()

LOCAL_CODEC_KEY_ID = "local-only"
LOCAL_CODEC_KEY = hashlib.sha256(b"sessionflow local-only payload key: never for real data").digest()
"""The payload encryption key everyone can read here; accepted only while Temporal is on loopback."""
LOCAL_CODEC_KEYS = f"{LOCAL_CODEC_KEY_ID}:{base64.b64encode(LOCAL_CODEC_KEY).decode()}"
CODEC_KEY_BYTES = 32  # AES-256
OIDC_PUBLIC_KEY_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
"""JWS algorithms a codec verifying with an issuer's published (public) keys may accept."""

LOCAL_KMS_MASTER_KEY_ID = "local-master"
LOCAL_KMS_MASTER_KEY = hashlib.sha256(b"sessionflow local-only KMS master key: never for real data").digest()
"""The master key that wraps per-client data keys in local runs; refused off loopback, like the codec's."""
LOCAL_KMS_MASTER_KEYS = f"{LOCAL_KMS_MASTER_KEY_ID}:{base64.b64encode(LOCAL_KMS_MASTER_KEY).decode()}"
LOCAL_ERASURE_HASH_KEY = "sessionflow local-only erasure record key"


class Settings(BaseSettings):
    # Inputs are never echoed in validation errors: several of them are secrets (keys, tokens).
    model_config = SettingsConfigDict(env_prefix="SESSIONFLOW_", extra="ignore", hide_input_in_errors=True)

    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    task_queue: str = "sessionflow"

    # Beyond loopback Temporal is reached over TLS: a self-hosted cluster with mTLS (client cert and
    # key, optionally a private CA) or Temporal Cloud with mTLS or an API key. Paths, not PEM values,
    # so Kubernetes can mount and rotate the files without rebuilding the environment.
    temporal_tls: bool | None = None
    """None: TLS on exactly when an API key or a client certificate is configured."""
    temporal_tls_server_ca_path: Path | None = None
    temporal_tls_server_name: str | None = None
    temporal_tls_client_cert_path: Path | None = None
    temporal_tls_client_key_path: Path | None = None
    temporal_api_key: SecretStr | None = None

    # Payload encryption (AES-256-GCM): ``id1:base64key,id2:base64key``; payloads are encrypted with
    # the current key and decrypted with whichever key their metadata names (key rotation).
    codec_keys: SecretStr = SecretStr(LOCAL_CODEC_KEYS)
    codec_current_key_id: str = LOCAL_CODEC_KEY_ID
    # Envelope encryption per client (temporal_client.kms, README "Privacy and erasure"): a session's
    # payloads are encrypted with a data key of its own, tagged with its client, wrapped by a master
    # key from this ring (``id:base64key,…``, the same format as the codec keys) and kept in
    # ``kms_dir`` (one file per data key: the wrapped key and its tags only). Unset ``kms_dir``:
    # off, every payload under the codec key ring as before (the recorded histories, the workflow
    # tests). Every process of a deployment (worker, API, codec server, CLI) must share the
    # directory (a ReadWriteMany volume) and the ring.
    kms_dir: Path | None = None
    kms_master_keys: SecretStr = SecretStr(LOCAL_KMS_MASTER_KEYS)
    kms_current_master_key_id: str = LOCAL_KMS_MASTER_KEY_ID
    kms_cache_size: int = Field(default=10_000, ge=1)
    """Unwrapped data keys kept in memory per process (least recently used dropped first)."""
    erasure_hash_key: SecretStr = SecretStr(LOCAL_ERASURE_HASH_KEY)
    """Keys the hash of a client id in erasure records (the record never holds the id itself)."""

    # The Temporal UI calls the codec endpoint from the operator's browser, so its origins get CORS
    # on /codec (the default: the dev server's UI). Without SSO in front of the UI the browser cannot
    # send our bearer token; ``codec_trust_ui_origins`` accepts those calls without it, and is meant
    # only for a codec server that nothing but the operator can reach (a port published on the
    # host's loopback, as deploy/compose.yaml does, or a VPN). The CLI always sends the token.
    codec_ui_origins: tuple[str, ...] = ("http://127.0.0.1:8233", "http://localhost:8233")
    codec_trust_ui_origins: bool = False
    # A shared Temporal UI with SSO (TEMPORAL_AUTH_*) passes its user's OIDC access token to the
    # codec (TEMPORAL_CODEC_PASS_ACCESS_TOKEN): with an issuer set, the codec verifies that token as
    # a JWT against the issuer's published keys (api/oidc.py) and never trusts the Origin header.
    # Empty issuer: OIDC off. Ops bearer tokens keep working alongside (the CLI).
    codec_oidc_issuer: str = ""
    """The ``iss`` the tokens carry, exactly (https unless on this machine)."""
    codec_oidc_audience: str = ""
    """The ``aud`` a token must name: the API/resource the IdP issues the UI's access tokens for —
    the codec's own audience, never the UI's OIDC client id (an ID token's ``aud``)."""
    codec_oidc_jwks_url: str = ""
    """Where the issuer's keys are; empty: ``jwks_uri`` from ``<issuer>/.well-known/openid-configuration``."""
    codec_oidc_algorithms: tuple[str, ...] = ("RS256", "ES256")
    """Signature algorithms accepted: public-key ones only (never ``none`` nor HS*)."""
    codec_oidc_required_claim: str = ""
    """``NAME=VALUE[,VALUE…]``: a claim the user must carry (one of the values; a list claim such as
    ``groups`` must contain one), e.g. ``groups=sessionflow-ops``; a dotted name reaches into an
    object (``realm_access.roles=sessionflow-ops``). Empty: any valid token of the audience."""
    codec_oidc_leeway_seconds: float = Field(default=30.0, ge=0, le=300)
    """Clock skew allowed on ``exp``, ``nbf`` and ``iat``."""
    codec_oidc_jwks_cache_seconds: float = Field(default=600.0, ge=1, le=86400)
    """How long fetched keys are used before they are fetched again."""
    codec_oidc_jwks_min_refresh_seconds: float = Field(default=30.0, ge=0, le=3600)
    """A token naming an unknown key refetches the keys at most this often (a rotation is picked
    up; a flood of made-up key ids never turns into a flood of requests to the IdP)."""
    codec_oidc_http_timeout_seconds: float = Field(default=5.0, gt=0, le=30)

    # Payments default to the loopback Stripe stand-in; a real ``sk_test_…`` key together with
    # ``SESSIONFLOW_STRIPE_API_BASE=https://api.stripe.com`` switches to Stripe test mode.
    stripe_api_key: SecretStr = SecretStr(STANDIN_API_KEY)
    stripe_api_base: str = "http://127.0.0.1:12111"
    stripe_webhook_secret: SecretStr = SecretStr(STANDIN_WEBHOOK_SECRET)
    # The Connect endpoint's own signing secret: events of the therapists' connected accounts
    # (their payments, `account.updated`, their disputes) come from a separate endpoint in Stripe,
    # with a secret of its own, usually to the same URL. Unset: only the account endpoint's secret.
    stripe_connect_webhook_secret: SecretStr | None = None
    stripe_http_timeout_seconds: float = Field(default=8.0, gt=0, le=60)
    # Disputes (issue 14 §3): submit a session's evidence pack to Stripe as soon as a dispute opens.
    # Off: the pack is exported for the backend (`GET /v1/sessions/{id}/dispute-evidence`).
    dispute_evidence_submit: bool = False
    stripe_max_network_retries: int = Field(default=1, ge=0, le=5)
    # The page of the marketplace's app the client's browser comes back to after 3-D Secure, sent
    # with every on-session confirmation (README rule 11): Stripe refuses to confirm on-session a
    # PaymentIntent that may redirect without one. Empty: the local stack's placeholder with the
    # stand-in; with real Stripe, set it or on-session payments are refused (an ERROR for ops).
    stripe_return_url: str = ""
    # Stripe calls run on their own task queue (``<task_queue>-stripe``) whose rate the Temporal
    # server enforces across every worker: at charge storms (sessions start on the hour, so their
    # charges fall due together) the fleet never exceeds Stripe's rate limit, however many workers
    # scale out. Stripe allows 25 requests/s in test mode (100 in live mode); a charge is 1–3
    # requests, so 10 calls/s. The worker sets it for the queue on every poll: all workers must
    # agree on it.
    stripe_activities_per_second: float = Field(default=10.0, gt=0, le=1000)
    stripe_max_concurrent_activities: int = Field(default=20, ge=1)
    """Stripe calls one worker runs at once (each holds an HTTP connection for up to its timeout)."""

    # The marketplace's commission on a session charged on the therapist's connected account
    # (``domain.commission``), in basis points (1 bp = 0.01 %): fixed into each session's workflow
    # input when it is booked, so a change applies to sessions booked from then on, never to one
    # running (its charge and refunds were agreed under the old rates).
    commission_first_session_bp: int = Field(default=10_000, ge=0, le=10_000)
    commission_follow_up_bp: int = Field(default=1_000, ge=0, le=10_000)
    commission_vat_bp: int = Field(default=2_000, ge=0, le=10_000)
    commission_discretionary_refund_returns_fee: bool = False

    # How long after its end a session waits for its attendance update before it closes as
    # ``unreported`` (``domain.unreported``): fixed into each session's policy when it is booked, so
    # a change applies to sessions booked from then on. Later than the last reminder (+ 7 days).
    unreported_after_days: int = Field(default=DEFAULT_UNREPORTED_AFTER.days, ge=8, le=366)

    data_dir: Path = Path(".data")
    log_format: Literal["console", "json"] = "console"
    log_level: str = "INFO"
    # Prometheus: the Temporal SDK's metrics (empty: off) and, on the same host, the worker's
    # own ``sessionflow_*`` counters (0: off). The API serves its metrics on ``GET /metrics``.
    worker_metrics_address: str = "127.0.0.1:9464"
    worker_app_metrics_port: int = Field(default=9465, ge=0, le=65535)
    # The worker counts sessions in conditions that need ops (``sessionflow_sessions_overdue``,
    # ``observability/session_counts.py``) from Temporal visibility every this many seconds (0:
    # off); each count is bounded by the timeout. Counts are not billed Actions.
    session_counts_interval_seconds: int = Field(default=60, ge=0)
    session_counts_timeout_seconds: float = Field(default=10.0, gt=0)

    # Traces (OpenTelemetry; README "Traces"): off by default. ``otlp`` sends them over OTLP/HTTP
    # to ``traces_otlp_endpoint`` (batched); ``console`` prints each finished span; ``file`` appends
    # each finished span as one JSON line to ``<traces_dir>/<service>.jsonl`` (``make run``).
    # Whatever the exporter, span attributes are reduced to an allowlist of ids, codes and numbers
    # first (``observability.tracing``): no personal data leaves in a span.
    traces_exporter: Literal["none", "otlp", "console", "file"] = "none"
    traces_otlp_endpoint: str = "http://127.0.0.1:4318/v1/traces"
    """The collector's OTLP/HTTP traces URL, path included (``…/v1/traces``)."""
    traces_otlp_headers: SecretStr = SecretStr("")
    """``key=value,key=value`` sent with every export (a vendor's API key: a secret)."""
    traces_dir: Path | None = None
    """Where the ``file`` exporter writes; None: ``<data_dir>/traces``."""
    traces_sample_ratio: float = Field(default=1.0, ge=0, le=1)
    """Share of new traces kept (parent-based: a request the caller sampled stays sampled)."""

    # Worker tuning (deploy/README.md, "Worker tuning", says why each default is what it is).
    max_cached_workflows: int = Field(default=1000, ge=0)
    workflow_sandbox: Literal["fast", "strict"] = "fast"
    """``fast``: our own workflow modules are passed through the sandbox instead of re-executed for
    every workflow run (half the memory per cached session, a third less CPU per workflow task);
    ``strict``: the SDK's default, which re-imports them and so also catches a non-deterministic
    call (``datetime.now()``…) at run time. The tests run ``strict``; the replayer always does."""
    max_concurrent_workflow_tasks: int = Field(default=100, ge=2)
    max_concurrent_activities: int = Field(default=100, ge=1)
    workflow_task_pollers_minimum: int = Field(default=1, ge=1)
    workflow_task_pollers_maximum: int = Field(default=100, ge=1)
    workflow_task_pollers_initial: int = Field(default=5, ge=1)
    activity_task_pollers_minimum: int = Field(default=1, ge=1)
    activity_task_pollers_maximum: int = Field(default=100, ge=1)
    activity_task_pollers_initial: int = Field(default=5, ge=1)
    # The longest activity start-to-close (notifications, practice calls: 30 s): on SIGTERM every
    # activity already running may finish instead of being cut off and waiting out its timeout
    # before a retry. Kubernetes' terminationGracePeriodSeconds must be longer.
    graceful_shutdown_seconds: float = Field(default=30.0, ge=0, le=3600)
    # The worker's /healthz (event loop alive) and /readyz (polling, Temporal answers); empty: off.
    worker_health_address: str = "127.0.0.1:9466"
    # Worker versioning: a deployment name turns it on (a Worker Deployment Version per build);
    # empty keeps the worker unversioned, as the dev server and tests need. The build id comes from
    # the image (deploy/Dockerfile bakes `--build-arg SESSIONFLOW_BUILD_ID`, the image tag, into
    # this variable), never from a manifest: a manifest's copy goes stale on the next image.
    worker_deployment_name: str = Field(default="", pattern=r"^[^.\s]*$", max_length=255)
    worker_build_id: str = Field(default="", pattern=r"^([A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?$")
    """The image tag's grammar (Docker's), so the tag itself can be the build id."""
    worker_versioning_behavior: Literal["auto_upgrade", "pinned"] = "auto_upgrade"

    # The HTTP API: where it listens and which bearer tokens it accepts (only their digests).
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8000, ge=0, le=65535)
    api_token_sha256: tuple[str, ...] = (LOCAL_API_TOKEN_SHA256,)
    """SHA-256 hex digests of the bearer tokens the API accepts (tokens are never stored)."""
    ops_token_sha256: tuple[str, ...] = ()
    """Digests of the ops tokens: when set, only these read histories and use the codec endpoint
    (the backend's tokens then cannot decrypt anything); empty: the API tokens are accepted."""

    # Notifications go to the backend as signed JSON POSTs; by default to the local sink that
    # `make run` starts. An empty URL disables delivery (the activity logs and drops them).
    notify_url: str = "http://127.0.0.1:12112/notifications"
    notify_secret: SecretStr = SecretStr(LOCAL_NOTIFY_SECRET)
    notify_timeout_seconds: float = Field(default=5.0, gt=0, le=60)

    @field_validator(
        "temporal_tls_server_ca_path",
        "temporal_tls_server_name",
        "temporal_tls_client_cert_path",
        "temporal_tls_client_key_path",
        "temporal_api_key",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # A Secret or ConfigMap key left empty means "not used", not "a file named ''" or an empty key.
        return None if value == "" else value

    @field_validator("codec_keys")
    @classmethod
    def _codec_keys(cls, value: SecretStr, info: ValidationInfo) -> SecretStr:
        ring = parse_codec_keys(value.get_secret_value())
        host = urlsplit(f"//{info.data.get('temporal_address') or ''}").hostname or ""
        local = LOCAL_CODEC_KEY_ID in ring or LOCAL_CODEC_KEY in ring.values()
        if local and not is_loopback(host):
            raise ValueError(
                "the local-only payload key is refused when Temporal is not on loopback; "
                "set SESSIONFLOW_CODEC_KEYS and SESSIONFLOW_CODEC_CURRENT_KEY_ID"
            )
        return value

    @field_validator("codec_current_key_id")
    @classmethod
    def _codec_current_key(cls, value: str, info: ValidationInfo) -> str:
        keys = info.data.get("codec_keys")  # absent when it failed validation itself
        if isinstance(keys, SecretStr) and value not in parse_codec_keys(keys.get_secret_value()):
            raise ValueError("the current codec key id must name one of SESSIONFLOW_CODEC_KEYS")
        return value

    @field_validator("kms_master_keys")
    @classmethod
    def _kms_master_keys(cls, value: SecretStr, info: ValidationInfo) -> SecretStr:
        ring = parse_codec_keys(value.get_secret_value())
        host = urlsplit(f"//{info.data.get('temporal_address') or ''}").hostname or ""
        local = LOCAL_KMS_MASTER_KEY_ID in ring or LOCAL_KMS_MASTER_KEY in ring.values()
        if local and info.data.get("kms_dir") is not None and not is_loopback(host):
            raise ValueError(
                "the local-only KMS master key is refused when Temporal is not on loopback; "
                "set SESSIONFLOW_KMS_MASTER_KEYS and SESSIONFLOW_KMS_CURRENT_MASTER_KEY_ID"
            )
        return value

    @field_validator("kms_current_master_key_id")
    @classmethod
    def _kms_current_master_key(cls, value: str, info: ValidationInfo) -> str:
        keys = info.data.get("kms_master_keys")
        if isinstance(keys, SecretStr) and value not in parse_codec_keys(keys.get_secret_value()):
            raise ValueError("the current KMS master key id must name one of SESSIONFLOW_KMS_MASTER_KEYS")
        return value

    @field_validator("erasure_hash_key")
    @classmethod
    def _erasure_hash_key(cls, value: SecretStr, info: ValidationInfo) -> SecretStr:
        host = urlsplit(f"//{info.data.get('temporal_address') or ''}").hostname or ""
        local = value.get_secret_value() == LOCAL_ERASURE_HASH_KEY
        if local and info.data.get("kms_dir") is not None and not is_loopback(host):
            raise ValueError("the local-only erasure hash key is refused when Temporal is not on loopback")
        return value

    @property
    def kms_master_key_ring(self) -> dict[str, bytes]:
        """KMS master keys by id (32 bytes each, the current one among them)."""
        return parse_codec_keys(self.kms_master_keys.get_secret_value())

    @property
    def codec_key_ring(self) -> dict[str, bytes]:
        """Payload encryption keys by id (validated: 32 bytes each, the current one among them)."""
        return parse_codec_keys(self.codec_keys.get_secret_value())

    @field_validator("stripe_api_key")
    @classmethod
    def _refuse_live_keys(cls, value: SecretStr) -> SecretStr:
        secret = value.get_secret_value()
        if secret.startswith(("sk_live_", "rk_live_")):
            raise ValueError("live Stripe keys are refused; Sessionflow runs on test keys only")
        if not secret.startswith(("sk_test_", "rk_test_")):
            raise ValueError("the Stripe key must be a test key (sk_test_… or rk_test_…)")
        return value

    @field_validator("notify_url")
    @classmethod
    def _notify_over_https_unless_loopback(cls, value: str) -> str:
        if not value:
            return value
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError("the notification URL must be http(s)://HOST[:PORT]/PATH, or empty")
        if parts.scheme == "http" and not is_loopback(parts.hostname):
            # Payloads carry a client secret for on-session payment: never in clear over a network.
            raise ValueError("the notification URL must use https unless it is on this machine")
        return value

    @field_validator("traces_otlp_endpoint")
    @classmethod
    def _traces_endpoint(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError("the OTLP traces endpoint must be http(s)://HOST[:PORT]/PATH")
        return value

    @field_validator("traces_otlp_headers")
    @classmethod
    def _traces_headers(cls, value: SecretStr, info: ValidationInfo) -> SecretStr:
        headers = parse_header_list(value.get_secret_value())
        endpoint = urlsplit(info.data.get("traces_otlp_endpoint") or "")  # validated first
        if headers and endpoint.scheme == "http" and not is_loopback(endpoint.hostname or ""):
            # Spans carry no personal data, but these headers are the collector's credentials: an
            # in-cluster collector without any may be plain http, one with credentials may not.
            raise ValueError("OTLP headers (credentials) need an https endpoint unless it is on this machine")
        return value

    @field_validator("stripe_return_url")
    @classmethod
    def _return_over_https_unless_loopback(cls, value: str) -> str:
        if not value:
            return value
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError("the Stripe return URL must be http(s)://HOST[:PORT]/PATH, or empty")
        if parts.scheme == "http" and not is_loopback(parts.hostname):
            raise ValueError("the Stripe return URL must use https unless it is on this machine")
        return value

    @field_validator("notify_secret")
    @classmethod
    def _notify_secret_fits_the_url(cls, value: SecretStr, info: ValidationInfo) -> SecretStr:
        secret = value.get_secret_value()
        if not secret:
            raise ValueError("the notification signing secret must not be empty")
        # The Standard Webhooks form is whsec_<base64 key>. A plain secret (older configurations)
        # is accepted: its UTF-8 bytes are the key (domain.notifications.webhook_secret).
        if secret.startswith("whsec_"):
            try:
                key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
            except binascii.Error:
                key = b""
            if not key:
                raise ValueError(
                    "SESSIONFLOW_NOTIFY_SECRET must be whsec_ followed by the standard base64 of a "
                    "non-empty key (or a plain secret, whose UTF-8 bytes are then the key)"
                )
        url = info.data.get("notify_url") or ""  # validated first: it is declared first
        if url and secret in _LOCAL_NOTIFY_SECRETS and not is_loopback(urlsplit(url).hostname or ""):
            raise ValueError("the built-in secret is for the local sink only; set a real one")
        return value

    @field_validator("codec_oidc_issuer", "codec_oidc_jwks_url")
    @classmethod
    def _oidc_urls_over_https_unless_loopback(cls, value: str) -> str:
        if not value:
            return value
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError("the OIDC issuer and JWKS URL must be http(s)://HOST[:PORT][/PATH], or empty")
        if parts.scheme == "http" and not is_loopback(parts.hostname):
            # Keys fetched in clear could be swapped in transit: anyone could then sign tokens.
            raise ValueError("the OIDC issuer and JWKS URL must use https unless they are on this machine")
        return value

    @field_validator("codec_oidc_algorithms")
    @classmethod
    def _public_key_algorithms_only(cls, algorithms: tuple[str, ...]) -> tuple[str, ...]:
        refused = sorted(set(algorithms) - OIDC_PUBLIC_KEY_ALGORITHMS)
        if refused or not algorithms:
            # "none" forges anything; HS* with a verifier that holds only public keys is the classic
            # key-confusion attack (the public key, which everyone has, becomes the HMAC secret).
            raise ValueError(
                f"OIDC algorithms must be among {sorted(OIDC_PUBLIC_KEY_ALGORITHMS)}; refused: {refused}"
            )
        return algorithms

    @field_validator("codec_oidc_required_claim")
    @classmethod
    def _required_claim_form(cls, value: str) -> str:
        if value:
            parse_required_claim(value)
        return value

    @field_validator("ops_token_sha256")
    @classmethod
    def _ops_token_digests(cls, digests: tuple[str, ...]) -> tuple[str, ...]:
        if any(len(d) != 64 or any(c not in "0123456789abcdef" for c in d) for d in digests):
            raise ValueError("ops token digests are lower-case SHA-256 hex (64 characters)")
        if LOCAL_API_TOKEN_SHA256 in digests:
            raise ValueError("the local development token cannot be an ops token")
        return digests

    @field_validator("api_token_sha256")
    @classmethod
    def _token_digests(cls, digests: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        if not digests:
            raise ValueError("at least one API token digest is required")
        for digest in digests:
            if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
                raise ValueError("API token digests are lower-case SHA-256 hex (64 characters)")
        host = info.data.get("api_host") or ""
        if LOCAL_API_TOKEN_SHA256 in digests and not is_loopback(host):
            raise ValueError("the local development API token is refused when the API is not on loopback")
        return digests

    @model_validator(mode="after")
    def _deployment_settings(self) -> Settings:
        # A build id alone is only a label (every process of an image carries it); a deployment name
        # without one would register no version at all, so the worker refuses to start.
        if self.worker_deployment_name and not self.worker_build_id:
            raise ValueError(
                "worker versioning (SESSIONFLOW_WORKER_DEPLOYMENT_NAME) needs a build id, and this "
                "image has none: build it with --build-arg SESSIONFLOW_BUILD_ID=<image tag> "
                "(deploy/README.md), or set SESSIONFLOW_WORKER_BUILD_ID"
            )
        for kind in ("workflow", "activity"):
            low, initial, high = (
                getattr(self, f"{kind}_task_pollers_{bound}") for bound in ("minimum", "initial", "maximum")
            )
            if not low <= initial <= high:
                raise ValueError(f"{kind} task pollers need minimum <= initial <= maximum")
        if (self.temporal_tls_client_cert_path is None) != (self.temporal_tls_client_key_path is None):
            raise ValueError("a Temporal client certificate needs its key, and a key its certificate")
        if self.temporal_tls is False and (self.temporal_api_key or self.temporal_tls_client_cert_path):
            # An API key is a bearer credential: never over a plaintext connection.
            raise ValueError("a Temporal API key or client certificate needs TLS (SESSIONFLOW_TEMPORAL_TLS)")
        return self

    @model_validator(mode="after")
    def _codec_oidc_settings(self) -> Settings:
        if not self.codec_oidc_issuer:
            stray = [
                name
                for name in ("codec_oidc_audience", "codec_oidc_jwks_url", "codec_oidc_required_claim")
                if getattr(self, name)
            ]
            if stray:
                raise ValueError(
                    f"{', '.join(f'SESSIONFLOW_{name.upper()}' for name in stray)} need "
                    "SESSIONFLOW_CODEC_OIDC_ISSUER (OIDC is off without an issuer)"
                )
            return self
        if not self.codec_oidc_audience:
            # Without an audience any token of the issuer would do, one minted for another app too.
            raise ValueError("SESSIONFLOW_CODEC_OIDC_AUDIENCE is required with an OIDC issuer")
        if self.codec_trust_ui_origins:
            # Both at once would leave a way in that skips the token: refuse rather than guess.
            raise ValueError(
                "SESSIONFLOW_CODEC_TRUST_UI_ORIGINS cannot be combined with OIDC: with an issuer set the "
                "Temporal UI authenticates with its user's access token, and Origin is never trusted"
            )
        return self

    @property
    def codec_oidc_enabled(self) -> bool:
        return bool(self.codec_oidc_issuer)

    @model_validator(mode="after")
    def _built_in_secrets_only_on_a_local_stack(self) -> Settings:
        """The repository's published secrets are for a stack wholly on this machine.

        A process behind a same-host proxy listens on loopback too, so "the API is on loopback"
        alone cannot tell development from production: any part of the configuration reaching a
        real cluster or real Stripe also refuses them.
        """
        temporal_host = urlsplit(f"//{self.temporal_address}").hostname or ""
        beyond = [
            what
            for what, outside in (
                ("Temporal", not is_loopback(temporal_host) or self.temporal_tls_enabled),
                ("Stripe", not self.stripe_is_loopback),
            )
            if outside
        ]
        built_in = [
            what
            for what, used in (
                ("the local API token", LOCAL_API_TOKEN_SHA256 in self.api_token_sha256),
                (
                    "the stand-in webhook secret",
                    self.stripe_webhook_secret.get_secret_value() == STANDIN_WEBHOOK_SECRET,
                ),
            )
            if used
        ]
        if beyond and built_in:
            raise ValueError(
                f"{' and '.join(built_in)} are refused when {' and '.join(beyond)} is not on this "
                "machine; set SESSIONFLOW_API_TOKEN_SHA256 and SESSIONFLOW_STRIPE_WEBHOOK_SECRET"
            )
        return self

    @property
    def commission(self) -> CommissionRates:
        """The commission a session booked now is charged under."""
        return CommissionRates(
            first_session_bp=self.commission_first_session_bp,
            follow_up_bp=self.commission_follow_up_bp,
            vat_bp=self.commission_vat_bp,
            discretionary_refund_returns_fee=self.commission_discretionary_refund_returns_fee,
        )

    @property
    def session_policy(self) -> SessionPolicy:
        """The policy a session booked now is fixed to: the defaults with the configured deadline
        of its attendance update."""
        return SessionPolicy.model_validate(
            {**DEFAULT_POLICY.model_dump(), "unreported_after": timedelta(days=self.unreported_after_days)}
        )

    @property
    def traces_directory(self) -> Path:
        """Where the ``file`` traces exporter writes (``traces_dir``, else under ``data_dir``)."""
        return self.traces_dir if self.traces_dir is not None else self.data_dir / "traces"

    @property
    def temporal_tls_enabled(self) -> bool:
        if self.temporal_tls is not None:
            return self.temporal_tls
        return self.temporal_api_key is not None or self.temporal_tls_client_cert_path is not None

    @property
    def worker_versioned(self) -> bool:
        return bool(self.worker_deployment_name and self.worker_build_id)

    @property
    def notify_is_loopback(self) -> bool:
        """True when notifications go to a receiver on this machine (the local sink)."""
        return is_loopback(urlsplit(self.notify_url).hostname or "")

    @property
    def payment_return_url(self) -> str | None:
        """The return URL on-session confirmations send: the configured one, the local
        placeholder with the stand-in, none with real Stripe until it is configured."""
        if self.stripe_return_url:
            return self.stripe_return_url
        return LOCAL_STRIPE_RETURN_URL if self.stripe_is_loopback else None

    @property
    def stripe_is_loopback(self) -> bool:
        """True when payments go to a Stripe stand-in on this machine."""
        return is_loopback(urlsplit(self.stripe_api_base).hostname or "")


def parse_codec_keys(spec: str) -> dict[str, bytes]:
    """``id1:base64key,id2:base64key`` → ``{id: key}``; errors never echo key material."""
    ring: dict[str, bytes] = {}
    for position, entry in enumerate(part.strip() for part in spec.split(",")):
        key_id, sep, encoded = entry.partition(":")
        key_id = key_id.strip()
        if not sep or not key_id:
            raise ValueError(f"codec key #{position + 1} is not ID:BASE64KEY")
        if key_id in ring:
            raise ValueError(f"codec key id {key_id!r} appears twice")
        try:
            key = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise ValueError(f"codec key {key_id!r} is not valid base64") from None
        if len(key) != CODEC_KEY_BYTES:
            raise ValueError(f"codec key {key_id!r} must be {CODEC_KEY_BYTES} bytes (AES-256)")
        ring[key_id] = key
    return ring


def parse_required_claim(spec: str) -> tuple[str, frozenset[str]]:
    """``NAME=VALUE[,VALUE…]`` → (name, accepted values)."""
    name, sep, values = spec.partition("=")
    accepted = frozenset(v.strip() for v in values.split(",") if v.strip())
    if not sep or not name.strip() or not accepted:
        raise ValueError("SESSIONFLOW_CODEC_OIDC_REQUIRED_CLAIM must be NAME=VALUE[,VALUE…]")
    return name.strip(), accepted


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


def parse_header_list(spec: str) -> dict[str, str]:
    """``key=value,key=value`` (OTLP's header list) → ``{key: value}``; errors never echo values."""
    headers: dict[str, str] = {}
    for position, entry in enumerate(part.strip() for part in spec.split(",")):
        if not entry:
            continue
        name, sep, value = entry.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"OTLP header #{position + 1} is not KEY=VALUE")
        headers[name.strip().lower()] = value.strip()
    return headers
