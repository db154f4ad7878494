"""Opaque identifiers (the workflow ids derived from them are ``contract.ids``).

Ids reach Temporal (workflow ids, search attributes) and Stripe (metadata) in plain text, so they
must never carry a name, an e-mail or anything else about a person: only ``[A-Za-z0-9_-]``.
"""

from __future__ import annotations

import hashlib
import re
from typing import Annotated

from pydantic import StringConstraints

OPAQUE_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
_OPAQUE_ID = re.compile(OPAQUE_ID_PATTERN)

OpaqueId = Annotated[str, StringConstraints(pattern=OPAQUE_ID_PATTERN)]
"""An id chosen by the marketplace backend: 1–64 characters of letters, digits, ``_`` or ``-``."""

StripeId = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,5}_[A-Za-z0-9_]{1,250}$")]
"""A Stripe object id such as ``cus_…``, ``pm_…`` or ``pi_…``."""


def is_opaque_id(value: str) -> bool:
    return _OPAQUE_ID.fullmatch(value) is not None


def follow_up_session_id(session_id: str) -> str:
    """The id of the follow-up booked from a session's attendance update: derived from the
    session, so a second attempt to book it collides instead of booking twice."""
    digest = hashlib.blake2b(session_id.encode(), digest_size=12).hexdigest()
    return f"fu_{digest}"
