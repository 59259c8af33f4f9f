"""GDPR: forget a person everywhere (with an audit entry that keeps no personal data), and
export everything stored about them as one JSON document."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import sqlite_utils

from grading.core.model import Config
from grading.core.times import epoch_text, iso_text

from ..store import accounts as account_store
from ..store import audit, outbox, search
from ..store import leads as lead_store
from ..store import outcomes as outcome_store
from ..store import privacy as privacy_store
from ..store.db import clear_wal, transaction
from .accounts import account_models, refresh_companies
from .reports import lead_report


def iso(epoch: int | None) -> str | None:
    return None if epoch is None else epoch_text(epoch)


def forget(
    db: sqlite_utils.Database, config: Config, ext_id: str, actor: str
) -> dict[str, Any] | None:
    """Erase the lead, its events, outcomes, grades, history and webhook messages (None: unknown
    lead), so that no byte of theirs is left in the database file or its WAL. The audit entry
    records who erased how many rows, not whom. The account grades of the company the person
    leaves (when others stay) are graded again without them at once."""
    with transaction(db):
        lead_id = lead_store.lead_id_of(db, ext_id)
        if lead_id is None:
            return None
        company_id = account_store.company_of_lead(db, ext_id)
        deleted = privacy_store.erase_lead(db, lead_id)
        if "companies" not in deleted and company_id is not None:
            stamp = iso_text(datetime.now(UTC))
            refresh_companies(db, account_models(config), [company_id], stamp)
        audit.forget_target(db, ext_id)
        entry = audit.record(db, actor, "lead.erase", None, {"rows": deleted})
    # the WAL still holds page images from before the erasure: into the file (zeroed), then gone
    return {"deleted": deleted, "audit_id": entry, "wal_cleared": clear_wal(db)}


def stored_counts(db: sqlite_utils.Database, ext_id: str) -> dict[str, int] | None:
    """Rows per table that name the lead: what an erasure will delete (None: unknown lead)."""
    lead_id = lead_store.lead_id_of(db, ext_id)
    return None if lead_id is None else privacy_store.stored_counts(db, lead_id)


def export_lead(db: sqlite_utils.Database, config: Config, ext_id: str) -> dict[str, Any] | None:
    """Everything stored about one person, as one JSON-ready document (None: unknown lead)."""
    lead_id = lead_store.lead_id_of(db, ext_id)
    report = lead_report(db, config, ext_id, events=None) if lead_id is not None else None
    if lead_id is None or report is None:
        return None
    grades = report.pop("grades")
    history = report.pop("history")
    events = report.pop("events")
    for event in events:
        event["at"] = iso(event["at"])
    return {
        "exported_at": iso_text(datetime.now(UTC)),
        "lead": report,
        "grades": grades,
        "history": history,
        "events": events,
        "outcomes": [
            {"outcome": row.outcome, "at": iso(row.at), "amount": row.amount}
            for row in outcome_store.outcomes_of(db, lead_id)
        ],
        "webhook_messages": [
            {
                "url": message.url,
                "event": message.event,
                "body": privacy_store.decoded(message.body),
                "created_at": message.created_at,
                "attempts": message.attempts,
                "delivered_at": message.delivered_at,
                "error": message.last_error,
            }
            for message in outbox.messages_of(db, lead_id)
        ],
        "other": privacy_store.rows_about(db, lead_id),
        # the values the text search holds about them (copies of the lead's and company's)
        "search_index": search.indexed_values(db, lead_id),
    }


def export_lead_json(db: sqlite_utils.Database, config: Config, ext_id: str) -> bytes | None:
    """export_lead as the indented JSON the download and `grading export-lead` give."""
    document = export_lead(db, config, ext_id)
    return None if document is None else orjson.dumps(document, option=orjson.OPT_INDENT_2)
