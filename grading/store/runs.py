"""Re-grade runs, and the lease that lets only one process re-grade at a time."""

from __future__ import annotations

from typing import Any

import sqlite_utils

from .db import transaction

RUN_COLUMNS = (
    "id",
    "trigger",
    "reason",
    "started_at",
    "finished_at",
    "leads",
    "changed",
    "rows_written",
    "kept",
    "model_digest",
    "error",
)


def take_lease(
    db: sqlite_utils.Database, name: str, holder: str, now: float, seconds: float
) -> bool:
    """Take (or extend our own) lease; False when another holder's lease has not expired."""
    with transaction(db):
        row = db.execute("SELECT holder, expires_at FROM leases WHERE name = ?", [name]).fetchone()
        if row and row[0] != holder and row[1] > now:
            return False
        db.execute(
            "INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?) ON CONFLICT(name) DO UPDATE"
            " SET holder = excluded.holder, expires_at = excluded.expires_at",
            [name, holder, now + seconds],
        )
    return True


def release_lease(db: sqlite_utils.Database, name: str, holder: str) -> None:
    db.execute("DELETE FROM leases WHERE name = ? AND holder = ?", [name, holder])


def lease_holder(db: sqlite_utils.Database, name: str, now: float) -> str | None:
    row = db.execute(
        "SELECT holder FROM leases WHERE name = ? AND expires_at > ?", [name, now]
    ).fetchone()
    return row[0] if row else None


def start_run(
    db: sqlite_utils.Database, trigger: str, reason: str, started_at: str, digest: str | None
) -> int:
    cursor = db.execute(
        "INSERT INTO runs (trigger, reason, started_at, model_digest) VALUES (?, ?, ?, ?)",
        [trigger, reason, started_at, digest],
    )
    assert cursor.lastrowid is not None  # set by the INSERT just run
    return cursor.lastrowid


def finish_run(
    db: sqlite_utils.Database,
    run_id: int,
    finished_at: str,
    *,
    leads=None,
    changed=None,
    rows_written=None,
    kept=None,
    error: str | None = None,
) -> None:
    db.execute(
        "UPDATE runs SET finished_at = ?, leads = ?, changed = ?, rows_written = ?, kept = ?,"
        " error = ? WHERE id = ?",
        [finished_at, leads, changed, rows_written, kept, error, run_id],
    )


def interrupt_unfinished(db: sqlite_utils.Database, finished_at: str) -> int:
    """Close the runs left open by a process that ended mid-run; returns how many."""
    return db.execute(
        "UPDATE runs SET finished_at = ?, error = ? WHERE finished_at IS NULL",
        [finished_at, "interrupted: the process running it ended before it finished"],
    ).rowcount


def list_runs(db: sqlite_utils.Database, limit: int = 50) -> list[dict[str, Any]]:
    rows = db.execute(
        f"SELECT {', '.join(RUN_COLUMNS)} FROM runs ORDER BY id DESC LIMIT ?", [limit]
    )
    return [dict(zip(RUN_COLUMNS, row, strict=True)) for row in rows]
