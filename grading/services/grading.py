"""Re-grading: store -> core.scoring -> store, in chunks of leads, writing only what changed."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import as_completed
from datetime import datetime
from typing import Any

import sqlite_utils

from grading.core.model import Config
from grading.store import lead_facts
from grading.store.db import database_path, transaction
from grading.store.grades import bulk_first_grading

from . import accounts, sweep
from .grader import REASONS, Grader, RegradeResult
from .pool import CHUNK, PARALLEL_MIN_LEADS, SLICE, default_workers, worker_pool

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


def _grade_ids(ids: list[int], as_of: datetime, reason: str) -> RegradeResult:
    grader: Grader = _worker["grader"]
    result = RegradeResult()
    for start in range(0, len(ids), CHUNK):
        result.add(grader.grade_chunk(as_of, reason, lead_ids=ids[start : start + CHUNK]))
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
    full: bool = False,
) -> RegradeResult:
    """Re-grade every lead (or the given ones) in the given models (default: all).

    A re-grade of everyone in every model reads only the leads whose grades can have changed
    since the last one (services/sweep.py), unless `full`. On a large file database it runs in
    `workers` processes (default: one per core), each grading its own slices of lead ids;
    SQLite serialises their short writes."""
    if reason not in REASONS:
        raise ValueError(f"unknown reason {reason!r}")
    if lead_ids is not None:
        ids = sorted(set(lead_ids))
        result = _grade_here(db, config, models, as_of, reason, progress, lead_ids=ids)
        accounts.note_leads(db, config, ids)
        return result
    low, high, count = lead_facts.id_span(db)
    workers = workers if workers is not None else default_workers()
    path = database_path(db)
    parallel = workers > 1 and bool(config.source)
    tasks: list[Task]
    # every model: only the leads whose grades can have changed, once a sweep has finished
    candidates = sweep.begin(db, config, as_of, full=full) if models is None else None
    if candidates is not None:
        if parallel and path and len(candidates) >= PARALLEL_MIN_LEADS:
            tasks = [
                (_grade_ids, (candidates[i : i + SLICE],)) for i in range(0, len(candidates), SLICE)
            ]
            result = _regrade_parallel(
                path, config, models, tasks, as_of, reason, workers, progress
            )
        else:
            result = _grade_here(db, config, models, as_of, reason, progress, lead_ids=candidates)
        # the others keep the grades they have: nothing can have changed them
        result.kept = count - result.leads
        result.leads = count
        accounts.note_leads(db, config, candidates)
        accounts.drain(db, config)
    else:
        with bulk_first_grading(db, count):
            if parallel and path and count >= PARALLEL_MIN_LEADS:
                tasks = [
                    (_grade_slice, (s, min(s + SLICE, high + 1)))
                    for s in range(low, high + 1, SLICE)
                ]
                result = _regrade_parallel(
                    path, config, models, tasks, as_of, reason, workers, progress
                )
            else:
                result = _grade_here(db, config, models, as_of, reason, progress, span=(low, high))
        # accounts are graded from the stored lead grades: after all of them (and their indexes)
        accounts.refresh(db, config, as_of=as_of, models=models)
    if models is None:
        sweep.finish(db, config, as_of)
    return result


def _grade_here(
    db, config, models, as_of, reason, progress, *, lead_ids=None, span=None
) -> RegradeResult:
    """Grade the given leads (or the leads with ids in `span`) in this process, a chunk per
    transaction."""
    result = RegradeResult()
    grader = grader_for(db, config, models)
    if lead_ids is not None:
        chunks = [{"lead_ids": lead_ids[i : i + CHUNK]} for i in range(0, len(lead_ids), CHUNK)]
    else:
        low, high = span
        chunks = [{"id_range": (s, s + CHUNK)} for s in range(low, high + 1, CHUNK)]
    for chunk in chunks:
        # The database's write lock first, then the grader's, as an API batch takes them (the
        # reverse order deadlocks); and a chunk read and written in one transaction never
        # writes grades from events or leads that another writer has changed in between.
        with transaction(db), grader.using(db):
            part = grader.grade_chunk(as_of, reason, **chunk)
        result.add(part)
        if progress:
            progress(part.leads)
    return result


Task = tuple[Callable[..., RegradeResult], tuple[Any, ...]]  # a function of a worker, its arguments


def _regrade_parallel(
    path: str,
    config: Config,
    models: Sequence[str] | None,
    tasks: list[Task],
    as_of: datetime,
    reason: str,
    workers: int,
    progress: Callable[[int], object] | None,
) -> RegradeResult:
    """Run (function, *arguments) tasks in worker processes; they open their own connections in
    _init_worker."""
    result = RegradeResult()
    with worker_pool(workers, _init_worker, (path, dict(config.source), models)) as pool:
        futures = [pool.submit(function, *args, as_of, reason) for function, args in tasks]
        for future in as_completed(futures):
            part = future.result()
            result.add(part)
            if progress:
                progress(part.leads)
    return result
