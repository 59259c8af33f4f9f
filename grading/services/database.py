"""The database file for the entrypoints: opening it (a new connection, or this thread's kept
one), its schema version (opening migrates it), and a consistent copy of it."""

from __future__ import annotations

import threading

import sqlite_utils

from ..store.db import backup, connect, schema_version

__all__ = ["backup", "connect", "kept_connection", "schema_version"]

_threads = threading.local()
KEPT_CONNECTIONS = 4  # per thread: one per database this thread served lately


def kept_connection(path: str) -> sqlite_utils.Database:
    """This thread's connection to the database at `path`, kept between requests: SQLite's page
    cache stays warm, and nothing is re-opened or re-checked per request. Writes run in
    explicit transactions that roll back on any error, so nothing is left open between requests."""
    kept = getattr(_threads, "connections", None)
    if kept is None:
        kept = _threads.connections = {}
    db = kept.get(path)
    if db is None:
        if len(kept) >= KEPT_CONNECTIONS:
            for old in kept.values():
                old.conn.close()
            kept.clear()
        db = kept[path] = connect(path)
    if db.conn.in_transaction:  # a request that died mid-transaction must not leak it
        db.conn.rollback()
    return db
