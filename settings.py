"""Typed configuration for every Sessionflow process, read from the environment.

Every variable is prefixed ``SESSIONFLOW_`` (``SESSIONFLOW_TEMPORAL_ADDRESS`` …). Settings are
read when a process starts (``Settings()``), never at import time, so tests can build their own.
"""

from __future__ import annotations

import hashlib
from ipaddress import ip_address
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

STANDIN_API_KEY = "sk_test_standin"
REAL_STRIPE_API_BASE = "https://api.stripe.com"
LOCAL_NOTIFY_SECRET = "nsec_local_only"


LOCAL_API_TOKEN = "sfdev_local_only_token"
"""The bearer token `make run` prints; accepted only while the API listens on loopback."""
LOCAL_API_TOKEN_SHA256 = hashlib.sha256(LOCAL_API_TOKEN.encode()).hexdigest()


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SESSIONFLOW_", extra="ignore")

    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    task_queue: str = "sessionflow"

    # Payments default to the loopback Stripe stand-in; a real ``sk_test_…`` key together with
    # ``SESSIONFLOW_STRIPE_API_BASE=https://api.stripe.com`` switches to Stripe test mode.
    stripe_api_key: SecretStr = SecretStr(STANDIN_API_KEY)
    stripe_api_base: str = "http://127.0.0.1:12111"
    stripe_webhook_secret: SecretStr = SecretStr("whsec_standin_local_only")
    stripe_http_timeout_seconds: float = Field(default=8.0, gt=0, le=60)
    stripe_max_network_retries: int = Field(default=1, ge=0, le=5)

    data_dir: Path = Path(".data")
    log_format: Literal["console", "json"] = "console"
    log_level: str = "INFO"

    max_cached_workflows: int = Field(default=1000, ge=0)
    max_concurrent_activities: int = Field(default=100, ge=1)

    # Notifications go to the backend as signed JSON POSTs; by default to the local sink that
    # `make run` starts. An empty URL disables delivery (the activity logs and drops them).
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8000, ge=0, le=65535)
    api_token_sha256: tuple[str, ...] = (LOCAL_API_TOKEN_SHA256,)
    """SHA-256 hex digests of the bearer tokens the API accepts (tokens are never stored)."""

    notify_url: str = "http://127.0.0.1:12112/notifications"
    notify_secret: SecretStr = SecretStr(LOCAL_NOTIFY_SECRET)
    notify_timeout_seconds: float = Field(default=5.0, gt=0, le=60)

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

    @field_validator("notify_secret")
    @classmethod
    def _notify_secret_fits_the_url(cls, value: SecretStr, info: ValidationInfo) -> SecretStr:
        secret = value.get_secret_value()
        if not secret:
            raise ValueError("the notification signing secret must not be empty")
        url = info.data.get("notify_url") or ""  # validated first: it is declared first
        if url and secret == LOCAL_NOTIFY_SECRET and not is_loopback(urlsplit(url).hostname or ""):
            raise ValueError("the built-in secret is for the local sink only; set a real one")
        return value

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

    @property
    def notify_is_loopback(self) -> bool:
        """True when notifications go to a receiver on this machine (the local sink)."""
        return is_loopback(urlsplit(self.notify_url).hostname or "")

    @property
    def stripe_is_loopback(self) -> bool:
        """True when payments go to a Stripe stand-in on this machine."""
        return is_loopback(urlsplit(self.stripe_api_base).hostname or "")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False
