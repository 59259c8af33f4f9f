"""Account grades: computed from the stored lead grades after every re-grade, listed, exported.

An account's activity is read from its leads' stored main grades in the model: the aggregate of
their unrounded scores (SPEC 4: letters and numbers come from unrounded scores; the lead pages
show them rounded to 2 decimals), and a company is re-graded without reading a single event.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlite_utils

from grading.core.accounts import AccountGrader, Members
from grading.core.model import Config, Model
from grading.core.times import iso_text

from ..store import accounts as account_store
from ..store.accounts import Companies
from ..store.db import transaction
from . import export

EXPORT_COLUMNS = (
    "company_id",
    "domain",
    "name",
    "model",
    "fit_score",
    "fit",
    "activity_score",
    "activity",
    "grade",
    "leads",
    "explanation",
    "graded_at",
)


def account_models(config: Config) -> list[Model]:
    """The models that grade accounts (an `accounts` block)."""
    return [m for m in config.models if m.accounts is not None]


COMPANY_CHUNK = 1000  # companies per transaction: other writers wait a few milliseconds


def note_leads(db: sqlite_utils.Database, config: Config, lead_ids: Iterable[int]) -> None:
    """These leads were graded again: queue the accounts of their companies (and of companies they
    left) for `drain`, so an event batch's answer does not wait for its companies' accounts."""
    if account_models(config):
        with transaction(db):  # the caller's, when it has one: queued with the grades
            account_store.enqueue(db, account_store.companies_of_leads(db, lead_ids))


def drain(db: sqlite_utils.Database, config: Config) -> int:
    """Refresh the accounts of every queued company, a chunk per transaction (the queue is read
    and emptied under the write lock, so a company queued meanwhile is never lost). Readers of
    account grades drain first, and a server drains every few seconds. Returns rows written."""
    graders = [AccountGrader(m) for m in account_models(config)]
    stamp, written = iso_text(datetime.now(UTC)), 0
    while True:
        with transaction(db):
            ids = account_store.queued(db, COMPANY_CHUNK)
            if not ids:
                return written
            written += _refresh_in_transaction(db, graders, Companies(ids=tuple(ids)), stamp)
            account_store.dequeue(db, ids)


def refresh(
    db: sqlite_utils.Database,
    config: Config,
    *,
    as_of: datetime,
    models: Sequence[str] | None = None,
) -> int:
    """Re-grade the accounts of every company from the stored lead grades, writing only what
    changed. Companies go in chunks, each read, graded and written in one short transaction, so
    a chunk never writes an account from lead grades another writer has changed in between.
    Returns the account rows written or deleted."""
    stamp = iso_text(as_of)
    graded = [m for m in account_models(config) if models is None or m.name in models]
    graders = [AccountGrader(m) for m in graded]
    written = 0
    if models is None:
        with transaction(db):
            written += account_store.drop_models_except(db, [m.name for m in graded])
            account_store.clear_queue(db)  # every company is refreshed below
    last = account_store.last_company_id(db)
    for low in range(0, last + 1, COMPANY_CHUNK):
        with transaction(db):
            companies = Companies(id_range=(low, low + COMPANY_CHUNK))
            written += _refresh_in_transaction(db, graders, companies, stamp)
    return written


def refresh_companies(
    db: sqlite_utils.Database, graded: Sequence[Model], company_ids: Iterable[int], stamp: str
) -> int:
    """Re-grade these companies' accounts in the models given; returns rows written or deleted."""
    company_ids, written = sorted(company_ids), 0
    graders = [AccountGrader(m) for m in graded]
    for start in range(0, len(company_ids), COMPANY_CHUNK):
        with transaction(db):
            part = Companies(ids=tuple(company_ids[start : start + COMPANY_CHUNK]))
            written += _refresh_in_transaction(db, graders, part, stamp)
    return written


