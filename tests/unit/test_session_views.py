"""Each party reads its own view of a session: the payment secret is the client's, the reason a
relationship ended the therapist's."""

from __future__ import annotations

import pytest

from domain.acting import ActingParty
from domain.attendance import AttendanceOutcome, AttendanceRecord, AttendanceUpdate, ContinueChoice
from domain.practice import EndReason
from domain.state import SessionState
from domain.status import Actor, BookingKind
from domain.views import session_view_for
from tests.unit.session_sim import open_session
from tests.unit.test_session_properties import BOOKED_AT, H

CLIENT = ActingParty(role=Actor.CLIENT, id="cli_sim")
THERAPIST = ActingParty(role=Actor.THERAPIST, id="thr_sim")
ADMIN = ActingParty(role=Actor.ADMIN, id="adm_1")


def waiting_for_the_client() -> SessionState:
    session = open_session(BookingKind.CLIENT_FOLLOW_UP, BOOKED_AT + 100 * H, BOOKED_AT).snapshot()
    return session.model_copy(
        update={"payment": session.payment.model_copy(update={"client_secret": "pi_1_secret_2"})}
    )


@pytest.mark.unit
def test_the_payment_secret_is_read_by_the_client_and_support_never_the_therapist() -> None:
    state = waiting_for_the_client()
    assert session_view_for(state, CLIENT).payment.client_secret == "pi_1_secret_2"
    assert session_view_for(state, ADMIN).payment.client_secret == "pi_1_secret_2"
    assert session_view_for(state, THERAPIST).payment.client_secret is None


@pytest.mark.unit
def test_why_the_therapist_ended_the_relationship_is_not_the_clients_to_read() -> None:
    session = open_session(BookingKind.THERAPIST_FOLLOW_UP, BOOKED_AT + 100 * H, BOOKED_AT).snapshot()
    update = AttendanceUpdate(
        outcome=AttendanceOutcome.ATTENDED,
        continue_sessions=ContinueChoice.NO,
        end_relationship=True,
        end_reason=EndReason.NOT_A_FIT,
    )
    state = session.model_copy(update={"attendance": AttendanceRecord(update=update, at=BOOKED_AT + 101 * H)})

    client_view = session_view_for(state, CLIENT)
    assert client_view.attendance is not None and client_view.attendance.update.end_relationship
    assert client_view.attendance.update.end_reason is None
    therapist_view = session_view_for(state, THERAPIST)
    assert therapist_view.attendance is not None
    assert therapist_view.attendance.update.end_reason is EndReason.NOT_A_FIT
