"""The README's import table is true: every top-level package imports only what its row allows.

README.md ("Architecture", the table ``| path | holds | may import |``) is the one statement of the
layering, and this test reads it: a new import across layers fails here until the table says so,
and a row that promises too much fails as soon as the code breaks it. Imports are read from the
syntax tree (nothing is executed), wherever they are — a function-local import counts too.
"""

from __future__ import annotations

import ast
import importlib.util
import re
import sys
import textwrap
from pathlib import Path

import pytest

from tests.imports import module_imports

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
HEADER = "| path | holds | may import |"
UNRESTRICTED = "everything"
STDLIB = frozenset(sys.stdlib_module_names) | {"__future__"}
# Matches ``workflow.unsafe.…`` and ``unsafe.…`` (after ``from temporalio.workflow import unsafe``).
PASSED_THROUGH = "unsafe.imports_passed_through()"


def table(text: str) -> dict[str, frozenset[str] | None]:
    """{top-level module: the names its row allows (None: anything)} from the README's table.

    The allowed names are the comma-separated words before a "—" in the last column (what follows
    the dash is commentary); ``stdlib`` may be written but is always allowed.
    """
    lines = text.splitlines()
    start = lines.index(HEADER) + 2  # past the header and its |---| line
    rows: dict[str, frozenset[str] | None] = {}
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        path_cell, _, allowed_cell = (cell.strip() for cell in line.strip().strip("|").split(" | "))
        words = {word.strip(" `") for word in allowed_cell.split("—")[0].split(",")} - {"", "stdlib"}
        allowed = None if UNRESTRICTED in words else frozenset(words)
        for path in re.findall(r"`([^`]+)`", path_cell):
            rows[path.removesuffix("/").removesuffix(".py")] = allowed
    return rows


ROWS = table(README.read_text(encoding="utf-8"))


def own_modules() -> dict[str, list[Path]]:
    """Every top-level package and module of the repository, with its Python files."""
    modules = {path.stem: [path] for path in ROOT.glob("*.py")}
    for package in ROOT.iterdir():
        if (package / "__init__.py").is_file():
            modules[package.name] = sorted(package.rglob("*.py"))
    return modules


OWN = own_modules()


def violations(module: str, files: list[Path], allowed: frozenset[str], root: Path = ROOT) -> list[str]:
    found = []
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for line, name in module_imports(tree):
            top = name.split(".")[0]
            if top != module and top not in STDLIB and top not in allowed:
                found.append(f"{path.relative_to(root)}:{line} imports {name}")
    return found


def imports_outside_passthrough(tree: ast.AST, package: str) -> list[int]:
    """Lines importing ``package`` outside a ``with workflow.unsafe.imports_passed_through():``."""
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.With) and any(
            ast.unparse(item.context_expr).endswith(PASSED_THROUGH) for item in node.items
        ):
            inside.update(id(child) for child in ast.walk(node))
    lines = []
    for node in ast.walk(tree):
        if id(node) in inside:
            continue
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        if any(name.split(".")[0] == package for name in names):
            lines.append(node.lineno)
    return lines


def test_every_top_level_package_has_a_row_and_every_row_exists() -> None:
    assert set(OWN) - set(ROWS) == set(), "packages missing from the README's table"
    for path in ROWS:
        assert (ROOT / path).is_dir() or (ROOT / f"{path}.py").is_file(), f"the table lists {path}"
    # What the walk must see, so an empty or misparsed table cannot pass vacuously.
    assert {"domain", "contract", "workflows", "activities", "temporal_client", "api", "worker"} <= set(OWN)
    assert ROWS["contract"] == frozenset({"domain", "temporalio"})


def test_every_name_the_table_allows_exists() -> None:
    """A misspelt name would allow nothing and hide the mistake; a third-party one must import."""
    for row, allowed in ROWS.items():
        for name in allowed or ():
            assert name in OWN or importlib.util.find_spec(name) is not None, f"{row}: {name}?"


# A module without a row fails the test above; "everything" (tests/) needs no walk.
@pytest.mark.parametrize("module", sorted(module for module in OWN if ROWS.get(module) is not None))
def test_the_module_imports_only_what_its_row_allows(module: str) -> None:
    allowed = ROWS[module]
    assert allowed is not None
    assert violations(module, OWN[module], allowed) == []


def test_nothing_that_ships_imports_development_code() -> None:
    """The wheel must work without dev/, bench/, faults/ and tests/ (tests/deploy/test_wheel.py)."""
    development = {"dev", "bench", "faults", "tests"}
    for module in ("domain", "contract", "temporal_client", "activities", "workflows", "api", "ops"):
        allowed = ROWS[module]
        assert allowed is not None and not allowed & development, module
    for module in ("worker", "settings", "stripe_client", "observability"):
        allowed = ROWS[module]
        assert allowed is not None and not allowed & development, module


@pytest.mark.parametrize("path", sorted((ROOT / "workflows").glob("*.py")), ids=lambda path: path.name)
def test_workflows_import_activities_only_through_the_sandbox(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    assert imports_outside_passthrough(tree, "activities") == []


def test_the_checks_catch_what_they_guard_against(tmp_path: Path) -> None:
    module = tmp_path / "api" / "routes.py"
    module.parent.mkdir()
    module.write_text(
        textwrap.dedent(
            """
            import os
            import fastapi
            from activities.practice import cancel_future_sessions
            from api.models import Body

            def later():
                from dev.stack import main
                importlib.import_module("workflows.session")
            """
        )
    )
    found = violations("api", [module], frozenset({"fastapi"}), root=tmp_path)
    assert [entry.split(" imports ")[1] for entry in found] == [
        "activities.practice",
        "dev.stack",
        "workflows.session",
    ]

    workflow_code = ast.parse(
        textwrap.dedent(
            """
            from temporalio import workflow
            from activities.payments import PaymentActivities

            with workflow.unsafe.imports_passed_through():
                from activities.notifications import NotificationActivities
            with unsafe.imports_passed_through():
                import activities.practice
            """
        )
    )
    assert imports_outside_passthrough(workflow_code, "activities") == [3]

    rows = table(
        f"{HEADER}\n|---|---|---|\n| `a/`, `b.py` | x | c, stdlib — but `d` |\n"
        "| `e/` | x | everything |\n| `f/` | x | — |\n\nafter"
    )
    assert rows == {"a": {"c"}, "b": {"c"}, "e": None, "f": frozenset()}
