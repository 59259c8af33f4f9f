"""Grading exactly as SPEC section 4: fit, activity, categories, audience, routing, explanation.

Activity is computed from *tallies*: for each activity rule, how many matching events fell on
each day age (0 = the day of ``as_of``). Ages are whole UTC days, so tallies give exact results
and let the store hand over pre-classified day counts instead of raw events. ``grade_lead``
builds the tallies from plain events; the store's bulk path builds them from classified rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, Literal, NotRequired, TypedDict

from .model import ActivityBlock, Category, Model, Route, RoutingEntry
from .times import DAY, epoch

# (scope, rule index): scope 0 is the model's own activity block, scope i+1 is category i.
RuleKey = tuple[int, int]
# RuleKey -> {age in days: number of matching events}
Tallies = dict[RuleKey, dict[int, int]]


@dataclass(frozen=True)
class Event:
    type: str
    at: datetime
    properties: Mapping[str, Any]


Dimension = Literal["fit", "activity"]


class ContributionDict(TypedDict):
    """A Contribution as the API, explain --json and the exports write it."""

    rule: str
    label: str | None
    dimension: Dimension
    points: float  # rounded as shown
    events: NotRequired[int]
    min_count: NotRequired[int]


@dataclass(frozen=True)
class Contribution:
    rule: str
    label: str | None
    dimension: Dimension
    points: float
    events: int | None = None  # activity rules: matching events in the window
    min_count: int | None = None  # threshold rules: the events it takes to earn the points

    @property
    def earned(self) -> bool:
        """False for a threshold rule short of its min_count: progress, not a contribution."""
        return self.min_count is None or (self.events or 0) >= self.min_count

    def as_dict(self) -> ContributionDict:
        out: ContributionDict = {
            "rule": self.rule,
            "label": self.label,
            "dimension": self.dimension,
            "points": shown(self.points),
        }
        if self.events is not None:
            out["events"] = self.events
        if self.min_count is not None:
            out["min_count"] = self.min_count
        return out


@dataclass(frozen=True)
class Grade:
    model: str
    category: str | None
    fit_score: float
    fit: str
    activity_score: float
    activity: int
    route: Route | None
    explanation: tuple[Contribution, ...]  # the rules that contributed: they add up to the scores
    # threshold rules with matching events, but fewer than their min_count: they earned nothing
    progress: tuple[Contribution, ...] = ()

    @property
    def grade(self) -> str:
        return f"{self.fit}{self.activity}"


def lead_record(
    person: Mapping[str, Any] | None, company: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The flat view fit rules and audiences read: person.KEY and company.KEY."""
    record = {f"person.{k}": v for k, v in (person or {}).items()}
    record.update({f"company.{k}": v for k, v in (company or {}).items()})
    return record


