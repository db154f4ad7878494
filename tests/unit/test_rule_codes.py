"""Every refusal code raised anywhere is in the documented table the OpenAPI page serves."""

from __future__ import annotations

import ast
from pathlib import Path

from domain.errors import RULE_CODES

ROOT = Path(__file__).resolve().parents[2]
RAISERS = {"RuleViolation"}


def raised_codes() -> dict[str, str]:
    found: dict[str, str] = {}
    for package in ("domain", "contract", "workflows", "activities", "temporal_client", "api"):
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if not (isinstance(node, ast.Call) and node.args):
                    continue
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                code = node.args[0]
                if name in RAISERS and isinstance(code, ast.Constant) and isinstance(code.value, str):
                    found[code.value] = str(path.relative_to(ROOT))
    return found


def test_every_raised_code_is_documented() -> None:
    raised = raised_codes()
    assert len(raised) > 10  # the scan finds the rules
    undocumented = {code: where for code, where in raised.items() if code not in RULE_CODES}
    assert not undocumented


def test_the_openapi_description_lists_every_code() -> None:
    from api.app import create_app

    description = create_app().openapi()["info"]["description"]
    for code, meaning in RULE_CODES.items():
        assert f"`{code}`" in description and meaning in description
