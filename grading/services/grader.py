"""Grading one chunk of leads: store -> core -> store, writing only what changed (Grader), and
the stored form of a grade. grading.py runs whole re-grades with it, in slices and processes."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

import numpy as np
import numpy.typing as npt
import orjson
import sqlite_utils

from grading.core.batch import (
    CELLS,
    LETTERS,
    BatchGrader,
    ChunkGrades,
    CompactGrade,
    EventArrays,
    int_table,
    lead_columns,
    rounded,
)
from grading.core.changes import (
    GradeChange,
    GradeChanges,
    GradeValues,
    HistoryValues,
    Scope,
    StoredGrade,
    changes_of,
    hand_overs_of,
    routes_to_sales,
)
from grading.core.model import Config, Model
from grading.core.scoring import STORED_DECIMALS, classify, window_start
from grading.core.scoring import stored as stored_score
from grading.core.times import epoch, iso_text
from grading.store import lead_facts
from grading.store import leads as lead_store
from grading.store import sweeps as sweep_store
from grading.store.db import snapshot, transaction
from grading.store.events import EventClasses, ensure_signature, stored_signature, window_events
from grading.store.grades import GradeRow, current_grades, write_changes

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
    table = int_table(rows, 3)
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
        self._learn_classes(config.event_property_keys)
        self.longest_window = max(
            [1, *(b.longest_window for g in self.batch.values() for b in g.blocks)]
        )

    def _learn_classes(self, signature: Sequence[str]) -> None:
        self.classes = EventClasses(self.db, signature)
        self.batch = {m.name: BatchGrader(m) for m in self.models}
        self.known_classes: set[int] = set()
        self._classify_new()

    @contextmanager
    def using(self, db: sqlite_utils.Database):
        with self.lock:
            self.db = self.classes.db = db
            stored = stored_signature(db)
            if stored is not None and stored != self.classes.signature:
                # Another process re-classified the events for another model file (this one is
                # being replaced, or that one was a preview of the next): take its classes, so
                # no event is stored with the id of a class that is gone, rather than classify
                # every event back (and again when the file is reloaded here).
                self._learn_classes(stored)
            else:
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
            watermark = sweep_store.event_watermark(self.db) if snapshot and marks else None
        columns = lead_columns([lead.person for lead in facts], [lead.company for lead in facts])
        graded = [grader.grade_columns(columns, events, now) for grader in self.batch.values()]
        scope = Scope(frozenset(self.batch), frozenset(m.name for m in self.config.models))
        slots = _Slots(list(self.batch), graded, {lead.lead_id for lead in facts})
        routed = [
            (lead.lead_id, lead.handed_over_at)
            for lead, to in zip(facts, slots.sales.tolist(), strict=True)
            if to
        ]
        if existing:
            changed = _compare(slots, facts, existing, scope)
            changes = changes_of(changed, at=stamp, reason=reason, routed_to_sales=routed)
        else:  # none of these leads is graded yet: every grade is new, nothing to compare
            changes = _first_changes(slots, facts, stamp, reason, routed)
        newest = self._newest_events(events, facts)
        last_events = [
            (newest[i], lead.lead_id)
            for i, lead in enumerate(facts)
            if newest[i] != lead.last_event_at
        ]
        with transaction(self.db):
            if snapshot and current_grades(self.db, **chunk) != existing:
                raise StaleChunk  # rolled back: nothing was written yet
            write_changes(self.db, changes, stamp)
            webhooks.enqueue(self.db, self.config, changes.history)
            if last_events:
                lead_facts.note_last_events(self.db, last_events)
            if watermark is not None:  # read outside the write lock: events stored since count
                later = sweep_store.leads_with_events_after(self.db, watermark)
                marks = {} if later is None else {k: v for k, v in marks.items() if k not in later}
            sweep_store.clear_marks(self.db, marks)  # a hand-over below marks its lead again
            sweep.note_graded(self.db, now)
            handed = sorted(changes.hand_overs)
            lead_store.hand_over(self.db, handed, stamp)
            result = RegradeResult(len(facts), len(changes.history), len(changes))
            moved = (
                sweep_store.dirty_marks(self.db, lead_ids=handed)
                if handed and self.clears_marks
                else {}
            )
            if moved:
                # A hand-over moves a lead to lifecycle mql, which audiences and rules may read:
                # its grades are made again from that at once, not by the next re-grade (a lead
                # is handed over once, so this ends).
                again = self._grade_chunk(as_of, reason, sorted(moved), None, snapshot=False)
                result.changed += again.changed
                result.rows_written += again.rows_written
        return result


CELL_INDEX = {cell: i for i, cell in enumerate(CELLS)}
LETTER_INDEX = {letter: i for i, letter in enumerate(LETTERS)}


class _Slots:
    """The new grades of a chunk, one slot per (model, scope, lead inside the model's audience),
    as flat arrays in the stored form (core.changes.GradeValues): scores as stored, route and
    explanation as ids of their JSON texts (equal texts, equal ids)."""

    def __init__(self, models: list[str], graded: list[ChunkGrades], lead_ids: set[int]):
        leads = len(lead_ids)
        self.texts: list[str | None] = []
        self.text_id: dict[str | None, int] = {}
        self.scope_of: dict[tuple[str, str], int] = {}  # (model, category) -> scope number
        self.base: list[int] = []  # per scope number: its first slot
        self.row_in_model: list[npt.NDArray[np.int64]] = []  # per scope number, by lead position
        parts: dict[str, list[npt.NDArray]] = {
            k: []
            for k in ("position", "scope_no", "fit", "activity_score", "activity", "cell")
            + ("route", "explanation")
        }
        sales: npt.NDArray[np.bool_] = np.zeros(leads, dtype=bool)
        size = 0
        for name, chunk in zip(models, graded, strict=True):
            row_of = np.full(leads, -1, dtype=np.int64)
            row_of[chunk.inside] = np.arange(len(chunk.inside))
            fit = np.array([stored_score(p.score) for p in chunk.fits], dtype=np.float64)
            explanation_ids = np.array(
                [self._id(orjson.dumps(e).decode()) for e in chunk.explanations], dtype=np.int64
            )
            for grades in chunk.scopes:
                self.scope_of[(name, grades.category or "")] = len(self.base)
                self.base.append(size)
                self.row_in_model.append(row_of)
                parts["scope_no"].append(np.full(len(chunk.inside), len(self.base) - 1))
                size += len(chunk.inside)
                route_ids = np.array(
                    [self._id(_route_json(r) if r else None) for r in grades.routes],
                    dtype=np.int64,
                )
                to_sales = np.array([routes_to_sales(r) for r in grades.routes], dtype=bool)
                sales[chunk.inside] |= to_sales[grades.cell]
                parts["position"].append(chunk.inside)
                parts["fit"].append(fit[chunk.fit])
                parts["activity_score"].append(rounded(grades.activity_score, STORED_DECIMALS))
                parts["activity"].append(grades.activity)
                parts["cell"].append(grades.cell)
                parts["route"].append(route_ids[grades.cell])
                parts["explanation"].append(explanation_ids[grades.explanation])
        self.size = size
        self.sales = sales
        self.keys = list(self.scope_of)  # per scope number: (model, category)
        self.base_of = np.array(self.base, dtype=np.int64)
        self.lead_set = lead_ids
        joined = {
            k: np.concatenate(v) if v else np.zeros(0, dtype=np.int64) for k, v in parts.items()
        }
        self.position = joined["position"].astype(np.int64)
        self.scope_no = joined["scope_no"].astype(np.int64)
        self.fit = joined["fit"].astype(np.float64)
        self.activity_score = joined["activity_score"].astype(np.float64)
        self.activity = joined["activity"].astype(np.int64)
        self.cell = joined["cell"].astype(np.int64)
        self.route = joined["route"].astype(np.int64)
        self.explanation = joined["explanation"].astype(np.int64)

    def _id(self, text: str | None) -> int:
        return self.text_id.setdefault(text, len(self.text_id))

    def values(self, picked: npt.NDArray[np.int64]) -> list[GradeValues]:
        """The stored form of some slots, as plain tuples."""
        texts = self.texts_by_id()
        return [
            (fit, CELLS[cell][0], act, number, CELLS[cell], texts[route], texts[expl])
            for fit, act, number, cell, route, expl in zip(
                self.fit[picked].tolist(),
                self.activity_score[picked].tolist(),
                self.activity[picked].tolist(),
                self.cell[picked].tolist(),
                self.route[picked].tolist(),
                self.explanation[picked].tolist(),
                strict=True,
            )
        ]

    def texts_by_id(self) -> list[str | None]:
        if len(self.texts) != len(self.text_id):
            self.texts = list(self.text_id)  # a dict keeps its keys in the order of their ids
        return self.texts


def _first_changes(
    slots: _Slots,
    facts: list[lead_facts.LeadFacts],
    at: str,
    reason: str,
    routed: list[tuple[int, str | None]],
) -> GradeChanges:
    """What `changes_of` makes of a chunk none of whose leads has a stored grade, built from the
    arrays: every grade is inserted, is a history entry and enters its cell."""
    order = np.lexsort((slots.scope_no, slots.position))
    lead_ids = np.fromiter((lead.lead_id for lead in facts), dtype=np.int64, count=len(facts))
    keys = [(m, c, c or None) for m, c in slots.keys]
    upserts = []
    history: list[HistoryValues] = []
    for lead, s, values in zip(
        lead_ids[slots.position[order]].tolist(),
        slots.scope_no[order].tolist(),
        slots.values(order),
        strict=True,
    ):
        model, category, shown_category = keys[s]
        upserts.append(((lead, model, category), values))
        history.append((lead, model, shown_category, None, values[4], None, values[5], at, reason))
    # per (scope, cell): the leads entering it, and of them those won and lost
    outcome = np.array([OUTCOMES.get(lead.outcome, 0) for lead in facts], dtype=np.int64)
    bins = (slots.scope_no * len(CELLS) + slots.cell) * 3 + outcome[slots.position]
    counts = np.bincount(bins, minlength=len(slots.keys) * len(CELLS) * 3).reshape(-1, 3)
    cells = {}
    for b in np.flatnonzero(counts.sum(axis=1)).tolist():
        model, category, _ = keys[b // len(CELLS)]
        none, won, lost = counts[b].tolist()
        cells[(model, category, CELLS[b % len(CELLS)])] = (none + won + lost, won, lost)
    return GradeChanges(tuple(upserts), (), tuple(history), cells, hand_overs_of(routed))


OUTCOMES: dict[str | None, int] = {"won": 1, "lost": 2}  # the others count as a lead only


def _compare(
    slots: _Slots,
    facts: list[lead_facts.LeadFacts],
    existing: list[GradeRow],
    scope: Scope,
) -> list[GradeChange]:
    """The grades that differ from the stored ones (compared as arrays: only those become
    GradeChanges), in the order of leads, models and scopes."""
    lead_ids = np.fromiter((lead.lead_id for lead in facts), dtype=np.int64, count=len(facts))
    same = np.zeros(slots.size, dtype=bool)  # slots whose stored row is the same
    slot_of_row = np.full(len(existing), -1, dtype=np.int64)
    row_position = np.zeros(len(existing), dtype=np.int64)
    if existing:
        owner, model, category, fit, letter, act, number, cell, route, expl = (
            list(column) for column in zip(*existing, strict=True)
        )
        owners = np.array(owner, dtype=np.int64)
        row_position = np.minimum(np.searchsorted(lead_ids, owners), len(facts) - 1)
        known = lead_ids[row_position] == owners
        scope_no = np.array(
            [slots.scope_of.get(key, -1) for key in zip(model, category, strict=True)]
        )
        valid = known & (scope_no >= 0)
        inside = np.full(len(existing), -1, dtype=np.int64)
        for s in np.unique(scope_no[valid]).tolist():
            rows = np.flatnonzero(valid & (scope_no == s))
            inside[rows] = slots.row_in_model[s][row_position[rows]]
        matched = np.flatnonzero(inside >= 0)
        slot_of_row[matched] = slots.base_of[scope_no[matched]] + inside[matched]
        at = slot_of_row[matched]
        picked = matched.tolist()
        text_id = slots.text_id
        equal = (
            (np.array([fit[r] for r in picked], dtype=np.float64) == slots.fit[at])
            & (np.array([act[r] for r in picked], dtype=np.float64) == slots.activity_score[at])
            & (np.array([number[r] for r in picked], dtype=np.int64) == slots.activity[at])
            & (np.array([CELL_INDEX.get(cell[r], -1) for r in picked]) == slots.cell[at])
            & (np.array([LETTER_INDEX.get(letter[r], -1) for r in picked]) == slots.cell[at] // 4)
            & (np.array([text_id.get(route[r], -1) for r in picked]) == slots.route[at])
            & (np.array([text_id.get(expl[r], -1) for r in picked]) == slots.explanation[at])
        )
        same[at[equal]] = True
    fresh = np.flatnonzero(~same)
    gone = np.array(
        [r for r in np.flatnonzero(slot_of_row < 0).tolist() if scope.drops(existing[r][1])],
        dtype=np.int64,
    )
    # in the order of leads; per lead its new grades by model and scope, then the vanished ones
    order = np.lexsort(
        (
            np.r_[slots.scope_no[fresh], gone],
            np.r_[np.zeros(len(fresh), dtype=np.int64), np.ones(len(gone), dtype=np.int64)],
            np.r_[slots.position[fresh], row_position[gone]],
        )
    ).tolist()
    new_values = slots.values(fresh)
    old_row = {slot: row for row, slot in enumerate(slot_of_row.tolist()) if slot >= 0}
    fresh_slots, gone_rows = fresh.tolist(), gone.tolist()
    make = StoredGrade._make
    changed: list[GradeChange] = []
    for k in order:
        if k < len(fresh_slots):
            slot = fresh_slots[k]
            lead = facts[slots.position[slot]]
            row = old_row.get(slot)
            model_name, category_name = slots.keys[slots.scope_no[slot]]
            old = None if row is None else make(existing[row][3:])
            new = make(new_values[k])
            changed.append(
                GradeChange(lead.lead_id, model_name, category_name, old, new, lead.outcome)
            )
        else:
            row = gone_rows[k - len(fresh_slots)]
            lead_id, model_name, category_name = existing[row][:3]
            outcome = facts[row_position[row]].outcome if lead_id in slots.lead_set else None
            old = make(existing[row][3:])
            changed.append(GradeChange(lead_id, model_name, category_name, old, None, outcome))
    return changed


@contextmanager
def _snapshot_if(wanted: bool, db: sqlite_utils.Database):
    if wanted:
        with snapshot(db):
            yield
    else:
        yield
