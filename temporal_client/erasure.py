"""A client's erasure (GDPR art. 17) with the books kept, and the reconciliation that still works
after it. README "Privacy and erasure" is the operator's view; deploy/runbooks/erasure-request.md
the procedure.

``erase_client`` finds every workflow of the client through visibility (``ClientId``: their
sessions; each session's refunds workflow by its id), then:

1. **Refuses while money is in motion** (``ErasureRefused``, nothing changed) unless ``force``:
   a running session whose status is anything but ``scheduled`` (nothing charged yet) may hold
   the client's money or be collecting it — ``payment_due``, ``awaiting_client_action``,
   ``payment_failed`` (a PaymentIntent open), ``paid`` (a future session paid for: cancel it first
   through the API as an admin, which refunds it under rule 4), ``payment_on_hold``,
   ``awaiting_update`` … Terminating such a session would strand the money. The refusal lists
   them (session id and status: opaque) so ops settle each first, then erase again.
2. **Closes what still runs.** A ``scheduled`` session is cancelled through its own rules, as an
   admin's cancellation (``admin:sessionflow_erasure``, reason ``client_request``; rule 4: never
   charged, a pending PaymentIntent voided, the therapist's time released, the parties told with
   opaque ids) and waited for until it closes; one that refuses (it moved on meanwhile) is
   terminated. The refunds workflows of closed sessions are terminated with the reason
   ``erasure <erasure id>`` (a machine code, no personal data): they only wait for discretionary
   grants, and after the erasure a goodwill refund is made by ops in Stripe from the kept facts
   (``client_ledger``).
3. **Destroys the client's data keys**: the key of every session found, and every key the KMS has
   tagged with the client (a session visibility has not indexed yet). Tombstones stay, so no
   process can ever create those keys again.
4. **Records the erasure** next to the keys (``<kms dir>/erasures/<erasure id>.json``, written
   atomically and fsync'd): its id, when, the counts, and an HMAC-SHA256 of the client id under
   ``SESSIONFLOW_ERASURE_HASH_KEY`` — never the client id itself. The hash answers "was client X
   erased?" (``find_erasure``) for whoever is given the id again.

Idempotent: erasing an erased client again finds nothing running and no live key, so it changes
nothing and answers the first record (``already_erased``).

What remains readable afterwards, by design: the workflows' ids and search attributes (opaque ids
— session, therapist, client — status and times: Temporal's visibility, until namespace retention
removes the closed executions); the financial facts (``temporal_client.codec.FINANCIAL_FACT_TYPES``:
amounts, currency, Stripe ids, outcome codes) under the shared key; the therapist's practice
workflow, which holds the client's opaque id in its relationships and reserved slots (no free
text; the relationship can be ended with the attendance update's ``end_relationship``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import hmac
import json
import secrets
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from temporalio.api.enums.v1 import EventType
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowHistory,
    WorkflowUpdateFailedError,
)
from temporalio.service import RPCError, RPCStatusCode

from contract.ids import session_id_from_workflow_id, session_refunds_workflow_id, session_workflow_id
from contract.search_attributes import SESSION_STATUS
from contract.session import SESSION_CANCEL
from contract.visibility import sessions_query
from domain.acting import ActingParty
from domain.commands import CancelRequest
from domain.payments import ChargeOutcome, ChargeRequest, ChargeResult, RefundRequest, RefundResult
from domain.status import Actor, CancelReason, SessionStatus
from settings import Settings
from temporal_client.codec import EncryptionCodec, PayloadErasedError, session_data_key_id
from temporal_client.kms import CLIENT_TAG, LocalFileKms, write_record
from temporal_client.messages import execute_update
from temporal_client.session_client import describe_session, session_handle

TERMINABLE_STATUSES = frozenset({SessionStatus.SCHEDULED})
"""A running session in these statuses holds none of the client's money and collects none."""
ERASURE_REASON_PREFIX = "erasure "
ERASURE_ACTOR_ID = "sessionflow_erasure"
"""The admin a cancellation made by an erasure is recorded from (``admin:sessionflow_erasure``)."""
CLOSE_TIMEOUT = timedelta(seconds=30)
"""How long a cancelled session may take to close (void, release its time, tell the parties)."""


class ErasureRefused(Exception):
    """Money is in motion on some of the client's sessions: settle them first (or ``force``)."""

    def __init__(self, blocking: Sequence[tuple[str, str]]) -> None:
        listed = ", ".join(f"{session_id} ({status})" for session_id, status in blocking)
        super().__init__(
            f"{len(blocking)} running session(s) may hold or be collecting the client's money: {listed}. "
            "Cancel each through the API as an admin (refunded or voided under rule 4) or let it "
            "close, then erase again; --force terminates them anyway and strands that money."
        )
        self.blocking = list(blocking)


