"""A session's time at the therapist's practice: the claims it sends (``domain.time_claims``).

A move claims the new time before it is recorded (and claims the old time back if the move is
then refused); a follow-up's time is claimed, with the weekly slot when one is reserved, before
the attendance update is recorded; a cancelled session releases its time. Request ids derive
from the session and a per-session claim number, so a retried activity or a replayed workflow
asks the practice the same request and gets its first outcome.
"""

from __future__ import annotations

from datetime import datetime

from domain.ids import follow_up_session_id
from domain.practice import ClaimTime, ClaimTimeCall, ReleaseTime, ReleaseTimeCall
from domain.session import Session
from domain.slots import WeeklySlotRule


def _claim_call(
    session: Session,
    session_id: str,
    start: datetime,
    request_id: str,
    reserve: WeeklySlotRule | None = None,
) -> ClaimTimeCall:
    return ClaimTimeCall(
        therapist_id=session.therapist_id,
        timezone=session.therapist_timezone,
        request_id=request_id,
        command=ClaimTime(
            session_id=session_id,
            client_id=session.client_id,
            start=start,
            end=start + session.booking.duration,
            reserve=reserve,
        ),
    )


def move_claim_call(session: Session, new_start: datetime, number: int) -> ClaimTimeCall:
    """Claim the time a move goes to (replacing the session's earlier claim)."""
    return _claim_call(session, session.session_id, new_start, f"{session.session_id}:time:{number}")


def restore_claim_call(session: Session, number: int) -> ClaimTimeCall:
    """Claim the session's current time again: a move that claimed its new time was then refused."""
    return _claim_call(session, session.session_id, session.start, f"{session.session_id}:time:{number}")


def follow_up_claim_call(
    session: Session, start: datetime, reserve: WeeklySlotRule | None, number: int
) -> ClaimTimeCall:
    """Claim the follow-up's time (the follow-up's id is fixed by this session), and the weekly
    slot with it when the update reserves one: granted together or refused together. Each filing
    sends its own request: one filed again after an unanswered claim must not get the first one's
    outcome for another time."""
    follow_up_id = follow_up_session_id(session.session_id)
    request_id = f"{session.session_id}:attendance:claim:{number}"
    return _claim_call(session, follow_up_id, start, request_id, reserve)


def follow_up_release_call(session: Session) -> ReleaseTimeCall:
    """Free the follow-up's claimed time when the follow-up could not be started."""
    follow_up_id = follow_up_session_id(session.session_id)
    return _release_call(session, follow_up_id, f"{session.session_id}:attendance:unclaim")


def release_call(session: Session) -> ReleaseTimeCall:
    """Free a cancelled session's time."""
    return _release_call(session, session.session_id, f"{session.session_id}:release-time")


def _release_call(session: Session, session_id: str, request_id: str) -> ReleaseTimeCall:
    return ReleaseTimeCall(
        therapist_id=session.therapist_id,
        timezone=session.therapist_timezone,
        request_id=request_id,
        command=ReleaseTime(session_id=session_id),
    )
