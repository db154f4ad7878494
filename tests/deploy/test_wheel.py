"""The wheel (what deploy/Dockerfile installs) holds the production code only, and that code runs
without the development packages: the ``sessionflow`` CLI, the worker and the API import from the
wheel alone with ``dev`` (the Stripe stand-in, the local stack) unimportable."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import sysconfig
import textwrap
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = {
    "domain",
    "contract",
    "workflows",
    "activities",
    "temporal_client",
    "api",
    "observability",
    "ops",
    "worker.py",
    "settings.py",
    "stripe_client.py",
}
DEVELOPMENT = ("dev", "bench", "faults", "tests")
# Not copied for the build: local state (.venv, with the client generator's .venv/codegen), caches,
# and what only a checkout needs.
NOT_BUILT = shutil.ignore_patterns(
    ".git", ".venv*", ".data", "build", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis", "tests"
)

# Run with -S (no site: the editable install's path hooks would reach the checkout) and the wheel's
# files plus the third-party packages as the only paths; dev/bench/faults are refused outright as
# well, so even a stray copy elsewhere could not satisfy an import.
PROBE = textwrap.dedent(
    """
    import importlib.abc, json, sys

    class Refuse(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ModuleNotFoundError(f"{name} is development code", name=name)
            return None

    sys.meta_path.insert(0, Refuse())
    from typer.testing import CliRunner
    import ops.cli, worker, api.app, api.codec_app

    runner = CliRunner()
    commands = (["--help"], ["sessions", "--help"], ["replay", "--help"])
    outputs = [runner.invoke(ops.cli.app, args) for args in commands]
    print(json.dumps({
        "exit_codes": [result.exit_code for result in outputs],
        "help": outputs[0].output,
        "files": sorted({module.__file__ for name, module in sys.modules.items()
                         if name.split(".")[0] in SHIPPED and getattr(module, "__file__", None)}),
        "development_loaded": sorted(name for name in sys.modules if name.split(".")[0] in BLOCKED),
    }))
    """
)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's wheel, built as deploy/Dockerfile builds it (no build isolation, no deps)."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    shutil.copytree(ROOT, source, ignore=NOT_BUILT)
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--wheel-dir",
            str(work / "dist"),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    (built,) = (work / "dist").glob("sessionflow-*.whl")
    return built


def top_level(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return {
            name.split("/")[0] for name in archive.namelist() if not name.split("/")[0].endswith(".dist-info")
        }


def test_the_wheel_holds_the_production_packages_and_nothing_else(wheel: Path) -> None:
    assert top_level(wheel) == SHIPPED


def test_the_cli_worker_and_api_run_from_the_wheel_without_development_code(
    wheel: Path, tmp_path: Path
) -> None:
    installed = tmp_path / "installed"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(installed)
    third_party = sysconfig.get_paths()["purelib"]
    probe = f"BLOCKED = {DEVELOPMENT!r}\nSHIPPED = {sorted(name.removesuffix('.py') for name in SHIPPED)!r}\n"
    completed = subprocess.run(
        [sys.executable, "-S", "-c", probe + PROBE],
        cwd=tmp_path,  # not the checkout: its packages must not be found from the working directory
        env={"PYTHONPATH": f"{installed}:{third_party}", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    assert report["exit_codes"] == [0, 0, 0]
    assert report["development_loaded"] == []
    assert report["files"] and all(path.startswith(str(installed)) for path in report["files"])
    commands = set(re.findall(r"│ (\w+)\s", report["help"]))
    assert {"api", "codec", "worker", "sessions", "replay"} <= commands
    assert "stack" not in commands
