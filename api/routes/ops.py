"""Ops: a session's workflow history as a readable timeline (what happened, when, and why)."""

from __future__ import annotations

from fastapi import APIRouter

from api.auth import OpsAuthenticated
from api.deps import SessionId, TemporalClient
from api.routes.sessions import ERRORS
from temporal_client.timeline import SessionTimeline, session_timeline

router = APIRouter(tags=["ops"], dependencies=[OpsAuthenticated], responses=ERRORS)


@router.get("/v1/sessions/{session_id}/history")
async def session_history(session_id: SessionId, client: TemporalClient) -> SessionTimeline:
    """The session's timeline from its Temporal history: start, timers, charge attempts (with the
    PaymentIntent id and decline codes), refunds, notifications, updates, webhook signals, status
    changes and completion. Opaque ids, codes and amounts only — never a client secret."""
    return await session_timeline(client, session_id)
