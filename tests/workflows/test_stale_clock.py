"""A query that reaches a worker without the run cached, just as a timer fires, must not change
what the session decides (workflows/README.md, "Decide on the due instant"; faults/evidence/README.md).

The race, provoked deterministically on a real dev server:

1. Worker A (a ``python -m worker`` process) starts the session and parks it on the timer for the
   charge at start − 48 h, a few seconds away; A is SIGKILLed. Killed, A never tells the server it
   is gone, so the session stays sticky to A's queue.
2. While the timer is still pending a ``state`` query is sent. The server first offers it on A's
   sticky queue; after the sticky schedule-to-start timeout (10 s) it gives up on A and sends it
   as a plain query task to the normal queue.
3. Meanwhile the timer fires; its workflow task goes to A's sticky queue too, and waits there for
   its own 10 s before it times out and moves to the normal queue — a few seconds after the query.
4. Worker B, fresh (nothing cached), polls the normal queue and gets the query first. Its history
   ends in ``TimerFired, WorkflowTaskScheduled`` without a ``WorkflowTaskStarted``; the SDK applies
   those events and runs the workflow past the timer with the *previous* workflow task's clock
   (booking time) to answer the query, and keeps that run cached. When the timer's task arrives,
   B sends the commands that run produced.

With a soft-declining card, a charge whose attempt time reads as "before the −48 h slot" makes
``next_retry_at`` pick that slot again: an immediate second charge, where replay (the real clock)
starts the −24 h timer instead — the nondeterminism in faults/evidence/.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import stripe
from temporalio.api.enums.v1 import EventType, TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from contract.ids import session_workflow_id
from contract.search_attributes import session_search_attributes
from dev.notification_sink import NotificationSink
from dev.stripe_standin import StripeStandIn
from domain.booking import SessionBooking
from domain.state import SessionState, SessionWorkflowInput
from domain.status import PaymentStatus
from settings import Settings
from temporal_client.converter import DATA_CONVERTER
from tests.conftest import NOTIFY_SECRET
from tests.workflows.support import (
    HOUR,
    STARTED,
    TEST_POLICY,
    WAIT,
    SessionHandle,
    history_at_rest,
    make_booking,
    real_now,
    spawn_worker,
    wait_for_state,
)
from worker import build_notifier, build_workers
from workflows.practice import PracticeWorkflow
from workflows.session import SessionWorkflow

SOFT_DECLINE = "pm_card_chargeDeclinedInsufficientFunds"
LEAD = timedelta(seconds=6)
"""From booking to the charge instant. Worker A's first workflow task and the kill fit inside, and
the timer fires well within 10 s of A's last poll: the server treats a sticky queue nobody polled
for 10 s as gone and would send the timer's task straight to the normal queue (no race)."""
MARGIN = timedelta(seconds=2)
"""The query must leave at least this long before the timer fires, or the setup was too slow."""
STICKY_TIMEOUT = 10.0
"""The SDK's default sticky schedule-to-start timeout (seconds), which worker A runs with."""
SLOW = WAIT + 2 * STICKY_TIMEOUT
"""Bound for the waits that sit out the sticky timeouts (the query, the timer's workflow task)."""
EXECUTION_TIMEOUT = timedelta(minutes=5)


async def wait_until_polling(client: Client, task_queue: str, process: subprocess.Popen[bytes]) -> None:
    """Until the worker process polls the task queue for workflow tasks (identity ``<pid>@<host>``)."""
    request = DescribeTaskQueueRequest(
        namespace=client.namespace,
        task_queue=TaskQueue(name=task_queue),
        task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    )
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 2 * WAIT
    while True:
        described = await asyncio.wait_for(client.workflow_service.describe_task_queue(request), WAIT)
        if any(poller.identity.startswith(f"{process.pid}@") for poller in described.pollers):
            return
        assert process.poll() is None, "worker A exited before it polled"
        assert loop.time() < deadline, "worker A never polled its task queue"
        await asyncio.sleep(0.1)


