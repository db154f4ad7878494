"""Review 15's erasure findings, on the real stack (dev server, worker, API over HTTP, the stand-in):
an erasure never strands money — a closed session's refunds workflow still handling a dispute, a
paid session even with ``force`` — never leaves a session it did not list running with its key
destroyed, and an erased client gets no new session."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import pytest
from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError

from contract.ids import session_refunds_workflow_id, session_workflow_id
from contract.session import SESSION_WORKFLOW_TYPE
from dev.stripe_standin import StripeStandIn
from domain.booking import SessionBooking
from domain.state import SessionWorkflowInput
from domain.status import BookingKind
from temporal_client.codec import session_data_key_id
from temporal_client.kms import CLIENT_TAG, ClientErasedError, LocalFileKms
from temporal_client.session_client import book_session
from tests.api.polling import poll, wait_for_status
from tests.api.test_erasure_api import Stack, book, cancel_late_and_close, invoke
from tests.api.test_erasure_api import stack as stack  # the fixture
from tests.api.test_stripe_webhook_api import WEBHOOK, secret_of, signed
from tests.workflows.support import HOUR, WAIT, make_booking, real_now, unique


def ahead(client_id: str) -> SessionBooking:
    """A therapist's follow-up far ahead: ``scheduled``, nothing charged."""
    return make_booking(
        BookingKind.THERAPIST_FOLLOW_UP,
        start=real_now() + 200 * HOUR,
        client_id=client_id,
        client_agreed=True,
    )


async def test_an_erasure_refuses_while_a_closed_sessions_dispute_is_open(
    stack: Stack, standin: StripeStandIn
) -> None:
    a = unique("cli")
    paid = await book(stack.http, BookingKind.THERAPIST_MANUAL, 10 * HOUR, a)  # charged at once
    await wait_for_status(stack.http, paid, "paid")
    await cancel_late_and_close(stack, paid)  # closed, the charge kept
    [intent] = [i for i in standin.payment_intents(metadata_session_id=paid) if i["status"] == "succeeded"]
    [charge] = standin.charges(payment_intent=intent["id"])
    dispute = await asyncio.to_thread(standin.open_dispute, charge["id"], reason="fraudulent")
    [event] = [
        e for e in standin.events(type="charge.dispute.created") if e["data"]["object"]["id"] == dispute["id"]
    ]
    body = json.dumps(event).encode()
    answer = await stack.http.post(WEBHOOK, content=body, headers=signed(body, secret_of(stack.settings)))
    assert answer.status_code == 200, answer.text
    refunds = stack.client.get_workflow_handle(session_refunds_workflow_id(paid))
    assert (await refunds.describe()).status == WorkflowExecutionStatus.RUNNING

    refused = await invoke(stack, "clients", "erase", a, "--yes")
    forced = await stack.http.post(f"/v1/clients/{a}/erasure", json={"force": True})

    # The dispute's evidence is still to be given: no override, not even --force.
    assert refused.exit_code == 1, refused.output
    assert f"{paid}\tdispute_open" in refused.output
    assert forced.status_code == 409 and forced.json()["code"] == "erasure_refused", forced.text
    assert f"{paid} (dispute_open)" in forced.json()["message"]
    assert (await refunds.describe()).status == WorkflowExecutionStatus.RUNNING
    assert stack.settings.kms_dir is not None and not list(stack.settings.kms_dir.glob("erasures/*.json"))
    await refunds.terminate("test over")


async def test_a_session_visibility_did_not_list_is_cancelled_before_its_key_is_destroyed(
    stack: Stack,
) -> None:
    a = unique("cli")
    booking = ahead(a)
    # Started without its search attributes: visibility's ClientId query never lists it (as a
    # session booked while the erasure runs, or not indexed yet); its key is tagged with the client.
    handle = await stack.client.start_workflow(
        SESSION_WORKFLOW_TYPE,
        SessionWorkflowInput(booking=booking, booked_at=datetime.now(UTC)),
        id=session_workflow_id(booking.session_id),
        task_queue=stack.settings.task_queue,
    )
    await wait_for_status(stack.http, booking.session_id, "scheduled")

    erased = await invoke(stack, "clients", "erase", a, "--yes")

    assert erased.exit_code == 0, erased.output
    assert "1 session(s), 1 workflow(s) closed (0 forced), 1 data key(s) destroyed" in erased.output
    described = await handle.describe()
    assert described.status == WorkflowExecutionStatus.COMPLETED  # cancelled through its rules
    kms = LocalFileKms.from_settings(stack.settings)
    assert kms.is_destroyed(session_data_key_id(booking.session_id))  # only once it had closed