@dataclass(frozen=True)
class ErasureRecord:
    erasure_id: str
    erased_at: str
    client_hash: str
    """HMAC-SHA256 of the client id (``SESSIONFLOW_ERASURE_HASH_KEY``): never the id itself."""
    sessions: int
    workflows_closed: int
    """Running workflows closed: ``scheduled`` sessions cancelled (or terminated when they refused),
    refunds workflows terminated."""
    forced: int
    """Of those, sessions terminated with money possibly in motion (``force``)."""
    data_keys_destroyed: int
    already_erased: bool = False


def client_hash(settings: Settings, client_id: str) -> str:
    key = settings.erasure_hash_key.get_secret_value().encode()
    return hmac.new(key, f"client\0{client_id}".encode(), hashlib.sha256).hexdigest()


def _records_dir(kms: LocalFileKms) -> Path:
    return kms.directory / "erasures"


def find_erasure(settings: Settings, kms: LocalFileKms, client_id: str) -> ErasureRecord | None:
    """The first erasure recorded for this client, if any."""
    wanted = client_hash(settings, client_id)
    found: list[ErasureRecord] = []
    for path in sorted(_records_dir(kms).glob("era_*.json")):
        record = ErasureRecord(**json.loads(path.read_text()))
        if record.client_hash == wanted:
            found.append(record)
    return min(found, key=lambda record: record.erased_at) if found else None


@dataclass
class _Found:
    session_ids: list[str] = field(default_factory=list)
    running: list[tuple[str, str]] = field(default_factory=list)
    """(workflow id, session status) of every running workflow of the client."""


async def _find(client: Client, client_id: str) -> _Found:
    found = _Found()
    async for execution in client.list_workflows(sessions_query(client_id=client_id)):
        session_id = session_id_from_workflow_id(execution.id)
        if session_id not in found.session_ids:
            found.session_ids.append(session_id)
        if execution.status == WorkflowExecutionStatus.RUNNING:
            status = execution.typed_search_attributes.get(SESSION_STATUS) or "unknown"
            found.running.append((execution.id, status))
    for session_id in found.session_ids:
        refunds_id = session_refunds_workflow_id(session_id)
        try:
            described = await client.get_workflow_handle(refunds_id).describe()
        except RPCError as error:
            if error.status is not RPCStatusCode.NOT_FOUND:
                raise
            continue
        if described.status == WorkflowExecutionStatus.RUNNING:
            found.running.append((refunds_id, "refunds"))
    return found


async def erase_client(
    client: Client, settings: Settings, kms: LocalFileKms, client_id: str, *, force: bool = False
) -> ErasureRecord:
    """Erase one client (see the module docstring). Raises ``ErasureRefused`` before changing
    anything while money may be in motion on a running session, unless ``force``."""
    found = await _find(client, client_id)
    blocking = [
        (session_id_from_workflow_id(workflow_id), status)
        for workflow_id, status in found.running
        if status != "refunds" and status not in TERMINABLE_STATUSES
    ]
    if blocking and not force:
        raise ErasureRefused(blocking)
    erasure_id = f"era_{secrets.token_hex(12)}"
    closed = 0
    moved_on: list[tuple[str, str]] = []
    for workflow_id, status in found.running:
        if status == SessionStatus.SCHEDULED:
            if await _cancelled(client, workflow_id, erasure_id):
                closed += 1
                continue
            if not force:  # it moved on since it was listed (charged, started): money again
                moved_on.append((session_id_from_workflow_id(workflow_id), "refused_cancellation"))
                continue
        try:
            await client.get_workflow_handle(workflow_id).terminate(
                reason=f"{ERASURE_REASON_PREFIX}{erasure_id}"
            )
            closed += 1
        except RPCError as error:
            if error.status is not RPCStatusCode.NOT_FOUND:  # closed meanwhile: nothing to do
                raise
    if moved_on:
        raise ErasureRefused(moved_on)  # no key destroyed yet: erasing again picks up from here
    key_ids = {session_data_key_id(session_id) for session_id in found.session_ids}
    key_ids.update(kms.list_data_keys(CLIENT_TAG, client_id))
    destroyed = kms.destroy_data_keys(sorted(key_ids))
    previous = find_erasure(settings, kms, client_id)
    if previous is not None and destroyed == 0 and closed == 0:
        return ErasureRecord(**{**asdict(previous), "already_erased": True})
    record = ErasureRecord(
        erasure_id=erasure_id,
        erased_at=datetime.now(UTC).isoformat(),
        client_hash=client_hash(settings, client_id),
        sessions=len(found.session_ids),
        workflows_closed=closed,
        forced=len(blocking),
        data_keys_destroyed=destroyed,
    )
    write_record(_records_dir(kms) / f"{erasure_id}.json", asdict(record))
    return record