async def wait_for_event(handle: SessionHandle, event_type: EventType.ValueType, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    while True:
        history = await asyncio.wait_for(handle.fetch_history(), WAIT)
        if any(event.event_type == event_type for event in history.events):
            return
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


async def start_session(
    client: Client, booking: SessionBooking, task_queue: str, now: datetime
) -> SessionHandle:
    """As ``book_session`` starts it, with an execution timeout so it never outlives the run."""
    start = client.start_workflow(
        SessionWorkflow.run,
        SessionWorkflowInput(booking=booking, policy=TEST_POLICY, booked_at=now),
        id=session_workflow_id(booking.session_id),
        task_queue=task_queue,
        execution_timeout=EXECUTION_TIMEOUT,
        search_attributes=session_search_attributes(booking),
    )
    handle = await asyncio.wait_for(start, WAIT)
    STARTED.append(handle)
    return handle


def settled_after_the_decline(due: datetime) -> Callable[[SessionState], bool]:
    """Declined and waiting for a later slot (an immediate retry passes through here only after it)."""

    def check(state: SessionState) -> bool:
        payment = state.payment
        return (
            payment.status is PaymentStatus.DECLINED_SOFT
            and payment.next_charge_at is not None
            and payment.next_charge_at > due
        )

    return check


async def test_a_query_on_a_cold_worker_as_the_charge_timer_fires_does_not_change_the_decision(
    env: WorkflowEnvironment,
    task_queue: str,
    standin: StripeStandIn,
    notification_sink: NotificationSink,
    stripe_client: stripe.StripeClient,
    settings: Settings,
    tmp_path: Path,
) -> None:
    client = env.client
    worker_a = spawn_worker(
        env,
        task_queue,
        standin,
        tmp_path / "worker-a.log",
        sink=notification_sink,
        notify_secret=NOTIFY_SECRET,
    )
    try:
        await wait_until_polling(client, task_queue, worker_a)
        booked_at = real_now()
        booking = make_booking(start=booked_at + 48 * HOUR + LEAD, payment_method=SOFT_DECLINE)
        due = booking.start - 48 * HOUR
        handle = await start_session(client, booking, task_queue, booked_at)
        await wait_for_event(handle, EventType.EVENT_TYPE_TIMER_STARTED, "worker A to park the session")
        # Parked for good: the booking's notices delivered and their workflow task done, so no task
        # is pending when the query is sent (else it would ride along with that task, no race).
        await history_at_rest(handle)
        worker_a.send_signal(signal.SIGKILL)
        assert await asyncio.to_thread(worker_a.wait, WAIT) == -signal.SIGKILL
    finally:
        if worker_a.poll() is None:
            worker_a.kill()

    # The query must be dispatched while no workflow task is pending (so the server sends it as a
    # query task of its own, not along with the timer's task): before the timer fires.
    assert real_now() < due - MARGIN, f"setup too slow: the charge timer fires at {due}, too soon to race"
    sent_at = real_now()
    query = asyncio.create_task(
        asyncio.wait_for(handle.query(SessionWorkflow.state, rpc_timeout=timedelta(seconds=SLOW)), SLOW)
    )
    notifier = build_notifier(settings)
    try:
        main_worker, stripe_worker = build_workers(
            client, task_queue=task_queue, stripe_client=stripe_client, settings=settings, notifier=notifier
        )
        async with main_worker, stripe_worker:
            answer = await query
            answered_at = real_now()
            final = await wait_for_state(
                handle, settled_after_the_decline(due), "the decision after the decline", timeout=SLOW
            )
    finally:
        query.cancel()
        await notifier.aclose()

    history = await asyncio.wait_for(handle.fetch_history(), WAIT)
    events = history.events
    fired = [e for e in events if e.event_type == EventType.EVENT_TYPE_TIMER_FIRED]
    assert fired, "the charge timer never fired"
    fired_at = fired[0].event_time.ToDatetime(tzinfo=UTC)
    started_after_fire = [
        e.event_time.ToDatetime(tzinfo=UTC)
        for e in events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED and e.event_id > fired[0].event_id
    ]
    # The race really happened: sent before the timer fired, answered by worker B before the timer's
    # workflow task started anywhere (it was still waiting on the killed worker's sticky queue).
    assert sent_at < fired_at, f"the query left at {sent_at}, after the timer fired at {fired_at}"
    assert started_after_fire and answered_at < started_after_fire[0], (
        f"the query was answered at {answered_at}, not before the timer's task started "
        f"({started_after_fire[:1]}): the race was not provoked ({answer.status.value})"
    )

    replay = await Replayer(
        workflows=[SessionWorkflow, PracticeWorkflow], data_converter=DATA_CONVERTER
    ).replay_workflow(history, raise_on_replay_failure=False)
    attempts = final.payment.attempts
    failed_tasks = [e.event_id for e in events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED]
    problems = []
    if replay.replay_failure is not None:
        problems.append(f"(a) the history does not replay: {replay.replay_failure}")
    if len(attempts) != 1:
        problems.append(
            f"(b) {len(attempts)} charge attempts, expected 1 (a second one retried the −48 h slot at once), "
            f"attempted at {[a.at.isoformat() for a in attempts]}"
        )
    if attempts and attempts[0].at < due:
        problems.append(
            f"(b) the first attempt is recorded at {attempts[0].at.isoformat()}, "
            f"before the instant it was due ({due.isoformat()}): a stale workflow clock"
        )
    if final.payment.next_charge_at != booking.start - 24 * HOUR:
        problems.append(
            f"(b) next charge at {final.payment.next_charge_at}, expected start − 24 h "
            f"({(booking.start - 24 * HOUR).isoformat()})"
        )
    if failed_tasks:
        problems.append(f"(c) workflow task failed at events {failed_tasks}")
    assert not problems, "\n".join(problems)
