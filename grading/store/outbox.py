"""The webhook outbox: messages stored with the grade change that caused them, sent later."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import sqlite_utils


class NewMessage(NamedTuple):
    url: str
    event: str  # grade.changed or route.changed
    lead_id: int
    body: str  # the exact JSON that is signed and sent
    created_at: str
    next_attempt_at: float  # epoch seconds


class PendingMessage(NamedTuple):
    id: int
    event: str
    body: str
    attempts: int
    next_attempt_at: float


class UrlState(NamedTuple):
    url: str
    pending: int
    delivered: int
    oldest_pending_at: str | None
    attempts: int | None  # of the oldest pending message (None: nothing pending)
    last_error: str | None
    next_attempt_at: float | None


class StoredMessage(NamedTuple):
    url: str
    event: str
    body: str
    created_at: str
    attempts: int
    delivered_at: str | None
    last_error: str | None


def add(db: sqlite_utils.Database, messages: Sequence[NewMessage]) -> None:
    db.conn.executemany(
        "INSERT INTO outbox (url, event, lead_id, body, created_at, next_attempt_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        messages,
    )


def pending(db: sqlite_utils.Database, url: str, limit: int) -> list[PendingMessage]:
    """The URL's undelivered messages, oldest first."""
    rows = db.execute(
        "SELECT id, event, body, attempts, next_attempt_at FROM outbox"
        " WHERE delivered_at IS NULL AND url = ? ORDER BY id LIMIT ?",
        [url, limit],
    ).fetchall()
    return [PendingMessage(*row) for row in rows]


def mark_delivered(db: sqlite_utils.Database, message_id: int, at: str) -> None:
    db.execute("UPDATE outbox SET delivered_at = ? WHERE id = ?", [at, message_id])


def record_failure(
    db: sqlite_utils.Database, message_id: int, attempts: int, error: str, next_attempt_at: float
) -> None:
    db.execute(
        "UPDATE outbox SET attempts = ?, last_error = ?, next_attempt_at = ? WHERE id = ?",
        [attempts, error, next_attempt_at, message_id],
    )


def url_states(db: sqlite_utils.Database) -> list[UrlState]:
    """Per URL (in order): pending and delivered counts and the oldest pending message's state."""
    out = []
    for url, waiting, delivered, oldest in db.execute(
        "SELECT url, sum(delivered_at IS NULL), sum(delivered_at IS NOT NULL),"
        " min(CASE WHEN delivered_at IS NULL THEN created_at END)"
        " FROM outbox GROUP BY url ORDER BY url"
    ).fetchall():
        head = db.execute(
            "SELECT attempts, last_error, next_attempt_at FROM outbox"
            " WHERE delivered_at IS NULL AND url = ? ORDER BY id LIMIT 1",
            [url],
        ).fetchone()
        out.append(UrlState(url, waiting, delivered, oldest, *(head or (None, None, None))))
    return out


def messages_of(db: sqlite_utils.Database, lead_id: int) -> list[StoredMessage]:
    """Every message about the lead, in the order they were made."""
    rows = db.execute(
        "SELECT url, event, body, created_at, attempts, delivered_at, last_error FROM outbox"
        " WHERE lead_id = ? ORDER BY id",
        [lead_id],
    )
    return [StoredMessage(*row) for row in rows]
