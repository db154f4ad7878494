"""Issue 12 §5 through the API alone (real HTTP, the dev server, the Stripe stand-in): a therapist
refunds in part or in full — also after the session completed or was cancelled — marks a no-show
from the start, books a manual session inside the window or dated in the past; a client's own
booking needs 24 hours' notice."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
from temporalio.testing import WorkflowEnvironment

from dev.notification_sink import NotificationSink
from dev.stripe_standin import StripeStandIn
from domain.notifications import NotificationType
from domain.status import BookingKind
from temporal_client.session_client import session_handle
from tests.api.polling import poll, wait_for_status
from tests.workflows.support import HOUR, WAIT, advance_to, make_booking, real_now

SECOND = timedelta(seconds=1)


def key() -> dict[str, str]:
    return {"Idempotency-Key": f"req-{uuid.uuid4().hex}"}


def acting(role: str, body: dict[str, Any]) -> dict[str, str]:
    """A request from the session's own client or therapist (the fixture's default is an admin)."""
    return {**key(), "Acting-Party": f"{role}:{body[f'{role}_id']}"}


def refunded_on_stripe(standin: StripeStandIn, session_id: str) -> int:
    return sum(
        int(charge.get("amount_refunded") or 0)
        for charge in standin.charges()
        if (charge.get("metadata") or {}).get("session_id") == session_id
        and charge.get("status") == "succeeded"
    )


async def closed(env: WorkflowEnvironment, session_id: str) -> None:
    """Wait until the session's own workflow has closed (the refund must then take the other path)."""
    await asyncio.wait_for(session_handle(env.client, session_id).result(), WAIT)


async def book(
    http: httpx.AsyncClient, kind: BookingKind, start_in: timedelta, **fields: Any
) -> dict[str, Any]:
    booking = make_booking(kind, start=real_now() + start_in, **fields)
    body = booking.model_dump(mode="json")
    booked = await http.post("/v1/sessions", json=body)
    assert booked.status_code == 201, booked.text
    return body


async def completed_session(
    http: httpx.AsyncClient, env: WorkflowEnvironment, reads_at: Callable[[datetime], None]
) -> dict[str, Any]:
    body = await book(http, BookingKind.THERAPIST_FOLLOW_UP, 72 * HOUR)
    session_id = body["session_id"]
    handle = session_handle(env.client, session_id)
    start = datetime.fromisoformat(body["start"])
    await asyncio.wait_for(advance_to(env, handle, start - 47 * HOUR), WAIT)
    await wait_for_status(http, session_id, "paid")
    # Nothing happens at the end itself (issue 13): reads judge the status on the session's clock.
    reads_at(await asyncio.wait_for(advance_to(env, handle, start + 51 * 60 * SECOND), WAIT))
    await wait_for_status(http, session_id, "awaiting_update")
    filed = await http.post(
        f"/v1/sessions/{session_id}/attendance", json={"outcome": "attended"}, headers=key()
    )
    assert filed.status_code == 200, filed.text
    await closed(env, session_id)
    return body


async def test_a_therapist_refunds_part_of_a_completed_session(
    http: httpx.AsyncClient,
    env: WorkflowEnvironment,
    standin: StripeStandIn,
    notification_sink: NotificationSink,
    reads_at: Callable[[datetime], None],
) -> None:
    session_id = (await completed_session(http, env, reads_at))["session_id"]
    refund_key = key()
    path = f"/v1/sessions/{session_id}/refund"

    part = await http.post(
        path, json={"reason": "session_cut_short", "amount_minor": 2000}, headers=refund_key
    )
    repeated = await http.post(
        path, json={"reason": "session_cut_short", "amount_minor": 2000}, headers=refund_key
    )

    assert part.status_code == 200, part.text
    assert part.json()["amount_minor"] == 2000 and part.json()["refundable_minor"] == 4000
    assert repeated.json() == part.json()  # the same request: the first outcome, refunded once
    [notice] = await notification_sink.wait_for_async(
        lambda n: n.type is NotificationType.REFUND_ISSUED and n.session_id == session_id, WAIT
    )
    assert notice.amount_minor == 2000 and notice.currency == "gbp"
    state = await poll(
        http,
        f"/v1/sessions/{session_id}",
        lambda s: s["payment"]["amount_refunded_minor"] == 2000,
        "the refund",
    )
    assert state["status"] == "completed"
    assert [g["reason"] for g in state["payment"]["granted_refunds"]] == ["session_cut_short"]
    assert refunded_on_stripe(standin, session_id) == 2000


