"""deploy/requirements.lock pins every runtime dependency of pyproject.toml, each with hashes,
at a version its specifier allows; the build lock does the same for the build backend."""

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


@pytest.mark.parametrize("requirement", runtime_requirements(), ids=str)
def test_the_lock_pins_every_runtime_dependency_within_its_specifier(requirement: Requirement) -> None:
    pins = read_lock(LOCK)
    name = canonicalize_name(requirement.name)
    assert name in pins, f"{requirement.name} is missing from {LOCK.name}: run deploy/lock.sh"
    version, _ = pins[name]
    assert requirement.specifier.contains(version, prereleases=True), (
        f"{LOCK.name} pins {name}=={version}, outside {requirement.specifier}: run deploy/lock.sh"
    )


def test_every_pin_is_hashed_so_the_image_installs_with_require_hashes() -> None:
    for path in (LOCK, BUILD_LOCK):
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
    project = pyproject()["project"]
    assert isinstance(project, dict)
    runtime = {canonicalize_name(r.name) for r in runtime_requirements()}
    dev_only = {
        canonicalize_name(Requirement(spec).name) for spec in project["optional-dependencies"]["dev"]
    } - runtime
    leaked = dev_only & set(pins)
    # A package can be both a dev tool and a transitive runtime dependency; none of ours is today.
    assert not leaked, f"dev-only packages in the image lock: {sorted(leaked)}"
