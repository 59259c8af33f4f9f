"""Web sessions, kept on the server: the browser's signed cookie carries only a random session id,
stored here as a SHA-256 hash. A session ends at logout, when its user is disabled or gets a new
password, after IDLE_S without a request, and ABSOLUTE_S after the login whatever happens."""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
from typing import Any

import sqlite_utils

from .db import BUSY_TIMEOUT_S

IDLE_S = 12 * 3600  # a day's work with long breaks; overnight it ends
ABSOLUTE_S = 7 * 24 * 3600  # a week after the login, log in again
TOUCH_S = 60  # last_seen_at is written at most once a minute per session, not on every request
KEEP_ENDED_S = 30 * 24 * 3600  # ended and expired rows are deleted after this


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def start_session(db: sqlite_utils.Database, user_id: int, now: float) -> str:
    """A new session for the user; returns its id (for the cookie, never stored as such)."""
    session_id = secrets.token_urlsafe(32)
    db.execute(
        "DELETE FROM sessions WHERE COALESCE(ended_at, expires_at) < ?",
        [now - KEEP_ENDED_S],
    )
    db.execute(
        "INSERT INTO sessions (hash, user_id, created_at, last_seen_at, expires_at)"
        " VALUES (?, ?, ?, ?, ?)",
        [_hash(session_id), user_id, now, now, now + ABSOLUTE_S],
    )
    return session_id


def session_user(db: sqlite_utils.Database, session_id: str, now: float) -> dict[str, Any] | None:
    """The user of a live session (not ended, not idle or expired, user enabled), else None."""
    row = db.execute(
        "SELECT s.id, s.last_seen_at, u.id, u.name, u.role FROM sessions s"
        " JOIN users u ON u.id = s.user_id"
        " WHERE s.hash = ? AND s.ended_at IS NULL AND s.expires_at > ? AND s.last_seen_at > ?"
        " AND u.disabled_at IS NULL",
        [_hash(session_id), now, now - IDLE_S],
    ).fetchone()
    if row is None:
        return None
    if now - row[1] >= TOUCH_S:
        _touch(db, row[0], now)
    return {"id": row[2], "name": row[3], "role": row[4]}


def _touch(db: sqlite_utils.Database, row_id: int, now: float) -> None:
    """Note the session's activity if the database can be written at once: a page that only
    reads must not wait behind a long write (an import, an erasure) nor fail for it; a skipped
    touch is made by a later request, long before the session could go idle."""
    if db.conn.in_transaction:
        return
    db.execute("PRAGMA busy_timeout = 0")
    try:
        db.execute("UPDATE sessions SET last_seen_at = ? WHERE id = ?", [now, row_id])
    except sqlite3.OperationalError:  # locked by another writer
        pass
    finally:
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_S * 1000}")


def end_session(db: sqlite_utils.Database, session_id: str, now: float) -> None:
    db.execute(
        "UPDATE sessions SET ended_at = ? WHERE hash = ? AND ended_at IS NULL",
        [now, _hash(session_id)],
    )


def live_sessions(db: sqlite_utils.Database, user_id: int, now: float) -> int:
    return db.execute(
        "SELECT count(*) FROM sessions WHERE user_id = ? AND ended_at IS NULL AND expires_at > ?"
        " AND last_seen_at > ?",
        [user_id, now, now - IDLE_S],
    ).fetchone()[0]


def end_user_sessions(db: sqlite_utils.Database, user_id: int, now: float) -> int:
    """End every session of the user at once; returns how many were live."""
    live = live_sessions(db, user_id, now)
    db.execute(
        "UPDATE sessions SET ended_at = ? WHERE user_id = ? AND ended_at IS NULL", [now, user_id]
    )
    return live
