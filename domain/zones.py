"""IANA time zones: the names we accept are exactly those of the pinned ``tzdata`` package.

The OpenAPI states them as one enum (the ``IanaZone`` component), so a client or a fuzzer sees
the very list the validator checks against — not whatever the host's zone database holds (a
system ``localtime`` file, a newer or older release) — and the document stays stable.
"""

from __future__ import annotations

from importlib import resources
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, core_schema

IANA_ZONES: tuple[str, ...] = tuple(sorted(resources.files("tzdata").joinpath("zones").read_text().split()))
"""Every zone name of the pinned tzdata release, sorted (links such as ``UTC`` included)."""
_ZONES = frozenset(IANA_ZONES)


def known_zone(value: str) -> str:
    """``value`` when it names a zone of the pinned list that also loads; else a ``ValueError``."""
    if value not in _ZONES:
        raise ValueError(f"unknown IANA time zone {value!r}")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        # The host's database (searched first) lacks a zone the package has: refused, never a 500.
        raise ValueError(f"unknown IANA time zone {value!r}") from exc
    return value


class _IanaZoneSchema:
    """One named schema component, so the ~600 names appear once in the document, not per field."""

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        named = core_schema.str_schema(ref="IanaZone")
        return core_schema.no_info_after_validator_function(known_zone, named)

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        reference = handler(schema)
        named = handler.resolve_ref_schema(reference)  # the component itself, filled in once
        named.update(
            enum=list(IANA_ZONES),
            title="IanaZone",
            description="an IANA time zone name of the service's pinned tzdata release",
        )
        return reference


IanaZone = Annotated[str, _IanaZoneSchema]
"""An IANA zone name from :data:`IANA_ZONES` (``Europe/London``, ``America/New_York``, ``UTC``…)."""
