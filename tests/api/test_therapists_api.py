"""The therapist routes over real HTTP: Awaiting Updates, clients, reserved slots and their
occurrences, ending and restarting relationships; refusals with their status and code."""

from __future__ import annotations

import itertools
import uuid
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from tests.api.polling import poll, wait_for_status
from tests.workflows.support import HOUR, make_booking, real_now, unique

LONDON = "Europe/London"


def key() -> dict[str, str]:
    return {"Idempotency-Key": f"req-{uuid.uuid4().hex}"}


def slot_body(client_id: str, **overrides: Any) -> dict[str, Any]:
    return {
        "client_id": client_id,
        "weekday": 1,  # Tuesday
        "local_time": "18:00",
        "duration_minutes": 50,
        "timezone": LONDON,
        **overrides,
    }


_HOURS_AHEAD = itertools.count(100)


async def book(http: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    # Each booking at its own hour: one therapist holds one session at a time.
    start = real_now() + next(_HOURS_AHEAD) * HOUR
    body = make_booking(start=start, **overrides).model_dump(mode="json")
    booked = await http.post("/v1/sessions", json=body)
    assert booked.status_code == 201, booked.text
    return body


async def test_slots_conflict_naming_the_slot_retry_release_and_occurrences(http: httpx.AsyncClient) -> None:
    therapist = unique("thr")
    base = f"/v1/therapists/{therapist}"
    holder, other = unique("cli"), unique("cli")
    # Across the 2027 spring-forward (28 March): 18:00 London is 18:00Z, then 17:00Z.
    weeks = {"start_date": "2027-03-22", "end_date": "2027-04-04"}

    before = await http.get(f"{base}/slots/occurrences", params=weeks)
    reserve_key = key()
    reserved = await http.post(f"{base}/slots", json=slot_body(holder), headers=reserve_key)
    retried = await http.post(f"{base}/slots", json=slot_body(holder), headers=reserve_key)
    conflict = await http.post(f"{base}/slots", json=slot_body(other, local_time="18:30"), headers=key())
    beside = await http.post(f"{base}/slots", json=slot_body(other, local_time="18:50"), headers=key())
    occurrences = await http.get(f"{base}/slots/occurrences", params=weeks)

    assert before.status_code == 200 and before.json() == {"occurrences": []}
    assert reserved.status_code == 200, reserved.text
    slot_id = reserved.json()["slot_id"]
    assert reserved.json()["rule"] == {"weekday": 1, "local_time": "18:00:00", "duration_minutes": 50}
    assert retried.status_code == 200 and retried.json() == reserved.json()
    assert conflict.status_code == 409 and conflict.json()["code"] == "slot_conflict"
    assert slot_id in conflict.json()["message"] and "Tuesday 18:00" in conflict.json()["message"]
    assert beside.status_code == 200  # ends-at-start is not an overlap
    mine = [o for o in occurrences.json()["occurrences"] if o["slot_id"] == slot_id]
    assert [(o["client_id"], o["start"], o["end"]) for o in mine] == [
        (holder, "2027-03-23T18:00:00Z", "2027-03-23T18:50:00Z"),
        (holder, "2027-03-30T17:00:00Z", "2027-03-30T17:50:00Z"),
    ]

    release_key = key()
    released = await http.post(f"{base}/clients/{holder}/slots/release", headers=release_key)
    released_again = await http.post(f"{base}/clients/{holder}/slots/release", headers=release_key)
    nothing_left = await http.post(f"{base}/clients/{holder}/slots/release", headers=key())
    after = await http.get(f"{base}/slots/occurrences", params=weeks)
    now_free = await http.post(f"{base}/slots", json=slot_body(other, local_time="18:30"), headers=key())

    assert released.status_code == 200 and released.json()["released_slot_ids"] == [slot_id]
    assert released_again.json() == released.json()
    assert nothing_left.status_code == 200 and nothing_left.json()["released_slot_ids"] == []
    assert slot_id not in [o["slot_id"] for o in after.json()["occurrences"]]
    # The other client's slot at 18:50 is replaced by its new one at 18:30, now that 18:00 is free.
    assert now_free.status_code == 200 and now_free.json()["replaced_slot_id"] == beside.json()["slot_id"]


async def test_slot_and_query_input_is_validated(http: httpx.AsyncClient) -> None:
    base = f"/v1/therapists/{unique('thr')}"
    client_id = unique("cli")

    with_offset = await http.post(
        f"{base}/slots", json=slot_body(client_id, local_time="18:00+01:00"), headers=key()
    )
    unknown_zone = await http.post(
        f"{base}/slots", json=slot_body(client_id, timezone="Mars/Olympus"), headers=key()
    )
    bad_weekday = await http.post(f"{base}/slots", json=slot_body(client_id, weekday=7), headers=key())
    extra = await http.post(
        f"{base}/slots", json={**slot_body(client_id), "slot_id": "slot_1"}, headers=key()
    )
    no_key = await http.post(f"{base}/slots", json=slot_body(client_id))
    backwards = await http.get(
        f"{base}/slots/occurrences", params={"start_date": "2027-04-04", "end_date": "2027-03-22"}
    )
    missing = await http.get(f"{base}/slots/occurrences", params={"start_date": "2027-04-04"})
    bad_therapist = await http.get("/v1/therapists/not%20opaque/clients")
    bad_reason = await http.post(
        f"{base}/clients/{client_id}/end", json={"reason": "because", "timezone": LONDON}, headers=key()
    )

    for response in (
        with_offset,
        unknown_zone,
        bad_weekday,
        extra,
        no_key,
        missing,
        bad_therapist,
        bad_reason,
    ):
        assert response.status_code == 422, response.text
        assert response.json()["code"] == "validation_error"
    # Both dates well formed: the range's rule refuses it, as a rule does.
    assert backwards.status_code == 409 and backwards.json()["code"] == "invalid_combination"


async def test_clients_with_and_without_inactive_end_and_restart(http: httpx.AsyncClient) -> None:
    therapist = unique("thr")
    base = f"/v1/therapists/{therapist}"
    unknown_practice = await http.get(
        f"/v1/therapists/{unique('thr')}/clients", params={"include_inactive": True}
    )
    restart_unknown = await http.post(f"/v1/therapists/{unique('thr')}/clients/cli_x/restart", headers=key())
    staying = await book(http, therapist_id=therapist)
    leaving = await book(http, therapist_id=therapist)
    # The leaving client's weekly slot at their own session's time: the staying client's session
    # (an hour earlier) never overlaps it, whatever day the test runs on.
    own = datetime.fromisoformat(leaving["start"]).astimezone(ZoneInfo(LONDON))
    at_own_time = {"weekday": own.weekday(), "local_time": f"{own:%H:%M}"}
    reserved = await http.post(
        f"{base}/slots", json=slot_body(leaving["client_id"], **at_own_time), headers=key()
    )

    listed = await http.get(f"{base}/clients")
    end_key = key()
    end_body = {"reason": "treatment_complete", "timezone": LONDON}
    ended = await http.post(f"{base}/clients/{leaving['client_id']}/end", json=end_body, headers=end_key)
    ended_again = await http.post(
        f"{base}/clients/{leaving['client_id']}/end", json=end_body, headers=end_key
    )
    active = await http.get(f"{base}/clients", params={"include_inactive": False})
    everyone = await http.get(f"{base}/clients", params={"include_inactive": True})
    reserve_while_ended = await http.post(
        f"{base}/slots", json=slot_body(leaving["client_id"], **at_own_time), headers=key()
    )
    restart_key = key()
    restarted = await http.post(f"{base}/clients/{leaving['client_id']}/restart", headers=restart_key)
    restarted_again = await http.post(f"{base}/clients/{leaving['client_id']}/restart", headers=restart_key)
    after_restart = await http.get(f"{base}/clients")

    assert unknown_practice.status_code == 200 and unknown_practice.json() == {"clients": []}
    assert restart_unknown.status_code == 200 and restart_unknown.json()["was_ended"] is False
    assert sorted(c["client_id"] for c in listed.json()["clients"]) == sorted(
        [staying["client_id"], leaving["client_id"]]
    )
    assert ended.status_code == 200, ended.text
    assert ended.json()["released_slot_ids"] == [reserved.json()["slot_id"]]
    assert ended.json()["already_ended"] is False and ended.json()["cancelled_session_ids"] == []
    assert ended_again.json() == ended.json()
    assert [c["client_id"] for c in active.json()["clients"]] == [staying["client_id"]]
    [gone] = [c for c in everyone.json()["clients"] if c["client_id"] == leaving["client_id"]]
    assert gone["status"] == "ended" and gone["end_reason"] == "treatment_complete"
    assert [event["kind"] for event in gone["history"]] == ["registered", "ended"]
    assert reserve_while_ended.status_code == 409
    assert reserve_while_ended.json()["code"] == "relationship_ended"
    assert restarted.status_code == 200 and restarted.json()["was_ended"] is True
    assert restarted_again.json() == restarted.json()
    assert leaving["client_id"] in [c["client_id"] for c in after_restart.json()["clients"]]


async def test_ending_can_cancel_the_clients_future_sessions(http: httpx.AsyncClient) -> None:
    therapist = unique("thr")
    client_id = unique("cli")
    future = await book(http, therapist_id=therapist, client_id=client_id)
    other_client = await book(http, therapist_id=therapist)
    await wait_for_status(http, future["session_id"], "scheduled")

    ended = await http.post(
        f"/v1/therapists/{therapist}/clients/{client_id}/end",
        json={"reason": "referred_elsewhere", "cancel_future_sessions": True, "timezone": LONDON},
        headers=key(),
    )

    assert ended.status_code == 200, ended.text
    assert ended.json()["cancelled_session_ids"] == [future["session_id"]]
    cancelled = await wait_for_status(http, future["session_id"], "cancelled_by_therapist")
    assert cancelled["cancellation"]["requested_by"] == "therapist"
    untouched = await http.get(f"/v1/sessions/{other_client['session_id']}")
    assert untouched.json()["status"] == "scheduled"
    # Ended by support (the tests' default acting party): each cancellation is marked as theirs.
    timeline = (await http.get(f"/v1/sessions/{future['session_id']}/history")).json()
    [accepted] = [e for e in timeline["events"] if e["kind"] == "update_accepted"]
    assert accepted["detail"]["acting_party"] == "admin:adm_tests"
    assert accepted["detail"]["submitted_by"] == "admin"


async def test_awaiting_updates_is_empty_for_a_therapist_without_ended_sessions(
    http: httpx.AsyncClient,
) -> None:
    therapist = unique("thr")
    await book(http, therapist_id=therapist)

    listed = await poll(http, f"/v1/therapists/{therapist}/awaiting-updates", lambda body: True, "the list")
    bad_id = await http.get("/v1/therapists/bad%27id/awaiting-updates")

    assert listed == []
    assert bad_id.status_code == 422
