"""Who is acting, and may they (issue 12 §4), over real HTTP: every request names its acting party
(`Acting-Party`); someone who is no party of a session gets exactly the 404 of a session that does
not exist; each command names who of the session may send it; an admin's action is marked as such
in the history. And the previews (§6): the consequence told before the cancel or the move."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
from temporalio.testing import WorkflowEnvironment

from domain.status import BookingKind
from temporal_client.session_client import session_handle
from tests.api.conftest import acting
from tests.workflows.support import HOUR, WAIT, make_booking, real_now, unique

UNKNOWN = f"/v1/sessions/{unique('ses')}"


def key() -> dict[str, str]:
    return {"Idempotency-Key": f"req-{uuid.uuid4().hex}"}


def booking_body(
    hours_ahead: int = 100, kind: BookingKind = BookingKind.THERAPIST_FOLLOW_UP
) -> dict[str, Any]:
    return make_booking(kind, start=real_now() + hours_ahead * HOUR).model_dump(mode="json")


async def booked(http: httpx.AsyncClient, hours_ahead: int = 100) -> dict[str, Any]:
    body = booking_body(hours_ahead)
    response = await http.post("/v1/sessions", json=body, headers=acting("therapist", body["therapist_id"]))
    assert response.status_code == 201, response.text
    return body


async def every_route(
    http: httpx.AsyncClient, path: str, party: dict[str, str], start: str
) -> list[httpx.Response]:
    """Every session route, as ``party``: a read, the history, each command and each preview, each
    well-formed for the party's role (a client's in the client's name)."""
    later = (datetime.fromisoformat(start) + timedelta(days=1)).isoformat()
    role = party["Acting-Party"].partition(":")[0]
    cancel = {"requested_by": role, "reason": "other"}
    move = {"requested_by": role, "new_start": later}
    return [
        await http.get(path, headers=party),
        await http.get(f"{path}/history", headers=party),
        await http.post(f"{path}/cancel", json=cancel, headers={**key(), **party}),
        await http.post(f"{path}/cancel/preview", json=cancel, headers=party),
        await http.post(f"{path}/reschedule", json=move, headers={**key(), **party}),
        await http.post(f"{path}/reschedule/preview", json=move, headers=party),
        await http.post(f"{path}/attendance", json={"outcome": "attended"}, headers={**key(), **party}),
        await http.post(
            f"{path}/payment-method", json={"payment_method_id": "pm_card_visa"}, headers={**key(), **party}
        ),
    ]


def the_same_404(responses: list[httpx.Response], unknown: list[httpx.Response], *ids: str) -> None:
    assert [r.status_code for r in responses] == [404] * len(responses), [r.text for r in responses]
    assert [r.json() for r in responses] == [r.json() for r in unknown]
    assert {r.text for r in responses} == {'{"code":"not_found","message":"no such session"}'}
    for response in responses:
        assert not any(party_id in response.text for party_id in ids)  # no ids echoed


async def test_a_therapist_acting_on_another_therapists_session_gets_the_same_404_as_an_unknown_session(
    http: httpx.AsyncClient,
) -> None:
    body = await booked(http)
    other = acting("therapist", unique("thr"))

    responses = await every_route(http, f"/v1/sessions/{body['session_id']}", other, body["start"])
    unknown = await every_route(http, UNKNOWN, other, body["start"])

    the_same_404(responses, unknown, body["session_id"], body["therapist_id"], body["client_id"])
    # Nothing happened to the session.
    state = (await http.get(f"/v1/sessions/{body['session_id']}")).json()
    assert state["status"] == "scheduled" and state["start"] == body["start"].replace("+00:00", "Z")


async def test_a_client_acting_on_another_clients_session_gets_the_same_404_as_an_unknown_session(
    http: httpx.AsyncClient,
) -> None:
    body = await booked(http)
    other = acting("client", unique("cli"))

    responses = await every_route(http, f"/v1/sessions/{body['session_id']}", other, body["start"])
    unknown = await every_route(http, UNKNOWN, other, body["start"])

    the_same_404(responses, unknown, body["session_id"], body["therapist_id"], body["client_id"])


