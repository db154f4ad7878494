"""Custom search attributes: the contract between workflows, the API's lists and ops queries.

They hold opaque ids, status codes and instants only, never personal data: search attributes are
stored unencrypted by the Temporal server. Registered on the namespace by the dev stack, the tests
and deploy/temporal/create-namespace.sh under exactly these names and types.
"""

from typing import Any

from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes

from domain.booking import SessionBooking
from domain.session import initial_status

SESSION_STATUS = SearchAttributeKey.for_keyword("SessionStatus")
THERAPIST_ID = SearchAttributeKey.for_keyword("TherapistId")
CLIENT_ID = SearchAttributeKey.for_keyword("ClientId")
SESSION_START = SearchAttributeKey.for_datetime("SessionStart")
SESSION_END = SearchAttributeKey.for_datetime("SessionEnd")
"""Set at start (and moved with the session): past it, a session still ``scheduled`` or ``paid``
awaits its attendance update without an upsert of its own (``domain.status.status_as_of``)."""
PAYMENT_INTENT = SearchAttributeKey.for_keyword("SessionPaymentIntent")
"""The PaymentIntent the session was paid with, published with its paid status: the Stripe webhook
route skips a ``payment_intent.succeeded`` the session already knows (a describe is not billed)."""

ALL_SEARCH_ATTRIBUTES = (SESSION_STATUS, THERAPIST_ID, CLIENT_ID, SESSION_START, SESSION_END, PAYMENT_INTENT)


def session_search_attributes(booking: SessionBooking) -> TypedSearchAttributes:
    """What a session's workflow starts with (set at start, unlike an upsert, it costs no Action)."""
    pairs: list[SearchAttributePair[Any]] = [
        SearchAttributePair(SESSION_STATUS, initial_status(booking).value),
        SearchAttributePair(THERAPIST_ID, booking.therapist_id),
        SearchAttributePair(CLIENT_ID, booking.client_id),
        SearchAttributePair(SESSION_START, booking.start),
        SearchAttributePair(SESSION_END, booking.start + booking.duration),
    ]
    if booking.prepaid_payment_intent_id is not None:  # paid at checkout: known from the start
        pairs.append(SearchAttributePair(PAYMENT_INTENT, booking.prepaid_payment_intent_id))
    return TypedSearchAttributes(pairs)
