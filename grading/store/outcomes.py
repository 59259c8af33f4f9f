"""Won and lost outcomes, and leads and companies as they were when they closed (what calibration
learns from: lead_changes and company_changes keep the rows before each change)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple

import orjson
import sqlite_utils

from grading.core.records import OutcomeInput


class Outcome(NamedTuple):
    outcome: str
    at: int
    amount: float | None


def outcomes_of(db: sqlite_utils.Database, lead_id: int) -> list[Outcome]:
    rows = db.execute(
        "SELECT outcome, at, amount FROM outcomes WHERE lead_id = ? ORDER BY at, id", [lead_id]
    )
    return [Outcome(*row) for row in rows]


class ClosedLead(NamedTuple):
    """A lead with an outcome, as it was at the outcome's time."""

    lead_id: int
    ext_id: str
    outcome: str
    at: int
    company_id: int | None
    person: dict[str, Any]


def closed_leads(db: sqlite_utils.Database, fetch: int = 1000) -> Iterator[ClosedLead]:
    """Every lead with an outcome (its latest), with its attributes and company as of the
    outcome's time: the `before` of its earliest change after that time, else the current row."""
    reader = db.conn.cursor()
    reader.execute(
        "SELECT l.id, l.ext_id, l.outcome, l.outcome_at, l.company_id, l.attrs,"
        " (SELECT c.before FROM lead_changes c WHERE c.lead_id = l.id AND c.at > l.outcome_at"
        "  ORDER BY c.at, c.id LIMIT 1)"
        " FROM leads l WHERE l.outcome IS NOT NULL ORDER BY l.id"
    )
    while rows := reader.fetchmany(fetch):
        for lead_id, ext_id, outcome, at, company_id, attrs, changed in rows:
            if changed is not None:
                before = orjson.loads(changed)
                person, company_id = before["attrs"], before["company_id"]
            else:
                person = orjson.loads(attrs)
            yield ClosedLead(lead_id, ext_id, outcome, at, company_id, person)


def company_as_of(db: sqlite_utils.Database, company_id: int | None, at: int) -> dict[str, Any]:
    """A company's attributes as they were at `at` ({} for none)."""
    if company_id is None:
        return {}
    row = db.execute(
        "SELECT before FROM company_changes WHERE company_id = ? AND at > ? ORDER BY at, id LIMIT 1",
        [company_id, at],
    ).fetchone()
    if row is not None:
        return orjson.loads(row[0])["attrs"]
    row = db.execute("SELECT attrs FROM companies WHERE id = ?", [company_id]).fetchone()
    return orjson.loads(row[0]) if row else {}


def insert_outcomes(db: sqlite_utils.Database, rows: list[tuple[int, OutcomeInput]]) -> int:
    """Store outcomes; the latest one of a lead is kept on the lead and counted in cell_stats."""
    from .grades import apply_cell_deltas

    db.conn.executemany(
        "INSERT INTO outcomes (lead_id, outcome, at, amount) VALUES (?, ?, ?, ?)",
        [(lead_id, o.outcome, o.at, o.amount) for lead_id, o in rows],
    )
    cells: dict[tuple[str, str, str], list[int]] = {}
    for lead_id in {lead_id for lead_id, _ in rows}:
        (before,) = db.execute("SELECT outcome FROM leads WHERE id = ?", [lead_id]).fetchone()
        latest = db.execute(
            "SELECT outcome, at FROM outcomes WHERE lead_id = ? ORDER BY at DESC, id DESC LIMIT 1",
            [lead_id],
        ).fetchone()
        db.execute("UPDATE leads SET outcome = ?, outcome_at = ? WHERE id = ?", [*latest, lead_id])
        if latest[0] == before:
            continue
        for model, category, grade in db.execute(
            "SELECT model, category, grade FROM grades WHERE lead_id = ?", [lead_id]
        ):
            delta = cells.setdefault((model, category, grade), [0, 0, 0])
            for outcome, sign in ((before, -1), (latest[0], 1)):
                if outcome == "won":
                    delta[1] += sign
                elif outcome == "lost":
                    delta[2] += sign
    apply_cell_deltas(db, cells)
    return len(rows)
