"""deploy/Dockerfile and .dockerignore, read as text (no container engine here): multi-stage, built
from the hashed lock, bytecode compiled, non-root, tini as PID 1, no bytecode switch-off."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from settings import Settings
from tests.deploy.support import image_environment, instructions

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "deploy" / "Dockerfile").read_text()


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


def copied_sources() -> set[str]:
    """What the build stage copies from the context (every COPY's sources, not its destination)."""
    sources: set[str] = set()
    for keyword, rest in stages()[0]:
        if keyword == "COPY" and not rest.startswith("--from"):
            sources.update(rest.split()[:-1])
    return sources


def test_the_build_copies_exactly_what_the_wheel_ships() -> None:
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    packages = {f"{name.split('.')[0]}/" for name in setuptools["packages"]}
    modules = {f"{name}.py" for name in setuptools["py-modules"]}
    copied = copied_sources() - {"deploy/requirements.lock", "deploy/build-requirements.lock"}
    assert copied == packages | modules | {"pyproject.toml"}


def test_development_code_is_neither_in_the_context_nor_copied() -> None:
    ignored = set((ROOT / ".dockerignore").read_text().split())
    for development in ("dev", "bench", "faults", "tests"):
        assert development in ignored
        assert f"{development}/" not in copied_sources()


def test_dockerignore_keeps_secrets_and_local_state_out_of_the_context() -> None:
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".git", ".venv", ".data", "deploy/.env", "**/.env"} <= ignored


def test_the_image_carries_its_build_id_from_the_build_arg() -> None:
    built = image_environment({"SESSIONFLOW_BUILD_ID": "3f2a9c1d0e4b"})
    assert built["SESSIONFLOW_WORKER_BUILD_ID"] == "3f2a9c1d0e4b"
    runtime = stages()[-1]
    assert ("LABEL", "org.opencontainers.image.version=${SESSIONFLOW_BUILD_ID}") in runtime
    # Without the argument the image has no build id (not a made-up one such as "latest" or "dev"):
    # a versioned worker refuses to start from it.
    assert image_environment({})["SESSIONFLOW_WORKER_BUILD_ID"] == ""


def test_the_build_id_is_declared_after_every_expensive_layer() -> None:
    """A new build id (every commit) must not invalidate the dependency install or the compileall:
    the argument is declared only in the runtime stage, after its last RUN and COPY."""
    for stage in stages()[:-1]:
        assert all("SESSIONFLOW_BUILD_ID" not in rest for _, rest in stage)
    runtime = stages()[-1]
    declared = runtime.index(("ARG", "SESSIONFLOW_BUILD_ID="))
    assert all(keyword not in ("RUN", "COPY") for keyword, _ in runtime[declared:])


@pytest.mark.parametrize("build_id", ["0.1.0", "v2026.12.04-3f2a9c1", "3f2a9c1d0e4b"])
def test_image_tags_are_valid_build_ids(build_id: str) -> None:
    settings = Settings(worker_deployment_name="sessionflow", worker_build_id=build_id)
    assert settings.worker_versioned and settings.worker_build_id == build_id
