"""Calibration (SPEC section 5): are the points right, judged by won and lost deals?

Each lead with an outcome is graded **as of its outcome's time**, from what was known then: the
person and company as they were (the caller looks them up), and only the events up to that
moment (``scoring.tally`` leaves later ones out): the cases and their grades are
calibration_cases.py's. From those grades this module counts:

- per rule: leads that met it, won among them, win rate, lift (win rate / overall win rate), and
  the criteria-table method: the rule's share of all rule hits of the won leads ("% of closings")
  and suggested points ``round(100 x share)``, so the suggestions add up to about 100; the share
  within the rule's own dimension is reported as well. Rules with negative points count against
  a lead: a share of closings cannot price them, so they get no share and no suggestion (their
  lift says whether the penalty holds up);
- per cell: leads, won, lost, conversion, and whether conversion falls from A to D and from 4 to 1;
- ROC AUC of the fit and activity scores (how well each separates won from lost).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .calibration_cases import Case, ClassCache, grade_as_of, rules_met
from .model import Model
from .scoring import Dimension, Grade

LETTERS = "ABCD"
NUMBERS = (4, 3, 2, 1)


@dataclass(frozen=True)
class RuleStats:
    id: str
    label: str | None
    dimension: Dimension
    points: float  # as the model has them now
    leads: int  # leads that met the rule
    won: int
    win_rate: float | None
    lift: float | None
    share: float | None  # of all rule hits of the won leads (both dimensions)
    share_in_dimension: float | None  # of the won leads' hits of rules of this dimension
    suggested_points: int | None  # round(100 x share)


@dataclass(frozen=True)
class CellStats:
    name: str  # "A4", or a whole letter "A" / number "4"
    leads: int
    won: int
    lost: int

    @property
    def conversion(self) -> float | None:
        return self.won / self.leads if self.leads else None


@dataclass(frozen=True)
class Violation:
    """A worse cell (or letter, number) that converts better than the one before it."""

    axis: str  # "fit": along A..D; "activity": along 4..1
    better: str  # the cell that should convert more
    worse: str
    better_conversion: float
    worse_conversion: float

    def __str__(self) -> str:
        return (
            f"{self.worse} converts {self.worse_conversion:.0%},"
            f" more than {self.better} ({self.better_conversion:.0%})"
        )


@dataclass(frozen=True)
class Calibration:
    model: str
    leads: int  # graded leads with an outcome
    won: int
    lost: int
    outside_audience: int  # leads with an outcome that were not in the audience at that time
    rules: tuple[RuleStats, ...]
    cells: tuple[CellStats, ...]  # A4, A3, A2, A1, B4, ... D1
    letters: tuple[CellStats, ...]  # A, B, C, D
    numbers: tuple[CellStats, ...]  # 4, 3, 2, 1
    violations: tuple[Violation, ...]
    fit_auc: float | None
    activity_auc: float | None

    @property
    def win_rate(self) -> float | None:
        return self.won / self.leads if self.leads else None

    @property
    def fit_falls(self) -> bool:
        """Conversion falls (or stays) from A to D: in the letters and in every activity column."""
        return not any(v.axis == "fit" for v in self.violations)

    @property
    def activity_falls(self) -> bool:
        return not any(v.axis == "activity" for v in self.violations)


# statistics -----------------------------------------------------------------------------------


def roc_auc(positives: Sequence[float], negatives: Sequence[float]) -> float | None:
    """P(a won lead scores higher than a lost one), ties counting half; None without both."""
    if not positives or not negatives:
        return None
    scored = sorted([(s, 1) for s in positives] + [(s, 0) for s in negatives])
    rank_sum = 0.0  # of the positives, with tied scores sharing their average rank
    i = 0
    while i < len(scored):
        j = i
        while j < len(scored) and scored[j][0] == scored[i][0]:
            j += 1
        average_rank = (i + 1 + j) / 2
        rank_sum += average_rank * sum(label for _, label in scored[i:j])
        i = j
    n_pos, n_neg = len(positives), len(negatives)
    return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def suggested_points(hits: int, all_hits: int) -> int:
    """round(100 x hits / all_hits), halves rounded up, in exact integer arithmetic."""
    return (200 * hits + all_hits) // (2 * all_hits)


def falls(ordered: Sequence[CellStats], axis: str) -> list[Violation]:
    """Where conversion rises along an order meant to fall (cells without leads are skipped)."""
    found = []
    seen = [(c, c.won / c.leads) for c in ordered if c.leads]  # (cell, its conversion)
    for (better, better_rate), (worse, worse_rate) in zip(seen, seen[1:], strict=False):
        if worse_rate > better_rate:
            found.append(Violation(axis, better.name, worse.name, better_rate, worse_rate))
    return found


@dataclass
class _Counter:
    leads: int = 0
    won: int = 0

    def add(self, won: bool) -> None:
        self.leads += 1
        self.won += won

    def stats(self, name: str) -> CellStats:
        return CellStats(name, self.leads, self.won, self.leads - self.won)


@dataclass
class _Totals:
    model: Model
    overall: _Counter = field(default_factory=_Counter)
    outside: int = 0
    rules: dict[tuple[Dimension, str], _Counter] = field(default_factory=dict)
    cells: dict[str, _Counter] = field(default_factory=dict)
    scores: dict[bool, tuple[list[float], list[float]]] = field(
        default_factory=lambda: {True: ([], []), False: ([], [])}
    )

    def add(self, grade: Grade, won: bool) -> None:
        self.overall.add(won)
        for key in rules_met(self.model, grade):
            self.rules.setdefault(key, _Counter()).add(won)
        self.cells.setdefault(grade.grade, _Counter()).add(won)
        self.scores[won][0].append(grade.fit_score)
        self.scores[won][1].append(grade.activity_score)

    def rule_stats(self) -> tuple[RuleStats, ...]:
        model = self.model
        listed: list[tuple[Dimension, str, str | None, float]]
        listed = [("fit", r.id, r.label, r.points) for r in model.fit_rules]
        listed += [("activity", r.id, r.label, r.points) for r in model.activity.rules]
        priced = [(d, i) for d, i, _, points in listed if points >= 0]
        won_hits = {key: self.rules.get(key, _Counter()).won for key in priced}
        all_hits = sum(won_hits.values())
        in_dimension = {
            d: sum(n for (dim, _), n in won_hits.items() if dim == d) for d in ("fit", "activity")
        }
        overall_rate = self.overall.won / self.overall.leads if self.overall.leads else None
        out = []
        for dimension, rule_id, label, points in listed:
            counter = self.rules.get((dimension, rule_id), _Counter())
            rate = counter.won / counter.leads if counter.leads else None
            lift = rate / overall_rate if rate is not None and overall_rate else None
            hits = won_hits.get((dimension, rule_id))
            share = hits / all_hits if hits is not None and all_hits else None
            dim_total = in_dimension[dimension]
            out.append(
                RuleStats(
                    id=rule_id,
                    label=label,
                    dimension=dimension,
                    points=points,
                    leads=counter.leads,
                    won=counter.won,
                    win_rate=rate,
                    lift=lift,
                    share=share,
                    share_in_dimension=hits / dim_total if hits is not None and dim_total else None,
                    suggested_points=suggested_points(hits, all_hits)
                    if hits is not None and all_hits
                    else None,
                )
            )
        return tuple(out)

    def result(self) -> Calibration:
        empty = _Counter()
        cells = tuple(
            self.cells.get(f"{f}{a}", empty).stats(f"{f}{a}") for f in LETTERS for a in NUMBERS
        )
        by_name = {c.name: c for c in cells}

        def merged(name: str, members: list[str]) -> CellStats:
            leads = sum(by_name[m].leads for m in members)
            won = sum(by_name[m].won for m in members)
            return CellStats(name, leads, won, leads - won)

        letters = tuple(merged(f, [f"{f}{a}" for a in NUMBERS]) for f in LETTERS)
        numbers = tuple(merged(str(a), [f"{f}{a}" for f in LETTERS]) for a in NUMBERS)
        violations = falls(letters, "fit") + falls(numbers, "activity")
        for a in NUMBERS:  # A..D within each activity column
            violations += falls([by_name[f"{f}{a}"] for f in LETTERS], "fit")
        for f in LETTERS:  # 4..1 within each fit row
            violations += falls([by_name[f"{f}{a}"] for a in NUMBERS], "activity")
        (won_fit, won_activity), (lost_fit, lost_activity) = self.scores[True], self.scores[False]
        return Calibration(
            model=self.model.name,
            leads=self.overall.leads,
            won=self.overall.won,
            lost=self.overall.leads - self.overall.won,
            outside_audience=self.outside,
            rules=self.rule_stats(),
            cells=cells,
            letters=letters,
            numbers=numbers,
            violations=tuple(violations),
            fit_auc=roc_auc(won_fit, lost_fit),
            activity_auc=roc_auc(won_activity, lost_activity),
        )


def calibrate(model: Model, cases: Iterable[Case]) -> Calibration:
    """Calibration of one model's main grade from leads with outcomes (streamed: a case at a time)."""
    totals = _Totals(model)
    cache: ClassCache = {}
    model = model.main_only()  # main grades only: no category is classified or graded
    for case in cases:
        grade = grade_as_of(model, case, cache)
        if grade is None:
            totals.outside += 1
        else:
            totals.add(grade, case.won)
    return totals.result()


