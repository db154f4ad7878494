"""The contract test's validator (tests/standin/openapi/) catches each kind of drift from Stripe's
published shapes, and the vendored subset matches the stand-in's routes and its own refresh script.
No server: objects come from the stand-in's Store, called in-process."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest
from stripe._api_version import _ApiVersion

from dev.stripe_standin.routes import ROUTES
from dev.stripe_standin.store import API_VERSION, Json, RequestContext, Store
from tests.standin.openapi import extract
from tests.standin.openapi.contract import SPEC, Contract

CONTRACT = Contract()


@pytest.fixture
def paid() -> Json:
    """A succeeded off-session PaymentIntent, as the stand-in answers it."""
    store = Store(on_event=lambda event_id, payload: None)
    with store.lock:
        return store.create_payment_intent(
            {
                "amount": 6000,
                "currency": "gbp",
                "customer": "cus_x",
                "payment_method": "pm_card_visa",
                "confirm": True,
                "off_session": True,
                "expand": ["latest_charge"],
            },
            RequestContext("req_1", "k"),
        )


def violations(body: Any, method: str = "GET", path: str = "/v1/payment_intents/pi_x") -> list[str]:
    return CONTRACT.check(method, path, 200, body)


def test_the_stand_ins_paid_payment_intent_is_valid(paid: Json) -> None:
    assert violations(paid) == []


def test_a_null_where_stripe_never_sends_one_is_a_violation_at_its_path(paid: Json) -> None:
    paid["amount"] = None
    assert violations(paid) == ["$.amount: None is not of type 'integer'"]


def test_a_field_stripe_does_not_define_is_a_violation(paid: Json) -> None:
    paid["latest_charge"]["invented"] = 1
    assert violations(paid) == [
        "$.latest_charge: Additional properties are not allowed ('invented' was unexpected)"
    ]


def test_a_field_the_current_api_returns_missing_is_a_violation(paid: Json) -> None:
    del paid["customer_account"]  # added after the vendored spec: known from the current fixture
    assert violations(paid) == ["$: 'customer_account' is a required property"]


def test_an_expandable_field_is_an_id_or_the_whole_object_and_nothing_else(paid: Json) -> None:
    as_id = copy.deepcopy(paid)
    as_id["latest_charge"] = paid["latest_charge"]["id"]
    assert violations(as_id) == []
    paid["latest_charge"] = 42
    assert violations(paid) == ["$.latest_charge: 42 is not of type 'string'"]


def test_a_value_outside_stripes_enum_is_a_violation(paid: Json) -> None:
    paid["status"] = "paid"
    assert len(violations(paid)) == 1 and violations(paid)[0].startswith("$.status: 'paid' is not one of")


def test_an_error_is_checked_against_stripes_error_object() -> None:
    ok = {"error": {"type": "invalid_request_error", "code": "resource_missing", "message": "No such"}}
    assert CONTRACT.check("GET", "/v1/charges/ch_x", 404, ok) == []
    bad = {"error": {"type": "not_a_type", "message": "x"}}
    assert len(CONTRACT.check("GET", "/v1/charges/ch_x", 404, bad)) == 1


def test_an_events_data_object_is_checked_as_its_own_kind(paid: Json) -> None:
    charge = paid["latest_charge"]
    event = {
        "id": "evt_1",
        "object": "event",
        "api_version": "2026-10-28.endive",
        "created": 1,
        "data": {"object": {**charge, "amount": "6000"}},
        "livemode": False,
        "pending_webhooks": 0,
        "request": {"id": None, "idempotency_key": None},
        "type": "charge.succeeded",
    }
    assert CONTRACT.check_object(event) == [
        "charge.succeeded.data.object.amount: '6000' is not of type 'integer'"
    ]


def test_a_literal_path_segment_picks_its_own_operation() -> None:
    assert CONTRACT.operation("GET", "/v1/account").template == "/v1/account"
    assert CONTRACT.operation("GET", "/v1/accounts/acct_1").template == "/v1/accounts/{account}"


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.pattern.pattern}")
def test_the_vendored_spec_holds_an_operation_for_every_stand_in_route(route: Any) -> None:
    samples = [
        re.sub(r"\{[a-z_]+\}", "xyz_1", op.template)
        for op in CONTRACT.operations
        if op.method == route.method.lower()
    ]
    assert any(route.pattern.match(sample) for sample in samples), (
        "add its operation to tests/standin/openapi/extract.py OPERATIONS and re-extract"
    )


def test_the_vendored_spec_is_what_the_refresh_script_extracts() -> None:
    paths = json.loads(SPEC.read_text())["paths"]
    vendored = {(method, template) for template, methods in paths.items() for method in methods}
    assert vendored == set(extract.OPERATIONS), "re-run tests/standin/openapi/extract.py"
    assert set(CONTRACT.fixtures) == set(extract.OBJECTS)


def test_the_sdk_whose_fields_the_contract_allows_pins_the_stand_ins_api_version() -> None:
    # The pinned stripe-python's classes name the current fields (contract.SDK_RESOURCES): they
    # are the stand-in's API only while both speak the same version.
    assert _ApiVersion.CURRENT == API_VERSION
