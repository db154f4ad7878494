"""The benchmark's own helpers, without a server: counts and wiring only, never timings."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import httpx

from bench.__main__ import parse_args
from bench.lanes import run_lanes
from bench.lifecycle import compressed_policy, make_booking
from bench.sink import TimingSink
from domain.booking import check_booking
from domain.ids import is_opaque_id


async def test_the_sink_records_each_notification_and_wakes_its_waiter() -> None:
    sink = TimingSink()
    await sink.start()
    try:
        since = time.monotonic()
        async with httpx.AsyncClient() as http:
            for index in range(3):
                response = await http.post(
                    sink.url, json={"type": "charge_succeeded", "session_id": f"s{index}"}
                )
                assert response.status_code == 200
        assert await sink.reach("charge_succeeded", 3, since=since, timeout=5)
        assert [a.session_id for a in sink.of_type("charge_succeeded")] == ["s0", "s1", "s2"]
    finally:
        await sink.stop()


async def test_lanes_run_every_item_and_count_failures_by_type() -> None:
    async def item(index: int) -> float | None:
        if index % 4 == 0:
            raise ValueError("refused")
        return None

    phase = await run_lanes("smoke", 10, 3, item, timeout=5)
    assert (phase.ok, phase.errors) == (7, {"ValueError": 3})


def test_the_compressed_policy_books_a_one_minute_session_charged_by_timer() -> None:
    now = datetime.now(UTC)
    policy = compressed_policy(timedelta(seconds=10))
    booking = make_booking("lcsmoke", 7, now + timedelta(seconds=30), therapists=10)
    check_booking(booking, now, policy)
    assert all(is_opaque_id(i) for i in (booking.session_id, booking.therapist_id, booking.client_id))
    assert booking.start - policy.charge_attempt_offsets[0] > now


def test_quick_skips_the_capacity_run_unless_asked() -> None:
    assert parse_args(["--quick"]).capacity == 0
    assert parse_args(["--quick", "--capacity", "500"]).capacity == 500
    assert parse_args([]).capacity == 20_000
