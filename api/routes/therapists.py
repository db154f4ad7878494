"""A therapist's practice: the Awaiting Updates list, clients, reserved weekly slots, relationships.

Commands go to the therapist's ``PracticeWorkflow`` with the ``Idempotency-Key`` as the update id,
so a retried request returns the first outcome. Reserving a slot and ending a relationship start
the practice if it is not running yet (with the body's ``timezone``; a running practice keeps its
own); releasing and restarting never start one — a practice that does not exist holds no slot and
no ended relationship, so there is nothing to change. Reads of a practice that does not exist yet
are empty, not 404.

Every route answers only the therapist themselves (``Acting-Party: therapist:<therapist_id>``) and
admins; anyone else gets the same ``404`` as an unknown session.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from temporalio.service import RPCError, RPCStatusCode

from api.account_events import app_stripe_client, read_account
from api.auth import Authenticated
from api.cross_field import build
from api.deps import (
    ActingParty,
    AppSettings,
    ClientId,
    IdempotencyKey,
    ReadClock,
    TemporalClient,
    TherapistId,
)
from api.errors import RETRY_AFTER_SECONDS
from api.idempotency import request_id
from api.models import (
    EndRelationshipBody,
    OccurrencesRange,
    PaymentAccountBody,
    RelationshipEndedResponse,
    ReserveSlotBody,
)
from api.routes.sessions import ERRORS
from api.stripe_confirmation import StripeUnavailable
from contract.practice import (
    PRACTICE_CLIENTS,
    PRACTICE_END_RELATIONSHIP,
    PRACTICE_OCCURRENCES,
    PRACTICE_PAYMENT_ACCOUNT,
    PRACTICE_RECORD_ACCOUNT_STATUS,
    PRACTICE_RELEASE_SLOTS,
    PRACTICE_RESERVE_SLOT,
    PRACTICE_RESTART_RELATIONSHIP,
    PRACTICE_SET_PAYMENT_ACCOUNT,
)
from domain.acting import check_practice_party
from domain.errors import RuleViolation
from domain.practice import (
    CancelFutureSessionsCall,
    ClientsList,
    ClientsQuery,
    EndRelationship,
    OccurrencesQuery,
    PaymentAccountSet,
    PaymentAccountView,
    RelationshipRestarted,
    ReleaseSlots,
    ReserveSlot,
    RestartRelationship,
    SetPaymentAccount,
    SlotOccurrences,
    SlotReserved,
    SlotsReleased,
)
from temporal_client.messages import execute_update, query_workflow
from temporal_client.practice_client import practice_handle, practice_update
from temporal_client.session_client import awaiting_updates, cancel_future_sessions


def _own_practice(therapist_id: TherapistId, party: ActingParty) -> None:
    """The therapist themselves or an admin; anyone else gets the sessions' one `404`."""
    check_practice_party(party, therapist_id)


router = APIRouter(
    prefix="/v1/therapists/{therapist_id}",
    tags=["therapists"],
    dependencies=[Authenticated, Depends(_own_practice)],
    # A therapist who has no practice yet simply has empty lists: a 404 only ever means that the
    # acting party is neither this therapist nor an admin (the same body as an unknown session's).
    responses=ERRORS,
)


def _now() -> datetime:
    return datetime.now(UTC)


def _not_found(error: RPCError) -> bool:
    return error.status == RPCStatusCode.NOT_FOUND


@router.get("/awaiting-updates", operation_id="listAwaitingUpdates")
async def list_awaiting_updates(
    therapist_id: TherapistId, client: TemporalClient, now: ReadClock
) -> list[str]:
    """Ids of the therapist's sessions whose attendance update is due, oldest first: ended ones
    (past their end by the API's clock), and ones marked `client_no_show` from their start whose
    update is not yet carried out.

    Read from Temporal visibility (not billed): a change a session has just made appears a
    moment later.
    """
    return await awaiting_updates(client, therapist_id, now=now)


@router.put("/payment-account", operation_id="setPaymentAccount")
async def set_payment_account(
    therapist_id: TherapistId,
    body: PaymentAccountBody,
    request: Request,
    key: IdempotencyKey,
    client: TemporalClient,
    settings: AppSettings,
) -> PaymentAccountSet:
    """Set the therapist's connected Stripe account (`acct_…`): sessions booked from now on are
    charged on it (direct charges: the therapist is the merchant of record, the marketplace takes
    its commission as an application fee). Sessions booked before keep the account they were
    booked with. The account is read from Stripe first (`409 account_unavailable` when Stripe
    shows no such account connected to the platform; `503` when Stripe does not answer) and its
    charge status recorded: an account that cannot take charges pauses the practice at once (new
    bookings `409 therapist_paused`, scheduled charges held; `paused` in the answer). Stripe's
    `account.updated` then pauses and resumes it. The therapist themselves or an admin."""
    try:
        account = await read_account(app_stripe_client(request, settings), body.account_id)
    except StripeUnavailable:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            {"code": "stripe_unavailable", "message": "Stripe did not answer; send the request again"},
            headers={"Retry-After": RETRY_AFTER_SECONDS},
        ) from None
    if account is None:
        raise RuleViolation("account_unavailable", "Stripe shows no such connected account for this platform")
    scoped = request_id(key, "set_payment_account", therapist_id, body=body)
    result = await practice_update(
        client,
        therapist_id,
        body.timezone,
        PRACTICE_SET_PAYMENT_ACCOUNT,
        SetPaymentAccount(account_id=body.account_id),
        request_id=scoped,
        task_queue=settings.task_queue,
    )
    # What Stripe says now, so a pause that came before this request counts at once (Stripe
    # sends account.updated only on a change, and the practice is found by it only once visible).
    recorded = await practice_update(
        client,
        therapist_id,
        body.timezone,
        PRACTICE_RECORD_ACCOUNT_STATUS,
        account,
        request_id=f"{scoped}:status",
        task_queue=settings.task_queue,
    )
    return result.model_copy(update={"paused": recorded.paused})


