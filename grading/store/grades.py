"""Current grades per lead, model and category, and the history of their changes."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import orjson
import sqlite_utils

from grading.core.changes import CellKey, GradeChanges
from grading.core.scoring import shown

GRADE_COLUMNS = "fit_score, fit, activity_score, activity, grade, route, explanation"


# A stored grade row: (lead id, model, category, *GradeValues)
GradeRow = tuple[Any, ...]


def current_grades(
    db: sqlite_utils.Database,
    *,
    lead_ids: Sequence[int] | None = None,
    id_range: tuple[int, int] | None = None,
) -> list[GradeRow]:
    """The stored grades of a chunk of leads, as plain tuples (lead id, model, category, then
    core.changes.GradeValues), in the order of the key."""
    sql = f"SELECT lead_id, model, category, {GRADE_COLUMNS} FROM grades"
    order = " ORDER BY lead_id, model, category"
    if id_range is not None:
        return db.execute(
            sql + " WHERE lead_id >= ? AND lead_id < ?" + order, list(id_range)
        ).fetchall()
    ids = list(lead_ids or [])
    return db.execute(
        sql + f" WHERE lead_id IN ({','.join('?' * len(ids))})" + order, ids
    ).fetchall()


# The secondary indexes of grades, by name: a first grading of a large file builds them afterwards.
GRADE_INDEXES = {
    "grades_fit": "CREATE INDEX IF NOT EXISTS grades_fit ON grades(model, category, fit, activity DESC)",
    "grades_cell_activity": "CREATE INDEX IF NOT EXISTS grades_cell_activity"
    " ON grades(model, category, grade, activity_score)",
    "grades_cell_fit": "CREATE INDEX IF NOT EXISTS grades_cell_fit ON grades(model, category, grade, fit_score)",
}


@contextmanager
def bulk_first_grading(db: sqlite_utils.Database, leads: int, threshold: int = 50_000):
    """When nothing is graded yet and there are many leads, grade without the secondary indexes
    and build them once at the end: sorting once is far cheaper than millions of random inserts."""
    empty = db.execute("SELECT NOT EXISTS (SELECT 1 FROM grades)").fetchone()[0]
    if not empty or leads < threshold:
        for statement in GRADE_INDEXES.values():  # a first grading cut off by a crash dropped them
            db.execute(statement)
        yield
        return
    for name in GRADE_INDEXES:
        db.execute(f"DROP INDEX IF EXISTS {name}")
    try:
        yield
    finally:
        for statement in GRADE_INDEXES.values():
            db.execute(statement)


def write_changes(db: sqlite_utils.Database, changes: GradeChanges, graded_at: str) -> None:
    """Apply upserts, deletes, cell counts and history rows (inside the caller's transaction)."""
    if changes.upserts:
        db.conn.executemany(
            f"INSERT INTO grades (lead_id, model, category, {GRADE_COLUMNS}, graded_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (lead_id, model, category) DO UPDATE SET fit_score = excluded.fit_score,"
            " fit = excluded.fit, activity_score = excluded.activity_score, activity = excluded.activity,"
            " grade = excluded.grade, route = excluded.route, explanation = excluded.explanation,"
            " graded_at = excluded.graded_at",
            [(*key, *grade, graded_at) for key, grade in changes.upserts],
        )
    if changes.deletes:
        db.conn.executemany(
            "DELETE FROM grades WHERE lead_id = ? AND model = ? AND category = ?", changes.deletes
        )
    apply_cell_deltas(db, changes.cells)
    if changes.history:
        db.conn.executemany(
            "INSERT INTO grade_history (lead_id, model, category, from_grade, to_grade, from_route,"
            " to_route, at, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            changes.history,
        )


def apply_cell_deltas(db: sqlite_utils.Database, cells: Mapping[CellKey, Sequence[int]]) -> None:
    """Add (leads, won, lost) deltas to the counts of each (model, category, cell)."""
    rows = [(*key, *delta) for key, delta in cells.items() if any(delta)]
    if rows:
        db.conn.executemany(
            "INSERT INTO cell_stats (model, category, grade, leads, won, lost) VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (model, category, grade) DO UPDATE SET leads = leads + excluded.leads,"
            " won = won + excluded.won, lost = lost + excluded.lost",
            rows,
        )


def cell_stats(db: sqlite_utils.Database, model: str, category: str = "") -> dict[str, dict]:
    """Per cell: leads, won, lost, conversion (won of the leads with an outcome)."""
    cells: dict[str, dict[str, Any]] = {
        f"{f}{a}": {"leads": 0, "won": 0, "lost": 0} for f in "ABCD" for a in (1, 2, 3, 4)
    }
    for grade, leads, won, lost in db.execute(
        "SELECT grade, leads, won, lost FROM cell_stats WHERE model = ? AND category = ?",
        [model, category],
    ):
        cells[grade] = {"leads": leads, "won": won, "lost": lost}
    for cell in cells.values():
        closed = cell["won"] + cell["lost"]
        cell["conversion"] = round(cell["won"] / closed, 4) if closed else None
    return cells


def grade_row(row: Sequence[Any]) -> dict[str, Any]:
    """A stored grade row (lead ext id, model, category, columns..., graded_at) as a dict, with
    its scores as shown (the stored ones are unrounded)."""
    (
        ext_id,
        model,
        category,
        fit_score,
        fit,
        act_score,
        act,
        grade,
        route,
        explanation,
        graded_at,
    ) = row
    return {
        "lead": ext_id,
        "model": model,
        "category": category or None,
        "fit_score": shown(fit_score),
        "fit": fit,
        "activity_score": shown(act_score),
        "activity": act,
        "grade": grade,
        "route": orjson.loads(route) if route else None,
        "explanation": orjson.loads(explanation),
        "graded_at": graded_at,
    }


def query_grades(
    db: sqlite_utils.Database,
    *,
    model: str | None = None,
    category: str | None = None,
    main_only: bool = False,
    cells: Sequence[str] = (),
    lead_id: int | None = None,
    batch: int = 10_000,
) -> Iterator[dict[str, Any]]:
    where: list[str] = []
    params: list[str | int] = []
    if model:
        where.append("g.model = ?")
        params.append(model)
    if category is not None:
        where.append("g.category = ?")
        params.append(category)
    elif main_only:
        where.append("g.category = ''")
    if cells:
        where.append(f"g.grade IN ({','.join('?' * len(cells))})")
        params.extend(cells)
    if lead_id is not None:
        where.append("g.lead_id = ?")
        params.append(lead_id)
    sql = (
        f"SELECT l.ext_id, g.model, g.category, {', '.join('g.' + c for c in GRADE_COLUMNS.split(', '))},"
        " g.graded_at FROM grades g JOIN leads l ON l.id = g.lead_id"
    )
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY g.lead_id, g.model, g.category"
    cursor = db.conn.cursor()
    cursor.execute(sql, params)
    while rows := cursor.fetchmany(batch):
        yield from (grade_row(r) for r in rows)


def history_of(db: sqlite_utils.Database, lead_id: int) -> list[dict[str, Any]]:
    rows = db.execute(
        "SELECT model, category, from_grade, to_grade, from_route, to_route, at, reason"
        " FROM grade_history WHERE lead_id = ? ORDER BY id",
        [lead_id],
    )
    keys = ("model", "category", "from", "to", "from_route", "to_route", "at", "reason")
    out = []
    for row in rows:
        item = dict(zip(keys, row, strict=True))
        for key in ("from_route", "to_route"):
            item[key] = orjson.loads(item[key]) if item[key] else None
        out.append(item)
    return out


def matrix(db: sqlite_utils.Database, model: str, category: str = "") -> dict[str, int]:
    counts = {f"{f}{a}": 0 for f in "ABCD" for a in (1, 2, 3, 4)}
    for grade, n in db.execute(
        "SELECT grade, count(*) FROM grades WHERE model = ? AND category = ? GROUP BY grade",
        [model, category],
    ):
        counts[grade] = n
    return counts
