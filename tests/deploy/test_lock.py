"""deploy/requirements.lock pins every runtime dependency of pyproject.toml, each with hashes,
at a version its specifier allows; the build lock does the same for the build backend. The
development lock (requirements-dev.lock, what `make venv` installs) pins the runtime and the dev
extra the same way, at the very versions the image's locks pin. deploy/lock.sh writes all three."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "deploy" / "requirements.lock"
BUILD_LOCK = ROOT / "deploy" / "build-requirements.lock"
DEV_LOCK = ROOT / "requirements-dev.lock"
PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[^\s;\\]+)")


def read_lock(path: Path) -> dict[str, tuple[Version, int]]:
    """{canonical name: (pinned version, number of hashes)}"""
    pins: dict[str, tuple[Version, int]] = {}
    current: str | None = None
    for line in path.read_text().splitlines():
        match = PIN.match(line)
        if match:
            current = canonicalize_name(match["name"])
            pins[current] = (Version(match["version"]), 0)
        elif current and line.strip().startswith("--hash=sha256:"):
            version, hashes = pins[current]
            pins[current] = (version, hashes + 1)
        elif line and not line.startswith(" "):
            current = None
    return pins


def pyproject() -> dict[str, object]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def runtime_requirements() -> list[Requirement]:
    project = pyproject()["project"]
    assert isinstance(project, dict)
    return [Requirement(spec) for spec in project["dependencies"]]


def dev_requirements() -> list[Requirement]:
    project = pyproject()["project"]
    assert isinstance(project, dict)
    return [Requirement(spec) for spec in project["optional-dependencies"]["dev"]]


# The image's lock covers the runtime; the dev lock the runtime and the dev extra.
COVERED = [(LOCK, r) for r in runtime_requirements()] + [
    (DEV_LOCK, r) for r in runtime_requirements() + dev_requirements()
]


@pytest.mark.parametrize(
    ("lock", "requirement"), COVERED, ids=[f"{lock.name}:{requirement}" for lock, requirement in COVERED]
)
def test_each_lock_pins_every_dependency_it_covers_within_its_specifier(
    lock: Path, requirement: Requirement
) -> None:
    pins = read_lock(lock)
    name = canonicalize_name(requirement.name)
    assert name in pins, f"{requirement.name} is missing from {lock.name}: run deploy/lock.sh"
    version, _ = pins[name]
    assert requirement.specifier.contains(version, prereleases=True), (
        f"{lock.name} pins {name}=={version}, outside {requirement.specifier}: run deploy/lock.sh"
    )


def test_every_pin_is_hashed_so_the_image_installs_with_require_hashes() -> None:
    for path in (LOCK, BUILD_LOCK, DEV_LOCK):
        pins = read_lock(path)
        assert pins, f"{path.name} pins nothing"
        unhashed = [name for name, (_, hashes) in pins.items() if hashes == 0]
        assert not unhashed, f"{path.name}: no hashes for {unhashed}"


def test_the_build_lock_pins_a_backend_pyproject_accepts() -> None:
    build_system = pyproject()["build-system"]
    assert isinstance(build_system, dict)
    pins = read_lock(BUILD_LOCK)
    for spec in build_system["requires"]:
        requirement = Requirement(spec)
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} (build-system) is missing from {BUILD_LOCK.name}"
        assert requirement.specifier.contains(pins[name][0])


def test_the_lock_holds_no_dev_only_packages() -> None:
    pins = read_lock(LOCK)
    runtime = {canonicalize_name(r.name) for r in runtime_requirements()}
    dev_only = {canonicalize_name(r.name) for r in dev_requirements()} - runtime
    leaked = dev_only & set(pins)
    # A package can be both a dev tool and a transitive runtime dependency; none of ours is today.
    assert not leaked, f"dev-only packages in the image lock: {sorted(leaked)}"


@pytest.mark.parametrize("image_lock", [LOCK, BUILD_LOCK], ids=lambda path: path.name)
def test_the_dev_lock_holds_the_image_pins_so_tests_run_what_ships(image_lock: Path) -> None:
    dev = read_lock(DEV_LOCK)
    differ = {
        name: (str(version), str(dev[name][0]) if name in dev else "missing")
        for name, (version, _) in read_lock(image_lock).items()
        if name not in dev or dev[name][0] != version
    }
    assert not differ, (
        f"{image_lock.name} vs {DEV_LOCK.name} ({{name: (image, dev)}}): {differ}; run deploy/lock.sh"
    )


def test_make_venv_installs_only_the_hashed_dev_lock_and_the_project_without_dependencies() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert f"DEV_LOCK := {DEV_LOCK.name}" in makefile
    assert "pip install --require-hashes -r $(DEV_LOCK)" in makefile
    assert "pip install --no-deps --no-build-isolation -e ." in makefile
    assert "CODEGEN_LOCK := clients/codegen.lock" in makefile
    # The client generator's own environment (.venv/codegen): its hashed lock only.
    assert "$(CODEGEN)/bin/python -m pip install --require-hashes -r $(CODEGEN_LOCK)" in makefile
    installs = [line for line in makefile.splitlines() if "pip install" in line]
    assert len(installs) == 3, f"an install outside the locks: {installs}"
