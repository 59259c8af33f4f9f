"""API tokens: stored as SHA-256 hashes only (the token is shown once, at creation)."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

import sqlite_utils

from grading.core.roles import ROLES

TOKEN_PREFIX = "grd_"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(db: sqlite_utils.Database, role: str, name: str, now: str) -> tuple[int, str]:
    if role not in ROLES:
        raise ValueError(f"unknown role '{role}' (use {', '.join(ROLES)})")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    cursor = db.execute(
        "INSERT INTO tokens (name, role, hash, prefix, created_at) VALUES (?, ?, ?, ?, ?)",
        [name, role, _hash(token), token[:10], now],
    )
    assert cursor.lastrowid is not None  # set by the INSERT just run
    return cursor.lastrowid, token


def role_of(db: sqlite_utils.Database, token: str) -> tuple[int, str, str] | None:
    """(token id, name, role) of a live token, or None."""
    row = db.execute(
        "SELECT id, name, role FROM tokens WHERE hash = ? AND revoked_at IS NULL", [_hash(token)]
    ).fetchone()
    return tuple(row) if row else None


def touch(db: sqlite_utils.Database, token_id: int, now: str) -> None:
    db.execute("UPDATE tokens SET last_used_at = ? WHERE id = ?", [now, token_id])


def list_tokens(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    keys = ("id", "name", "role", "prefix", "created_at", "last_used_at", "revoked_at")
    rows = db.execute(f"SELECT {', '.join(keys)} FROM tokens ORDER BY id")
    return [dict(zip(keys, row, strict=True)) for row in rows]


def revoke_token(db: sqlite_utils.Database, token_id: int, now: str) -> bool:
    cursor = db.execute(
        "UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", [now, token_id]
    )
    return cursor.rowcount == 1
