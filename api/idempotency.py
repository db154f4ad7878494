"""The Temporal update id of a request: the caller's ``Idempotency-Key``, scoped to what it asks.

Temporal deduplicates an update on its id alone, before any handler runs. Were the key used as
the id directly, a key reused for another operation would be answered with that operation's
result (undecodable here: a 500), and a key reused with another body with the first body's
outcome. Scoping the id by operation, target and body makes a key name one exact request: a
retry of it returns the first outcome and changes nothing; anything else is a request of its own.
"""

from __future__ import annotations

import hashlib

from pydantic import BaseModel

FINGERPRINT_HEX = 16


def request_id(key: str, operation: str, *target: str, body: BaseModel | None = None) -> str:
    """``{key}:{operation}:{fingerprint}``; the key comes first so ops can find it in histories."""
    digest = hashlib.sha256()
    for part in (operation, *target, body.model_dump_json() if body is not None else ""):
        digest.update(part.encode())
        digest.update(b"\x00")  # ("ab", "c") and ("a", "bc") must not collide
    return f"{key}:{operation}:{digest.hexdigest()[:FINGERPRINT_HEX]}"
