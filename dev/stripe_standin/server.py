"""``StripeStandIn``: a loopback HTTP server the real ``stripe`` client can talk to.

Request pipeline for ``/v1`` (the order is the point — it decides what a retry observes):

1. authentication (401, never saved);
2. faults that happen *in front of* Stripe (500/429/409/dropped connection, never saved);
3. the ``Stripe-Account`` header: an account the platform does not have is 403
   ``account_invalid`` (never saved);
4. the idempotency layer, keys scoped per account as Stripe scopes them (replay, in-flight 409,
   parameter mismatch 400);
5. an optional ``delay`` fault, with the key already marked in flight;
6. execution on the header's account, then saving the result under the key when Stripe would;
7. an optional ``drop_after_commit`` fault: the response is lost after the commit.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlsplit

from ..loopback import LoopbackHTTPServer, LoopbackHTTPService
from ..loopback import require_loopback as _require_loopback
from . import disputes
from .connect import UNSET
from .control import handle_control
from .errors import ApiError, account_invalid, invalid_request
from .faults import PRE_EXECUTION_KINDS, TRANSIENT_FAULT_KINDS, AppliedFault, FaultPlan, FaultRule
from .forms import decode_form
from .idempotency import (
    IdempotencyLayer,
    InFlight,
    Mismatch,
    Replay,
    StoredResult,
    Ticket,
    fingerprint,
)
from .routes import match_route
from .store import API_VERSION, PLATFORM, Json, RequestContext, Store, new_id
from .webhooks import WebhookDelivery, WebhookSender
from .wire import Reply, json_bytes

__all__ = ["PLATFORM", "RecordedRequest", "StripeStandIn", "require_loopback"]

_log = logging.getLogger(__name__)

_MAX_IDEMPOTENCY_KEY = 255

_FAULT_REPLIES: dict[str, tuple[int, Json]] = {
    "error_500": (500, {"type": "api_error", "message": "An unknown error occurred."}),
    "invalid_request_400": (
        400,
        {"type": "invalid_request_error", "code": "injected_refusal", "message": "Refused by a test fault."},
    ),
    "rate_limit_429": (
        429,
        {
            "type": "invalid_request_error",
            "code": "rate_limit",
            "message": "Too many requests hit the API too quickly. We recommend an exponential "
            "backoff of your requests.",
        },
    ),
    "conflict_409": (
        409,
        {
            "type": "invalid_request_error",
            "code": "lock_timeout",
            "message": "This object cannot be accessed right now because another API request "
            "or Stripe process is currently accessing it.",
        },
    ),
}


def require_loopback(host: str) -> None:
    """Refuse to bind anything but loopback: this is a test double with no auth of its own."""
    _require_loopback(host, StripeStandIn._label)


@dataclass(frozen=True)
class RecordedRequest:
    """One ``/v1`` request as the stand-in saw it, for assertions in tests."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    params: dict[str, Any]
    raw_body: str
    idempotency_key: str | None
    request_id: str
    status: int | None  # None: the connection was dropped without a response
    fault: str | None
    replayed: bool

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _bearer_key(authorization: str | None) -> str | None:
    if authorization is None or not authorization.startswith("Bearer "):
        return None
    key = authorization.removeprefix("Bearer ").strip()
    return key if key.startswith(("sk_test_", "rk_test_")) else None


