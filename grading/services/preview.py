"""Preview of a changed model file: every lead graded as of one moment under the active file and
under the new one, side by side, and nothing written.

Per model (present in either file) the result is a move matrix, from cell to cell with "none" for
a lead outside the model's audience (or a model only one file has), and per rule its hits (leads
whose main grade it contributes to) before and after. Leads are read in the chunks a re-grade
uses (``grading.chunk_events``) and graded by the same ``BatchGrader``. Each pass (the whole
preview, or a worker's slice of lead ids on a large database) reads inside a read-only snapshot
(``PRAGMA query_only``): nothing can be written by it, and its slice cannot change under it.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import orjson
import sqlite_utils

from grading.core.batch import BatchGrader, EventArrays
from grading.core.model import Config, Model
from grading.core.scoring import classify, lead_record, window_start
from grading.core.times import epoch, iso_text
from grading.store import leads as lead_store
from grading.store.db import database_path, read_only, refuse_writes
from grading.store.events import EventClasses, class_key, stored_signature, window_raw_events

from .grading import chunk_events
from .model_file.read import parse_config
from .pool import CHUNK, PARALLEL_MIN_LEADS, SLICE, default_workers, worker_pool

NONE = "none"  # no grade: outside the audience, or the model is not in that file
CELLS = tuple(f"{f}{a}" for f in "ABCD" for a in (4, 3, 2, 1)) + (NONE,)


def read_new_config(raw: bytes | str) -> Config:
    """A model file sent as text, validated exactly as `grading check-config` does it (so the
    problems read the same); raises ConfigError listing every problem."""
    return parse_config(raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw)


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


class _Side:
    """One model file's batch graders (main grades only), taught the event classes as they turn
    up; a model in `skip` is graded by the other side alone (it grades the same either way)."""

    def __init__(self, config: Config, skip: frozenset[str] = frozenset()):
        self.models = {m.name: m.main_only() for m in config.models if m.name not in skip}
        self.batch = {name: BatchGrader(m) for name, m in self.models.items()}
        # a threshold rule is listed once one event matches; it is met only at its min_count
        self.min_counts = {
            name: {r.id: r.min_count for r in m.activity.rules if r.min_count}
            for name, m in self.models.items()
        }

    @property
    def longest_window(self) -> int:
        return max([1, *(b.longest_window for g in self.batch.values() for b in g.blocks)])

    def learn(self, fresh: Sequence[tuple[int, str, dict[str, Any]]]) -> None:
        for name, grader in self.batch.items():
            model = self.models[name]
            grader.learn_classes({c: classify(model, t, p) for c, t, p in fresh})

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
        rows = window_raw_events(db, window_start(now, window), now, id_range)
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


def _rule_table(model: Model | None) -> dict[tuple[str, str], Any]:
    if model is None:
        return {}
    table: dict[tuple[str, str], Any] = {("fit", r.id): r for r in model.fit_rules}
    table.update({("activity", r.id): r for r in model.activity.rules})
    return table


def _setting_changes(before: Model | None, after: Model | None) -> list[str]:
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
            out.append(
                f"activity {what}: {old if old is not None else 'none'} → {new if new is not None else 'none'}"
            )
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


@dataclass
class _Tally:
    """What a slice of leads adds up to: leads seen, moves and rule hits per model."""

    leads: int = 0
    moves: dict[str, Counter] = field(default_factory=dict)
    hits: dict[str, list[Counter]] = field(default_factory=dict)

    def add(self, other: _Tally) -> None:
        self.leads += other.leads
        for name, counter in other.moves.items():
            self.moves.setdefault(name, Counter()).update(counter)
        for name, (before, after) in other.hits.items():
            mine = self.hits.setdefault(name, [Counter(), Counter()])
            mine[0].update(before)
            mine[1].update(after)


@dataclass(frozen=True)
class _Plan:
    """Everything a process needs to preview a slice of lead ids (picklable)."""

    current: Mapping[str, Any]  # the two files' sources, for load_config
    new: Mapping[str, Any]
    now: int
    signature: tuple[str, ...]
    stored_classes: bool  # else classes are made from the events' properties


def _same_models(current: Config, new: Config) -> frozenset[str]:
    """Models whose main grade the two files compute alike."""
    after = {m.name: m for m in new.models}
    return frozenset(
        m.name
        for m in current.models
        if m.name in after and m.main_only() == after[m.name].main_only()
    )


def _preview_slice(
    db: sqlite_utils.Database, current: Config, new: Config, plan: _Plan, low: int, high: int
) -> _Tally:
    """Grade the leads with ids in [low, high) under both files, chunk by chunk."""
    same = _same_models(current, new)
    sides = [_Side(current), _Side(new, skip=same)]
    names = [*sides[0].models, *(n for n in sides[1].models if n not in sides[0].models)]
    window = max(side.longest_window for side in sides)
    min_counts = [sides[0].min_counts, {**sides[0].min_counts, **sides[1].min_counts}]
    tally = _Tally(
        moves={name: Counter() for name in names},
        hits={name: [Counter(), Counter()] for name in names},
    )
    source: Any = (
        _StoredClasses(db, plan.signature, sides)
        if plan.stored_classes
        else _RawClasses(plan.signature, sides)
    )
    for start in range(low, high, CHUNK):
        id_range = (start, min(start + CHUNK, high))
        facts = list(lead_store.iter_lead_facts(db, id_range=id_range))
        if not facts:
            continue
        tally.leads += len(facts)
        positions = {lead.lead_id: i for i, lead in enumerate(facts)}
        events = source.events(db, plan.now, window, positions, id_range)
        records = [lead_record(lead.person, lead.company) for lead in facts]
        graded = [side.main_grades(records, events, plan.now) for side in sides]
        graded[1].update({name: graded[0][name] for name in same})
        for name in names:
            _tally(name, graded, len(facts), tally.moves[name], tally.hits[name], min_counts)
    return tally


_worker: dict = {}


def _init_worker(path: str, plan: _Plan) -> None:
    from grading.core.config import load_config
    from grading.store.db import connect

    db = connect(path)
    refuse_writes(db)
    _worker.update(db=db, plan=plan, current=load_config(plan.current), new=load_config(plan.new))


def _worker_slice(low: int, high: int) -> _Tally:
    w = _worker
    with read_only(w["db"]):
        return _preview_slice(w["db"], w["current"], w["new"], w["plan"], low, high)


def preview(
    db: sqlite_utils.Database,
    current: Config,
    new: Config,
    *,
    as_of: datetime,
    workers: int | None = None,
) -> Preview:
    """Grade every lead as of `as_of` under `current` and `new`; write nothing.

    Like a full re-grade, a large file database is previewed in `workers` processes (default:
    one per core, at most 4), each over its own slices of lead ids."""
    started = time.perf_counter()
    with read_only(db):
        signature = stored_signature(db)
        needed = set(current.event_property_keys) | set(new.event_property_keys)
        if signature is not None and needed <= set(signature):
            stored, fields = True, tuple(signature)
        else:
            stored, fields = False, tuple(sorted(needed | set(signature or ())))
        plan = _Plan(dict(current.source), dict(new.source), epoch(as_of), fields, stored)
        low, high, count = lead_store.id_span(db)
        workers = workers if workers is not None else default_workers()
        path = database_path(db)
        parallel = (
            workers > 1 and path and count >= PARALLEL_MIN_LEADS and current.source and new.source
        )
        if not parallel:
            tally = _preview_slice(db, current, new, plan, low, high + 1)
    if parallel:
        assert path is not None  # parallel only for a file database
        tally = _preview_parallel(path, plan, low, high, workers)
    return _result(current, new, as_of, tally, time.perf_counter() - started)


def _preview_parallel(path: str, plan: _Plan, low: int, high: int, workers: int) -> _Tally:
    tally = _Tally()
    with worker_pool(workers, _init_worker, (path, plan)) as pool:
        futures = [
            pool.submit(_worker_slice, start, min(start + SLICE, high + 1))
            for start in range(low, high + 1, SLICE)
        ]
        for future in futures:
            tally.add(future.result())
    return tally


def _result(
    current: Config, new: Config, as_of: datetime, tally: _Tally, seconds: float
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
                _model_status(before, after),
                matrix,
                _rule_changes(before, after, hits),
                _setting_changes(before, after),
            )
        )
    return Preview(as_of, tally.leads, seconds, models)


def _tally(
    name: str,
    graded: list[dict],
    count: int,
    moves: Counter,
    hits: list[Counter],
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


def render_table(result: Preview) -> str:
    """The preview as text: per model its moves as a matrix (only rows and columns that hold
    leads), then the rules whose hits or text changed."""
    stamp = iso_text(result.as_of)
    lines = [f"preview as of {stamp}: {result.leads:,} lead(s) graded under both files"]
    for model in result.models:
        lines.append("")
        lines.append(
            f"model {model.name} ({model.status}): {model.moved:,} lead(s) change cell;"
            f" graded {model.graded_before:,} -> {model.graded_after:,}"
        )
        lines.extend(f"  {setting}" for setting in model.settings)
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
