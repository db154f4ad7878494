"""Temporal and rule errors mapped to HTTP, in one place.

Not found → 404; a rule refusing the request → 409 with its code; malformed input → 422 with the
fields; Temporal unreachable, or the session's workflow task failing for the moment → 503 with
Retry-After. Only our own faults are 5xx, and no body ever carries a stack trace.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from temporalio.client import WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from domain.acting import NOT_FOUND_CODE, NOT_FOUND_MESSAGE
from domain.errors import RuleViolation
from temporal_client.codec import PayloadErasedError
from temporal_client.rpc_errors import closed_while_updating, workflow_task_failing

log = logging.getLogger("sessionflow.api")

RETRY_AFTER_SECONDS = "5"


class ErrorBody(BaseModel):
    code: str
    message: str
    fields: list[dict[str, object]] | None = None


def error_response(status_code: int, code: str, message: str, **headers: str) -> JSONResponse:
    return JSONResponse(
        status_code=status_code,
        content=ErrorBody(code=code, message=message).model_dump(exclude_none=True),
        headers=headers or None,
    )


def not_found() -> JSONResponse:
    """The one 404 of the session and therapist routes: for a session that does not exist and for
    one the acting party is no party of alike — the same body, no ids — so the API never confirms
    that someone else's therapy session exists."""
    return error_response(status.HTTP_404_NOT_FOUND, NOT_FOUND_CODE, NOT_FOUND_MESSAGE)


def _rule(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RuleViolation)
    if exc.code == NOT_FOUND_CODE:
        return not_found()
    return error_response(status.HTTP_409_CONFLICT, exc.code, exc.message)


def _update_failed(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, WorkflowUpdateFailedError)
    cause = exc.cause
    if isinstance(cause, ApplicationError) and cause.type == NOT_FOUND_CODE:
        return not_found()  # the acting party is no party of this session (the update's validator)
    if isinstance(cause, ApplicationError) and cause.type:
        # `practice_unavailable` too is a 409, not a 503: the update failed after acceptance, so
        # the same Idempotency-Key (the update id) would get the same failure back; it is filed
        # again with a new key.
        return error_response(status.HTTP_409_CONFLICT, cause.type, cause.message)
    log.error("update failed without a rule code")
    return error_response(
        status.HTTP_500_INTERNAL_SERVER_ERROR, "internal_error", "the request could not be completed"
    )


def _already_started(_: Request, exc: Exception) -> JSONResponse:
    return error_response(
        status.HTTP_409_CONFLICT, "session_exists", "a different session already has this id"
    )


def _rpc(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RPCError)
    if exc.status == RPCStatusCode.NOT_FOUND:
        if closed_while_updating(exc):
            # Closed before the command, or as it arrived (the server aborts it): nothing applied.
            return error_response(
                status.HTTP_409_CONFLICT, "session_closed", "the session is closed; nothing can change"
            )
        return not_found()
    # A stalled cluster shows as CANCELLED (the deadline ran out in flight), an overloaded one as
    # RESOURCE_EXHAUSTED: both are "try again shortly", never the caller's fault.
    if exc.status in (
        RPCStatusCode.UNAVAILABLE,
        RPCStatusCode.DEADLINE_EXCEEDED,
        RPCStatusCode.CANCELLED,
        RPCStatusCode.RESOURCE_EXHAUSTED,
    ):
        return _unavailable()
    if workflow_task_failing(exc):
        # The session's workflow task is failing or timing out (a worker died mid-task): the
        # server refuses updates and queries until a worker completes it. Nothing was recorded;
        # the same Idempotency-Key is safe to send again. Logged: if it lasts, the session is
        # wedged and ops must look (deploy/README.md).
        log.warning("session workflow task failing; answered 503")
        return error_response(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            "session_busy",
            "the session cannot take requests for a moment; retry shortly with the same Idempotency-Key",
            **{"Retry-After": RETRY_AFTER_SECONDS},
        )
    log.error("temporal rpc error", extra={"status": exc.status.name})
    return error_response(
        status.HTTP_500_INTERNAL_SERVER_ERROR, "internal_error", "the request could not be completed"
    )


