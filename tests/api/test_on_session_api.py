"""Present or absent (README rule 11) through the real API, worker, dev server and Stripe stand-in
over HTTP: a charge the client causes while present is on-session — when their bank asks for
3-D Secure the client secret comes back in the API's answer, their browser completes it and the
stand-in's signed webhook settles the session — and a charge nobody is present for is off-session,
where a card that needs authentication is declined ``authentication_required`` as Stripe does."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from dev.stripe_standin import StripeStandIn
from domain.status import BookingKind
from settings import Settings
from temporal_client.session_client import session_handle
from tests.api.polling import wait_for_status
from tests.api.test_privacy import CLIENT_SECRET_MARK, everything_logged
from tests.workflows.support import HOUR, WAIT, charge_requests, make_booking, real_now, unique

WEBHOOK = "/v1/stripe/webhook"


@pytest.fixture
def webhooks_to_api(standin: StripeStandIn, api_url: str, settings: Settings) -> Iterator[None]:
    """The stand-in signs and delivers this test's Stripe events to the API under test."""
    standin.configure_webhook(f"{api_url}{WEBHOOK}", settings.stripe_webhook_secret.get_secret_value())
    try:
        yield
    finally:
        standin.configure_webhook(None, None)


def key() -> dict[str, str]:
    return {"Idempotency-Key": f"req-{uuid.uuid4().hex}"}


def as_client(body: dict[str, Any]) -> dict[str, str]:
    """The session's own client is acting (present: a charge they cause is on-session)."""
    return {**key(), "Acting-Party": f"client:{body['client_id']}"}


def booking_body(kind: BookingKind, hours_ahead: int, payment_method: str) -> dict[str, Any]:
    booking = make_booking(kind, start=real_now() + hours_ahead * HOUR, payment_method=payment_method)
    return booking.model_dump(mode="json")


def the_intent(standin: StripeStandIn, session_id: str) -> dict[str, Any]:
    [intent] = standin.payment_intents(metadata_session_id=session_id)
    return intent


