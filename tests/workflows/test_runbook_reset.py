"""The reset runbook followed on a real wedged session: every command of
``deploy/runbooks/reset-after-nondeterminism.md``, "Step by step", run in order against a dev server
with the real ``temporal`` and ``sessionflow`` CLIs, only its placeholders filled in.

The wedge is the one of ``faults/evidence/``: a history recorded by a build that decided on a stale
clock after the charge timer (``tests/workflows/stale_clock_build.py``: the first attempt taken as
made before the −48 h slot, so the soft decline is retried at once instead of at −24 h), met by the
current build at the session's next workflow task. Produced by the build rather than by the race of
``test_stale_clock.py``, which the current code now survives. Its session is never recorded into
``tests/histories/`` (not in ``STARTED``): the first run's history does not replay, on purpose.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import stripe
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, Worker

from contract.ids import session_workflow_id
from contract.search_attributes import session_search_attributes
from dev.stripe_standin import StripeStandIn
from domain.booking import SessionBooking
from domain.commands import PaymentMethodUpdate
from domain.state import SessionWorkflowInput
from domain.status import SessionStatus
from settings import Settings
from temporal_client.converter import DATA_CONVERTER
from tests.deploy.runbook_commands import RUNBOOKS, fenced_commands, section
from tests.workflows.stale_clock_build import StaleClockSessionWorkflow
from tests.workflows.support import (
    HOUR,
    TEST_POLICY,
    WAIT,
    SessionHandle,
    advance_to,
    history_at_rest,
    make_booking,
    real_now,
    running_worker,
    unique,
    wait_for_state,
)
from worker import build_notifier, build_stripe_worker, workflow_runner
from workflows.practice import PracticeWorkflow
from workflows.session import SessionWorkflow

RUNBOOK = RUNBOOKS / "reset-after-nondeterminism.md"
BIN = Path(sys.executable).parent
SOFT_DECLINE = "pm_card_chargeDeclinedInsufficientFunds"
FLAGGED = 120.0
"""Bound for the server to flag the wedge (``TemporalReportedProblems``): a few failed attempts,
about 10 s apart on the dev server (about 30 s here)."""
COMMAND_TIMEOUT = 60.0

STEPS = [
    ("temporal", "workflow", "list"),  # 1. find
    ("temporal", "workflow", "describe"),  # 2. look
    ("sessionflow", "sessions", "show"),
    ("sessionflow", "replay"),  # 4. the first bad event, the reset point
    ("sessionflow", "replay"),  # 5. the cut replays
    ("temporal", "workflow", "reset"),  # 6.
    ("sessionflow", "replay"),  # 7. verify
    ("temporal", "workflow", "describe"),
    ("sessionflow", "sessions", "show"),
]


@dataclass(frozen=True)
class Ran:
    returncode: int
    output: str
    errors: str  # stderr: the SDK's warnings, an abort's report


class Runbook:
    """The runbook's steps, run as an operator would: each command as written, placeholders filled."""

    def __init__(self, client: Client) -> None:
        self.steps = fenced_commands(section(RUNBOOK.read_text(), "Step by step"))
        self.filled: dict[str, str] = {"<incident>": "drill"}
        address = client.service_client.config.target_host
        self.environment = {
            **os.environ,
            "TEMPORAL_ADDRESS": address,
            "TEMPORAL_NAMESPACE": client.namespace,
            "SESSIONFLOW_TEMPORAL_ADDRESS": address,
            "SESSIONFLOW_TEMPORAL_NAMESPACE": client.namespace,
        }

    def argv(self, step: int) -> list[str]:
        argv = []
        for word in self.steps[step]:
            for placeholder, value in self.filled.items():
                word = word.replace(placeholder, value)
            assert "<" not in word, f"step {step}: placeholder left in {word!r}"
            argv.append(word)
        return argv

    async def run(self, step: int) -> Ran:
        program, *arguments = self.argv(step)
        # A process of its own (the worker runs on this event loop): the CLIs as shipped.
        process = await asyncio.create_subprocess_exec(
            str(BIN / program),
            *arguments,
            env=self.environment,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), COMMAND_TIMEOUT)
        assert process.returncode is not None
        return Ran(process.returncode, out.decode(), err.decode())


