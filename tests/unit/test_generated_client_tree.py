"""The typed client in ``clients/python/`` is never edited by hand (issue 16): regenerated from the
committed ``openapi.json`` by ``clients/generate.sh`` (what ``make client`` runs, with the generator
from ``clients/codegen.lock`` in ``.venv/codegen``), it is the committed tree, byte for byte."""

from __future__ import annotations

import re
import subprocess
from fnmatch import fnmatch
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GENERATE = ROOT / "clients" / "generate.sh"
COMMITTED = ROOT / "clients" / "python"
GENERATOR = ROOT / ".venv" / "codegen" / "bin" / "openapi-python-client"
CACHES = ("__pycache__", ".*_cache")


def tree(directory: Path) -> dict[str, bytes]:
    """Every file under ``directory`` by its relative path, caches aside (git ignores them): imports
    write ``__pycache__``, and the project's ``ruff check`` a ``.ruff_cache`` by the tree's own config."""
    return {
        path.relative_to(directory).as_posix(): path.read_bytes()
        for path in directory.rglob("*")
        if path.is_file() and not any(fnmatch(part, pattern) for part in path.parts for pattern in CACHES)
    }


def test_the_committed_client_is_exactly_what_the_generator_makes_of_openapi_json(tmp_path: Path) -> None:
    assert GENERATOR.is_file(), "no .venv/codegen: `make test` (or `make client`) creates it"
    output = tmp_path / "python"

    run = subprocess.run(
        [str(GENERATE), str(output)], capture_output=True, text=True, timeout=120, check=False
    )

    assert run.returncode == 0, run.stdout + run.stderr
    generated, committed = tree(output), tree(COMMITTED)
    differ = sorted(
        name for name in generated.keys() | committed.keys() if generated.get(name) != committed.get(name)
    )
    assert differ == [], f"clients/python/ is not what openapi.json generates: run `make client` ({differ})"
    assert "sessionflow_client/api/sessions/book_session.py" in committed  # not two empty trees


def test_the_generator_formats_with_the_ruff_the_project_checks_with() -> None:
    """Two pins of one tool (review): if ``clients/codegen.in`` moved without ``pyproject.toml``,
    the generated tree would fail the project's ``ruff format --check``."""

    def ruff_pin(text: str) -> str:
        pins = re.findall(r'^\s*"?ruff==([0-9.]+)"?,?\s*$', text, flags=re.MULTILINE)
        assert len(pins) == 1, pins
        return str(pins[0])

    project = ruff_pin((ROOT / "pyproject.toml").read_text())
    generator = ruff_pin((ROOT / "clients" / "codegen.in").read_text())

    assert generator == project
