"""Workflow code and everything it runs with makes no non-deterministic call.

The worker passes our own modules through the sandbox (``worker.OWN_WORKFLOW_MODULES``, with
``Settings.workflow_sandbox = "fast"``), so the sandbox no longer stops, say, a ``datetime.now()``
in them at run time; this scan does, in every CI run, before such a call could reach a worker (the
tests also run the strict sandbox). The scan covers every module in ``OWN_WORKFLOW_MODULES``:
adding a package there extends it, with the full rules unless the package is listed below.

Two sets of rules, by where the code runs:

* Every passed-through module (``module_rules``): it is imported once per process, outside any
  workflow, and its module-level objects are then shared by every workflow run on the worker. So
  its module-level code must not read the clock, randomness or the environment (the value would
  differ between the worker that recorded a history and the one replaying it), and it holds no
  module-level mutable containers (``[]``, ``{}``, ``set()``, ``dict()``, ``defaultdict()``, a
  comprehension, …): state one run mutates leaks into the next. Constants are tuples, frozensets,
  ``MappingProxyType`` or ``Final`` scalars.
* Modules whose functions workflow code executes (``workflows``, ``contract``, ``domain``, and any
  package added to ``OWN_WORKFLOW_MODULES`` and not listed in ``ACTIVITY_CONTEXT_ONLY``): the full
  rules as well, in every function: no forbidden import, no clock, randomness, uuid, environment or
  I/O, however the name is imported or aliased (``import datetime as dt; dt.datetime.now()``,
  ``from datetime import datetime as D; D.now()``, ``from time import monotonic``), no event loop
  clock (``asyncio.get_event_loop().time()``, ``loop.time()``: use ``workflow.now()``), and no
  iteration whose order depends on string hashing (``PYTHONHASHSEED`` differs per process): a
  ``for`` or a list/dict comprehension or generator, or ``list``/``tuple``/``enumerate``/``iter``/
  ``zip``/``str.join`` over a set. Membership (``x in a_set``) and order-free consumers
  (``sorted``, ``any``, ``all``, ``sum``, ``min``, ``max``, ``len``, ``set``, ``frozenset``, a set
  comprehension) are fine.

``ACTIVITY_CONTEXT_ONLY`` lists the passed-through packages whose functions run only outside
workflows, with the reason; they get the module-level rules only (activities read the clock to
sign a request, observability times API requests, settings read the environment at start-up).

Limits (best effort, by syntax): a set is recognised as a set display or comprehension, a
``set(...)``/``frozenset(...)`` call, ``|``/``&``/``-``/``^`` of one, or a name or attribute
annotated ``set``/``frozenset``/``AbstractSet``/``MutableSet`` (or assigned a set) anywhere in the
same module; a set returned by a function or typed in another module is not, nor is ``*a_set``.
Names are resolved through the module's own imports only.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from worker import OWN_WORKFLOW_MODULES

ROOT = Path(__file__).resolve().parents[2]

ACTIVITY_CONTEXT_ONLY = {
    "activities": "activity bodies run in activity context (they sign with the clock, call Stripe, "
    "Temporal, the backend); the workflows import them only for their names and types",
    "settings": "read from the environment when a process starts, never inside a workflow",
    "observability": "logging, metrics and health run in the worker and the API; inside a workflow "
    "only the log processors run, and they read workflow.info(), not the clock",
}


def module_files(name: str) -> list[Path]:
    package = ROOT / name
    if package.is_dir():
        return sorted(package.rglob("*.py"))
    return [ROOT / f"{name}.py"]


SCANNED = [
    (path, name not in ACTIVITY_CONTEXT_ONLY) for name in OWN_WORKFLOW_MODULES for path in module_files(name)
]

FORBIDDEN_MODULES = {"random", "secrets", "time", "threading", "subprocess", "socket", "httpx", "stripe"}
# What a value read at import could come from that differs between processes (the I/O modules
# above only matter where workflow code calls them; their types may be named anywhere).
NON_DETERMINISTIC_MODULES = {"random", "secrets", "time"}
FORBIDDEN_QUALNAMES = {
    "datetime.datetime.now",
    "datetime.datetime.utcnow",
    "datetime.datetime.today",
    "datetime.date.today",
    "datetime.now",  # ``import datetime as dt; dt.now()``: not a function, but meant as one
    "datetime.utcnow",
    "datetime.today",
    "uuid.uuid1",
    "uuid.uuid4",
    "os.getenv",
    "os.urandom",
    "os.environ",
    "asyncio.get_event_loop",
    "asyncio.get_running_loop",
    "asyncio.new_event_loop",
}
FORBIDDEN_BUILTINS = {"print", "open", "input"}
LOOP_NAMES = {"loop", "_loop", "event_loop"}
MUTABLE_FACTORIES = {
    "list",
    "dict",
    "set",
    "bytearray",
    "collections.defaultdict",
    "collections.OrderedDict",
    "collections.Counter",
    "collections.deque",
    "collections.ChainMap",
}
SET_FACTORIES = {"set", "frozenset"}
SET_ANNOTATIONS = {"set", "frozenset", "Set", "FrozenSet", "AbstractSet", "MutableSet"}
ORDER_FREE = {"sorted", "any", "all", "sum", "min", "max", "len", "set", "frozenset"}
ORDERED_CONSUMERS = {"list", "tuple", "enumerate", "iter", "zip"}


class _Module:
    def __init__(self, tree: ast.Module) -> None:
        self.aliases: dict[str, str] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        self.aliases[alias.asname] = alias.name
                    else:
                        root = alias.name.split(".")[0]
                        self.aliases[root] = root
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for alias in node.names:
                    self.aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        self.set_names = self._set_names(tree)

    def qualname(self, node: ast.expr) -> str | None:
        if isinstance(node, ast.Name):
            return self.aliases.get(node.id, node.id)
        if isinstance(node, ast.Attribute):
            base = self.qualname(node.value)
            return f"{base}.{node.attr}" if base is not None else None
        return None

    def _set_names(self, tree: ast.Module) -> set[str]:
        names: set[str] = set()
        for node in ast.walk(tree):
            annotation = node.annotation if isinstance(node, ast.AnnAssign | ast.arg) else None
            target = (
                node.target
                if isinstance(node, ast.AnnAssign)
                else node
                if isinstance(node, ast.arg)
                else None
            )
            if annotation is not None and self._annotated_set(annotation):
                names.add(_bare_name(target))
            elif isinstance(node, ast.Assign) and self._is_set(node.value, names):
                names.update(_bare_name(t) for t in node.targets)
        names.discard("")
        return names

    def _annotated_set(self, annotation: ast.expr) -> bool:
        if isinstance(annotation, ast.Subscript):
            annotation = annotation.value
        name = self.qualname(annotation) or ""
        return name.rsplit(".", 1)[-1] in SET_ANNOTATIONS

    def _is_set(self, node: ast.expr, names: set[str] | None = None) -> bool:
        names = self.set_names if names is None else names
        if isinstance(node, ast.Set | ast.SetComp):
            return True
        if isinstance(node, ast.Call):
            return self.qualname(node.func) in SET_FACTORIES
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr | ast.BitAnd | ast.Sub | ast.BitXor):
            return self._is_set(node.left, names) or self._is_set(node.right, names)
        return isinstance(node, ast.Name | ast.Attribute) and _bare_name(node) in names

    def is_set(self, node: ast.expr) -> bool:
        return self._is_set(node)


def _bare_name(node: ast.AST | None) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.arg):
        return node.arg
    return ""


def _module_level(tree: ast.Module) -> Iterator[ast.stmt]:
    """Statements that run at import (not in a function or class body's methods)."""
    stack: list[ast.stmt] = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        yield node
        if isinstance(node, ast.ClassDef):
            continue  # class attributes: checked for calls below, not as module state
        for field in ("body", "orelse", "finalbody", "handlers"):
            for child in getattr(node, field, []):
                if isinstance(child, ast.ExceptHandler):
                    stack.extend(child.body)
                elif isinstance(child, ast.stmt):
                    stack.append(child)


def _expressions(stmt: ast.stmt) -> Iterator[ast.AST]:
    """The nodes of a statement that run with it (not function bodies, defaults aside)."""
    stack: list[ast.AST] = [stmt]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            continue
        stack.extend(c for c in ast.iter_child_nodes(node) if not isinstance(c, ast.stmt) or node is stmt)


def _forbidden_use(module: _Module, node: ast.AST, modules: set[str] = FORBIDDEN_MODULES) -> str | None:
    if isinstance(node, ast.Call):
        func = node.func
        if isinstance(func, ast.Name) and func.id in FORBIDDEN_BUILTINS and func.id not in module.aliases:
            return f"calls {func.id}()"
        if isinstance(func, ast.Attribute) and func.attr == "time":
            receiver = func.value
            if _bare_name(receiver) in LOOP_NAMES or (
                isinstance(receiver, ast.Call)
                and (module.qualname(receiver.func) or "") in FORBIDDEN_QUALNAMES
            ):
                return "reads the event loop's clock (use workflow.now())"
        return None
    if not isinstance(node, ast.Name | ast.Attribute) or not isinstance(node.ctx, ast.Load):
        return None
    name = module.qualname(node)
    if name is None:
        return None
    if name in FORBIDDEN_QUALNAMES or ("." in name and name.split(".")[0] in modules):
        return f"uses {name}"
    return None


def _mutable(module: _Module, value: ast.expr | None) -> bool:
    if isinstance(value, ast.List | ast.Dict | ast.Set | ast.ListComp | ast.DictComp | ast.SetComp):
        return True
    return isinstance(value, ast.Call) and module.qualname(value.func) in MUTABLE_FACTORIES


def _set_iterations(module: _Module, tree: ast.Module) -> Iterator[tuple[int, str]]:
    parents: dict[ast.AST, ast.AST] = {}
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            parents[child] = node
    for node in ast.walk(tree):
        if isinstance(node, ast.For | ast.AsyncFor) and module.is_set(node.iter):
            yield node.lineno, "iterates over a set (order varies with PYTHONHASHSEED)"
        elif isinstance(node, ast.ListComp | ast.DictComp | ast.GeneratorExp):
            parent = parents.get(node)
            order_free = (
                isinstance(node, ast.GeneratorExp)
                and isinstance(parent, ast.Call)
                and (module.qualname(parent.func) or "") in ORDER_FREE
            )
            if not order_free and any(module.is_set(gen.iter) for gen in node.generators):
                yield node.lineno, "iterates over a set in a comprehension (order varies with PYTHONHASHSEED)"
        elif isinstance(node, ast.Call) and any(module.is_set(arg) for arg in node.args):
            func = node.func
            consumer = module.qualname(func) in ORDERED_CONSUMERS or (
                isinstance(func, ast.Attribute) and func.attr == "join"
            )
            if consumer:
                yield (
                    node.lineno,
                    f"orders a set with {ast.unparse(func)}() (order varies with PYTHONHASHSEED)",
                )


def violations_in(source: str, filename: str, *, workflow_code: bool = True) -> list[str]:
    tree = ast.parse(source, filename=filename)
    module = _Module(tree)
    found: list[tuple[int, str]] = []
    # Every passed-through module: nothing non-deterministic at import, no mutable module state.
    for stmt in _module_level(tree):
        if isinstance(stmt, ast.Assign | ast.AnnAssign):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            dunder = all(_bare_name(t).startswith("__") for t in targets)  # ``__all__``: for import tools
            if not dunder and _mutable(module, stmt.value):
                found.append(
                    (
                        stmt.lineno,
                        "holds module-level mutable state (use a tuple, frozenset, MappingProxyType)",
                    )
                )
        if not isinstance(stmt, ast.Import | ast.ImportFrom):
            for node in _expressions(stmt):
                if (problem := _forbidden_use(module, node, NON_DETERMINISTIC_MODULES)) is not None:
                    found.append((getattr(node, "lineno", stmt.lineno), f"{problem} at import"))
    if workflow_code:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found += [
                    (node.lineno, f"imports {a.name}")
                    for a in node.names
                    if a.name.split(".")[0] in FORBIDDEN_MODULES
                ]
            elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in FORBIDDEN_MODULES:
                found.append((node.lineno, f"imports from {node.module}"))
            elif (problem := _forbidden_use(module, node)) is not None:
                found.append((getattr(node, "lineno", 0), problem))
        found += _set_iterations(module, tree)
    return [f"{filename}:{line} {problem}" for line, problem in sorted(set(found))]


def violations(path: Path, root: Path = ROOT, *, workflow_code: bool = True) -> list[str]:
    return violations_in(path.read_text(), str(path.relative_to(root)), workflow_code=workflow_code)


def test_the_scan_covers_every_module_the_worker_passes_through() -> None:
    assert set(ACTIVITY_CONTEXT_ONLY) <= set(OWN_WORKFLOW_MODULES)
    scanned = {path for path, _ in SCANNED}
    for name in OWN_WORKFLOW_MODULES:
        files = module_files(name)
        assert files and all(path.exists() for path in files), name
        assert set(files) <= scanned
    full = {path.relative_to(ROOT).parts[0] for path, workflow_code in SCANNED if workflow_code}
    assert {"workflows", "contract", "domain"} <= full


@pytest.mark.parametrize(
    ("path", "workflow_code"), SCANNED, ids=lambda p: str(p.relative_to(ROOT)) if isinstance(p, Path) else ""
)
def test_no_non_deterministic_call(path: Path, workflow_code: bool) -> None:
    assert violations(path, workflow_code=workflow_code) == []


def test_the_scan_catches_what_it_is_for(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import random\nfrom datetime import datetime\nimport os\n"
        "def f():\n    print(datetime.now(), os.environ['X'])\n"
    )
    found = " ".join(violations(sample, root=tmp_path))
    for expected in ("imports random", "calls print()", "uses datetime.datetime.now", "uses os.environ"):
        assert expected in found


# Each was missed by the scan before issue 11 (it matched only the bare ``datetime.now()`` spelling,
# never iteration order or module state).
MISSED_BEFORE = {
    "qualified": (
        "import datetime\ndef f():\n    return datetime.datetime.now()\n",
        "uses datetime.datetime.now",
    ),
    "module alias": ("import datetime as dt\ndef f():\n    return dt.now()\n", "uses datetime.now"),
    "class alias": (
        "from datetime import datetime as D\ndef f():\n    return D.now()\n",
        "uses datetime.datetime.now",
    ),
    "alias utcnow": (
        "import datetime as dt\ndef f():\n    return dt.datetime.utcnow()\n",
        "uses datetime.datetime.utcnow",
    ),
    "from uuid": ("from uuid import uuid4 as new_id\ndef f():\n    return new_id()\n", "uses uuid.uuid4"),
    "loop clock": (
        "import asyncio\ndef f():\n    return asyncio.get_event_loop().time()\n",
        "reads the event loop's clock",
    ),
    "running loop": (
        "import asyncio\ndef f():\n    return asyncio.get_running_loop()\n",
        "uses asyncio.get_running_loop",
    ),
    "loop.time": ("def f(loop):\n    return loop.time()\n", "reads the event loop's clock"),
    "monotonic": ("from time import monotonic\ndef f():\n    return monotonic()\n", "uses time.monotonic"),
    "set literal": ("def f(out):\n    for x in {'a', 'b'}:\n        out.append(x)\n", "iterates over a set"),
    "set call": ("def f(xs, out):\n    for x in set(xs):\n        out.append(x)\n", "iterates over a set"),
    "frozenset constant": (
        "NAMES = frozenset({'a', 'b'})\ndef f():\n    return [x for x in NAMES]\n",
        "iterates over a set in a comprehension",
    ),
    "annotated attribute": (
        "class S:\n    seen: set[str]\ndef f(s):\n    return list(s.seen)\n",
        "orders a set with list()",
    ),
    "annotated argument": (
        "def f(ids: frozenset[str]):\n    return ','.join(ids)\n",
        "orders a set with ','.join()",
    ),
    "set union": (
        "A = frozenset({'a'})\ndef f():\n    return tuple(A | {'b'})\n",
        "orders a set with tuple()",
    ),
    "list": ("X = []\n", "module-level mutable state"),
    "dict": ("X: dict[str, int] = {}\n", "module-level mutable state"),
    "dict call": ("X = dict()\n", "module-level mutable state"),
    "set call state": ("X = set()\n", "module-level mutable state"),
    "defaultdict": (
        "from collections import defaultdict\nX = defaultdict(list)\n",
        "module-level mutable state",
    ),
    "under if": ("import sys\nif sys.version_info:\n    X = [1]\n", "module-level mutable state"),
}


ACTIVITY_CONTEXT_CASES = {
    "clock at import": ("import time\nSTARTED = time.monotonic()\n", "uses time.monotonic at import"),
    "clock reference at import": ("import time\nCLOCK = time.monotonic\n", "uses time.monotonic at import"),
    "environment at import": ("import os\nURL = os.environ['URL']\n", "uses os.environ at import"),
    "mutable state": ("CACHE = {}\n", "module-level mutable state"),
}


CAUGHT = {
    **{name: (source, expected, True) for name, (source, expected) in MISSED_BEFORE.items()},
    **{name: (source, expected, False) for name, (source, expected) in ACTIVITY_CONTEXT_CASES.items()},
}


@pytest.mark.parametrize(("source", "expected", "workflow_code"), CAUGHT.values(), ids=list(CAUGHT))
def test_the_scan_catches_what_it_missed(source: str, expected: str, workflow_code: bool) -> None:
    """The full rules for workflow code; ``ACTIVITY_CONTEXT_CASES``: any passed-through module."""
    assert expected in " ".join(violations_in(source, "sample.py", workflow_code=workflow_code))


FINE = {
    "membership": "def f(x, seen: set[str]):\n    return x in seen\n",
    "__all__": "__all__ = ['f']\n",
    "sorted": "def f(xs):\n    return sorted(set(xs))\n",
    "order-free consumer": (
        "NAMES = frozenset({'a'})\ndef f(k):\n    return any(k.endswith(n) for n in NAMES)\n"
    ),
    "set comprehension": "NAMES = frozenset({'a'})\ndef f():\n    return {n.upper() for n in NAMES}\n",
    "workflow clock": (
        "from temporalio import workflow\ndef f():\n    return workflow.now(), workflow.time()\n"
    ),
    "immutable constants": (
        "from types import MappingProxyType\nA = (1,)\nB = frozenset({1})\nC = MappingProxyType({'a': 1})\n"
    ),
    "state in functions": "def f():\n    x = []\n    return x\n",
    "error types at import": "import stripe\nERRORS = (stripe.CardError,)\n",
}
ACTIVITY_CODE = {"activity clock": "import time\ndef sign():\n    return time.time()\n"}
LET_BE = {
    **{name: (source, "import stripe" not in source) for name, source in FINE.items()},
    **{name: (source, False) for name, source in ACTIVITY_CODE.items()},
}


@pytest.mark.parametrize(("source", "workflow_code"), LET_BE.values(), ids=list(LET_BE))
def test_the_scan_lets_deterministic_code_be(source: str, workflow_code: bool) -> None:
    """Error types may be named at import; activity context modules may read the clock in functions."""
    assert violations_in(source, "sample.py", workflow_code=workflow_code) == []
