"""What a preview of a changed model file finds, and how it reads: per model the move matrix
(from cell to cell, "none" for a lead neither file grades), the rules whose hits or text
changed, and the model-wide settings that changed (the CLI prints it as a table, the API as
JSON, the models page as a grid).

Pure: services/preview.py grades the leads under both files and hands each chunk's grades to
`tally_chunk`; `preview_result` turns the sums into a Preview.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .batch import CompactGrade
from .model import Config, Model
from .times import iso_text

NONE = "none"  # no grade: outside the audience, or the model is not in that file
CELLS = tuple(f"{f}{a}" for f in "ABCD" for a in (4, 3, 2, 1)) + (NONE,)


@dataclass
class RuleChange:
    dimension: str  # "fit" or "activity" (the model's own block)
    id: str
    label: str | None
    status: str  # "added", "removed", "changed" (points, condition or label) or "same"
    hits_before: int
    hits_after: int

    @property
    def difference(self) -> int:
        return self.hits_after - self.hits_before

    def as_dict(self) -> dict[str, Any]:
        return {
            "dimension": self.dimension,
            "id": self.id,
            "label": self.label,
            "status": self.status,
            "hits_before": self.hits_before,
            "hits_after": self.hits_after,
            "difference": self.difference,
        }


@dataclass
class ModelPreview:
    name: str
    status: str  # "added", "removed", "changed" or "unchanged"
    matrix: dict[str, dict[str, int]]  # from cell -> to cell -> leads (every cell and "none")
    rules: list[RuleChange] = field(default_factory=list)  # only rules whose hits or text changed
    settings: list[str] = field(default_factory=list)  # thresholds, windows, audience that changed

    @property
    def graded_before(self) -> int:
        return sum(n for src, row in self.matrix.items() if src != NONE for n in row.values())

    @property
    def graded_after(self) -> int:
        return sum(n for row in self.matrix.values() for dst, n in row.items() if dst != NONE)

    @property
    def moved(self) -> int:
        return sum(n for src, row in self.matrix.items() for dst, n in row.items() if dst != src)

    def moves(self) -> list[dict[str, Any]]:
        """The off-diagonal cells that hold leads, most leads first."""
        found = [
            {"from": src, "to": dst, "leads": n}
            for src, row in self.matrix.items()
            for dst, n in row.items()
            if n and dst != src
        ]
        return sorted(
            found, key=lambda m: (-m["leads"], CELLS.index(m["from"]), CELLS.index(m["to"]))
        )

    def totals(self) -> tuple[dict[str, int], dict[str, int]]:
        """Leads per from cell (row totals) and per to cell (column totals), leaving out the
        leads neither file grades ("none" to "none")."""
        rows = {src: sum(row.values()) for src, row in self.matrix.items()}
        columns = {dst: sum(self.matrix[src][dst] for src in CELLS) for dst in CELLS}
        rows[NONE] -= self.matrix[NONE][NONE]
        columns[NONE] -= self.matrix[NONE][NONE]
        return rows, columns

    def shown(self) -> tuple[list[str], list[str]]:
        """The from cells and the to cells that hold leads graded by either file."""
        rows, columns = self.totals()
        return [c for c in CELLS if rows[c]], [c for c in CELLS if columns[c]]

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "graded_before": self.graded_before,
            "graded_after": self.graded_after,
            "moved": self.moved,
            "cells": list(CELLS),
            "matrix": self.matrix,
            "moves": self.moves(),
            "rules": [r.as_dict() for r in self.rules],
            "settings": self.settings,
        }


@dataclass
class Preview:
    as_of: datetime
    leads: int
    seconds: float
    models: list[ModelPreview]

    def as_dict(self) -> dict[str, Any]:
        return {
            "as_of": iso_text(self.as_of),
            "leads": self.leads,
            "seconds": round(self.seconds, 3),
            "models": [m.as_dict() for m in self.models],
        }


def rule_table(model: Model | None) -> dict[tuple[str, str], Any]:
    if model is None:
        return {}
    table: dict[tuple[str, str], Any] = {("fit", r.id): r for r in model.fit_rules}
    table.update({("activity", r.id): r for r in model.activity.rules})
    return table


def setting_changes(before: Model | None, after: Model | None) -> list[str]:
    """The model-wide settings a reader of the move matrix wants to see changed."""
    if before is None or after is None:
        return []
    out = []
    for what, keys, old, new in (
        ("fit thresholds", "ABC", before.fit_thresholds, after.fit_thresholds),
        ("activity thresholds", "432", before.activity.thresholds, after.activity.thresholds),
    ):
        changed = [f"{k} {a:g} → {b:g}" for k, a, b in zip(keys, old, new, strict=True) if a != b]
        if changed:
            out.append(f"{what}: {', '.join(changed)}")
    for what in ("window_days", "half_life_days"):
        old, new = getattr(before.activity, what), getattr(after.activity, what)
        if old != new:
            out.append(f"activity {what}: {_setting(old)} → {_setting(new)}")
    if before.audience != after.audience:
        out.append("audience changed")
    for what, names in (
        ("categories added", [c.name for c in after.categories if before.category(c.name) is None]),
        (
            "categories removed",
            [c.name for c in before.categories if after.category(c.name) is None],
        ),
    ):
        if names:
            out.append(f"{what}: {', '.join(names)}")
    return out


def _setting(value: float | None) -> str:
    """A window or half-life as the file writes it (30, not 30.0), or none."""
    return "none" if value is None else f"{value:g}"


def model_status(before: Model | None, after: Model | None) -> str:
    if before is None:
        return "added"
    if after is None:
        return "removed"
    return "unchanged" if before == after else "changed"


def rule_changes(before: Model | None, after: Model | None, hits: list[Hits]) -> list[RuleChange]:
    old, new = rule_table(before), rule_table(after)
    out = []
    for key in [*old, *(k for k in new if k not in old)]:
        rule_before, rule_after = old.get(key), new.get(key)
        if rule_before is None:
            status = "added"
        elif rule_after is None:
            status = "removed"
        else:
            status = "same" if rule_before == rule_after else "changed"
        rule = rule_after or rule_before
        assert rule is not None  # every key comes from one of the two tables
        change = RuleChange(
            key[0],
            key[1],
            rule.label,
            status,
            hits[0][key],
            hits[1][key],
        )
        if status != "same" or change.difference:
            out.append(change)
    return out


DIMENSION = {"f": "fit", "a": "activity"}
Moves = Counter[tuple[str, str]]  # (from cell, to cell) -> leads
Hits = Counter[tuple[str, str]]  # (dimension, rule id) -> leads whose main grade it is in


@dataclass
class Tally:
    """What a slice of leads adds up to: leads seen, moves and rule hits per model."""

    leads: int = 0
    moves: dict[str, Moves] = field(default_factory=dict)
    hits: dict[str, list[Hits]] = field(default_factory=dict)

    def add(self, other: Tally) -> None:
        self.leads += other.leads
        for name, counter in other.moves.items():
            self.moves.setdefault(name, Counter()).update(counter)
        for name, (before, after) in other.hits.items():
            mine = self.hits.setdefault(name, [Counter(), Counter()])
            mine[0].update(before)
            mine[1].update(after)


def preview_result(
    current: Config, new: Config, as_of: datetime, tally: Tally, seconds: float
) -> Preview:
    old_models = {m.name: m for m in current.models}
    new_models = {m.name: m for m in new.models}
    names = [*old_models, *(n for n in new_models if n not in old_models)]
    models = []
    for name in names:
        before, after = old_models.get(name), new_models.get(name)
        moves = tally.moves.get(name, Counter())
        hits = tally.hits.get(name, [Counter(), Counter()])
        matrix = {src: dict.fromkeys(CELLS, 0) for src in CELLS}
        for (src, dst), n in moves.items():
            matrix[src][dst] = n
        matrix[NONE][NONE] = tally.leads - sum(moves.values())
        models.append(
            ModelPreview(
                name,
                model_status(before, after),
                matrix,
                rule_changes(before, after, hits),
                setting_changes(before, after),
            )
        )
    return Preview(as_of, tally.leads, seconds, models)


def tally_chunk(
    name: str,
    graded: list[dict[str, list[CompactGrade | None]]],
    count: int,
    moves: Moves,
    hits: list[Hits],
    min_counts: list[dict[str, dict[str, int]]],
) -> None:
    """Count one chunk's moves (leads graded in neither file are left to the caller) and hits:
    a fit rule that held, an activity rule with a matching event (a threshold rule: enough)."""
    empty = [None] * count
    before, after = graded[0].get(name, empty), graded[1].get(name, empty)
    for old, new in zip(before, after, strict=True):
        if old is None and new is None:
            continue
        moves[(old.grade if old else NONE, new.grade if new else NONE)] += 1
    for side, grades in enumerate((before, after)):
        counter, needed = hits[side], min_counts[side].get(name, {})
        for grade in grades:
            if grade is not None:
                counter.update(
                    (DIMENSION[item[0]], item[1])
                    for item in grade.explanation
                    if item[0] == "f" or (item[0] == "a" and item[3] >= needed.get(item[1], 1))
                )
