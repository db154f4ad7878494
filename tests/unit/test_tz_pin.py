"""Time-zone rules come from the pinned ``tzdata`` package, never from the host's files.

``zoneinfo`` reads the host's database (``/usr/share/zoneinfo``) before the ``tzdata`` package, so
two workers on different hosts could resolve one wall-clock time to different instants. British
Columbia moved to permanent UTC-7 (tzdata 2026a): America/Vancouver in December 2026 is -07:00 in
the pinned data and -08:00 in an older host database (2025b on the dev machine this was found on).
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, date, datetime, time, timedelta
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from domain.slots import WeeklySlotRule, occurrences, resolve_local, same_time_next_week

ROOT = Path(__file__).resolve().parents[2]
VANCOUVER = "America/Vancouver"
DECEMBER_2026 = datetime(2026, 12, 15, 12)


def pinned_offset(zone: str, local: datetime) -> timedelta | None:
    """The offset the pinned ``tzdata`` package gives, read from its own file (no search path)."""
    package = "tzdata.zoneinfo." + ".".join(zone.split("/")[:-1])
    with resources.files(package).joinpath(zone.split("/")[-1]).open("rb") as file:
        return local.replace(tzinfo=ZoneInfo.from_file(file)).utcoffset()


def test_the_pinned_data_has_vancouver_on_permanent_utc_minus_7() -> None:
    assert pinned_offset(VANCOUVER, DECEMBER_2026) == timedelta(hours=-7)


def test_this_process_resolves_zones_from_the_pinned_data() -> None:
    instant = resolve_local(DECEMBER_2026.date(), DECEMBER_2026.time(), VANCOUVER)
    offset = pinned_offset(VANCOUVER, DECEMBER_2026)
    assert offset is not None
    assert instant == (DECEMBER_2026 - offset).replace(tzinfo=UTC)
    assert instant.astimezone(ZoneInfo(VANCOUVER)).utcoffset() == offset


def test_a_vancouver_weekly_slot_in_december_2026_is_utc_minus_7() -> None:
    rule = WeeklySlotRule(weekday=DECEMBER_2026.weekday(), local_time=time(12), duration_minutes=50)
    starts = [start for start, _ in occurrences(rule, VANCOUVER, date(2026, 12, 1), date(2026, 12, 31))]
    # 12:00 at -07:00 is 19:00 UTC (the host's 2025b data said -08:00, 20:00 UTC).
    assert len(starts) == 5
    assert all((start.hour, start.minute) == (19, 0) for start in starts)
    following = same_time_next_week(starts[-1], VANCOUVER)
    assert following == starts[-1] + timedelta(days=7)
    assert following.astimezone(ZoneInfo(VANCOUVER)).utcoffset() == timedelta(hours=-7)


@pytest.mark.parametrize("entry", ["settings", "worker", "api.app", "ops.cli", "dev.stack"])
def test_every_entry_point_resolves_zones_from_the_pinned_data(entry: str) -> None:
    """A fresh process that imports an entry point (no PYTHONTZPATH of its own) uses the pin."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONTZPATH"}
    code = (
        f"import {entry}\n"
        "import datetime, zoneinfo\n"
        "from domain.slots import resolve_local\n"
        "start = resolve_local(datetime.date(2026, 12, 15), datetime.time(12), 'America/Vancouver')\n"
        "print(start.isoformat(), zoneinfo.TZPATH)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert result.stdout.split() == ["2026-12-15T19:00:00+00:00", "()"]
