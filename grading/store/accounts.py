"""Account grades in SQLite: who the members are, what is stored, lists and one account."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import sqlite_utils

from grading.core.scoring import shown

from .queries import order_by
from .search import match_clause

StoredAccount = tuple  # (fit_score, activity_score, fit, activity, grade, leads, explanation)

ACCOUNT_COLUMNS = "fit_score, activity_score, fit, activity, grade, leads, explanation"

# sort name -> (column, ascending?) for `order=asc`, as the lead list's (queries.SORTS): lowest
# value first, for "grade" the coldest cell first; `desc` turns every column round
SORTS = {
    "grade": (
        ("a.fit", False),
        ("a.activity", True),
        ("a.activity_score", True),
        ("a.company_id", True),
    ),
    "fit_score": (("a.fit_score", True), ("a.company_id", True)),
    "activity_score": (("a.activity_score", True), ("a.company_id", True)),
    "leads": (("a.leads", True), ("a.company_id", True)),
    "name": (
        ("lower(coalesce(json_extract(c.attrs, '$.name'), c.domain, ''))", True),
        ("a.company_id", True),
    ),
}
PEOPLE_SHOWN = 500  # people listed on one account; the total is always given


def _ids_json(ids: Iterable[int]) -> str:
    return orjson.dumps(sorted(set(ids))).decode()


def companies_of_leads(db: sqlite_utils.Database, lead_ids: Iterable[int]) -> set[int]:
    """The leads' companies, and every company they worked for before (lead_changes): a lead that
    moved on leaves its old company's account too, however many changes one batch made."""
    ids = _ids_json(lead_ids)
    now = db.execute(
        "SELECT DISTINCT company_id FROM leads WHERE company_id IS NOT NULL"
        " AND id IN (SELECT value FROM json_each(?))",
        [ids],
    )
    before = db.execute(
        "SELECT DISTINCT json_extract(before, '$.company_id') FROM lead_changes"
        " WHERE lead_id IN (SELECT value FROM json_each(?))",
        [ids],
    )
    return {row[0] for row in now} | {row[0] for row in before if row[0] is not None}


def enqueue(db: sqlite_utils.Database, company_ids: Iterable[int]) -> None:
    """Note companies whose account grades must be refreshed (inside the caller's transaction)."""
    db.conn.executemany(
        "INSERT OR IGNORE INTO account_queue (company_id) VALUES (?)", [(c,) for c in company_ids]
    )


def queued(db: sqlite_utils.Database, limit: int) -> list[int]:
    return [r[0] for r in db.execute("SELECT company_id FROM account_queue LIMIT ?", [limit])]


def dequeue(db: sqlite_utils.Database, company_ids: Sequence[int]) -> None:
    db.execute(
        "DELETE FROM account_queue WHERE company_id IN (SELECT value FROM json_each(?))",
        [_ids_json(company_ids)],
    )


def clear_queue(db: sqlite_utils.Database) -> None:
    db.execute("DELETE FROM account_queue")


@dataclass(frozen=True)
class Companies:
    """Which companies: the given ids, or the ids low <= id < high."""

    ids: tuple[int, ...] | None = None
    id_range: tuple[int, int] | None = None

    def where(self, column: str) -> tuple[str, list[Any]]:
        if self.ids is not None:
            return f"{column} IN (SELECT value FROM json_each(?))", [_ids_json(self.ids)]
        if self.id_range is not None:
            return f"{column} >= ? AND {column} < ?", list(self.id_range)
        return f"{column} IS NOT NULL", []


def last_company_id(db: sqlite_utils.Database) -> int:
    return db.execute("SELECT coalesce(max(id), 0) FROM companies").fetchone()[0]


MemberRow = tuple[int, int, float]  # (company id, lead id, unrounded main activity score)


def member_rows(db: sqlite_utils.Database, model: str, companies: Companies) -> list[MemberRow]:
    """Every lead graded in the model of the companies in scope, by company and lead: a lead has
    a grade in a model only while it is in the model's audience, so these are the leads in the
    audience."""
    clause, params = companies.where("l.company_id")
    return db.conn.execute(
        # CROSS JOIN keeps leads first (along leads_company): left to choose, the planner walks
        # every grade of the model, however few companies are asked for
        "SELECT l.company_id, l.id, g.activity_score FROM leads l"
        " CROSS JOIN grades g ON g.lead_id = l.id AND g.model = ? AND g.category = ''"
        f" WHERE {clause} ORDER BY l.company_id, l.id",
        [model, *params],
    ).fetchall()


