"""Helpers for workflow tests: bookings with unique ids, bounded waits, stand-in queries."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import stripe
from opentelemetry.sdk.trace import TracerProvider
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import History
from temporalio.api.workflowservice.v1 import GetWorkflowExecutionHistoryRequest
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.practice import PracticeActivities
from dev.notification_sink import NotificationSink
from dev.stripe_standin import StripeStandIn
from domain.booking import SessionBooking
from domain.notifications import BatchDelivery, Notification
from domain.policy import DEFAULT_POLICY, SessionPolicy
from domain.state import SessionState
from domain.status import BookingKind, SessionStatus, status_as_of
from settings import Settings
from temporal_client.converter import DATA_CONVERTER
from temporal_client.local_activities import local_activity_of
from temporal_client.session_client import book_session
from worker import build_notifier, build_workers
from workflows.session import SessionWorkflow

HOUR = timedelta(hours=1)
WAIT = 20.0
"""Real seconds any single wait may take before the test fails instead of hanging."""

SessionHandle = WorkflowHandle[SessionWorkflow, SessionState]

TEST_POLICY = DEFAULT_POLICY.model_copy(
    update={"charge_spread_window": timedelta(0), "client_min_notice": 2 * HOUR}
)
"""The API's policy with the scheduled charge exactly at start − 48 h, so a test knows the instant
to fast-forward to; the spread itself is tested in ``test_charge_outage.py``. A client's booking
needs the shortest notice the marketplace allows (2 h), so workflow tests can book close to the
start; the 24 h default is tested through the API."""


@asynccontextmanager
async def running_worker(
    client: Client,
    task_queue: str,
    stripe_client: stripe.StripeClient,
    settings: Settings,
    practice: PracticeActivities | None = None,
    tracer_provider: TracerProvider | None = None,
) -> AsyncIterator[Worker]:
    """A real worker on ``task_queue`` (and its Stripe worker on the Stripe task queue) with its own
    notifier; ``practice`` replaces its practice activities (e.g. a practice that never answers);
    ``tracer_provider`` traces the notifier's HTTP calls (the client carries the Temporal side)."""
    notifier = build_notifier(settings, tracer_provider)
    running, stripe_worker = build_workers(
        client,
        task_queue=task_queue,
        stripe_client=stripe_client,
        settings=settings,
        notifier=notifier,
        practice=practice,
    )
    try:
        async with running, stripe_worker:
            yield running
    finally:
        await notifier.aclose()


def free_port() -> int:
    """A loopback port nothing listens on now (for a metrics exporter of a test's own)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def exporting_client(env: WorkflowEnvironment) -> tuple[Client, str]:
    """A client of ``env``'s server whose runtime exports the SDK's metrics (and the workflows'
    own) as the worker's does (``observability.metrics.temporal_runtime``), and their address."""
    from observability.metrics import temporal_runtime

    address = f"127.0.0.1:{free_port()}"
    runtime = temporal_runtime(Settings(worker_metrics_address=address))
    assert runtime is not None
    client = await Client.connect(
        env.client.service_client.config.target_host,
        namespace=env.client.namespace,
        data_converter=DATA_CONVERTER,
        runtime=runtime,
    )
    return client, address


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:16]}"


def make_booking(
    kind: BookingKind = BookingKind.THERAPIST_FOLLOW_UP,
    *,
    start: datetime,
    payment_method: str = "pm_card_visa",
    **overrides: Any,
) -> SessionBooking:
    fields: dict[str, Any] = {
        "session_id": unique("ses"),
        "therapist_id": unique("thr"),
        "client_id": unique("cli"),
        "kind": kind,
        "start": start,
        "duration_minutes": 50,
        "therapist_timezone": "Europe/London",
        "amount_minor": 6000,
        "currency": "gbp",
        "stripe_customer_id": unique("cus"),
        "client_agreed": kind is BookingKind.THERAPIST_FOLLOW_UP,
    }
    if kind is not BookingKind.INITIAL_PREPAID:
        # A unique id per test keeps tests sharing the stand-in independent of each other.
        fields["payment_method_id"] = unique(payment_method)
    fields.update(overrides)
    return SessionBooking(**fields)


def real_now() -> datetime:
    """Wall-clock now; a workflow's virtual clock starts here until it is fast-forwarded."""
    return datetime.now(UTC)


STARTED: list[SessionHandle] = []
"""Handles started by the running test, so their histories can be recorded for replay tests."""


async def start(
    client: Client, booking: SessionBooking, task_queue: str, policy: SessionPolicy = TEST_POLICY
) -> SessionHandle:
    handle = await book_session(client, booking, task_queue=task_queue, now=real_now(), policy=policy)
    STARTED.append(handle)
    return handle


