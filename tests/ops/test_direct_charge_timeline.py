"""The ops timeline of a session charged on the therapist's connected account (issue 14): per
charge and refund, the amount, the commission (charged, returned) and the account — read back from
a recorded history; a platform session's timeline shows no fee at all."""

from __future__ import annotations

import json
from pathlib import Path

from temporalio.client import WorkflowHistory

from temporal_client.converter import DATA_CONVERTER
from temporal_client.timeline import DetailValue, TimelineEvent, timeline_from_history

HISTORIES = Path(__file__).resolve().parents[1] / "histories"
CANCELLED = HISTORIES / "a_therapists_cancellation_refunds_the_client_in_full_and_returns_the_commission.json"
PLATFORM = HISTORIES / "a_new_card_after_a_hard_decline_is_charged_at_once.json"


async def timeline_of(path: Path) -> list[TimelineEvent]:
    history = WorkflowHistory.from_json("session-recorded", json.loads(path.read_text()))  # noqa: ASYNC240
    timeline = await timeline_from_history(history, DATA_CONVERTER)
    assert timeline.undecodable_payloads == 0
    return timeline.events


def of(events: list[TimelineEvent], kind: str, activity_type: str) -> list[dict[str, DetailValue]]:
    return [e.detail for e in events if e.kind == kind and e.detail.get("activity_type") == activity_type]


async def test_each_direct_charge_and_refund_shows_its_amount_commission_and_account() -> None:
    events = await timeline_of(CANCELLED)
    [booked] = [e.detail for e in events if e.kind == "workflow_started"]
    account = booked["connected_account_id"]
    assert isinstance(account, str) and account.startswith("acct_")

    [charge] = of(events, "activity_scheduled", "charge_session")
    [charged] = of(events, "activity_completed", "charge_session")
    [refund] = of(events, "activity_scheduled", "refund_payment")
    [refunded] = of(events, "activity_completed", "refund_payment")

    assert (charge["amount_minor"], charge["application_fee_minor"], charge["connected_account_id"]) == (
        6000,
        720,
        account,
    )
    assert (charged["outcome"], charged["application_fee_minor"], charged["connected_account_id"]) == (
        "succeeded",
        720,
        account,
    )
    asked = (
        refund["target_refunded_minor"],
        refund["refund_application_fee"],
        refund["connected_account_id"],
    )
    assert asked == (6000, True, account)
    assert (
        refunded["amount_minor"],
        refunded["application_fee_minor"],
        refunded["application_fee_refunded_minor"],
        refunded["connected_account_id"],
    ) == (6000, 720, 720, account)
    [closed] = [e.detail for e in events if e.kind == "workflow_completed"]
    assert (closed["application_fee_minor"], closed["application_fee_refunded_minor"]) == (720, 720)


async def test_a_platform_charge_shows_no_account_and_no_fee() -> None:
    events = await timeline_of(PLATFORM)

    fee_fields = {"connected_account_id", "application_fee_minor", "application_fee_refunded_minor"}
    assert all(not fee_fields & e.detail.keys() for e in events)
