"""Stripe's published OpenAPI contract (the vendored subset beside this file) as JSON Schema.

``Contract.check(method, path, status, body)`` validates one stand-in response against the schema
the spec gives for that operation and status (``default``, the error schema, for every non-2xx)
and returns the violations, each with the JSON path of the offending value. OpenAPI 3.0's schema
dialect differs from JSON Schema in a few keywords; ``to_json_schema`` converts them:

- ``nullable: true`` → the schema OR ``null`` (an enum or a ``$ref`` stays strict otherwise);
- ``$ref: #/components/schemas/X`` → ``#/$defs/X`` (siblings of a ``$ref`` are ignored, as in 3.0);
- an expandable field (``anyOf: [string, {$ref: X}]``) needs nothing: an id or the whole object;
- Stripe's ``x-…`` extensions and ``format`` (``unix-time``) carry no validation.

Strict where the spec is silent: an object schema that lists its ``properties`` and says nothing
about ``additionalProperties`` gets ``false``, so a field Stripe does not define is a violation.

The full spec available is older than the stand-in's API version (README.md); the current API's
fixtures of the same repository (``fixtures3.subset.json``) say which top-level fields each object
has now. ``CURRENT_FIELDS`` lists, per object, the fields the current API added since the spec:
they are allowed (any value), and each current field is required of an object the stand-in makes.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Final

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

__all__ = ["Contract", "Operation", "to_json_schema"]

HERE: Final = Path(__file__).resolve().parent
SPEC: Final = HERE / "spec3.subset.json"
FIXTURES: Final = HERE / "fixtures3.subset.json"

_REF: Final = "#/components/schemas/"

_NULLABLE_STRING: Final = {"anyOf": [{"type": "string", "maxLength": 5000}, {"type": "null"}]}
NEWER_FIELDS: Final[dict[str, dict[str, Any]]] = {
    # Nested objects have no current fixture of their own: the fields Stripe's changelog added to
    # them since the vendored spec, each with its entry (docs.stripe.com/changelog/…).
    # acacia/2024-12-18 network-advice-code-network-decline-code; acacia/2025-01-27
    # charge-outcome-advice-code: both on StripeError (api_errors) and Charge.outcome.
    "api_errors": {
        "advice_code": {"type": "string", "maxLength": 5000},
        "network_advice_code": {"type": "string", "maxLength": 5000},
        "network_decline_code": {"type": "string", "maxLength": 5000},
    },
    "charge_outcome": {
        "advice_code": _NULLABLE_STRING,
        "network_advice_code": _NULLABLE_STRING,
        "network_decline_code": _NULLABLE_STRING,
    },
}
NOT_RETURNED_BY_DEFAULT: Final[dict[str, frozenset[str]]] = {
    # In the current fixture, but only returned when expanded (changelog 2022-11-15
    # deprecates-charges-auto-expand).
    "charge": frozenset({"refunds"}),
}
_SCHEMA_LISTS: Final = ("anyOf", "oneOf", "allOf")


def to_json_schema(schema: Any) -> Any:
    """One OpenAPI 3.0 schema as a JSON Schema 2020-12 schema (see the module docstring)."""
    if not isinstance(schema, dict):
        return schema
    if "$ref" in schema:
        ref = schema["$ref"]
        assert ref.startswith(_REF), ref
        return {"$ref": "#/$defs/" + ref.removeprefix(_REF)}
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key.startswith("x-") or key in ("nullable", "format"):
            continue
        if key == "properties":
            out[key] = {name: to_json_schema(sub) for name, sub in value.items()}
        elif key in _SCHEMA_LISTS:
            out[key] = [to_json_schema(sub) for sub in value]
        elif key in ("items", "additionalProperties", "not"):
            out[key] = to_json_schema(value)
        else:
            out[key] = value
    if "properties" in out and "additionalProperties" not in out:
        out["additionalProperties"] = False
    if schema.get("nullable") is True:
        return {"anyOf": [out, {"type": "null"}]}
    return out


@dataclass(frozen=True)
class Operation:
    method: str  # lower case, as in the spec
    template: str  # the spec's path, e.g. /v1/payment_intents/{intent}/confirm
    operation_id: str
    responses: dict[str, Any]

    @cached_property
    def pattern(self) -> re.Pattern[str]:
        literal = re.escape(self.template)
        return re.compile("^" + re.sub(r"\\\{[a-z_]+\\\}", "[^/]+", literal) + "$")

    def schema_for(self, status: int) -> tuple[str, Any]:
        key = str(status) if str(status) in self.responses else "default"
        if 200 <= status < 300 and key == "default":
            raise AssertionError(f"{self.operation_id} documents no {status} response")
        return key, self.responses[key]["content"]["application/json"]["schema"]


class Contract:
    def __init__(self, spec_path: Path = SPEC, fixtures_path: Path = FIXTURES) -> None:
        spec = json.loads(spec_path.read_text())
        self.api_version: str = spec["info"]["version"]
        self.fixtures: dict[str, dict[str, Any]] = json.loads(fixtures_path.read_text())
        self.operations = [
            Operation(method, template, op["operationId"], op["responses"])
            for template, methods in spec["paths"].items()
            for method, op in methods.items()
        ]
        schemas = spec["components"]["schemas"]
        self.defs: dict[str, Any] = {name: to_json_schema(s) for name, s in schemas.items()}
        for name, fixture in self.fixtures.items():
            self._require_current_fields(name, fixture)
        for name, fields in NEWER_FIELDS.items():
            self.defs[name]["properties"].update(copy.deepcopy(fields))

    def _require_current_fields(self, name: str, fixture: dict[str, Any]) -> None:
        """The object as the current API returns it: every field of the current fixture present
        (those the older spec does not know, with any value), the spec's own fields allowed."""
        definition = self.defs[name]
        properties = definition["properties"]
        for field in fixture:
            properties.setdefault(field, {})
        current = set(fixture) - NOT_RETURNED_BY_DEFAULT.get(name, frozenset())
        definition["required"] = sorted(set(definition.get("required", ())) | current)

    @property
    def current_fields(self) -> dict[str, list[str]]:
        """Per object, the fields of the current API the vendored spec does not define."""
        spec = json.loads(SPEC.read_text())["components"]["schemas"]
        return {
            name: sorted(set(fixture) - set(spec[name]["properties"]))
            for name, fixture in self.fixtures.items()
        }

    def serves(self, method: str, path: str) -> bool:
        return any(op.method == method.lower() and op.pattern.match(path) for op in self.operations)

    def operation(self, method: str, path: str) -> Operation:
        # A literal segment beats a placeholder (/v1/account is not /v1/accounts/{account}).
        found = [op for op in self.operations if op.method == method.lower() and op.pattern.match(path)]
        if not found:
            raise AssertionError(f"no vendored operation for {method} {path}: add it to extract.py")
        return min(found, key=lambda op: op.template.count("{"))

    def _validate(self, schema: Any, body: Any) -> list[str]:
        root = {"$defs": self.defs, **copy.deepcopy(to_json_schema(schema))}
        validator = Draft202012Validator(root)
        return sorted(text for error in validator.iter_errors(body) for text in _describe(error))

    def check(self, method: str, path: str, status: int, body: Any) -> list[str]:
        """Violations of one response: (method, path) picks the operation, status its schema. A
        path Stripe does not serve can only answer Stripe's error object."""
        if status >= 400 and not self.serves(method, path):
            return self._validate({"$ref": _REF + "error"}, body)
        _, schema = self.operation(method, path).schema_for(status)
        violations = self._validate(schema, body)
        return violations + self._check_event_objects(body)

    def check_object(self, body: Any) -> list[str]:
        """Violations of one object, by its ``object`` field (an event delivered to a webhook)."""
        kind = body.get("object") if isinstance(body, dict) else None
        if kind not in self.defs:
            return [f"$: no vendored schema for object {kind!r}"]
        return self._validate({"$ref": _REF + kind}, body) + self._check_event_objects(body)

    def _check_event_objects(self, body: Any) -> list[str]:
        """The spec types an event's ``data.object`` as any object: check it as its own kind."""
        events = []
        if isinstance(body, dict) and body.get("object") == "event":
            events = [body]
        elif isinstance(body, dict) and body.get("object") == "list":
            events = [item for item in body.get("data", []) if item.get("object") == "event"]
        violations = []
        for event in events:
            inner = event.get("data", {}).get("object")
            kind = inner.get("object") if isinstance(inner, dict) else None
            if kind not in self.defs:
                violations.append(f"{event.get('id')}.data.object: no vendored schema for {kind!r}")
                continue
            for violation in self._validate({"$ref": _REF + kind}, inner):
                violations.append(f"{event.get('type')}.data.object{violation.removeprefix('$')}")
        return violations


def _describe(error: ValidationError) -> list[str]:
    """Every violation under ``error``, each with its JSON path. An anyOf (every nullable or
    expandable field is one) hides the real reasons in its context: report those of the branch
    the value came closest to (one whose type it has), never the "or null" of a value that is not
    null."""
    if not error.context:
        path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
        return [f"${path}: {error.message}"]
    branches: dict[int | str, list[ValidationError]] = {}
    for sub in error.context:
        branches.setdefault(sub.relative_schema_path[0], []).append(sub)

    def closeness(errors: list[ValidationError]) -> int:
        # A branch whose type the value does not even have is the furthest.
        if all(e.validator in ("type", "enum") and not e.context for e in errors):
            return 0 if any(e.schema == {"type": "null"} for e in errors) else 1
        return 2

    chosen = max(branches.values(), key=closeness)  # the first of the closest, on a tie
    return [text for e in chosen for text in _describe(e)]
