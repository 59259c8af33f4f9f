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
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import orjson
import sqlite_utils

from grading.core.batch import BatchGrader, EventArrays
from grading.core.model import Config
from grading.core.preview import Preview, Tally, preview_result, tally_chunk
from grading.core.scoring import classify, lead_record, window_start
from grading.core.times import epoch
from grading.store import lead_facts
from grading.store.db import database_path, read_only, refuse_writes
from grading.store.events import EventClasses, class_key, stored_signature, window_raw_events

from .grader import chunk_events
from .model_file.read import parse_config
from .pool import CHUNK, PARALLEL_MIN_LEADS, SLICE, default_workers, worker_pool


def read_new_config(raw: bytes | str) -> Config:
    """A model file sent as text, validated exactly as `grading check-config` does it (so the
    problems read the same); raises ConfigError listing every problem."""
    return parse_config(raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw)


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
) -> Tally:
    """Grade the leads with ids in [low, high) under both files, chunk by chunk."""
    same = _same_models(current, new)
    sides = [_Side(current), _Side(new, skip=same)]
    names = [*sides[0].models, *(n for n in sides[1].models if n not in sides[0].models)]
    window = max(side.longest_window for side in sides)
    min_counts = [sides[0].min_counts, {**sides[0].min_counts, **sides[1].min_counts}]
    tally = Tally(
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
        facts = list(lead_facts.iter_lead_facts(db, id_range=id_range))
        if not facts:
            continue
        tally.leads += len(facts)
        positions = {lead.lead_id: i for i, lead in enumerate(facts)}
        events = source.events(db, plan.now, window, positions, id_range)
        records = [lead_record(lead.person, lead.company) for lead in facts]
        graded = [side.main_grades(records, events, plan.now) for side in sides]
        graded[1].update({name: graded[0][name] for name in same})
        for name in names:
            tally_chunk(name, graded, len(facts), tally.moves[name], tally.hits[name], min_counts)
    return tally


_worker: dict = {}


def _init_worker(path: str, plan: _Plan) -> None:
    from grading.core.config import load_config
    from grading.store.db import connect

    db = connect(path)
    refuse_writes(db)
    _worker.update(db=db, plan=plan, current=load_config(plan.current), new=load_config(plan.new))


def _worker_slice(low: int, high: int) -> Tally:
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
        low, high, count = lead_facts.id_span(db)
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
    return preview_result(current, new, as_of, tally, time.perf_counter() - started)


def _preview_parallel(path: str, plan: _Plan, low: int, high: int, workers: int) -> Tally:
    tally = Tally()
    with worker_pool(workers, _init_worker, (path, plan)) as pool:
        futures = [
            pool.submit(_worker_slice, start, min(start + SLICE, high + 1))
            for start in range(low, high + 1, SLICE)
        ]
        for future in futures:
            tally.add(future.result())
    return tally
