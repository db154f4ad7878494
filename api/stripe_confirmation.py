"""Confirm what a Stripe event claims by reading the object from Stripe itself.

A valid signature proves the event came from someone holding the endpoint's secret, not that the
payment it describes happened: a leaked or misconfigured secret would otherwise let anyone mark a
session paid. So the event is only a hint. The PaymentIntent (and, for a refund, the Charge) is
fetched from Stripe, and the session learns Stripe's own answer: its status, its metadata and its
refunded amount, never the event's copy of them.
"""

from __future__ import annotations

import logging
from typing import Any

import stripe

from domain.disputes import DisputeFact, dispute_fact_from_stripe

log = logging.getLogger("sessionflow.api.stripe")


class StripeUnavailable(Exception):
    """Stripe could not be asked; the delivery should be retried later."""


async def confirmed_event(stripe_client: stripe.StripeClient, event: dict[str, Any]) -> dict[str, Any] | None:
    """The event with its object replaced by Stripe's current copy; None when Stripe disagrees.

    Only the three event types a session listens to are confirmed; the caller ignores the rest.
    A ``payment_intent.succeeded`` stands only if the PaymentIntent has succeeded. The session a
    Charge belongs to is read from its PaymentIntent's metadata (the one Sessionflow wrote). An
    event of a connected account (a Connect event names it in ``account``: a therapist's direct
    charge) is confirmed on that account, where its objects live.
    """
    event_type = event.get("type")
    account = event.get("account")
    options: Any = {"stripe_account": account} if isinstance(account, str) and account else {}
    data = event.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    if not isinstance(obj, dict) or not isinstance(obj.get("id"), str):
        return None
    try:
        if event_type in ("payment_intent.succeeded", "payment_intent.payment_failed"):
            intent = await _retrieve_intent(stripe_client, obj["id"], options)
            if intent is None:
                return None
            if event_type == "payment_intent.succeeded" and intent.get("status") != "succeeded":
                return None
            return {**event, "data": {"object": intent}}
        if event_type == "charge.refunded":
            charge = (await stripe_client.v1.charges.retrieve_async(obj["id"], None, options)).to_dict()
            intent_id = charge.get("payment_intent")
            if not isinstance(intent_id, str):
                return None
            intent = await _retrieve_intent(stripe_client, intent_id, options)
            if intent is None:
                return None
            return {**event, "data": {"object": {**charge, "metadata": intent.get("metadata") or {}}}}
    except stripe.InvalidRequestError:
        return None  # Stripe knows no such object: the event was not about a real payment
    except stripe.StripeError as exc:
        # An outage, a rate limit or our own key being refused: Stripe must deliver again later.
        log.warning("stripe could not confirm an event", extra={"error_type": type(exc).__name__})
        raise StripeUnavailable from exc
    return None


async def _retrieve_intent(
    stripe_client: stripe.StripeClient, intent_id: str, options: Any
) -> dict[str, Any] | None:
    try:
        return (await stripe_client.v1.payment_intents.retrieve_async(intent_id, None, options)).to_dict()
    except stripe.InvalidRequestError:
        return None


async def confirmed_dispute(
    stripe_client: stripe.StripeClient, event: dict[str, Any]
) -> tuple[str, DisputeFact] | None:
    """The session and dispute fact a ``charge.dispute.*`` event stands for, read from Stripe: the
    Dispute (its current status, amount and reason) and its PaymentIntent's ``metadata.session_id``
    (the one Sessionflow wrote), both under the event's ``account`` when it names one (a dispute of
    a therapist's direct charge lives on their connected account). None when Stripe knows no such
    dispute, it is no session's, or it is not Stripe-shaped."""
    account = event.get("account")
    options: Any = {"stripe_account": account} if isinstance(account, str) and account else {}
    data = event.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    if not isinstance(obj, dict) or not isinstance(obj.get("id"), str):
        return None
    try:
        dispute = (await stripe_client.v1.disputes.retrieve_async(obj["id"], None, options)).to_dict()
        intent_id = dispute.get("payment_intent")
        if not isinstance(intent_id, str):
            return None
        intent = await _retrieve_intent(stripe_client, intent_id, options)
    except stripe.InvalidRequestError:
        return None
    except stripe.StripeError as exc:
        log.warning("stripe could not confirm an event", extra={"error_type": type(exc).__name__})
        raise StripeUnavailable from exc
    metadata = (intent or {}).get("metadata") or {}
    session_id = metadata.get("session_id") if isinstance(metadata, dict) else None
    if not isinstance(session_id, str):
        return None
    try:
        fact = dispute_fact_from_stripe(event, dispute)
    except ValueError:
        return None
    return (session_id, fact) if fact is not None else None