def window_start(as_of: int, days: int) -> int:
    """The first instant an event can have to be in a window of `days` whole UTC days as of
    `as_of` (age < days: today and the days - 1 before)."""
    return (as_of // DAY - days + 1) * DAY


# classification -----------------------------------------------------------------


def classify(model: Model, event_type: str, properties: Mapping[str, Any]) -> tuple[RuleKey, ...]:
    """The activity rules (per scope) an event matches, its time aside."""
    record = dict(properties)
    record["type"] = event_type
    keys = [
        (0, j) for j, rule in enumerate(model.activity.rules) if rule.matches(event_type, record)
    ]
    for i, category in enumerate(model.categories, start=1):
        if category.test(record):
            block = model.block_of(category)
            keys.extend(
                (i, j) for j, rule in enumerate(block.rules) if rule.matches(event_type, record)
            )
    return tuple(keys)


def tally(classified: Iterable[tuple[tuple[RuleKey, ...], int]], as_of: int) -> Tallies:
    """Day counts per rule from (rule keys, event epoch seconds); events after as_of are left out."""
    today = as_of // DAY
    tallies: Tallies = defaultdict(lambda: defaultdict(int))
    for keys, at in classified:
        if at > as_of or not keys:
            continue
        age = today - at // DAY
        for key in keys:
            tallies[key][age] += 1
    return tallies


# scores -----------------------------------------------------------------------------


# Scores are stored unrounded for what is computed from them (account aggregates, SPEC 4) and
# rounded to 2 decimals only when shown. 9 decimals, not the raw float: decayed sums of the same
# events added in another order differ in the last bits, and that must not rewrite the row.
STORED_DECIMALS = 9


def stored(score: float) -> float:
    """A score as the database keeps it (see STORED_DECIMALS)."""
    return round(score, STORED_DECIMALS)


def shown(score: float) -> float:
    """A score as reported (SPEC 4: rounded to 2 decimals); letters, numbers and account
    aggregates come from the unrounded score, never from this."""
    return round(score, 2)


def add_in_order(values: Iterable[float]) -> float:
    """The values added one by one, first to last: what every score is. (Not sum(): from Python
    3.12 it adds floats with compensation, and the batch grader adds column by column.)"""
    total: float = 0  # whole points stay whole, as with sum()
    for value in values:
        total += value
    return total


def fit_letter(score: float, thresholds: tuple[float, float, float]) -> str:
    for letter, threshold in zip("ABC", thresholds, strict=True):
        if score >= threshold:
            return letter
    return "D"


def activity_number(score: float, thresholds: tuple[float, float, float]) -> int:
    for number, threshold in zip((4, 3, 2), thresholds, strict=True):
        if score >= threshold:
            return number
    return 1


def score_fit(model: Model, record: Mapping[str, Any]) -> tuple[float, tuple[Contribution, ...]]:
    hits = tuple(
        Contribution(rule.id, rule.label, "fit", rule.points)
        for rule in model.fit_rules
        if rule.test(record)
    )
    return add_in_order(c.points for c in hits), hits


@lru_cache(maxsize=256)
def decay_weights(half_life_days: float | None, days: int) -> tuple[float, ...]:
    """w(age) for ages 0..days-1."""
    if half_life_days is None:
        return (1.0,) * days
    return tuple(0.5 ** (age / half_life_days) for age in range(days))


def score_activity(
    block: ActivityBlock, scope: int, tallies: Tallies
) -> tuple[float, tuple[Contribution, ...]]:
    """The activity score and every rule with matching events (a threshold rule short of its
    min_count among them, with 0 points: see Contribution.earned)."""
    total = 0.0
    contributions = []
    for j, rule in enumerate(block.rules):
        by_age = tallies.get((scope, j))
        if not by_age:
            continue
        days = block.days_of(rule)
        # by age, so the sum does not depend on the order the events came in
        in_window = sorted((age, n) for age, n in by_age.items() if 0 <= age < days)
        count = sum(n for _, n in in_window)
        if not count:
            continue
        if rule.min_count is not None:
            points = rule.points if count >= rule.min_count else 0.0
        else:
            weights = decay_weights(block.half_life_days, days)
            points = rule.points * add_in_order(n * weights[age] for age, n in in_window)
            if rule.max_points is not None:
                points = max(-rule.max_points, min(rule.max_points, points))
        total += points
        contributions.append(
            Contribution(rule.id, rule.label, "activity", points, count, rule.min_count)
        )
    return total, tuple(contributions)


def route_of(routing: tuple[RoutingEntry, ...], grade: str) -> Route | None:
    return next((entry.route for entry in routing if entry.matches(grade)), None)


def grade_model(model: Model, record: Mapping[str, Any], tallies: Tallies) -> list[Grade]:
    """The main grade and one grade per category; [] when the lead is outside the audience."""
    if not model.in_audience(record):
        return []
    fit_score, fit_hits = score_fit(model, record)
    fit = fit_letter(fit_score, model.fit_thresholds)
    scopes: list[tuple[Category | None, int]] = [(None, 0)]
    scopes += [(category, i) for i, category in enumerate(model.categories, start=1)]
    grades = []
    for category, scope in scopes:
        block = model.block_of(category)
        activity_score, activity_hits = score_activity(block, scope, tallies)
        number = activity_number(activity_score, block.thresholds)
        routing = model.routing if category is None else category.routing
        grades.append(
            Grade(
                model=model.name,
                category=category.name if category else None,
                fit_score=fit_score,
                fit=fit,
                activity_score=activity_score,
                activity=number,
                route=route_of(routing, f"{fit}{number}"),
                explanation=fit_hits + tuple(c for c in activity_hits if c.earned),
                progress=tuple(c for c in activity_hits if not c.earned),
            )
        )
    return grades


def grade_lead(
    model: Model,
    person: Mapping[str, Any] | None,
    company: Mapping[str, Any] | None,
    events: Iterable[Event],
    as_of: datetime,
) -> list[Grade]:
    """Grade one lead from plain events (the reference path; the store uses tallies directly)."""
    classified = ((classify(model, e.type, e.properties), epoch(e.at)) for e in events)
    return grade_model(model, lead_record(person, company), tally(classified, epoch(as_of)))
