"""Visibility queries over sessions, built in one place from the contract's names.

Visibility is eventually consistent (a workflow started or changed a moment ago may be missing)
and the SQLite dev server has no ``ORDER BY``: callers sort what they read themselves.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from contract.practice import PRACTICE_WORKFLOW_TYPE
from contract.search_attributes import (
    CLIENT_ID,
    PAYMENT_ACCOUNT_ID,
    SESSION_END,
    SESSION_START,
    SESSION_STATUS,
    THERAPIST_ID,
)
from contract.session import SESSION_WORKFLOW_TYPE
from domain.ids import is_opaque_id
from domain.policy import DEFAULT_POLICY, SessionPolicy
from domain.status import ENDS_INTO_AWAITING_UPDATE, SessionStatus

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
    if statuses:
        clauses.append(_status_in(statuses))
    if starts_after is not None:
        clauses.append(f"{SESSION_START.name} > '{_instant(starts_after)}'")
    return " AND ".join(clauses)


AWAITING_ITS_UPDATE = (SessionStatus.AWAITING_UPDATE, SessionStatus.CLIENT_NO_SHOW)
"""Statuses a session awaiting its attendance update records itself (``client_no_show``: marked
from its start, the full update still to come while it runs)."""


def awaiting_update_query(therapist_id: str, now: datetime) -> str:
    """The therapist's running sessions whose attendance update is due at ``now``: those that
    record it (``awaiting_update``, ``client_no_show``) and those still ``scheduled`` or ``paid``
    whose ``SessionEnd`` has passed (``domain.status.status_as_of``: no timer marks the end).
    A session started before ``SessionEnd`` existed has none and records ``awaiting_update``
    itself. Raises ``ValueError`` for an id that is not opaque."""
    ended = f"{_status_in(sorted(ENDS_INTO_AWAITING_UPDATE))} AND {SESSION_END.name} <= '{_instant(now)}'"
    due = f"({_status_in(AWAITING_ITS_UPDATE)} OR ({ended}))"
    return f"{sessions_query(running=True, therapist_id=therapist_id)} AND {due}"


def sessions_reading_as(status: SessionStatus, now: datetime, *, therapist_id: str | None = None) -> str:
    """Sessions a read at ``now`` shows as ``status``: for ``awaiting_update``, also those still
    ``scheduled`` or ``paid`` past their ``SessionEnd`` (nothing marks the end itself). Raises
    ``ValueError`` for an id that is not opaque."""
    base = sessions_query(therapist_id=therapist_id)
    if status is not SessionStatus.AWAITING_UPDATE:
        return f"{base} AND {_status_in([status])}"
    ended = f"{_status_in(sorted(ENDS_INTO_AWAITING_UPDATE))} AND {SESSION_END.name} <= '{_instant(now)}'"
    return f"{base} AND ({_status_in([status])} OR ({ended}))"


def _status_in(statuses: Sequence[SessionStatus]) -> str:
    if len(statuses) == 1:
        return f"{SESSION_STATUS.name} = '{statuses[0].value}'"
    listed = ", ".join(f"'{status.value}'" for status in statuses)
    return f"{SESSION_STATUS.name} IN ({listed})"


def _instant(value: datetime) -> str:
    # An aware instant as RFC 3339 in UTC, as Temporal's Datetime attributes compare.
    return value.astimezone(UTC).isoformat()


_ACCOUNT_ID = re.compile(r"^acct_[A-Za-z0-9_]{1,250}$")


def practices_by_account_query(account_id: str) -> str:
    """The running practices whose therapist's connected Stripe account is ``account_id`` (one,
    unless an account was given to two therapists). Raises ``ValueError`` for anything but an
    ``acct_…`` id (it is quoted into the query)."""
    if _ACCOUNT_ID.fullmatch(account_id) is None:
        raise ValueError("a connected account id is acct_ followed by letters, digits or _")
    practices = f"WorkflowType = '{PRACTICE_WORKFLOW_TYPE}' AND {RUNNING}"
    return f"{practices} AND {PAYMENT_ACCOUNT_ID.name} = '{account_id}'"


def held_sessions_query(therapist_id: str) -> str:
    """The therapist's running sessions whose charge is held on their paused account."""
    return sessions_query(running=True, therapist_id=therapist_id, statuses=(SessionStatus.PAYMENT_ON_HOLD,))


class OverdueCondition(StrEnum):
    """Conditions of running sessions that need ops, counted from visibility for the alerts
    (``sessionflow_sessions_overdue{condition}``, deploy/prometheus/alerts.yaml). Each is read from
    the existing search attributes and the built-in ``StartTime``: no new attribute to backfill."""

    PAYMENT_DUE_OVER_1H = "payment_due_over_1h"
    """``payment_due`` although the charge came due over an hour ago: the charge has had no answer."""
    CANCELLED_OPEN_1D_AFTER_END = "cancelled_open_1d_after_end"
    """Cancelled yet still running a day after its planned end: money not moved back (a refund or
    void Stripe refuses, held by an open dispute) or time never released."""
    AWAITING_UPDATE_PAST_LAST_REMINDER = "awaiting_update_past_last_reminder"
    """Still awaiting its attendance update after the policy's last reminder."""


def overdue_session_queries(
    now: datetime, policy: SessionPolicy = DEFAULT_POLICY, *, therapist_id: str | None = None
) -> dict[OverdueCondition, str]:
    """One count query per condition at ``now``.

    ``payment_due`` since over an hour: the charge comes due at ``max(booking, start − 48 h +
    spread)``, so both the booking (``StartTime``) and that instant are over an hour old. A retry
    after a decline (at start − 24 h, − 12 h) is counted at once while it is in flight (seconds):
    the alert's ``for`` clause, not the query, asks that it lasts. Sessions started before
    ``SessionEnd`` existed have none and are not counted by the two conditions that read it.
    ``therapist_id`` narrows every count to one therapist (the whole namespace by default).
    Raises ``ValueError`` for an id that is not opaque."""
    hour = timedelta(hours=1)
    charge_lead = policy.charge_attempt_offsets[0] - policy.charge_spread_window
    running = sessions_query(running=True, therapist_id=therapist_id)
    cancelled = sorted(status for status in SessionStatus if status.is_cancelled)
    awaiting = f"({_status_in(AWAITING_ITS_UPDATE)} OR {_status_in(sorted(ENDS_INTO_AWAITING_UPDATE))})"
    return {
        OverdueCondition.PAYMENT_DUE_OVER_1H: (
            f"{running} AND {_status_in([SessionStatus.PAYMENT_DUE])}"
            f" AND StartTime < '{_instant(now - hour)}'"
            f" AND {SESSION_START.name} < '{_instant(now + charge_lead - hour)}'"
        ),
        OverdueCondition.CANCELLED_OPEN_1D_AFTER_END: (
            f"{running} AND {_status_in(cancelled)} AND {_ended_before(now, timedelta(days=1))}"
        ),
        OverdueCondition.AWAITING_UPDATE_PAST_LAST_REMINDER: (
            f"{running} AND {awaiting} AND {_ended_before(now, policy.attendance_reminder_offsets[-1])}"
        ),
    }


def _ended_before(now: datetime, ago: timedelta) -> str:
    return f"{SESSION_END.name} < '{_instant(now - ago)}'"
