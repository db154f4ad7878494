"""Settings as a process builds them from its environment (pydantic-settings' own parsing: JSON
lists, booleans, numbers), so a manifest's strings are checked exactly as a pod would read them."""

from __future__ import annotations

import os
from unittest import mock

from settings import Settings

FIELDS = {f"SESSIONFLOW_{name.upper()}" for name in Settings.model_fields}


def settings_from_environment(environment: dict[str, str]) -> Settings:
    unknown = {key for key in environment if key.startswith("SESSIONFLOW_")} - FIELDS
    assert not unknown, f"not settings: {sorted(unknown)}"
    clean = {key: value for key, value in os.environ.items() if not key.startswith("SESSIONFLOW_")}
    with mock.patch.dict(os.environ, {**clean, **environment}, clear=True):
        return Settings()
