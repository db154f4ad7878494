"""A project-owned, stateful Stripe API stand-in for tests and local demos.

It serves the real ``stripe`` client over HTTP on loopback, keeps PaymentIntents, Charges,
Refunds and Events in memory, implements Stripe's v1 idempotency semantics, can inject the
network and server failures a payment client must survive, and sends signed webhooks.

Stripe Connect direct charges (``connect.py``, ``store.py``):

* ``Stripe-Account: acct_…`` acts on that connected account. Objects belong to the account they
  were made on; another account's (or the platform's, and vice versa) is ``resource_missing``;
  lists and ``/v1/events`` show the account's own; idempotency keys are scoped per account; an
  account the platform does not have is 403 ``account_invalid``. Events caused on a connected
  account carry ``"account"`` and are read back with its header; platform events have none.
* ``POST /v1/accounts``, ``GET /v1/accounts[/{id}]``; ``set_account_status`` /
  ``POST /_standin/accounts/{id}`` send ``account.updated`` with ``previous_attributes``; a charge
  while ``charges_enabled`` is false is Stripe's 400 (no code).
* ``POST /v1/payment_methods`` {customer, payment_method} with the header clones a platform card
  onto the account; the clone behaves like its original, including a behaviour set on the
  original after cloning (unless the clone gets its own); ``GET /v1/payment_methods/{id}``.
* ``application_fee_amount`` (header required, at most the amount) makes an ``ApplicationFee`` on
  the platform (``GET /v1/application_fees[/{id}]``, ``?charge=``); ``refund_application_fee``
  returns it in proportion with a ``fee_refund``; ``POST /v1/application_fees/{id}/refunds``.

Inspection methods (``payment_intents()``, ``charges()``, ``refunds()``, ``events()``…) take
``account=``: None for every account, an ``acct_…`` id, or ``PLATFORM`` for the platform's own.
New Stripe routes are added with ``routes.register_routes``.

Every answer is shaped as Stripe's (``shapes.py`` holds the fields no rule touches):
``tests/standin/test_openapi_contract.py`` validates each route's answers, errors and events
against Stripe's published OpenAPI specification (``tests/standin/openapi/``) and fails for a
route none of its scenarios validated — a new route needs its operation vendored and a scenario.
"""

from .faults import ALL_FAULT_KINDS, FaultKind, FaultRule
from .server import PLATFORM, RecordedRequest, StripeStandIn
from .webhooks import WebhookDelivery

__all__ = [
    "ALL_FAULT_KINDS",
    "PLATFORM",
    "FaultKind",
    "FaultRule",
    "RecordedRequest",
    "StripeStandIn",
    "WebhookDelivery",
]