def company_attrs(db: sqlite_utils.Database, company_ids: Iterable[int]) -> dict[int, Any]:
    """Company id -> its attributes."""
    loads = orjson.loads
    rows = db.conn.execute(
        "SELECT id, attrs FROM companies WHERE id IN (SELECT value FROM json_each(?))",
        [_ids_json(company_ids)],
    )
    return {company_id: loads(attrs) for company_id, attrs in rows}


def stored(db: sqlite_utils.Database, model: str, companies: Companies) -> dict[int, StoredAccount]:
    clause, params = companies.where("company_id")
    # +model: walk the primary key along the companies, not the model's whole list index
    rows = db.execute(
        f"SELECT company_id, {ACCOUNT_COLUMNS} FROM account_grades WHERE +model = ? AND {clause}",
        [model, *params],
    )
    return {row[0]: row[1:] for row in rows}


def write(
    db: sqlite_utils.Database,
    model: str,
    upserts: Sequence[tuple[int, StoredAccount]],
    deletes: Sequence[int],
    graded_at: str,
) -> None:
    """Inside the caller's transaction."""
    db.conn.executemany(
        f"INSERT INTO account_grades (company_id, model, {ACCOUNT_COLUMNS}, graded_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (company_id, model) DO UPDATE SET"
        " fit_score = excluded.fit_score, activity_score = excluded.activity_score,"
        " fit = excluded.fit, activity = excluded.activity, grade = excluded.grade,"
        " leads = excluded.leads, explanation = excluded.explanation,"
        " graded_at = excluded.graded_at",
        [(company_id, model, *row, graded_at) for company_id, row in upserts],
    )
    db.conn.executemany(
        "DELETE FROM account_grades WHERE company_id = ? AND model = ?",
        [(company_id, model) for company_id in deletes],
    )


def drop_models_except(db: sqlite_utils.Database, models: Iterable[str]) -> int:
    """Remove account grades of models that no longer grade accounts."""
    return db.execute(
        "DELETE FROM account_grades WHERE model NOT IN (SELECT value FROM json_each(?))",
        [orjson.dumps(sorted(models)).decode()],
    ).rowcount


def drop_company(db: sqlite_utils.Database, company_id: int) -> int:
    """Remove a company's account grades (one of its people was erased: they counted in it)."""
    return db.execute("DELETE FROM account_grades WHERE company_id = ?", [company_id]).rowcount


def _account_row(row: Sequence[Any]) -> dict[str, Any]:
    (company_id, attrs, domain, model, fit_score, act_score, fit, act, grade, leads, expl, at) = row
    company = orjson.loads(attrs)
    return {
        "company_id": company_id,
        "name": company.get("name") if isinstance(company.get("name"), str) else None,
        "domain": domain,
        "company": company,
        "model": model,
        "fit_score": shown(fit_score),
        "fit": fit,
        "activity_score": shown(act_score),
        "activity": act,
        "grade": grade,
        "leads": leads,
        "explanation": orjson.loads(expl),
        "graded_at": at,
    }


SELECT = (
    f"SELECT a.company_id, c.attrs, c.domain, a.model, {', '.join('a.' + c for c in ACCOUNT_COLUMNS.split(', '))},"
    " a.graded_at FROM account_grades a JOIN companies c ON c.id = a.company_id"
)