async def _cancelled(client: Client, workflow_id: str, erasure_id: str) -> bool:
    """Cancel a ``scheduled`` session through its own rules, as an admin's cancellation (rule 4:
    never charged; a pending PaymentIntent voided, the therapist's time released), and wait for it
    to close. False when the session refuses (it moved on meanwhile: started, charged): the
    erasure then stops before destroying any key and lists it (or terminates it with ``force``)."""
    session_id = session_id_from_workflow_id(workflow_id)
    handle = session_handle(client, session_id)
    request = CancelRequest(
        requested_by=Actor.ADMIN,
        reason=CancelReason.CLIENT_REQUEST,
        acting_party=ActingParty(role=Actor.ADMIN, id=ERASURE_ACTOR_ID),
    )
    try:
        await execute_update(handle, SESSION_CANCEL, request, id=f"{erasure_id}:cancel")
        await asyncio.wait_for(handle.result(), CLOSE_TIMEOUT.total_seconds())
    except (WorkflowUpdateFailedError, WorkflowFailureError, TimeoutError):
        return False
    return True


# ----------------------------------------------------------------------------- the kept facts


@dataclass(frozen=True)
class MoneyMovement:
    """One charge or refund of a session, from the financial facts kept after an erasure."""

    session_id: str
    kind: str
    """``charge`` (a charge Stripe accepted) or ``refund``."""
    amount_minor: int
    currency: str | None
    payment_intent_id: str | None
    refund_id: str | None
    at: datetime
    """When the movement's result entered the history (the event's time, never encrypted)."""


async def history_money(history: WorkflowHistory, client: Client, session_id: str) -> list[MoneyMovement]:
    """Every successful charge and every refund in one workflow history, decoded from the kept
    financial facts alone (``ChargeRequest``/``ChargeResult``, ``RefundRequest``/``RefundResult``)."""
    converter = client.data_converter
    scheduled: dict[int, ChargeRequest | RefundRequest] = {}
    moved: list[MoneyMovement] = []
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            attributes = event.activity_task_scheduled_event_attributes
            wanted = {"charge_session": ChargeRequest, "refund_payment": RefundRequest}.get(
                attributes.activity_type.name
            )
            if wanted is not None:
                [request] = await converter.decode(list(attributes.input.payloads), [wanted])
                scheduled[event.event_id] = request
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            completed = event.activity_task_completed_event_attributes
            request = scheduled.get(completed.scheduled_event_id)
            at = event.event_time.ToDatetime(tzinfo=UTC)
            if isinstance(request, ChargeRequest):
                try:
                    [charge] = await converter.decode(list(completed.result.payloads), [ChargeResult])
                except PayloadErasedError:
                    # Under the session's key: it carried the PaymentIntent's client_secret, which
                    # only a charge that did not succeed does (codec._holds_a_secret). No money.
                    continue
                if charge.outcome == ChargeOutcome.SUCCEEDED:
                    moved.append(
                        MoneyMovement(
                            session_id,
                            "charge",
                            request.amount_minor,
                            request.currency,
                            charge.payment_intent_id,
                            None,
                            at,
                        )
                    )
            elif isinstance(request, RefundRequest):
                [refund] = await converter.decode(list(completed.result.payloads), [RefundResult])
                if refund.refund_id is not None:
                    moved.append(
                        MoneyMovement(
                            session_id,
                            "refund",
                            refund.amount_minor,
                            None,
                            request.payment_intent_id,
                            refund.refund_id,
                            at,
                        )
                    )
    return moved


async def client_ledger(client: Client, client_id: str) -> list[MoneyMovement]:
    """Every charge and refund of the client's sessions (and their refunds workflows), read from
    Temporal's histories — works the same before and after the client's erasure."""
    found = await _find(client, client_id)
    moved: list[MoneyMovement] = []
    for session_id in found.session_ids:
        for workflow_id in (session_workflow_id(session_id), session_refunds_workflow_id(session_id)):
            try:
                history = await client.get_workflow_handle(workflow_id).fetch_history()
            except RPCError as error:
                if error.status is not RPCStatusCode.NOT_FOUND:
                    raise
                continue
            moved.extend(await history_money(history, client, session_id))
    # A refund's currency is its charge's (a RefundRequest names the PaymentIntent, not the currency).
    currencies = {m.payment_intent_id: m.currency for m in moved if m.kind == "charge"}
    moved = [
        m if m.currency is not None else dataclasses.replace(m, currency=currencies.get(m.payment_intent_id))
        for m in moved
    ]
    return sorted(moved, key=lambda movement: movement.at)


async def erasure_of_session(client: Client, settings: Settings, session_id: str) -> str | None:
    """The id of the erasure that destroyed the session's key, for ops (a money event of an erased
    session is settled by hand): found through the session's ``ClientId`` attribute (visibility
    keeps it) and the erasure records. None when it cannot be found (no local KMS, the session
    unknown, its key destroyed by hand)."""
    codec = client.data_converter.payload_codec
    if not isinstance(codec, EncryptionCodec) or not isinstance(codec.kms, LocalFileKms):
        return None
    try:
        described = await describe_session(client, session_id)
    except RPCError:
        return None
    if described.client_id is None:
        return None
    record = await asyncio.to_thread(find_erasure, settings, codec.kms, described.client_id)
    return record.erasure_id if record is not None else None
