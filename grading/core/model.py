"""A validated model file as frozen dataclasses (built by ``config.load_config``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from .conditions import Predicate
from .qualification import DEFAULT_CRITERIA, Criterion

FIT_LETTERS = ("A", "B", "C")  # threshold keys, best first; below C is D
ACTIVITY_NUMBERS = (4, 3, 2)  # threshold keys, most active first; below 2 is 1
DEFAULT_WINDOW_DAYS = 90


@dataclass(frozen=True)
class FitRule:
    id: str
    points: float
    when: Mapping[str, Any]
    test: Predicate = field(repr=False, compare=False)
    label: str | None = None


@dataclass(frozen=True)
class ActivityRule:
    id: str
    points: float
    event_types: tuple[str, ...] | None  # None: any type
    where: Mapping[str, Any] | None
    test: Predicate | None = field(repr=False, compare=False)
    min_count: int | None = None
    max_points: float | None = None
    within_days: int | None = None
    label: str | None = None

    def matches(self, event_type: str, record: Mapping[str, Any]) -> bool:
        """Whether an event matches, leaving its time aside."""
        if self.event_types is not None and event_type not in self.event_types:
            return False
        return self.test is None or self.test(record)


@dataclass(frozen=True)
class ActivityBlock:
    rules: tuple[ActivityRule, ...]
    thresholds: tuple[float, float, float]  # for 4, 3, 2
    window_days: int = DEFAULT_WINDOW_DAYS
    half_life_days: float | None = None

    def days_of(self, rule: ActivityRule) -> int:
        return rule.within_days if rule.within_days is not None else self.window_days

    @property
    def longest_window(self) -> int:
        return max([self.window_days, *(self.days_of(r) for r in self.rules)])


@dataclass(frozen=True)
class Route:
    to: str
    queue: str | None = None
    campaign: str | None = None

    def as_dict(self) -> dict[str, str]:
        out = {"to": self.to}
        if self.queue is not None:
            out["queue"] = self.queue
        if self.campaign is not None:
            out["campaign"] = self.campaign
        return out

    def __str__(self) -> str:
        extra = self.queue or self.campaign
        return f"{self.to}/{extra}" if extra else self.to


@dataclass(frozen=True)
class RoutingEntry:
    cells: tuple[str, ...]  # patterns: "A4", "A*", "*4", "*"
    route: Route

    def matches(self, grade: str) -> bool:
        return any(cell_matches(pattern, grade) for pattern in self.cells)


def cell_matches(pattern: str, grade: str) -> bool:
    if pattern == "*":
        return True
    return pattern[0] in ("*", grade[0]) and pattern[1] in ("*", grade[1])


@dataclass(frozen=True)
class Category:
    name: str
    where: Mapping[str, Any]
    test: Predicate = field(repr=False, compare=False)
    activity: ActivityBlock | None = None  # None: the model's block
    routing: tuple[RoutingEntry, ...] = ()
    label: str | None = None


Aggregate = Literal["sum", "max"]  # how an account's activity comes from its leads'


@dataclass(frozen=True)
class Accounts:
    activity: Aggregate
    fit_thresholds: tuple[float, float, float]
    activity_thresholds: tuple[float, float, float]


@dataclass(frozen=True)
class Model:
    name: str
    fit_rules: tuple[FitRule, ...]
    fit_thresholds: tuple[float, float, float]  # for A, B, C
    activity: ActivityBlock
    categories: tuple[Category, ...] = ()
    routing: tuple[RoutingEntry, ...] = ()
    audience: Mapping[str, Any] | None = None
    audience_test: Predicate | None = field(default=None, repr=False, compare=False)
    accounts: Accounts | None = None
    label: str | None = None

    def in_audience(self, lead: Mapping[str, Any]) -> bool:
        return self.audience_test is None or self.audience_test(lead)

    def block_of(self, category: Category | None) -> ActivityBlock:
        if category is None or category.activity is None:
            return self.activity
        return category.activity

    def category(self, name: str) -> Category | None:
        return next((c for c in self.categories if c.name == name), None)

    def main_only(self) -> Model:
        """The model without its categories: main grades do not depend on them, and leaving them
        out spares the batch grader their columns, explanations and routes."""
        return replace(self, categories=())


WEBHOOK_EVENTS = ("grade.changed", "route.changed")


@dataclass(frozen=True)
class Webhook:
    url: str
    events: tuple[str, ...] = WEBHOOK_EVENTS
    secret_env: str | None = None  # the environment variable holding the HMAC secret
    models: tuple[str, ...] | None = None  # None: every model


@dataclass(frozen=True)
class Config:
    models: tuple[Model, ...]
    schedule: str | None = None
    webhooks: tuple[Webhook, ...] = ()
    retention_days: int | None = None  # events older than this are purged on the schedule
    qualification: tuple[Criterion, ...] = DEFAULT_CRITERIA  # what sales ticks (BANT by default)
    source: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def model(self, name: str) -> Model | None:
        return next((m for m in self.models if m.name == name), None)

    @property
    def longest_window(self) -> int:
        """The most days back any activity rule of any model counts (at least 1)."""
        blocks = [m.activity for m in self.models]
        blocks += [c.activity for m in self.models for c in m.categories if c.activity]
        return max([1, *(block.longest_window for block in blocks)])

    @property
    def event_property_keys(self) -> tuple[str, ...]:
        """Every event property any `where` reads (the classification signature)."""
        from .conditions import condition_fields

        keys: set[str] = set()
        for model in self.models:
            for category in model.categories:
                keys |= condition_fields(category.where)
                blocks = [category.activity] if category.activity else []
                for block in blocks:
                    for rule in block.rules:
                        if rule.where:
                            keys |= condition_fields(rule.where)
            for rule in model.activity.rules:
                if rule.where:
                    keys |= condition_fields(rule.where)
        keys.discard("type")
        return tuple(sorted(keys))