async def record_with_the_stale_build(
    client: Client,
    env: WorkflowEnvironment,
    task_queue: str,
    stripe_client: stripe.StripeClient,
    settings: Settings,
) -> tuple[SessionBooking, SessionHandle]:
    """A session booked, charged at −48 h and declined on the stale-clock build, then parked."""
    notifier = build_notifier(settings)
    old_build = Worker(
        client,
        task_queue=task_queue,
        workflows=[StaleClockSessionWorkflow],
        activities=[notifier.deliver, notifier.deliver_all],
        workflow_runner=workflow_runner(settings),
    )
    stripe_worker = build_stripe_worker(
        client, task_queue=task_queue, stripe_client=stripe_client, settings=settings
    )
    booked_at = real_now()
    booking = make_booking(start=booked_at + 72 * HOUR, payment_method=SOFT_DECLINE)
    try:
        async with old_build, stripe_worker:
            handle: SessionHandle = await asyncio.wait_for(
                client.start_workflow(
                    SessionWorkflow.run,
                    SessionWorkflowInput(booking=booking, policy=TEST_POLICY, booked_at=booked_at),
                    id=session_workflow_id(booking.session_id),
                    task_queue=task_queue,
                    # Virtual time: the test moves the session's clock over three days.
                    execution_timeout=timedelta(days=5),
                    search_attributes=session_search_attributes(booking),
                ),
                WAIT,
            )
            await advance_to(env, handle, booking.start - 48 * HOUR + timedelta(seconds=1))
            recorded = await wait_for_state(
                handle,
                lambda s: (
                    len(s.payment.attempts) == 2 and s.payment.next_charge_at == booking.start - 24 * HOUR
                ),
                "the stale build's two attempts",
            )
            await history_at_rest(handle)
    finally:
        await notifier.aclose()
    # The stale decision, as in faults/evidence/: attempt 1 recorded before its own slot, and
    # attempt 2 made at once.
    first, second = recorded.payment.attempts
    assert first.at < booking.start - 48 * HOUR <= second.at < booking.start - 47 * HOUR
    return booking, handle


async def until_listed(runbook: Runbook, workflow_id: str, listed: bool) -> Ran:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + FLAGGED
    while True:
        found = await runbook.run(0)
        assert found.returncode == 0, found
        if (workflow_id in found.output) is listed:
            return found
        assert loop.time() < deadline, f"step 1 still {'does not list' if listed else 'lists'} {workflow_id}"
        await asyncio.sleep(1.0)


