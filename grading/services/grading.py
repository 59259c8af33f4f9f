"""Re-grading: store -> core.scoring -> store, in chunks of leads, writing only what changed."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import as_completed
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

import numpy as np
import orjson
import sqlite_utils

from grading.core.batch import BatchGrader, CompactGrade, EventArrays
from grading.core.changes import (
    GradeChange,
    GradeValues,
    Scope,
    StoredGrade,
    changes_of,
    routes_to_sales,
)
from grading.core.model import Config, Model
from grading.core.scoring import classify, lead_record, window_start
from grading.core.scoring import stored as stored_score
from grading.core.times import epoch, iso_text
from grading.store import lead_facts
from grading.store import leads as lead_store
from grading.store.db import database_path, snapshot, transaction
from grading.store.events import EventClasses, ensure_signature, window_events
from grading.store.grades import bulk_first_grading, current_grades, write_changes

from . import accounts, webhooks
from .pool import CHUNK, PARALLEL_MIN_LEADS, SLICE, default_workers, worker_pool

REASONS = ("event", "lead-update", "regrade", "model-change")


class StaleChunk(Exception):
    """Another writer re-graded leads of a chunk between its reading and its writing."""


@dataclass
class RegradeResult:
    leads: int = 0
    changed: int = 0  # grades whose cell or route changed (history entries)
    rows_written: int = 0  # grade rows inserted, updated or deleted

    def add(self, other: RegradeResult) -> None:
        self.leads += other.leads
        self.changed += other.changed
        self.rows_written += other.rows_written


def stored_values(grade: CompactGrade) -> GradeValues:
    """The grade as stored, as a plain tuple (core.changes.GradeValues): scores unrounded
    (core.scoring.STORED_DECIMALS); explanation points are already rounded by the batch grader."""
    route = _route_json(grade.route) if grade.route else None
    return (
        stored_score(grade.fit_score),
        grade.fit,
        stored_score(grade.activity_score),
        grade.activity,
        grade.grade,
        route,
        orjson.dumps(grade.explanation).decode(),
    )


def stored_form(grade: CompactGrade) -> StoredGrade:
    return StoredGrade._make(stored_values(grade))


@lru_cache(maxsize=1024)
def _route_json(route) -> str:
    return orjson.dumps(route.as_dict()).decode()


def chunk_events(
    db: sqlite_utils.Database,
    as_of: int,
    longest_window: int,
    positions: dict[int, int],
    id_range: tuple[int, int] | None = None,
) -> EventArrays:
    """The classified events of a chunk of leads (`positions`: lead id -> index, ids sorted) that
    any rule can count as of `as_of`: read-only, shared by re-grading and the preview."""
    cutoff = window_start(as_of, longest_window)
    rows = window_events(db, cutoff, as_of, lead_ids=list(positions), id_range=id_range)
    if not rows:
        return EventArrays.from_rows([])
    table = np.array(rows, dtype=np.int64)
    # positions follow the chunk's lead ids, which are sorted: a search finds each event's lead
    lead_ids = np.fromiter(positions, dtype=np.int64, count=len(positions))
    return EventArrays(np.searchsorted(lead_ids, table[:, 0]), table[:, 1], table[:, 2])


class Grader:
    """Grades leads of one database under one config; event classes are classified once per model.

    A grader is kept between calls (see `grader_for`), so a single event costs no re-reading of
    the classes; `using(db)` lends it the caller's connection for one call at a time."""

    def __init__(
        self, db: sqlite_utils.Database, config: Config, models: Sequence[str] | None = None
    ):
        self.db = db
        self.config = config
        self.lock = threading.RLock()
        self.models: list[Model] = [m for m in config.models if models is None or m.name in models]
        with transaction(db):
            ensure_signature(db, config.event_property_keys)
        self.classes = EventClasses(db, config.event_property_keys)
        self.batch = {m.name: BatchGrader(m) for m in self.models}
        self.known_classes: set[int] = set()
        self._classify_new()
        self.longest_window = max(
            [1, *(b.longest_window for g in self.batch.values() for b in g.blocks)]
        )

    @contextmanager
    def using(self, db: sqlite_utils.Database):
        with self.lock:
            self.db = self.classes.db = db
            self.classes.reread_if_erased()
            yield self

    def _classify_new(self) -> None:
        fresh = list(self.classes.since(max(self.known_classes, default=0)))
        if not fresh:
            return
        for model in self.models:
            self.batch[model.name].learn_classes({c: classify(model, t, p) for c, t, p in fresh})
        self.known_classes.update(c for c, _, _ in fresh)

    def _events(self, as_of: int, positions: dict[int, int], id_range=None) -> EventArrays:
        events = chunk_events(self.db, as_of, self.longest_window, positions, id_range)
        if len(events.class_id) and not self.known_classes.issuperset(
            np.unique(events.class_id).tolist()
        ):
            self._classify_new()
        return events

    @staticmethod
    def _newest_events(events: EventArrays, facts: list) -> list[int | None]:
        """Per lead of the chunk: the time of its newest event in the grading window, or None."""
        newest = np.full(len(facts), -1, dtype=np.int64)
        if len(events.at):
            np.maximum.at(newest, events.lead_index, events.at)
        return [None if t < 0 else t for t in newest.tolist()]

    def grade_chunk(
        self, as_of: datetime, reason: str, lead_ids=None, id_range=None
    ) -> RegradeResult:
        """Grade one chunk of leads. Inside the caller's transaction it reads and writes in it.
        Outside one (a worker process of a full re-grade) it reads one snapshot without the write
        lock, and grades again under the lock when another writer re-graded any of its leads in
        the meantime: their newer grades are never overwritten from the older reading."""
        if self.db.conn.in_transaction:
            return self._grade_chunk(as_of, reason, lead_ids, id_range, snapshot=False)
        try:
            return self._grade_chunk(as_of, reason, lead_ids, id_range, snapshot=True)
        except StaleChunk:
            with transaction(self.db):
                return self._grade_chunk(as_of, reason, lead_ids, id_range, snapshot=False)

    def _grade_chunk(
        self, as_of: datetime, reason: str, lead_ids, id_range, *, snapshot: bool
    ) -> RegradeResult:
        now = epoch(as_of)
        stamp = iso_text(as_of)
        # a snapshot is deferred: the reads see one state and take no lock
        with _snapshot_if(snapshot, self.db):
            facts = list(lead_facts.iter_lead_facts(self.db, lead_ids=lead_ids, id_range=id_range))
            if not facts:
                return RegradeResult()
            positions = {lead.lead_id: i for i, lead in enumerate(facts)}
            events = self._events(now, positions, id_range=id_range)
            chunk = {"lead_ids": None if id_range else list(positions), "id_range": id_range}
            existing = current_grades(self.db, **chunk)
        records = [lead_record(lead.person, lead.company) for lead in facts]
        graded = {name: grader.grade(records, events, now) for name, grader in self.batch.items()}
        by_lead: dict[int, dict[tuple[str, str], GradeValues]] = defaultdict(dict)
        for (owner, model_name, category), stored in existing.items():
            by_lead[owner][(model_name, category)] = stored
        scope = Scope(frozenset(self.batch), frozenset(m.name for m in self.config.models))
        changed: list[GradeChange] = []
        routed_to_sales: list[tuple[int, str | None]] = []
        newest = self._newest_events(events, facts)
        last_events = [
            (newest[i], lead.lead_id)
            for i, lead in enumerate(facts)
            if newest[i] != lead.last_event_at
        ]
        # Only grades that differ from the stored ones (compared as tuples) go to changes_of.
        for i, lead in enumerate(facts):
            lead_id, outcome = lead.lead_id, lead.outcome
            old_grades = by_lead.get(lead_id, {})
            produced: set[tuple[str, str]] = set()
            wants_sales = False
            for model_name, per_lead in graded.items():
                for grade in per_lead[i]:
                    category = grade.category or ""
                    produced.add((model_name, category))
                    stored = stored_values(grade)
                    old = old_grades.get((model_name, category))
                    if old != stored:
                        changed.append(
                            GradeChange(
                                lead_id,
                                model_name,
                                category,
                                None if old is None else StoredGrade._make(old),
                                StoredGrade._make(stored),
                                outcome,
                            )
                        )
                    if not wants_sales and routes_to_sales(grade.route):
                        wants_sales = True
            for (model_name, category), old in old_grades.items():
                if (model_name, category) not in produced and scope.drops(model_name):
                    gone = StoredGrade._make(old)
                    changed.append(GradeChange(lead_id, model_name, category, gone, None, outcome))
            if wants_sales:
                routed_to_sales.append((lead_id, lead.handed_over_at))
        changes = changes_of(changed, at=stamp, reason=reason, routed_to_sales=routed_to_sales)
        with transaction(self.db):
            if snapshot and current_grades(self.db, **chunk) != existing:
                raise StaleChunk  # rolled back: nothing was written yet
            write_changes(self.db, changes, stamp)
            webhooks.enqueue(self.db, self.config, changes.history)
            if last_events:
                lead_facts.note_last_events(self.db, last_events)
            lead_store.hand_over(self.db, list(changes.hand_overs), stamp)
        return RegradeResult(len(facts), len(changes.history), len(changes))


