"""What each party may read of a session: one state, a view per role.

The session's state holds things that are one party's alone. The PaymentIntent's client secret
lets whoever holds it pay the client's PaymentIntent in a browser: the client's (and support's),
never the therapist's. Why a therapist ended the relationship is the therapist's record: the
client sees the dated note, never the reason code (``relationship_ended`` tells them the same).
"""

from __future__ import annotations

from domain.acting import ActingParty
from domain.state import SessionState
from domain.status import Actor


def session_view_for(state: SessionState, party: ActingParty) -> SessionState:
    """``state`` as ``party`` (already known to be a party of the session, or an admin) may read it."""
    if party.role is Actor.THERAPIST and state.payment.client_secret is not None:
        return state.model_copy(update={"payment": state.payment.model_copy(update={"client_secret": None})})
    attendance = state.attendance
    if party.role is Actor.CLIENT and attendance is not None and attendance.update.end_reason is not None:
        update = attendance.update.model_copy(update={"end_reason": None})
        return state.model_copy(update={"attendance": attendance.model_copy(update={"update": update})})
    return state
