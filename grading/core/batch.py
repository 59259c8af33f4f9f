"""Grading many leads at once: the rules of ``scoring`` over numpy arrays of a chunk of leads.

``scoring.grade_model`` is the readable reference for one lead; this module computes the same
grades, to the bit, for a chunk of leads: fit rules and the audience over the chunk's columns
(``conditions.compile_columns``), activity per lead and rule with numpy (counts per day age,
decayed sums added in the reference's order), and each distinct fit result and explanation built
once, however many leads share it. Tests hold the two paths equal.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import chain
from operator import methodcaller
from typing import Any, Literal, NamedTuple, cast

import numpy as np
import numpy.typing as npt

from .conditions import ColumnPredicate, Columns, compile_columns
from .model import ActivityBlock, Model, Route
from .scoring import Grade, RuleKey, add_in_order, decay_weights, fit_letter, route_of
from .times import DAY

CELLS = tuple(f"{f}{a}" for f in "ABCD" for a in (1, 2, 3, 4))

FitItem = tuple[Literal["f"], str, float]  # ("f", rule, points)
ActivityItem = tuple[Literal["a"], str, float, int]  # ("a", rule, points, events)
ProgressItem = tuple[Literal["p"], str, int, int]  # ("p", rule, events, min_count)
CompactItem = FitItem | ActivityItem | ProgressItem


def activity_numbers(
    scores: npt.NDArray[np.float64], thresholds: tuple[float, float, float]
) -> npt.NDArray[np.int64]:
    """scoring.activity_number over an array of scores."""
    number = np.ones(len(scores), dtype=np.int64)
    for value, threshold in zip((2, 3, 4), reversed(thresholds), strict=True):
        number[scores >= threshold] = value
    return number


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
        table = int_table(rows, 3)
        return cls(table[:, 0], table[:, 1], table[:, 2])


def int_table(rows: Sequence[tuple[int, ...]], width: int) -> npt.NDArray[np.int64]:
    """Rows of `width` integers (as a query fetches them) as one (rows, width) array: read as one
    flat run, a third cheaper than numpy's reading of a list of tuples."""
    flat = chain.from_iterable(rows)
    return np.fromiter(flat, dtype=np.int64, count=width * len(rows)).reshape(-1, width)


def lead_columns(
    persons: Sequence[Mapping[str, Any]], companies: Sequence[Mapping[str, Any]]
) -> Columns:
    """The fields fit rules and audiences read (scoring.lead_record's person.KEY and
    company.KEY) for a chunk of leads, read straight from their person and company dicts."""
    size = len(persons)

    def values_of(field: str) -> list[Any]:
        side, dot, key = field.partition(".")
        source = persons if side == "person" else companies if side == "company" else None
        if source is None or not dot:
            return [None] * size
        return list(map(methodcaller("get", key), source))

    return Columns(size, values_of)


def rounded(values: npt.NDArray[np.float64], decimals: int) -> npt.NDArray[np.float64]:
    """round(x, decimals) of every value, bit for bit: numpy's rint of x * 10**decimals agrees
    with Python's correctly rounded round() unless the product lies within its own rounding error
    of a half (or is too large or not finite); those few go through Python's round."""
    scale = 10.0**decimals
    with np.errstate(invalid="ignore", over="ignore"):  # not finite: Python's round below
        scaled = values * scale
        out = np.rint(scaled) / scale
        size = np.abs(scaled)
        half_gap = np.abs(np.abs(scaled - np.trunc(scaled)) - 0.5)
        risky = ~(size < 2.0**50) | (half_gap <= size * 2.0**-48)
    if risky.any():
        out[risky] = [round(v, decimals) for v in values[risky].tolist()]
    return out


class FitPart(NamedTuple):
    """The fit result shared by every lead whose fit rules hold alike (one bitmask)."""

    score: float
    letter: str
    items: tuple[FitItem, ...]


class ScopeGrades(NamedTuple):
    """One scope's grades (the main one or a category) of the leads inside the audience."""

    category: str | None
    activity_score: npt.NDArray[np.float64]
    activity: npt.NDArray[np.int64]
    cell: npt.NDArray[np.int64]  # index into CELLS (and into `routes`)
    explanation: npt.NDArray[np.intp]  # index into ChunkGrades.explanations
    routes: list[Route | None]  # per cell of CELLS