class StripeStandIn(LoopbackHTTPService):
    """A stateful, fault-injectable Stripe API double served on 127.0.0.1."""

    _label = "Stripe stand-in"
    _thread_name = "stripe-standin"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
    ) -> None:
        super().__init__(host, port)
        self._webhooks = WebhookSender(None, None)
        self._webhooks.configure(webhook_url, webhook_secret)
        self._store = Store(on_event=self._webhooks.enqueue)
        self._store.webhooks_enabled = self._webhooks.enabled
        self._faults = FaultPlan()
        self._idempotency = IdempotencyLayer()
        self._requests: list[RecordedRequest] = []
        self._requests_lock = threading.Lock()

    # --- lifecycle (start/stop/port/url come from LoopbackHTTPService) -----------------------

    def _make_server(self, address: tuple[str, int]) -> _Server:
        return _Server(address, self)

    def _on_start(self) -> None:
        self._webhooks.start()

    def _on_stop(self) -> None:
        self._webhooks.stop()

    # --- scripting ----------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget objects, idempotency keys, faults, pm overrides, events and recordings."""
        with self._store.lock:
            self._store.reset()
        self._idempotency.reset()
        self._faults.clear()
        self._webhooks.reset()
        with self._requests_lock:
            self._requests.clear()

    def add_fault(self, rule: FaultRule) -> None:
        self._faults.add(rule)

    def clear_faults(self) -> None:
        self._faults.clear()

    def pending_faults(self) -> list[dict[str, Any]]:
        return self._faults.pending()

    def set_random_faults(
        self,
        rate: float,
        seed: int | None = None,
        kinds: tuple[str, ...] = TRANSIENT_FAULT_KINDS,
        delay_seconds: float = 0.25,
    ) -> None:
        """Hit a ``rate`` fraction of ``/v1`` requests with a random kind; rate 0 disables."""
        self._faults.set_random(rate, seed, kinds, delay_seconds)

    def set_payment_method_behaviour(self, pm_id: str, behaviour: str) -> None:
        """What confirming with ``pm_id`` does from now on. Set on a platform card it also holds
        for the card's clones on connected accounts (the same card), except a clone given a
        behaviour of its own on its clone id."""
        with self._store.lock:
            self._store.set_pm_behaviour(pm_id, behaviour)

    def set_account_status(
        self,
        account_id: str,
        *,
        charges_enabled: bool | None = None,
        payouts_enabled: bool | None = None,
        disabled_reason: Any = UNSET,
    ) -> dict[str, Any]:
        """Model Stripe restricting (or re-enabling) a connected account: sends ``account.updated``
        (a Connect event, ``data.previous_attributes`` = what changed) and returns the account.
        ``disabled_reason`` is Stripe's ``requirements.disabled_reason`` (e.g.
        ``requirements.past_due``, ``rejected.fraud``, ``platform_paused``; None clears it). While
        ``charges_enabled`` is false, charges on the account are refused as Stripe refuses them."""
        with self._store.lock:
            return self._store.set_account_status(
                account_id,
                charges_enabled=charges_enabled,
                payouts_enabled=payouts_enabled,
                disabled_reason=disabled_reason,
            )

    def configure_webhook(self, url: str | None, secret: str | None) -> None:
        self._webhooks.configure(url, secret)
        with self._store.lock:
            self._store.webhooks_enabled = self._webhooks.enabled

    def authenticate_on_session(
        self, payment_intent_id: str, payment_method: str | None = None
    ) -> dict[str, Any]:
        """Simulate the customer paying in the browser (3DS completed), on the PI's card or a new
        one they enter (a payment link after a decline); returns the updated PI."""
        with self._store.lock:
            return self._store.authenticate_on_session(payment_intent_id, payment_method)

    def open_dispute(
        self, charge_id: str, *, reason: str = "general", amount: int | None = None, inquiry: bool = False
    ) -> dict[str, Any]:
        """The client's bank disputes a charge (``dev/stripe_standin/disputes.py``); the Dispute."""
        with self._store.lock:
            return disputes.open_dispute(
                self._store, charge_id, reason=reason, amount=amount, inquiry=inquiry
            )

    def close_dispute(self, dispute_id: str, outcome: str) -> dict[str, Any]:
        """The bank decides a dispute, ``won`` or ``lost``; the Dispute."""
        with self._store.lock:
            return disputes.close_dispute(self._store, dispute_id, outcome)

    def deliver_event(self, event_id: str, times: int = 1) -> list[int | None]:
        """Re-POST the stored payload of one event ``times`` times; returns HTTP statuses."""
        with self._store.lock:
            payload = self._store.event_payloads.get(event_id)
        if payload is None:
            raise KeyError(event_id)
        return self._webhooks.deliver_now(event_id, payload, times)

    # --- inspection ---------------------------------------------------------------------------

    # ``account`` in the inspection methods: None (the default) selects every account's objects,
    # an ``acct_…`` id that connected account's, and PLATFORM ("") the platform's own.

    def _select(self, table: str, account: str | None = None, **filters: str | None) -> list[dict[str, Any]]:
        with self._store.lock:
            rows: list[dict[str, Any]] = list(getattr(self._store, table).values())
            return copy.deepcopy(
                [
                    row
                    for row in rows
                    if (account is None or self._store.owner_of(row["id"]) == account)
                    and all(value is None or row.get(key) == value for key, value in filters.items())
                ]
            )

    def disputes(
        self, charge: str | None = None, payment_intent: str | None = None, account: str | None = None
    ) -> list[dict[str, Any]]:
        return self._select("disputes", account, charge=charge, payment_intent=payment_intent)

    def customers(self, account: str | None = None) -> list[dict[str, Any]]:
        return self._select("customers", account)

    def payment_intents(
        self,
        customer: str | None = None,
        metadata_session_id: str | None = None,
        account: str | None = None,
    ) -> list[dict[str, Any]]:
        return [
            pi
            for pi in self._select("payment_intents", account, customer=customer)
            if metadata_session_id is None or pi["metadata"].get("session_id") == metadata_session_id
        ]

    def charges(
        self, payment_intent: str | None = None, customer: str | None = None, account: str | None = None
    ) -> list[dict[str, Any]]:
        return self._select("charges", account, payment_intent=payment_intent, customer=customer)

    def refunds(self, payment_intent: str | None = None, account: str | None = None) -> list[dict[str, Any]]:
        return self._select("refunds", account, payment_intent=payment_intent)

    def events(self, type: str | None = None, account: str | None = None) -> list[dict[str, Any]]:
        return self._select("events", account, type=type)

    def payment_methods(self, account: str | None = None) -> list[dict[str, Any]]:
        """The PaymentMethods cloned onto connected accounts (test card ids are not stored)."""
        return self._select("payment_methods", account)

    def cloned_from(self, pm_id: str) -> str | None:
        """The platform card a clone copies; None for anything that is not a clone."""
        with self._store.lock:
            return self._store.pm_sources.get(pm_id)

    def application_fees(self, charge: str | None = None, account: str | None = None) -> list[dict[str, Any]]:
        """The platform's application fees, by the charge they came from or the connected
        account that paid them (the fee's ``account`` field; fees all live on the platform)."""
        return [
            fee
            for fee in self._select("application_fees", charge=charge)
            if account in (None, fee["account"])
        ]

    def accounts(self) -> list[dict[str, Any]]:
        return self._select("accounts")

    def account_of(self, object_id: str) -> str:
        """The connected account an object lives on; PLATFORM ("") for the platform's own."""
        with self._store.lock:
            return self._store.owner_of(object_id)

    def create_account(
        self,
        country: str = "GB",
        email: str | None = None,
        account_type: str = "standard",
        metadata: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """Create a connected account as ``POST /v1/accounts`` would (onboarding completed);
        ValueError for what Stripe would refuse."""
        params: dict[str, Any] = {"type": account_type, "country": country, "metadata": metadata or {}}
        if email is not None:
            params["email"] = email
        with self._store.lock:
            try:
                return copy.deepcopy(self._store.create_account(params, RequestContext()))
            except ApiError as exc:
                raise ValueError(str(exc)) from exc

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._requests_lock:
            return list(self._requests)

    def wait_until_in_flight(self, idempotency_key: str, timeout: float = 5.0) -> bool:
        """Test helper: True once a request with this key is executing (e.g. held by a delay)."""
        return self._idempotency.wait_for(idempotency_key, in_flight=True, timeout=timeout)

    def wait_until_settled(self, idempotency_key: str, timeout: float = 5.0) -> bool:
        """Test helper: True once no request with this key is executing any more."""
        return self._idempotency.wait_for(idempotency_key, in_flight=False, timeout=timeout)

    @property
    def deliveries(self) -> list[WebhookDelivery]:
        return self._webhooks.deliveries()

    def wait_for_deliveries(self, count: int, timeout: float = 5.0) -> list[WebhookDelivery]:
        """Test helper: wait until ``count`` delivery attempts are recorded; returns them all."""
        return self._webhooks.wait_for_deliveries(count, timeout)

    def state(self) -> dict[str, Any]:
        with self._store.lock:
            snapshot = self._store.snapshot()
        snapshot["faults"] = self._faults.pending()
        snapshot["deliveries"] = [d.to_json() for d in self.deliveries]
        snapshot["requests"] = [r.to_json() for r in self.requests]
        return snapshot

    # --- request handling ---------------------------------------------------------------------

    def handle_control(self, method: str, path: str, raw_body: str) -> Reply:
        return handle_control(self, method, path, raw_body)

    def handle_api(
        self, method: str, path: str, query: str, raw_body: str, headers: Mapping[str, str]
    ) -> Reply:
        lower = {k.lower(): v for k, v in headers.items()}
        request_id = new_id("req", 14)
        params = decode_form(raw_body if method == "POST" else query)
        key = lower.get("idempotency-key") if method == "POST" else None
        base: list[tuple[str, str]] = [
            ("Request-Id", request_id),
            ("Stripe-Version", lower.get("stripe-version", API_VERSION)),
        ]
        if key is not None:
            base.append(("Idempotency-Key", key))
        applied: AppliedFault | None = None

        def finish(status: int, body: bytes, *, replay_of: str | None = None) -> Reply:
            drop = applied is not None and applied.kind in ("drop_before_commit", "drop_after_commit")
            self._record(
                RecordedRequest(
                    method=method,
                    path=path,
                    query=query,
                    headers=dict(headers),
                    params=params,
                    raw_body=raw_body,
                    idempotency_key=key,
                    request_id=request_id,
                    status=None if drop else status,
                    fault=applied.kind if applied else None,
                    replayed=replay_of is not None,
                )
            )
            headers_out = list(base)
            if replay_of is not None:
                headers_out += [("Idempotent-Replayed", "true"), ("Original-Request", replay_of)]
            return Reply(status, body, tuple(headers_out), drop)

        def error(exc: ApiError) -> Reply:
            return finish(exc.status, json_bytes(exc.body()))

        api_key = _bearer_key(lower.get("authorization"))
        if api_key is None:
            return error(
                ApiError(
                    401,
                    {
                        "type": "invalid_request_error",
                        "message": "You did not provide a valid test API key. Provide it in the "
                        "Authorization header using Bearer auth (e.g. 'Authorization: Bearer "
                        "sk_test_...').",
                    },
                )
            )

        applied = self._faults.pick(method, path)
        if applied is not None and applied.kind in PRE_EXECUTION_KINDS:
            if applied.kind == "drop_before_commit":
                return finish(0, b"")
            status, err = _FAULT_REPLIES[applied.kind]
            return error(ApiError(status, dict(err)))

        account = lower.get("stripe-account", "").strip() or None
        if account is not None:
            with self._store.lock:
                known = self._store.has_account(account)
            if not known:
                return error(account_invalid(account, api_key))

        ticket: Ticket | None = None
        replay: StoredResult | None = None
        fp = fingerprint(method, path, params)
        if key is not None:
            if len(key) > _MAX_IDEMPOTENCY_KEY:
                return error(
                    invalid_request(f"Idempotency keys may be at most {_MAX_IDEMPOTENCY_KEY} characters.")
                )
            scope = (api_key, account or "", key)
            outcome = self._idempotency.begin(scope, fp)
            if isinstance(outcome, InFlight):
                return error(_key_in_use(key))
            if isinstance(outcome, Mismatch):
                return error(_key_mismatch(key))
            if isinstance(outcome, Replay):
                replay = outcome.result
            else:
                ticket = outcome

        if applied is not None and applied.kind == "delay":
            time.sleep(applied.delay_seconds)

        if replay is not None:
            return finish(replay.status, replay.body, replay_of=replay.request_id)

        try:
            status, body, storable = self._execute(
                method, path, params, RequestContext(request_id, key, account)
            )
        except BaseException:
            # Never leave a key stuck in flight: every later retry would get 409 forever.
            if ticket is not None:
                self._idempotency.abandon(ticket)
            raise
        if ticket is not None:
            if storable:
                self._idempotency.complete(ticket, StoredResult(fp, status, body, request_id))
            else:
                self._idempotency.abandon(ticket)
        return finish(status, body)

    def _execute(self, method: str, path: str, params: Json, ctx: RequestContext) -> tuple[int, bytes, bool]:
        found = match_route(method, path)
        if found is None:
            exc = invalid_request(f"Unrecognized request URL ({method}: {path})", status=404)
            return exc.status, json_bytes(exc.body()), False
        route, match = found
        try:
            with self._store.lock:
                result = route.handler(self._store, match, params, ctx)
            return 200, json_bytes(result), True
        except ApiError as exc:
            return exc.status, json_bytes(exc.body()), exc.storable
        except Exception:
            # Stripe saves execution-time 500s under the key too, so this is storable.
            _log.exception("stand-in handler failed for %s %s", method, path)
            body = {"error": {"type": "api_error", "message": "An unknown error occurred."}}
            return 500, json_bytes(body), True

    def _record(self, request: RecordedRequest) -> None:
        with self._requests_lock:
            self._requests.append(request)


def _key_in_use(key: str) -> ApiError:
    return ApiError(
        409,
        {
            "type": "invalid_request_error",
            "code": "idempotency_key_in_use",
            "message": f"There is currently another in-progress request using this Idempotent "
            f"Key (that probably means you submitted twice, and the other request is still "
            f"going through): {key}. Please try again later.",
        },
    )


def _key_mismatch(key: str) -> ApiError:
    return ApiError(
        400,
        {
            "type": "idempotency_error",
            "message": "Keys for idempotent requests can only be used with the same parameters "
            "they were first used with. Try using a key other than "
            f"'{key}' if you meant to execute a different request.",
        },
    )


class _Server(LoopbackHTTPServer):
    def __init__(self, address: tuple[str, int], standin: StripeStandIn) -> None:
        self.standin = standin  # what _Handler dispatches to
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "StripeStandIn/1.0"
    # One request per connection: a dropped connection then always means "this request's
    # response was lost", never a stale keep-alive socket.
    protocol_version = "HTTP/1.0"
    timeout = 30

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw_body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
        standin = self.server.standin
        if parts.path.startswith("/_standin/"):
            reply = standin.handle_control(method, parts.path, raw_body)
        else:
            headers = {k: v for k, v in self.headers.items()}
            reply = standin.handle_api(method, parts.path, parts.query, raw_body, headers)
        if reply.drop:
            self.close_connection = True
            return
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply.body)))
            for name, value in reply.headers:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError):
            _log.debug("client went away before the response for %s %s", method, parts.path)

    def log_message(self, format: str, *args: Any) -> None:
        _log.debug("%s - %s", self.address_string(), format % args)
