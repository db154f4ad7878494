"""What a module imports, read from its syntax tree (nothing is executed).

Shared by the checks that guard the layout: the pure domain (tests/unit/test_domain_is_pure.py)
and the README's import table (tests/unit/test_layout.py).
"""

from __future__ import annotations

import ast


def module_imports(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import, including ``__import__``/``import_module``
    calls with a literal name; relative imports (within a package) are left out."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            called = (
                func.id
                if isinstance(func, ast.Name)
                else func.attr
                if isinstance(func, ast.Attribute)
                else ""
            )
            if called in {"__import__", "import_module"} and isinstance(node.args[0].value, str):
                found.append((node.lineno, node.args[0].value))
    return found


def imported_modules(tree: ast.AST) -> set[str]:
    """Absolute module names imported by a module, including ``__import__``/``import_module``."""
    return {name for _, name in module_imports(tree)}
