"""The notification catalogue on the OpenAPI page: one webhook per event type.

These are the requests Sessionflow sends *to* the marketplace backend (``SESSIONFLOW_NOTIFY_URL``),
not routes it serves: OpenAPI 3.1 lists them under ``webhooks``. Each names its audiences, channels
and when it is sent (``domain.notification_catalogue``), the Standard Webhooks headers that sign it,
and the committed JSON Schema of its body.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from domain.notification_catalogue import CATALOGUE, SCHEMA_DIRECTORY, CatalogueEntry
from domain.notifications import (
    CATALOGUE_VERSION,
    WEBHOOK_ID_HEADER,
    WEBHOOK_SIGNATURE_HEADER,
    WEBHOOK_TIMESTAMP_HEADER,
    Notification,
)

_HEADERS: list[dict[str, Any]] = [
    {
        "name": WEBHOOK_ID_HEADER,
        "in": "header",
        "required": True,
        "description": "The event id, fixed by business state: the same on every retry (drop repeats by it).",
        "schema": {"type": "string"},
    },
    {
        "name": WEBHOOK_TIMESTAMP_HEADER,
        "in": "header",
        "required": True,
        "description": "Unix seconds of this delivery attempt; refuse one more than 5 minutes off.",
        "schema": {"type": "string"},
    },
    {
        "name": WEBHOOK_SIGNATURE_HEADER,
        "in": "header",
        "required": True,
        "description": (
            "`v1,<base64 HMAC-SHA256 of '{webhook-id}.{webhook-timestamp}.{raw body}'>` keyed with the "
            "`whsec_` secret: verify with any Standard Webhooks library (`standardwebhooks` on PyPI)."
        ),
        "schema": {"type": "string"},
    },
]


def _description(item: CatalogueEntry) -> str:
    rows = "\n".join(
        f"| {d.audience.value}{' (confirmation)' if d.confirmation else ''} | {d.channel.value} |"
        for d in item.deliveries
    )
    carried = ", ".join(f"`{name}`" for name in item.carried_fields) or "none"
    codes = ", ".join(f"`{code}`" for code in item.codes) or "none"
    return (
        f"**{item.name}** (catalogue version {CATALOGUE_VERSION}). {item.when}\n\n"
        f"| audience | channel |\n|---|---|\n{rows}\n\n"
        f"Optional fields it carries: {carried}. Codes: {codes}. "
        f"Body schema: `{SCHEMA_DIRECTORY}/{item.type.value}.json`. "
        "Answer 2xx once verified (a repeat too); 5xx, 408, 409 and 429 are retried."
    )


def _webhook(item: CatalogueEntry) -> Callable[[Notification], None]:
    def receive(body: Notification) -> None:
        """Documentation only: Sessionflow sends this; nothing here is served."""

    receive.__name__ = f"notification_{item.type.value}"
    return receive


def install(app: FastAPI) -> None:
    """List every catalogue entry as a webhook (``POST``, the notification as its JSON body)."""
    for item in CATALOGUE.values():
        app.webhooks.post(
            item.type.value,
            summary=f"{item.name} → {', '.join(a.value for a in item.audiences)}",
            description=_description(item),
            tags=["notifications"],
            operation_id=f"notification_{item.type.value}",
            openapi_extra={"parameters": _HEADERS},
            responses={200: {"description": "verified and accepted (also for a repeated webhook-id)"}},
        )(_webhook(item))
