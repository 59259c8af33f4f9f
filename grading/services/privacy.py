"""GDPR: forget a person everywhere (with an audit entry that keeps no personal data), and
export everything stored about them as one JSON document."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlite_utils

from grading.core.model import Config
from grading.core.times import epoch_text

from ..store import audit, search
from ..store import privacy as privacy_store
from ..store.db import clear_wal, transaction
from .accounts import account_models, refresh_companies
from .export import lead_report


def iso(epoch: int | None) -> str | None:
    return None if epoch is None else epoch_text(epoch)


def _lead_id(db: sqlite_utils.Database, ext_id: str) -> int | None:
    row = db.execute("SELECT id FROM leads WHERE ext_id = ?", [ext_id]).fetchone()
    return row[0] if row else None


def forget(
    db: sqlite_utils.Database, config: Config, ext_id: str, actor: str
) -> dict[str, Any] | None:
    """Erase the lead, its events, outcomes, grades, history and webhook messages (None: unknown
    lead), so that no byte of theirs is left in the database file or its WAL. The audit entry
    records who erased how many rows, not whom. The account grades of the company the person
    leaves (when others stay) are graded again without them at once."""
    with transaction(db):
        lead_id = _lead_id(db, ext_id)
        if lead_id is None:
            return None
        (company_id,) = db.execute(
            "SELECT company_id FROM leads WHERE id = ?", [lead_id]
        ).fetchone()
        deleted = privacy_store.erase_lead(db, lead_id)
        if "companies" not in deleted and company_id is not None:
            stamp = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
            refresh_companies(db, account_models(config), [company_id], stamp)
        audit.forget_target(db, ext_id)
        entry = audit.record(db, actor, "lead.erase", None, {"rows": deleted})
    # the WAL still holds page images from before the erasure: into the file (zeroed), then gone
    return {"deleted": deleted, "audit_id": entry, "wal_cleared": clear_wal(db)}


def stored_counts(db: sqlite_utils.Database, ext_id: str) -> dict[str, int] | None:
    """Rows per table that name the lead: what an erasure will delete (None: unknown lead)."""
    lead_id = _lead_id(db, ext_id)
    if lead_id is None:
        return None
    counts = {"leads": 1}
    for table in privacy_store.tables_with(db, "lead_id"):
        (count,) = db.execute(
            f'SELECT count(*) FROM "{table}" WHERE lead_id = ?', [lead_id]
        ).fetchone()
        if count:
            counts[table] = count
    return counts


def export_lead(db: sqlite_utils.Database, config: Config, ext_id: str) -> dict[str, Any] | None:
    """Everything stored about one person, as one JSON-ready document (None: unknown lead)."""
    lead_id = _lead_id(db, ext_id)
    report = lead_report(db, config, ext_id, events=None) if lead_id is not None else None
    if report is None:
        return None
    grades = report.pop("grades")
    history = report.pop("history")
    events = report.pop("events")
    for event in events:
        event["at"] = iso(event["at"])
    outcome_rows = db.execute(
        "SELECT outcome, at, amount FROM outcomes WHERE lead_id = ? ORDER BY at, id", [lead_id]
    )
    outbox_rows = db.execute(
        "SELECT url, event, body, created_at, attempts, delivered_at, last_error FROM outbox"
        " WHERE lead_id = ? ORDER BY id",
        [lead_id],
    )
    return {
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "lead": report,
        "grades": grades,
        "history": history,
        "events": events,
        "outcomes": [
            {"outcome": outcome, "at": iso(at), "amount": amount}
            for outcome, at, amount in outcome_rows
        ],
        "webhook_messages": [
            dict(
                zip(
                    ("url", "event", "body", "created_at", "attempts", "delivered_at", "error"),
                    (url, event, privacy_store.decoded(body), *rest),
                    strict=True,
                )
            )
            for url, event, body, *rest in outbox_rows
        ],
        "other": privacy_store.rows_about(db, lead_id),
        # the values the text search holds about them (copies of the lead's and company's)
        "search_index": search.indexed_values(db, lead_id),
    }
