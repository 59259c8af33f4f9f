"""Which leads a re-grade of everyone must grade again (an incremental sweep).

A lead's grades are a function of its facts (person, company), its events, the model and the
moment graded as of. Without a write to its facts or events (a dirty mark) and under the same
model, grades made as of a moment X equal those as of T unless an event counts differently at
the two moments. Ages are whole UTC days, so:
- X and T on the same UTC day: every event up to the earlier of them has the same age at both;
  only events between the two moments count at one and not the other;
- on different days every event in the longest window of either moment may have another age
  (decay, a window edge, a min_count reached or lost).
A lead with no such event has the same grades as of T as it had as of X.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any, NamedTuple

import orjson

from .scoring import window_start
from .times import DAY

Span = tuple[int, int]  # (low, high) epoch ticks, both included


def widen(span: Span | None, moment: int) -> Span:
    """The span with `moment` in it."""
    if span is None:
        return (moment, moment)
    return (min(span[0], moment), max(span[1], moment))


class SweepState(NamedTuple):
    """Every lead without a dirty mark holds the grades its facts give as of some moment in
    [low, high] (epoch ticks), under the config with this fingerprint."""

    fingerprint: str
    low: int
    high: int

    @property
    def span(self) -> Span:
        return (self.low, self.high)

    def widened(self, moment: int) -> SweepState:
        low, high = widen(self.span, moment)
        return self._replace(low=low, high=high)


def events_that_can_change(span: Span, as_of: int, longest_window_days: int) -> Span:
    """The times (first, last; both included) of the events that can count differently as of
    `as_of` than as of any moment in `span`: a lead without an event in them and without a dirty
    mark keeps its grades. `longest_window_days` is the longest activity window of the models."""
    low, high = widen(span, as_of)
    if low // DAY == high // DAY:
        return (low + 1, high)  # an event at `low` or before counts, with its age, at both
    return (window_start(low, longest_window_days), high)


def fingerprint(source: Mapping[str, Any]) -> str | None:
    """What identifies a model file's content (None without one: such a config is never swept
    incrementally). Two sources with the same fingerprint grade alike."""
    if not source:
        return None
    text = orjson.dumps(source, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS, default=str)
    return hashlib.sha256(text).hexdigest()
