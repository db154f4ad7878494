"""The preview of a cancellation or a move is the command's own rule, applied to the same state at
the same instant without changing anything (issue 12 §6): it can never disagree with the outcome.

Random lives (``session_sim``) bring the session anywhere — charged, declined, moved late,
cancelled, finished — and then a random cancellation or move is previewed and carried out at the
same instant.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

from hypothesis import given
from hypothesis import strategies as st

from domain import session_commands as commands
from domain.commands import CancelRequest, RescheduleRequest
from domain.errors import RuleViolation
from domain.status import Actor, BookingKind, CancelReason, SessionStatus
from tests.unit.session_sim import PRICE, Command, Simulation, open_session
from tests.unit.test_session_properties import BOOKED_AT, PROPERTY_SETTINGS, H, instants, lives

Life = tuple[Simulation, list[tuple[datetime, Command]]]


@st.composite
def cancel_requests(draw: st.DrawFn) -> CancelRequest:
    requested_by = draw(st.sampled_from(list(Actor)))
    waive = requested_by is Actor.CLIENT and draw(st.booleans())
    return CancelRequest(
        requested_by=requested_by,
        reason=CancelReason.OTHER,
        submitted_by=Actor.THERAPIST if waive else None,
        discretionary_refund=waive,
    )


T = TypeVar("T")


def _outcome_or_refusal(decide: Callable[[], T]) -> T | str:
    """The outcome, or the code it was refused with."""
    try:
        return decide()
    except RuleViolation as violation:
        return violation.code


@PROPERTY_SETTINGS
@given(life=lives(), request=cancel_requests(), data=st.data())
def test_a_cancellation_preview_is_what_the_cancellation_then_does_and_changes_nothing(
    life: Life, request: CancelRequest, data: st.DataObject
) -> None:
    simulation, timed = life
    simulation.run(timed)
    session = simulation.session
    at = data.draw(instants(session.start))
    untouched = session.model_copy(deep=True)

    preview = _outcome_or_refusal(lambda: commands.preview_cancel(session, request, at, at))

    assert session == untouched  # a preview (a query) changes nothing
    done = _outcome_or_refusal(lambda: commands.cancel(session, request, at, at)[0])
    if isinstance(done, str):
        assert preview == done  # refused alike, with the same code
    else:
        assert not isinstance(preview, str) and preview.outcome == done
        assert preview.charge_minor == (session.payment.amount_minor if done.charge_kept else 0)


@PROPERTY_SETTINGS
@given(life=lives(), data=st.data())
def test_a_move_preview_is_what_the_move_then_does_and_changes_nothing(
    life: Life, data: st.DataObject
) -> None:
    simulation, timed = life
    simulation.run(timed)
    session = simulation.session
    at = data.draw(instants(session.start))
    new_start = session.start + timedelta(hours=data.draw(st.integers(-72, 14 * 24)))
    request = RescheduleRequest(requested_by=data.draw(st.sampled_from(list(Actor))), new_start=new_start)
    untouched = session.model_copy(deep=True)

    preview = _outcome_or_refusal(lambda: commands.preview_reschedule(session, request, at, at))

    assert session == untouched
    done = _outcome_or_refusal(lambda: commands.reschedule(session, request, at, at))
    if isinstance(done, str):
        assert preview == done
    else:
        assert not isinstance(preview, str) and preview.outcome == done
        assert preview.charge_kept == session.payment.charge_kept_by_late_move


START = BOOKED_AT + 10 * 24 * H
CLIENT = CancelRequest(requested_by=Actor.CLIENT, reason=CancelReason.CLIENT_REQUEST)
THERAPIST = CancelRequest(requested_by=Actor.THERAPIST, reason=CancelReason.THERAPIST_UNAVAILABLE)


def test_a_clients_free_cancellation_lasts_until_48_hours_before_the_start_and_that_instant_is_late() -> None:
    session = open_session(BookingKind.INITIAL_PREPAID, START, BOOKED_AT)
    deadline = START - 48 * H

    just_before = commands.preview_cancel(session, CLIENT, deadline - timedelta(seconds=1), deadline)
    at_48_hours = commands.preview_cancel(session, CLIENT, deadline, deadline)

    assert just_before.free_before == deadline == at_48_hours.free_before
    assert just_before.outcome.status is SessionStatus.CANCELLED_FREE and just_before.outcome.free
    assert just_before.outcome.refund_minor == PRICE and just_before.charge_minor == 0
    assert at_48_hours.outcome.status is SessionStatus.CANCELLED_LATE and not at_48_hours.outcome.free
    assert at_48_hours.outcome.refund_minor == 0 and at_48_hours.charge_minor == PRICE


def test_a_therapists_cancellation_is_free_until_the_start_and_refunds_the_payment() -> None:
    session = open_session(BookingKind.INITIAL_PREPAID, START, BOOKED_AT)
    an_hour_before = START - H

    preview = commands.preview_cancel(session, THERAPIST, an_hour_before, an_hour_before)

    assert preview.free_before == START
    assert preview.outcome.status is SessionStatus.CANCELLED_BY_THERAPIST and preview.outcome.free
    assert preview.outcome.refund_minor == PRICE and preview.charge_minor == 0


def test_a_clients_late_move_preview_says_the_charge_stands_and_when_it_is_taken() -> None:
    session = open_session(BookingKind.THERAPIST_FOLLOW_UP, START, BOOKED_AT)
    late = START - 47 * H
    move = RescheduleRequest(requested_by=Actor.CLIENT, new_start=START + 7 * 24 * H)

    preview = commands.preview_reschedule(session, move, late, late)

    assert preview.late and preview.charge_kept and preview.free_before == START - 48 * H
    # The charge that was due (start − 48 h, passed: taken at once) stays due; the move does not
    # push it to the new start − 48 h.
    assert preview.charge_at == START - 48 * H and preview.charge_minor == PRICE