@dataclass(frozen=True)
class ChunkGrades:
    """One model's grades of a chunk of leads, as arrays over the leads inside its audience
    (`inside`: their positions in the chunk); shared parts (fit results, explanations) once."""

    inside: npt.NDArray[np.intp]
    fit: npt.NDArray[np.intp]  # index into fits
    fits: list[FitPart]
    scopes: list[ScopeGrades]
    explanations: list[tuple[CompactItem, ...]]

    def compact(self, row: int, scope: int) -> CompactGrade:
        """The grade of the `row`-th lead inside the audience in one scope."""
        part, grades = self.fits[self.fit[row]], self.scopes[scope]
        cell = int(grades.cell[row])
        return CompactGrade(
            grades.category,
            part.score,
            part.letter,
            float(grades.activity_score[row]),
            int(grades.activity[row]),
            CELLS[cell],
            grades.routes[cell],
            self.explanations[grades.explanation[row]],
        )

    def per_lead(self, leads: int) -> list[list[CompactGrade]]:
        """Per lead of the chunk: its grades, main first; [] outside the audience."""
        out: list[list[CompactGrade]] = [[] for _ in range(leads)]
        for row, position in enumerate(self.inside.tolist()):
            out[position] = [self.compact(row, s) for s in range(len(self.scopes))]
        return out