def list_accounts(
    db: sqlite_utils.Database,
    model: str,
    *,
    cells: Sequence[str] = (),
    fit: Sequence[str] = (),
    activity: Sequence[int] = (),
    text: str | None = None,
    sort: str = "grade",
    descending: bool,  # required: asc is the coldest, lowest, oldest first
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    clauses = ["a.model = ?"]
    params: list[str | int] = [model]
    for column, values in (("a.grade", cells), ("a.fit", fit), ("a.activity", activity)):
        if values:
            clauses.append(f"{column} IN ({','.join('?' * len(values))})")
            params.extend(values)
    if text:  # the company's name and domain (store/search.py)
        clause, values = match_clause(
            "a.company_id IN (SELECT rowid FROM company_search WHERE company_search MATCH ?)", text
        )
        clauses.append(clause)
        params.extend(values)
    where = " AND ".join(clauses)
    order = order_by(SORTS, sort, descending)
    rows = db.execute(
        f"{SELECT} WHERE {where} ORDER BY {order} LIMIT ? OFFSET ?", [*params, limit, offset]
    ).fetchall()
    (total,) = db.execute(
        "SELECT count(*) FROM account_grades a JOIN companies c ON c.id = a.company_id"
        f" WHERE {where}",
        params,
    ).fetchone()
    return [_account_row(r) for r in rows], total


def iter_accounts(
    db: sqlite_utils.Database, model: str | None = None, cells: Sequence[str] = ()
) -> Iterator[dict[str, Any]]:
    """Every account grade (of one model, of some cells), for exports."""
    clauses, params = [], []
    if model:
        clauses.append("a.model = ?")
        params.append(model)
    if cells:
        clauses.append(f"a.grade IN ({','.join('?' * len(cells))})")
        params.extend(cells)
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    cursor = db.conn.cursor()
    cursor.execute(f"{SELECT}{where} ORDER BY a.company_id, a.model", params)
    while rows := cursor.fetchmany(5000):
        yield from (_account_row(r) for r in rows)


def company(db: sqlite_utils.Database, company_id: int) -> dict[str, Any] | None:
    row = db.execute("SELECT attrs, domain FROM companies WHERE id = ?", [company_id]).fetchone()
    if row is None:
        return None
    attrs = orjson.loads(row[0])
    return {
        "company_id": company_id,
        "name": attrs.get("name") if isinstance(attrs.get("name"), str) else None,
        "domain": row[1],
        "company": attrs,
    }


def grades_of(db: sqlite_utils.Database, company_id: int) -> list[dict[str, Any]]:
    rows = db.execute(f"{SELECT} WHERE a.company_id = ? ORDER BY a.model", [company_id])
    return [_account_row(r) for r in rows]


def people(
    db: sqlite_utils.Database, company_id: int, limit: int = PEOPLE_SHOWN
) -> tuple[list[dict[str, Any]], int]:
    """The company's leads (by name) with their main grade in every model, and how many there are."""
    rows = db.execute(
        "SELECT id, ext_id, name, attrs, lifecycle, owner FROM leads WHERE company_id = ?"
        " ORDER BY name IS NULL, name, ext_id LIMIT ?",
        [company_id, limit],
    ).fetchall()
    (total,) = db.execute(
        "SELECT count(*) FROM leads WHERE company_id = ?", [company_id]
    ).fetchone()
    ids = [row[0] for row in rows]
    cells: dict[int, list[dict[str, Any]]] = {lead_id: [] for lead_id in ids}
    for lead_id, model, grade, score in db.execute(
        "SELECT lead_id, model, grade, activity_score FROM grades WHERE category = ''"
        " AND lead_id IN (SELECT value FROM json_each(?)) ORDER BY lead_id, model",
        [_ids_json(ids)],
    ):
        cells[lead_id].append({"model": model, "grade": grade, "activity_score": shown(score)})
    out = []
    for lead_id, ext_id, name, attrs, lifecycle, owner in rows:
        person = orjson.loads(attrs)
        title = person.get("title")
        out.append(
            {
                "lead": ext_id,
                "name": name,
                "title": title if isinstance(title, str) else None,
                "lifecycle": lifecycle,
                "owner": owner,
                "grades": cells[lead_id],
            }
        )
    return out, total


def lead_keys(
    db: sqlite_utils.Database, lead_ids: Iterable[int]
) -> dict[int, tuple[str, str | None]]:
    """Row id -> (the lead's own id, display name), for explanations."""
    rows = db.execute(
        "SELECT id, ext_id, name FROM leads WHERE id IN (SELECT value FROM json_each(?))",
        [_ids_json(lead_ids)],
    )
    return {row[0]: (row[1], row[2]) for row in rows}


def company_of_lead(db: sqlite_utils.Database, ext_id: str) -> int | None:
    row = db.execute("SELECT company_id FROM leads WHERE ext_id = ?", [ext_id]).fetchone()
    return row[0] if row else None
