"""Who may use grading: web accounts and their server-side sessions (logging in and out), API
tokens, and the audit log of what people (and the service itself) did."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import sqlite_utils

from grading.core.times import iso_text

from ..store import audit
from ..store.auth import create_token, list_tokens, revoke_token, role_of, touch
from ..store.db import transaction
from ..store.sessions import ABSOLUTE_S as ABSOLUTE_S  # a session's longest life: the cookie's
from ..store.sessions import end_session, live_sessions, session_user, start_session
from ..store.users import (
    check_login,
    create_user,
    disable_user,
    enable_user,
    find_user,
    list_users,
    set_password,
)


def user_of_session(db: sqlite_utils.Database, session_id: str) -> dict[str, Any] | None:
    """The user (id, name, role) of a live session, else None."""
    return session_user(db, session_id, time.time())


_last_touch: dict[int, float] = {}  # token id -> when this process last recorded its use


def token_user(db: sqlite_utils.Database, token: str) -> tuple[int, str, str] | None:
    """(token id, role, name) of an active API token, else None. Its last use is recorded at
    most once a minute per process: a busy client does not write on every request."""
    found = role_of(db, token)
    if found is not None:
        token_id = found[0]
        if time.monotonic() - _last_touch.get(token_id, -1e9) > 60:
            _last_touch[token_id] = time.monotonic()
            touch(db, token_id, iso_text(datetime.now(UTC)))
    return found


def log_in(db: sqlite_utils.Database, name: str, password: str) -> str | None:
    """A new session's id when the name and password match an enabled account, else None."""
    found = check_login(db, name, password, iso_text(datetime.now(UTC)))
    return None if found is None else start_session(db, found["id"], time.time())


def log_out(db: sqlite_utils.Database, session_id: str) -> None:
    end_session(db, session_id, time.time())


def audit_log(
    db: sqlite_utils.Database, limit: int = 100, before: int | None = None
) -> list[dict[str, Any]]:
    """The audit log's newest entries first (`before`: older than that entry id)."""
    return audit.entries(db, limit=limit, before=before)


# Accounts and API tokens, as the command line manages them: each change and its audit entry are
# one transaction (both or neither). The store's ValueError (no such user, a short password, an
# unknown role) reaches the caller unchanged, to be shown as it is.


def create_account(
    db: sqlite_utils.Database, actor: str, name: str, role: str, password: str
) -> None:
    with transaction(db):
        create_user(db, name, role, password, iso_text(datetime.now(UTC)))
        audit.record(db, actor, "user.create", f"user {name}", {"role": role})


def accounts(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """Every web account with its `live_sessions` now."""
    now = time.time()
    return [
        {**item, "live_sessions": live_sessions(db, item["id"], now)} for item in list_users(db)
    ]


def disable_account(db: sqlite_utils.Database, actor: str, name: str) -> dict[str, Any]:
    """Refuse NAME's logins and end their sessions: {"changed": bool, "sessions": ended}."""
    with transaction(db):
        outcome = disable_user(db, name, time.time())
        if outcome["changed"]:
            audit.record(
                db, actor, "user.disable", f"user {name}", {"sessions": outcome["sessions"]}
            )
    return outcome


def enable_account(db: sqlite_utils.Database, actor: str, name: str) -> bool:
    with transaction(db):
        changed = enable_user(db, name)
        if changed:
            audit.record(db, actor, "user.enable", f"user {name}")
    return changed


def check_account(db: sqlite_utils.Database, name: str) -> None:
    """ValueError when there is no account NAME (before asking for a password nobody could use)."""
    find_user(db, name)


def change_password(db: sqlite_utils.Database, actor: str, name: str, password: str) -> int:
    """NAME's new password; all their sessions end: how many did."""
    with transaction(db):
        ended = set_password(db, name, password, time.time())
        audit.record(db, actor, "user.password", f"user {name}", {"sessions": ended})
    return ended


def create_api_token(
    db: sqlite_utils.Database, actor: str, role: str, name: str
) -> tuple[int, str]:
    """A new token's id and its secret (shown once: only its hash is stored)."""
    with transaction(db):
        token_id, secret = create_token(db, role, name, iso_text(datetime.now(UTC)))
        audit.record(db, actor, "token.create", f"token {token_id}", {"name": name, "role": role})
    return token_id, secret


def api_tokens(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    return list_tokens(db)


def revoke_api_token(db: sqlite_utils.Database, actor: str, token_id: int) -> bool:
    """False when there is no active token with this id."""
    with transaction(db):
        revoked = revoke_token(db, token_id, iso_text(datetime.now(UTC)))
        if revoked:
            audit.record(db, actor, "token.revoke", f"token {token_id}")
    return revoked
