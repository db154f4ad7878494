"""After the run: gather the evidence from Temporal, Stripe and the notification sink, and judge it.

Evidence comes from where the truth lives, not from the driver's impressions: Stripe's side from
the stand-in's full state (PaymentIntents, charges, refunds, its request log with the faults it
injected); Temporal's from visibility, every workflow's history (results decoded with the
project's data converter, notifications scheduled, workflow-task failures) and a replay of every
history; notifications from what the sink verified. Each session is compared with
:func:`faults.scripts.expected_outcome`; a client cancellation is judged by the receipt time the
session recorded (``cancellation_status``), which must also agree with the script's intent.
"""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from temporalio.api.enums.v1 import EventType, WorkflowTaskFailedCause
from temporalio.client import Client, WorkflowExecution, WorkflowExecutionStatus, WorkflowHistory
from temporalio.service import RPCError
from temporalio.worker import Replayer

from contract.ids import SESSION_WORKFLOW_PREFIX
from contract.session import SESSION_WORKFLOW_TYPE
from domain.notifications import BatchDelivery, Notification, NotificationType
from domain.policy import SessionPolicy, cancellation_status
from domain.state import SessionState
from domain.status import BookingKind, SessionStatus, status_as_of
from faults.driver import LifecycleRecord
from faults.scripts import AMOUNT_MINOR, Expected, LifecyclePath, expected_outcome
from temporal_client.converter import DATA_CONVERTER
from temporal_client.local_activities import local_activity_of
from workflows.practice import PracticeWorkflow
from workflows.session import SessionWorkflow

FETCH_CONCURRENCY = 12
RPC_SECONDS = 30.0
# Workflow-task failures that are Temporal's own bookkeeping (new events arrived while a task ran,
# a sticky queue reset after a worker died), not a failure of our code.
BENIGN_TASK_FAILURES = frozenset(
    {
        WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND,
        WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_RESET_STICKY_TASK_QUEUE,
        WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_FORCE_CLOSE_COMMAND,
        WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_UPDATE,
    }
)
OPEN_INTENT_STATUSES = frozenset({"requires_payment_method", "requires_confirmation", "requires_action"})


@dataclass
class Violation:
    session_id: str
    reason: str


@dataclass
class WorkflowEvidence:
    workflow_id: str
    run_id: str
    workflow_type: str
    status: str
    history: WorkflowHistory | None = None
    result: SessionState | None = None
    notifications: list[str] = field(default_factory=list)
    task_failures: Counter[str] = field(default_factory=Counter)
    task_failure_message: str | None = None
    benign_task_failures: int = 0


@dataclass
class StripeEvidence:
    intents_by_session: dict[str, list[dict[str, Any]]]
    succeeded_charges: dict[str, list[dict[str, Any]]]
    refunded_minor: dict[str, int]
    refunds_by_session: dict[str, int]
    faults_by_kind: Counter[str]
    requests: int
    events: list[dict[str, Any]]

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> StripeEvidence:
        intents: dict[str, list[dict[str, Any]]] = defaultdict(list)
        session_of_intent: dict[str, str] = {}
        for intent in state["payment_intents"]:
            session_id = (intent.get("metadata") or {}).get("session_id")
            if session_id:
                intents[session_id].append(intent)
                session_of_intent[intent["id"]] = session_id
        charges: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for charge in state["charges"]:
            session_id = session_of_intent.get(charge.get("payment_intent") or "")
            if session_id and charge["status"] == "succeeded":
                charges[session_id].append(charge)
        refunded: dict[str, int] = defaultdict(int)
        refund_count: dict[str, int] = defaultdict(int)
        for refund in state["refunds"]:
            session_id = session_of_intent.get(refund.get("payment_intent") or "")
            if session_id and refund["status"] == "succeeded":
                refunded[session_id] += int(refund["amount"])
                refund_count[session_id] += 1
        faults = Counter(str(r["fault"]) for r in state["requests"] if r.get("fault"))
        return cls(intents, charges, refunded, refund_count, faults, len(state["requests"]), state["events"])


async def _bounded(call: Any, attempts: int = 5) -> Any:
    """One Temporal read, retried a few times (the server was restarted more than once)."""
    for attempt in range(attempts):
        try:
            return await asyncio.wait_for(call(), RPC_SECONDS)
        except (RPCError, TimeoutError):
            if attempt == attempts - 1:
                raise
            await asyncio.sleep(1.0)
    raise AssertionError("unreachable")