def _unavailable(*_: object) -> JSONResponse:
    return error_response(
        status.HTTP_503_SERVICE_UNAVAILABLE,
        "temporal_unavailable",
        "the session store is unreachable; retry shortly",
        **{"Retry-After": RETRY_AFTER_SECONDS},
    )


_HTTP_CODES = {400: "bad_request", 401: "unauthorized", 404: "not_found", 405: "method_not_allowed"}


_METHODS = ("DELETE", "GET", "HEAD", "PATCH", "POST", "PUT")


def _allowed_methods(request: Request) -> str:
    """Every method some route serves at the request's path (each asked the way routing asks)."""

    def served(method: str) -> bool:
        scope = {**request.scope, "method": method}
        return any(route.matches(scope)[0] is Match.FULL for route in request.app.router.routes)

    return ", ".join(method for method in _METHODS if served(method))


def _http(request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's and Starlette's own errors (the bearer check, an unparseable body, an unknown
    path) in the same ``ErrorBody`` shape as ours instead of ``{"detail": …}``."""
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == status.HTTP_400_BAD_REQUEST and isinstance(exc.__cause__, UnicodeDecodeError):
        # FastAPI's "There was an error parsing the body": malformed input like any other.
        body = ErrorBody(
            code="validation_error",
            message="the request is malformed",
            fields=[{"location": ["body"], "message": "the body is not UTF-8 JSON"}],
        )
        return JSONResponse(status_code=status.HTTP_422_UNPROCESSABLE_CONTENT, content=body.model_dump())
    if exc.status_code == status.HTTP_405_METHOD_NOT_ALLOWED:
        # Starlette's Allow names the methods of the first route matching the path only; a path
        # served by two routes (GET and PUT …/payment-account) must list both.
        exc.headers = {**(exc.headers or {}), "Allow": _allowed_methods(request)}
    detail = exc.detail
    if isinstance(detail, dict) and isinstance(detail.get("code"), str):
        code, message = detail["code"], str(detail.get("message", ""))
    else:
        code, message = _HTTP_CODES.get(exc.status_code, "http_error"), str(detail)
    return error_response(exc.status_code, code, message, **(exc.headers or {}))


def _validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    fields = [
        {"location": [str(part) for part in error.get("loc", ())], "message": str(error.get("msg", ""))}
        for error in exc.errors()
    ]
    body = ErrorBody(code="validation_error", message="the request is malformed", fields=fields)
    return JSONResponse(status_code=status.HTTP_422_UNPROCESSABLE_CONTENT, content=body.model_dump())


class SessionErased(Exception):
    """The session's client was erased: its data key is destroyed, so its state cannot be read
    (only its kept financial facts, in its history)."""


def _erased(_: Request, exc: Exception) -> JSONResponse:
    # A 404 with its own code, not a 410: HTTP allows either for what is gone for good, and a
    # client (or a fuzzer that erased the client itself) reads a 404 as a refusal by state, where
    # a 410 reads as a well-formed request rejected.
    return error_response(
        status.HTTP_404_NOT_FOUND,
        "erased",
        "the session's client was erased; its history keeps only the financial facts",
    )


def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    # Our own fault: logged with its type for ops, answered without any detail or stack trace.
    log.error("unhandled error in the API", extra={"error": type(exc).__name__})
    return error_response(
        status.HTTP_500_INTERNAL_SERVER_ERROR, "internal_error", "the request could not be completed"
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(RuleViolation, _rule)
    app.add_exception_handler(SessionErased, _erased)
    # Any payload of an erased client met while answering: gone on purpose, not our fault.
    app.add_exception_handler(PayloadErasedError, _erased)
    app.add_exception_handler(WorkflowUpdateFailedError, _update_failed)
    app.add_exception_handler(WorkflowAlreadyStartedError, _already_started)
    app.add_exception_handler(RPCError, _rpc)
    app.add_exception_handler(WorkflowUpdateRPCTimeoutOrCancelledError, _unavailable)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(Exception, _unexpected)
    app.add_exception_handler(StarletteHTTPException, _http)
