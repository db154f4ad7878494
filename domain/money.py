"""Amounts in minor units (pence, cents) and the currencies we accept."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field, WithJsonSchema

SUPPORTED_CURRENCIES = frozenset(
    {"gbp", "eur", "usd", "chf", "sek", "nok", "dkk", "pln", "cad", "aud", "nzd", "czk"}
)


def _known_currency(value: str) -> str:
    code = value.strip().lower()
    if code not in SUPPORTED_CURRENCIES:
        raise ValueError(
            f"unknown currency {value!r}; expected one of {', '.join(sorted(SUPPORTED_CURRENCIES))}"
        )
    return code


Currency = Annotated[str, AfterValidator(_known_currency)]
"""A lower-case ISO 4217 code from :data:`SUPPORTED_CURRENCIES`."""

RequestCurrency = Annotated[
    Currency,
    WithJsonSchema(
        {
            "type": "string",
            "enum": sorted(SUPPORTED_CURRENCIES),
            "description": "a lower-case ISO 4217 code; the server also reads upper or mixed case "
            "and surrounding spaces, and always answers in lower case",
        }
    ),
]
"""``Currency`` as a request states it: the enum of the canonical spellings (normalised on input:
``" GBP"`` reads as ``gbp``). Outbound models (notifications, whose schemas are versioned by the
catalogue) keep ``Currency``."""


AmountMinor = Annotated[int, Field(gt=0, le=10_000_000, description="amount in minor units")]
"""A strictly positive price in minor units (pence, cents)."""
