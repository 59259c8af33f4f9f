"""Accounts of the web view; passwords are kept only as scrypt hashes."""

from __future__ import annotations

from typing import Any

import sqlite_utils
from werkzeug.security import check_password_hash, generate_password_hash

from grading.core.times import unix_text

from .auth import ROLES
from .db import transaction
from .sessions import end_user_sessions

MIN_PASSWORD = 8
HASH_METHOD = "scrypt"
# The scrypt hash of a random password nobody knows, with the parameters HASH_METHOD uses today:
# an unknown name is checked against it, so refusing a wrong name costs the same work (and time)
# as refusing a wrong password, and the time of a refusal does not tell which names exist.
UNKNOWN_NAME_HASH = (
    "scrypt:32768:8:1$Rn8L6KJVh9nu60oS$b6e1aa6fabdc5fd60a75b7f88d164d8f5ca62da707a9d2b23558676c3"
    "cefd75b855e27842d717b3c63635abf6c4c22e06bd63b026b198aecbe4e72ec687fa765"
)


def _check_password(password: str) -> str:
    """The scrypt hash of an acceptable password."""
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"the password needs at least {MIN_PASSWORD} characters")
    return generate_password_hash(password, method=HASH_METHOD)


def create_user(db: sqlite_utils.Database, name: str, role: str, password: str, now: str) -> int:
    if role not in ROLES:
        raise ValueError(f"unknown role '{role}' (use {', '.join(ROLES)})")
    if not name.strip():
        raise ValueError("the name must not be empty")
    password_hash = _check_password(password)
    if db.execute("SELECT 1 FROM users WHERE name = ?", [name.strip()]).fetchone():
        raise ValueError(f"a user '{name.strip()}' exists already")
    cursor = db.execute(
        "INSERT INTO users (name, role, password_hash, created_at) VALUES (?, ?, ?, ?)",
        [name.strip(), role, password_hash, now],
    )
    assert cursor.lastrowid is not None  # set by the INSERT just run
    return cursor.lastrowid


def check_login(
    db: sqlite_utils.Database, name: str, password: str, now: str
) -> dict[str, Any] | None:
    """The user when the name and password match an enabled account, else None.

    An unknown name, a wrong password and a disabled account are refused alike and after the same
    scrypt work, so neither the answer nor its time tells which of them it was."""
    row = db.execute(
        "SELECT id, name, role, password_hash, disabled_at FROM users WHERE name = ?",
        [name.strip()],
    ).fetchone()
    matches = check_password_hash(row[3] if row else UNKNOWN_NAME_HASH, password)
    if row is None or not matches or row[4] is not None:
        return None
    db.execute("UPDATE users SET last_login_at = ? WHERE id = ?", [now, row[0]])
    return {"id": row[0], "name": row[1], "role": row[2]}


def find_user(db: sqlite_utils.Database, name: str) -> dict[str, Any]:
    """The account named so (id, name, role, disabled_at); ValueError when there is none."""
    row = db.execute(
        "SELECT id, name, role, disabled_at FROM users WHERE name = ?", [name.strip()]
    ).fetchone()
    if row is None:
        raise ValueError(f"no user '{name.strip()}' (see `grading user list`)")
    return {"id": row[0], "name": row[1], "role": row[2], "disabled_at": row[3]}


def disable_user(db: sqlite_utils.Database, name: str, now: float) -> dict[str, Any]:
    """Refuse the user's logins and end all their sessions at once.

    Returns {"changed": False when they were disabled already, "sessions": how many ended}."""
    with transaction(db):
        user = find_user(db, name)
        at = unix_text(now)
        cursor = db.execute(
            "UPDATE users SET disabled_at = ? WHERE id = ? AND disabled_at IS NULL",
            [at, user["id"]],
        )
        return {"changed": cursor.rowcount == 1, "sessions": end_user_sessions(db, user["id"], now)}


def enable_user(db: sqlite_utils.Database, name: str) -> bool:
    """Let a disabled user log in again; False when they were not disabled."""
    user = find_user(db, name)
    cursor = db.execute(
        "UPDATE users SET disabled_at = NULL WHERE id = ? AND disabled_at IS NOT NULL", [user["id"]]
    )
    return cursor.rowcount == 1


def set_password(db: sqlite_utils.Database, name: str, password: str, now: float) -> int:
    """Give the user a new password and end all their sessions; returns how many ended."""
    password_hash = _check_password(password)
    with transaction(db):
        user = find_user(db, name)
        db.execute("UPDATE users SET password_hash = ? WHERE id = ?", [password_hash, user["id"]])
        return end_user_sessions(db, user["id"], now)


def list_users(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    keys = ("id", "name", "role", "created_at", "last_login_at", "disabled_at")
    return [
        dict(zip(keys, r, strict=True))
        for r in db.execute(f"SELECT {', '.join(keys)} FROM users ORDER BY name")
    ]
