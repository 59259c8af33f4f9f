"""The audit log: who changed lifecycle, owner, model files, accounts, and who erased a person.

Entries name the actor and the action; an erasure keeps no personal data, and erasing a person
also takes their lead id out of earlier entries."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import sqlite_utils

ACTIONS = (
    "lead.update",  # lifecycle, owner and/or qualification
    "lead.erase",
    "model.reload",
    "token.create",
    "token.revoke",
    "user.create",
    "user.disable",  # and every session of theirs ended
    "user.enable",
    "user.password",  # a new password; every session of theirs ended
    "events.purge",  # the retention setting deleted old events (a count, no personal data)
)


def record(
    db: sqlite_utils.Database,
    actor: str,
    action: str,
    target: str | None = None,
    detail: dict[str, Any] | None = None,
) -> int:
    """Add one entry; returns its id (a receipt, e.g. for an erasure)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    at = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    cursor = db.execute(
        "INSERT INTO audit_log (at, actor, action, target, detail) VALUES (?, ?, ?, ?, ?)",
        [at, actor, action, target, orjson.dumps(detail).decode() if detail else None],
    )
    return cursor.lastrowid


def record_lead_update(
    db: sqlite_utils.Database, actor: str, lead: dict[str, Any], changes: dict[str, Any]
) -> int | None:
    """Record what a lifecycle/owner/qualification change really changed, as
    {key: [before, after]}; a key the lead row lacks (qualification) is a person attribute."""

    def before(key: str) -> Any:
        return lead[key] if key in lead else lead.get("person", {}).get(key)

    detail = {key: [before(key), value] for key, value in changes.items() if before(key) != value}
    return record(db, actor, "lead.update", lead["id"], detail) if detail else None


def entries(
    db: sqlite_utils.Database, limit: int = 100, before: int | None = None
) -> list[dict[str, Any]]:
    """The newest entries first; `before` pages on to older ones (an entry id)."""
    sql = "SELECT id, at, actor, action, target, detail FROM audit_log"
    params: list[Any] = []
    if before is not None:
        sql += " WHERE id < ?"
        params.append(before)
    sql += " ORDER BY id DESC LIMIT ?"
    params.append(limit)
    return [
        {
            "id": row[0],
            "at": row[1],
            "actor": row[2],
            "action": row[3],
            "target": row[4],
            "detail": orjson.loads(row[5]) if row[5] else {},
        }
        for row in db.execute(sql, params)
    ]


def forget_target(db: sqlite_utils.Database, target: str) -> None:
    """An erased person's id leaves the earlier entries that named it."""
    db.execute("UPDATE audit_log SET target = NULL WHERE target = ?", [target])
