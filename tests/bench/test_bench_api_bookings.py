"""The API bench books what a real backend would: bookings every rule accepts, without a server."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

import httpx

from bench.api_latency import ATTENDANCE_LEAD_SECONDS, booking, refusal, soon_booking
from domain.acting import ActingParty, check_booking_party
from domain.booking import SessionBooking, check_booking
from domain.time_claims import TimeClaim, check_claim

REQUESTS = 200  # the full bench's --api-requests


def _bookings(now: datetime) -> list[SessionBooking]:
    soon = (now + timedelta(seconds=ATTENDANCE_LEAD_SECONDS)).replace(microsecond=0)
    bodies = [booking("run1", i, now) for i in range(REQUESTS)]
    bodies += [soon_booking("run1", i, now, soon) for i in range(REQUESTS)]
    return [SessionBooking.model_validate(body) for body in bodies]


def test_a_therapist_holds_one_session_at_a_time_so_no_bench_booking_is_time_taken() -> None:
    now = datetime.now(UTC)
    claims: dict[str, dict[str, TimeClaim]] = defaultdict(dict)
    for each in _bookings(now):
        claim = TimeClaim(
            session_id=each.session_id, client_id=each.client_id, start=each.start, end=each.end
        )
        check_claim(claims[each.therapist_id], claim)  # raises time_taken on an overlap
        claims[each.therapist_id][each.session_id] = claim


def test_every_bench_booking_is_made_by_its_own_therapist_within_the_policy() -> None:
    now = datetime.now(UTC)
    for each in _bookings(now):
        check_booking(each, now)
        check_booking_party(
            ActingParty(role=each.booked_by, id=each.therapist_id),
            therapist_id=each.therapist_id,
            client_id=each.client_id,
            booked_by=each.booked_by,
        )


def test_a_refused_request_is_counted_by_its_status_and_rule_code() -> None:
    refused = httpx.Response(409, json={"code": "time_taken", "message": "the therapist already has…"})
    assert refusal(refused) == "409 time_taken"
    assert refusal(httpx.Response(502, text="bad gateway")) == "502"
