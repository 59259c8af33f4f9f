"""Which events can count differently as of another moment (core/sweep.py), table by table."""

from datetime import UTC, datetime

import pytest

from grading.core.sweep import SweepState, events_that_can_change, fingerprint, widen
from grading.core.times import DAY, epoch

NOON = epoch(datetime(2026, 11, 1, 12, 0, tzinfo=UTC))
MIDNIGHT = epoch(datetime(2026, 11, 1, tzinfo=UTC))
HOUR = DAY // 24


@pytest.mark.parametrize(
    ("span", "as_of", "days", "expected"),
    [
        # the same moment: no event counts differently (an empty range: first > last)
        ((NOON, NOON), NOON, 90, (NOON + 1, NOON)),
        # later the same day: only the events between the two moments
        ((NOON, NOON), NOON + 5 * HOUR, 90, (NOON + 1, NOON + 5 * HOUR)),
        # earlier the same day: the same range, from the other side
        ((NOON, NOON), MIDNIGHT, 90, (MIDNIGHT + 1, NOON)),
        # grades of several moments of one day, and a re-grade inside them
        ((MIDNIGHT, NOON), MIDNIGHT + HOUR, 90, (MIDNIGHT + 1, NOON)),
        # the next day: every event of the longest window of the earlier moment, up to the later
        ((NOON, NOON), NOON + DAY, 90, (MIDNIGHT - 89 * DAY, NOON + DAY)),
        # one microsecond across midnight is another day
        ((MIDNIGHT - 1, MIDNIGHT - 1), MIDNIGHT, 1, (MIDNIGHT - DAY, MIDNIGHT)),
        # a day back in time: the window of the earlier moment, the one graded as of
        ((NOON + DAY, NOON + DAY), NOON, 30, (MIDNIGHT - 29 * DAY, NOON + DAY)),
        # grades of two days (a real-time grading the day after a sweep), re-graded on the second
        ((NOON, NOON + DAY), NOON + DAY, 7, (MIDNIGHT - 6 * DAY, NOON + DAY)),
    ],
)
def test_events_that_can_change(span, as_of, days, expected):
    assert events_that_can_change(span, as_of, days) == expected


def test_widen_takes_in_a_moment_on_either_side():
    assert widen(None, 5) == (5, 5)
    assert widen((5, 5), 3) == (3, 5)
    assert widen((3, 5), 9) == (3, 9)
    assert widen((3, 9), 4) == (3, 9)
    assert SweepState("f", 3, 5).widened(9) == SweepState("f", 3, 9)


def test_the_fingerprint_is_the_content_not_the_order_of_keys():
    a = {"models": [{"name": "m", "fit": {"thresholds": {"A": 1, "B": 0}}}], "schedule": "x"}
    b = {"schedule": "x", "models": [{"fit": {"thresholds": {"B": 0, "A": 1}}, "name": "m"}]}
    assert fingerprint(a) == fingerprint(b)
    changed = {"schedule": "x", "models": [{"name": "m", "fit": {"thresholds": {"A": 2, "B": 0}}}]}
    assert fingerprint(changed) != fingerprint(a)
    assert fingerprint({}) is None  # a config made in code is never swept incrementally
