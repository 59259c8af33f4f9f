"""People of the web view: logging in and out through server-side sessions, and the audit log of
what people (and the service itself) did."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import sqlite_utils

from ..store import audit
from ..store.sessions import ABSOLUTE_S, end_session, session_user, start_session
from ..store.users import check_login
from .runs import iso

__all__ = ["ABSOLUTE_S", "audit_log", "log_in", "log_out", "record", "user_of_session"]


def user_of_session(db: sqlite_utils.Database, session_id: str) -> dict[str, Any] | None:
    """The user (id, name, role) of a live session, else None."""
    return session_user(db, session_id, time.time())


def log_in(db: sqlite_utils.Database, name: str, password: str) -> str | None:
    """A new session's id when the name and password match an enabled account, else None."""
    found = check_login(db, name, password, iso(datetime.now(UTC)))
    return None if found is None else start_session(db, found["id"], time.time())


def log_out(db: sqlite_utils.Database, session_id: str) -> None:
    end_session(db, session_id, time.time())


def audit_log(
    db: sqlite_utils.Database, limit: int = 100, before: int | None = None
) -> list[dict[str, Any]]:
    """The audit log's newest entries first (`before`: older than that entry id)."""
    return audit.entries(db, limit=limit, before=before)


def record(
    db: sqlite_utils.Database,
    actor: str,
    action: str,
    target: str | None = None,
    detail: dict[str, Any] | None = None,
) -> int:
    """One audit entry; its id."""
    return audit.record(db, actor, action, target, detail)
