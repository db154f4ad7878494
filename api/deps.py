"""Typed dependencies shared by the routers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Header, Path, Request
from temporalio.client import Client

from domain.acting import ACTING_PARTY_PATTERN
from domain.acting import ActingParty as Party
from domain.ids import OPAQUE_ID_PATTERN
from settings import Settings


def _client(request: Request) -> Client:
    client: Client = request.app.state.client
    return client


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def read_clock() -> datetime:
    """The instant a read judges a session's status at (``domain.status.status_as_of``): now.
    One seam, so a test that moves a session's own clock (time skipping) reads at that clock."""
    return datetime.now(UTC)


TemporalClient = Annotated[Client, Depends(_client)]
ReadClock = Annotated[datetime, Depends(read_clock)]
AppSettings = Annotated[Settings, Depends(_settings)]
SessionId = Annotated[str, Path(pattern=OPAQUE_ID_PATTERN, description="opaque session id")]
TherapistId = Annotated[str, Path(pattern=OPAQUE_ID_PATTERN, description="opaque therapist id")]
ClientId = Annotated[str, Path(pattern=OPAQUE_ID_PATTERN, description="opaque client id")]
IdempotencyKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        pattern=r"^[A-Za-z0-9_.:-]{1,128}$",
        description=(
            "the caller's id for this request (a fresh one per request): the same request sent "
            "again with the same key returns the first outcome and changes nothing. The key is "
            "bound to the operation, the target and the body (on a session, also the "
            "`Acting-Party`): the same key sent with a different body (or to another operation "
            "or target) is neither refused nor answered from the first request — it is a new "
            "request, carried out on its own. So never reuse a key for a changed request; send a "
            "retry byte-for-byte the same."
        ),
    ),
]


def _acting_party(
    value: Annotated[
        str,
        Header(
            alias="Acting-Party",
            pattern=ACTING_PARTY_PATTERN,
            examples=["client:cli_1", "therapist:thr_1", "admin:adm_1"],
            description=(
                "who is acting: `client:<id>`, `therapist:<id>` or `admin:<id>` (opaque ids, as in "
                "the bookings). Required on every `/v1/sessions` and `/v1/therapists` route and "
                "recorded with each command in the session's history (an admin's action is marked "
                "as such). Someone who is not the session's client or therapist (nor an admin) gets "
                "the same `404 not_found` as for a session that does not exist; a therapist's "
                "practice answers only the therapist and admins. Missing or malformed: `422`."
            ),
        ),
    ],
) -> Party:
    return Party.parse(value)  # the pattern has been checked: the parse cannot fail


ActingParty = Annotated[Party, Depends(_acting_party)]
"""The acting party of the request, from the ``Acting-Party`` header (a ``422`` when malformed)."""