async def state_of(handle: SessionHandle) -> SessionState:
    return await asyncio.wait_for(handle.query(SessionWorkflow.state), WAIT)


async def wait_for_state(
    handle: SessionHandle,
    predicate: Callable[[SessionState], bool],
    what: str,
    timeout: float = WAIT,  # noqa: ASYNC109
) -> SessionState:
    """Poll the workflow's state until ``predicate`` holds; fail with the last state otherwise."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    state = await state_of(handle)
    while not predicate(state):
        if loop.time() > deadline:
            raise AssertionError(
                f"timed out waiting for {what}; last state: {state.model_dump_json(indent=1)}"
            )
        await asyncio.sleep(0.05)
        state = await state_of(handle)
    return state


async def wait_for_status(
    env: WorkflowEnvironment, handle: SessionHandle, status: SessionStatus, what: str
) -> SessionState:
    """Wait until the session reads as ``status`` on its own clock, as the API shows it: a session
    running the lean lifecycle is not marked at its end, a read derives ``awaiting_update``
    (``domain.status.status_as_of``)."""
    now = await virtual_now(env, handle)
    return await wait_for_state(
        handle, lambda state: status_as_of(state.status, state.end, now) is status, what
    )


async def status_now(env: WorkflowEnvironment, handle: SessionHandle) -> SessionStatus:
    """The session's status as a read shows it now, on its own clock."""
    state = await state_of(handle)
    return status_as_of(state.status, state.end, await virtual_now(env, handle))


async def fast_forward(env: WorkflowEnvironment, handle: SessionHandle, by: timedelta) -> bool:
    return await asyncio.wait_for(env.fast_forward(handle, by), WAIT)


async def virtual_now(env: WorkflowEnvironment, handle: SessionHandle) -> datetime:
    return await asyncio.wait_for(env.get_current_time(handle), WAIT)


def intents_for(standin: StripeStandIn, session_id: str) -> list[dict[str, Any]]:
    return standin.payment_intents(metadata_session_id=session_id)


def charge_requests(standin: StripeStandIn, session_id: str, intent_id: str) -> list[dict[str, Any]]:
    """The params of every create (by its metadata) or confirm of the session's PaymentIntent that
    reached the stand-in, in order."""
    return [
        dict(r.params)
        for r in standin.requests
        if r.method == "POST"
        and (
            r.path.endswith(f"/{intent_id}/confirm")
            or (
                r.path == "/v1/payment_intents"
                and (r.params.get("metadata") or {}).get("session_id") == session_id
            )
        )
    ]


def succeeded_charges(standin: StripeStandIn, session_id: str) -> list[dict[str, Any]]:
    return [
        charge
        for charge in standin.charges()
        if charge.get("status") == "succeeded"
        and (charge.get("metadata") or {}).get("session_id") == session_id
    ]


async def advance_to(env: WorkflowEnvironment, handle: SessionHandle, instant: datetime) -> datetime:
    """Fast-forward the workflow's virtual clock to ``instant``; returns the clock after it."""
    gap = instant - await virtual_now(env, handle)
    if gap > timedelta(0):
        await fast_forward(env, handle, gap)
    return await virtual_now(env, handle)


async def result_of(handle: SessionHandle) -> SessionState:
    return await asyncio.wait_for(handle.result(), WAIT)


async def event_types(handle: SessionHandle) -> list[str]:
    history = await asyncio.wait_for(handle.fetch_history(), WAIT)
    return [EventType.Name(event.event_type).removeprefix("EVENT_TYPE_") for event in history.events]


