"""Re-extract the vendored subset of Stripe's OpenAPI specification (README.md beside this file).

    .venv/bin/python -m tests.standin.openapi.extract SPEC [FIXTURES]

SPEC is a full ``openapi/spec3.json`` or ``spec3.yaml`` of github.com/stripe/openapi; FIXTURES its
``openapi/fixtures3.json`` (example objects of the current API, one per resource). Writes
``spec3.subset.json`` (the operations below, their 200 and ``default`` responses, and every schema
those reference, transitively) and ``fixtures3.subset.json`` (the fixtures of OBJECTS) here.
Descriptions and Stripe's documentation extensions are dropped: validation needs none of them.
Add an operation or object to the lists, run this, record the source in README.md.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Final

HERE: Final = Path(__file__).resolve().parent
SPEC_OUT: Final = HERE / "spec3.subset.json"
FIXTURES_OUT: Final = HERE / "fixtures3.subset.json"

# Every Stripe operation the stand-in serves (dev/stripe_standin/routes.py), as the spec names them.
OPERATIONS: Final[tuple[tuple[str, str], ...]] = (
    ("post", "/v1/customers"),
    ("get", "/v1/customers/{customer}"),
    ("post", "/v1/payment_intents"),
    ("get", "/v1/payment_intents"),
    ("get", "/v1/payment_intents/{intent}"),
    ("post", "/v1/payment_intents/{intent}"),
    ("post", "/v1/payment_intents/{intent}/confirm"),
    ("post", "/v1/payment_intents/{intent}/cancel"),
    ("post", "/v1/payment_intents/{intent}/capture"),
    ("get", "/v1/charges"),
    ("get", "/v1/charges/{charge}"),
    ("post", "/v1/refunds"),
    ("get", "/v1/refunds/{refund}"),
    ("get", "/v1/events"),
    ("get", "/v1/events/{id}"),
    # Connect (issue 14): connected accounts, cloned payment methods, application fees.
    ("post", "/v1/accounts"),
    ("get", "/v1/accounts"),
    ("get", "/v1/accounts/{account}"),
    ("post", "/v1/accounts/{account}"),
    ("get", "/v1/account"),
    ("post", "/v1/payment_methods"),
    ("get", "/v1/payment_methods/{payment_method}"),
    ("get", "/v1/application_fees"),
    ("get", "/v1/application_fees/{id}"),
    ("get", "/v1/application_fees/{id}/refunds"),
    ("post", "/v1/application_fees/{id}/refunds"),
    ("get", "/v1/application_fees/{fee}/refunds/{id}"),
    # Disputes (issue 14).
    ("get", "/v1/disputes"),
    ("get", "/v1/disputes/{dispute}"),
    ("post", "/v1/disputes/{dispute}"),
    ("post", "/v1/disputes/{dispute}/close"),
)

# Objects validated on their own as well: an event's data.object (the spec types it as any object).
OBJECTS: Final[tuple[str, ...]] = (
    "customer",
    "payment_intent",
    "charge",
    "refund",
    "event",
    "payment_method",
    "account",
    "application_fee",
    "fee_refund",
    "dispute",
)

STATUSES: Final = ("200", "default")
# Documentation only; each is a schema keyword here (never a property name: see _strip).
DROPPED: Final = frozenset(
    {
        "description",
        "x-expansionResources",
        "x-stripeMostCommon",
        "x-stripeOperations",
        "x-stripeResource",
        "x-stripeEvent",
        "x-stripeBypassValidation",
        "x-changesSummary",
    }
)
_SCHEMA_LISTS: Final = ("anyOf", "oneOf", "allOf")


def _strip(schema: Any) -> Any:
    """A schema without documentation keywords, walking only schema positions (a property called
    ``description`` stays)."""
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in DROPPED:
            continue
        if key == "properties":
            out[key] = {name: _strip(sub) for name, sub in value.items()}
        elif key in _SCHEMA_LISTS:
            out[key] = [_strip(sub) for sub in value]
        elif key in ("items", "additionalProperties", "not"):
            out[key] = _strip(value)
        else:
            out[key] = value
    return out


def _refs(node: Any, found: set[str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            found.add(ref.rsplit("/", 1)[1])
        for value in node.values():
            _refs(value, found)
    elif isinstance(node, list):
        for value in node:
            _refs(value, found)


def _load(path: Path) -> Any:
    if path.suffix in (".yaml", ".yml"):
        import yaml

        return yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    return json.loads(path.read_text())


def extract(spec: dict[str, Any]) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    pending: set[str] = set(OBJECTS) | {"error"}
    for method, template in OPERATIONS:
        operation = spec["paths"][template][method]
        responses = {}
        for status in STATUSES:
            schema = operation["responses"][status]["content"]["application/json"]["schema"]
            responses[status] = {"content": {"application/json": {"schema": _strip(schema)}}}
            _refs(schema, pending)
        paths.setdefault(template, {})[method] = {
            "operationId": operation["operationId"],
            "responses": responses,
        }
    schemas: dict[str, Any] = {}
    while pending:
        name = pending.pop()
        if name in schemas:
            continue
        schemas[name] = _strip(spec["components"]["schemas"][name])
        _refs(schemas[name], pending)
    return {
        "openapi": spec["openapi"],
        "info": {"title": spec["info"]["title"], "version": spec["info"]["version"]},
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": dict(sorted(schemas.items()))},
    }


def main(argv: list[str]) -> int:
    if len(argv) not in (1, 2):
        print(__doc__, file=sys.stderr)  # noqa: T201
        return 2
    subset = extract(_load(Path(argv[0])))
    SPEC_OUT.write_text(json.dumps(subset, indent=1, sort_keys=True) + "\n")
    print(  # noqa: T201
        f"{SPEC_OUT.name}: API {subset['info']['version']}, {len(subset['paths'])} paths, "
        f"{len(subset['components']['schemas'])} schemas, {SPEC_OUT.stat().st_size} bytes"
    )
    if len(argv) == 2:
        resources = _load(Path(argv[1]))["resources"]
        fixtures = {name: resources[name] for name in OBJECTS}
        FIXTURES_OUT.write_text(json.dumps(fixtures, indent=1, sort_keys=True) + "\n")
        print(f"{FIXTURES_OUT.name}: {len(fixtures)} objects")  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
