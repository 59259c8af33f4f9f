"""Incremental sweeps: a re-grade of everyone grades the leads with a dirty mark and those with
events that time can change (core/sweep.py), not every lead. The sweep state says under which
config and as of which span of moments the stored grades were made; every grading widens it,
and a finished sweep of everyone narrows it to the sweep's moment."""

from __future__ import annotations

from datetime import datetime

import sqlite_utils

from grading.core.model import Config
from grading.core.sweep import SweepState, events_that_can_change, fingerprint, widen
from grading.core.times import epoch
from grading.store import sweeps as store
from grading.store.db import transaction


def note_graded(db: sqlite_utils.Database, moment: int) -> None:
    """Grades as of `moment` were written (in the caller's transaction)."""
    state, since = store.read_state(db)
    wider = (None if state is None else state.widened(moment), widen(since, moment))
    if wider != (state, since):
        store.write_state(db, *wider)


def begin(
    db: sqlite_utils.Database, config: Config, as_of: datetime, *, full: bool = False
) -> list[int] | None:
    """Start a re-grade of everyone in every model: the ids of the leads it must grade, or None
    when it must grade all of them (no sweep finished under this config yet, or `full`)."""
    moment, wanted = epoch(as_of), fingerprint(config.source)
    with transaction(db):
        state, _ = store.read_state(db)  # the gradings since the last sweep began are in it
        if full or wanted is None or state is None or state.fingerprint != wanted:
            store.write_state(db, None, None)  # stored grades are of mixed configs until it ends
            return None
        first, last = events_that_can_change(state.span, moment, config.longest_window)
        # the leads it grades hold grades as of `moment` before it ends
        store.write_state(db, state.widened(moment), None)
        candidates = set(store.dirty_leads(db))
        candidates.update(store.leads_with_events_between(db, first, last))
    return sorted(candidates)


def finish(db: sqlite_utils.Database, config: Config, as_of: datetime) -> None:
    """Every lead of the database was graded as of `as_of` (or shown to keep its grades), except
    those graded meanwhile by others: their moments are in the new span too."""
    wanted = fingerprint(config.source)
    if wanted is None:
        return
    with transaction(db):
        _, since = store.read_state(db)
        low, high = widen(since, epoch(as_of))
        store.write_state(db, SweepState(wanted, low, high), since)