async def test_a_session_is_read_by_its_client_its_therapist_and_admins(http: httpx.AsyncClient) -> None:
    body = await booked(http)
    path = f"/v1/sessions/{body['session_id']}"

    reads = [
        await http.get(path, headers=acting("client", body["client_id"])),
        await http.get(path, headers=acting("therapist", body["therapist_id"])),
        await http.get(path, headers=acting("admin", "adm_support")),
    ]

    assert [r.status_code for r in reads] == [200, 200, 200]


async def test_a_missing_or_malformed_acting_party_is_422(http: httpx.AsyncClient, api_url: str) -> None:
    body = await booked(http)
    path = f"/v1/sessions/{body['session_id']}"
    async with httpx.AsyncClient(
        base_url=api_url, headers={"Authorization": http.headers["Authorization"]}
    ) as bare:
        missing = await bare.get(path)
        malformed = [
            await bare.get(path, headers={"Acting-Party": value})
            for value in ("thr_1", "nurse:n_1", "client:a b")
        ]
        practice = await bare.get(f"/v1/therapists/{body['therapist_id']}/clients")

    for response in (missing, *malformed, practice):
        assert response.status_code == 422 and response.json()["code"] == "validation_error", response.text
        assert ["header", "Acting-Party"] in [field["location"] for field in response.json()["fields"]]


async def test_a_client_cancels_their_own_session_only_as_the_client(http: httpx.AsyncClient) -> None:
    body = await booked(http)
    cancel = f"/v1/sessions/{body['session_id']}/cancel"
    client = acting("client", body["client_id"])

    as_therapist = await http.post(
        cancel,
        json={"requested_by": "therapist", "reason": "therapist_unavailable"},
        headers={**key(), **client},
    )
    filed_as_therapist = await http.post(
        cancel,
        json={"requested_by": "client", "submitted_by": "therapist", "reason": "client_request"},
        headers={**key(), **client},
    )
    own = await http.post(
        cancel, json={"requested_by": "client", "reason": "client_request"}, headers={**key(), **client}
    )

    # Schema-valid bodies a rule across them and the Acting-Party refuses: 409 with the rule's code.
    assert as_therapist.status_code == 409 and as_therapist.json()["code"] == "submitter_not_allowed"
    assert filed_as_therapist.status_code == 409
    assert filed_as_therapist.json()["code"] == "submitter_not_acting_party"
    assert own.status_code == 200 and own.json()["status"] == "cancelled_free"


async def test_a_client_moves_only_in_their_own_name(http: httpx.AsyncClient) -> None:
    body = await booked(http)
    move = f"/v1/sessions/{body['session_id']}/reschedule"
    later = (datetime.fromisoformat(body["start"]) + timedelta(days=1)).isoformat()
    client = acting("client", body["client_id"])

    as_therapist = await http.post(
        move, json={"requested_by": "therapist", "new_start": later}, headers={**key(), **client}
    )
    own = await http.post(
        move, json={"requested_by": "client", "new_start": later}, headers={**key(), **client}
    )

    assert as_therapist.status_code == 409 and as_therapist.json()["code"] == "submitter_not_allowed"
    assert own.status_code == 200, own.text


async def test_the_attendance_update_is_the_therapists_and_the_card_the_clients(
    http: httpx.AsyncClient,
) -> None:
    body = await booked(http)
    path = f"/v1/sessions/{body['session_id']}"

    by_client = await http.post(
        f"{path}/attendance",
        json={"outcome": "attended"},
        headers={**key(), **acting("client", body["client_id"])},
    )
    card_by_therapist = await http.post(
        f"{path}/payment-method",
        json={"payment_method_id": "pm_card_visa"},
        headers={**key(), **acting("therapist", body["therapist_id"])},
    )
    card_by_client = await http.post(
        f"{path}/payment-method",
        json={"payment_method_id": "pm_card_visa_new"},
        headers={**key(), **acting("client", body["client_id"])},
    )

    assert by_client.status_code == 409 and by_client.json()["code"] == "not_allowed"
    assert card_by_therapist.status_code == 409 and card_by_therapist.json()["code"] == "not_allowed"
    assert card_by_client.status_code == 200, card_by_client.text


