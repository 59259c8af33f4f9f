"""What an incremental sweep reads and keeps: the dirty marks the triggers set on every write a
grade reads (migrations.py, grade_dirty), the span of moments the stored grades were made as
of, and the leads with events in a span of time."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import orjson
import sqlite_utils

from grading.core.sweep import Span, SweepState

from .db import get_meta, set_meta

STATE_KEY = "sweep_state"  # JSON: the config fingerprint and the span of the stored grades
SINCE_KEY = "sweep_since"  # JSON: the span of the gradings since the current sweep began

Marks = dict[int, int]  # lead id -> the generation of its dirty mark


def read_state(db: sqlite_utils.Database) -> SweepState | None:
    raw = get_meta(db, STATE_KEY)
    if raw is None:
        return None
    fingerprint, low, high = orjson.loads(raw)
    return SweepState(fingerprint, low, high)


def write_state(db: sqlite_utils.Database, state: SweepState | None) -> None:
    if state is None:
        db.execute("DELETE FROM meta WHERE key = ?", [STATE_KEY])
    elif state != read_state(db):
        set_meta(db, STATE_KEY, orjson.dumps(list(state)).decode())


def read_since(db: sqlite_utils.Database) -> Span | None:
    raw = get_meta(db, SINCE_KEY)
    if raw is None:
        return None
    low, high = orjson.loads(raw)
    return (low, high)


def write_since(db: sqlite_utils.Database, span: Span | None) -> None:
    if span is None:
        db.execute("DELETE FROM meta WHERE key = ?", [SINCE_KEY])
    elif span != read_since(db):
        set_meta(db, SINCE_KEY, orjson.dumps(list(span)).decode())


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


def mark_dirty(db: sqlite_utils.Database, lead_ids: Iterable[int]) -> None:
    """Mark leads dirty by hand (what the triggers do on a write)."""
    db.conn.executemany(
        "INSERT INTO grade_dirty (lead_id) VALUES (?)"
        " ON CONFLICT (lead_id) DO UPDATE SET gen = gen + 1",
        [(lead_id,) for lead_id in lead_ids],
    )
