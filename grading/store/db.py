"""The SQLite database: connection settings and schema migrations."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import sqlite_utils

from . import search

BUSY_TIMEOUT_S = 30
CACHE_KIB = -262_144  # page cache per connection: 256 MiB (negative: KiB, as SQLite wants)
IMPORT_CACHE_KIB = -1_048_576  # 1 GiB while importing

# Each entry upgrades the schema by one version (PRAGMA user_version); never edit a shipped one.
MIGRATIONS = [
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
    CREATE TABLE companies (
        id INTEGER PRIMARY KEY,
        domain TEXT,               -- lower-cased; shares the company between leads
        name_key TEXT,             -- lower-cased trimmed name, used when there is no domain
        attrs TEXT NOT NULL DEFAULT '{}',
        updated_at TEXT NOT NULL
    );
    CREATE UNIQUE INDEX companies_domain ON companies(domain) WHERE domain IS NOT NULL;
    CREATE INDEX companies_name ON companies(name_key);
    CREATE TABLE leads (
        id INTEGER PRIMARY KEY,
        ext_id TEXT NOT NULL UNIQUE,
        company_id INTEGER REFERENCES companies(id),
        attrs TEXT NOT NULL DEFAULT '{}',
        lifecycle TEXT NOT NULL DEFAULT 'lead',
        owner TEXT,
        handed_over_at TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX leads_company ON leads(company_id);
    CREATE INDEX leads_lifecycle ON leads(lifecycle);
    CREATE INDEX leads_owner ON leads(owner);
    CREATE TABLE event_classes (
        id INTEGER PRIMARY KEY,
        key TEXT NOT NULL UNIQUE   -- JSON [type, value of each property the model file reads]
    );
    CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        ext_id TEXT,
        lead_id INTEGER NOT NULL REFERENCES leads(id),
        type TEXT NOT NULL,
        at INTEGER NOT NULL,        -- microseconds since the epoch, UTC
        props TEXT NOT NULL DEFAULT '{}',
        class_id INTEGER NOT NULL
    );
    CREATE UNIQUE INDEX events_ext ON events(ext_id) WHERE ext_id IS NOT NULL;
    CREATE INDEX events_lead ON events(lead_id, at, class_id);  -- covers what re-grading reads
    CREATE TABLE outcomes (
        id INTEGER PRIMARY KEY,
        lead_id INTEGER NOT NULL REFERENCES leads(id),
        outcome TEXT NOT NULL,
        at INTEGER NOT NULL,
        amount REAL
    );
    CREATE INDEX outcomes_lead ON outcomes(lead_id, at);
    CREATE TABLE grades (
        lead_id INTEGER NOT NULL,
        model TEXT NOT NULL,
        category TEXT NOT NULL DEFAULT '',   -- '' is the model's main grade
        fit_score REAL NOT NULL,
        fit TEXT NOT NULL,
        activity_score REAL NOT NULL,
        activity INTEGER NOT NULL,
        grade TEXT NOT NULL,
        route TEXT,
        explanation TEXT NOT NULL,
        graded_at TEXT NOT NULL,
        PRIMARY KEY (lead_id, model, category)
    ) WITHOUT ROWID;
    CREATE INDEX grades_cell ON grades(model, category, grade);
    CREATE INDEX grades_fit ON grades(model, category, fit, activity DESC);  -- the lead list's grade order
    CREATE TABLE grade_history (
        id INTEGER PRIMARY KEY,
        lead_id INTEGER NOT NULL,
        model TEXT NOT NULL,
        category TEXT,
        from_grade TEXT,
        to_grade TEXT,
        from_route TEXT,
        to_route TEXT,
        at TEXT NOT NULL,
        reason TEXT NOT NULL
    );
    CREATE INDEX history_lead ON grade_history(lead_id, id);
    """,
    """
    CREATE TABLE tokens (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        role TEXT NOT NULL,
        hash TEXT NOT NULL UNIQUE,     -- sha256 of the token: the token itself is never stored
        prefix TEXT NOT NULL,          -- the first characters, to recognise a token in a list
        created_at TEXT NOT NULL,
        last_used_at TEXT,
        revoked_at TEXT
    );
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        trigger TEXT NOT NULL,         -- schedule, manual, model-change, cli
        reason TEXT NOT NULL,          -- the history reason used: regrade or model-change
        started_at TEXT NOT NULL,
        finished_at TEXT,
        leads INTEGER,
        changed INTEGER,
        rows_written INTEGER,
        model_digest TEXT,
        error TEXT
    );
    CREATE TABLE leases (
        name TEXT PRIMARY KEY,
        holder TEXT NOT NULL,
        expires_at REAL NOT NULL       -- epoch seconds; a lease past this is free
    );
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY,
        url TEXT NOT NULL,
        event TEXT NOT NULL,           -- grade.changed or route.changed
        lead_id INTEGER,
        body TEXT NOT NULL,            -- the exact JSON bytes that are signed and sent
        created_at TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at REAL NOT NULL,
        delivered_at TEXT,
        last_error TEXT
    );
    CREATE INDEX outbox_due ON outbox(delivered_at, url, id);
    CREATE TABLE users (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        role TEXT NOT NULL,
        password_hash TEXT NOT NULL,   -- scrypt (werkzeug.security), never the password
        created_at TEXT NOT NULL,
        last_login_at TEXT
    );
    -- what the lead list shows and sorts by: a display name, and the newest event the grader saw
    ALTER TABLE leads ADD COLUMN name TEXT;
    ALTER TABLE leads ADD COLUMN last_event_at INTEGER;
    CREATE INDEX leads_name ON leads(name);
    CREATE INDEX leads_last_event ON leads(last_event_at);
    -- the latest outcome of each lead, kept on the lead so the matrix never scans outcomes
    ALTER TABLE leads ADD COLUMN outcome TEXT;
    ALTER TABLE leads ADD COLUMN outcome_at INTEGER;
    -- per model, category and cell: leads, and of them won and lost (kept with every grade write)
    CREATE TABLE cell_stats (
        model TEXT NOT NULL,
        category TEXT NOT NULL,
        grade TEXT NOT NULL,
        leads INTEGER NOT NULL DEFAULT 0,
        won INTEGER NOT NULL DEFAULT 0,
        lost INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (model, category, grade)
    ) WITHOUT ROWID;
    """,
    """
    -- the lead list: each cell is walked along a score (cells in grade order, or merged by score);
    -- the plain cell index would tempt the planner away from these
    DROP INDEX IF EXISTS grades_cell;
    CREATE INDEX grades_cell_activity ON grades(model, category, grade, activity_score);
    CREATE INDEX grades_cell_fit ON grades(model, category, grade, fit_score);
    """,
    """
    -- who changed what: lifecycle, owner, model files, accounts, erasures (never personal data)
    CREATE TABLE audit_log (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT,
        detail TEXT
    );
    CREATE INDEX audit_log_at ON audit_log(at);
    """,
    """
    -- what a lead or company looked like before each change, so calibration can see a lead as
    -- of its outcome's time: the state at T is the `before` of the earliest change after T
    CREATE TABLE lead_changes (
        id INTEGER PRIMARY KEY,
        lead_id INTEGER NOT NULL,
        at INTEGER NOT NULL,           -- microseconds since the epoch, UTC
        before TEXT NOT NULL           -- JSON: the lead row as it was
    );
    CREATE INDEX lead_changes_lead ON lead_changes(lead_id, at);
    CREATE TABLE company_changes (
        id INTEGER PRIMARY KEY,
        company_id INTEGER NOT NULL,
        at INTEGER NOT NULL,
        before TEXT NOT NULL           -- JSON: the company row as it was
    );
    CREATE INDEX company_changes_company ON company_changes(company_id, at);
    """,
    """
    -- account grades (SPEC section 4, Accounts): one per company and model with an accounts block
    CREATE TABLE account_grades (
        company_id INTEGER NOT NULL,
        model TEXT NOT NULL,
        fit_score REAL NOT NULL,
        activity_score REAL NOT NULL,
        fit TEXT NOT NULL,
        activity INTEGER NOT NULL,
        grade TEXT NOT NULL,
        leads INTEGER NOT NULL,        -- the company's leads in the model's audience
        explanation TEXT NOT NULL,     -- JSON: company fit rules that hit, the activity aggregate
        graded_at TEXT NOT NULL,
        PRIMARY KEY (company_id, model)
    ) WITHOUT ROWID;
    CREATE INDEX account_grades_cell ON account_grades(model, grade, activity_score);
    CREATE INDEX account_grades_fit ON account_grades(model, fit_score);
    CREATE INDEX account_grades_activity ON account_grades(model, activity_score);
    """,
    """
    -- qualification (store/qualification.py): 1 when person.qualification ticks every criterion
    -- kept in meta (BANT until the model file says otherwise); the triggers keep it on every write
    ALTER TABLE leads ADD COLUMN qualified INTEGER NOT NULL DEFAULT 0;
    UPDATE leads SET qualified = NOT EXISTS (
        SELECT 1 FROM json_each('["budget","authority","need","timeline"]') c WHERE c.value NOT IN
        (SELECT lower(trim(t.value)) FROM json_each(leads.attrs, '$.qualification') t))
        WHERE json_type(attrs, '$.qualification') IS NOT NULL;
    CREATE INDEX leads_qualified ON leads(qualified);
    CREATE TRIGGER leads_qualified_insert AFTER INSERT ON leads
    WHEN json_type(NEW.attrs, '$.qualification') IS NOT NULL
    BEGIN
        UPDATE leads SET qualified = NOT EXISTS (
            SELECT 1 FROM json_each(COALESCE(
                (SELECT value FROM meta WHERE key = 'qualification.criteria'),
                '["budget","authority","need","timeline"]')) c
            WHERE c.value NOT IN
            (SELECT lower(trim(t.value)) FROM json_each(NEW.attrs, '$.qualification') t))
        WHERE id = NEW.id;
    END;
    CREATE TRIGGER leads_qualified_update AFTER UPDATE OF attrs ON leads
    WHEN json_type(NEW.attrs, '$.qualification') IS NOT NULL OR NEW.qualified
    BEGIN
        UPDATE leads SET qualified = NOT EXISTS (
            SELECT 1 FROM json_each(COALESCE(
                (SELECT value FROM meta WHERE key = 'qualification.criteria'),
                '["budget","authority","need","timeline"]')) c
            WHERE c.value NOT IN
            (SELECT lower(trim(t.value)) FROM json_each(NEW.attrs, '$.qualification') t))
        WHERE id = NEW.id;
    END;
    """,
    """
    -- companies whose account grades wait for a refresh (services/accounts.py drain): an event
    -- batch only notes them, so its answer does not wait for its companies' accounts
    CREATE TABLE account_queue (company_id INTEGER PRIMARY KEY);
    """,
    """
    -- web sessions (store/sessions.py): the cookie carries a random id, only its hash is kept, so
    -- logout ends one and disabling a user or a new password ends all of theirs on the server
    ALTER TABLE users ADD COLUMN disabled_at TEXT;
    CREATE TABLE sessions (
        id INTEGER PRIMARY KEY,
        hash TEXT NOT NULL UNIQUE,     -- sha256 of the session id: the id itself is never stored
        user_id INTEGER NOT NULL REFERENCES users(id),
        created_at REAL NOT NULL,      -- epoch seconds
        last_seen_at REAL NOT NULL,
        expires_at REAL NOT NULL,      -- the absolute end, however active the session is
        ended_at REAL                  -- logout, disabled user or new password
    );
    CREATE INDEX sessions_user ON sessions(user_id);
    CREATE INDEX sessions_expires ON sessions(expires_at);
    """,
    """
    -- text search (store/search.py): the values a person types, never JSON keys; one row per lead
    -- (rowid = leads.id) and per company (rowid = companies.id), case- and accent-folded
    CREATE VIRTUAL TABLE lead_search USING fts5(
        ext_id, name, email, title, company, domain, tokenize = 'unicode61 remove_diacritics 2'
    );
    CREATE VIRTUAL TABLE company_search USING fts5(
        name, domain, tokenize = 'unicode61 remove_diacritics 2'
    );
    -- what is indexed: text values only (a number or an object under a key is not a name)
    CREATE VIEW lead_search_rows AS SELECT l.id, l.ext_id,
        trim(iif(json_type(l.attrs, '$.name') = 'text', l.attrs ->> '$.name', '') || ' ' ||
            iif(json_type(l.attrs, '$.full_name') = 'text', l.attrs ->> '$.full_name', '') || ' ' ||
            iif(json_type(l.attrs, '$.first_name') = 'text', l.attrs ->> '$.first_name', '') || ' ' ||
            iif(json_type(l.attrs, '$.last_name') = 'text', l.attrs ->> '$.last_name', '')) AS name,
        iif(json_type(l.attrs, '$.email') = 'text', l.attrs ->> '$.email', NULL) AS email,
        iif(json_type(l.attrs, '$.title') = 'text', l.attrs ->> '$.title', NULL) AS title,
        iif(json_type(c.attrs, '$.name') = 'text', c.attrs ->> '$.name', NULL) AS company,
        c.domain AS domain
        FROM leads l LEFT JOIN companies c ON c.id = l.company_id;
    CREATE VIEW company_search_rows AS SELECT id,
        iif(json_type(attrs, '$.name') = 'text', attrs ->> '$.name', NULL) AS name, domain
        FROM companies;
    INSERT INTO lead_search (rowid, ext_id, name, email, title, company, domain)
        SELECT * FROM lead_search_rows;
    INSERT INTO company_search (rowid, name, domain) SELECT * FROM company_search_rows;
    -- the triggers only note what changed; transaction() re-indexes the noted rows in one
    -- statement before it commits (an FTS5 write inside a trigger flushes the index each row:
    -- an import of 100k leads took 2.3 times as long)
    CREATE TABLE lead_search_queue (id INTEGER PRIMARY KEY);
    CREATE TABLE company_search_queue (id INTEGER PRIMARY KEY);
    CREATE TRIGGER leads_search_insert AFTER INSERT ON leads BEGIN
        INSERT OR IGNORE INTO lead_search_queue (id) VALUES (NEW.id);
    END;
    -- only when an indexed value changes (a hand-over rewrites attrs for the lifecycle alone)
    CREATE TRIGGER leads_search_update AFTER UPDATE OF ext_id, attrs, company_id ON leads
    WHEN NEW.ext_id IS NOT OLD.ext_id OR NEW.company_id IS NOT OLD.company_id
        OR NEW.attrs ->> '$.name' IS NOT OLD.attrs ->> '$.name'
        OR NEW.attrs ->> '$.full_name' IS NOT OLD.attrs ->> '$.full_name'
        OR NEW.attrs ->> '$.first_name' IS NOT OLD.attrs ->> '$.first_name'
        OR NEW.attrs ->> '$.last_name' IS NOT OLD.attrs ->> '$.last_name'
        OR NEW.attrs ->> '$.email' IS NOT OLD.attrs ->> '$.email'
        OR NEW.attrs ->> '$.title' IS NOT OLD.attrs ->> '$.title'
    BEGIN
        INSERT OR IGNORE INTO lead_search_queue (id) VALUES (OLD.id);
    END;
    CREATE TRIGGER leads_search_delete AFTER DELETE ON leads BEGIN
        INSERT OR IGNORE INTO lead_search_queue (id) VALUES (OLD.id);
    END;
    CREATE TRIGGER companies_search_insert AFTER INSERT ON companies BEGIN
        INSERT OR IGNORE INTO company_search_queue (id) VALUES (NEW.id);
    END;
    -- companies are shared: a renamed company (or a new domain) is found under its new name
    -- through every one of its leads
    CREATE TRIGGER companies_search_update AFTER UPDATE OF attrs, domain ON companies
    WHEN NEW.domain IS NOT OLD.domain OR NEW.attrs ->> '$.name' IS NOT OLD.attrs ->> '$.name'
    BEGIN
        INSERT OR IGNORE INTO company_search_queue (id) VALUES (OLD.id);
        INSERT OR IGNORE INTO lead_search_queue (id)
            SELECT id FROM leads WHERE company_id = OLD.id;
    END;
    CREATE TRIGGER companies_search_delete AFTER DELETE ON companies BEGIN
        INSERT OR IGNORE INTO company_search_queue (id) VALUES (OLD.id);
    END;
    """,
    """
    -- an erasure deletes the event classes only the person's events had (their keys hold property
    -- values: a URL with an e-mail): AUTOINCREMENT so a class id is never given to another key,
    -- since a running grader keeps what each id it has seen means
    CREATE TABLE event_classes_kept (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        key TEXT NOT NULL UNIQUE   -- JSON [type, value of each property the model file reads]
    );
    INSERT INTO event_classes_kept (id, key) SELECT id, key FROM event_classes;
    DROP TABLE event_classes;
    ALTER TABLE event_classes_kept RENAME TO event_classes;
    """,
]


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
    for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
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
