"""Workflow code and everything it runs with makes no non-deterministic call.

The worker passes our own modules through the sandbox (``Settings.workflow_sandbox = "fast"``),
so the sandbox no longer stops, say, a ``datetime.now()`` in them at run time; this scan does, in
every CI run, before such a call could reach a worker (the tests also run the strict sandbox).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# What workflows run: the workflow modules, the pure rules, the contract's names and the option
# tables they import (workflows/ holds nothing else: the client side is temporal_client/).
SCANNED = sorted(
    [
        *(ROOT / "domain").glob("*.py"),
        *(ROOT / "contract").glob("*.py"),
        *(ROOT / "workflows").glob("*.py"),
    ]
)
FORBIDDEN_MODULES = {"random", "secrets", "time", "threading", "subprocess", "socket", "httpx", "stripe"}
FORBIDDEN_CALLS = {
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("datetime", "today"),
    ("date", "today"),
    ("uuid", "uuid1"),
    ("uuid", "uuid4"),
    ("os", "getenv"),
    ("os", "urandom"),
}
FORBIDDEN_NAMES = {"print", "open", "input", "uuid4", "uuid1", "getenv"}
FORBIDDEN_ATTRIBUTES = {("os", "environ")}


def violations(path: Path, root: Path = ROOT) -> list[str]:
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        where = f"{path.relative_to(root)}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
            found += [f"{where} imports {name}" for name in names if name.split(".")[0] in FORBIDDEN_MODULES]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in FORBIDDEN_MODULES:
            found.append(f"{where} imports from {node.module}")
        elif isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id in FORBIDDEN_NAMES:
                found.append(f"{where} calls {func.id}()")
            elif (
                isinstance(func, ast.Attribute)
                and isinstance(func.value, ast.Name)
                and (func.value.id, func.attr) in FORBIDDEN_CALLS
            ):
                found.append(f"{where} calls {func.value.id}.{func.attr}()")
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and (node.value.id, node.attr) in FORBIDDEN_ATTRIBUTES
        ):
            found.append(f"{where} reads {node.value.id}.{node.attr}")
    return found


@pytest.mark.parametrize("path", SCANNED, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_non_deterministic_call(path: Path) -> None:
    assert violations(path) == []


def test_the_scan_catches_what_it_is_for(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import random\nfrom datetime import datetime\nimport os\n"
        "def f():\n    print(datetime.now(), os.environ['X'])\n"
    )
    found = " ".join(violations(sample, root=tmp_path))
    for expected in ("imports random", "calls print()", "calls datetime.now()", "reads os.environ"):
        assert expected in found