async def test_a_client_books_as_themselves_and_a_therapist_only_for_their_own_practice(
    http: httpx.AsyncClient,
) -> None:
    mine, theirs = (
        booking_body(kind=BookingKind.CLIENT_FOLLOW_UP),
        booking_body(kind=BookingKind.CLIENT_FOLLOW_UP),
    )
    for_other_therapist = booking_body()

    own = await http.post("/v1/sessions", json=mine, headers=acting("client", mine["client_id"]))
    as_someone_else = await http.post("/v1/sessions", json=theirs, headers=acting("client", unique("cli")))
    other_practice = await http.post(
        "/v1/sessions", json=for_other_therapist, headers=acting("therapist", unique("thr"))
    )

    assert own.status_code == 201, own.text
    assert as_someone_else.status_code == 409 and as_someone_else.json()["code"] == "not_allowed"
    assert other_practice.status_code == 409 and other_practice.json()["code"] == "not_allowed"
    assert (await http.get(f"/v1/sessions/{theirs['session_id']}")).status_code == 404  # nothing booked


async def test_a_client_cannot_book_a_session_in_the_therapists_name(http: httpx.AsyncClient) -> None:
    therapists_kind = booking_body()  # therapist_follow_up: charged off-session, without the client
    clients_kind = booking_body(kind=BookingKind.CLIENT_FOLLOW_UP)  # charged at once, on-session

    by_client = await http.post(
        "/v1/sessions", json=therapists_kind, headers=acting("client", therapists_kind["client_id"])
    )
    by_therapist = await http.post(
        "/v1/sessions", json=clients_kind, headers=acting("therapist", clients_kind["therapist_id"])
    )

    assert by_client.status_code == 409 and by_client.json()["code"] == "not_allowed"
    assert by_therapist.status_code == 409 and by_therapist.json()["code"] == "not_allowed"


async def test_a_therapists_practice_answers_only_the_therapist_and_admins(http: httpx.AsyncClient) -> None:
    body = await booked(http)
    practice = f"/v1/therapists/{body['therapist_id']}"

    own = await http.get(f"{practice}/clients", headers=acting("therapist", body["therapist_id"]))
    admin = await http.get(f"{practice}/clients", headers=acting("admin", "adm_support"))
    strangers = [
        await http.get(f"{practice}/clients", headers=acting("therapist", unique("thr"))),
        await http.get(f"{practice}/awaiting-updates", headers=acting("client", body["client_id"])),
        await http.post(
            f"{practice}/clients/{body['client_id']}/slots/release",
            headers={**key(), **acting("therapist", unique("thr"))},
        ),
    ]
    unknown_session = await http.get(UNKNOWN, headers=acting("therapist", unique("thr")))

    assert own.status_code == 200 and body["client_id"] in own.text
    assert admin.status_code == 200
    assert [r.status_code for r in strangers] == [404, 404, 404]
    assert {r.text for r in strangers} == {unknown_session.text}


async def test_an_admins_cancellation_is_marked_as_such_in_the_history(http: httpx.AsyncClient) -> None:
    body = await booked(http)
    path = f"/v1/sessions/{body['session_id']}"

    cancelled = await http.post(
        f"{path}/cancel",
        json={"requested_by": "client", "reason": "client_request"},
        headers={**key(), **acting("admin", "adm_support")},
    )
    timeline = (await http.get(f"{path}/history", headers=acting("client", body["client_id"]))).json()

    assert cancelled.status_code == 200, cancelled.text
    [accepted] = [e for e in timeline["events"] if e["kind"] == "update_accepted"]
    assert accepted["detail"]["acting_party"] == "admin:adm_support"
    assert accepted["detail"]["submitted_by"] == "admin" and accepted["detail"]["requested_by"] == "client"


async def test_a_closed_session_tells_only_its_parties_that_it_is_closed(
    http: httpx.AsyncClient, env: WorkflowEnvironment
) -> None:
    body = await booked(http)
    path = f"/v1/sessions/{body['session_id']}"
    cancel = {"requested_by": "therapist", "reason": "therapist_unavailable"}
    therapist = acting("therapist", body["therapist_id"])
    first = await http.post(f"{path}/cancel", json=cancel, headers={**key(), **therapist})
    assert first.status_code == 200, first.text
    # Nothing was charged: the session closes once its time is released.
    await asyncio.wait_for(session_handle(env.client, body["session_id"]).result(), WAIT)

    own = await http.post(f"{path}/cancel", json=cancel, headers={**key(), **therapist})
    stranger = await http.post(
        f"{path}/cancel", json=cancel, headers={**key(), **acting("therapist", unique("thr"))}
    )

    assert own.status_code == 409 and own.json()["code"] == "session_closed"
    assert stranger.status_code == 404 and stranger.json() == {
        "code": "not_found",
        "message": "no such session",
    }


