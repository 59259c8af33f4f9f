"""The audit log: who changed lifecycle, owner, model files, accounts, and who erased a person.

Entries name the actor and the action; an erasure keeps no personal data, and erasing a person
also takes their lead id out of earlier entries."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import orjson
import sqlite_utils

from grading.core.times import iso_text

ACTIONS = (
    "lead.update",  # lifecycle, owner and/or qualification, however the lead was written
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


LEAD_KEYS = ("lifecycle", "owner", "qualification")  # a change of any of these is audited


INSERT_SQL = "INSERT INTO audit_log (at, actor, action, target, detail) VALUES (?, ?, ?, ?, ?)"


def _now() -> str:
    return iso_text(datetime.now(UTC))


def _row(at: str, actor: str, action: str, target: str | None, detail: dict[str, Any] | None):
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    return (at, actor, action, target, orjson.dumps(detail).decode() if detail else None)


def record(
    db: sqlite_utils.Database,
    actor: str,
    action: str,
    target: str | None = None,
    detail: dict[str, Any] | None = None,
) -> int:
    """Add one entry; returns its id (a receipt, e.g. for an erasure)."""
    entry_id = db.execute(INSERT_SQL, _row(_now(), actor, action, target, detail)).lastrowid
    assert entry_id is not None  # set by the INSERT just run
    return entry_id


def record_many(
    db: sqlite_utils.Database,
    actor: str,
    action: str,
    entries: Iterable[tuple[str | None, dict[str, Any]]],
) -> None:
    """Add many entries of one actor and action at once, (target, detail) each: an import's."""
    at = _now()
    db.conn.executemany(INSERT_SQL, [_row(at, actor, action, t, d) for t, d in entries])


def lead_update(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    """What a write of a lead's person attributes changed of lifecycle, owner and qualification,
    as {key: [before, after]}; empty when none of them changed (nothing to audit)."""
    return {
        key: [before.get(key), after.get(key)]
        for key in LEAD_KEYS
        if before.get(key) != after.get(key)
    }


def _shown(value: Any) -> str:
    if value is None or value == [] or value == "":
        return "—"
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return str(value)


def summary(detail: dict[str, Any]) -> str:
    """An entry's detail as people read it, the same on the audit page and in `grading audit`:
    "lifecycle: lead → mql; qualification: — → budget, need", "deleted: events 3, leads 1"."""
    parts = []
    for key, value in sorted(detail.items()):
        if isinstance(value, dict):
            shown = ", ".join(f"{name} {count}" for name, count in sorted(value.items()))
        elif isinstance(value, list) and len(value) == 2:
            shown = f"{_shown(value[0])} → {_shown(value[1])}"
        else:
            shown = _shown(value)
        parts.append(f"{key}: {shown}")
    return "; ".join(parts)


def entries(
    db: sqlite_utils.Database, limit: int = 100, before: int | None = None
) -> list[dict[str, Any]]:
    """The newest entries first; `before` pages on to older ones (an entry id). Each has its
    `detail` and that detail's `summary` for people."""
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
            "detail": (detail := orjson.loads(row[5]) if row[5] else {}),
            "summary": summary(detail),
        }
        for row in db.execute(sql, params)
    ]


def forget_target(db: sqlite_utils.Database, target: str) -> None:
    """An erased person's id leaves the earlier entries that named it."""
    db.execute("UPDATE audit_log SET target = NULL WHERE target = ?", [target])
