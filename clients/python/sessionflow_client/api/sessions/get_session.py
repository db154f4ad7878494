from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_body import ErrorBody
from ...models.session_state import SessionState
from ...types import Response


def _get_kwargs(
    session_id: str,
    *,
    acting_party: str,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    headers["Acting-Party"] = acting_party

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/sessions/{session_id}".format(
            session_id=quote(str(session_id), safe=""),
        ),
    }

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorBody | SessionState | None:
    if response.status_code == 200:
        response_200 = SessionState.from_dict(response.json())

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
) -> Response[ErrorBody | SessionState]:
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
    acting_party: str,
) -> Response[ErrorBody | SessionState]:
    """Read

     The session's detail view, as it stands: status, times, payment (with refunds granted after
    it closed), cancellation, attendance, follow-up. For its client, its therapist and admins;
    anyone else: `404`, as for an unknown session. Each reads their own view:
    `payment.client_secret` (it pays the client's PaymentIntent) is never shown to the therapist,
    and why a therapist ended the relationship (`attendance.update.end_reason`) never to the
    client. A `scheduled` or `paid` session past its end reads `awaiting_update`.
    It queries the session's workflow (a billed call): a UI polling where a session stands reads
    `GET /v1/sessions/{id}/status` instead. A session whose client was erased: `404 erased`
    (for its parties; anyone else still gets the `404`).

    Args:
        session_id (str): opaque session id
        acting_party (str): who is acting: `client:<id>`, `therapist:<id>` or `admin:<id>` (opaque
            ids, as in the bookings). Required on every `/v1/sessions` and `/v1/therapists` route and
            recorded with each command in the session's history (an admin's action is marked as such).
            Someone who is not the session's client or therapist (nor an admin) gets the same `404
            not_found` as for a session that does not exist; a therapist's practice answers only the
            therapist and admins. Missing or malformed: `422`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | SessionState]
    """

    kwargs = _get_kwargs(
        session_id=session_id,
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
    acting_party: str,
) -> ErrorBody | SessionState | None:
    """Read

     The session's detail view, as it stands: status, times, payment (with refunds granted after
    it closed), cancellation, attendance, follow-up. For its client, its therapist and admins;
    anyone else: `404`, as for an unknown session. Each reads their own view:
    `payment.client_secret` (it pays the client's PaymentIntent) is never shown to the therapist,
    and why a therapist ended the relationship (`attendance.update.end_reason`) never to the
    client. A `scheduled` or `paid` session past its end reads `awaiting_update`.
    It queries the session's workflow (a billed call): a UI polling where a session stands reads
    `GET /v1/sessions/{id}/status` instead. A session whose client was erased: `404 erased`
    (for its parties; anyone else still gets the `404`).

    Args:
        session_id (str): opaque session id
        acting_party (str): who is acting: `client:<id>`, `therapist:<id>` or `admin:<id>` (opaque
            ids, as in the bookings). Required on every `/v1/sessions` and `/v1/therapists` route and
            recorded with each command in the session's history (an admin's action is marked as such).
            Someone who is not the session's client or therapist (nor an admin) gets the same `404
            not_found` as for a session that does not exist; a therapist's practice answers only the
            therapist and admins. Missing or malformed: `422`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | SessionState
    """

    return sync_detailed(
        session_id=session_id,
        client=client,
        acting_party=acting_party,
    ).parsed


async def asyncio_detailed(
    session_id: str,
    *,
    client: AuthenticatedClient,
    acting_party: str,
) -> Response[ErrorBody | SessionState]:
    """Read

     The session's detail view, as it stands: status, times, payment (with refunds granted after
    it closed), cancellation, attendance, follow-up. For its client, its therapist and admins;
    anyone else: `404`, as for an unknown session. Each reads their own view:
    `payment.client_secret` (it pays the client's PaymentIntent) is never shown to the therapist,
    and why a therapist ended the relationship (`attendance.update.end_reason`) never to the
    client. A `scheduled` or `paid` session past its end reads `awaiting_update`.
    It queries the session's workflow (a billed call): a UI polling where a session stands reads
    `GET /v1/sessions/{id}/status` instead. A session whose client was erased: `404 erased`
    (for its parties; anyone else still gets the `404`).

    Args:
        session_id (str): opaque session id
        acting_party (str): who is acting: `client:<id>`, `therapist:<id>` or `admin:<id>` (opaque
            ids, as in the bookings). Required on every `/v1/sessions` and `/v1/therapists` route and
            recorded with each command in the session's history (an admin's action is marked as such).
            Someone who is not the session's client or therapist (nor an admin) gets the same `404
            not_found` as for a session that does not exist; a therapist's practice answers only the
            therapist and admins. Missing or malformed: `422`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | SessionState]
    """

    kwargs = _get_kwargs(
        session_id=session_id,
        acting_party=acting_party,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    session_id: str,
    *,
    client: AuthenticatedClient,
    acting_party: str,
) -> ErrorBody | SessionState | None:
    """Read

     The session's detail view, as it stands: status, times, payment (with refunds granted after
    it closed), cancellation, attendance, follow-up. For its client, its therapist and admins;
    anyone else: `404`, as for an unknown session. Each reads their own view:
    `payment.client_secret` (it pays the client's PaymentIntent) is never shown to the therapist,
    and why a therapist ended the relationship (`attendance.update.end_reason`) never to the
    client. A `scheduled` or `paid` session past its end reads `awaiting_update`.
    It queries the session's workflow (a billed call): a UI polling where a session stands reads
    `GET /v1/sessions/{id}/status` instead. A session whose client was erased: `404 erased`
    (for its parties; anyone else still gets the `404`).

    Args:
        session_id (str): opaque session id
        acting_party (str): who is acting: `client:<id>`, `therapist:<id>` or `admin:<id>` (opaque
            ids, as in the bookings). Required on every `/v1/sessions` and `/v1/therapists` route and
            recorded with each command in the session's history (an admin's action is marked as such).
            Someone who is not the session's client or therapist (nor an admin) gets the same `404
            not_found` as for a session that does not exist; a therapist's practice answers only the
            therapist and admins. Missing or malformed: `422`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | SessionState
    """

    return (
        await asyncio_detailed(
            session_id=session_id,
            client=client,
            acting_party=acting_party,
        )
    ).parsed