async def test_a_session_wedged_by_a_stale_clock_decision_is_unwedged_by_following_the_reset_runbook(
    env: WorkflowEnvironment,
    task_queue: str,
    stripe_client: stripe.StripeClient,
    settings: Settings,
    standin: StripeStandIn,
) -> None:
    client = env.client
    runbook = Runbook(client)
    assert [tuple(words[: len(step)]) for words, step in zip(runbook.steps, STEPS, strict=True)] == STEPS

    booking, old_run = await record_with_the_stale_build(client, env, task_queue, stripe_client, settings)
    workflow_id = old_run.id
    runbook.filled["<id>"] = booking.session_id

    async with running_worker(client, task_queue, stripe_client, settings):
        # The current build meets the history at the session's next task (the −24 h timer): wedged.
        await advance_to(env, old_run, booking.start - 24 * HOUR + timedelta(seconds=1))

        # 1. Find it.
        found = await until_listed(runbook, workflow_id, listed=True)
        assert re.search(rf"Running\s+{workflow_id}\s+SessionWorkflow", found.output), found.output

        # 2. Look at it: the task fails again and again; the timeline ends in the stale decision.
        described = await runbook.run(1)
        assert described.returncode == 0, described
        assert int(json.loads(described.output)["pendingWorkflowTask"]["attempt"]) >= 2
        shown = await runbook.run(2)
        assert shown.returncode == 0, shown
        assert "summary=charge attempt 2 attempt=2" in shown.output

        # 4. Replay: the first bad event and the reset point.
        replayed = await runbook.run(3)
        assert replayed.returncode == 1, replayed
        point = re.search(
            r"first bad event (\d+); its workflow task completed at event (\d+)", replayed.output
        )
        assert point is not None, replayed.output
        bad, reset = int(point.group(1)), int(point.group(2))
        events = {event.event_id: event for event in (await old_run.fetch_history()).events}
        # The bad event is the immediate second charge; the reset event ends the task that decided it.
        assert events[bad].event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        assert events[bad].activity_task_scheduled_event_attributes.activity_type.name == "charge_session"
        assert events[reset].event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
        assert not any(
            events[i].event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
            for i in range(reset + 1, bad)
        )
        assert f"--event-id {reset}" in replayed.output
        runbook.filled |= {"<event-1>": str(reset - 1), "<event>": str(reset)}

        # 5. The cut just after that task's WorkflowTaskStarted replays.
        cut = await runbook.run(4)
        assert (cut.returncode, cut.output.splitlines()[0]) == (0, f"ok    {workflow_id}"), cut.output

        # 6. Reset.
        reset_run = await runbook.run(5)
        assert reset_run.returncode == 0, reset_run
        assert f"Resetting workflow {workflow_id} to event ID {reset}" in reset_run.output

        # 7. Verify: the new run replays, is a new run, and leaves the list of wedged sessions.
        verified = await runbook.run(6)
        assert (verified.returncode, verified.output.splitlines()[0]) == (0, f"ok    {workflow_id}"), (
            verified.output
        )
        described = await runbook.run(7)
        assert described.returncode == 0, described
        new_run = json.loads(described.output)
        assert new_run["workflowExecutionInfo"]["execution"]["runId"] != old_run.result_run_id
        assert '"lastResetTime"' in described.output and "pendingWorkflowTask" not in new_run, (
            described.output
        )
        await until_listed(runbook, workflow_id, listed=False)

        # The session goes on, on the current code: attempt 1 where it was due, the retry at −24 h
        # (its clock is there already), which reuses the dropped attempt 2's idempotency key.
        session: SessionHandle = client.get_workflow_handle(workflow_id)
        await advance_to(env, session, booking.start - 24 * HOUR + timedelta(seconds=1))
        retried = await wait_for_state(
            session,
            lambda s: len(s.payment.attempts) == 2 and s.payment.next_charge_at == booking.start - 12 * HOUR,
            "the retry at start − 24 h",
        )
        first, second = retried.payment.attempts
        assert booking.start - 48 * HOUR <= first.at < booking.start - 47 * HOUR
        assert booking.start - 24 * HOUR <= second.at
        shown = await runbook.run(8)
        assert shown.returncode == 0 and "summary=charge" in shown.output, shown

        # The client enters a new card: charged once, on the same PaymentIntent.
        new_card = unique("pm_card_visa")
        answer = await asyncio.wait_for(
            session.execute_update(
                SessionWorkflow.update_payment_method, PaymentMethodUpdate(payment_method_id=new_card)
            ),
            WAIT,
        )
        assert answer.retrying_now
        paid = await wait_for_state(
            session, lambda s: s.status is SessionStatus.PAID, "the new card's charge"
        )
        history = await asyncio.wait_for(session.fetch_history(), WAIT)

    assert [a.number for a in paid.payment.attempts] == [1, 2, 3]
    intent = paid.payment.payment_intent_id
    assert intent is not None
    charges = standin.charges(payment_intent=intent)
    # Attempts 1 and 2 of the dropped run and attempt 3 reached the card network; the redone
    # attempt 2 was answered from Stripe's idempotency store and created no charge.
    assert sorted(c["status"] for c in charges) == ["failed", "failed", "succeeded"]
    keys = [
        r.idempotency_key
        for r in standin.requests
        if r.method == "POST"
        and r.path in (f"/v1/payment_intents/{intent}/confirm", "/v1/payment_intents")
        and (r.idempotency_key or "").startswith(f"session:{booking.session_id}:")
    ]
    key = f"session:{booking.session_id}:charge"
    assert keys == [f"{key}:1", f"{key}:2", f"{key}:2", f"{key}:3"]
    replay = await Replayer(
        workflows=[SessionWorkflow, PracticeWorkflow], data_converter=DATA_CONVERTER
    ).replay_workflow(history, raise_on_replay_failure=False)
    assert replay.replay_failure is None
    failed = [e.event_id for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED]
    assert failed == [reset], f"workflow tasks failed after the reset: {failed}"
