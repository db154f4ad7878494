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

The full spec available is older (2023-08-16) than the stand-in's API version (README.md), so two
sources of the current API complete it, both from Stripe: the current fixtures of the same
repository (``fixtures3.subset.json``), whose every top-level field an object must have
(``NOT_RETURNED_BY_DEFAULT`` aside), and the classes of the pinned stripe-python
(``SDK_RESOURCES``), generated for the stand-in's own API version, whose fields (nested ones
included) are allowed with any value where the older spec does not define them.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Final

import stripe
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

__all__ = ["Contract", "Operation", "to_json_schema"]

HERE: Final = Path(__file__).resolve().parent
SPEC: Final = HERE / "spec3.subset.json"
FIXTURES: Final = HERE / "fixtures3.subset.json"

_REF: Final = "#/components/schemas/"
_REF_JSON: Final = "#/$defs/"

# The pinned stripe-python's classes, generated from the spec of the API version it pins (the
# stand-in's): the current names of each object's fields, nested ones included.
SDK_RESOURCES: Final[dict[str, type]] = {
    "customer": stripe.Customer,
    "payment_intent": stripe.PaymentIntent,
    "charge": stripe.Charge,
    "refund": stripe.Refund,
    "event": stripe.Event,
    "payment_method": stripe.PaymentMethod,
    "account": stripe.Account,
    "application_fee": stripe.ApplicationFee,
    "fee_refund": stripe.ApplicationFeeRefund,
    "dispute": stripe.Dispute,
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
        for name, resource in SDK_RESOURCES.items():
            self._allow_sdk_fields({"$ref": _REF_JSON + name}, resource)

    def _require_current_fields(self, name: str, fixture: dict[str, Any]) -> None:
        """The object as the current API returns it: every field of the current fixture present,
        the spec's own fields allowed, and the fields the older spec does not know allowed with
        any value, at the top and in every nested object of the fixture."""
        definition = self.defs[name]
        current = set(fixture) - NOT_RETURNED_BY_DEFAULT.get(name, frozenset())
        definition["required"] = sorted(set(definition.get("required", ())) | current)
        self._allow_fields_of(definition, fixture)

    def _allow_sdk_fields(self, schema: Any, cls: type) -> None:
        """Allow (with any value) the fields the pinned SDK's class declares and the older spec
        does not, in the object and in each nested object the SDK gives a class of its own."""
        fields = [f for f in getattr(cls, "__annotations__", {}) if f.islower() and not f.startswith("_")]
        candidates = self._object_schemas(schema)
        if not candidates:
            return
        kind = getattr(cls, "OBJECT_NAME", None)
        target = max(candidates, key=lambda c: (_kind_of(c) == kind, len(set(c["properties"]) & set(fields))))
        inner: dict[str, type] = getattr(cls, "_inner_class_types", {})
        for field in fields:
            if field not in target["properties"]:
                target["properties"][field] = {}
            elif field in inner:
                self._allow_sdk_fields(target["properties"][field], inner[field])

    def _allow_fields_of(self, schema: Any, value: Any) -> None:
        if isinstance(value, list):
            for item in value:
                self._allow_fields_of(schema.get("items", {}), item)
            return
        if not isinstance(value, dict):
            return
        candidates = self._object_schemas(schema)
        if not candidates:
            return
        # The branch the example is an instance of: its ``object``, else the most fields shared.
        target = max(
            candidates,
            key=lambda c: (_kind_of(c) == value.get("object"), len(set(c["properties"]) & set(value))),
        )
        for field, sub in value.items():
            if field not in target["properties"]:
                target["properties"][field] = {}
            elif sub is None and not _admits_null(target["properties"][field]):
                # The current API returns null where the older spec had no null (a field made
                # nullable since, e.g. an account's settings.bacs_debit_payments.display_name).
                target["properties"][field] = {"anyOf": [target["properties"][field], {"type": "null"}]}
            else:
                self._allow_fields_of(target["properties"][field], sub)

    def _object_schemas(self, schema: Any) -> list[dict[str, Any]]:
        if not isinstance(schema, dict):
            return []
        if "$ref" in schema:
            return self._object_schemas(self.defs[schema["$ref"].removeprefix(_REF_JSON)])
        found = [schema] if "properties" in schema else []
        for key in _SCHEMA_LISTS:
            for branch in schema.get(key, ()):
                found += self._object_schemas(branch)
        return found

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


def _admits_null(schema: Any) -> bool:
    return schema == {} or any(branch == {"type": "null"} for branch in schema.get("anyOf", ()))


def _kind_of(schema: dict[str, Any]) -> Any:
    enum = schema["properties"].get("object", {}).get("enum")
    return enum[0] if enum else None


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