async def list_workflows(client: Client) -> list[WorkflowExecution]:
    async def listing() -> list[WorkflowExecution]:
        return [execution async for execution in client.list_workflows("")]

    found: list[WorkflowExecution] = await _bounded(listing)
    return found


def _status_name(status: WorkflowExecutionStatus | None) -> str:
    return status.name if status is not None else "UNKNOWN"


async def gather_workflows(client: Client, executions: list[WorkflowExecution]) -> list[WorkflowEvidence]:
    semaphore = asyncio.Semaphore(FETCH_CONCURRENCY)

    async def one(execution: WorkflowExecution) -> WorkflowEvidence:
        evidence = WorkflowEvidence(
            execution.id, execution.run_id, execution.workflow_type, _status_name(execution.status)
        )
        handle = client.get_workflow_handle(execution.id, run_id=execution.run_id)
        async with semaphore:
            evidence.history = await _bounded(lambda: handle.fetch_history())
        await _read_history(evidence)
        return evidence

    return list(await asyncio.gather(*(one(execution) for execution in executions)))


async def _read_history(evidence: WorkflowEvidence) -> None:
    assert evidence.history is not None
    for event in evidence.history.events:
        local = local_activity_of(event)
        if local is not None and local.activity_type == "deliver_notifications" and local.result:
            # A lean session's notices, one local activity per task: its result names each event.
            [delivery] = await DATA_CONVERTER.decode(local.result, [BatchDelivery])
            evidence.notifications += [result.event_id for result in delivery.delivered + delivery.rejected]
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            attributes = event.activity_task_scheduled_event_attributes
            if attributes.activity_type.name == "deliver_notification":
                [notification] = await DATA_CONVERTER.decode(list(attributes.input.payloads), [Notification])
                evidence.notifications.append(notification.event_id)
        elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
            failed = event.workflow_task_failed_event_attributes
            if failed.cause in BENIGN_TASK_FAILURES:
                evidence.benign_task_failures += 1
                continue
            evidence.task_failures[WorkflowTaskFailedCause.Name(failed.cause)] += 1
            if evidence.task_failure_message is None:
                # Encrypted like every payload: decoded here so the report can say why.
                failure = await DATA_CONVERTER.decode_failure(failed.failure)
                evidence.task_failure_message = f"{type(failure).__name__}: {failure}"[:300]
        elif (
            event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED
            and evidence.workflow_type == SESSION_WORKFLOW_TYPE
        ):
            payloads = list(event.workflow_execution_completed_event_attributes.result.payloads)
            [evidence.result] = await DATA_CONVERTER.decode(payloads, [SessionState])


async def replay_all(evidence: Iterable[WorkflowEvidence]) -> tuple[int, dict[str, str]]:
    """Replay every history with the project's workflows and data converter: (count, failures)."""
    histories = [item.history for item in evidence if item.history is not None]
    ids = {history.run_id: history.workflow_id for history in histories}

    async def iterate() -> AsyncIterator[WorkflowHistory]:
        for history in histories:
            yield history

    replayer = Replayer(workflows=[SessionWorkflow, PracticeWorkflow], data_converter=DATA_CONVERTER)
    results = await replayer.replay_workflows(iterate(), raise_on_replay_failure=False)
    failures = {
        ids.get(run_id, run_id): f"{type(exc).__name__}: {exc}"
        for run_id, exc in results.replay_failures.items()
    }
    return len(histories), failures


def session_id_of(workflow_id: str) -> str:
    return workflow_id.removeprefix(SESSION_WORKFLOW_PREFIX)


@dataclass
class Judgement:
    violations: list[Violation] = field(default_factory=list)
    duplicates: Counter[str] = field(default_factory=Counter)
    client_cancels_free: int = 0
    client_cancels_late: int = 0
    soft_retries_exercised: int = 0

    def add(self, session_id: str, reason: str) -> None:
        self.violations.append(Violation(session_id, reason))