@contextmanager
def _snapshot_if(wanted: bool, db: sqlite_utils.Database):
    if wanted:
        with snapshot(db):
            yield
    else:
        yield


_worker: dict = {}


def _init_worker(path: str, source: dict, models: Sequence[str] | None) -> None:
    from grading.core.config import load_config
    from grading.store.db import connect

    db = connect(path)
    _worker["grader"] = Grader(db, load_config(source), models)


def _grade_slice(start: int, stop: int, as_of: datetime, reason: str) -> RegradeResult:
    grader: Grader = _worker["grader"]
    result = RegradeResult()
    for low in range(start, stop, CHUNK):
        result.add(grader.grade_chunk(as_of, reason, id_range=(low, min(low + CHUNK, stop))))
    return result


_graders: dict[tuple[str, int], Grader] = {}
_graders_lock = threading.Lock()


def grader_for(
    db: sqlite_utils.Database, config: Config, models: Sequence[str] | None = None
) -> Grader:
    """The kept grader of a database file and config (a new one for in-memory or partial grading)."""
    path = database_path(db)
    if path is None or models is not None:
        return Grader(db, config, models)
    key = (path, id(config))
    with _graders_lock:
        grader = _graders.get(key)
    if grader is not None and grader.config is config:
        return grader
    # Built outside the lock: building takes the database's write lock, and a thread holding that
    # lock may be waiting here for a kept grader (a deadlock until the busy timeout).
    fresh = Grader(db, config)
    with _graders_lock:
        grader = _graders.get(key)
        if grader is None or grader.config is not config:
            if len(_graders) >= 8:
                _graders.clear()
            grader = _graders[key] = fresh
    return grader


