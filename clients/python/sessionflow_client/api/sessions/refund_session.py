from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_body import ErrorBody
from ...models.refund_body import RefundBody
from ...models.session_refund_result import SessionRefundResult
from ...types import Response


def _get_kwargs(
    session_id: str,
    *,
    body: RefundBody,
    idempotency_key: str,
    acting_party: str,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    headers["Idempotency-Key"] = idempotency_key

    headers["Acting-Party"] = acting_party

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/sessions/{session_id}/refund".format(
            session_id=quote(str(session_id), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorBody | SessionRefundResult | None:
    if response.status_code == 200:
        response_200 = SessionRefundResult.from_dict(response.json())

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
) -> Response[ErrorBody | SessionRefundResult]:
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
    body: RefundBody,
    idempotency_key: str,
    acting_party: str,
) -> Response[ErrorBody | SessionRefundResult]:
    """Refund

     Refund the session, in full or in part, with a `reason` code, any time after its payment was
    captured: before the start, after a cancellation, after the attendance update — also once the
    session has closed (for 180 days). `amount_minor` absent refunds everything still refundable.
    Several partial refunds add up; together they never exceed what was captured (`409
    refund_exceeds_captured`, the message says what is left). Nothing captured: `409
    nothing_captured`. A charge the client's bank disputes is not refunded while the dispute is
    open or after it was lost: `409 charge_disputed`. Only the session's therapist or an admin (its
    client: `409 not_allowed`, anyone else `404`). A closed session whose client was erased: `404
    erased` (its ledger is gone; ops refund in Stripe from the kept facts). The money goes back right
    after (`refund_issued` to the client with the amount); the result says what was granted and what
    is still refundable.

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
        body (RefundBody): Who refunds is the `Acting-Party` (the session's therapist or an
            admin).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | SessionRefundResult]
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
    body: RefundBody,
    idempotency_key: str,
    acting_party: str,
) -> ErrorBody | SessionRefundResult | None:
    """Refund

     Refund the session, in full or in part, with a `reason` code, any time after its payment was
    captured: before the start, after a cancellation, after the attendance update — also once the
    session has closed (for 180 days). `amount_minor` absent refunds everything still refundable.
    Several partial refunds add up; together they never exceed what was captured (`409
    refund_exceeds_captured`, the message says what is left). Nothing captured: `409
    nothing_captured`. A charge the client's bank disputes is not refunded while the dispute is
    open or after it was lost: `409 charge_disputed`. Only the session's therapist or an admin (its
    client: `409 not_allowed`, anyone else `404`). A closed session whose client was erased: `404
    erased` (its ledger is gone; ops refund in Stripe from the kept facts). The money goes back right
    after (`refund_issued` to the client with the amount); the result says what was granted and what
    is still refundable.

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
        body (RefundBody): Who refunds is the `Acting-Party` (the session's therapist or an
            admin).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | SessionRefundResult
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
    body: RefundBody,
    idempotency_key: str,
    acting_party: str,
) -> Response[ErrorBody | SessionRefundResult]:
    """Refund

     Refund the session, in full or in part, with a `reason` code, any time after its payment was
    captured: before the start, after a cancellation, after the attendance update — also once the
    session has closed (for 180 days). `amount_minor` absent refunds everything still refundable.
    Several partial refunds add up; together they never exceed what was captured (`409
    refund_exceeds_captured`, the message says what is left). Nothing captured: `409
    nothing_captured`. A charge the client's bank disputes is not refunded while the dispute is
    open or after it was lost: `409 charge_disputed`. Only the session's therapist or an admin (its
    client: `409 not_allowed`, anyone else `404`). A closed session whose client was erased: `404
    erased` (its ledger is gone; ops refund in Stripe from the kept facts). The money goes back right
    after (`refund_issued` to the client with the amount); the result says what was granted and what
    is still refundable.

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
        body (RefundBody): Who refunds is the `Acting-Party` (the session's therapist or an
            admin).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | SessionRefundResult]
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
    body: RefundBody,
    idempotency_key: str,
    acting_party: str,
) -> ErrorBody | SessionRefundResult | None:
    """Refund

     Refund the session, in full or in part, with a `reason` code, any time after its payment was
    captured: before the start, after a cancellation, after the attendance update — also once the
    session has closed (for 180 days). `amount_minor` absent refunds everything still refundable.
    Several partial refunds add up; together they never exceed what was captured (`409
    refund_exceeds_captured`, the message says what is left). Nothing captured: `409
    nothing_captured`. A charge the client's bank disputes is not refunded while the dispute is
    open or after it was lost: `409 charge_disputed`. Only the session's therapist or an admin (its
    client: `409 not_allowed`, anyone else `404`). A closed session whose client was erased: `404
    erased` (its ledger is gone; ops refund in Stripe from the kept facts). The money goes back right
    after (`refund_issued` to the client with the amount); the result says what was granted and what
    is still refundable.

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
        body (RefundBody): Who refunds is the `Acting-Party` (the session's therapist or an
            admin).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | SessionRefundResult
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
