import datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_body import ErrorBody
from ...models.slot_occurrences import SlotOccurrences
from ...types import UNSET, Response


def _get_kwargs(
    therapist_id: str,
    *,
    start_date: datetime.date,
    end_date: datetime.date,
    acting_party: str,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    headers["Acting-Party"] = acting_party

    params: dict[str, Any] = {}

    json_start_date = start_date.isoformat()
    params["start_date"] = json_start_date

    json_end_date = end_date.isoformat()
    params["end_date"] = json_end_date

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/therapists/{therapist_id}/slots/occurrences".format(
            therapist_id=quote(str(therapist_id), safe=""),
        ),
        "params": params,
    }

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorBody | SlotOccurrences | None:
    if response.status_code == 200:
        response_200 = SlotOccurrences.from_dict(response.json())

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
) -> Response[ErrorBody | SlotOccurrences]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    therapist_id: str,
    *,
    client: AuthenticatedClient,
    start_date: datetime.date,
    end_date: datetime.date,
    acting_party: str,
) -> Response[ErrorBody | SlotOccurrences]:
    """Slot Occurrences

     Every reserved slot's occurrences on the local dates `[start_date, end_date]`, as UTC.
    `end_date` is not before `start_date` and at most 366 days from it, counting both
    (`409 invalid_combination` otherwise).

    Args:
        therapist_id (str): opaque therapist id
        start_date (datetime.date):
        end_date (datetime.date):
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
        Response[ErrorBody | SlotOccurrences]
    """

    kwargs = _get_kwargs(
        therapist_id=therapist_id,
        start_date=start_date,
        end_date=end_date,
        acting_party=acting_party,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    therapist_id: str,
    *,
    client: AuthenticatedClient,
    start_date: datetime.date,
    end_date: datetime.date,
    acting_party: str,
) -> ErrorBody | SlotOccurrences | None:
    """Slot Occurrences

     Every reserved slot's occurrences on the local dates `[start_date, end_date]`, as UTC.
    `end_date` is not before `start_date` and at most 366 days from it, counting both
    (`409 invalid_combination` otherwise).

    Args:
        therapist_id (str): opaque therapist id
        start_date (datetime.date):
        end_date (datetime.date):
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
        ErrorBody | SlotOccurrences
    """

    return sync_detailed(
        therapist_id=therapist_id,
        client=client,
        start_date=start_date,
        end_date=end_date,
        acting_party=acting_party,
    ).parsed


async def asyncio_detailed(
    therapist_id: str,
    *,
    client: AuthenticatedClient,
    start_date: datetime.date,
    end_date: datetime.date,
    acting_party: str,
) -> Response[ErrorBody | SlotOccurrences]:
    """Slot Occurrences

     Every reserved slot's occurrences on the local dates `[start_date, end_date]`, as UTC.
    `end_date` is not before `start_date` and at most 366 days from it, counting both
    (`409 invalid_combination` otherwise).

    Args:
        therapist_id (str): opaque therapist id
        start_date (datetime.date):
        end_date (datetime.date):
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
        Response[ErrorBody | SlotOccurrences]
    """

    kwargs = _get_kwargs(
        therapist_id=therapist_id,
        start_date=start_date,
        end_date=end_date,
        acting_party=acting_party,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    therapist_id: str,
    *,
    client: AuthenticatedClient,
    start_date: datetime.date,
    end_date: datetime.date,
    acting_party: str,
) -> ErrorBody | SlotOccurrences | None:
    """Slot Occurrences

     Every reserved slot's occurrences on the local dates `[start_date, end_date]`, as UTC.
    `end_date` is not before `start_date` and at most 366 days from it, counting both
    (`409 invalid_combination` otherwise).

    Args:
        therapist_id (str): opaque therapist id
        start_date (datetime.date):
        end_date (datetime.date):
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
        ErrorBody | SlotOccurrences
    """

    return (
        await asyncio_detailed(
            therapist_id=therapist_id,
            client=client,
            start_date=start_date,
            end_date=end_date,
            acting_party=acting_party,
        )
    ).parsed