def judge_sessions(
    records: list[LifecycleRecord],
    states: dict[str, SessionState],
    statuses: dict[str, str],
    stripe_side: StripeEvidence,
    received: dict[str, list[Notification]],
    policy: SessionPolicy,
    judgement: Judgement,
    judged_at: datetime | None = None,
) -> None:
    """Each scripted session (and the follow-up it booked) against the rules; a status as a read
    shows it at ``judged_at`` (a lean session past its end reads ``awaiting_update``)."""
    for record in records:
        script = record.script
        session_id = script.session_id
        for error in record.errors:
            judgement.add(session_id, f"step failed ({script.path.value}): {error}")
        state = states.get(session_id)
        if state is None:
            if record.booked_at is not None or not record.errors:
                judgement.add(session_id, "no workflow found for the session")
            continue
        recorded_status: SessionStatus | None = None
        if state.cancellation is not None:
            recorded_status = cancellation_status(
                state.cancellation.requested_by, state.start, state.cancellation.at, policy
            )
            if state.payment.charge_kept_by_late_move and recorded_status is SessionStatus.CANCELLED_FREE:
                recorded_status = SessionStatus.CANCELLED_LATE
            intended_free = script.client_cancel_intended_free
            if intended_free is not None:
                free = recorded_status is SessionStatus.CANCELLED_FREE
                judgement.client_cancels_free += free
                judgement.client_cancels_late += not free
                if free is not intended_free:
                    judgement.add(
                        session_id,
                        f"receipt time recorded as {state.cancellation.at.isoformat()} makes it "
                        f"{'free' if free else 'late'}, but it was sent at "
                        f"{record.cancel_sent_at.isoformat() if record.cancel_sent_at else '?'} "
                        f"({'free' if intended_free else 'late'} by a wide margin)",
                    )
        expected = expected_outcome(script, recorded_status)
        _judge_one(
            session_id,
            script.kind,
            expected,
            state,
            statuses.get(session_id),
            stripe_side,
            received,
            judgement,
            judged_at,
        )
        judge_no_cancellation_notice(session_id, expected, received, judgement)
        if script.path is LifecyclePath.SOFT_DECLINE_RETRY and len(state.payment.attempts) > 1:
            judgement.soft_retries_exercised += 1
        if record.follow_up_id is not None:
            follow_up_expected = (
                Expected(SessionStatus.CANCELLED_BY_THERAPIST, True, 0, 0)
                if script.cancel_follow_up
                else Expected(SessionStatus.SCHEDULED, False, 0, 0)
            )
            follow_up_state = states.get(record.follow_up_id)
            if follow_up_state is None:
                judgement.add(record.follow_up_id, f"follow-up of {session_id} has no workflow")
            else:
                _judge_one(
                    record.follow_up_id,
                    BookingKind.THERAPIST_FOLLOW_UP,
                    follow_up_expected,
                    follow_up_state,
                    statuses.get(record.follow_up_id),
                    stripe_side,
                    received,
                    judgement,
                    judged_at,
                )
                judge_no_cancellation_notice(record.follow_up_id, follow_up_expected, received, judgement)


def _judge_one(
    session_id: str,
    kind: BookingKind,
    expected: Expected,
    state: SessionState,
    execution_status: str | None,
    stripe_side: StripeEvidence,
    received: dict[str, list[Notification]],
    judgement: Judgement,
    judged_at: datetime | None = None,
) -> None:
    add = judgement.add
    want_execution = "COMPLETED" if expected.closed else "RUNNING"
    if execution_status != want_execution:
        add(
            session_id,
            f"workflow is {execution_status}, expected {want_execution} (status {state.status.value})",
        )
    shown = state.status if judged_at is None else status_as_of(state.status, state.end, judged_at)
    if shown is not expected.status:
        add(session_id, f"status {shown.value}, the rules demand {expected.status.value}")
    # Stripe's side.
    charges = stripe_side.succeeded_charges.get(session_id, [])
    if len(charges) != expected.charges:
        add(session_id, f"{len(charges)} successful charges at Stripe, expected {expected.charges}")
    if len(charges) > 1:
        judgement.duplicates["charges"] += len(charges) - 1
    refunded = stripe_side.refunded_minor.get(session_id, 0)
    if refunded != expected.refund_minor:
        add(session_id, f"refunded {refunded} at Stripe, owed {expected.refund_minor}")
    if refunded > expected.refund_minor:
        judgement.duplicates["over_refunds"] += 1
    intents = stripe_side.intents_by_session.get(session_id, [])
    if len(intents) > 1:
        add(session_id, f"{len(intents)} PaymentIntents for one session")
        judgement.duplicates["payment_intents"] += len(intents) - 1
    if expected.closed:
        left_open = [intent["status"] for intent in intents if intent["status"] in OPEN_INTENT_STATUSES]
        if left_open:
            add(session_id, f"closed with a PaymentIntent still collectable ({', '.join(left_open)})")
    # Temporal's ledger must agree with Stripe.
    paid = AMOUNT_MINOR * expected.charges
    if state.payment.amount_paid_minor != paid:
        add(session_id, f"ledger says paid {state.payment.amount_paid_minor}, Stripe took {paid}")
    if state.payment.amount_refunded_minor != expected.refund_minor:
        add(
            session_id,
            f"ledger says refunded {state.payment.amount_refunded_minor}, owed {expected.refund_minor}",
        )
    # The people concerned heard about it.
    types = {notification.type for notification in received.get(session_id, [])}
    must_hear: list[NotificationType] = []
    if state.status.is_cancelled:
        must_hear.append(
            NotificationType.AUTO_CANCELLED
            if state.status is SessionStatus.CANCELLED_UNPAID
            else NotificationType.SESSION_CANCELLED
        )
    if charges and kind is not BookingKind.INITIAL_PREPAID:
        must_hear.append(NotificationType.CHARGE_SUCCEEDED)
    if refunded:
        must_hear.append(NotificationType.REFUND_ISSUED)
    missing = [kind_.value for kind_ in must_hear if kind_ not in types]
    if missing:
        add(session_id, f"never notified: {', '.join(missing)}")


