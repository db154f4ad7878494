"""Opaque identifiers and the workflow ids derived from them.

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

SESSION_WORKFLOW_PREFIX = "session-"
PRACTICE_WORKFLOW_PREFIX = "practice-"


def is_opaque_id(value: str) -> bool:
    return _OPAQUE_ID.fullmatch(value) is not None


def session_workflow_id(session_id: str) -> str:
    """The one workflow id of a session; stable across continue-as-new and resets."""
    if not is_opaque_id(session_id):
        raise ValueError("session id must be 1-64 characters of [A-Za-z0-9_-]")
    return f"{SESSION_WORKFLOW_PREFIX}{session_id}"


def practice_workflow_id(therapist_id: str) -> str:
    """The one workflow id of a therapist's practice; stable across continue-as-new."""
    if not is_opaque_id(therapist_id):
        raise ValueError("therapist id must be 1-64 characters of [A-Za-z0-9_-]")
    return f"{PRACTICE_WORKFLOW_PREFIX}{therapist_id}"


def follow_up_session_id(session_id: str) -> str:
    """The id of the follow-up booked from a session's attendance update: derived from the
    session, so a second attempt to book it collides instead of booking twice."""
    digest = hashlib.blake2b(session_id.encode(), digest_size=12).hexdigest()
    return f"fu_{digest}"


def session_id_from_workflow_id(workflow_id: str) -> str:
    if not workflow_id.startswith(SESSION_WORKFLOW_PREFIX):
        raise ValueError("not a session workflow id")
    session_id = workflow_id.removeprefix(SESSION_WORKFLOW_PREFIX)
    if not is_opaque_id(session_id):
        raise ValueError("not a session workflow id")
    return session_id
