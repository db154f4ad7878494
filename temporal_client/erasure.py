"""A client's erasure (GDPR art. 17) with the books kept, and the reconciliation that still works
after it. README "Privacy and erasure" is the operator's view; deploy/runbooks/erasure-request.md
the procedure.

``erase_client`` finds every workflow of the client through visibility (``ClientId``: their
sessions; each session's refunds workflow by its id), then:

1. **Refuses while money is in motion** (``ErasureRefused``, nothing changed): a running session
   whose status is anything but ``scheduled`` (nothing charged yet) may hold the client's money or
   be collecting it — ``payment_due``, ``awaiting_client_action``, ``payment_failed`` (a
   PaymentIntent open), ``paid`` (a future session paid for: cancel it first through the API as an
   admin, which refunds it under rule 4), ``payment_on_hold``, ``awaiting_update`` …; and a running
   refunds workflow of a closed session that still handles money, read through its contract query
   (``state``; ``domain.refunds.erasure_blocker``): ``dispute_open`` (the bank's dispute still
   needs its evidence and outcome: GDPR art. 17(3)(e) keeps the data for the legal claim),
   ``refund_owed`` (a refund granted, not all back yet: owed, in flight, refused for now),
   ``refunds_unanswered`` (its state could not be read). The refusal lists them (session id and a
   code: opaque) so ops settle each first, then erase again. ``force`` never overrides money: it
   only adds the sessions whose charge failed or is held (``payment_failed``,
   ``payment_on_hold``: nothing captured) to those cancelled in step 2. No session is ever
   terminated (README "Privacy and erasure").
   Sessions visibility did not list (not indexed yet; booked while the erasure runs) are found
   through the KMS: every key tagged with the client names its session (``SESSION_TAG``); each is
   described by id (and its refunds workflow) and treated exactly as a listed one, its status read
   from its own state.
2. **Closes what still runs.** A session is cancelled through its own rules, as an admin's
   cancellation (``admin:sessionflow_erasure``, reason ``client_request``; rule 4: never charged,
   a pending PaymentIntent voided, the therapist's time released, the parties told with opaque
   ids) and waited for until it closes; one that refuses (it moved on meanwhile: started, charged)
   stops the erasure before any key is destroyed and is listed (``refused_cancellation``). The
   refunds workflows of closed sessions, which hold no money by then (step 1), are terminated with
   the reason ``erasure <erasure id>`` (a machine code, no personal data): they only wait for
   discretionary grants, and after the erasure a goodwill refund is made by ops in Stripe from the
   kept facts (``client_ledger``).
3. **Destroys the client's data keys** and **records the client as erased in the KMS**, under one
   lock (``LocalFileKms.destroy_data_keys(…, erased_client=…)``): the key of every session found,
   and every key the KMS has tagged with the client by then. Tombstones stay, and from then on no
   key is created or tagged for the client (``ClientErasedError``): a booking racing the erasure
   cannot start, and the API refuses a booking for them (``409 client_erased``).
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
text). Before destroying keys the erasure ends the client's relationship in each running practice
of their therapists (``end_relationship``, reason ``client_request``): their reserved weekly slots
are released, the therapist's time free again (``relationships_ended``).
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
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
)
from temporalio.service import RPCError, RPCStatusCode

from contract.ids import (
    SESSION_REFUNDS_SUFFIX,
    practice_workflow_id,
    session_id_from_workflow_id,
    session_refunds_workflow_id,
    session_workflow_id,
)
from contract.practice import PRACTICE_END_RELATIONSHIP
from contract.refunds import SESSION_REFUNDS_STATE
from contract.search_attributes import SESSION_STATUS, THERAPIST_ID
from contract.session import SESSION_CANCEL, SESSION_PAYMENT_EVENT, SESSION_STATE
from contract.visibility import sessions_query
from domain.acting import ActingParty
from domain.commands import CancelRequest
from domain.payments import (
    ChargeOutcome,
    ChargeRequest,
    ChargeResult,
    PaymentEvent,
    RefundRequest,
    RefundResult,
)
from domain.practice import EndReason, EndRelationship
from domain.refunds import erasure_blocker
from domain.status import Actor, CancelReason, SessionStatus
from settings import Settings
from temporal_client.codec import EncryptionCodec, PayloadErasedError, session_data_key_id
from temporal_client.kms import CLIENT_TAG, SESSION_TAG, LocalFileKms, write_record
from temporal_client.messages import execute_update, query_workflow
from temporal_client.session_client import describe_session, session_handle

TERMINABLE_STATUSES = frozenset({SessionStatus.SCHEDULED})
"""A running session in these statuses holds none of the client's money and collects none: it is
cancelled through its rules (as an admin) by every erasure."""
FORCE_CANCELLABLE_STATUSES = frozenset({SessionStatus.PAYMENT_FAILED, SessionStatus.PAYMENT_ON_HOLD})
"""Sessions ``force`` lets the erasure cancel too (as an admin, rule 4): nothing captured (the
charge failed or is held, not attempted); an open PaymentIntent is voided by the cancellation.
Every other status may hold captured money or have a charge in flight (``paid``, ``payment_due``,
``awaiting_client_action``, ``awaiting_update`` …): refused even with ``force``."""
REFUNDS = "refunds"
"""The status ``_Found`` gives a running refunds workflow of a closed session."""
ERASURE_REASON_PREFIX = "erasure "
ERASURE_ACTOR_ID = "sessionflow_erasure"
"""The admin a cancellation made by an erasure is recorded from (``admin:sessionflow_erasure``)."""
CLOSE_TIMEOUT = timedelta(seconds=30)
"""How long a cancelled session may take to close (void, release its time, tell the parties)."""


class ErasureRefused(Exception):
    """Money is in motion on some of the client's workflows: settle them first."""

    def __init__(self, blocking: Sequence[tuple[str, str]]) -> None:
        listed = ", ".join(f"{session_id} ({status})" for session_id, status in blocking)
        super().__init__(
            f"{len(blocking)} running workflow(s) of the client may hold, collect or owe money: {listed}. "
            "Cancel each session through the API as an admin (refunded or voided under rule 4) or let "
            "it close; a closed session's dispute_open or refund_owed waits for the dispute's outcome "
            "or the refund; then erase again. --force never overrides money: it only lets sessions "
            "whose charge failed or is held be cancelled (as an admin) too."
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
    """Of those, sessions cancelled only because of ``force`` (their charge had failed or was held:
    nothing captured). No session is ever terminated."""
    data_keys_destroyed: int
    already_erased: bool = False
    relationships_ended: int = 0
    """Practices where the client's relationship was ended (their reserved weekly slots released);
    0 in records written before it was done."""


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
    """(workflow id, session status) of every running workflow of the client; a refunds
    workflow's status is ``refunds``."""
    therapist_ids: list[str] = field(default_factory=list)
    """The therapists of the client's sessions (their practices hold the client's slots)."""


async def _find(client: Client, client_id: str) -> _Found:
    found = _Found()
    async for execution in client.list_workflows(sessions_query(client_id=client_id)):
        session_id = session_id_from_workflow_id(execution.id)
        if session_id not in found.session_ids:
            found.session_ids.append(session_id)
        therapist_id = execution.typed_search_attributes.get(THERAPIST_ID)
        if therapist_id is not None and therapist_id not in found.therapist_ids:
            found.therapist_ids.append(therapist_id)
        if execution.status == WorkflowExecutionStatus.RUNNING:
            status = execution.typed_search_attributes.get(SESSION_STATUS) or "unknown"
            found.running.append((execution.id, status))
    for session_id in found.session_ids:
        await _find_refunds(client, found, session_id)
    return found


async def _find_refunds(client: Client, found: _Found, session_id: str) -> None:
    refunds_id = session_refunds_workflow_id(session_id)
    try:
        described = await client.get_workflow_handle(refunds_id).describe()
    except RPCError as error:
        if error.status is not RPCStatusCode.NOT_FOUND:
            raise
        return
    if described.status == WorkflowExecutionStatus.RUNNING:
        found.running.append((refunds_id, REFUNDS))


async def _find_unlisted(client: Client, kms: LocalFileKms, client_id: str, found: _Found) -> None:
    """Sessions whose data key is tagged with the client but which visibility did not list (not
    indexed yet, booked while the erasure runs): described by id, and added to ``found`` exactly
    as if listed — a running one with its status from its own state (its search attributes may
    not be published yet) — so none is left running with its key destroyed (wedged)."""
    listed = set(found.session_ids)
    # The key store's file work (and its lock) off the event loop: the API serves on it.
    for key_id in await asyncio.to_thread(kms.list_data_keys, CLIENT_TAG, client_id):
        session_id = (await asyncio.to_thread(kms.data_key_tags, key_id)).get(SESSION_TAG)
        if session_id is None or session_id in listed:
            continue  # a key from before keys named their session: destroyed below all the same
        listed.add(session_id)
        handle = session_handle(client, session_id)
        try:
            described = await handle.describe()
        except RPCError as error:
            if error.status is not RPCStatusCode.NOT_FOUND:
                raise
            continue  # its workflow never started (a booking the KMS refused): only the key
        found.session_ids.append(session_id)
        if described.status == WorkflowExecutionStatus.RUNNING:
            try:
                status = (await query_workflow(handle, SESSION_STATE)).status.value
            except (RPCError, WorkflowQueryFailedError):
                status = described.typed_search_attributes.get(SESSION_STATUS) or "unknown"
            found.running.append((handle.id, status))
        await _find_refunds(client, found, session_id)


async def _refunds_blocker(client: Client, workflow_id: str) -> str | None:
    """What a running refunds workflow still does with money (``domain.refunds.erasure_blocker``),
    read through its contract query; ``refunds_unanswered`` when it does not answer (it cannot be
    shown to hold no money)."""
    try:
        state = await query_workflow(client.get_workflow_handle(workflow_id), SESSION_REFUNDS_STATE)
    except RPCError as error:
        if error.status is RPCStatusCode.NOT_FOUND:
            return None  # closed meanwhile
        return "refunds_unanswered"
    except WorkflowQueryFailedError:
        return "refunds_unanswered"
    return erasure_blocker(state)


async def erase_client(
    client: Client, settings: Settings, kms: LocalFileKms, client_id: str, *, force: bool = False
) -> ErasureRecord:
    """Erase one client (see the module docstring). Raises ``ErasureRefused`` before changing
    anything while money may be in motion on a running workflow of the client; ``force`` lets it
    cancel (as an admin, rule 4) the sessions whose charge failed or is held, never more."""
    found = await _find(client, client_id)
    await _find_unlisted(client, kms, client_id, found)
    blocking: list[tuple[str, str]] = []
    forced = 0
    for workflow_id, status in found.running:
        session_id = session_id_from_workflow_id(workflow_id.removesuffix(SESSION_REFUNDS_SUFFIX))
        if status == REFUNDS:
            blocker = await _refunds_blocker(client, workflow_id)
            if blocker is not None:
                blocking.append((session_id, blocker))  # money: no override
        elif status in TERMINABLE_STATUSES:
            continue
        elif force and status in FORCE_CANCELLABLE_STATUSES:
            forced += 1
        else:
            blocking.append((session_id, status))
    if blocking:
        raise ErasureRefused(blocking)
    erasure_id = f"era_{secrets.token_hex(12)}"
    closed = 0
    moved_on: list[tuple[str, str]] = []
    for workflow_id, status in found.running:
        if status == REFUNDS:  # it handles no money (checked above): nothing to settle
            try:
                await client.get_workflow_handle(workflow_id).terminate(
                    reason=f"{ERASURE_REASON_PREFIX}{erasure_id}"
                )
                closed += 1
            except RPCError as error:
                if error.status is not RPCStatusCode.NOT_FOUND:  # closed meanwhile: nothing to do
                    raise
            continue
        # A session is never terminated: cancelled through its own rules (rule 4: never charged,
        # a pending PaymentIntent voided, the therapist's time released), or the erasure stops.
        if await _cancelled(client, workflow_id, erasure_id):
            closed += 1
        else:  # it moved on since it was listed (charged, started): money again
            moved_on.append((session_id_from_workflow_id(workflow_id), "refused_cancellation"))
    if moved_on:
        raise ErasureRefused(moved_on)  # no key destroyed yet: erasing again picks up from here
    ended = await _end_relationships(client, found.therapist_ids, client_id, erasure_id)
    key_ids = {session_data_key_id(session_id) for session_id in found.session_ids}
    key_ids.update(await asyncio.to_thread(kms.list_data_keys, CLIENT_TAG, client_id))
    # Recorded as erased under the lock of the destruction: no key for them is made from here.
    destroyed = await asyncio.to_thread(kms.destroy_data_keys, sorted(key_ids), erased_client=client_id)
    previous = await asyncio.to_thread(find_erasure, settings, kms, client_id)
    if previous is not None and destroyed == 0 and closed == 0 and ended == 0:
        return ErasureRecord(**{**asdict(previous), "already_erased": True})
    record = ErasureRecord(
        erasure_id=erasure_id,
        erased_at=datetime.now(UTC).isoformat(),
        client_hash=client_hash(settings, client_id),
        sessions=len(found.session_ids),
        workflows_closed=closed,
        forced=forced,
        data_keys_destroyed=destroyed,
        relationships_ended=ended,
    )
    await asyncio.to_thread(write_record, _records_dir(kms) / f"{erasure_id}.json", asdict(record))
    return record


async def _end_relationships(
    client: Client, therapist_ids: list[str], client_id: str, erasure_id: str
) -> int:
    """End the client's relationship in each running practice of their therapists — as the
    practice's own update (``end_relationship``, reason ``client_request``: the erasure is the
    client's request; a code, no free text), which releases their reserved weekly slots so the
    therapist's time is free again. Before any key is destroyed, so a failure here stops the
    erasure and erasing again picks up (an ended relationship answers ``already_ended``). A
    practice not running is left alone (never started for this). How many were ended now."""
    ended = 0
    for therapist_id in sorted(therapist_ids):
        handle = client.get_workflow_handle(practice_workflow_id(therapist_id))
        try:
            if (await handle.describe()).status != WorkflowExecutionStatus.RUNNING:
                continue
        except RPCError as error:
            if error.status is not RPCStatusCode.NOT_FOUND:
                raise
            continue
        command = EndRelationship(client_id=client_id, reason=EndReason.CLIENT_REQUEST)
        answer = await execute_update(handle, PRACTICE_END_RELATIONSHIP, command, id=f"{erasure_id}:end")
        ended += not answer.already_ended
    return ended


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
    financial facts alone (``ChargeRequest``/``ChargeResult``, ``RefundRequest``/``RefundResult``,
    and the ``payment_event`` signals: a payment the client made present — 3-D Secure in the
    browser — is known to the workflow only from Stripe's ``payment_intent.succeeded``)."""
    converter = client.data_converter
    scheduled: dict[int, ChargeRequest | RefundRequest] = {}
    moved: list[MoneyMovement] = []
    paid_present: dict[str, MoneyMovement] = {}
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
            signalled = event.workflow_execution_signaled_event_attributes
            if signalled.signal_name != SESSION_PAYMENT_EVENT.name:
                continue
            [fact] = await converter.decode(list(signalled.input.payloads), [PaymentEvent])
            if fact.type == "payment_intent.succeeded" and fact.amount_received_minor is not None:
                paid_present.setdefault(
                    fact.payment_intent_id,
                    MoneyMovement(
                        session_id,
                        "charge",
                        fact.amount_received_minor,
                        fact.currency,
                        fact.payment_intent_id,
                        None,
                        event.event_time.ToDatetime(tzinfo=UTC),
                    ),
                )
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
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
    # An off-session charge's success is answered by its activity and announced by the webhook too.
    charged = {movement.payment_intent_id for movement in moved if movement.kind == "charge"}
    moved.extend(movement for intent, movement in paid_present.items() if intent not in charged)
    return sorted(moved, key=lambda movement: movement.at)


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
