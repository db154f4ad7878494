"""`make demo` books three sessions seconds apart: they must not hold one therapist's time twice
(the practice would refuse the second as ``time_taken`` and the demo would stop)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from dev.demo import booking
from domain.time_claims import overlaps

NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


def test_the_demo_sessions_never_overlap_for_one_therapist() -> None:
    sessions = [
        booking("r1", label, NOW + timedelta(hours=48, seconds=seconds), "pm_card_visa")
        for label, seconds in (("a", 12), ("b", 20), ("c", 6))
    ]

    for one, other in itertools.combinations(sessions, 2):
        same_therapist = one.therapist_id == other.therapist_id
        assert not (same_therapist and overlaps(one.start, one.end, other.start, other.end))
