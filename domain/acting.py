"""Who is acting, and may they: every command names its acting party and is checked against the
session's booking.

The acting party is a role and an opaque id (``client:cli_1``, ``therapist:thr_1``,
``admin:adm_1``), sent by the marketplace backend in the ``Acting-Party`` header and carried in
each command's input, so the command recorded in a session's history says who did it (an admin's
action is marked as such). Someone who is not a party of a session — another therapist, another
client — is told exactly what they would be told about a session that does not exist
(``not_found``): the service never confirms that someone else's therapy session exists.
A party of the session whose role may not take this command (a client filing the attendance
update, a therapist replacing the client's card) knows the session and is told ``not_allowed``.
"""

from __future__ import annotations

import re
from collections.abc import Set
from types import MappingProxyType

from pydantic import BaseModel, ConfigDict

from domain.errors import RuleViolation
from domain.ids import OpaqueId
from domain.status import Actor

ACTING_PARTY_PATTERN = r"^(client|therapist|admin):[A-Za-z0-9_-]{1,64}$"
_ACTING_PARTY = re.compile(ACTING_PARTY_PATTERN)

AUTHORITY = MappingProxyType({Actor.CLIENT: 0, Actor.THERAPIST: 1, Actor.ADMIN: 2})
"""Who may file in whose name: client < therapist < admin (never in the name of a higher one)."""

NOT_FOUND_CODE = "not_found"
NOT_FOUND_MESSAGE = "no such session"
NO_SUCH_THERAPIST = "no such therapist"
"""A therapist's routes to anyone but them and admins: one answer whatever the id."""


class ActingParty(BaseModel):
    """The person a command comes from: their role and their opaque id (never a name)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    role: Actor
    id: OpaqueId

    @classmethod
    def parse(cls, header: str) -> ActingParty:
        """``role:id`` as sent in the ``Acting-Party`` header; ``ValueError`` when malformed."""
        if _ACTING_PARTY.fullmatch(header) is None:
            raise ValueError(
                "Acting-Party is client:<id>, therapist:<id> or admin:<id> (id: [A-Za-z0-9_-]{1,64})"
            )
        role, _, party_id = header.partition(":")
        return cls(role=Actor(role), id=party_id)

    def header(self) -> str:
        return f"{self.role.value}:{self.id}"

    @property
    def is_admin(self) -> bool:
        return self.role is Actor.ADMIN


def not_found() -> RuleViolation:
    """The one refusal a stranger gets: the same code and words as for an unknown session, no ids."""
    return RuleViolation(NOT_FOUND_CODE, NOT_FOUND_MESSAGE)


def is_party(party: ActingParty, *, therapist_id: str, client_id: str) -> bool:
    """An admin, or the session's own client or therapist."""
    if party.role is Actor.ADMIN:
        return True
    if party.role is Actor.CLIENT:
        return party.id == client_id
    return party.id == therapist_id


ANY_PARTY: Set[Actor] = frozenset(Actor)
CANCEL_ROLES: Set[Actor] = ANY_PARTY
RESCHEDULE_ROLES: Set[Actor] = ANY_PARTY
ATTENDANCE_ROLES: Set[Actor] = frozenset({Actor.THERAPIST, Actor.ADMIN})
PAYMENT_METHOD_ROLES: Set[Actor] = frozenset({Actor.CLIENT, Actor.ADMIN})


def check_party(
    party: ActingParty | None, *, therapist_id: str, client_id: str, roles: Set[Actor] = ANY_PARTY
) -> None:
    """Refuse a stranger as ``not_found`` and a party whose role may not do this as
    ``not_allowed``. ``None`` is the service itself (a practice cancelling a therapist's future
    sessions) and every command recorded before acting parties existed: it is not checked."""
    if party is None:
        return
    if not is_party(party, therapist_id=therapist_id, client_id=client_id):
        raise not_found()
    if party.role not in roles:
        allowed = " or ".join(sorted(role.value for role in roles))
        raise RuleViolation("not_allowed", f"only the session's {allowed} may do this")


def check_booking_party(
    party: ActingParty, *, therapist_id: str, client_id: str, booked_by: Actor | None = None
) -> None:
    """A client books as themselves, a therapist for their own practice, an admin for anyone; and
    the booking's kind says who booked it (``booked_by``): a client cannot book a therapist's kind
    (charged off-session without them) nor a therapist the client's own (charged on-session)."""
    if not is_party(party, therapist_id=therapist_id, client_id=client_id):
        raise RuleViolation(
            "not_allowed", "a client books only as themselves and a therapist only for their own practice"
        )
    if booked_by is not None and not party.is_admin and party.role is not booked_by:
        raise RuleViolation("not_allowed", f"this kind of booking is made by the {booked_by.value}")


def check_practice_party(party: ActingParty, therapist_id: str) -> None:
    """A therapist's practice (clients, slots, relationships) is theirs and admins' alone; anyone
    else is told what an unknown session's caller is told."""
    if party.role is Actor.ADMIN:
        return
    if party.role is not Actor.THERAPIST or party.id != therapist_id:
        raise RuleViolation(NOT_FOUND_CODE, NO_SUCH_THERAPIST)


def files_as(party: ActingParty | None, claimed: Actor | None) -> bool:
    """The role a command is filed under agrees with who is filing it (no acting party: as before)."""
    return party is None or claimed is None or claimed is party.role


def may_speak_for(party: ActingParty | None, requested_by: Actor) -> bool:
    """The acting party may file in ``requested_by``'s name: their own role or a lesser one."""
    return party is None or AUTHORITY[requested_by] <= AUTHORITY[party.role]