def regrade(
    db: sqlite_utils.Database,
    config: Config,
    *,
    as_of: datetime,
    reason: str = "regrade",
    models: Sequence[str] | None = None,
    lead_ids: Iterable[int] | None = None,
    progress: Callable[[int], object] | None = None,  # its result is ignored
    workers: int | None = None,
) -> RegradeResult:
    """Re-grade every lead (or the given ones) in the given models (default: all).

    A full re-grade of a large file database runs in `workers` processes (default: one per
    core), each grading its own slices of lead ids; SQLite serialises their short writes."""
    if reason not in REASONS:
        raise ValueError(f"unknown reason {reason!r}")
    result = RegradeResult()
    if lead_ids is not None:
        ids = sorted(set(lead_ids))
        grader = grader_for(db, config, models)
        for start in range(0, len(ids), CHUNK):
            # The database's write lock first, then the grader's, as an API batch takes them (the
            # reverse order deadlocks); and a chunk read and written in one transaction never
            # writes grades from events or leads that another writer has changed in between.
            with transaction(db), grader.using(db):
                part = grader.grade_chunk(as_of, reason, lead_ids=ids[start : start + CHUNK])
            result.add(part)
            if progress:
                progress(part.leads)
        accounts.note_leads(db, config, ids)
        return result
    low, high, count = lead_facts.id_span(db)
    workers = workers if workers is not None else default_workers()
    path = database_path(db)
    with bulk_first_grading(db, count):
        if workers > 1 and path and count >= PARALLEL_MIN_LEADS and config.source:
            result = _regrade_parallel(
                path, config, models, low, high, as_of, reason, workers, progress
            )
        else:
            grader = grader_for(db, config, models)
            for start in range(low, high + 1, CHUNK):
                with transaction(db), grader.using(db):  # in this order: see above
                    part = grader.grade_chunk(as_of, reason, id_range=(start, start + CHUNK))
                result.add(part)
                if progress:
                    progress(part.leads)
    # accounts are graded from the stored lead grades: after all of them (and their indexes)
    accounts.refresh(db, config, as_of=as_of, models=models)
    return result


def _regrade_parallel(
    path, config, models, low, high, as_of, reason, workers, progress
) -> RegradeResult:
    # Workers open their own connections in _init_worker.
    result = RegradeResult()
    with worker_pool(workers, _init_worker, (path, dict(config.source), models)) as pool:
        futures = [
            pool.submit(_grade_slice, start, min(start + SLICE, high + 1), as_of, reason)
            for start in range(low, high + 1, SLICE)
        ]
        for future in as_completed(futures):
            part = future.result()
            result.add(part)
            if progress:
                progress(part.leads)
    return result
