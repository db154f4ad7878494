"""Visibility queries over sessions, built in one place from the contract's names.

Visibility is eventually consistent (a workflow started or changed a moment ago may be missing)
and the SQLite dev server has no ``ORDER BY``: callers sort what they read themselves.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from contract.search_attributes import CLIENT_ID, SESSION_START, SESSION_STATUS, THERAPIST_ID
from contract.session import SESSION_WORKFLOW_TYPE
from domain.ids import is_opaque_id
from domain.status import SessionStatus

RUNNING = "ExecutionStatus = 'Running'"
"""Every running workflow, whatever its type (a rollout replays them all)."""


def _opaque(value: str, what: str) -> str:
    # Quoted into the query as is: only an opaque id ([A-Za-z0-9_-]) cannot break out of quotes.
    if not is_opaque_id(value):
        raise ValueError(f"{what} must be 1-64 characters of [A-Za-z0-9_-]")
    return value


def sessions_query(
    *,
    running: bool = False,
    therapist_id: str | None = None,
    client_id: str | None = None,
    statuses: Sequence[SessionStatus] = (),
    starts_after: datetime | None = None,
) -> str:
    """Session workflows matching every given condition.

    Raises ``ValueError`` for an id that is not opaque.
    """
    clauses = [f"WorkflowType = '{SESSION_WORKFLOW_TYPE}'"]
    if running:
        clauses.append(RUNNING)
    if therapist_id is not None:
        clauses.append(f"{THERAPIST_ID.name} = '{_opaque(therapist_id, 'therapist id')}'")
    if client_id is not None:
        clauses.append(f"{CLIENT_ID.name} = '{_opaque(client_id, 'client id')}'")
    if len(statuses) == 1:
        clauses.append(f"{SESSION_STATUS.name} = '{statuses[0].value}'")
    elif statuses:
        listed = ", ".join(f"'{status.value}'" for status in statuses)
        clauses.append(f"{SESSION_STATUS.name} IN ({listed})")
    if starts_after is not None:
        clauses.append(f"{SESSION_START.name} > '{starts_after.astimezone(UTC).isoformat()}'")
    return " AND ".join(clauses)
