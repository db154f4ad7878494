"""Stripe-shaped API errors raised by the stand-in's handlers."""

from __future__ import annotations

from typing import Any

__all__ = ["ApiError", "account_invalid", "invalid_request", "parameter_missing", "resource_missing"]

DOC_BASE = "https://docs.stripe.com/error-codes"


class ApiError(Exception):
    """An error response: HTTP status, Stripe ``error`` object, and whether it is replayable.

    ``storable`` follows Stripe's rule that results are saved under the idempotency key only
    once execution of the endpoint has begun: validation failures are not saved (a retry with
    the same key runs again), card declines and execution-time 5xx are saved and replayed.
    """

    def __init__(self, status: int, error: dict[str, Any], *, storable: bool = False) -> None:
        super().__init__(error.get("message", ""))
        self.status = status
        self.error = error
        self.storable = storable

    def body(self) -> dict[str, Any]:
        return {"error": self.error}


def invalid_request(
    message: str,
    *,
    code: str | None = None,
    param: str | None = None,
    status: int = 400,
) -> ApiError:
    error: dict[str, Any] = {"type": "invalid_request_error", "message": message}
    if code is not None:
        error["code"] = code
        error["doc_url"] = f"{DOC_BASE}#{code.replace('_', '-')}"
    if param is not None:
        error["param"] = param
    return ApiError(status, error)


def parameter_missing(param: str) -> ApiError:
    return invalid_request(f"Missing required param: {param}.", code="parameter_missing", param=param)


def resource_missing(kind: str, object_id: str, *, param: str = "id", status: int = 404) -> ApiError:
    return invalid_request(
        f"No such {kind}: '{object_id}'", code="resource_missing", param=param, status=status
    )


def account_invalid(account_id: str, api_key: str = "sk_test_standin") -> ApiError:
    """Stripe's answer to a ``Stripe-Account`` header (or ``GET /v1/accounts/{id}``) naming an
    account the key may not act for or that does not exist: HTTP 403, which stripe-python raises
    as ``stripe.PermissionError``. Wording as Stripe returns it (quoted in
    github.com/stripe-ruby-mock/stripe-ruby-mock/issues/422); code from docs.stripe.com/error-codes.
    """
    shown = api_key[:8] + "*" * max(len(api_key) - 12, 4) + api_key[-4:]
    error = invalid_request(
        f"The provided key '{shown}' does not have access to account '{account_id}' (or that "
        "account does not exist). Application access may have been revoked.",
        code="account_invalid",
        status=403,
    )
    return error