LETTERS = "ABCD"
FIT_MEMO_LIMIT = 4096  # distinct fit results kept between chunks


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
        self.routes = [[route_of(r, cell) for cell in CELLS] for r in routings]
        self.matrix = np.zeros((1, len(self.keys)), dtype=bool)
        self.fit_tests: list[ColumnPredicate] = [compile_columns(r.when) for r in model.fit_rules]
        self.audience: ColumnPredicate | None = (
            compile_columns(model.audience)
            if model.audience is not None and model.audience_test is not None
            else None
        )
        self.fit_parts: dict[bytes, FitPart] = {}  # by bitmask of the rules that hold

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
        """Per lead and column: matching events in the window, and the points they earn, as
        scoring.score_activity computes them (decayed sums over day ages, youngest first)."""
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
            days = self.days[c]
            mask = hits[:, c] & (ages < days)
            if not mask.any():
                continue
            who = lead_index[mask]
            counts[:, c] = np.bincount(who, minlength=leads)
            if rule.min_count is not None:
                points[:, c] = np.where(counts[:, c] >= rule.min_count, rule.points, 0.0)
                continue
            # per (lead, age): n events, the term n * w(age), added youngest first as the
            # reference's sum() does (cumsum adds one by one; a pairwise sum differs in the last
            # bits, and a rounding to 2 decimals can show it); absent ages add 0.0: no change
            active = np.flatnonzero(counts[:, c])  # one row per lead with events
            row_of = np.cumsum(counts[:, c] > 0) - 1
            n = np.bincount(row_of[who] * days + ages[mask], minlength=len(active) * days)
            decayed = np.cumsum(n.reshape(len(active), days) * self.weights[c], axis=1)[:, -1]
            column = np.zeros(leads)
            column[active] = rule.points * decayed
            if rule.max_points is not None:
                column = np.clip(column, -rule.max_points, rule.max_points)
            points[:, c] = column
        return counts, points

    def _fit(self, columns: Columns) -> tuple[npt.NDArray[np.intp], list[FitPart]]:
        """Per lead: which distinct fit result it has, and those results."""
        rules = self.model.fit_rules
        if not rules:
            return np.zeros(columns.size, dtype=np.intp), [self._fit_part([])]
        hits = np.zeros((columns.size, len(rules)), dtype=bool)
        for r, test in enumerate(self.fit_tests):
            hits[:, r] = test(columns)
        packed = np.packbits(hits, axis=1)
        masks, fit = np.unique(packed, axis=0, return_inverse=True)
        parts = []
        for mask in masks:
            key = mask.tobytes()
            part = self.fit_parts.get(key)
            if part is None:
                part = self._fit_part(np.unpackbits(mask)[: len(rules)].tolist())
                if len(self.fit_parts) < FIT_MEMO_LIMIT:
                    self.fit_parts[key] = part
            parts.append(part)
        return fit.reshape(-1), parts

    def _fit_part(self, hits: list[int]) -> FitPart:
        held = [rule for rule, hit in zip(self.model.fit_rules, hits, strict=True) if hit]
        score = add_in_order(rule.points for rule in held)  # as scoring.score_fit adds them
        items: tuple[FitItem, ...] = tuple(("f", rule.id, round(rule.points, 2)) for rule in held)
        return FitPart(score, fit_letter(score, self.model.fit_thresholds), items)

    def grade_columns(self, columns: Columns, events: EventArrays, as_of: int) -> ChunkGrades:
        """The grades of a chunk of leads (`columns`; events by position in the chunk)."""
        if self.audience is None:
            inside = np.arange(columns.size)
        else:
            inside = np.flatnonzero(self.audience(columns))
        if not len(inside):
            return ChunkGrades(inside, np.zeros(0, dtype=np.intp), [], [], [])
        if len(inside) < columns.size:  # only the audience's events are counted
            row_of = np.full(columns.size, -1, dtype=np.int64)
            row_of[inside] = np.arange(len(inside))
            rows = row_of[events.lead_index]
            keep = rows >= 0
            events = EventArrays(rows[keep], events.class_id[keep], events.at[keep])
        fit, fits = self._fit(columns)  # (over the whole chunk: a column costs no more)
        fit = fit[inside]
        letters = np.array([LETTERS.index(p.letter) for p in fits], dtype=np.int64)[fit]
        counts, points = self.activity(len(inside), events, as_of)
        shown = rounded(points, 2)
        explanations: list[tuple[CompactItem, ...]] = []
        scopes = []
        for s, block in enumerate(self.blocks):
            scope_columns = self.columns_of_scope[s]
            score = np.zeros(len(inside))
            for c in scope_columns:  # in rule order, as scoring.score_activity adds them
                score = score + points[:, c]
            number = activity_numbers(score, block.thresholds)
            explanation = self._explanations(
                fit, fits, counts[:, scope_columns], shown[:, scope_columns], scope_columns
            )
            explanations_before = len(explanations)
            explanations.extend(explanation[1])
            scopes.append(
                ScopeGrades(
                    self.categories[s],
                    score,
                    number,
                    letters * 4 + number - 1,
                    explanation[0] + explanations_before,
                    self.routes[s],
                )
            )
        return ChunkGrades(inside, fit, fits, scopes, explanations)

    def _explanations(
        self,
        fit: npt.NDArray[np.intp],
        fits: list[FitPart],
        counts: npt.NDArray[np.int64],
        shown: npt.NDArray[np.float64],
        scope_columns: list[int],
    ) -> tuple[npt.NDArray[np.intp], list[tuple[CompactItem, ...]]]:
        """Per lead: which distinct explanation of this scope it has, and those explanations
        (fit items, then the earned activity rules, then the threshold rules short of count)."""
        leads = len(fit)
        # a lead without events here shares the fit part's explanation; one with events has
        # its own (decayed points rarely repeat)
        with_events = np.flatnonzero(counts.any(axis=1)) if scope_columns else np.zeros(0, int)
        explanation_of = np.zeros(leads, dtype=np.intp)
        fit_ids, fit_of = np.unique(fit, return_inverse=True)
        out: list[tuple[CompactItem, ...]] = [fits[f].items for f in fit_ids.tolist()]
        explanation_of[:] = fit_of.reshape(-1)
        if len(with_events):
            explanation_of[with_events] = np.arange(len(out), len(out) + len(with_events))
            activity = self._activity_items(counts[with_events], shown[with_events], scope_columns)
            out.extend(
                fits[f].items + items
                for f, items in zip(fit[with_events].tolist(), activity, strict=True)
            )
        return explanation_of, out

    def _activity_items(
        self,
        counts: npt.NDArray[np.int64],
        shown: npt.NDArray[np.float64],
        scope_columns: list[int],
    ) -> list[tuple[ActivityItem | ProgressItem, ...]]:
        """Per lead (a row of `counts`, every row with events): the activity rules it earned, in
        rule order, then the threshold rules short of their count; one pass over all the
        (lead, rule) pairs with events, not a Python loop over every rule of every lead."""
        rules = [self.rules[c] for c in scope_columns]
        min_counts = np.array([r.min_count or 0 for r in rules], dtype=np.int64)
        rows, columns = np.nonzero(counts)
        n = counts[rows, columns]
        short = n < min_counts[columns]
        order = np.lexsort((columns, short, rows))
        rows, columns, n, short = rows[order], columns[order], n[order], short[order]
        ids = [r.id for r in rules]
        items: list[ActivityItem | ProgressItem] = [
            ("p", ids[c], k, rules[c].min_count or 0) if s else ("a", ids[c], points, k)
            for c, k, s, points in zip(
                columns.tolist(),
                n.tolist(),
                short.tolist(),
                shown[rows, columns].tolist(),
                strict=True,
            )
        ]
        ends = np.searchsorted(rows, np.arange(1, len(counts) + 1)).tolist()
        return [tuple(items[a:b]) for a, b in zip([0, *ends[:-1]], ends, strict=True)]

    def grade(
        self, records: Sequence[Mapping[str, Any]], events: EventArrays, as_of: int
    ) -> list[list[CompactGrade]]:
        """Per lead (in the order of records): its grades, main first; [] outside the audience."""
        chunk = self.grade_columns(Columns.of_records(records), events, as_of)
        return chunk.per_lead(len(records))
