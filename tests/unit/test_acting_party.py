"""Who is acting, and may they (issue 12 §4): the pure rules behind the ``Acting-Party`` header."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from domain import session_commands as commands
from domain.acting import ActingParty, check_booking_party, check_practice_party
from domain.attendance import AttendanceOutcome, AttendanceUpdate
from domain.commands import CancelRequest, PaymentMethodUpdate, RescheduleRequest
from domain.errors import RuleViolation
from domain.session_attendance import check_attendance
from domain.status import Actor, BookingKind, CancelReason
from tests.unit.session_sim import open_session
from tests.unit.test_session_properties import BOOKED_AT, H

START = BOOKED_AT + 10 * 24 * H
CLIENT = ActingParty(role=Actor.CLIENT, id="cli_sim")  # the simulated session's own client
THERAPIST = ActingParty(role=Actor.THERAPIST, id="thr_sim")
ADMIN = ActingParty(role=Actor.ADMIN, id="adm_1")
OTHER_THERAPIST = ActingParty(role=Actor.THERAPIST, id="thr_other")
OTHER_CLIENT = ActingParty(role=Actor.CLIENT, id="cli_other")


def refusal(check: object) -> str | None:
    try:
        check()  # type: ignore[operator]
    except RuleViolation as violation:
        return violation.code
    return None


def test_the_header_names_a_role_and_an_opaque_id() -> None:
    assert ActingParty.parse("therapist:thr_1") == ActingParty(role=Actor.THERAPIST, id="thr_1")
    assert ActingParty.parse("admin:adm-7").header() == "admin:adm-7"
    for malformed in ("thr_1", "therapist:", "nurse:n_1", "client:a b", "client:x:y", "Client:c_1"):
        with pytest.raises(ValueError, match="Acting-Party"):
            ActingParty.parse(malformed)


def test_a_therapist_acting_on_another_therapists_session_is_refused_as_not_found_before_any_rule() -> None:
    session = open_session(BookingKind.THERAPIST_FOLLOW_UP, START, BOOKED_AT)
    after_start = START + H  # every rule would refuse too: the stranger must not learn which one
    cancel = CancelRequest(
        requested_by=Actor.THERAPIST, reason=CancelReason.OTHER, acting_party=OTHER_THERAPIST
    )
    move = RescheduleRequest(requested_by=Actor.THERAPIST, new_start=START, acting_party=OTHER_THERAPIST)
    update = AttendanceUpdate(outcome=AttendanceOutcome.ATTENDED, acting_party=OTHER_THERAPIST)

    assert refusal(lambda: commands.check_cancel(session, after_start, OTHER_THERAPIST)) == "not_found"
    assert refusal(lambda: commands.decide_cancel(session, cancel, after_start, after_start)) == "not_found"
    assert refusal(lambda: commands.check_reschedule(session, move, after_start)) == "not_found"
    assert refusal(lambda: check_attendance(session, update, START - H)) == "not_found"
    assert (
        refusal(lambda: commands.check_payment_method_update(session, after_start, OTHER_CLIENT))
        == "not_found"
    )


def test_each_command_names_who_of_the_session_may_send_it() -> None:
    session = open_session(BookingKind.THERAPIST_FOLLOW_UP, START, BOOKED_AT)
    now = START - 72 * H
    later = START + timedelta(days=1)
    for party in (CLIENT, THERAPIST, ADMIN):
        move = RescheduleRequest(requested_by=Actor.CLIENT, new_start=later, acting_party=party)
        assert refusal(lambda: commands.check_cancel(session, now, party)) is None  # noqa: B023
        assert refusal(lambda: commands.check_reschedule(session, move, now)) is None  # noqa: B023
    card = PaymentMethodUpdate(payment_method_id="pm_new", acting_party=THERAPIST)
    assert refusal(lambda: commands.check_payment_method_update(session, now, CLIENT)) is None
    assert (
        refusal(lambda: commands.check_payment_method_update(session, now, card.acting_party))
        == "not_allowed"
    )
    by_client = AttendanceUpdate(
        outcome=AttendanceOutcome.ATTENDED, submitted_by=Actor.CLIENT, acting_party=CLIENT
    )
    assert refusal(lambda: check_attendance(session, by_client, START + H)) == "not_allowed"


def test_a_client_files_only_as_the_client_and_moves_only_in_their_own_name() -> None:
    with pytest.raises(ValidationError, match="submitter_not_acting_party"):
        CancelRequest(
            requested_by=Actor.CLIENT,
            submitted_by=Actor.THERAPIST,
            reason=CancelReason.OTHER,
            acting_party=CLIENT,
        )
    with pytest.raises(ValidationError, match="submitter_not_allowed"):
        RescheduleRequest(requested_by=Actor.THERAPIST, new_start=START, acting_party=CLIENT)
    # A therapist may file the client's cancellation (a phone call), as before.
    filed = CancelRequest(
        requested_by=Actor.CLIENT,
        submitted_by=Actor.THERAPIST,
        reason=CancelReason.OTHER,
        acting_party=THERAPIST,
    )
    assert filed.recorded_by is Actor.THERAPIST


def test_commands_recorded_before_acting_parties_existed_still_decode_and_pass() -> None:
    old = CancelRequest.model_validate({"requested_by": "client", "reason": "client_request"})
    session = open_session(BookingKind.THERAPIST_FOLLOW_UP, START, BOOKED_AT)

    assert old.acting_party is None
    assert refusal(lambda: commands.check_cancel(session, START - 72 * H, old.acting_party)) is None


def test_a_client_books_as_themselves_a_therapist_for_their_practice_and_an_admin_for_anyone() -> None:
    ids: dict[str, Any] = {"therapist_id": "thr_sim", "client_id": "cli_sim"}
    assert [refusal(lambda: check_booking_party(p, **ids)) for p in (CLIENT, THERAPIST, ADMIN)] == [None] * 3  # noqa: B023
    assert refusal(lambda: check_booking_party(OTHER_CLIENT, **ids)) == "not_allowed"
    assert refusal(lambda: check_booking_party(OTHER_THERAPIST, **ids)) == "not_allowed"


def test_a_practice_answers_only_its_therapist_and_admins() -> None:
    assert refusal(lambda: check_practice_party(THERAPIST, "thr_sim")) is None
    assert refusal(lambda: check_practice_party(ADMIN, "thr_sim")) is None
    assert refusal(lambda: check_practice_party(OTHER_THERAPIST, "thr_sim")) == "not_found"
    assert (
        refusal(lambda: check_practice_party(ActingParty(role=Actor.CLIENT, id="thr_sim"), "thr_sim"))
        == "not_found"
    )


def test_the_kind_of_a_booking_names_who_may_make_it() -> None:
    def check(party: ActingParty, booked_by: Actor) -> str | None:
        return refusal(
            lambda: check_booking_party(
                party, therapist_id=THERAPIST.id, client_id=CLIENT.id, booked_by=booked_by
            )
        )

    # A client cannot book a therapist's kind (charged off-session, in the therapist's name)...
    assert check(CLIENT, Actor.THERAPIST) == "not_allowed"
    # ...nor a therapist the client's own (charged at once, on-session, as if the client were there).
    assert check(THERAPIST, Actor.CLIENT) == "not_allowed"
    assert check(THERAPIST, Actor.THERAPIST) is None
    assert check(CLIENT, Actor.CLIENT) is None
    assert check(ADMIN, Actor.CLIENT) is None
    assert check(ADMIN, Actor.THERAPIST) is None


def test_a_stranger_to_a_practice_hears_of_no_therapist_never_of_a_session() -> None:
    with pytest.raises(RuleViolation) as refused:
        check_practice_party(OTHER_THERAPIST, "thr_sim")

    assert (refused.value.code, refused.value.message) == ("not_found", "no such therapist")
