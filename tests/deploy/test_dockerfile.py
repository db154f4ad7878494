"""deploy/Dockerfile and .dockerignore, read as text (no container engine here): multi-stage, built
from the hashed lock, bytecode compiled, non-root, tini as PID 1, no bytecode switch-off."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "deploy" / "Dockerfile").read_text()


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


def stages() -> list[list[tuple[str, str]]]:
    found: list[list[tuple[str, str]]] = []
    for keyword, rest in instructions(DOCKERFILE):
        if keyword == "FROM":
            found.append([])
        if found:
            found[-1].append((keyword, rest))
    return found


def test_it_is_multi_stage_and_the_runtime_copies_only_the_built_virtualenv() -> None:
    built = stages()
    assert len(built) >= 2
    runtime = built[-1]
    copies = [rest for keyword, rest in runtime if keyword == "COPY"]
    assert copies == ["--from=build /opt/venv /opt/venv"]


def test_dependencies_come_only_from_the_hashed_locks() -> None:
    runs = " ".join(rest for keyword, rest in stages()[0] if keyword == "RUN")
    assert "--require-hashes --no-deps -r deploy/requirements.lock" in runs
    assert "--require-hashes --no-deps -r deploy/build-requirements.lock" in runs
    # The project itself: no dependency resolution and no index, so nothing unpinned slips in.
    assert "--no-deps --no-build-isolation" in runs
    assert "--no-deps --no-index /wheels/" in runs


def test_bytecode_is_compiled_at_build_and_never_switched_off() -> None:
    runs = " ".join(rest for keyword, rest in stages()[0] if keyword == "RUN")
    assert "-m compileall" in runs and "site-packages" in runs
    for keyword, rest in stages()[-1]:
        if keyword == "ENV":
            assert "PYTHONDONTWRITEBYTECODE" not in rest
            assert "PYTHONPYCACHEPREFIX" not in rest


def test_the_runtime_runs_as_a_numeric_non_root_user_under_tini() -> None:
    runtime = dict(stages()[-1])
    user = runtime["USER"].split(":")[0]
    assert user.isdigit() and int(user) >= 1000
    assert runtime["ENTRYPOINT"].startswith('["/usr/bin/tini", "--", "sessionflow"')


def test_every_source_package_the_wheel_needs_is_copied() -> None:
    copied = " ".join(rest for keyword, rest in stages()[0] if keyword == "COPY")
    text = (ROOT / "pyproject.toml").read_text()
    packages = re.search(r"packages = \[(.*?)\]", text)
    assert packages
    top_level = {name.strip().strip('"').split(".")[0] for name in packages.group(1).split(",")}
    for package in top_level:
        assert f"{package}/" in copied, f"deploy/Dockerfile does not copy {package}/"
    for module in ("worker.py", "settings.py", "pyproject.toml"):
        assert module in copied


def test_dockerignore_keeps_secrets_and_local_state_out_of_the_context() -> None:
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".git", ".venv", ".data", "deploy/.env", "**/.env"} <= ignored