async def test_refunds_never_exceed_what_was_captured(
    http: httpx.AsyncClient,
    env: WorkflowEnvironment,
    standin: StripeStandIn,
    reads_at: Callable[[datetime], None],
) -> None:
    session_id = (await completed_session(http, env, reads_at))["session_id"]
    path = f"/v1/sessions/{session_id}/refund"

    first = await http.post(path, json={"reason": "goodwill", "amount_minor": 2500}, headers=key())
    over = await http.post(path, json={"reason": "goodwill", "amount_minor": 3501}, headers=key())
    rest = await http.post(path, json={"reason": "billing_error"}, headers=key())
    nothing_left = await http.post(path, json={"reason": "goodwill", "amount_minor": 1}, headers=key())
    free_text = await http.post(path, json={"reason": "she was upset"}, headers=key())

    assert first.status_code == 200, first.text
    assert over.status_code == 409 and over.json()["code"] == "refund_exceeds_captured"
    assert "3500" in over.json()["message"]
    assert rest.status_code == 200 and rest.json()["amount_minor"] == 3500
    assert nothing_left.status_code == 409 and nothing_left.json()["code"] == "refund_exceeds_captured"
    assert free_text.status_code == 422
    await poll(
        http,
        f"/v1/sessions/{session_id}",
        lambda s: s["payment"]["amount_refunded_minor"] == 6000,
        "the refunds",
    )
    assert refunded_on_stripe(standin, session_id) == 6000


async def test_a_late_cancellation_can_be_refunded_in_part_after_it_closed(
    http: httpx.AsyncClient, env: WorkflowEnvironment, standin: StripeStandIn
) -> None:
    body = await book(http, BookingKind.THERAPIST_MANUAL, 10 * HOUR, client_agreed=True)
    session_id = body["session_id"]
    await wait_for_status(http, session_id, "paid")  # inside the window: charged at once
    cancelled = await http.post(
        f"/v1/sessions/{session_id}/cancel",
        json={"requested_by": "client", "reason": "client_request"},
        headers=key(),
    )
    assert cancelled.json()["status"] == "cancelled_late" and cancelled.json()["charge_kept"]
    await closed(env, session_id)

    refunded = await http.post(
        f"/v1/sessions/{session_id}/refund",
        json={"reason": "late_cancellation_waived", "amount_minor": 3000},
        headers=key(),
    )

    assert refunded.status_code == 200, refunded.text
    await poll(
        http,
        f"/v1/sessions/{session_id}",
        lambda s: s["payment"]["amount_refunded_minor"] == 3000,
        "the refund",
    )
    assert refunded_on_stripe(standin, session_id) == 3000


async def test_a_refund_of_an_open_session_and_its_rules(http: httpx.AsyncClient) -> None:
    unpaid = await book(http, BookingKind.THERAPIST_FOLLOW_UP, 100 * HOUR)
    paid = await book(http, BookingKind.CLIENT_FOLLOW_UP, 30 * HOUR)
    await wait_for_status(http, paid["session_id"], "paid")

    nothing = await http.post(
        f"/v1/sessions/{unpaid['session_id']}/refund", json={"reason": "goodwill"}, headers=key()
    )
    by_client = await http.post(
        f"/v1/sessions/{paid['session_id']}/refund",
        json={"reason": "goodwill"},
        headers=acting("client", paid),
    )
    full = await http.post(
        f"/v1/sessions/{paid['session_id']}/refund",
        json={"reason": "goodwill"},
        headers=acting("therapist", paid),
    )
    unknown = await http.post("/v1/sessions/ses_nope/refund", json={"reason": "goodwill"}, headers=key())

    assert nothing.status_code == 409 and nothing.json()["code"] == "nothing_captured"
    assert by_client.status_code == 409 and by_client.json()["code"] == "not_allowed"
    assert full.status_code == 200 and full.json()["amount_minor"] == 6000
    assert unknown.status_code == 404
    await poll(
        http,
        f"/v1/sessions/{paid['session_id']}",
        lambda s: s["payment"]["amount_refunded_minor"] == 6000,
        "refund",
    )
    history = (await http.get(f"/v1/sessions/{paid['session_id']}/history")).json()
    updates = [e for e in history["events"] if e["detail"].get("update") == "refund"]
    [asked] = [e for e in updates if e["kind"] == "update_accepted"]
    [granted] = [e for e in updates if e["kind"] == "update_completed"]
    assert asked["detail"]["reason"] == "goodwill" and asked["detail"]["requested_by"] == "therapist"
    assert asked["detail"]["acting_party"] == f"therapist:{paid['therapist_id']}"
    assert granted["detail"]["amount_minor"] == 6000 and granted["detail"]["refundable_minor"] == 0


