from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.cancel_body import CancelBody
from ...models.cancel_preview import CancelPreview
from ...models.error_body import ErrorBody
from ...types import Response


def _get_kwargs(
    session_id: str,
    *,
    body: CancelBody,
    acting_party: str,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    headers["Acting-Party"] = acting_party

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/sessions/{session_id}/cancel/preview".format(
            session_id=quote(str(session_id), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> CancelPreview | ErrorBody | None:
    if response.status_code == 200:
        response_200 = CancelPreview.from_dict(response.json())

        return response_200

    if response.status_code == 401:
        response_401 = ErrorBody.from_dict(response.json())

        return response_401

    if response.status_code == 404:
        response_404 = ErrorBody.from_dict(response.json())

        return response_404

    if response.status_code == 409:
        response_409 = ErrorBody.from_dict(response.json())

        return response_409

    if response.status_code == 422:
        response_422 = ErrorBody.from_dict(response.json())

        return response_422

    if response.status_code == 503:
        response_503 = ErrorBody.from_dict(response.json())

        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[CancelPreview | ErrorBody]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    session_id: str,
    *,
    client: AuthenticatedClient,
    body: CancelBody,
    acting_party: str,
) -> Response[CancelPreview | ErrorBody]:
    """Preview Cancel

     What this cancellation would do if sent now, for this party — without cancelling: free or
    late (`outcome.status`, `outcome.free`), what is refunded (`outcome.refund_minor`) or charged
    (`charge_minor`), until which instant it is free (`free_before`, exclusive). Decided by the
    very rule the cancellation applies, on the session as it stands at `received_at`: a
    cancellation received at that instant answers exactly `outcome`. Refused as the cancellation
    would be (`409 session_started`, …); adds nothing to the session's history.

    Args:
        session_id (str): opaque session id
        acting_party (str): who is acting: `client:<id>`, `therapist:<id>` or `admin:<id>` (opaque
            ids, as in the bookings). Required on every `/v1/sessions` and `/v1/therapists` route and
            recorded with each command in the session's history (an admin's action is marked as such).
            Someone who is not the session's client or therapist (nor an admin) gets the same `404
            not_found` as for a session that does not exist; a therapist's practice answers only the
            therapist and admins. Missing or malformed: `422`.
        body (CancelBody):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CancelPreview | ErrorBody]
    """

    kwargs = _get_kwargs(
        session_id=session_id,
        body=body,
        acting_party=acting_party,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    session_id: str,
    *,
    client: AuthenticatedClient,
    body: CancelBody,
    acting_party: str,
) -> CancelPreview | ErrorBody | None:
    """Preview Cancel

     What this cancellation would do if sent now, for this party — without cancelling: free or
    late (`outcome.status`, `outcome.free`), what is refunded (`outcome.refund_minor`) or charged
    (`charge_minor`), until which instant it is free (`free_before`, exclusive). Decided by the
    very rule the cancellation applies, on the session as it stands at `received_at`: a
    cancellation received at that instant answers exactly `outcome`. Refused as the cancellation
    would be (`409 session_started`, …); adds nothing to the session's history.

    Args:
        session_id (str): opaque session id
        acting_party (str): who is acting: `client:<id>`, `therapist:<id>` or `admin:<id>` (opaque
            ids, as in the bookings). Required on every `/v1/sessions` and `/v1/therapists` route and
            recorded with each command in the session's history (an admin's action is marked as such).
            Someone who is not the session's client or therapist (nor an admin) gets the same `404
            not_found` as for a session that does not exist; a therapist's practice answers only the
            therapist and admins. Missing or malformed: `422`.
        body (CancelBody):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        CancelPreview | ErrorBody
    """

    return sync_detailed(
        session_id=session_id,
        client=client,
        body=body,
        acting_party=acting_party,
    ).parsed


async def asyncio_detailed(
    session_id: str,
    *,
    client: AuthenticatedClient,
    body: CancelBody,
    acting_party: str,
) -> Response[CancelPreview | ErrorBody]:
    """Preview Cancel

     What this cancellation would do if sent now, for this party — without cancelling: free or
    late (`outcome.status`, `outcome.free`), what is refunded (`outcome.refund_minor`) or charged
    (`charge_minor`), until which instant it is free (`free_before`, exclusive). Decided by the
    very rule the cancellation applies, on the session as it stands at `received_at`: a
    cancellation received at that instant answers exactly `outcome`. Refused as the cancellation
    would be (`409 session_started`, …); adds nothing to the session's history.

    Args:
        session_id (str): opaque session id
        acting_party (str): who is acting: `client:<id>`, `therapist:<id>` or `admin:<id>` (opaque
            ids, as in the bookings). Required on every `/v1/sessions` and `/v1/therapists` route and
            recorded with each command in the session's history (an admin's action is marked as such).
            Someone who is not the session's client or therapist (nor an admin) gets the same `404
            not_found` as for a session that does not exist; a therapist's practice answers only the
            therapist and admins. Missing or malformed: `422`.
        body (CancelBody):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CancelPreview | ErrorBody]
    """

    kwargs = _get_kwargs(
        session_id=session_id,
        body=body,
        acting_party=acting_party,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    session_id: str,
    *,
    client: AuthenticatedClient,
    body: CancelBody,
    acting_party: str,
) -> CancelPreview | ErrorBody | None:
    """Preview Cancel

     What this cancellation would do if sent now, for this party — without cancelling: free or
    late (`outcome.status`, `outcome.free`), what is refunded (`outcome.refund_minor`) or charged
    (`charge_minor`), until which instant it is free (`free_before`, exclusive). Decided by the
    very rule the cancellation applies, on the session as it stands at `received_at`: a
    cancellation received at that instant answers exactly `outcome`. Refused as the cancellation
    would be (`409 session_started`, …); adds nothing to the session's history.

    Args:
        session_id (str): opaque session id
        acting_party (str): who is acting: `client:<id>`, `therapist:<id>` or `admin:<id>` (opaque
            ids, as in the bookings). Required on every `/v1/sessions` and `/v1/therapists` route and
            recorded with each command in the session's history (an admin's action is marked as such).
            Someone who is not the session's client or therapist (nor an admin) gets the same `404
            not_found` as for a session that does not exist; a therapist's practice answers only the
            therapist and admins. Missing or malformed: `422`.
        body (CancelBody):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        CancelPreview | ErrorBody
    """

    return (
        await asyncio_detailed(
            session_id=session_id,
            client=client,
            body=body,
            acting_party=acting_party,
        )
    ).parsed