CANCELLATION_NOTICES = frozenset({NotificationType.AUTO_CANCELLED, NotificationType.SESSION_CANCELLED})


def judge_no_cancellation_notice(
    session_id: str, expected: Expected, received: dict[str, list[Notification]], judgement: Judgement
) -> None:
    """A session the rules do not cancel never told anyone it was cancelled (an auto-cancel that
    was undone by a payment found late is still a cancellation the client heard about)."""
    if expected.status.is_cancelled:
        return
    told = sorted({n.type.value for n in received.get(session_id, []) if n.type in CANCELLATION_NOTICES})
    if told:
        judgement.add(
            session_id, f"told it was cancelled ({', '.join(told)}), the rules demand {expected.status.value}"
        )


def judge_notifications(
    evidence: list[WorkflowEvidence], received: list[Notification], judgement: Judgement
) -> tuple[int, int]:
    """Every scheduled notification arrived at least once; repeats of one id are the same event."""
    by_id: dict[str, list[Notification]] = defaultdict(list)
    for notification in received:
        by_id[notification.event_id].append(notification)
    for event_id, copies in by_id.items():
        first = copies[0].model_dump(mode="json")
        if any(copy.model_dump(mode="json") != first for copy in copies[1:]):
            judgement.add(
                event_id.split(":", 1)[0], f"notification {event_id} redelivered with different content"
            )
            judgement.duplicates["notification_conflicts"] += 1
    scheduled = 0
    for item in evidence:
        for event_id in item.notifications:
            scheduled += 1
            if event_id not in by_id:
                judgement.add(
                    event_id.split(":", 1)[0], f"notification {event_id} scheduled but never delivered"
                )
    return scheduled, len(by_id)


def judge_workflows(evidence: list[WorkflowEvidence], known_sessions: set[str], judgement: Judgement) -> None:
    """No workflow failed, timed out or was terminated; no task failed in our code; no stray session."""
    for item in evidence:
        subject = session_id_of(item.workflow_id)
        if item.status in ("FAILED", "TERMINATED", "TIMED_OUT", "CANCELED"):
            judgement.add(subject, f"workflow {item.workflow_type} ended {item.status}")
        for cause, count in item.task_failures.items():
            judgement.add(subject, f"{count} workflow task failures ({cause}): {item.task_failure_message}")
        if item.workflow_type == SESSION_WORKFLOW_TYPE and subject not in known_sessions:
            judgement.add(subject, "a session workflow no script booked")


def states_of(evidence: list[WorkflowEvidence]) -> dict[str, SessionState]:
    return {
        session_id_of(item.workflow_id): item.result
        for item in evidence
        if item.workflow_type == SESSION_WORKFLOW_TYPE and item.result is not None
    }


def session_statuses(evidence: list[WorkflowEvidence]) -> dict[str, str]:
    # The latest run per workflow id (sessions never continue-as-new, so there is one).
    return {
        session_id_of(item.workflow_id): item.status
        for item in evidence
        if item.workflow_type == SESSION_WORKFLOW_TYPE
    }


def is_paid(state: SessionState) -> bool:
    return state.payment.amount_paid_minor > 0


__all__ = [
    "Judgement",
    "StripeEvidence",
    "Violation",
    "WorkflowEvidence",
    "gather_workflows",
    "judge_no_cancellation_notice",
    "judge_notifications",
    "judge_sessions",
    "judge_workflows",
    "list_workflows",
    "replay_all",
    "states_of",
]