async def test_a_client_booking_from_their_dashboard_is_charged_on_session(
    http: httpx.AsyncClient, standin: StripeStandIn, webhooks_to_api: None, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    body = booking_body(BookingKind.CLIENT_FOLLOW_UP, 10 * 24, "pm_card_authenticationRequired")

    booked = await http.post("/v1/sessions", json=body)

    assert booked.status_code == 201, booked.text
    answer = booked.json()
    assert answer["status"] == "awaiting_client_action" and answer["charge_answered"] is True
    intent = the_intent(standin, body["session_id"])
    assert intent["status"] == "requires_action"  # waiting for the client, not declined
    assert answer["payment_intent_client_secret"] == intent["client_secret"]
    [create] = charge_requests(standin, body["session_id"], intent["id"])
    assert "off_session" not in create and create["confirm"] is True

    # The client's browser completes 3-D Secure (stripe.handleNextAction); Stripe's webhook settles it.
    standin.authenticate_on_session(intent["id"])
    paid = await wait_for_status(http, body["session_id"], "paid")
    assert paid["payment"]["attempts"][0]["on_session"] is True
    again = await http.post("/v1/sessions", json=body)  # a retry of the booking: where it stands now
    assert again.status_code == 200
    assert again.json()["status"] == "paid" and again.json()["payment_intent_client_secret"] is None
    # The secret goes to the caller only: never into a log record.
    assert CLIENT_SECRET_MARK not in everything_logged(caplog.records)


async def test_a_client_booking_whose_card_needs_no_authentication_is_answered_paid(
    http: httpx.AsyncClient, standin: StripeStandIn
) -> None:
    body = booking_body(BookingKind.CLIENT_FOLLOW_UP, 10 * 24, "pm_card_visa")

    booked = await http.post("/v1/sessions", json=body)

    assert booked.status_code == 201
    assert booked.json()["status"] == "paid" and booked.json()["charge_answered"] is True
    assert booked.json()["payment_intent_client_secret"] is None
    intent = the_intent(standin, body["session_id"])
    assert intent["status"] == "succeeded"
    assert "off_session" not in charge_requests(standin, body["session_id"], intent["id"])[0]


async def test_a_scheduled_charge_is_off_session_and_an_sca_card_is_declined_as_authentication_required(
    http: httpx.AsyncClient, standin: StripeStandIn, webhooks_to_api: None
) -> None:
    # A therapist's booking inside the window is charged at once, but nobody is present for it.
    body = booking_body(BookingKind.THERAPIST_FOLLOW_UP, 30, "pm_card_authenticationRequired")

    booked = await http.post("/v1/sessions", json=body)

    assert booked.status_code == 201
    assert booked.json()["charge_answered"] is None and booked.json()["payment_intent_client_secret"] is None
    waiting = await wait_for_status(http, body["session_id"], "awaiting_client_action")
    intent = the_intent(standin, body["session_id"])
    [create] = charge_requests(standin, body["session_id"], intent["id"])
    assert create["off_session"] is True
    assert intent["status"] == "requires_payment_method"
    assert intent["last_payment_error"]["code"] == "authentication_required"
    assert intent["last_payment_error"]["decline_code"] == "authentication_required"
    assert waiting["payment"]["attempts"][0]["on_session"] is False
    assert waiting["payment"]["client_secret"] == intent["client_secret"]  # for the client, later


async def test_a_client_entering_a_new_card_after_a_decline_authenticates_in_their_browser(
    http: httpx.AsyncClient, standin: StripeStandIn, webhooks_to_api: None
) -> None:
    body = booking_body(BookingKind.THERAPIST_FOLLOW_UP, 30, "pm_card_chargeDeclinedLostCard")
    assert (await http.post("/v1/sessions", json=body)).status_code == 201
    await wait_for_status(http, body["session_id"], "payment_failed")
    intent = the_intent(standin, body["session_id"])

    updated = await http.post(
        f"/v1/sessions/{body['session_id']}/payment-method",
        json={"payment_method_id": unique("pm_card_authenticationRequired")},
        headers=as_client(body),
    )

    assert updated.status_code == 200, updated.text
    result = updated.json()
    assert result["retrying_now"] is True and result["charge_answered"] is True
    assert result["status"] == "awaiting_client_action"
    assert result["payment_intent_client_secret"] == intent["client_secret"]  # the session's one intent
    [declined, retry] = charge_requests(standin, body["session_id"], intent["id"])
    assert declined["off_session"] is True and "off_session" not in retry

    standin.authenticate_on_session(intent["id"])
    paid = await wait_for_status(http, body["session_id"], "paid")
    assert [a["on_session"] for a in paid["payment"]["attempts"]] == [False, True]


async def test_a_card_support_enters_for_the_client_after_a_decline_is_retried_off_session(
    http: httpx.AsyncClient, standin: StripeStandIn
) -> None:
    body = booking_body(BookingKind.THERAPIST_FOLLOW_UP, 30, "pm_card_chargeDeclinedLostCard")
    assert (await http.post("/v1/sessions", json=body)).status_code == 201
    await wait_for_status(http, body["session_id"], "payment_failed")

    updated = await http.post(
        f"/v1/sessions/{body['session_id']}/payment-method",
        json={"payment_method_id": unique("pm_card_authenticationRequired")},
        headers=key(),  # the fixture's Acting-Party: an admin
    )

    assert updated.status_code == 200
    assert updated.json()["retrying_now"] is True and updated.json()["charge_answered"] is None
    await wait_for_status(http, body["session_id"], "awaiting_client_action")
    intent = the_intent(standin, body["session_id"])
    [_, retry] = charge_requests(standin, body["session_id"], intent["id"])
    assert retry["off_session"] is True
    assert intent["last_payment_error"]["code"] == "authentication_required"


async def test_a_retried_client_booking_of_a_session_closed_since_answers_from_its_last_state(
    http: httpx.AsyncClient, env: WorkflowEnvironment
) -> None:
    body = booking_body(BookingKind.CLIENT_FOLLOW_UP, 10 * 24, "pm_card_visa")
    assert (await http.post("/v1/sessions", json=body)).json()["status"] == "paid"
    cancelled = await http.post(
        f"/v1/sessions/{body['session_id']}/cancel",
        json={"requested_by": "client", "reason": "client_request"},
        headers=key(),
    )
    assert cancelled.json()["status"] == "cancelled_free"
    # Refunded in full, the session's workflow closes.
    await asyncio.wait_for(session_handle(env.client, body["session_id"]).result(), WAIT)

    again = await http.post("/v1/sessions", json=body)

    assert again.status_code == 200, again.text
    assert again.json()["status"] == "cancelled_free" and again.json()["charge_answered"] is True
    assert again.json()["payment_intent_client_secret"] is None


async def test_a_client_paying_from_a_payment_link_after_a_decline_pays_on_session(
    http: httpx.AsyncClient, standin: StripeStandIn, webhooks_to_api: None
) -> None:
    """The payment link needs no charge of ours: the session's state carries the declined
    intent's client secret, the client's browser confirms it with another card (customer-
    initiated), and Stripe's webhook settles the session — no further off-session attempt."""
    body = booking_body(BookingKind.THERAPIST_FOLLOW_UP, 30, "pm_card_chargeDeclinedInsufficientFunds")
    assert (await http.post("/v1/sessions", json=body)).status_code == 201
    failed = await wait_for_status(http, body["session_id"], "payment_failed")
    intent = the_intent(standin, body["session_id"])
    assert failed["payment"]["client_secret"] == intent["client_secret"]  # for the payment link

    # The client's browser on the link: a new card, confirmed with the secret (stripe.confirmPayment).
    paid_intent = standin.authenticate_on_session(intent["id"], unique("pm_card_visa"))

    assert paid_intent["status"] == "succeeded"
    paid = await wait_for_status(http, body["session_id"], "paid")
    assert len(paid["payment"]["attempts"]) == 1 and paid["payment"]["client_secret"] is None
    assert len(charge_requests(standin, body["session_id"], intent["id"])) == 1  # no charge of ours
