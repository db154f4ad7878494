"""The webhook relay holds one session's events until its script releases them.

``paid_at_the_wire`` relies on it: the ``payment_intent.succeeded`` of an on-session payment made
just before the auto-cancel must reach the API only after the auto-cancel was decided. No server
is started: deliveries are recorded instead of posted.
"""

from __future__ import annotations

import asyncio
import json
import random

import pytest

from faults.relay import WebhookRelay


def event(event_type: str, session_id: str) -> bytes:
    return json.dumps(
        {
            "id": f"evt_{event_type}_{session_id}",
            "type": event_type,
            "data": {"object": {"metadata": {"session_id": session_id}}},
        }
    ).encode()


async def test_a_held_event_waits_for_its_release_and_others_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    relay = WebhookRelay(
        port=0,
        targets=["http://127.0.0.1:9/webhook"],
        secret="whsec_test",
        rng=random.Random(1),
        max_hold_seconds=0.0,
        duplicate_rate=0.0,
    )
    delivered: list[bytes] = []

    async def deliver(body: bytes) -> bool:
        delivered.append(body)
        return True

    monkeypatch.setattr(relay, "_deliver", deliver)
    release = relay.hold("ses_a", {"payment_intent.succeeded"})
    held = event("payment_intent.succeeded", "ses_a")
    same_session_other_type = event("payment_intent.payment_failed", "ses_a")
    other_session = event("payment_intent.succeeded", "ses_b")

    waiting = asyncio.create_task(relay._relay(1, held))
    await asyncio.wait_for(relay._relay(2, same_session_other_type), 5)
    await asyncio.wait_for(relay._relay(3, other_session), 5)

    assert delivered == [same_session_other_type, other_session]
    assert not waiting.done()
    release.set()
    await asyncio.wait_for(waiting, 5)
    assert delivered[-1] == held
    assert relay.counts.held_for_session == 1
    # Once released (a redelivery at the end of the run), the same event passes without a hold.
    await asyncio.wait_for(relay._relay(4, held), 5)
    assert relay.counts.held_for_session == 1
