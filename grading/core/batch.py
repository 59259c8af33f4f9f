"""Grading many leads at once: the rules of ``scoring`` over numpy arrays of classified events.

``scoring.grade_model`` is the readable reference for one lead; this module computes the same
grades for a chunk of leads, with the per-event work done by numpy (a count and a decayed sum
per lead and rule via ``bincount``) so that a full re-grade of millions of events stays fast.
Tests hold the two paths equal.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple, cast

import numpy as np
import numpy.typing as npt

from .conditions import Predicate
from .model import ActivityBlock, Model, Route
from .scoring import Grade, RuleKey, decay_weights, fit_letter, route_of
from .times import DAY

CELLS = tuple(f"{f}{a}" for f in "ABCD" for a in (1, 2, 3, 4))

FitItem = tuple[Literal["f"], str, float]  # ("f", rule, points)
ActivityItem = tuple[Literal["a"], str, float, int]  # ("a", rule, points, events)
ProgressItem = tuple[Literal["p"], str, int, int]  # ("p", rule, events, min_count)
CompactItem = FitItem | ActivityItem | ProgressItem


class CompactGrade(NamedTuple):
    """One grade with its explanation as plain tuples: ("f", rule, points) / ("a", rule, points,
    events) for the rules that contributed, then ("p", rule, events, min_count) for the threshold
    rules short of their count (Grade.progress); explanation points are rounded to 2 decimals (as
    shown), the scores are not. A named tuple: millions are made in a full re-grade."""

    category: str | None
    fit_score: float
    fit: str
    activity_score: float
    activity: int
    grade: str
    route: Route | None
    explanation: tuple[CompactItem, ...]

    @classmethod
    def from_grade(cls, grade: Grade) -> CompactGrade:
        items: tuple[CompactItem, ...] = tuple(
            ("f", c.rule, round(c.points, 2))
            if c.events is None
            else ("a", c.rule, round(c.points, 2), c.events)
            for c in grade.explanation
        ) + tuple(  # (progress always has both counts)
            ("p", c.rule, cast(int, c.events), cast(int, c.min_count)) for c in grade.progress
        )
        return cls(
            grade.category,
            grade.fit_score,
            grade.fit,
            grade.activity_score,
            grade.activity,
            grade.grade,
            grade.route,
            items,
        )


@dataclass(frozen=True)
class EventArrays:
    """Classified events of a chunk of leads: position of the lead in the chunk, class id, epoch seconds."""

    lead_index: npt.NDArray[np.int64]
    class_id: npt.NDArray[np.int64]
    at: npt.NDArray[np.int64]

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
        """Which columns each event class matches (class_rules from ``scoring.classify``); only new
        classes need be given: those learned before are kept."""
        size = max([self.matrix.shape[0] - 1, *class_rules]) + 1
        matrix = np.zeros((size, len(self.keys)), dtype=bool)
        matrix[: self.matrix.shape[0]] = self.matrix  # classes learned before stay learned
        column = {key: i for i, key in enumerate(self.keys)}
        for class_id, keys in class_rules.items():
            for key in keys:
                matrix[class_id, column[key]] = True
        self.matrix = matrix

    def activity(
        self, leads: int, events: EventArrays, as_of: int
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
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
        return counts, points

    def grade(
        self, records: Sequence[Mapping[str, Any]], events: EventArrays, as_of: int
    ) -> list[list[CompactGrade]]:
        """Per lead (in the order of records): its grades, main first; [] outside the audience."""
        model = self.model
        inside = [i for i, record in enumerate(records) if model.in_audience(record)]
        out: list[list[CompactGrade]] = [[] for _ in records]
        if not inside:
            return out
        if len(inside) < len(records):  # only the audience's events are counted
            row_of = np.full(len(records), -1, dtype=np.int64)
            row_of[inside] = np.arange(len(inside))
            rows = row_of[events.lead_index]
            keep = rows >= 0
            events = EventArrays(rows[keep], events.class_id[keep], events.at[keep])
        count_matrix, matrix = self.activity(len(inside), events, as_of)
        counts, points = count_matrix.tolist(), matrix.tolist()
        scores = np.zeros((len(inside), len(self.blocks)))
        numbers = np.ones((len(inside), len(self.blocks)), dtype=np.int64)
        for s_index, (block, columns) in enumerate(
            zip(self.blocks, self.columns_of_scope, strict=True)
        ):
            if columns:
                scores[:, s_index] = matrix[:, columns].sum(axis=1)
            for number, threshold in zip((2, 3, 4), reversed(block.thresholds), strict=True):
                numbers[scores[:, s_index] >= threshold, s_index] = number
        score_rows, number_rows = scores.tolist(), numbers.tolist()
        fit_rules: list[tuple[Predicate, float, FitItem]] = [
            (rule.test, rule.points, ("f", rule.id, round(rule.points, 2)))
            for rule in model.fit_rules
        ]
        rule_ids = [rule.id for rule in self.rules]
        min_counts = [rule.min_count or 0 for rule in self.rules]
        scopes = list(
            enumerate(zip(self.columns_of_scope, self.categories, self.routes, strict=True))
        )
        thresholds = model.fit_thresholds
        for row, i in enumerate(inside):
            record = records[i]
            held = [(value, item) for test, value, item in fit_rules if test(record)]
            fit_items = tuple(item for _, item in held)
            fit_score = sum(value for value, _ in held)
            letter = fit_letter(fit_score, thresholds)
            lead_counts, lead_points = counts[row], points[row]
            lead_scores, lead_numbers = score_rows[row], number_rows[row]
            grades = []
            for s_index, (scope_columns, category, routes) in scopes:
                number = lead_numbers[s_index]
                cell = letter + str(number)
                items: tuple[CompactItem, ...] = tuple(
                    ("a", rule_ids[c], round(lead_points[c], 2), lead_counts[c])
                    for c in scope_columns
                    if lead_counts[c] and lead_counts[c] >= min_counts[c]
                ) + tuple(
                    ("p", rule_ids[c], lead_counts[c], min_counts[c])
                    for c in scope_columns
                    if 0 < lead_counts[c] < min_counts[c]
                )
                grades.append(
                    CompactGrade(
                        category,
                        fit_score,
                        letter,
                        lead_scores[s_index],
                        number,
                        cell,
                        routes[cell],
                        fit_items + items,
                    )
                )
            out[i] = grades
        return out
