"""Custom search attributes: the contract between workflows, the API's lists and ops queries.

They hold opaque ids, status codes and instants only, never personal data: search attributes are
stored unencrypted by the Temporal server. Registered on the namespace by the dev stack, the tests
and deploy/temporal/create-namespace.sh under exactly these names and types.
"""

from typing import Any

from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes

from domain.booking import SessionBooking
from domain.session import initial_status
from domain.status import BookingKind

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

PAYMENT_ACCOUNT_ID = SearchAttributeKey.for_keyword("PaymentAccountId")
"""On a practice workflow: the therapist's connected Stripe account (``acct_…``, an opaque id). The
Stripe webhook route finds the practice of an ``account.updated`` by it (a list is not billed)."""

ALL_SEARCH_ATTRIBUTES = (
    SESSION_STATUS,
    THERAPIST_ID,
    CLIENT_ID,
    SESSION_START,
    SESSION_END,
    PAYMENT_INTENT,
    PAYMENT_ACCOUNT_ID,
)


def session_search_attributes(booking: SessionBooking) -> TypedSearchAttributes:
    """What a session's workflow starts with (set at start, unlike an upsert, it costs no Action).

    A session paid at checkout starts ``paid`` with its PaymentIntent published: the checkout's
    own ``payment_intent.succeeded``, which arrives moments after the booking, is then not
    signalled (the Stripe webhook route's describe shows the session has it)."""
    pairs: list[SearchAttributePair[Any]] = [
        SearchAttributePair(SESSION_STATUS, initial_status(booking).value),
        SearchAttributePair(THERAPIST_ID, booking.therapist_id),
        SearchAttributePair(CLIENT_ID, booking.client_id),
        SearchAttributePair(SESSION_START, booking.start),
        SearchAttributePair(SESSION_END, booking.start + booking.duration),
    ]
    if booking.kind is BookingKind.INITIAL_PREPAID and booking.prepaid_payment_intent_id is not None:
        pairs.append(SearchAttributePair(PAYMENT_INTENT, booking.prepaid_payment_intent_id))
    return TypedSearchAttributes(pairs)
