from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.cancel_body import CancelBody
from ...models.cancel_result import CancelResult
from ...models.error_body import ErrorBody
from ...types import Response


def _get_kwargs(
    session_id: str,
    *,
    body: CancelBody,
    idempotency_key: str,
    acting_party: str,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    headers["Idempotency-Key"] = idempotency_key

    headers["Acting-Party"] = acting_party

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/sessions/{session_id}/cancel".format(
            session_id=quote(str(session_id), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> CancelResult | ErrorBody | None:
    if response.status_code == 200:
        response_200 = CancelResult.from_dict(response.json())

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
) -> Response[CancelResult | ErrorBody]:
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
    idempotency_key: str,
    acting_party: str,
) -> Response[CancelResult | ErrorBody]:
    """Cancel

     Cancel before the start. A client's cancellation is free only when received **more than**
    48 hours before the start (server receipt time); later it is `cancelled_late` and the charge
    stands unless the therapist or an admin submits it with `discretionary_refund`. A therapist's
    or admin's cancellation is never charged: a pending charge is voided, a payment refunded.
    `requested_by` is whose cancellation it is; `submitted_by` (default: the same) who filed it —
    someone may file for a party with less authority (client < therapist < admin), never more
    (`409 submitter_not_allowed`).
    The result says whether it was `free`, what is refunded (`refund_minor`), whether the charge
    is kept (`charge_kept`) or still in flight at Stripe (`charge_in_flight`).
    The acting party files it: `submitted_by` is their role (given or not), so a client cancels
    only as the client; the session's client, its therapist or an admin (anyone else: `404`).
    `POST …/cancel/preview` tells the outcome first.

    Args:
        session_id (str): opaque session id
        idempotency_key (str): the caller's id for this request (a fresh one per request): the
            same request sent again with the same key returns the first outcome and changes nothing.
            The key is bound to the operation, the target and the body (on a session, also the
            `Acting-Party`): the same key sent with a different body (or to another operation or
            target) is neither refused nor answered from the first request — it is a new request,
            carried out on its own. So never reuse a key for a changed request; send a retry byte-for-
            byte the same.
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
        Response[CancelResult | ErrorBody]
    """

    kwargs = _get_kwargs(
        session_id=session_id,
        body=body,
        idempotency_key=idempotency_key,
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
    idempotency_key: str,
    acting_party: str,
) -> CancelResult | ErrorBody | None:
    """Cancel

     Cancel before the start. A client's cancellation is free only when received **more than**
    48 hours before the start (server receipt time); later it is `cancelled_late` and the charge
    stands unless the therapist or an admin submits it with `discretionary_refund`. A therapist's
    or admin's cancellation is never charged: a pending charge is voided, a payment refunded.
    `requested_by` is whose cancellation it is; `submitted_by` (default: the same) who filed it —
    someone may file for a party with less authority (client < therapist < admin), never more
    (`409 submitter_not_allowed`).
    The result says whether it was `free`, what is refunded (`refund_minor`), whether the charge
    is kept (`charge_kept`) or still in flight at Stripe (`charge_in_flight`).
    The acting party files it: `submitted_by` is their role (given or not), so a client cancels
    only as the client; the session's client, its therapist or an admin (anyone else: `404`).
    `POST …/cancel/preview` tells the outcome first.

    Args:
        session_id (str): opaque session id
        idempotency_key (str): the caller's id for this request (a fresh one per request): the
            same request sent again with the same key returns the first outcome and changes nothing.
            The key is bound to the operation, the target and the body (on a session, also the
            `Acting-Party`): the same key sent with a different body (or to another operation or
            target) is neither refused nor answered from the first request — it is a new request,
            carried out on its own. So never reuse a key for a changed request; send a retry byte-for-
            byte the same.
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
        CancelResult | ErrorBody
    """

    return sync_detailed(
        session_id=session_id,
        client=client,
        body=body,
        idempotency_key=idempotency_key,
        acting_party=acting_party,
    ).parsed


async def asyncio_detailed(
    session_id: str,
    *,
    client: AuthenticatedClient,
    body: CancelBody,
    idempotency_key: str,
    acting_party: str,
) -> Response[CancelResult | ErrorBody]:
    """Cancel

     Cancel before the start. A client's cancellation is free only when received **more than**
    48 hours before the start (server receipt time); later it is `cancelled_late` and the charge
    stands unless the therapist or an admin submits it with `discretionary_refund`. A therapist's
    or admin's cancellation is never charged: a pending charge is voided, a payment refunded.
    `requested_by` is whose cancellation it is; `submitted_by` (default: the same) who filed it —
    someone may file for a party with less authority (client < therapist < admin), never more
    (`409 submitter_not_allowed`).
    The result says whether it was `free`, what is refunded (`refund_minor`), whether the charge
    is kept (`charge_kept`) or still in flight at Stripe (`charge_in_flight`).
    The acting party files it: `submitted_by` is their role (given or not), so a client cancels
    only as the client; the session's client, its therapist or an admin (anyone else: `404`).
    `POST …/cancel/preview` tells the outcome first.

    Args:
        session_id (str): opaque session id
        idempotency_key (str): the caller's id for this request (a fresh one per request): the
            same request sent again with the same key returns the first outcome and changes nothing.
            The key is bound to the operation, the target and the body (on a session, also the
            `Acting-Party`): the same key sent with a different body (or to another operation or
            target) is neither refused nor answered from the first request — it is a new request,
            carried out on its own. So never reuse a key for a changed request; send a retry byte-for-
            byte the same.
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
        Response[CancelResult | ErrorBody]
    """

    kwargs = _get_kwargs(
        session_id=session_id,
        body=body,
        idempotency_key=idempotency_key,
        acting_party=acting_party,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    session_id: str,
    *,
    client: AuthenticatedClient,
    body: CancelBody,
    idempotency_key: str,
    acting_party: str,
) -> CancelResult | ErrorBody | None:
    """Cancel

     Cancel before the start. A client's cancellation is free only when received **more than**
    48 hours before the start (server receipt time); later it is `cancelled_late` and the charge
    stands unless the therapist or an admin submits it with `discretionary_refund`. A therapist's
    or admin's cancellation is never charged: a pending charge is voided, a payment refunded.
    `requested_by` is whose cancellation it is; `submitted_by` (default: the same) who filed it —
    someone may file for a party with less authority (client < therapist < admin), never more
    (`409 submitter_not_allowed`).
    The result says whether it was `free`, what is refunded (`refund_minor`), whether the charge
    is kept (`charge_kept`) or still in flight at Stripe (`charge_in_flight`).
    The acting party files it: `submitted_by` is their role (given or not), so a client cancels
    only as the client; the session's client, its therapist or an admin (anyone else: `404`).
    `POST …/cancel/preview` tells the outcome first.

    Args:
        session_id (str): opaque session id
        idempotency_key (str): the caller's id for this request (a fresh one per request): the
            same request sent again with the same key returns the first outcome and changes nothing.
            The key is bound to the operation, the target and the body (on a session, also the
            `Acting-Party`): the same key sent with a different body (or to another operation or
            target) is neither refused nor answered from the first request — it is a new request,
            carried out on its own. So never reuse a key for a changed request; send a retry byte-for-
            byte the same.
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
        CancelResult | ErrorBody
    """

    return (
        await asyncio_detailed(
            session_id=session_id,
            client=client,
            body=body,
            idempotency_key=idempotency_key,
            acting_party=acting_party,
        )
    ).parsed
