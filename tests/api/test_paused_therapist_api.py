"""A paused therapist over real HTTP (issue 14 §2): the therapist sets their connected account;
Stripe (the stand-in) disabling its charges sends ``account.updated``, which the API confirms with
Stripe and records — bookings are refused ``409 therapist_paused`` and a charge that comes due is
held; charges enabled again resume the practice, and the held session is charged once."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from contract.ids import session_workflow_id
from contract.search_attributes import SESSION_STATUS
from contract.session import SESSION_BOOKING
from dev.stripe_standin import StripeStandIn
from domain.state import SessionState
from domain.status import SessionStatus
from settings import Settings
from temporal_client.messages import query_workflow
from tests.api.conftest import acting
from tests.workflows.support import (
    HOUR,
    WAIT,
    SessionHandle,
    advance_to,
    make_booking,
    real_now,
    state_of,
    succeeded_charges,
    unique,
    wait_for_state,
)


@pytest.fixture
def webhooks_to_api(standin: StripeStandIn, api_url: str, settings: Settings) -> Iterator[None]:
    """The session-wide stand-in delivers this test's events (account.updated) to the API."""
    standin.configure_webhook(
        f"{api_url}/v1/stripe/webhook", settings.stripe_webhook_secret.get_secret_value()
    )
    try:
        yield
    finally:
        standin.configure_webhook(None, None)


def key() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}


async def eventually(read: Callable[[], Awaitable[Any]], holds: Callable[[Any], bool], what: str) -> Any:
    """Poll ``read`` until ``holds``; fail after ``WAIT`` seconds with the last value."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    value = await read()
    while not holds(value):
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}; last: {value}")
        await asyncio.sleep(0.05)
        value = await read()
    return value


def booking_body(therapist_id: str, hours_ahead: int = 72) -> dict[str, Any]:
    booking = make_booking(start=real_now() + hours_ahead * HOUR, therapist_id=therapist_id)
    return booking.model_dump(mode="json")


async def test_a_paused_therapist_takes_no_booking_holds_charges_and_resumes_when_stripe_enables_them(
    env: WorkflowEnvironment,
    http: httpx.AsyncClient,
    standin: StripeStandIn,
    webhooks_to_api: None,
) -> None:
    therapist_id = unique("thr")
    therapist = acting("therapist", therapist_id)
    account_id = standin.create_account()["id"]
    base = f"/v1/therapists/{therapist_id}/payment-account"
    body = {"account_id": account_id, "timezone": "Europe/London"}

    someone_else = await http.put(base, json=body, headers={**key(), **acting("client", "cli_x")})
    unknown = await http.put(
        base, json={**body, "account_id": "acct_nobodyknows"}, headers={**key(), **therapist}
    )
    set_ = await http.put(base, json=body, headers={**key(), **therapist})
    assert someone_else.status_code == 404
    assert unknown.status_code == 409 and unknown.json()["code"] == "account_unavailable"
    assert set_.status_code == 200, set_.text
    assert set_.json() | {"previous_account_id": None} == {
        "account_id": account_id,
        "previous_account_id": None,
        "changed": True,
        "paused": False,
    }
    shown = await http.get(base, headers=therapist)
    assert shown.json() == {
        "account_id": account_id,
        "paused": False,
        "paused_since": None,
        "disabled_reason": None,
    }

    held_body = booking_body(therapist_id)
    booked = await http.post("/v1/sessions", json=held_body, headers=therapist)
    assert booked.status_code == 201, booked.text
    handle: SessionHandle = env.client.get_workflow_handle(
        session_workflow_id(held_body["session_id"]), result_type=SessionState
    )
    assert (await query_workflow(handle, SESSION_BOOKING)).connected_account_id == account_id

    # Stripe disables the account's charges: the stand-in sends account.updated to the API.
    standin.set_account_status(account_id, charges_enabled=False, disabled_reason="requirements.past_due")
    paused = await eventually(
        lambda: http.get(base, headers=therapist), lambda r: r.json()["paused"], "the pause"
    )
    assert paused.json()["disabled_reason"] == "requirements.past_due"

    refused = await http.post("/v1/sessions", json=booking_body(therapist_id, 96), headers=therapist)
    assert refused.status_code == 409 and refused.json()["code"] == "therapist_paused"
    retried = await http.post("/v1/sessions", json=held_body, headers=therapist)
    assert retried.status_code == 200  # the booking made before the pause is still recognised

    # Its charge comes due while paused: held, not attempted, not declined.
    charge_at = (await state_of(handle)).payment.next_charge_at  # start − 48 h + its spread
    assert charge_at is not None
    await advance_to(env, handle, charge_at + timedelta(seconds=1))
    await wait_for_state(handle, lambda s: s.status is SessionStatus.PAYMENT_ON_HOLD, "the hold")

    async def listed_status() -> Any:
        return (await handle.describe()).typed_search_attributes.get(SESSION_STATUS)

    await eventually(
        listed_status, lambda s: s == SessionStatus.PAYMENT_ON_HOLD.value, "the held status listed"
    )
    assert succeeded_charges(standin, held_body["session_id"]) == []

    # Charges enabled again: the practice resumes, and the held charge runs once.
    standin.set_account_status(account_id, charges_enabled=True, disabled_reason=None)
    await eventually(
        lambda: http.get(base, headers=therapist), lambda r: not r.json()["paused"], "the resume"
    )
    paid = await wait_for_state(handle, lambda s: s.status is SessionStatus.PAID, "the held charge")
    assert len(paid.payment.attempts) == 1
    assert len(succeeded_charges(standin, held_body["session_id"])) == 1
    again = await http.post("/v1/sessions", json=booking_body(therapist_id, 120), headers=therapist)
    assert again.status_code == 201, again.text