@router.get("/payment-account", operation_id="getPaymentAccount")
async def read_payment_account(therapist_id: TherapistId, client: TemporalClient) -> PaymentAccountView:
    """The therapist's connected account (`account_id`, null when none is set) and whether the
    practice is paused because Stripe disabled its charges (`paused`, since when, and Stripe's
    `disabled_reason` code)."""
    try:
        return await query_workflow(practice_handle(client, therapist_id), PRACTICE_PAYMENT_ACCOUNT)
    except RPCError as error:
        if _not_found(error):
            return PaymentAccountView()
        raise


@router.get("/clients", operation_id="listClients")
async def list_clients(
    therapist_id: TherapistId, query: Annotated[ClientsQuery, Query()], client: TemporalClient
) -> ClientsList:
    """The therapist's clients; ended relationships only with `include_inactive=true`."""
    try:
        return await query_workflow(practice_handle(client, therapist_id), PRACTICE_CLIENTS, query)
    except RPCError as error:
        if _not_found(error):
            return ClientsList()
        raise


@router.post("/slots", operation_id="reserveSlot")
async def reserve_slot(
    therapist_id: TherapistId,
    body: ReserveSlotBody,
    key: IdempotencyKey,
    client: TemporalClient,
    settings: AppSettings,
) -> SlotReserved:
    """Reserve a weekly wall-clock slot for a client (replacing the client's slot at another time).

    Another client's overlapping slot refuses it: `409 slot_conflict`, naming that slot.
    """
    return await practice_update(
        client,
        therapist_id,
        body.timezone,
        PRACTICE_RESERVE_SLOT,
        ReserveSlot(client_id=body.client_id, rule=body.rule(), announce=True),
        request_id=request_id(key, "reserve_slot", therapist_id, body=body),
        task_queue=settings.task_queue,
    )


@router.post("/clients/{client_id}/slots/release", operation_id="releaseSlots")
async def release_slots(
    therapist_id: TherapistId, client_id: ClientId, key: IdempotencyKey, client: TemporalClient
) -> SlotsReleased:
    """Release the client's reserved slot; `released_slot_ids` is empty when there was none."""
    try:
        return await execute_update(
            practice_handle(client, therapist_id),
            PRACTICE_RELEASE_SLOTS,
            ReleaseSlots(client_id=client_id, announce=True),
            id=request_id(key, "release_slots", therapist_id, client_id),
        )
    except RPCError as error:
        if _not_found(error):
            return SlotsReleased(client_id=client_id)
        raise


@router.get("/slots/occurrences", operation_id="listSlotOccurrences")
async def slot_occurrences(
    therapist_id: TherapistId, window: Annotated[OccurrencesRange, Query()], client: TemporalClient
) -> SlotOccurrences:
    """Every reserved slot's occurrences on the local dates `[start_date, end_date]`, as UTC.
    `end_date` is not before `start_date` and at most 366 days from it, counting both
    (`409 invalid_combination` otherwise)."""
    query = build(OccurrencesQuery, **window.model_dump())
    try:
        return await query_workflow(practice_handle(client, therapist_id), PRACTICE_OCCURRENCES, query)
    except RPCError as error:
        if _not_found(error):
            return SlotOccurrences()
        raise


@router.post("/clients/{client_id}/end", operation_id="endRelationship")
async def end_relationship(
    therapist_id: TherapistId,
    client_id: ClientId,
    body: EndRelationshipBody,
    party: ActingParty,
    key: IdempotencyKey,
    client: TemporalClient,
    settings: AppSettings,
) -> RelationshipEndedResponse:
    """End the relationship: the client leaves the client list and their slot is released.

    With `cancel_future_sessions`, the client's sessions starting after now are cancelled as the
    therapist's cancellations (refunded or voided). History is never deleted.
    """
    scoped = request_id(key, "end_relationship", therapist_id, client_id, body=body)
    ended = await practice_update(
        client,
        therapist_id,
        body.timezone,
        PRACTICE_END_RELATIONSHIP,
        EndRelationship(client_id=client_id, reason=body.reason, announce=True),
        request_id=scoped,
        task_queue=settings.task_queue,
    )
    cancelled: list[str] = []
    if body.cancel_future_sessions:
        # Each session's cancel carries the update id "{request id}:{session_id}": a retry never
        # cancels twice (and no longer finds sessions it already cancelled).
        result = await cancel_future_sessions(
            client,
            CancelFutureSessionsCall(
                therapist_id=therapist_id,
                client_id=client_id,
                request_id=scoped,
                after=_now(),
                acting_party=party,
            ),
        )
        cancelled = result.session_ids
    return RelationshipEndedResponse(**ended.model_dump(), cancelled_session_ids=cancelled)


@router.post("/clients/{client_id}/restart", operation_id="restartRelationship")
async def restart_relationship(
    therapist_id: TherapistId, client_id: ClientId, key: IdempotencyKey, client: TemporalClient
) -> RelationshipRestarted:
    """Make an ended relationship active again (its slot is not restored: reserve one anew)."""
    try:
        return await execute_update(
            practice_handle(client, therapist_id),
            PRACTICE_RESTART_RELATIONSHIP,
            RestartRelationship(client_id=client_id),
            id=request_id(key, "restart_relationship", therapist_id, client_id),
        )
    except RPCError as error:
        if _not_found(error):
            return RelationshipRestarted(client_id=client_id, was_ended=False)
        raise
