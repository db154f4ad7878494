"""The domain package is pure rules: no Temporal, Stripe or web imports, and it never reads the clock.

Workflow code must be deterministic (``workflow.now()``, never ``datetime.now()``), and the domain is
imported into the workflow sandbox, so every time-dependent rule takes ``now`` as an argument.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.imports import imported_modules

DOMAIN = Path(__file__).resolve().parents[2] / "domain"
MODULES = sorted(DOMAIN.rglob("*.py"))

FORBIDDEN_MODULES = frozenset(
    {"temporalio", "stripe", "fastapi", "starlette", "httpx", "requests", "os", "time", "random", "uuid"}
)
"""Frameworks and SDKs, and the stdlib modules that read the environment, the clock or randomness."""
ALLOWED_THIRD_PARTY = frozenset({"pydantic", "pydantic_core", "domain"})
CLOCK_READS = frozenset({"now", "utcnow", "today"})


def forbidden_imports(tree: ast.AST) -> list[str]:
    return sorted(name for name in imported_modules(tree) if name.split(".")[0] in FORBIDDEN_MODULES)


def foreign_imports(tree: ast.AST) -> list[str]:
    """Imports that are neither the standard library nor pydantic nor the domain itself."""
    allowed = set(sys.stdlib_module_names) | ALLOWED_THIRD_PARTY | {"__future__"}
    return sorted(name for name in imported_modules(tree) if name.split(".")[0] not in allowed)


def clock_reads(tree: ast.AST) -> list[str]:
    """Calls such as ``datetime.now()``, ``datetime.utcnow()`` or ``date.today()``."""
    reads = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in CLOCK_READS
        ):
            reads.append(f"line {node.lineno}: {ast.unparse(node.func)}()")
    return reads


def parse(path: Path) -> ast.AST:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def test_the_walk_sees_every_domain_module() -> None:
    names = {path.stem for path in MODULES}
    assert {
        "ids",
        "status",
        "errors",
        "policy",
        "money",
        "booking",
        "commands",
        "payments",
        "state",
        "ledger",
    } <= names


@pytest.mark.parametrize("path", MODULES, ids=lambda path: str(path.relative_to(DOMAIN)))
def test_domain_module_imports_no_sdk_framework_or_nondeterministic_stdlib(path: Path) -> None:
    assert forbidden_imports(parse(path)) == []


@pytest.mark.parametrize("path", MODULES, ids=lambda path: str(path.relative_to(DOMAIN)))
def test_domain_module_imports_only_stdlib_and_pydantic(path: Path) -> None:
    assert foreign_imports(parse(path)) == []


@pytest.mark.parametrize("path", MODULES, ids=lambda path: str(path.relative_to(DOMAIN)))
def test_domain_module_never_reads_the_clock(path: Path) -> None:
    assert clock_reads(parse(path)) == []


def test_the_checks_catch_what_they_guard_against() -> None:
    impure = ast.parse(
        textwrap.dedent(
            """
            import os
            import temporalio.workflow
            from stripe import StripeClient
            from time import monotonic
            import importlib
            from datetime import date, datetime as dt
            import yaml

            def when():
                importlib.import_module("httpx")
                __import__("uuid")
                return dt.now(), datetime.utcnow(), date.today()
            """
        )
    )
    assert forbidden_imports(impure) == ["httpx", "os", "stripe", "temporalio.workflow", "time", "uuid"]
    assert foreign_imports(impure) == ["httpx", "stripe", "temporalio.workflow", "yaml"]
    assert [read.split(": ")[1] for read in clock_reads(impure)] == [
        "dt.now()",
        "datetime.utcnow()",
        "date.today()",
    ]

    pure = ast.parse("from datetime import datetime, timedelta\nfrom pydantic import BaseModel\n")
    assert forbidden_imports(pure) == foreign_imports(pure) == clock_reads(pure) == []


def test_importing_the_domain_loads_no_sdk_or_framework() -> None:
    dotted = (".".join(path.relative_to(DOMAIN.parent).with_suffix("").parts) for path in MODULES)
    modules = ", ".join(name.removesuffix(".__init__") for name in dotted)
    probe = (
        f"import sys, {modules}\n"
        "banned = ('temporalio', 'stripe', 'fastapi', 'starlette', 'httpx')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in banned))\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=DOMAIN.parent,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "[]"
