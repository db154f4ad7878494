"""The ``/_standin/`` JSON control API, so other processes can script the stand-in.

A module that models more of Stripe adds its own control routes with ``register_control``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from .connect import UNSET
from .faults import TRANSIENT_FAULT_KINDS, FaultRule
from .wire import Reply, json_reply

if TYPE_CHECKING:
    from .server import StripeStandIn

__all__ = ["handle_control", "register_control"]

Body = dict[str, Any]
_Action = Callable[["StripeStandIn", "re.Match[str]", Body], Any]


def _health(s: StripeStandIn, m: re.Match[str], body: Body) -> Any:
    return {"status": "ok", "url": s.url}


def _reset(s: StripeStandIn, m: re.Match[str], body: Body) -> Any:
    s.reset()
    return {"ok": True}


def _add_fault(s: StripeStandIn, m: re.Match[str], body: Body) -> Any:
    rule = FaultRule.from_json(body)
    s.add_fault(rule)
    return {"fault": rule.to_json()}


def _list_faults(s: StripeStandIn, m: re.Match[str], body: Body) -> Any:
    return {"faults": s.pending_faults()}


def _clear_faults(s: StripeStandIn, m: re.Match[str], body: Body) -> Any:
    s.clear_faults()
    return {"ok": True}


def _random_faults(s: StripeStandIn, m: re.Match[str], body: Body) -> Any:
    seed = body.get("seed")
    s.set_random_faults(
        rate=float(body.get("rate", 0.0)),
        seed=None if seed is None else int(seed),
        kinds=tuple(body.get("kinds", TRANSIENT_FAULT_KINDS)),
        delay_seconds=float(body.get("delay_seconds", 0.25)),
    )
    return {"ok": True}


def _pm_behaviour(s: StripeStandIn, m: re.Match[str], body: Body) -> Any:
    behaviour = body.get("behaviour")
    if not isinstance(behaviour, str):
        raise ValueError("behaviour (string) is required")
    s.set_payment_method_behaviour(m["id"], behaviour)
    return {"payment_method": m["id"], "behaviour": behaviour}


def _create_account(s: StripeStandIn, m: re.Match[str], body: Body) -> Any:
    unknown = set(body) - {"country", "email", "type", "metadata"}
    if unknown:
        raise ValueError(f"unknown account fields: {sorted(unknown)}")
    metadata = body.get("metadata") or {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise ValueError("metadata must be an object of strings")
    return s.create_account(
        country=str(body.get("country", "GB")),
        email=None if body.get("email") is None else str(body["email"]),
        account_type=str(body.get("type", "standard")),
        metadata=metadata,
    )


def _account_status(s: StripeStandIn, m: re.Match[str], body: Body) -> Any:
    unknown = set(body) - {"charges_enabled", "payouts_enabled", "disabled_reason"}
    if unknown:
        raise ValueError(f"unknown account status fields: {sorted(unknown)}")
    flags = {name: body.get(name) for name in ("charges_enabled", "payouts_enabled")}
    if any(value is not None and not isinstance(value, bool) for value in flags.values()):
        raise ValueError("charges_enabled and payouts_enabled must be booleans")
    reason = body.get("disabled_reason", UNSET)
    if reason is not UNSET and reason is not None and not isinstance(reason, str):
        raise ValueError("disabled_reason must be a string or null")
    return s.set_account_status(
        m["id"],
        charges_enabled=flags["charges_enabled"],
        payouts_enabled=flags["payouts_enabled"],
        disabled_reason=reason,
    )


def _authenticate(s: StripeStandIn, m: re.Match[str], body: Body) -> Any:
    payment_method = body.get("payment_method")
    if payment_method is not None and not isinstance(payment_method, str):
        raise ValueError("payment_method must be a string")
    return s.authenticate_on_session(m["id"], payment_method)


def _state(s: StripeStandIn, m: re.Match[str], body: Body) -> Any:
    return s.state()


def _deliver(s: StripeStandIn, m: re.Match[str], body: Body) -> Any:
    times = int(body.get("times", 1))
    if times < 1:
        raise ValueError("times must be at least 1")
    return {"event": m["id"], "statuses": s.deliver_event(m["id"], times=times)}


def _webhook(s: StripeStandIn, m: re.Match[str], body: Body) -> Any:
    s.configure_webhook(body.get("url"), body.get("secret"))
    return {"ok": True}


def _open_dispute(s: StripeStandIn, m: re.Match[str], body: Body) -> Any:
    amount = body.get("amount")
    return s.open_dispute(
        m["id"],
        reason=str(body.get("reason", "general")),
        amount=None if amount is None else int(amount),
        inquiry=bool(body.get("inquiry", False)),
    )


def _close_dispute(s: StripeStandIn, m: re.Match[str], body: Body) -> Any:
    return s.close_dispute(m["id"], str(body.get("outcome", "")))


_ID = r"(?P<id>[A-Za-z0-9_\-]+)"

_ACTIONS: Final[list[tuple[str, re.Pattern[str], _Action]]] = list(
    (method, re.compile(pattern), action)
    for method, pattern, action in (
        ("GET", r"^/_standin/health$", _health),
        ("POST", r"^/_standin/reset$", _reset),
        ("GET", r"^/_standin/faults$", _list_faults),
        ("POST", r"^/_standin/faults$", _add_fault),
        ("DELETE", r"^/_standin/faults$", _clear_faults),
        ("POST", r"^/_standin/random_faults$", _random_faults),
        ("POST", rf"^/_standin/payment_methods/{_ID}$", _pm_behaviour),
        ("POST", rf"^/_standin/payment_intents/{_ID}/authenticate$", _authenticate),
        ("POST", r"^/_standin/accounts$", _create_account),
        ("POST", rf"^/_standin/accounts/{_ID}$", _account_status),
        ("GET", r"^/_standin/state$", _state),
        ("POST", rf"^/_standin/events/{_ID}/deliver$", _deliver),
        ("POST", r"^/_standin/webhook$", _webhook),
        ("POST", rf"^/_standin/charges/{_ID}/dispute$", _open_dispute),
        ("POST", rf"^/_standin/disputes/{_ID}/close$", _close_dispute),
    )
)


def register_control(method: str, pattern: str, action: _Action) -> None:
    """Serve one more control route; the action's KeyError is a 404, ValueError a 400."""
    _ACTIONS.append((method, re.compile(pattern), action))


def _error(status: int, message: str) -> Reply:
    return json_reply(status, {"error": {"message": message}})


def handle_control(standin: StripeStandIn, method: str, path: str, raw_body: str) -> Reply:
    for action_method, pattern, action in _ACTIONS:
        match = pattern.match(path)
        if match is None or action_method != method:
            continue
        try:
            body = json.loads(raw_body) if raw_body.strip() else {}
        except json.JSONDecodeError as exc:
            return _error(400, f"body is not JSON: {exc}")
        if not isinstance(body, dict):
            return _error(400, "body must be a JSON object")
        try:
            return json_reply(200, action(standin, match, body))
        except KeyError as exc:
            return _error(404, f"not found: {exc.args[0] if exc.args else exc}")
        except (ValueError, TypeError, RuntimeError) as exc:
            return _error(400, str(exc))
    return _error(404, f"unknown control route {method} {path}")
