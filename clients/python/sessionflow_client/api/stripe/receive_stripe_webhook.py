from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_body import ErrorBody
from ...models.receive_stripe_webhook_body import ReceiveStripeWebhookBody
from ...models.webhook_ack import WebhookAck
from ...types import Response


def _get_kwargs(
    *,
    body: ReceiveStripeWebhookBody,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/stripe/webhook",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> ErrorBody | WebhookAck | None:
    if response.status_code == 200:
        response_200 = WebhookAck.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = ErrorBody.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = ErrorBody.from_dict(response.json())

        return response_401

    if response.status_code == 413:
        response_413 = ErrorBody.from_dict(response.json())

        return response_413

    if response.status_code == 503:
        response_503 = ErrorBody.from_dict(response.json())

        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[ErrorBody | WebhookAck]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    body: ReceiveStripeWebhookBody,
) -> Response[ErrorBody | WebhookAck]:
    """Stripe Webhook

     Receive a Stripe event: `payment_intent.succeeded`, `payment_intent.payment_failed`,
    `charge.refunded` and `charge.dispute.created / updated / closed` for a session's
    PaymentIntent reach its workflow once Stripe confirms them; `account.updated` (a Connect event)
    about a therapist's connected account is read back from Stripe and pauses or resumes their
    practice (held charges then run); anything else is acknowledged and ignored.

    Args:
        body (ReceiveStripeWebhookBody):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | WebhookAck]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
    body: ReceiveStripeWebhookBody,
) -> ErrorBody | WebhookAck | None:
    """Stripe Webhook

     Receive a Stripe event: `payment_intent.succeeded`, `payment_intent.payment_failed`,
    `charge.refunded` and `charge.dispute.created / updated / closed` for a session's
    PaymentIntent reach its workflow once Stripe confirms them; `account.updated` (a Connect event)
    about a therapist's connected account is read back from Stripe and pauses or resumes their
    practice (held charges then run); anything else is acknowledged and ignored.

    Args:
        body (ReceiveStripeWebhookBody):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | WebhookAck
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    body: ReceiveStripeWebhookBody,
) -> Response[ErrorBody | WebhookAck]:
    """Stripe Webhook

     Receive a Stripe event: `payment_intent.succeeded`, `payment_intent.payment_failed`,
    `charge.refunded` and `charge.dispute.created / updated / closed` for a session's
    PaymentIntent reach its workflow once Stripe confirms them; `account.updated` (a Connect event)
    about a therapist's connected account is read back from Stripe and pauses or resumes their
    practice (held charges then run); anything else is acknowledged and ignored.

    Args:
        body (ReceiveStripeWebhookBody):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | WebhookAck]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    body: ReceiveStripeWebhookBody,
) -> ErrorBody | WebhookAck | None:
    """Stripe Webhook

     Receive a Stripe event: `payment_intent.succeeded`, `payment_intent.payment_failed`,
    `charge.refunded` and `charge.dispute.created / updated / closed` for a session's
    PaymentIntent reach its workflow once Stripe confirms them; `account.updated` (a Connect event)
    about a therapist's connected account is read back from Stripe and pauses or resumes their
    practice (held charges then run); anything else is acknowledged and ignored.

    Args:
        body (ReceiveStripeWebhookBody):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | WebhookAck
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed
