"""Ops: a session's workflow history as a readable timeline (what happened, when, and why)."""

from __future__ import annotations

from fastapi import APIRouter

from api.auth import OpsAuthenticated
from api.deps import ActingParty, SessionId, TemporalClient
from api.routes.sessions import ERRORS, check_party_of
from temporal_client.timeline import SessionTimeline, session_timeline

router = APIRouter(tags=["ops"], dependencies=[OpsAuthenticated], responses=ERRORS)


@router.get("/v1/sessions/{session_id}/history")
async def session_history(
    session_id: SessionId, party: ActingParty, client: TemporalClient
) -> SessionTimeline:
    """The session's timeline from its Temporal history: start, timers, charge attempts (with the
    PaymentIntent id and decline codes), refunds, notifications, updates, webhook signals, status
    changes and completion. Opaque ids, codes and amounts only — never a client secret.
    For the session's parties and admins (`Acting-Party`); anyone else: `404`, as for an unknown
    session. Each command in it names its acting party (an admin's is marked as such)."""
    await check_party_of(client, session_id, party)
    return await session_timeline(client, session_id)
