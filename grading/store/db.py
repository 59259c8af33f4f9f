"""The SQLite database: connection settings, running the schema migrations (migrations.py),
transactions and snapshots, the meta table and backups."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import sqlite_utils

from . import migrations, search

BUSY_TIMEOUT_S = 30
CACHE_KIB = -262_144  # page cache per connection: 256 MiB (negative: KiB, as SQLite wants)
IMPORT_CACHE_KIB = -1_048_576  # 1 GiB while importing


def connect(path: str) -> sqlite_utils.Database:
    """Open (and migrate) the database at path; ':memory:' works for tests."""
    if path != ":memory:":
        folder = os.path.dirname(os.path.abspath(path))
        os.makedirs(folder, exist_ok=True)
    conn = sqlite3.connect(
        path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
    )
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_S * 1000}")
    if path != ":memory:":
        conn.execute("PRAGMA journal_mode = WAL")
        # Checkpoint every 10,000 pages (40 MiB of WAL) rather than SQLite's 1,000: an API batch
        # of 1,000 events writes ~800 pages, so the default checkpointed (and synced) after nearly
        # every batch; fewer, larger checkpoints copy each hot index page once for many batches.
        conn.execute("PRAGMA wal_autocheckpoint = 10000")
    # Deleted rows and freed pages are overwritten with zeros, whatever this SQLite was built
    # with: after an erasure no byte of the person is left in the file (services/privacy.py)
    conn.execute("PRAGMA secure_delete = ON")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute(f"PRAGMA cache_size = {CACHE_KIB}")
    conn.execute("PRAGMA temp_store = MEMORY")
    db = sqlite_utils.Database(conn)
    migrate(db)
    return db


def clear_wal(db: sqlite_utils.Database) -> bool:
    """Copy the WAL into the database file and truncate it to nothing, so no older page image
    stays in it (waits for readers as long as the busy timeout); False when readers kept it."""
    busy, _, _ = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    return not busy


def database_path(db: sqlite_utils.Database) -> str | None:
    """The file behind a connection, or None for an in-memory database."""
    for _, name, path in db.execute("PRAGMA database_list"):
        if name == "main":
            return path or None
    return None


@contextmanager
def import_cache(db: sqlite_utils.Database) -> Iterator[None]:
    """A larger page cache while importing: a big file touches index pages all over."""
    db.execute(f"PRAGMA cache_size = {IMPORT_CACHE_KIB}")
    try:
        yield
    finally:
        db.execute(f"PRAGMA cache_size = {CACHE_KIB}")


def refresh_statistics(db: sqlite_utils.Database) -> None:
    """A sampled ANALYZE (quick): fresh statistics keep the query planner on the cell index."""
    db.execute("PRAGMA analysis_limit = 1000")
    db.execute("ANALYZE")


def refuse_writes(db: sqlite_utils.Database) -> None:
    """From now on SQLite refuses any write on this connection (a preview worker's)."""
    db.execute("PRAGMA query_only = ON")


def schema_version(db: sqlite_utils.Database) -> int:
    return db.execute("PRAGMA user_version").fetchone()[0]


def migrate(db: sqlite_utils.Database) -> int:
    version = schema_version(db)
    for number, script in enumerate(migrations.MIGRATIONS[version:], start=version + 1):
        with transaction(db, index=False):  # a migration fills what it adds to the index
            for statement in _statements(script):
                db.execute(statement)
            db.execute(f"PRAGMA user_version = {number}")
    return schema_version(db)


def _statements(script: str) -> list[str]:
    lines = [line.split("--", 1)[0] for line in script.splitlines()]
    out, pending = [], ""
    for part in "\n".join(lines).split(";"):
        pending += part + ";"
        if sqlite3.complete_statement(pending):  # a trigger's body holds ';' of its own
            if pending.strip(" \n;"):
                out.append(pending.strip())
            pending = ""
    return out


@contextmanager
def transaction(db: sqlite_utils.Database, *, index: bool = True):
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any error (autocommit connection). Before it
    commits, the search index takes in the leads and companies written (store/search.py).

    Inside another transaction it joins that one: the outer commits or rolls back the whole."""
    if db.conn.in_transaction:
        yield db
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
        if index:
            search.reindex_noted(db)
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


@contextmanager
def snapshot(db: sqlite_utils.Database) -> Iterator[None]:
    """A deferred read transaction: the reads inside see one state, and no lock is taken."""
    db.execute("BEGIN")
    try:
        yield
    finally:
        db.execute("COMMIT")


@contextmanager
def read_only(db: sqlite_utils.Database):
    """One snapshot for everything read inside (a read transaction), and SQLite refuses any write
    on this connection meanwhile: for reports (calibration, preview) that must not write."""
    own = not db.conn.in_transaction
    db.execute("PRAGMA query_only = ON")
    try:
        if own:
            db.execute("BEGIN")
        try:
            yield
        finally:
            if own:
                db.execute("ROLLBACK")
    finally:
        db.execute("PRAGMA query_only = OFF")


def get_meta(db: sqlite_utils.Database, key: str) -> str | None:
    row = db.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
    return row[0] if row else None


def set_meta(db: sqlite_utils.Database, key: str, value: str) -> None:
    db.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [key, value],
    )


def backup(db: sqlite_utils.Database, path: str) -> None:
    """A consistent copy of the live database (SQLite's online backup), safe while others write."""
    target = sqlite3.connect(path)
    try:
        db.conn.backup(target, pages=4096)
    finally:
        target.close()
