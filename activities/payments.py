"""Stripe payments: charge the saved card (off-session, or on-session while the client is
present), void, refund.

A session booked on a therapist's connected account is a *direct charge* there: every request
carries ``Stripe-Account`` (``options["stripe_account"]``), the client's card saved on the
platform's customer is cloned onto the account for each charge (``POST /v1/payment_methods`` with
the customer and the card, keyed by the session and the card), and the PaymentIntent takes the
marketplace's commission as its ``application_fee_amount``. A session without an account is
charged on the platform exactly as before.

A decline is data, an outage is an exception: ``CardError`` comes back as a ``ChargeResult`` for
the workflow to branch on; requests Stripe refuses as invalid raise a non-retryable
``ApplicationError``; connection errors, 5xx, 409 and 429 propagate so Temporal retries with the
same idempotency key. Metadata carries opaque ids only.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import stripe
from temporalio import activity
from temporalio.exceptions import ApplicationError

from domain.payments import (
    ChargeOutcome,
    ChargeRequest,
    ChargeResult,
    PaymentRead,
    PaymentReadRequest,
    RefundRequest,
    RefundResult,
    VoidRequest,
    VoidResult,
    charge_idempotency_key,
)
from domain.policy import classify_decline
from domain.status import DeclineKind
from observability.metrics import CHARGES, DECLINES, REFUNDS, STRIPE_UNAVAILABLE

# Errors that a retry with the same key cannot fix: a bug or a configuration fault.
NON_RETRYABLE_STRIPE_ERRORS: tuple[type[stripe.StripeError], ...] = (
    stripe.IdempotencyError,
    stripe.InvalidRequestError,
    stripe.AuthenticationError,
    stripe.PermissionError,
    stripe.SignatureVerificationError,
)
NON_RETRYABLE_ERROR_TYPES = tuple(error.__name__ for error in NON_RETRYABLE_STRIPE_ERRORS)

# What "Stripe did not answer" looks like from the activity: connection errors and timeouts (the
# SDK's APIConnectionError; a bare OSError or TimeoutError is reported as StripeConnectionError),
# 5xx and exhausted 409s (APIError), 429 (RateLimitError). Only these make an outage; any other
# exception escaping an activity is a fault of ours (``workflows.calls.stripe_unreachable``).
STRIPE_OUTAGE_ERRORS: tuple[type[stripe.StripeError], ...] = (
    stripe.APIConnectionError,
    stripe.APIError,
    stripe.RateLimitError,
)
STRIPE_CONNECTION_ERROR = "StripeConnectionError"
STRIPE_OUTAGE_ERROR_TYPES = frozenset(
    {*(error.__name__ for error in STRIPE_OUTAGE_ERRORS), STRIPE_CONNECTION_ERROR}
)

_MAX_LOOKUP_PAGES = 20
_CONFIRMABLE = frozenset({"requires_payment_method", "requires_confirmation", "requires_action"})
_VOIDABLE = _CONFIRMABLE | {"requires_capture"}


@contextmanager
def _counting_outages(operation: str) -> Iterator[None]:
    """Count each failure Temporal will retry (Stripe unreachable or overloaded), for ops."""
    try:
        yield
    except NON_RETRYABLE_STRIPE_ERRORS:
        raise
    except stripe.StripeError as error:
        STRIPE_UNAVAILABLE.labels(operation=operation, error=type(error).__name__).inc()
        raise
    except (OSError, TimeoutError) as error:
        STRIPE_UNAVAILABLE.labels(operation=operation, error=type(error).__name__).inc()
        # Retried by Temporal like the SDK's connection errors, under one type the workflow knows.
        raise ApplicationError(
            f"no answer from Stripe ({type(error).__name__})", type=STRIPE_CONNECTION_ERROR
        ) from error


def _non_retryable(error: stripe.StripeError) -> ApplicationError:
    code = getattr(error, "code", None)
    return ApplicationError(
        f"Stripe refused the request ({type(error).__name__}, code={code})",
        {"code": code, "http_status": error.http_status},
        type=type(error).__name__,
        non_retryable=True,
    )


def _metadata(session_id: str, **extra: str) -> dict[str, str]:
    # Opaque ids only: Stripe is outside our health-data boundary.
    return {"session_id": session_id, **extra}


def _on(account: str | None, **options: object) -> Any:
    """Request options on the connected account (``Stripe-Account``), or on the platform."""
    return {**options, "stripe_account": account} if account is not None else options


def card_clone_idempotency_key(session_id: str, payment_method_id: str, try_key: str | None = None) -> str:
    """One clone of the saved card per try at the PaymentIntent (``try_key``: the create's or the
    confirmation's own key). A clone has no customer on the therapist's account, and Stripe lets
    such a PaymentMethod pay once: a retry of the same request replays its clone (and its answer),
    while the next attempt, a new key generation or a confirmation after a lookup clones again.
    The first attempt's create keeps the plain ``session:{id}:card:{pm}``."""
    key = f"session:{session_id}:card:{payment_method_id}"
    if try_key is None or try_key == charge_idempotency_key(session_id, 1):
        return key
    return f"{key}:{try_key.removeprefix(f'session:{session_id}:')}"


class PaymentActivities:
    """Activities bound to one Stripe client (injected, so tests point it at the stand-in)."""

    def __init__(self, client: stripe.StripeClient, *, return_url: str | None = None) -> None:
        self._stripe = client
        # Sent with on-session confirmations: where the browser returns after a 3-D Secure redirect.
        self._return_url = return_url

    @activity.defn(name="charge_session")
    async def charge(self, request: ChargeRequest) -> ChargeResult:
        if request.connected_account_id is not None and (held := await self._held_account(request)):
            if activity.info().attempt > 1 or request.may_have_created_intent:
                # A retry (Temporal's, or a later business attempt that never learnt the id): an
                # earlier try may have charged under this key and lost the answer. Never "not
                # attempted" then: what Stripe holds for the session is the answer.
                return _counted(await self._held_after_a_try(request, held))
            return _counted(held)
        try:
            with _counting_outages("charge"):
                intent = await self._confirm_or_create(request)
        except stripe.CardError as declined:
            return _counted(_on_account(_declined_result(declined, request), request))
        except NON_RETRYABLE_STRIPE_ERRORS as refused:
            # Disabled between the check and the charge? Stripe's refusal carries no code for it
            # (a 400 naming the account): the account's own state tells. Held, not failed.
            if (
                request.connected_account_id is not None
                and isinstance(refused, _ACCOUNT_REFUSALS)
                and (held := await self._held_account(request)) is not None
            ):
                return _counted(held.model_copy(update={"attempted": True}))
            raise _non_retryable(refused) from refused
        return _counted(_on_account(_intent_result(intent), request, intent))

    async def _held_account(self, request: ChargeRequest) -> ChargeResult | None:
        """A HELD result when the therapist's connected account cannot take charges now (Stripe's
        own ``GET /v1/accounts/{id}``, not a webhook's word); None: charge it. Nothing is sent to
        the account, so no idempotency key is used."""
        assert request.connected_account_id is not None
        try:
            with _counting_outages("account"):
                account = await self._stripe.v1.accounts.retrieve_async(request.connected_account_id)
        except (stripe.InvalidRequestError, stripe.PermissionError) as refused:
            if not account_refusal_is_a_pause(refused):
                raise _non_retryable(refused) from refused  # our key's fault: ops, not a hold
            # Disconnected from the platform, or no such account: it cannot take the charge.
            return ChargeResult(outcome=ChargeOutcome.HELD, code="account_unavailable", attempted=False)
        except NON_RETRYABLE_STRIPE_ERRORS as refused:
            raise _non_retryable(refused) from refused
        if account.charges_enabled:
            return None
        requirements = account.requirements
        reason = requirements.disabled_reason if requirements is not None else None
        return ChargeResult(outcome=ChargeOutcome.HELD, code=reason or "charges_disabled", attempted=False)

    async def _held_after_a_try(self, request: ChargeRequest, held: ChargeResult) -> ChargeResult:
        """The account cannot charge now, but an earlier try may have: the session's PaymentIntent
        found on the account is reported as it stands (paid: the session is paid; open: held with
        its id, voided if the session is cancelled); none found, held as *attempted* all the same,
        so the next try takes a new key and looks again rather than trust a key Stripe may forget."""
        account = request.connected_account_id
        try:
            with _counting_outages("charge"):
                intent_id = request.payment_intent_id or await self._find_session_intent(
                    request.session_id, request.customer_id, account
                )
                intent = (
                    await self._stripe.v1.payment_intents.retrieve_async(
                        intent_id, _expanded(account), _on(account)
                    )
                    if intent_id is not None
                    else None
                )
        except _ACCOUNT_REFUSALS as refused:
            if not account_refusal_is_a_pause(refused):
                raise _non_retryable(refused) from refused
            # No longer connected: nothing can be read there; held as a try that may have charged.
            return held.model_copy(update={"attempted": True})
        except NON_RETRYABLE_STRIPE_ERRORS as refused:
            raise _non_retryable(refused) from refused
        if intent is not None and intent.status == "succeeded":
            return _on_account(_intent_result(intent), request, intent)
        return held.model_copy(
            update={"attempted": True, "payment_intent_id": intent.id if intent is not None else None}
        )

    async def _confirm_or_create(self, request: ChargeRequest) -> stripe.PaymentIntent:
        account = request.connected_account_id
        options: Any = _on(account, idempotency_key=request.idempotency_key)
        intent_id = request.payment_intent_id
        confirm_key = request.idempotency_key
        if request.may_have_created_intent:
            # An earlier attempt (or this one, under a key Stripe may have forgotten) may have
            # created the PaymentIntent and lost the answer for good: find it by its metadata
            # rather than create a second one.
            intent_id = await self._find_session_intent(request.session_id, request.customer_id, account)
            # What the lookup finds may have been created under this very key (an unanswered try
            # of this attempt), and Stripe refuses one key for two different requests: the
            # confirmation gets a key of its own. A known intent was never created under this key.
            confirm_key = request.confirm_idempotency_key
        if intent_id is None:
            params: Any = {
                "amount": request.amount_minor,
                "currency": request.currency,
                **await self._payer(request, request.idempotency_key),
                **self._presence(request),
                "confirm": True,
                "metadata": _metadata(request.session_id, attempt=str(request.attempt)),
                **_fee(request),
            }
            return await self._stripe.v1.payment_intents.create_async(params, options)
        current = await self._stripe.v1.payment_intents.retrieve_async(
            intent_id, _expanded(account), _on(account)
        )
        if current.status not in _CONFIRMABLE:
            # Already paid (e.g. on-session by the client) or cancelled: report, never re-charge.
            return current
        payer = await self._payer(request, confirm_key)
        confirm: Any = {
            "payment_method": payer["payment_method"],
            **self._presence(request),
            **_expanded(account),
        }
        confirm_options: Any = _on(account, idempotency_key=confirm_key)
        return await self._stripe.v1.payment_intents.confirm_async(intent_id, confirm, confirm_options)

    async def _payer(self, request: ChargeRequest, try_key: str) -> dict[str, Any]:
        """Who pays, with what. On the platform: the customer and their saved card. On a connected
        account the platform's customer does not exist: the card is cloned onto the account (a
        PaymentMethod of its own there, without a customer, used for this charge), and the
        PaymentIntent is the account's, asking for the fee (``expand`` brings its charge back)."""
        account = request.connected_account_id
        if account is None:
            return {"customer": request.customer_id, "payment_method": request.payment_method_id}
        clone_params: Any = {"customer": request.customer_id, "payment_method": request.payment_method_id}
        clone_options = _on(
            account,
            idempotency_key=card_clone_idempotency_key(
                request.session_id, request.payment_method_id, try_key
            ),
        )
        clone = await self._stripe.v1.payment_methods.create_async(clone_params, clone_options)
        return {"payment_method": clone.id, **_expanded(account)}

    def _presence(self, request: ChargeRequest) -> dict[str, object]:
        """Who is present (README rule 11). Off-session (merchant-initiated): ``off_session=true``,
        and a card that needs authentication is declined ``authentication_required``.
        On-session (the client waits): no ``off_session`` — Stripe answers ``requires_action``
        when the bank wants 3-D Secure, its client secret goes back to the client's browser —
        with ``use_stripe_sdk`` (Stripe.js runs the challenge in the page) and the
        ``return_url`` Stripe requires to confirm on-session a PaymentIntent that may redirect.
        A saved card needs no ``setup_future_usage``."""
        if request.off_session:
            return {"off_session": True}
        present: dict[str, object] = {"use_stripe_sdk": True}
        if self._return_url:
            present["return_url"] = self._return_url
        return present

    async def _find_session_intent(
        self, session_id: str, customer_id: str, account: str | None = None
    ) -> str | None:
        # The list endpoint is read-after-write consistent (search is not); newest first, paged.
        # On a connected account the PaymentIntent has no customer (the card is a clone there):
        # the account's own PaymentIntents are searched, newest first, within the same bound — a
        # session's intent is among the account's most recent.
        params: Any = {"limit": 100} if account is not None else {"customer": customer_id, "limit": 100}
        for _ in range(_MAX_LOOKUP_PAGES):
            listing = await self._stripe.v1.payment_intents.list_async(params, _on(account))
            for intent in listing.data:
                metadata = intent.metadata.to_dict() if intent.metadata is not None else {}
                if metadata.get("session_id") == session_id:
                    return intent.id
            if not listing.has_more or not listing.data:
                return None
            params = {**params, "starting_after": listing.data[-1].id}
        raise ApplicationError(
            "too many PaymentIntents to search for the session's", type="LookupTooLong", non_retryable=True
        )

    @activity.defn(name="read_payment")
    async def read(self, request: PaymentReadRequest) -> PaymentRead:
        """Read-only, so any retry is safe; a payment made on-session shows here before its webhook."""
        try:
            with _counting_outages("read"):
                account = request.connected_account_id
                intent_id = request.payment_intent_id or await self._find_session_intent(
                    request.session_id, request.customer_id, account
                )
                if intent_id is None:
                    return PaymentRead(payment_intent_status="none")
                current = await self._stripe.v1.payment_intents.retrieve_async(intent_id, None, _on(account))
        except NON_RETRYABLE_STRIPE_ERRORS as refused:
            raise _non_retryable(refused) from refused
        return PaymentRead(payment_intent_id=current.id, payment_intent_status=current.status)

    @activity.defn(name="void_payment")
    async def void(self, request: VoidRequest) -> VoidResult:
        intents = self._stripe.v1.payment_intents
        account = request.connected_account_id
        try:
            intent_id = request.payment_intent_id or await self._find_session_intent(
                request.session_id, request.customer_id, account
            )
            if intent_id is None:
                return VoidResult(voided=True, payment_intent_status="none")
            current = await intents.retrieve_async(intent_id, None, _on(account))
            if current.status in _VOIDABLE:
                options: Any = _on(account, idempotency_key=request.idempotency_key)
                params: Any = {"cancellation_reason": "abandoned"}
                try:
                    current = await intents.cancel_async(intent_id, params, options)
                except stripe.InvalidRequestError:
                    # The client paid (or Stripe moved it on) between our read and the cancel:
                    # report where it stands now instead of failing.
                    current = await intents.retrieve_async(intent_id, None, _on(account))
        except NON_RETRYABLE_STRIPE_ERRORS as refused:
            raise _non_retryable(refused) from refused
        return VoidResult(
            voided=current.status == "canceled",
            payment_intent_id=current.id,
            payment_intent_status=current.status,
        )

    @activity.defn(name="refund_payment")
    async def refund(self, request: RefundRequest) -> RefundResult:
        account = request.connected_account_id
        try:
            intent = await self._stripe.v1.payment_intents.retrieve_async(
                request.payment_intent_id, {"expand": ["latest_charge"]}, _on(account)
            )
            charge = intent.latest_charge
            if not isinstance(charge, stripe.Charge):
                raise ApplicationError(
                    "the PaymentIntent has no charge to refund", type="NothingToRefund", non_retryable=True
                )
            already = charge.amount_refunded
            # Never more than was captured, whatever the booking said.
            remaining = min(request.target_refunded_minor, charge.amount) - already
            if remaining <= 0:
                # A retry whose refund went through still returns the rest of the fee.
                await self._return_rest_of_fee(request, charge)
                return RefundResult(
                    refund_id=None,
                    amount_minor=0,
                    refunded_total_minor=already,
                    captured_minor=charge.amount,
                    **await self._fee_figures(charge, account),
                )
            params: Any = {
                "payment_intent": request.payment_intent_id,
                "amount": remaining,
                "metadata": _metadata(request.session_id, refund=str(request.refund_number)),
            }
            if account is not None:
                # Borne by the therapist's account (a direct charge); the commission goes back
                # with it, in proportion, when the rule says so (``domain.commission``).
                params["refund_application_fee"] = bool(request.refund_application_fee)
            options: Any = _on(account, idempotency_key=request.idempotency_key)
            refund = await self._stripe.v1.refunds.create_async(params, options)
            REFUNDS.inc()
            await self._return_rest_of_fee(request, charge)
            fees = await self._fee_figures(charge, account)
        except NON_RETRYABLE_STRIPE_ERRORS as refused:
            raise _non_retryable(refused) from refused
        return RefundResult(
            refund_id=refund.id,
            amount_minor=refund.amount,
            refunded_total_minor=already + refund.amount,
            captured_minor=charge.amount,
            **fees,
        )

    async def _return_rest_of_fee(self, request: RefundRequest, charge: stripe.Charge) -> None:
        """After a refund that completes the charge with the commission going back
        (``RefundRequest.return_whole_fee``), the platform returns what it still holds of its fee:
        Stripe's ``refund_application_fee`` gave back only this refund's proportion. The fee is the
        platform's own object (no ``Stripe-Account``); the amount is read fresh, so a retry after a
        lost answer finds the fee back and sends nothing, and the key (the request's) replays a
        return that went through."""
        if request.connected_account_id is None or not request.return_whole_fee:
            return
        fee_id = _fee_id(charge)
        if fee_id is None:
            return
        fee = await self._stripe.v1.application_fees.retrieve_async(fee_id)
        rest = fee.amount - fee.amount_refunded
        if rest <= 0:
            return
        await self._stripe.v1.application_fees.refunds.create_async(
            fee_id,
            {"amount": rest, "metadata": _metadata(request.session_id, refund=str(request.refund_number))},
            {"idempotency_key": request.fee_refund_idempotency_key},
        )

    async def _fee_figures(self, charge: stripe.Charge, account: str | None) -> dict[str, Any]:
        """The application fee on a connected account's charge, and how much of it is back with the
        therapist now: the platform's own ApplicationFee object (read without ``Stripe-Account``;
        the charge names it). Read-only, so a retry is safe."""
        if account is None:
            return {}
        figures: dict[str, Any] = {
            "connected_account_id": account,
            "application_fee_minor": charge.application_fee_amount,
        }
        fee_id = _fee_id(charge)
        if fee_id:
            application_fee = await self._stripe.v1.application_fees.retrieve_async(fee_id)
            figures["application_fee_minor"] = application_fee.amount
            figures["application_fee_refunded_minor"] = application_fee.amount_refunded
        return figures


def _fee_id(charge: stripe.Charge) -> str | None:
    """The id of the platform's ApplicationFee on a direct charge (expanded or not)."""
    fee = charge.application_fee
    fee_id = fee if isinstance(fee, str) else getattr(fee, "id", None)
    return fee_id or None


def _fee(request: ChargeRequest) -> dict[str, Any]:
    """The marketplace's commission on a direct charge (never on the platform's own charge)."""
    if request.connected_account_id is None or request.application_fee_minor is None:
        return {}
    return {"application_fee_amount": request.application_fee_minor}


def _expanded(account: str | None) -> Any:
    """On a connected account the PaymentIntent comes back with its charge, whose
    ``application_fee_amount`` is the fee actually taken."""
    return {"expand": ["latest_charge"]} if account is not None else {}


def _on_account(
    result: ChargeResult, request: ChargeRequest, intent: stripe.PaymentIntent | None = None
) -> ChargeResult:
    """A direct charge's result names its account and, once it succeeded, the fee taken."""
    if request.connected_account_id is None:
        return result
    fee: int | None = None
    if result.outcome is ChargeOutcome.SUCCEEDED and intent is not None:
        charge = intent.latest_charge
        fee = charge.application_fee_amount if isinstance(charge, stripe.Charge) else None
        if fee is None:
            fee = intent.application_fee_amount
    return result.model_copy(
        update={"connected_account_id": request.connected_account_id, "application_fee_minor": fee}
    )


_ACCOUNT_REFUSALS = (stripe.InvalidRequestError, stripe.PermissionError)
"""How Stripe refuses a charge on a connected account that cannot take it: a 400 without a code
("This Connect account cannot currently make live charges"), or a 403 ``account_invalid`` for an
account no longer connected. Told apart from our own bad requests by reading the account."""


def stripe_error_code(error: stripe.StripeError) -> str | None:
    """The error's code: stripe-python leaves ``error.code`` unset on a 403 (its PermissionError),
    the code is in the error object Stripe sent."""
    body = error.error
    return (body.code if body is not None else None) or error.code


def account_refusal_is_a_pause(error: stripe.StripeError) -> bool:
    """Stripe refusing a request about a connected account because the account cannot be acted
    on (a 403 ``account_invalid``: no longer connected, or no such account; or a 400 naming it),
    not because our own key lacks a permission (any other 403: a restricted key, our
    configuration's fault, for ops — never told to people as a pause)."""
    if isinstance(error, stripe.PermissionError):
        return stripe_error_code(error) == "account_invalid"
    return isinstance(error, stripe.InvalidRequestError)


def _counted(result: ChargeResult) -> ChargeResult:
    # Metrics carry the outcome and decline kind only (opaque codes, never ids).
    CHARGES.labels(outcome=str(result.outcome)).inc()
    if result.decline_kind is not None:
        DECLINES.labels(kind=str(result.decline_kind)).inc()
    return result


def _intent_result(intent: stripe.PaymentIntent) -> ChargeResult:
    if intent.status == "succeeded":
        outcome = ChargeOutcome.SUCCEEDED
    elif intent.status == "requires_action":
        outcome = ChargeOutcome.REQUIRES_ACTION
    else:
        outcome = ChargeOutcome.DECLINED
    return ChargeResult(
        outcome=outcome,
        payment_intent_id=intent.id,
        payment_intent_status=intent.status,
        client_secret=intent.client_secret if outcome is ChargeOutcome.REQUIRES_ACTION else None,
        decline_kind=DeclineKind.AUTHENTICATION_REQUIRED
        if outcome is ChargeOutcome.REQUIRES_ACTION
        else None,
    )


def _declined_result(declined: stripe.CardError, request: ChargeRequest) -> ChargeResult:
    error = declined.error
    intent = error.payment_intent if error is not None else None
    code = declined.code
    decline_code = error.decline_code if error is not None else None
    advice_code = error.advice_code if error is not None else None
    kind = classify_decline(code, decline_code, advice_code)
    return ChargeResult(
        outcome=ChargeOutcome.REQUIRES_ACTION
        if kind is DeclineKind.AUTHENTICATION_REQUIRED
        else ChargeOutcome.DECLINED,
        payment_intent_id=intent.id if intent is not None else request.payment_intent_id,
        payment_intent_status=intent.status if intent is not None else None,
        # Any decline leaves the intent open for the client to pay on-session (the bank's
        # authentication, or another card on a payment link): its secret is theirs to use.
        client_secret=intent.client_secret if intent is not None else None,
        decline_kind=kind,
        code=code,
        decline_code=decline_code,
        advice_code=advice_code,
    )
