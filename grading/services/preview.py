"""Preview of a changed model file: every lead graded as of one moment under the active file and
under the new one, side by side, and nothing written.

Per model (present in either file) the result is a move matrix, from cell to cell with "none" for
a lead outside the model's audience (or a model only one file has), and per rule its hits (leads
whose main grade it contributes to) before and after. Leads are read in the chunks a re-grade
uses (``grading.chunk_events``) and graded by the same ``BatchGrader``; the preview runs inside a
read-only snapshot (``PRAGMA query_only``), so the database cannot change under it or by it.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import numpy as np
import orjson
import sqlite_utils

from grading.core.batch import BatchGrader, EventArrays
from grading.core.model import Config, Model
from grading.core.scoring import DAY, classify, epoch, lead_record
from grading.store import leads as lead_store
from grading.store.events import EventClasses, class_key, stored_signature

from .config_file import read_config
from .grading import CHUNK, chunk_events

NONE = "none"  # no grade: outside the audience, or the model is not in that file
CELLS = tuple(f"{f}{a}" for f in "ABCD" for a in (4, 3, 2, 1)) + (NONE,)


def read_new_config(raw: bytes | str) -> Config:
    """A model file sent as text, validated exactly as `grading check-config` does it (so the
    problems read the same); raises ConfigError listing every problem."""
    data = raw.encode() if isinstance(raw, str) else raw
    handle = tempfile.NamedTemporaryFile("wb", suffix=".yaml", delete=False)
    try:
        with handle:
            handle.write(data)
        return read_config(handle.name).config
    finally:
        os.unlink(handle.name)


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
        }


@dataclass
class Preview:
    as_of: datetime
    leads: int
    seconds: float
    models: list[ModelPreview]

    def as_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(timespec="seconds").replace("+00:00", "Z"),
            "leads": self.leads,
            "seconds": round(self.seconds, 3),
            "models": [m.as_dict() for m in self.models],
        }


def main_only(model: Model) -> Model:
    """The model without its categories: main grades do not depend on them, and leaving them
    out spares the batch grader their columns, explanations and routes."""
    return replace(model, categories=())


class _Side:
    """One model file's batch graders (main grades only), taught the event classes as they turn
    up; a model in `skip` is graded by the other side alone (it grades the same either way)."""

    def __init__(self, config: Config, skip: frozenset[str] = frozenset()):
        self.models = {m.name: main_only(m) for m in config.models if m.name not in skip}
        self.batch = {name: BatchGrader(m) for name, m in self.models.items()}
        self.classes: dict[str, dict[int, tuple]] = {name: {} for name in self.models}

    @property
    def longest_window(self) -> int:
        return max([1, *(b.longest_window for g in self.batch.values() for b in g.blocks)])

    def learn(self, fresh: Sequence[tuple[int, str, dict[str, Any]]]) -> None:
        for name, grader in self.batch.items():
            model, known = self.models[name], self.classes[name]
            known.update({c: classify(model, t, p) for c, t, p in fresh})
            # every class so far: learn_classes builds its table from what it is given
            grader.learn_classes(known)

    def main_grades(self, records, events: EventArrays, now: int) -> dict[str, list]:
        """Per model: per lead its main CompactGrade, or None outside the audience."""
        out = {}
        for name, grader in self.batch.items():
            out[name] = [g[0] if g else None for g in grader.grade(records, events, now)]
        return out


class _StoredClasses:
    """Event classes as stored: valid when the stored signature holds every property key both
    files read (the usual case; the classes then tell both files' rules apart)."""

    def __init__(self, db: sqlite_utils.Database, signature: Sequence[str], sides: list[_Side]):
        self.classes = EventClasses(db, signature)  # reads only
        self.sides = sides
        self.known = 0

    def events(self, db, now, window, positions, id_range) -> EventArrays:
        events = chunk_events(db, now, window, positions, id_range)
        if len(events.class_id) and int(events.class_id.max()) > self.known:
            fresh = list(self.classes.since(self.known))
            for side in self.sides:
                side.learn(fresh)
            self.known = max([self.known, *(c for c, _, _ in fresh)])
        return events


class _RawClasses:
    """Classes made in memory from the events' properties, for a new file that reads a property
    the stored classes leave out (re-classifying the store would be a write)."""

    def __init__(self, signature: Sequence[str], sides: list[_Side]):
        self.signature = tuple(signature)
        self.ids: dict[bytes, int] = {}
        self.sides = sides

    def _id(self, event_type: str, props: str, fresh: list) -> int:
        properties = orjson.loads(props)
        key = class_key(event_type, properties, self.signature)
        class_id = self.ids.get(key)
        if class_id is None:
            class_id = self.ids[key] = len(self.ids) + 1
            fresh.append((class_id, event_type, properties))
        return class_id

    def events(self, db, now, window, positions, id_range) -> EventArrays:
        cutoff = (now // DAY - window + 1) * DAY
        rows = db.execute(
            "SELECT lead_id, type, props, at FROM events"
            " WHERE at >= ? AND at <= ? AND lead_id >= ? AND lead_id < ?",
            [cutoff, now, *id_range],
        ).fetchall()
        if not rows:
            return EventArrays.from_rows([])
        fresh: list = []
        table = np.array(
            [(lead, self._id(t, p, fresh), at) for lead, t, p, at in rows], dtype=np.int64
        )
        if fresh:
            for side in self.sides:
                side.learn(fresh)
        lead_ids = np.fromiter(positions, dtype=np.int64, count=len(positions))
        return EventArrays(np.searchsorted(lead_ids, table[:, 0]), table[:, 1], table[:, 2])


@contextmanager
def _read_only(db: sqlite_utils.Database):
    """One snapshot for the whole preview, and SQLite refuses any write on this connection."""
    own = not db.conn.in_transaction
    db.execute("PRAGMA query_only = ON")
    try:
        if own:
            db.execute("BEGIN")
        try:
            yield
        finally:
            if own:
                db.execute("ROLLBACK")
    finally:
        db.execute("PRAGMA query_only = OFF")


def _rule_table(model: Model | None) -> dict[tuple[str, str], Any]:
    if model is None:
        return {}
    table: dict[tuple[str, str], Any] = {("fit", r.id): r for r in model.fit_rules}
    table.update({("activity", r.id): r for r in model.activity.rules})
    return table


def _model_status(before: Model | None, after: Model | None) -> str:
    if before is None:
        return "added"
    if after is None:
        return "removed"
    return "unchanged" if before == after else "changed"


def _rule_changes(
    before: Model | None, after: Model | None, hits: list[Counter]
) -> list[RuleChange]:
    old, new = _rule_table(before), _rule_table(after)
    out = []
    for key in [*old, *(k for k in new if k not in old)]:
        rule_before, rule_after = old.get(key), new.get(key)
        if rule_before is None:
            status = "added"
        elif rule_after is None:
            status = "removed"
        else:
            status = "same" if rule_before == rule_after else "changed"
        change = RuleChange(
            key[0],
            key[1],
            (rule_after or rule_before).label,
            status,
            hits[0][key],
            hits[1][key],
        )
        if status != "same" or change.difference:
            out.append(change)
    return out


DIMENSION = {"f": "fit", "a": "activity"}


def preview(db: sqlite_utils.Database, current: Config, new: Config, *, as_of: datetime) -> Preview:
    """Grade every lead as of `as_of` under `current` and `new`; write nothing."""
    started = time.perf_counter()
    now = epoch(as_of)
    old_models = {m.name: m for m in current.models}
    new_models = {m.name: m for m in new.models}
    names = [*old_models, *(n for n in new_models if n not in old_models)]
    same = frozenset(
        n
        for n in names
        if n in old_models
        and n in new_models
        and main_only(old_models[n]) == main_only(new_models[n])
    )
    sides = [_Side(current), _Side(new, skip=same)]
    moves = {name: Counter() for name in names}
    hits = {name: [Counter(), Counter()] for name in names}
    window = max(side.longest_window for side in sides)
    leads = 0
    with _read_only(db):
        signature = stored_signature(db)
        needed = set(current.event_property_keys) | set(new.event_property_keys)
        if signature is not None and needed <= set(signature):
            source: Any = _StoredClasses(db, signature, sides)
        else:
            source = _RawClasses(sorted(needed | set(signature or ())), sides)
        (low, high) = db.execute(
            "SELECT coalesce(min(id), 0), coalesce(max(id), -1) FROM leads"
        ).fetchone()
        for start in range(low, high + 1, CHUNK):
            id_range = (start, start + CHUNK)
            facts = list(lead_store.iter_lead_facts(db, id_range=id_range))
            if not facts:
                continue
            leads += len(facts)
            positions = {lead_id: i for i, (lead_id, *_) in enumerate(facts)}
            events = source.events(db, now, window, positions, id_range)
            records = [lead_record(person, company) for _, person, company, *_ in facts]
            graded = [side.main_grades(records, events, now) for side in sides]
            graded[1].update({name: graded[0][name] for name in same})
            for name in names:
                _tally(name, graded, len(facts), moves[name], hits[name])
    models = []
    for name in names:
        before, after = old_models.get(name), new_models.get(name)
        matrix = {src: dict.fromkeys(CELLS, 0) for src in CELLS}
        for (src, dst), n in moves[name].items():
            matrix[src][dst] = n
        matrix[NONE][NONE] = leads - sum(moves[name].values())
        models.append(
            ModelPreview(
                name,
                _model_status(before, after),
                matrix,
                _rule_changes(before, after, hits[name]),
            )
        )
    return Preview(as_of, leads, time.perf_counter() - started, models)


def _tally(name: str, graded: list[dict], count: int, moves: Counter, hits: list[Counter]) -> None:
    """Count one chunk's moves (leads graded in neither file are left to the caller) and hits."""
    empty = [None] * count
    before, after = graded[0].get(name, empty), graded[1].get(name, empty)
    for old, new in zip(before, after, strict=True):
        if old is None and new is None:
            continue
        moves[(old.grade if old else NONE, new.grade if new else NONE)] += 1
    for side, grades in enumerate((before, after)):
        counter = hits[side]
        for grade in grades:
            if grade is not None:
                counter.update((DIMENSION[item[0]], item[1]) for item in grade.explanation)


def render_table(result: Preview) -> str:
    """The preview as text: per model its moves as a matrix (only rows and columns that hold
    leads), then the rules whose hits or text changed."""
    stamp = result.as_of.isoformat(timespec="seconds").replace("+00:00", "Z")
    lines = [f"preview as of {stamp}: {result.leads:,} lead(s) graded under both files"]
    for model in result.models:
        lines.append("")
        lines.append(
            f"model {model.name} ({model.status}): {model.moved:,} lead(s) change cell;"
            f" graded {model.graded_before:,} -> {model.graded_after:,}"
        )
        lines.extend(_matrix_lines(model))
        if model.rules:
            lines.append("  rules whose hits change:")
            width = max(len(r.id) for r in model.rules)
            for rule in model.rules:
                lines.append(
                    f"    {rule.dimension:<8} {rule.id:<{width}}  {rule.status:<7}"
                    f"  {rule.hits_before:>8,} -> {rule.hits_after:<8,} ({rule.difference:+,})"
                )
        else:
            lines.append("  no rule's hits change")
    return "\n".join(lines) + "\n"


def _matrix_lines(model: ModelPreview) -> list[str]:
    rows, _ = model.totals()
    used_rows, used_columns = model.shown()
    if not used_rows:
        return ["  no lead is graded in this model by either file"]
    width = max(6, *(len(f"{n:,}") + 1 for n in rows.values()))
    head = "  from\\to" + "".join(f"{c:>{width}}" for c in used_columns) + f"{'total':>{width + 1}}"
    lines = [head]
    for src in used_rows:
        cells = []
        for dst in used_columns:
            n = model.matrix[src][dst]
            text = "." if n == 0 or (src == dst == NONE) else f"{n:,}"
            cells.append(f"{text:>{width}}")
        lines.append(f"  {src:<7}" + "".join(cells) + f"{rows[src]:>{width + 1},}")
    return lines