async def test_an_erased_client_cannot_book_and_no_workflow_starts(stack: Stack) -> None:
    a = unique("cli")
    erased = await invoke(stack, "clients", "erase", a, "--yes")
    assert erased.exit_code == 0, erased.output

    booking = ahead(a)
    refused = await stack.http.post("/v1/sessions", json=booking.model_dump(mode="json"))

    assert refused.status_code == 409 and refused.json()["code"] == "client_erased", refused.text
    workflows = [
        w
        async for w in stack.client.list_workflows(
            f"WorkflowId = '{session_workflow_id(booking.session_id)}'"
        )
    ]
    assert workflows == []
    # The KMS itself refuses a key for the erased client (a booking racing the erasure), and the
    # codec with it: nothing of theirs is encrypted again, so no workflow of theirs can start.
    kms = LocalFileKms.from_settings(stack.settings)
    with pytest.raises(ClientErasedError):
        kms.generate_data_key(session_data_key_id(booking.session_id), {CLIENT_TAG: a})
    with pytest.raises(ClientErasedError):
        await stack.client.start_workflow(
            SESSION_WORKFLOW_TYPE,
            SessionWorkflowInput(booking=booking),
            id=session_workflow_id(booking.session_id),
            task_queue=stack.settings.task_queue,
        )
    assert not (kms.directory / f"{session_data_key_id(booking.session_id)}.json").exists()
    assert a not in "".join(path.name for path in (kms.directory / "erased").iterdir())


async def test_force_never_terminates_a_paid_session(stack: Stack) -> None:
    a = unique("cli")
    paid = await book(stack.http, BookingKind.THERAPIST_MANUAL, 10 * HOUR, a)  # future, charged at once
    await wait_for_status(stack.http, paid, "paid")

    forced = await invoke(stack, "clients", "erase", a, "--yes", "--force")
    through_api = await stack.http.post(f"/v1/clients/{a}/erasure", json={"force": True})

    assert forced.exit_code == 1, forced.output
    assert f"{paid}\tpaid" in forced.output
    assert through_api.status_code == 409 and through_api.json()["code"] == "erasure_refused"
    described = await stack.client.get_workflow_handle(session_workflow_id(paid)).describe()
    assert described.status == WorkflowExecutionStatus.RUNNING
    detail = await poll(stack.http, f"/v1/sessions/{paid}", lambda s: s["status"] == "paid", "paid")
    assert detail["client_id"] == a  # its key is intact
    await asyncio.wait_for(
        stack.client.get_workflow_handle(session_workflow_id(paid)).terminate("test over"), WAIT
    )


async def test_an_erasure_ends_the_clients_relationship_and_releases_their_weekly_slot(stack: Stack) -> None:
    a = unique("cli")
    booking = ahead(a)
    booked = await stack.http.post("/v1/sessions", json=booking.model_dump(mode="json"))
    assert booked.status_code == 201, booked.text
    practice = f"/v1/therapists/{booking.therapist_id}"
    slot = {
        "client_id": a,
        "weekday": 2,
        "local_time": "07:00",
        "duration_minutes": 50,
        "timezone": booking.therapist_timezone,
    }
    reserved = await stack.http.post(
        f"{practice}/slots", json=slot, headers={"Idempotency-Key": unique("req")}
    )
    assert reserved.status_code == 200, reserved.text

    erased = await invoke(stack, "clients", "erase", a, "--yes")

    assert erased.exit_code == 0, erased.output
    assert "1 data key(s) destroyed, 1 relationship(s) ended" in erased.output
    listed = await stack.http.get(f"{practice}/clients", params={"include_inactive": "true"})
    [relationship] = [c for c in listed.json()["clients"] if c["client_id"] == a]
    assert (relationship["status"], relationship["end_reason"]) == ("ended", "client_request")
    taken = await stack.http.post(
        f"{practice}/slots",
        json={**slot, "client_id": unique("cli")},
        headers={"Idempotency-Key": unique("req")},
    )
    assert taken.status_code == 200, taken.text  # the erased client's slot is free again


async def test_a_booking_racing_the_erasure_starts_nothing_and_gives_its_time_back(stack: Stack) -> None:
    a = unique("cli")
    erased = await invoke(stack, "clients", "erase", a, "--yes")
    assert erased.exit_code == 0, erased.output
    booking = ahead(a)

    # Past the API's check (it ran before the erasure): the practice claims the time, the KMS
    # refuses the session's key, so its workflow never starts and the claim is released.
    with pytest.raises(ClientErasedError):
        await book_session(stack.client, booking, task_queue=stack.settings.task_queue, now=datetime.now(UTC))

    other = booking.model_copy(update={"session_id": unique("ses"), "client_id": unique("cli")})
    booked = await stack.http.post("/v1/sessions", json=other.model_dump(mode="json"))
    assert booked.status_code == 201, booked.text  # the same time, free again
    with pytest.raises(RPCError):
        await stack.client.get_workflow_handle(session_workflow_id(booking.session_id)).describe()