async def history_at_rest(handle: SessionHandle, timeout: float = WAIT) -> list[str]:  # noqa: ASYNC109
    """The history's event types once nothing is under way: no activity pending (the booking's
    notices are sent while the session runs on) and the last workflow task completed."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        description = await handle.describe(rpc_timeout=timedelta(seconds=timeout))
        types = await event_types(handle)
        # The commands of the last task (a lean session's notices are local activities, recorded
        # as markers with its timer and upserts) follow its WORKFLOW_TASK_COMPLETED.
        tasks = [kind for kind in types if kind.startswith("WORKFLOW_TASK_")]
        if not description.raw_description.pending_activities and tasks[-1] == "WORKFLOW_TASK_COMPLETED":
            return types
        if loop.time() > deadline:
            raise AssertionError(f"the history never came to rest: {types[-5:]}")
        await asyncio.sleep(0.05)


async def paid_at_checkout(stripe_client: stripe.StripeClient) -> str:
    """The PaymentIntent a client paid with on-session when booking an initial session."""
    intent = await stripe_client.v1.payment_intents.create_async(
        {
            "amount": 6000,
            "currency": "gbp",
            "customer": unique("cus"),
            "payment_method": "pm_card_visa",
            "confirm": True,
            # A card-only checkout: the page pays in place and is redirected nowhere.
            "automatic_payment_methods": {"enabled": True, "allow_redirects": "never"},
        }
    )
    return intent.id


async def scheduled_activities(handle: SessionHandle) -> list[str]:
    """The activity types the workflow ran, in order: scheduled ones and local ones (a lean
    session's notices, its practice calls inside updates, the follow-up's start)."""
    history = await asyncio.wait_for(handle.fetch_history(), WAIT)
    types: list[str] = []
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            types.append(event.activity_task_scheduled_event_attributes.activity_type.name)
        elif (local := local_activity_of(event)) is not None:
            types.append(local.activity_type)
    return types


DELIVER_ALL = "deliver_notifications"


async def notices_sent(handle: SessionHandle) -> list[str]:
    """The event ids of the notifications the workflow sent, in order: each ``deliver_notification``
    activity's input, and each ``deliver_notifications`` local activity's result (a lean session's
    notices of one task, issue 13)."""
    history = await asyncio.wait_for(handle.fetch_history(), WAIT)
    sent: list[str] = []
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            attributes = event.activity_task_scheduled_event_attributes
            if attributes.activity_type.name == "deliver_notification":
                [notification] = await DATA_CONVERTER.decode(list(attributes.input.payloads), [Notification])
                sent.append(notification.event_id)
        elif (
            local := local_activity_of(event)
        ) is not None and local.activity_type == "deliver_notifications":
            [delivery] = await DATA_CONVERTER.decode(local.result, [BatchDelivery])
            sent += [result.event_id for result in delivery.delivered + delivery.rejected]
    return sent


async def declined_at_the_charge(
    env: WorkflowEnvironment, task_queue: str, payment_method: str
) -> tuple[SessionBooking, SessionHandle, SessionState]:
    """A therapist follow-up whose off-session charge at start − 48 h has just been declined."""
    booking = make_booking(start=real_now() + 72 * HOUR, payment_method=payment_method)
    handle = await start(env.client, booking, task_queue)
    await advance_to(env, handle, booking.start - 48 * HOUR + timedelta(seconds=1))
    declined = await wait_for_state(
        handle, lambda state: state.status is SessionStatus.PAYMENT_FAILED, "the decline"
    )
    return booking, handle, declined


async def raw_history(env: WorkflowEnvironment, workflow_id: str) -> History:
    """The history as the server stores it: straight from the gRPC service, nothing decoded."""
    history, token = History(), b""
    while True:
        response = await asyncio.wait_for(
            env.client.workflow_service.get_workflow_execution_history(
                GetWorkflowExecutionHistoryRequest(
                    namespace=env.client.namespace,
                    execution=WorkflowExecution(workflow_id=workflow_id),
                    next_page_token=token,
                )
            ),
            WAIT,
        )
        history.events.extend(response.history.events)
        token = response.next_page_token
        if not token:
            return history


REPO = Path(__file__).resolve().parents[2]


def spawn_worker(
    env: WorkflowEnvironment,
    task_queue: str,
    standin: StripeStandIn,
    log: Path,
    *,
    sink: NotificationSink | None = None,
    notify_secret: str = "",
) -> subprocess.Popen[bytes]:
    """A real ``python -m worker`` process on the test's task queue (one a test can SIGKILL)."""
    environment = {
        **os.environ,
        "SESSIONFLOW_TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
        "SESSIONFLOW_TASK_QUEUE": task_queue,
        "SESSIONFLOW_STRIPE_API_BASE": standin.url,
        # No fixed ports: a `make run` worker or another test run may hold them.
        "SESSIONFLOW_WORKER_METRICS_ADDRESS": "",
        "SESSIONFLOW_WORKER_APP_METRICS_PORT": "0",
        "SESSIONFLOW_WORKER_HEALTH_ADDRESS": "",
    }
    if sink is not None:
        environment |= {"SESSIONFLOW_NOTIFY_URL": sink.url, "SESSIONFLOW_NOTIFY_SECRET": notify_secret}
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "worker"], cwd=REPO, env=environment, stdout=out, stderr=subprocess.STDOUT
        )


async def paid_follow_up(
    env: WorkflowEnvironment, task_queue: str
) -> tuple[SessionBooking, SessionHandle, SessionState]:
    """A therapist's follow-up three days ahead, its clock moved past its charge: paid."""
    booking = make_booking(start=real_now() + 72 * HOUR)
    handle = await start(env.client, booking, task_queue)
    await advance_to(env, handle, booking.start - 30 * HOUR)
    paid = await wait_for_state(handle, lambda s: s.status is SessionStatus.PAID, "the charge")
    return booking, handle, paid