async def test_a_no_show_session_stays_client_no_show_after_it_ends(
    http: httpx.AsyncClient, env: WorkflowEnvironment
) -> None:
    body = await book(http, BookingKind.THERAPIST_MANUAL, 10 * HOUR, client_agreed=True)
    session_id = body["session_id"]
    handle = session_handle(env.client, session_id)
    await wait_for_status(http, session_id, "paid")
    early = await http.post(f"/v1/sessions/{session_id}/no-show", json={}, headers=key())
    start = datetime.fromisoformat(body["start"])
    await asyncio.wait_for(advance_to(env, handle, start + 10 * 60 * SECOND), WAIT)

    marked = await http.post(f"/v1/sessions/{session_id}/no-show", json={}, headers=key())
    awaiting = f"/v1/therapists/{body['therapist_id']}/awaiting-updates"
    await poll(http, awaiting, lambda ids: session_id in ids, "the no-show in the Awaiting Updates list")
    await asyncio.wait_for(advance_to(env, handle, start + 2 * HOUR), WAIT)
    still = await http.get(f"/v1/sessions/{session_id}")
    attended = await http.post(
        f"/v1/sessions/{session_id}/attendance", json={"outcome": "attended"}, headers=key()
    )
    filed = await http.post(
        f"/v1/sessions/{session_id}/attendance",
        json={"outcome": "client_no_show", "refund": True, "refund_amount_minor": 1000},
        headers=key(),
    )

    assert early.status_code == 409 and early.json()["code"] == "session_not_started"
    assert marked.status_code == 200 and marked.json()["status"] == "client_no_show"
    assert still.json()["status"] == "client_no_show"  # its end did not make it awaiting_update
    assert attended.status_code == 409 and attended.json()["code"] == "no_show_marked"
    assert filed.status_code == 200, filed.text
    assert filed.json()["refund_minor"] == 1000  # the attendance update's refund takes an amount
    await closed(env, session_id)
    final = (await http.get(f"/v1/sessions/{session_id}")).json()
    assert final["status"] == "client_no_show" and final["payment"]["amount_refunded_minor"] == 1000
    await poll(http, awaiting, lambda ids: session_id not in ids, "the list without the filed no-show")


async def test_a_therapist_books_a_session_inside_the_window_and_it_is_charged_at_once(
    http: httpx.AsyncClient,
) -> None:
    body = await book(http, BookingKind.THERAPIST_MANUAL, 3 * HOUR, client_agreed=True)
    without_agreement = make_booking(BookingKind.THERAPIST_FOLLOW_UP, start=real_now() + 3 * HOUR).model_dump(
        mode="json"
    )

    paid = await wait_for_status(http, body["session_id"], "paid")
    refused = await http.post(
        "/v1/sessions", json={**without_agreement, "kind": "therapist_manual", "client_agreed": False}
    )

    assert paid["kind"] == "therapist_manual" and paid["payment"]["amount_paid_minor"] == 6000
    assert refused.status_code == 409 and refused.json()["code"] == "invalid_combination"
    assert "client_agreed" in refused.json()["message"]


async def test_a_past_dated_manual_session_is_charged_at_once_and_awaits_the_attendance_update(
    http: httpx.AsyncClient,
) -> None:
    body = await book(http, BookingKind.THERAPIST_MANUAL, -26 * HOUR, client_agreed=True)
    too_far_back = make_booking(
        BookingKind.THERAPIST_MANUAL, start=real_now() - 15 * 24 * HOUR, client_agreed=True
    )
    client_past = make_booking(BookingKind.CLIENT_FOLLOW_UP, start=real_now() - HOUR)

    awaiting = await wait_for_status(http, body["session_id"], "awaiting_update")
    far = await http.post("/v1/sessions", json=too_far_back.model_dump(mode="json"))
    past = await http.post("/v1/sessions", json=client_past.model_dump(mode="json"))
    filed = await http.post(
        f"/v1/sessions/{body['session_id']}/attendance", json={"outcome": "attended"}, headers=key()
    )

    assert awaiting["payment"]["amount_paid_minor"] == 6000
    assert far.status_code == 409 and far.json()["code"] == "start_too_far_back"
    assert past.status_code == 409 and past.json()["code"] == "start_in_past"
    assert filed.status_code == 200, filed.text
    await wait_for_status(http, body["session_id"], "completed")


async def test_a_client_booking_needs_24_hours_notice(http: httpx.AsyncClient) -> None:
    too_soon = make_booking(BookingKind.CLIENT_FOLLOW_UP, start=real_now() + 23 * HOUR)
    prepaid_too_soon = make_booking(
        BookingKind.INITIAL_PREPAID, start=real_now() + 2 * HOUR, prepaid_payment_intent_id="pi_checkout"
    )

    refused = await http.post("/v1/sessions", json=too_soon.model_dump(mode="json"))
    refused_prepaid = await http.post("/v1/sessions", json=prepaid_too_soon.model_dump(mode="json"))
    in_time = await book(http, BookingKind.CLIENT_FOLLOW_UP, 25 * HOUR)
    therapists = await book(http, BookingKind.THERAPIST_FOLLOW_UP, 2 * HOUR)

    assert refused.status_code == 409 and refused.json()["code"] == "notice_too_short"
    assert "24 hours" in refused.json()["message"]
    assert refused_prepaid.status_code == 409 and refused_prepaid.json()["code"] == "notice_too_short"
    assert in_time["session_id"] and therapists["session_id"]  # therapists are not bound by it