def as_dict(result: Calibration) -> dict[str, Any]:
    """Plain JSON-ready data: rates and shares rounded to 4 decimals, AUC to 4."""

    def r(value: float | None) -> float | None:
        return None if value is None else round(value, 4)

    def cell(c: CellStats) -> dict[str, Any]:
        return {
            "name": c.name,
            "leads": c.leads,
            "won": c.won,
            "lost": c.lost,
            "conversion": r(c.conversion),
        }

    return {
        "model": result.model,
        "leads": result.leads,
        "won": result.won,
        "lost": result.lost,
        "win_rate": r(result.win_rate),
        "outside_audience": result.outside_audience,
        "rules": [
            {
                "id": s.id,
                "label": s.label,
                "dimension": s.dimension,
                "points": s.points,
                "leads": s.leads,
                "won": s.won,
                "win_rate": r(s.win_rate),
                "lift": r(s.lift),
                "share": r(s.share),
                "share_in_dimension": r(s.share_in_dimension),
                "suggested_points": s.suggested_points,
            }
            for s in result.rules
        ],
        "cells": [cell(c) for c in result.cells],
        "letters": [cell(c) for c in result.letters],
        "numbers": [cell(c) for c in result.numbers],
        "fit_falls": result.fit_falls,
        "activity_falls": result.activity_falls,
        "violations": [
            {
                "axis": v.axis,
                "better": v.better,
                "worse": v.worse,
                "better_conversion": r(v.better_conversion),
                "worse_conversion": r(v.worse_conversion),
                "text": str(v),
            }
            for v in result.violations
        ],
        "fit_auc": r(result.fit_auc),
        "activity_auc": r(result.activity_auc),
    }
