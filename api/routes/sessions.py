"""Sessions: book, read, cancel, reschedule, file the attendance update, replace the card."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from fastapi import APIRouter, Response, status
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from temporalio.exceptions import WorkflowAlreadyStartedError

from api.auth import Authenticated
from api.deps import AppSettings, IdempotencyKey, SessionId, TemporalClient
from api.errors import ErrorBody
from api.models import (
    AttendanceBody,
    BookingResponse,
    BookSessionBody,
    CancelBody,
    PaymentMethodBody,
    RescheduleBody,
)
from domain.attendance import AttendanceResult, AttendanceUpdate
from domain.booking import SessionBooking
from domain.commands import (
    CancelRequest,
    CancelResult,
    PaymentMethodUpdate,
    PaymentMethodUpdateResult,
    RescheduleRequest,
    RescheduleResult,
)
from domain.ids import session_workflow_id
from domain.state import SessionState
from workflows.session import SessionWorkflow
from workflows.session_client import book_session, initial_status, session_handle

# An update answers in milliseconds; past this the caller gets a 503 and retries with the same key.
UPDATE_RPC_TIMEOUT = timedelta(seconds=30)

ERRORS: dict[int | str, dict[str, object]] = {
    401: {"model": ErrorBody, "description": "missing or wrong bearer token"},
    404: {"model": ErrorBody, "description": "no such session"},
    409: {"model": ErrorBody, "description": "a rule refused the request (see `code`)"},
    422: {"model": ErrorBody, "description": "malformed request (see `fields`)"},
    503: {"model": ErrorBody, "description": "Temporal unreachable; retry after `Retry-After`"},
}

router = APIRouter(prefix="/v1/sessions", tags=["sessions"], dependencies=[Authenticated], responses=ERRORS)


def _now() -> datetime:
    return datetime.now(UTC)


Command = TypeVar("Command", bound=BaseModel)


def _command(model: type[Command], **fields: Any) -> Command:
    """The domain command from a validated body; a rule across its fields (a discretionary refund
    only from a therapist or admin, …) refusing it is the caller's 422, not our 500."""
    try:
        return model(**fields)
    except ValidationError as exc:
        errors = [{**error, "loc": ("body", *error["loc"])} for error in exc.errors(include_url=False)]
        raise RequestValidationError(errors) from None


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses={200: {"model": BookingResponse, "description": "this exact booking already existed"}},
)
async def book(
    body: BookSessionBody, client: TemporalClient, settings: AppSettings, response: Response
) -> BookingResponse:
    """Book a session. The same booking sent again returns the existing session (200)."""
    booking = SessionBooking.model_validate(body.model_dump())
    try:
        await book_session(client, booking, task_queue=settings.task_queue, now=_now())
        created = True
    except WorkflowAlreadyStartedError:
        existing = await session_handle(client, booking.session_id).query(SessionWorkflow.booking)
        if existing != booking:
            raise
        created = False
        response.status_code = status.HTTP_200_OK
    return BookingResponse(
        session_id=booking.session_id,
        workflow_id=session_workflow_id(booking.session_id),
        status=initial_status(booking),
        created=created,
    )


@router.get("/{session_id}")
async def read(session_id: SessionId, client: TemporalClient) -> SessionState:
    """The session as it stands: status, times, payment, cancellation, attendance, follow-up."""
    return await session_handle(client, session_id).query(SessionWorkflow.state)


@router.post("/{session_id}/cancel")
async def cancel(
    session_id: SessionId, body: CancelBody, key: IdempotencyKey, client: TemporalClient
) -> CancelResult:
    request = _command(CancelRequest, **body.model_dump(), received_at=_now())
    return await session_handle(client, session_id).execute_update(
        SessionWorkflow.cancel, request, id=key, rpc_timeout=UPDATE_RPC_TIMEOUT
    )


@router.post("/{session_id}/reschedule")
async def reschedule(
    session_id: SessionId, body: RescheduleBody, key: IdempotencyKey, client: TemporalClient
) -> RescheduleResult:
    request = _command(RescheduleRequest, **body.model_dump(), received_at=_now())
    return await session_handle(client, session_id).execute_update(
        SessionWorkflow.reschedule, request, id=key, rpc_timeout=UPDATE_RPC_TIMEOUT
    )


@router.post("/{session_id}/attendance")
async def file_attendance(
    session_id: SessionId, body: AttendanceBody, key: IdempotencyKey, client: TemporalClient
) -> AttendanceResult:
    update = _command(AttendanceUpdate, **body.model_dump(), received_at=_now())
    return await session_handle(client, session_id).execute_update(
        SessionWorkflow.file_attendance, update, id=key, rpc_timeout=UPDATE_RPC_TIMEOUT
    )


@router.post("/{session_id}/payment-method")
async def update_payment_method(
    session_id: SessionId, body: PaymentMethodBody, key: IdempotencyKey, client: TemporalClient
) -> PaymentMethodUpdateResult:
    update = _command(PaymentMethodUpdate, payment_method_id=body.payment_method_id)
    return await session_handle(client, session_id).execute_update(
        SessionWorkflow.update_payment_method, update, id=key, rpc_timeout=UPDATE_RPC_TIMEOUT
    )
