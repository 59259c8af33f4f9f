"""Re-grading: store -> core.scoring -> store, in chunks of leads, writing only what changed."""

from __future__ import annotations

import multiprocessing
import os
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import datetime

import orjson
import sqlite_utils

from grading.core.model import Config, Model
from grading.core.scoring import DAY, Grade, RuleKey, classify, epoch, grade_model, lead_record, tally
from grading.store import leads as lead_store
from grading.store.db import transaction
from grading.store.events import EventClasses, ensure_signature
from grading.store.grades import GradeChanges, StoredGrade, current_grades, write_changes

CHUNK = 2000
REASONS = ("event", "lead-update", "regrade", "model-change")


@dataclass
class RegradeResult:
    leads: int = 0
    changed: int = 0  # grades whose cell or route changed (history entries)
    rows_written: int = 0  # grade rows inserted, updated or deleted

    def add(self, other: RegradeResult) -> None:
        self.leads += other.leads
        self.changed += other.changed
        self.rows_written += other.rows_written


def compact_explanation(grade: Grade) -> bytes:
    """Stored form: [["f", rule, points], ["a", rule, points, events], ...]; labels come from the model."""
    return orjson.dumps(
        [
            ["f", c.rule, round(c.points, 2)] if c.events is None else ["a", c.rule, round(c.points, 2), c.events]
            for c in grade.explanation
        ]
    )


def stored_form(grade: Grade) -> StoredGrade:
    route = orjson.dumps(grade.route.as_dict()).decode() if grade.route else None
    return (
        round(grade.fit_score, 2),
        grade.fit,
        round(grade.activity_score, 2),
        grade.activity,
        grade.grade,
        route,
        compact_explanation(grade).decode(),
    )


