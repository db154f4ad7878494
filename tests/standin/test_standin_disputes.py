"""The stand-in's disputes (``dev/stripe_standin/disputes.py``), driven through the real stripe client."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest
import stripe

from dev.stripe_standin import StripeStandIn
from dev.stripe_standin.disputes import EVIDENCE_FIELDS

stripe.enable_telemetry = False

API_KEY = "sk_test_standin_disputes"


@pytest.fixture(scope="module")
def standin() -> Iterator[StripeStandIn]:
    with StripeStandIn() as server:
        yield server


@pytest.fixture(autouse=True)
def _fresh(standin: StripeStandIn) -> None:
    standin.reset()


@pytest.fixture
def client(standin: StripeStandIn) -> stripe.StripeClient:
    return stripe.StripeClient(
        API_KEY,
        base_addresses={"api": standin.url},
        http_client=stripe.HTTPXClient(timeout=5.0, allow_sync_methods=True),
        max_network_retries=0,
    )


def paid_charge(client: stripe.StripeClient, amount: int = 6000) -> tuple[str, str]:
    intent = client.v1.payment_intents.create(
        {
            "amount": amount,
            "currency": "gbp",
            "customer": "cus_test",
            "payment_method": f"pm_card_visa_{uuid.uuid4().hex[:8]}",
            "off_session": True,
            "confirm": True,
            "metadata": {"session_id": "s-1"},
        }
    )
    assert intent.latest_charge is not None
    return intent.id, str(intent.latest_charge)


def test_a_dispute_opened_on_a_charge_is_shaped_as_stripes_and_marks_the_charge_disputed(
    standin: StripeStandIn, client: stripe.StripeClient
) -> None:
    intent_id, charge_id = paid_charge(client)
    opened = standin.open_dispute(charge_id, reason="product_not_received")
    assert opened["id"].startswith("dp_")
    assert opened["object"] == "dispute"
    assert opened["status"] == "needs_response"
    assert (opened["amount"], opened["currency"]) == (6000, "gbp")
    assert (opened["charge"], opened["payment_intent"]) == (charge_id, intent_id)
    assert opened["reason"] == "product_not_received"
    assert opened["is_charge_refundable"] is False
    assert set(opened["evidence"]) == {*EVIDENCE_FIELDS, "enhanced_evidence"}
    assert all(opened["evidence"][field] is None for field in EVIDENCE_FIELDS)
    assert set(opened["evidence_details"]) >= {"due_by", "has_evidence", "past_due", "submission_count"}
    retrieved = client.v1.disputes.retrieve(opened["id"])
    assert isinstance(retrieved, stripe.Dispute)
    assert retrieved.to_dict() == opened
    assert client.v1.charges.retrieve(charge_id).disputed is True
    (event,) = standin.events(type="charge.dispute.created")
    assert event["data"]["object"]["id"] == opened["id"]


def test_evidence_submitted_puts_the_dispute_under_review_and_is_announced(
    standin: StripeStandIn, client: stripe.StripeClient
) -> None:
    _, charge_id = paid_charge(client)
    dispute_id = standin.open_dispute(charge_id)["id"]
    staged = client.v1.disputes.update(
        dispute_id,
        {"evidence": {"service_date": "2026-12-01"}, "submit": False, "metadata": {"session_id": "s-1"}},
    )
    assert staged.status == "needs_response"
    assert staged.evidence.service_date == "2026-12-01"
    assert staged.evidence_details.has_evidence is True
    submitted = client.v1.disputes.update(dispute_id, {"evidence": {"product_description": "one session"}})
    assert submitted.status == "under_review"
    assert submitted.evidence_details.submission_count == 1
    assert submitted.metadata.to_dict() == {"session_id": "s-1"}
    assert len(standin.events(type="charge.dispute.updated")) == 2
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.disputes.update(dispute_id, {"evidence": {"service_date": "2026-12-02"}})


def test_unknown_evidence_fields_are_refused_and_change_nothing(
    standin: StripeStandIn, client: stripe.StripeClient
) -> None:
    _, charge_id = paid_charge(client)
    dispute_id = standin.open_dispute(charge_id)["id"]
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.disputes.update(dispute_id, {"evidence": {"diagnosis": "x"}})  # type: ignore[arg-type]
    assert refused.value.param == "evidence[diagnosis]"
    assert client.v1.disputes.retrieve(dispute_id).status == "needs_response"


def test_a_refund_of_a_charged_back_charge_fails_charge_disputed_until_the_dispute_is_won(
    standin: StripeStandIn, client: stripe.StripeClient
) -> None:
    intent_id, charge_id = paid_charge(client)
    dispute_id = standin.open_dispute(charge_id, amount=4000)["id"]
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.refunds.create({"payment_intent": intent_id, "amount": 1000})
    assert refused.value.code == "charge_disputed"
    closed = standin.close_dispute(dispute_id, "won")
    assert (closed["status"], closed["is_charge_refundable"]) == ("won", True)
    (event,) = standin.events(type="charge.dispute.closed")
    assert event["data"]["object"]["status"] == "won"
    refund = client.v1.refunds.create({"payment_intent": intent_id, "amount": 1000})
    assert refund.amount == 1000


def test_a_lost_dispute_keeps_the_charge_unrefundable(
    standin: StripeStandIn, client: stripe.StripeClient
) -> None:
    intent_id, charge_id = paid_charge(client)
    dispute_id = standin.open_dispute(charge_id)["id"]
    closed = client.v1.disputes.close(dispute_id)  # the merchant accepts it
    assert closed.status == "lost"
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.refunds.create({"payment_intent": intent_id})
    assert refused.value.code == "charge_disputed"
    with pytest.raises(ValueError, match="already lost"):
        standin.close_dispute(dispute_id, "won")


def test_an_inquiry_leaves_the_charge_refundable(standin: StripeStandIn, client: stripe.StripeClient) -> None:
    intent_id, charge_id = paid_charge(client)
    inquiry = standin.open_dispute(charge_id, inquiry=True)
    assert (inquiry["status"], inquiry["is_charge_refundable"]) == ("warning_needs_response", True)
    assert client.v1.refunds.create({"payment_intent": intent_id}).amount == 6000


def test_disputes_are_listed_by_charge_and_by_payment_intent(
    standin: StripeStandIn, client: stripe.StripeClient
) -> None:
    first_intent, first_charge = paid_charge(client)
    _, second_charge = paid_charge(client)
    first = standin.open_dispute(first_charge)["id"]
    second = standin.open_dispute(second_charge)["id"]
    assert [d.id for d in client.v1.disputes.list()] == [second, first]
    assert [d.id for d in client.v1.disputes.list({"charge": second_charge})] == [second]
    assert [d.id for d in client.v1.disputes.list({"payment_intent": first_intent})] == [first]


def test_the_control_api_opens_and_closes_disputes(
    standin: StripeStandIn, client: stripe.StripeClient
) -> None:
    _, charge_id = paid_charge(client)
    with httpx.Client(base_url=standin.url, timeout=5.0) as http:
        opened = http.post(f"/_standin/charges/{charge_id}/dispute", json={"reason": "fraudulent"}).json()
        assert (opened["status"], opened["reason"]) == ("needs_response", "fraudulent")
        again = http.post(f"/_standin/charges/{charge_id}/dispute", json={})
        assert again.status_code == 400  # one open dispute per charge
        closed = http.post(f"/_standin/disputes/{opened['id']}/close", json={"outcome": "lost"}).json()
        assert closed["status"] == "lost"
        assert http.post("/_standin/charges/ch_nope/dispute", json={}).status_code == 404


def test_a_dispute_of_a_connected_accounts_charge_lives_on_that_account_and_its_events_name_it(
    standin: StripeStandIn, client: stripe.StripeClient
) -> None:
    account = client.v1.accounts.create({"type": "standard", "country": "GB"}).id
    on_account: stripe.RequestOptions = {"stripe_account": account}
    intent = client.v1.payment_intents.create(
        {
            "amount": 6000,
            "currency": "gbp",
            "payment_method": "pm_card_visa",
            "off_session": True,
            "confirm": True,
            "metadata": {"session_id": "s-1"},
        },
        on_account,
    )
    dispute_id = standin.open_dispute(str(intent.latest_charge))["id"]
    assert client.v1.disputes.retrieve(dispute_id, None, on_account).payment_intent == intent.id
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.disputes.retrieve(dispute_id)  # not the platform's
    assert [d.id for d in client.v1.disputes.list(None, on_account)] == [dispute_id]
    assert list(client.v1.disputes.list()) == []
    standin.close_dispute(dispute_id, "lost")
    events = [e for e in standin.events() if e["type"].startswith("charge.dispute.")]
    assert [(e["type"], e.get("account")) for e in events] == [
        ("charge.dispute.created", account),
        ("charge.dispute.closed", account),
    ]
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.refunds.create({"payment_intent": intent.id}, on_account)
    assert refused.value.code == "charge_disputed"
