"""OpenAPI links: from a booking to every route acting on its session, from a therapist to theirs.

A link tells a client (and a stateful fuzzer) where the ids of the next request come from, so
it can follow a booking to its session's routes without knowing our URL scheme. The table below
is the whole contract; ``add_links`` writes it into the served document's responses.

Each link also carries an ``Acting-Party``: the party of the booking this route is meant for
(its client for what the client does, its therapist for what the therapist files), or the
party that made the previous request on a therapist's routes. Admin-only routes carry none: an
admin is whoever the caller's support desk is, no value of the booking.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

ACTING_PARTY = "header.Acting-Party"


@dataclass(frozen=True)
class Source:
    """An operation whose answer leads on: which answers, and where each id is read from."""

    operation_id: str
    statuses: tuple[str, ...]
    values: Mapping[str, str]
    """A link parameter (or the acting party's role) → its runtime expression."""


@dataclass(frozen=True)
class Target:
    operation_id: str
    needs: tuple[str, ...]
    """The path parameters the link must fill."""
    acting: str | None
    """Whose ``Acting-Party`` the link carries: a key of the source's ``values``; None: an admin's."""


_SESSION = ("session_id",)
_PRACTICE = ("therapist_id",)
_PRACTICE_CLIENT = ("therapist_id", "client_id")

BOOKING = Source(
    "bookSession",
    # 201 booked; 200 the idempotent replay of the same booking: the same session either way.
    ("201", "200"),
    {
        "session_id": "$response.body#/session_id",
        "therapist_id": "$request.body#/therapist_id",
        "client_id": "$request.body#/client_id",
        "client": "client:{$request.body#/client_id}",
        "therapist": "therapist:{$request.body#/therapist_id}",
    },
)

FROM_BOOKING: tuple[Target, ...] = (
    Target("getSession", _SESSION, "client"),
    Target("getSessionStatus", _SESSION, "client"),
    Target("getSessionHistory", _SESSION, "therapist"),
    Target("previewCancellation", _SESSION, "client"),
    Target("cancelSession", _SESSION, "client"),
    # A therapist moves in their own name or enters the client's request (a lesser role).
    Target("previewReschedule", _SESSION, "therapist"),
    Target("rescheduleSession", _SESSION, "therapist"),
    Target("fileAttendance", _SESSION, "therapist"),
    Target("markNoShow", _SESSION, "therapist"),
    Target("refundSession", _SESSION, "therapist"),
    Target("updatePaymentMethod", _SESSION, "client"),
    Target("getDisputeEvidence", _SESSION, None),
    Target("eraseClient", ("client_id",), None),
)

THERAPIST_ROUTES: tuple[Target, ...] = (
    Target("listAwaitingUpdates", _PRACTICE, "therapist"),
    Target("getPaymentAccount", _PRACTICE, "therapist"),
    Target("setPaymentAccount", _PRACTICE, "therapist"),
    Target("listClients", _PRACTICE, "therapist"),
    Target("reserveSlot", _PRACTICE, "therapist"),
    Target("listSlotOccurrences", _PRACTICE, "therapist"),
)
"""A therapist's practice: every route needs only the therapist's id."""

CLIENT_ROUTES: tuple[Target, ...] = (
    Target("releaseSlots", _PRACTICE_CLIENT, "therapist"),
    Target("endRelationship", _PRACTICE_CLIENT, "therapist"),
    Target("restartRelationship", _PRACTICE_CLIENT, "therapist"),
)
"""A therapist's routes about one of their clients."""


def _practice(operation_id: str, *, client_id: str | None) -> Source:
    # The therapist's routes lead on with the same therapist and the same acting party.
    values = {"therapist_id": "$request.path.therapist_id", "therapist": "$request.header.Acting-Party"}
    if client_id is not None:
        values["client_id"] = client_id
    return Source(operation_id, ("200",), values)


def link_table() -> list[tuple[Source, tuple[Target, ...]]]:
    """Every source with the targets it links to (never to itself)."""
    table: list[tuple[Source, tuple[Target, ...]]] = [
        (BOOKING, FROM_BOOKING + THERAPIST_ROUTES + CLIENT_ROUTES)
    ]
    for route in THERAPIST_ROUTES:
        # The slot's client (reserveSlot's body) leads on to that client's routes too.
        client = "$request.body#/client_id" if route.operation_id == "reserveSlot" else None
        targets = THERAPIST_ROUTES + (CLIENT_ROUTES if client else ())
        table.append((_practice(route.operation_id, client_id=client), targets))
    for route in CLIENT_ROUTES:
        source = _practice(route.operation_id, client_id="$request.path.client_id")
        table.append((source, THERAPIST_ROUTES + CLIENT_ROUTES))
    return [
        (source, tuple(t for t in targets if t.operation_id != source.operation_id))
        for source, targets in table
    ]


def _link(target: Target, values: Mapping[str, str]) -> dict[str, Any]:
    parameters = {name: values[name] for name in target.needs}
    if target.acting is not None:
        parameters[ACTING_PARTY] = values[target.acting]
    return {"operationId": target.operation_id, "parameters": parameters}


def add_links(document: dict[str, Any]) -> dict[str, Any]:
    """Write the table's links into ``document``'s responses (in place, and returned)."""
    responses = {
        operation["operationId"]: operation["responses"]
        for path in document["paths"].values()
        for operation in path.values()
    }
    for source, targets in link_table():
        for status in source.statuses:
            links = {target.operation_id: _link(target, source.values) for target in targets}
            responses[source.operation_id][status]["links"] = links
    return document
