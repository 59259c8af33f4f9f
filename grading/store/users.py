"""Accounts of the web view; passwords are kept only as scrypt hashes."""

from __future__ import annotations

from typing import Any

import sqlite_utils
from werkzeug.security import check_password_hash, generate_password_hash

from .auth import ROLES

MIN_PASSWORD = 8


def create_user(db: sqlite_utils.Database, name: str, role: str, password: str, now: str) -> int:
    if role not in ROLES:
        raise ValueError(f"unknown role '{role}' (use {', '.join(ROLES)})")
    if not name.strip():
        raise ValueError("the name must not be empty")
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"the password needs at least {MIN_PASSWORD} characters")
    if db.execute("SELECT 1 FROM users WHERE name = ?", [name.strip()]).fetchone():
        raise ValueError(f"a user '{name.strip()}' exists already")
    cursor = db.execute(
        "INSERT INTO users (name, role, password_hash, created_at) VALUES (?, ?, ?, ?)",
        [name.strip(), role, generate_password_hash(password, method="scrypt"), now],
    )
    return cursor.lastrowid


def check_login(
    db: sqlite_utils.Database, name: str, password: str, now: str
) -> dict[str, Any] | None:
    row = db.execute(
        "SELECT id, name, role, password_hash FROM users WHERE name = ?", [name.strip()]
    ).fetchone()
    if row is None or not check_password_hash(row[3], password):
        return None
    db.execute("UPDATE users SET last_login_at = ? WHERE id = ?", [now, row[0]])
    return {"id": row[0], "name": row[1], "role": row[2]}


def get_user(db: sqlite_utils.Database, user_id: int) -> dict[str, Any] | None:
    row = db.execute("SELECT id, name, role FROM users WHERE id = ?", [user_id]).fetchone()
    return {"id": row[0], "name": row[1], "role": row[2]} if row else None


def list_users(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    keys = ("id", "name", "role", "created_at", "last_login_at")
    return [
        dict(zip(keys, r, strict=True))
        for r in db.execute(f"SELECT {', '.join(keys)} FROM users ORDER BY name")
    ]
