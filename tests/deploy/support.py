"""Settings as a process builds them from its environment (pydantic-settings' own parsing: JSON
lists, booleans, numbers), so a manifest's strings are checked exactly as a pod would read them;
and the environment an image built from deploy/Dockerfile gives its processes (no container
engine here: the Dockerfile's ARG and ENV instructions are evaluated as the builder would)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from unittest import mock

from settings import Settings

FIELDS = {f"SESSIONFLOW_{name.upper()}" for name in Settings.model_fields}
DOCKERFILE = Path(__file__).resolve().parents[2] / "deploy" / "Dockerfile"


def settings_from_environment(environment: dict[str, str]) -> Settings:
    unknown = {key for key in environment if key.startswith("SESSIONFLOW_")} - FIELDS
    assert not unknown, f"not settings: {sorted(unknown)}"
    clean = {key: value for key, value in os.environ.items() if not key.startswith("SESSIONFLOW_")}
    with mock.patch.dict(os.environ, {**clean, **environment}, clear=True):
        return Settings()


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    joined = re.sub(
        r"\\\n", " ", "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    )
    result = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, rest = line.strip().partition(" ")
            result.append((keyword.upper(), rest.strip()))
    return result


def image_environment(build_args: dict[str, str]) -> dict[str, str]:
    """The ``SESSIONFLOW_*`` variables the runtime image sets, built with these ``--build-arg``s.

    Only the last stage counts (the image); an ARG is in scope from its declaration in that stage
    on, with the build arg's value or else its default; ``${NAME}`` / ``$NAME`` of anything else
    is left alone. ENV values here hold no spaces (quoting is not evaluated, and is not used).
    """
    stage: list[tuple[str, str]] = []
    for keyword, rest in instructions(DOCKERFILE.read_text()):
        stage = [] if keyword == "FROM" else [*stage, (keyword, rest)]
    args: dict[str, str] = {}
    environment: dict[str, str] = {}

    def expand(value: str) -> str:
        return re.sub(
            r"\$\{(\w+)\}|\$(\w+)",
            lambda m: args.get(m.group(1) or m.group(2), m.group(0)),
            value,
        )

    for keyword, rest in stage:
        if keyword == "ARG":
            name, _, default = rest.partition("=")
            args[name] = build_args.get(name, default)
        elif keyword == "ENV":
            for pair in rest.split():
                name, equals, value = pair.partition("=")
                assert equals, f"ENV {pair}: only NAME=value pairs are evaluated here"
                environment[name] = expand(value)
    return {name: value for name, value in environment.items() if name.startswith("SESSIONFLOW_")}
