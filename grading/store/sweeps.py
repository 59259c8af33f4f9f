"""What an incremental sweep reads and keeps: the dirty marks the triggers set on every write a
grade reads (migrations.py, grade_dirty), the span of moments the stored grades were made as
of, and the leads with events in a span of time."""

from __future__ import annotations

from collections.abc import Sequence

import orjson
import sqlite_utils

from grading.core.sweep import Span, SweepState

from .db import get_meta, set_meta

STATE_KEY = "sweeps"  # JSON [the sweep state or null, the span of gradings since a sweep began]

Marks = dict[int, int]  # lead id -> the generation of its dirty mark


def read_state(db: sqlite_utils.Database) -> tuple[SweepState | None, Span | None]:
    """The sweep state (None while no sweep of everyone has finished under one config) and the
    span of the moments graded as of since the current sweep began (None: none yet)."""
    raw = get_meta(db, STATE_KEY)
    if raw is None:
        return None, None
    state, since = orjson.loads(raw)
    return (
        None if state is None else SweepState(*state),
        None if since is None else (since[0], since[1]),
    )


def write_state(db: sqlite_utils.Database, state: SweepState | None, since: Span | None) -> None:
    saved = [None if state is None else list(state), since]
    set_meta(db, STATE_KEY, orjson.dumps(saved).decode())


def dirty_marks(
    db: sqlite_utils.Database,
    *,
    lead_ids: Sequence[int] | None = None,
    id_range: tuple[int, int] | None = None,
) -> Marks:
    """The dirty marks of a chunk of leads (id_range: low inclusive, high exclusive)."""
    sql = "SELECT lead_id, gen FROM grade_dirty WHERE "
    if id_range is not None:
        rows = db.execute(sql + "lead_id >= ? AND lead_id < ?", list(id_range))
    else:
        ids = orjson.dumps(list(lead_ids or [])).decode()
        rows = db.execute(sql + "lead_id IN (SELECT value FROM json_each(?))", [ids])
    return dict(rows.fetchall())


Watermark = tuple[int, str | None]  # the newest event id, and the count of event deletions


def event_watermark(db: sqlite_utils.Database) -> Watermark:
    newest = db.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()[0]
    return newest, get_meta(db, "event_deletions")


def leads_with_events_after(db: sqlite_utils.Database, mark: Watermark) -> set[int] | None:
    """The leads with an event stored since the watermark was read (rowid order: cheap), or None
    when events were deleted since (a new event may then have taken a deleted one's id)."""
    newest, deletions = mark
    if get_meta(db, "event_deletions") != deletions:
        return None
    return {row[0] for row in db.execute("SELECT lead_id FROM events WHERE id > ?", [newest])}


def clear_marks(db: sqlite_utils.Database, marks: Marks) -> None:
    """Clear these marks, each only if no write has marked its lead again since it was read (a
    stored event does not count the mark up: see leads_with_events_after)."""
    if marks:
        db.conn.executemany(
            "DELETE FROM grade_dirty WHERE lead_id = ? AND gen = ?", list(marks.items())
        )


def dirty_leads(db: sqlite_utils.Database) -> list[int]:
    return [row[0] for row in db.execute("SELECT lead_id FROM grade_dirty ORDER BY lead_id")]


def leads_with_events_between(db: sqlite_utils.Database, since: int, until: int) -> list[int]:
    """The leads with an event from `since` to `until` (inclusive), in one pass over the events'
    (lead, time) index."""
    if since > until:
        return []
    return [
        row[0]
        for row in db.execute(
            "SELECT DISTINCT lead_id FROM events WHERE lead_id >= 0 AND at >= ? AND at <= ?",
            [since, until],
        )
    ]
