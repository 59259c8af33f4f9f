"""Grading many leads at once: the rules of ``scoring`` over numpy arrays of classified events.

``scoring.grade_model`` is the readable reference for one lead; this module computes the same
grades for a chunk of leads, with the per-event work done by numpy (a count and a decayed sum
per lead and rule via ``bincount``) so that a full re-grade of millions of events stays fast.
Tests hold the two paths equal.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .model import ActivityBlock, Model, Route
from .scoring import DAY, Grade, RuleKey, activity_number, decay_weights, fit_letter, route_of

CELLS = tuple(f"{f}{a}" for f in "ABCD" for a in (1, 2, 3, 4))


@dataclass(frozen=True)
class CompactGrade:
    """One grade with its explanation as plain tuples: ("f", rule, points) / ("a", rule, points, events)."""

    category: str | None
    fit_score: float
    fit: str
    activity_score: float
    activity: int
    route: Route | None
    explanation: tuple[tuple, ...]

    @property
    def grade(self) -> str:
        return f"{self.fit}{self.activity}"

    @classmethod
    def from_grade(cls, grade: Grade) -> CompactGrade:
        items = tuple(
            ("f", c.rule, c.points) if c.events is None else ("a", c.rule, c.points, c.events)
            for c in grade.explanation
        )
        return cls(
            grade.category,
            grade.fit_score,
            grade.fit,
            grade.activity_score,
            grade.activity,
            grade.route,
            items,
        )


@dataclass(frozen=True)
class EventArrays:
    """Classified events of a chunk of leads: position of the lead in the chunk, class id, epoch seconds."""

    lead_index: np.ndarray
    class_id: np.ndarray
    at: np.ndarray

    @classmethod
    def from_rows(cls, rows: Sequence[tuple[int, int, int]]) -> EventArrays:
        if not rows:
            empty = np.zeros(0, dtype=np.int64)
            return cls(empty, empty, empty)
        array = np.array(rows, dtype=np.int64)
        return cls(array[:, 0], array[:, 1], array[:, 2])


class BatchGrader:
    """The rules of one model, laid out as columns: one column per (scope, rule)."""

    def __init__(self, model: Model):
        self.model = model
        self.blocks: list[ActivityBlock] = [model.block_of(c) for c in (None, *model.categories)]
        self.categories = [None, *(c.name for c in model.categories)]
        self.keys: list[RuleKey] = [
            (s, j) for s, b in enumerate(self.blocks) for j in range(len(b.rules))
        ]
        self.rules = [self.blocks[s].rules[j] for s, j in self.keys]
        self.days = [self.blocks[s].days_of(self.rules[i]) for i, (s, _) in enumerate(self.keys)]
        self.weights = [
            np.array(decay_weights(self.blocks[s].half_life_days, self.days[i]))
            for i, (s, _) in enumerate(self.keys)
        ]
        self.columns_of_scope = [
            [i for i, (scope, _) in enumerate(self.keys) if scope == s]
            for s in range(len(self.blocks))
        ]
        routings = [model.routing, *(c.routing for c in model.categories)]
        self.routes = [{cell: route_of(r, cell) for cell in CELLS} for r in routings]
        self.matrix = np.zeros((1, len(self.keys)), dtype=bool)

    def learn_classes(self, class_rules: Mapping[int, tuple[RuleKey, ...]]) -> None:
        """Which columns each event class matches (class_rules from ``scoring.classify``)."""
        size = max([self.matrix.shape[0] - 1, *class_rules]) + 1
        matrix = np.zeros((size, len(self.keys)), dtype=bool)
        column = {key: i for i, key in enumerate(self.keys)}
        for class_id, keys in class_rules.items():
            for key in keys:
                matrix[class_id, column[key]] = True
        self.matrix = matrix

    def activity(self, leads: int, events: EventArrays, as_of: int) -> tuple[list, list]:
        """Per lead and column: matching events in the window, and the points they earn."""
        columns = len(self.keys)
        counts = np.zeros((leads, columns), dtype=np.int64)
        points = np.zeros((leads, columns), dtype=np.float64)
        counted = events.at <= as_of
        lead_index = events.lead_index[counted]
        ages = as_of // DAY - events.at[counted] // DAY
        hits = (
            self.matrix[events.class_id[counted]]
            if len(ages)
            else np.zeros((0, columns), dtype=bool)
        )
        for c, rule in enumerate(self.rules):
            mask = hits[:, c] & (ages < self.days[c])
            if not mask.any():
                continue
            who = lead_index[mask]
            counts[:, c] = np.bincount(who, minlength=leads)
            if rule.min_count is not None:
                points[:, c] = np.where(counts[:, c] >= rule.min_count, rule.points, 0.0)
            else:
                weighted = np.bincount(who, weights=self.weights[c][ages[mask]], minlength=leads)
                column = rule.points * weighted
                if rule.max_points is not None:
                    column = np.clip(column, -rule.max_points, rule.max_points)
                points[:, c] = column
        return counts.tolist(), points.tolist()

    def grade(
        self, records: Sequence[Mapping[str, Any]], events: EventArrays, as_of: int
    ) -> list[list[CompactGrade]]:
        """Per lead (in the order of records): its grades, main first; [] outside the audience."""
        model = self.model
        counts, points = self.activity(len(records), events, as_of)
        out: list[list[CompactGrade]] = []
        for i, record in enumerate(records):
            if not model.in_audience(record):
                out.append([])
                continue
            fit_items = tuple(("f", r.id, r.points) for r in model.fit_rules if r.test(record))
            fit_score = sum(item[2] for item in fit_items)
            letter = fit_letter(fit_score, model.fit_thresholds)
            lead_counts, lead_points = counts[i], points[i]
            grades = []
            for s, block in enumerate(self.blocks):
                items = tuple(
                    ("a", self.rules[c].id, lead_points[c], lead_counts[c])
                    for c in self.columns_of_scope[s]
                    if lead_counts[c]
                )
                activity_score = sum(item[2] for item in items)
                number = activity_number(activity_score, block.thresholds)
                cell = f"{letter}{number}"
                grades.append(
                    CompactGrade(
                        self.categories[s],
                        fit_score,
                        letter,
                        activity_score,
                        number,
                        self.routes[s][cell],
                        fit_items + items,
                    )
                )
            out.append(grades)
        return out
