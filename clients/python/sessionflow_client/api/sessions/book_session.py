from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.book_session_body import BookSessionBody
from ...models.booking_response import BookingResponse
from ...models.error_body import ErrorBody
from ...types import Response


def _get_kwargs(
    *,
    body: BookSessionBody,
    acting_party: str,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    headers["Acting-Party"] = acting_party

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/sessions",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> BookingResponse | ErrorBody | None:
    if response.status_code == 200:
        response_200 = BookingResponse.from_dict(response.json())

        return response_200

    if response.status_code == 201:
        response_201 = BookingResponse.from_dict(response.json())

        return response_201

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
) -> Response[BookingResponse | ErrorBody]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    body: BookSessionBody,
    acting_party: str,
) -> Response[BookingResponse | ErrorBody]:
    """Book

     Book a session. `kind`: `initial_prepaid` (paid at checkout), `client_follow_up` (the
    client's own booking, charged at once), `therapist_follow_up` or `therapist_manual` (booked by
    the therapist with `client_agreed: true`; charged 48 hours before the start, or at once when
    booked inside that window). A client's own booking needs at least 24 hours' notice (`409
    notice_too_short`; the policy may reduce it to 2 h); a therapist's is not bound by it. Only a
    `therapist_manual` session may be dated in the past (up to 14 days: `409 start_too_far_back`),
    for a session that took place: it is charged at once and awaits its attendance update. The
    same booking sent again returns the existing session (200), even after its start has passed; a
    different booking under an existing id is `409 session_exists`. A client who was erased (their
    data deleted on request) gets no new session: `409 client_erased`.
    A client books as themselves (`client_id`), a therapist for their own practice
    (`therapist_id`), an admin for anyone; anyone else is `409 not_allowed`. While Stripe has
    disabled charges on the therapist's connected account the practice is paused and takes no
    booking: `409 therapist_paused` (a retry of a booking made before the pause still returns it).
    The session is charged on the account the practice holds when it is booked. The therapist's
    first booking (or first practice command) creates their practice in `therapist_timezone`.

    **No `Idempotency-Key` here: `session_id` is the booking's key.** Choose it once per booking
    and send a retry with the same `session_id` and the same body: it books nothing again and
    answers `200` with `created: false` (a new booking answers `201`, `created: true`). The same
    `session_id` with any field changed is `409 session_exists`.

    **The client's own booking (`client_follow_up`) is charged at once, on-session** — the client
    is present, so their bank may ask for 3-D Secure. The API waits up to 10 s for Stripe's answer
    and returns the session's `status` after it (`paid`, `payment_failed`, or
    `awaiting_client_action` with `payment_intent_client_secret`: give that to the client's
    browser, `stripe.handleNextAction({clientSecret})`; the `payment_intent.succeeded` webhook
    settles the session). `charge_answered: false` means Stripe had not answered in time: read
    `GET /v1/sessions/{id}` later (`payment.client_secret` while action is required). A retry of
    the same booking returns where the payment stands now. Other kinds answer at once: an
    `initial_prepaid` session was paid at checkout; a therapist's booking is charged off-session on
    the saved card (at start − 48 h, or at once inside the window) and never asks for the client.

    Args:
        acting_party (str): who is acting: `client:<id>`, `therapist:<id>` or `admin:<id>` (opaque
            ids, as in the bookings). Required on every `/v1/sessions` and `/v1/therapists` route and
            recorded with each command in the session's history (an admin's action is marked as such).
            Someone who is not the session's client or therapist (nor an admin) gets the same `404
            not_found` as for a session that does not exist; a therapist's practice answers only the
            therapist and admins. Missing or malformed: `422`.
        body (BookSessionBody): The booking as the caller sends it. The rules across its fields
            are checked after its shape,
            a refusal being a `409` with the rule's code: each is stated on the field it concerns.
            `session_id` is the booking's idempotency key (this route takes no `Idempotency-Key`).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[BookingResponse | ErrorBody]
    """

    kwargs = _get_kwargs(
        body=body,
        acting_party=acting_party,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
    body: BookSessionBody,
    acting_party: str,
) -> BookingResponse | ErrorBody | None:
    """Book

     Book a session. `kind`: `initial_prepaid` (paid at checkout), `client_follow_up` (the
    client's own booking, charged at once), `therapist_follow_up` or `therapist_manual` (booked by
    the therapist with `client_agreed: true`; charged 48 hours before the start, or at once when
    booked inside that window). A client's own booking needs at least 24 hours' notice (`409
    notice_too_short`; the policy may reduce it to 2 h); a therapist's is not bound by it. Only a
    `therapist_manual` session may be dated in the past (up to 14 days: `409 start_too_far_back`),
    for a session that took place: it is charged at once and awaits its attendance update. The
    same booking sent again returns the existing session (200), even after its start has passed; a
    different booking under an existing id is `409 session_exists`. A client who was erased (their
    data deleted on request) gets no new session: `409 client_erased`.
    A client books as themselves (`client_id`), a therapist for their own practice
    (`therapist_id`), an admin for anyone; anyone else is `409 not_allowed`. While Stripe has
    disabled charges on the therapist's connected account the practice is paused and takes no
    booking: `409 therapist_paused` (a retry of a booking made before the pause still returns it).
    The session is charged on the account the practice holds when it is booked. The therapist's
    first booking (or first practice command) creates their practice in `therapist_timezone`.

    **No `Idempotency-Key` here: `session_id` is the booking's key.** Choose it once per booking
    and send a retry with the same `session_id` and the same body: it books nothing again and
    answers `200` with `created: false` (a new booking answers `201`, `created: true`). The same
    `session_id` with any field changed is `409 session_exists`.

    **The client's own booking (`client_follow_up`) is charged at once, on-session** — the client
    is present, so their bank may ask for 3-D Secure. The API waits up to 10 s for Stripe's answer
    and returns the session's `status` after it (`paid`, `payment_failed`, or
    `awaiting_client_action` with `payment_intent_client_secret`: give that to the client's
    browser, `stripe.handleNextAction({clientSecret})`; the `payment_intent.succeeded` webhook
    settles the session). `charge_answered: false` means Stripe had not answered in time: read
    `GET /v1/sessions/{id}` later (`payment.client_secret` while action is required). A retry of
    the same booking returns where the payment stands now. Other kinds answer at once: an
    `initial_prepaid` session was paid at checkout; a therapist's booking is charged off-session on
    the saved card (at start − 48 h, or at once inside the window) and never asks for the client.

    Args:
        acting_party (str): who is acting: `client:<id>`, `therapist:<id>` or `admin:<id>` (opaque
            ids, as in the bookings). Required on every `/v1/sessions` and `/v1/therapists` route and
            recorded with each command in the session's history (an admin's action is marked as such).
            Someone who is not the session's client or therapist (nor an admin) gets the same `404
            not_found` as for a session that does not exist; a therapist's practice answers only the
            therapist and admins. Missing or malformed: `422`.
        body (BookSessionBody): The booking as the caller sends it. The rules across its fields
            are checked after its shape,
            a refusal being a `409` with the rule's code: each is stated on the field it concerns.
            `session_id` is the booking's idempotency key (this route takes no `Idempotency-Key`).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        BookingResponse | ErrorBody
    """

    return sync_detailed(
        client=client,
        body=body,
        acting_party=acting_party,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    body: BookSessionBody,
    acting_party: str,
) -> Response[BookingResponse | ErrorBody]:
    """Book

     Book a session. `kind`: `initial_prepaid` (paid at checkout), `client_follow_up` (the
    client's own booking, charged at once), `therapist_follow_up` or `therapist_manual` (booked by
    the therapist with `client_agreed: true`; charged 48 hours before the start, or at once when
    booked inside that window). A client's own booking needs at least 24 hours' notice (`409
    notice_too_short`; the policy may reduce it to 2 h); a therapist's is not bound by it. Only a
    `therapist_manual` session may be dated in the past (up to 14 days: `409 start_too_far_back`),
    for a session that took place: it is charged at once and awaits its attendance update. The
    same booking sent again returns the existing session (200), even after its start has passed; a
    different booking under an existing id is `409 session_exists`. A client who was erased (their
    data deleted on request) gets no new session: `409 client_erased`.
    A client books as themselves (`client_id`), a therapist for their own practice
    (`therapist_id`), an admin for anyone; anyone else is `409 not_allowed`. While Stripe has
    disabled charges on the therapist's connected account the practice is paused and takes no
    booking: `409 therapist_paused` (a retry of a booking made before the pause still returns it).
    The session is charged on the account the practice holds when it is booked. The therapist's
    first booking (or first practice command) creates their practice in `therapist_timezone`.

    **No `Idempotency-Key` here: `session_id` is the booking's key.** Choose it once per booking
    and send a retry with the same `session_id` and the same body: it books nothing again and
    answers `200` with `created: false` (a new booking answers `201`, `created: true`). The same
    `session_id` with any field changed is `409 session_exists`.

    **The client's own booking (`client_follow_up`) is charged at once, on-session** — the client
    is present, so their bank may ask for 3-D Secure. The API waits up to 10 s for Stripe's answer
    and returns the session's `status` after it (`paid`, `payment_failed`, or
    `awaiting_client_action` with `payment_intent_client_secret`: give that to the client's
    browser, `stripe.handleNextAction({clientSecret})`; the `payment_intent.succeeded` webhook
    settles the session). `charge_answered: false` means Stripe had not answered in time: read
    `GET /v1/sessions/{id}` later (`payment.client_secret` while action is required). A retry of
    the same booking returns where the payment stands now. Other kinds answer at once: an
    `initial_prepaid` session was paid at checkout; a therapist's booking is charged off-session on
    the saved card (at start − 48 h, or at once inside the window) and never asks for the client.

    Args:
        acting_party (str): who is acting: `client:<id>`, `therapist:<id>` or `admin:<id>` (opaque
            ids, as in the bookings). Required on every `/v1/sessions` and `/v1/therapists` route and
            recorded with each command in the session's history (an admin's action is marked as such).
            Someone who is not the session's client or therapist (nor an admin) gets the same `404
            not_found` as for a session that does not exist; a therapist's practice answers only the
            therapist and admins. Missing or malformed: `422`.
        body (BookSessionBody): The booking as the caller sends it. The rules across its fields
            are checked after its shape,
            a refusal being a `409` with the rule's code: each is stated on the field it concerns.
            `session_id` is the booking's idempotency key (this route takes no `Idempotency-Key`).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[BookingResponse | ErrorBody]
    """

    kwargs = _get_kwargs(
        body=body,
        acting_party=acting_party,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    body: BookSessionBody,
    acting_party: str,
) -> BookingResponse | ErrorBody | None:
    """Book

     Book a session. `kind`: `initial_prepaid` (paid at checkout), `client_follow_up` (the
    client's own booking, charged at once), `therapist_follow_up` or `therapist_manual` (booked by
    the therapist with `client_agreed: true`; charged 48 hours before the start, or at once when
    booked inside that window). A client's own booking needs at least 24 hours' notice (`409
    notice_too_short`; the policy may reduce it to 2 h); a therapist's is not bound by it. Only a
    `therapist_manual` session may be dated in the past (up to 14 days: `409 start_too_far_back`),
    for a session that took place: it is charged at once and awaits its attendance update. The
    same booking sent again returns the existing session (200), even after its start has passed; a
    different booking under an existing id is `409 session_exists`. A client who was erased (their
    data deleted on request) gets no new session: `409 client_erased`.
    A client books as themselves (`client_id`), a therapist for their own practice
    (`therapist_id`), an admin for anyone; anyone else is `409 not_allowed`. While Stripe has
    disabled charges on the therapist's connected account the practice is paused and takes no
    booking: `409 therapist_paused` (a retry of a booking made before the pause still returns it).
    The session is charged on the account the practice holds when it is booked. The therapist's
    first booking (or first practice command) creates their practice in `therapist_timezone`.

    **No `Idempotency-Key` here: `session_id` is the booking's key.** Choose it once per booking
    and send a retry with the same `session_id` and the same body: it books nothing again and
    answers `200` with `created: false` (a new booking answers `201`, `created: true`). The same
    `session_id` with any field changed is `409 session_exists`.

    **The client's own booking (`client_follow_up`) is charged at once, on-session** — the client
    is present, so their bank may ask for 3-D Secure. The API waits up to 10 s for Stripe's answer
    and returns the session's `status` after it (`paid`, `payment_failed`, or
    `awaiting_client_action` with `payment_intent_client_secret`: give that to the client's
    browser, `stripe.handleNextAction({clientSecret})`; the `payment_intent.succeeded` webhook
    settles the session). `charge_answered: false` means Stripe had not answered in time: read
    `GET /v1/sessions/{id}` later (`payment.client_secret` while action is required). A retry of
    the same booking returns where the payment stands now. Other kinds answer at once: an
    `initial_prepaid` session was paid at checkout; a therapist's booking is charged off-session on
    the saved card (at start − 48 h, or at once inside the window) and never asks for the client.

    Args:
        acting_party (str): who is acting: `client:<id>`, `therapist:<id>` or `admin:<id>` (opaque
            ids, as in the bookings). Required on every `/v1/sessions` and `/v1/therapists` route and
            recorded with each command in the session's history (an admin's action is marked as such).
            Someone who is not the session's client or therapist (nor an admin) gets the same `404
            not_found` as for a session that does not exist; a therapist's practice answers only the
            therapist and admins. Missing or malformed: `422`.
        body (BookSessionBody): The booking as the caller sends it. The rules across its fields
            are checked after its shape,
            a refusal being a `409` with the rule's code: each is stated on the field it concerns.
            `session_id` is the booking's idempotency key (this route takes no `Idempotency-Key`).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        BookingResponse | ErrorBody
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
            acting_party=acting_party,
        )
    ).parsed