class Grader:
    """Grades leads of one database under one config; classes are classified once per model."""

    def __init__(self, db: sqlite_utils.Database, config: Config, models: Sequence[str] | None = None):
        self.db = db
        self.config = config
        self.models: list[Model] = [m for m in config.models if models is None or m.name in models]
        with transaction(db):
            ensure_signature(db, config.event_property_keys)
        self.classes = EventClasses(db, config.event_property_keys)
        self.rule_keys: dict[str, dict[int, tuple[RuleKey, ...]]] = {m.name: {} for m in self.models}
        self._classify_new()
        self.longest_window = max(
            [1, *(b.longest_window for m in self.models for b in [m.activity, *(c.activity for c in m.categories if c.activity)])]
        )

    def _classify_new(self) -> None:
        known = next(iter(self.rule_keys.values()), {})
        for class_id, event_type, properties in self.classes.all():
            if class_id in known:
                continue
            for model in self.models:
                self.rule_keys[model.name][class_id] = classify(model, event_type, properties)

    def _events(self, as_of: int, lead_ids=None, id_range=None) -> dict[int, list[tuple[int, int]]]:
        cutoff = (as_of // DAY - self.longest_window + 1) * DAY
        sql = "SELECT lead_id, class_id, at FROM events WHERE at >= ? AND at <= ? AND "
        if id_range is not None:
            rows = self.db.execute(sql + "lead_id >= ? AND lead_id < ?", [cutoff, as_of, *id_range])
        else:
            ids = list(lead_ids)
            rows = self.db.execute(sql + f"lead_id IN ({','.join('?' * len(ids))})", [cutoff, as_of, *ids])
        by_lead: dict[int, list[tuple[int, int]]] = defaultdict(list)
        for lead_id, class_id, at in rows:
            by_lead[lead_id].append((class_id, at))
        return by_lead

    def grade_chunk(self, as_of: datetime, reason: str, lead_ids=None, id_range=None) -> RegradeResult:
        now = epoch(as_of)
        stamp = as_of.isoformat(timespec="seconds").replace("+00:00", "Z")
        facts = list(lead_store.iter_lead_facts(self.db, lead_ids=lead_ids, id_range=id_range))
        if not facts:
            return RegradeResult()
        events = self._events(now, lead_ids=[f[0] for f in facts] if id_range is None else None, id_range=id_range)
        if any(c not in self.rule_keys[self.models[0].name] for evs in events.values() for c, _ in evs):
            self._classify_new()
        existing = current_grades(self.db, lead_ids=[f[0] for f in facts] if id_range is None else None,
                                  id_range=id_range)
        by_lead: dict[int, dict[tuple[str, str], StoredGrade]] = defaultdict(dict)
        for (owner, model_name, category), stored in existing.items():
            by_lead[owner][(model_name, category)] = stored
        graded_models = {m.name for m in self.models}
        every_model = len(self.models) == len(self.config.models)
        known_models = {m.name for m in self.config.models}
        changes = GradeChanges.empty()
        hand_overs: list[int] = []
        for lead_id, person, company, handed_over in facts:
            record = lead_record(person, company)
            lead_events = events.get(lead_id, ())
            old_grades = by_lead.get(lead_id, {})
            produced: set[tuple[str, str]] = set()
            wants_sales = False
            for model in self.models:
                keys = self.rule_keys[model.name]
                tallies = tally(((keys[c], at) for c, at in lead_events), now)
                for grade in grade_model(model, record, tallies):
                    category = grade.category or ""
                    produced.add((model.name, category))
                    stored = stored_form(grade)
                    old = old_grades.get((model.name, category))
                    if old != stored:
                        changes.upserts.append(((lead_id, model.name, category), stored))
                        if old is None or old[4] != stored[4] or old[5] != stored[5]:
                            changes.history.append((
                                lead_id, model.name, grade.category, old[4] if old else None, stored[4],
                                old[5] if old else None, stored[5], stamp, reason,
                            ))
                    if grade.route is not None and grade.route.to == "sales":
                        wants_sales = True
            for (model_name, category), old in old_grades.items():
                if (model_name, category) in produced:
                    continue
                if model_name in graded_models or (every_model and model_name not in known_models):
                    changes.deletes.append((lead_id, model_name, category))
                    changes.history.append(
                        (lead_id, model_name, category or None, old[4], None, old[5], None, stamp, reason)
                    )
            if wants_sales and handed_over is None:
                hand_overs.append(lead_id)
        with transaction(self.db):
            write_changes(self.db, changes, stamp)
            for lead_id in hand_overs:
                lead_store.hand_over(self.db, lead_id, stamp)
        return RegradeResult(len(facts), len(changes.history), len(changes))


PARALLEL_MIN_LEADS = 20_000  # below this, starting worker processes costs more than it saves
SLICE = 5 * CHUNK  # lead ids per task handed to a worker process


def database_path(db: sqlite_utils.Database) -> str | None:
    """The file behind a connection, or None for an in-memory database."""
    for _, name, path in db.execute("PRAGMA database_list"):
        if name == "main":
            return path or None
    return None


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


def regrade(
    db: sqlite_utils.Database,
    config: Config,
    *,
    as_of: datetime,
    reason: str = "regrade",
    models: Sequence[str] | None = None,
    lead_ids: Iterable[int] | None = None,
    progress: Callable[[int], None] | None = None,
    workers: int | None = None,
) -> RegradeResult:
    """Re-grade every lead (or the given ones) in the given models (default: all).

    A full re-grade of a large file database runs in `workers` processes (default: one per
    core), each grading its own slices of lead ids; SQLite serialises their short writes."""
    if reason not in REASONS:
        raise ValueError(f"unknown reason {reason!r}")
    grader = Grader(db, config, models)
    result = RegradeResult()
    if lead_ids is not None:
        ids = sorted(set(lead_ids))
        for start in range(0, len(ids), CHUNK):
            part = grader.grade_chunk(as_of, reason, lead_ids=ids[start : start + CHUNK])
            result.add(part)
            if progress:
                progress(part.leads)
        return result
    (low, high, count) = db.execute(
        "SELECT coalesce(min(id), 0), coalesce(max(id), -1), count(*) FROM leads"
    ).fetchone()
    workers = workers if workers is not None else min(4, os.cpu_count() or 1)
    path = database_path(db)
    if workers > 1 and path and count >= PARALLEL_MIN_LEADS and config.source:
        return _regrade_parallel(path, config, models, low, high, as_of, reason, workers, progress)
    for start in range(low, high + 1, CHUNK):
        part = grader.grade_chunk(as_of, reason, id_range=(start, start + CHUNK))
        result.add(part)
        if progress:
            progress(part.leads)
    return result


def _regrade_parallel(path, config, models, low, high, as_of, reason, workers, progress) -> RegradeResult:
    # fork: workers open their own connections in _init_worker and never touch the parent's.
    context = multiprocessing.get_context("fork")
    result = RegradeResult()
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=_init_worker, initargs=(path, dict(config.source), models)
    ) as pool:
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
