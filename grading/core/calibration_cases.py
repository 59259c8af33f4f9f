"""The cases calibration learns from: a lead with an outcome as it was at the outcome's time
(Case), its main grade as of that time from what was known then (grade_as_of: only the events up
to the outcome count, each kind of event classified once through a cache), and the rules that
grade met (rules_met). calibration.py counts them into rule and cell statistics."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .model import ActivityRule, Model
from .scoring import Dimension, Event, Grade, RuleKey, classify, grade_model, lead_record, tally
from .times import epoch


@dataclass(frozen=True)
class Case:
    """One lead with an outcome, as it was at the outcome's time."""

    lead: str
    person: Mapping[str, Any]
    company: Mapping[str, Any]
    events: Sequence[Event]  # later events may be included: they are left out here
    won: bool
    at: datetime  # the outcome's time


# an event's type and properties (lists as tuples): the events that share it match the same rules
ClassKey = tuple[str, tuple[tuple[str, Any], ...]]
ClassCache = dict[ClassKey, tuple[RuleKey, ...]]


def _class_key(event: Event) -> ClassKey:
    items = sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in event.properties.items())
    return event.type, tuple(items)


def grade_as_of(model: Model, case: Case, cache: ClassCache | None = None) -> Grade | None:
    """The lead's main grade as of its outcome's time; None when it was outside the audience.

    `cache` keeps the rules each kind of event matches between calls (events repeat a lot)."""
    cache = {} if cache is None else cache
    classified = []
    for event in case.events:
        key = _class_key(event)
        keys = cache.get(key)
        if keys is None:
            keys = cache[key] = classify(model, event.type, event.properties)
        classified.append((keys, epoch(event.at)))
    tallies = tally(classified, epoch(case.at))
    grades = grade_model(model, lead_record(case.person, case.company), tallies)
    return grades[0] if grades else None


def rules_met(model: Model, grade: Grade) -> list[tuple[Dimension, str]]:
    """(dimension, rule id) of every rule the grade met: a fit rule that held, an activity rule
    with a matching event in its window (a `min_count` rule: with at least that many)."""
    activity: dict[str, ActivityRule] = {r.id: r for r in model.activity.rules}
    met: list[tuple[Dimension, str]] = []
    for c in grade.explanation:
        if c.dimension == "fit":
            met.append(("fit", c.rule))
        elif c.events and c.events >= (activity[c.rule].min_count or 1):
            met.append(("activity", c.rule))
    return met
