"""Typed configuration for every Sessionflow process, read from the environment.

Every variable is prefixed ``SESSIONFLOW_`` (``SESSIONFLOW_TEMPORAL_ADDRESS`` …). Settings are
read when a process starts (``Settings()``), never at import time, so tests can build their own.
"""

from __future__ import annotations

from ipaddress import ip_address
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

STANDIN_API_KEY = "sk_test_standin"
REAL_STRIPE_API_BASE = "https://api.stripe.com"


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

    @field_validator("stripe_api_key")
    @classmethod
    def _refuse_live_keys(cls, value: SecretStr) -> SecretStr:
        secret = value.get_secret_value()
        if secret.startswith(("sk_live_", "rk_live_")):
            raise ValueError("live Stripe keys are refused; Sessionflow runs on test keys only")
        if not secret.startswith(("sk_test_", "rk_test_")):
            raise ValueError("the Stripe key must be a test key (sk_test_… or rk_test_…)")
        return value

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
