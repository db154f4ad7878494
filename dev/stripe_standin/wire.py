"""Response plumbing shared by the Stripe API and the control API."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

__all__ = ["Reply", "json_bytes", "json_reply"]


@dataclass(frozen=True)
class Reply:
    """What the HTTP handler writes; ``drop`` closes the socket without writing anything."""

    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()
    drop: bool = False


def json_bytes(value: Any) -> bytes:
    # Stripe pretty-prints its responses; matching that keeps captured bodies readable.
    return (json.dumps(value, indent=2) + "\n").encode()


def json_reply(status: int, value: Any) -> Reply:
    return Reply(status, json_bytes(value))
