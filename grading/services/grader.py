"""Grading one chunk of leads: store -> core -> store, writing only what changed (Grader), and
the stored form of a grade. grading.py runs whole re-grades with it, in slices and processes."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Sequence
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
from grading.store import sweeps as sweep_store
from grading.store.db import snapshot, transaction
from grading.store.events import EventClasses, ensure_signature, window_events
from grading.store.grades import current_grades, write_changes

from . import sweep, webhooks

REASONS = ("event", "lead-update", "regrade", "model-change")


class StaleChunk(Exception):
    """Another writer re-graded leads of a chunk between its reading and its writing."""


@dataclass
class RegradeResult:
    leads: int = 0
    changed: int = 0  # grades whose cell or route changed (history entries)
    rows_written: int = 0  # grade rows inserted, updated or deleted
    kept: int = 0  # of the leads, those a sweep did not read: nothing can have changed their grades

    def add(self, other: RegradeResult) -> None:
        self.leads += other.leads
        self.changed += other.changed
        self.rows_written += other.rows_written
        self.kept += other.kept


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
        # only a grader of every model makes a lead's grades what its facts give: it clears the
        # lead's dirty mark (incremental sweeps, services/sweep.py)
        self.clears_marks = len(self.models) == len(config.models)
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
            marks = sweep_store.dirty_marks(self.db, **chunk) if self.clears_marks else {}
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
            sweep_store.clear_marks(self.db, marks)  # a hand-over below marks its lead again
            sweep.note_graded(self.db, now)
            lead_store.hand_over(self.db, list(changes.hand_overs), stamp)
        return RegradeResult(len(facts), len(changes.history), len(changes))


@contextmanager
def _snapshot_if(wanted: bool, db: sqlite_utils.Database):
    if wanted:
        with snapshot(db):
            yield
    else:
        yield
