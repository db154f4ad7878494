"""Ops: a session's workflow history as a readable timeline (what happened, when, and why), and a
client's erasure (README "Privacy and erasure")."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict

from api.auth import OpsAuthenticated
from api.deps import ActingParty, AppSettings, SessionId, TemporalClient
from api.errors import ErrorBody
from api.routes.sessions import ERRORS, check_party_of
from api.wire_types import WireBool
from domain.errors import RuleViolation
from domain.ids import OPAQUE_ID_PATTERN
from domain.status import Actor
from temporal_client.codec import EncryptionCodec
from temporal_client.erasure import ErasureRefused, erase_client
from temporal_client.kms import LocalFileKms
from temporal_client.timeline import SessionTimeline, session_timeline

router = APIRouter(tags=["ops"], dependencies=[OpsAuthenticated], responses=ERRORS)


@router.get("/v1/sessions/{session_id}/history", operation_id="getSessionHistory")
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


class ErasureBody(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"force": False}]})

    force: WireBool = False
    """Also cancel (as an admin, rule 4) sessions whose charge failed or is held (nothing captured).
    Never overrides money: a session holding or collecting it, a closed session's open dispute or
    refund owed, still refuse the erasure; no session is ever terminated."""


class ErasureView(BaseModel):
    """The erasure record: no personal data (the client id only as a keyed hash)."""

    erasure_id: str
    erased_at: str
    client_hash: str
    sessions: int
    workflows_closed: int
    forced: int
    data_keys_destroyed: int
    already_erased: bool
    relationships_ended: int
    """Practices where the client's relationship was ended (reserved weekly slots released)."""


ClientId = Annotated[str, Path(pattern=OPAQUE_ID_PATTERN, description="the client's opaque id")]


@router.post(
    "/v1/clients/{client_id}/erasure",
    operation_id="eraseClient",
    responses={
        404: {
            "model": ErrorBody,
            "description": "not answered for the client: an id the service does not know is erased "
            "all the same (nothing of theirs runs, nothing decodes)",
        }
    },
)
async def erase(
    client_id: ClientId, body: ErasureBody, party: ActingParty, client: TemporalClient, settings: AppSettings
) -> ErasureView:
    """Erase a client (ops have the same command on the command line): close what still runs
    for them, destroy their data keys — no payload of theirs decodes again, anywhere — and
    record the erasure without personal data. Admins only (`Acting-Party: admin:…`, an ops token
    where configured). `409 erasure_refused`, changing nothing, while a running workflow of theirs
    may hold, collect or owe money (the message lists them: a session not `scheduled`; a closed
    session's `dispute_open` or `refund_owed`) — `force` only lets sessions whose charge failed or
    is held be cancelled too. Afterwards a booking for them is `409 client_erased`. Idempotent:
    again, it changes nothing and answers the first record with `already_erased`."""
    if party.role is not Actor.ADMIN:
        raise RuleViolation("not_allowed", "only an admin may erase a client")
    codec = client.data_converter.payload_codec
    kms = codec.kms if isinstance(codec, EncryptionCodec) else None
    if not isinstance(kms, LocalFileKms):
        raise RuleViolation("erasure_unavailable", "envelope encryption is off: nothing can be erased")
    try:
        record = await erase_client(client, settings, kms, client_id, force=body.force)
    except ErasureRefused as refused:
        raise RuleViolation("erasure_refused", str(refused)) from None
    return ErasureView(**asdict(record))
