from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.erasure_body import ErasureBody
from ...models.erasure_view import ErasureView
from ...models.error_body import ErrorBody
from ...types import Response


def _get_kwargs(
    client_id: str,
    *,
    body: ErasureBody,
    acting_party: str,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    headers["Acting-Party"] = acting_party

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/clients/{client_id}/erasure".format(
            client_id=quote(str(client_id), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErasureView | ErrorBody | None:
    if response.status_code == 200:
        response_200 = ErasureView.from_dict(response.json())

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
) -> Response[ErasureView | ErrorBody]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    client_id: str,
    *,
    client: AuthenticatedClient,
    body: ErasureBody,
    acting_party: str,
) -> Response[ErasureView | ErrorBody]:
    """Erase

     Erase a client (ops have the same command on the command line): close what still runs
    for them, destroy their data keys — no payload of theirs decodes again, anywhere — and
    record the erasure without personal data. Admins only (`Acting-Party: admin:…`, an ops token
    where configured). `409 erasure_refused`, changing nothing, while a running workflow of theirs
    may hold, collect or owe money (the message lists them: a session not `scheduled`; a closed
    session's `dispute_open` or `refund_owed`) — `force` only lets sessions whose charge failed or
    is held be cancelled too. Afterwards a booking for them is `409 client_erased`. Idempotent:
    again, it changes nothing and answers the first record with `already_erased`.

    Args:
        client_id (str): the client's opaque id
        acting_party (str): who is acting: `client:<id>`, `therapist:<id>` or `admin:<id>` (opaque
            ids, as in the bookings). Required on every `/v1/sessions` and `/v1/therapists` route and
            recorded with each command in the session's history (an admin's action is marked as such).
            Someone who is not the session's client or therapist (nor an admin) gets the same `404
            not_found` as for a session that does not exist; a therapist's practice answers only the
            therapist and admins. Missing or malformed: `422`.
        body (ErasureBody):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErasureView | ErrorBody]
    """

    kwargs = _get_kwargs(
        client_id=client_id,
        body=body,
        acting_party=acting_party,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    client_id: str,
    *,
    client: AuthenticatedClient,
    body: ErasureBody,
    acting_party: str,
) -> ErasureView | ErrorBody | None:
    """Erase

     Erase a client (ops have the same command on the command line): close what still runs
    for them, destroy their data keys — no payload of theirs decodes again, anywhere — and
    record the erasure without personal data. Admins only (`Acting-Party: admin:…`, an ops token
    where configured). `409 erasure_refused`, changing nothing, while a running workflow of theirs
    may hold, collect or owe money (the message lists them: a session not `scheduled`; a closed
    session's `dispute_open` or `refund_owed`) — `force` only lets sessions whose charge failed or
    is held be cancelled too. Afterwards a booking for them is `409 client_erased`. Idempotent:
    again, it changes nothing and answers the first record with `already_erased`.

    Args:
        client_id (str): the client's opaque id
        acting_party (str): who is acting: `client:<id>`, `therapist:<id>` or `admin:<id>` (opaque
            ids, as in the bookings). Required on every `/v1/sessions` and `/v1/therapists` route and
            recorded with each command in the session's history (an admin's action is marked as such).
            Someone who is not the session's client or therapist (nor an admin) gets the same `404
            not_found` as for a session that does not exist; a therapist's practice answers only the
            therapist and admins. Missing or malformed: `422`.
        body (ErasureBody):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErasureView | ErrorBody
    """

    return sync_detailed(
        client_id=client_id,
        client=client,
        body=body,
        acting_party=acting_party,
    ).parsed


async def asyncio_detailed(
    client_id: str,
    *,
    client: AuthenticatedClient,
    body: ErasureBody,
    acting_party: str,
) -> Response[ErasureView | ErrorBody]:
    """Erase

     Erase a client (ops have the same command on the command line): close what still runs
    for them, destroy their data keys — no payload of theirs decodes again, anywhere — and
    record the erasure without personal data. Admins only (`Acting-Party: admin:…`, an ops token
    where configured). `409 erasure_refused`, changing nothing, while a running workflow of theirs
    may hold, collect or owe money (the message lists them: a session not `scheduled`; a closed
    session's `dispute_open` or `refund_owed`) — `force` only lets sessions whose charge failed or
    is held be cancelled too. Afterwards a booking for them is `409 client_erased`. Idempotent:
    again, it changes nothing and answers the first record with `already_erased`.

    Args:
        client_id (str): the client's opaque id
        acting_party (str): who is acting: `client:<id>`, `therapist:<id>` or `admin:<id>` (opaque
            ids, as in the bookings). Required on every `/v1/sessions` and `/v1/therapists` route and
            recorded with each command in the session's history (an admin's action is marked as such).
            Someone who is not the session's client or therapist (nor an admin) gets the same `404
            not_found` as for a session that does not exist; a therapist's practice answers only the
            therapist and admins. Missing or malformed: `422`.
        body (ErasureBody):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErasureView | ErrorBody]
    """

    kwargs = _get_kwargs(
        client_id=client_id,
        body=body,
        acting_party=acting_party,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    client_id: str,
    *,
    client: AuthenticatedClient,
    body: ErasureBody,
    acting_party: str,
) -> ErasureView | ErrorBody | None:
    """Erase

     Erase a client (ops have the same command on the command line): close what still runs
    for them, destroy their data keys — no payload of theirs decodes again, anywhere — and
    record the erasure without personal data. Admins only (`Acting-Party: admin:…`, an ops token
    where configured). `409 erasure_refused`, changing nothing, while a running workflow of theirs
    may hold, collect or owe money (the message lists them: a session not `scheduled`; a closed
    session's `dispute_open` or `refund_owed`) — `force` only lets sessions whose charge failed or
    is held be cancelled too. Afterwards a booking for them is `409 client_erased`. Idempotent:
    again, it changes nothing and answers the first record with `already_erased`.

    Args:
        client_id (str): the client's opaque id
        acting_party (str): who is acting: `client:<id>`, `therapist:<id>` or `admin:<id>` (opaque
            ids, as in the bookings). Required on every `/v1/sessions` and `/v1/therapists` route and
            recorded with each command in the session's history (an admin's action is marked as such).
            Someone who is not the session's client or therapist (nor an admin) gets the same `404
            not_found` as for a session that does not exist; a therapist's practice answers only the
            therapist and admins. Missing or malformed: `422`.
        body (ErasureBody):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErasureView | ErrorBody
    """

    return (
        await asyncio_detailed(
            client_id=client_id,
            client=client,
            body=body,
            acting_party=acting_party,
        )
    ).parsed
