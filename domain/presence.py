"""Who is present when a session's card is charged: the client (on-session) or nobody (off-session).

Under SCA a payment the client makes while present is *customer-initiated*: the bank may ask for
3-D Secure, which the client completes in their own browser. A charge nobody is waiting for is
*merchant-initiated* (off-session) on the saved card: the bank cannot ask anyone, so a card that
needs authentication is declined with ``authentication_required`` and the client is brought back
on-session later (``awaiting_client_action``).

Who is present is decided by the command that causes the charge, never by the clock:

- the client's own booking from their dashboard (``client_follow_up``, charged at once): the
  client is present → on-session;
- the client entering a new card after a decline (the retry it causes at once): on-session;
- the charge time (start − 48 h + spread) and its retries, a therapist's booking inside the window,
  a move, a try again after an outage, a card forwarded by the therapist or support: nobody is
  waiting → off-session.

The client paying from a payment link (or an action-required notice) needs no charge of ours: their
browser confirms the session's PaymentIntent with its client secret, and the webhook settles it.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from domain.state import SessionState
from domain.status import Actor, BookingKind, PaymentStatus, SessionStatus


class ChargeCause(StrEnum):
    """What caused the next charge try of a session."""

    SCHEDULE = "schedule"
    """A timer: the charge time, its retries, an outage retry, a booking by the therapist."""
    CLIENT_BOOKING = "client_booking"
    """The client's own booking, charged at once while they wait for the answer."""
    CLIENT_NEW_CARD = "client_new_card"
    """The client entered a new card after a decline: it is tried at once while they wait."""


def client_present(cause: ChargeCause) -> bool:
    """True when the charge is customer-initiated (on-session); False: merchant-initiated."""
    return cause in (ChargeCause.CLIENT_BOOKING, ChargeCause.CLIENT_NEW_CARD)


def booking_charge_cause(kind: BookingKind) -> ChargeCause:
    """What causes a booking's first charge: the client booking for themselves is present (it is
    charged at once); a therapist's booking, even one charged at once inside the window, is not."""
    return ChargeCause.CLIENT_BOOKING if kind is BookingKind.CLIENT_FOLLOW_UP else ChargeCause.SCHEDULE


def new_card_charge_cause(requested_by: Actor) -> ChargeCause:
    """What causes the retry a new card brings: the client entering it is present; a card the
    therapist or support forwards on the client's behalf is charged as the merchant's."""
    return ChargeCause.CLIENT_NEW_CARD if requested_by is Actor.CLIENT else ChargeCause.SCHEDULE


def booking_charged_on_session(kind: BookingKind) -> bool:
    """The booking's answer can carry the bank's request for 3-D Secure (the API waits for it)."""
    return client_present(booking_charge_cause(kind))


class _Payload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class ChargeAnswerRequest(_Payload):
    """Ask a session for the answer to the charge a command just caused (it waits for it)."""


class ChargeAnswer(_Payload):
    """Where the session's payment stands once the charge a command caused has been answered."""

    status: SessionStatus
    payment_status: PaymentStatus
    answered: bool
    """False when Stripe has not answered yet (an outage: the charge is tried again later)."""
    payment_intent_client_secret: str | None = None
    """Only while the bank asks the client to authenticate (``awaiting_client_action``): the
    client's browser completes 3-D Secure with it (Stripe.js ``handleNextAction``)."""


def charge_answer_of(state: SessionState, *, answered: bool) -> ChargeAnswer:
    """Where the payment stands for the client who caused the charge: the client secret only
    while the bank asks them to authenticate (their browser runs 3-D Secure with it)."""
    payment = state.payment
    action = payment.status is PaymentStatus.REQUIRES_ACTION and not state.status.is_cancelled
    return ChargeAnswer(
        status=state.status,
        payment_status=payment.status,
        answered=answered,
        payment_intent_client_secret=payment.client_secret if action else None,
    )
