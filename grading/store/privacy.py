"""Erasing one person everywhere, and reading back everything stored about them (GDPR)."""

from __future__ import annotations

from typing import Any

import orjson
import sqlite_utils

from grading.core.changes import CellKey, move

from . import search
from .accounts import drop_company as drop_company_accounts
from .events import drop_unused_classes
from .grades import apply_cell_deltas


def tables_with(db: sqlite_utils.Database, column: str) -> list[str]:
    """Every table with this column: tables added later (by any feature) are covered too."""
    names = [
        row[0]
        for row in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    ]
    return [
        name
        for name in names
        if any(info[1] == column for info in db.execute(f'PRAGMA table_info("{name}")'))
    ]


def erase_lead(db: sqlite_utils.Database, lead_id: int) -> dict[str, int]:
    """Delete the lead and every row about it (inside the caller's transaction); its company too
    when no other lead works there, the event classes only their events had, and their terms in
    the search index. Returns the rows deleted per table. Cell counts follow. With the
    connection's secure_delete (db.connect) the deleted bytes are zeroed; the caller clears the
    WAL after the commit (db.clear_wal)."""
    company_id, outcome = db.execute(
        "SELECT company_id, outcome FROM leads WHERE id = ?", [lead_id]
    ).fetchone()
    cells: dict[CellKey, list[int]] = {}
    for model, category, grade in db.execute(
        "SELECT model, category, grade FROM grades WHERE lead_id = ?", [lead_id]
    ):
        move(cells, model, category, grade, None, outcome)
    apply_cell_deltas(db, cells)
    classes = [
        row[0]
        for row in db.execute("SELECT DISTINCT class_id FROM events WHERE lead_id = ?", [lead_id])
    ]
    deleted: dict[str, int] = {}
    for table in tables_with(db, "lead_id"):
        count = db.execute(f'DELETE FROM "{table}" WHERE lead_id = ?', [lead_id]).rowcount
        if count:
            deleted[table] = count
    db.execute("DELETE FROM leads WHERE id = ?", [lead_id])
    deleted["leads"] = 1
    if company_id is not None:
        shared = db.execute("SELECT 1 FROM leads WHERE company_id = ? LIMIT 1", [company_id])
        if shared.fetchone() is None:
            for table in tables_with(db, "company_id"):
                db.execute(f'DELETE FROM "{table}" WHERE company_id = ?', [company_id])
            db.execute("DELETE FROM companies WHERE id = ?", [company_id])
            deleted["companies"] = 1
        else:
            # the person counted in the company's account grades: none stays stale, the next
            # re-grade (or event of a colleague) grades the account again without them
            count = drop_company_accounts(db, company_id)
            if count:
                deleted["account_grades"] = count
    # what else held their values: event classes only their events had, the search index
    count = drop_unused_classes(db, classes)
    if count:
        deleted["event_classes"] = count
    search.purge_erased(db)
    # a SQLite built with STAT4 keeps sample index keys (ids, names) for the query planner; the
    # next ANALYZE (after every full re-grade) samples again, and until then stat1 guides it
    if db.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat4'").fetchone():
        db.execute("DELETE FROM sqlite_stat4")
    return deleted


# read by their own code paths (the lead report); the rest are listed row by row
REPORTED = {"events", "grades", "grade_history", "outcomes", "outbox"}


def stored_counts(db: sqlite_utils.Database, lead_id: int) -> dict[str, int]:
    """Rows per table that name the lead (the lead's own row included): what an erasure deletes."""
    counts = {"leads": 1}
    for table in tables_with(db, "lead_id"):
        (count,) = db.execute(
            f'SELECT count(*) FROM "{table}" WHERE lead_id = ?', [lead_id]
        ).fetchone()
        if count:
            counts[table] = count
    return counts


def rows_about(db: sqlite_utils.Database, lead_id: int) -> dict[str, list[dict[str, Any]]]:
    """Rows of the remaining tables that name the lead, column by column (JSON text decoded)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for table in tables_with(db, "lead_id"):
        if table in REPORTED:
            continue
        cursor = db.execute(f'SELECT * FROM "{table}" WHERE lead_id = ?', [lead_id])
        names = [d[0] for d in cursor.description]
        rows = [dict(zip(names, row, strict=True)) for row in cursor]
        if rows:
            out[table] = [{k: decoded(v) for k, v in row.items()} for row in rows]
    return out


def decoded(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            return value
    return value