async def test_a_cancellation_preview_tells_the_consequence_and_the_cancellation_then_agrees(
    http: httpx.AsyncClient,
) -> None:
    body = await booked(http, hours_ahead=72)
    path = f"/v1/sessions/{body['session_id']}"
    client = acting("client", body["client_id"])
    request = {"requested_by": "client", "reason": "client_request"}

    preview = await http.post(f"{path}/cancel/preview", json=request, headers=client)
    state = (await http.get(path)).json()
    cancelled = await http.post(f"{path}/cancel", json=request, headers={**key(), **client})

    assert preview.status_code == 200, preview.text
    told = preview.json()
    assert told["outcome"]["status"] == "cancelled_free" and told["outcome"]["free"] is True
    assert told["charge_minor"] == 0
    deadline = datetime.fromisoformat(body["start"]) - 48 * HOUR
    assert datetime.fromisoformat(told["free_before"]) == deadline
    assert state["status"] == "scheduled"  # the preview changed nothing
    assert cancelled.status_code == 200 and cancelled.json() == told["outcome"]


async def test_a_preview_is_refused_as_the_command_would_be(http: httpx.AsyncClient) -> None:
    body = await booked(http)
    path = f"/v1/sessions/{body['session_id']}"
    therapist = acting("therapist", body["therapist_id"])
    request = {"requested_by": "therapist", "reason": "therapist_unavailable"}
    await http.post(f"{path}/cancel", json=request, headers={**key(), **therapist})

    again = await http.post(f"{path}/cancel/preview", json=request, headers=therapist)
    move = await http.post(
        f"{path}/reschedule/preview",
        json={"requested_by": "therapist", "new_start": body["start"]},
        headers=therapist,
    )

    assert again.status_code == 409 and again.json()["code"] == "session_cancelled"
    assert move.status_code == 409 and move.json()["code"] == "session_cancelled"


async def test_a_move_preview_tells_when_the_card_is_charged_and_the_move_then_agrees(
    http: httpx.AsyncClient,
) -> None:
    body = await booked(http, hours_ahead=100)
    path = f"/v1/sessions/{body['session_id']}"
    therapist = acting("therapist", body["therapist_id"])
    later = (datetime.fromisoformat(body["start"]) + timedelta(days=7)).isoformat()
    request = {"requested_by": "therapist", "new_start": later}

    preview = await http.post(f"{path}/reschedule/preview", json=request, headers=therapist)
    moved = await http.post(f"{path}/reschedule", json=request, headers={**key(), **therapist})

    assert preview.status_code == 200, preview.text
    told = preview.json()
    assert told["late"] is False and told["charge_kept"] is False and told["charge_minor"] == 6000
    assert datetime.fromisoformat(told["free_before"]) == datetime.fromisoformat(body["start"])
    assert moved.status_code == 200 and moved.json() == told["outcome"]
    assert told["charge_at"] == told["outcome"]["next_charge_at"]


async def test_the_clients_payment_secret_is_read_only_by_the_client_never_by_the_therapist(
    http: httpx.AsyncClient,
) -> None:
    body = make_booking(
        BookingKind.CLIENT_FOLLOW_UP,
        start=real_now() + 100 * HOUR,
        payment_method="pm_card_authenticationRequired",
    ).model_dump(mode="json")
    booked = await http.post("/v1/sessions", json=body, headers=acting("client", body["client_id"]))
    assert booked.status_code == 201 and booked.json()["status"] == "awaiting_client_action", booked.text

    as_client = await http.get(
        f"/v1/sessions/{body['session_id']}", headers=acting("client", body["client_id"])
    )
    as_therapist = await http.get(
        f"/v1/sessions/{body['session_id']}", headers=acting("therapist", body["therapist_id"])
    )

    # The secret lets whoever holds it pay the client's PaymentIntent: the client's alone.
    assert as_client.json()["payment"]["client_secret"] == booked.json()["payment_intent_client_secret"]
    assert as_therapist.status_code == 200 and as_therapist.json()["payment"]["client_secret"] is None