def _refresh_in_transaction(
    db: sqlite_utils.Database, graders: Sequence[AccountGrader], companies: Companies, stamp: str
) -> int:
    """Grade the companies in every model (their leads' stored grades and their attributes read
    once) and write the rows that differ from the stored ones."""
    members = [
        Members.from_rows(account_store.member_rows(db, g.model.name, companies)) for g in graders
    ]
    attrs = account_store.company_attrs(db, set().union(*(m.company.tolist() for m in members)))
    written = 0
    for grader, these in zip(graders, members, strict=True):
        grades = grader.grade_columns(
            [attrs[c] for c in these.company.tolist()], these.starts, these.lead, these.score
        )
        old = account_store.stored(db, grader.model.name, companies)
        rows = grades.rows() if grades is not None else []  # (graders grade accounts)
        upserts = [
            (company_id, row)
            for company_id, row in zip(these.company.tolist(), rows, strict=True)
            if old.pop(company_id, None) != row
        ]
        account_store.write(db, grader.model.name, upserts, list(old), stamp)
        written += len(upserts) + len(old)
    return written


def _name_leads(db: sqlite_utils.Database, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Explanations store lead row ids (no personal data in an account row): show their own ids
    and names. A lead erased since the last re-grade is left out."""
    wanted = {item["lead"] for row in rows for item in row["explanation"]["activity"]["top"]}
    keys = account_store.lead_keys(db, wanted) if wanted else {}
    for row in rows:
        activity = row["explanation"]["activity"]
        activity["top"] = [
            {
                "lead": keys[item["lead"]][0],
                "name": keys[item["lead"]][1],
                "activity_score": item["activity_score"],
            }
            for item in activity["top"]
            if item["lead"] in keys
        ]
    return rows


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
    rows, total = account_store.list_accounts(
        db,
        model,
        cells=cells,
        fit=fit,
        activity=activity,
        text=text,
        sort=sort,
        descending=descending,
        limit=limit,
        offset=offset,
    )
    return _name_leads(db, rows), total


def account_report(db: sqlite_utils.Database, company_id: int) -> dict[str, Any] | None:
    """One company: its account grades with explanations, and its people with their cells."""
    found = account_store.company(db, company_id)
    if found is None:
        return None
    found["grades"] = _name_leads(db, account_store.grades_of(db, company_id))
    found["people"], found["people_total"] = account_store.people(db, company_id)
    return found


def company_of_lead(db: sqlite_utils.Database, ext_id: str) -> int | None:
    return account_store.company_of_lead(db, ext_id)


# export -------------------------------------------------------------------------------------


def export_rows(
    db: sqlite_utils.Database,
    config: Config,
    *,
    model: str | None = None,
    category: str | None = None,
    cells: Sequence[str] = (),
) -> Iterator[dict[str, Any]]:
    """Every account grade (of one model, of some cells); ValueError for a request that cannot
    be answered, checked before the first row."""
    if category:
        raise ValueError("accounts have no category grades: leave out --category")
    if model and (chosen := config.model(model)) is not None and chosen.accounts is None:
        raise ValueError(f"model {model} grades no accounts (it has no accounts block)")
    drain(db, config)
    return _export_rows(db, model, cells)


def _export_rows(
    db: sqlite_utils.Database, model: str | None, cells: Sequence[str]
) -> Iterator[dict[str, Any]]:
    batch: list[dict[str, Any]] = []
    for row in account_store.iter_accounts(db, model, cells):
        batch.append(row)
        if len(batch) >= 1000:
            yield from _name_leads(db, batch)
            batch = []
    yield from _name_leads(db, batch)


def explanation_text(explanation: dict[str, Any]) -> str:
    parts = [f"{item['rule']} {item['points']:+g}" for item in explanation["fit"]]
    activity = explanation["activity"]
    top = ", ".join(f"{item['lead']} {item['activity_score']:g}" for item in activity["top"])
    text = f"activity {activity['aggregate']} of {activity['leads']} lead(s) {activity['score']:g}"
    parts.append(f"{text} ({top})" if top else text)
    return "; ".join(parts)


def write_jsonl(rows: Iterable[dict[str, Any]], out) -> int:
    return export.write_jsonl(rows, out, EXPORT_COLUMNS)


def account_cells(row: dict[str, Any]) -> list[Any]:
    """An account row of the export as CSV cells (EXPORT_COLUMNS)."""
    return [
        row["company_id"],
        row["domain"] or "",
        row["name"] or "",
        row["model"],
        export.two_decimals(row["fit_score"]),
        row["fit"],
        export.two_decimals(row["activity_score"]),
        row["activity"],
        row["grade"],
        row["leads"],
        explanation_text(row["explanation"]),
        row["graded_at"],
    ]


def write_csv(rows: Iterable[dict[str, Any]], out) -> int:
    return export.write_table(out, EXPORT_COLUMNS, map(account_cells, rows))
