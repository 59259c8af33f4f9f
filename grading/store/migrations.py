"""The schema migrations: MIGRATIONS, one SQL script per schema version (PRAGMA user_version),
oldest first. db.migrate runs the ones a database has not had yet, each in one transaction; a
shipped script is never edited, a change to the schema is a new entry at the end."""

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
    """
    -- incremental sweeps (store/sweeps.py): the leads whose grades may no longer be what their
    -- facts give, kept by triggers on every write a grade reads (the lead, its company, its
    -- events), so a re-grade of everyone grades these and the leads time can change, not all.
    -- gen counts the marks: a grader clears only the mark it read, never one made meanwhile (an
    -- event only makes sure of the mark, a cheap insert for millions of rows: a grader that read
    -- outside the write lock keeps the marks of leads with events stored since, sweeps.py).
    CREATE TABLE grade_dirty (lead_id INTEGER PRIMARY KEY, gen INTEGER NOT NULL DEFAULT 0);
    ALTER TABLE runs ADD COLUMN kept INTEGER;  -- of the leads, those the sweep did not read
    CREATE TRIGGER grade_dirty_lead_insert AFTER INSERT ON leads BEGIN
        INSERT INTO grade_dirty (lead_id) VALUES (NEW.id)
            ON CONFLICT (lead_id) DO UPDATE SET gen = gen + 1;
    END;
    CREATE TRIGGER grade_dirty_lead_update AFTER UPDATE OF attrs, company_id ON leads
    WHEN NEW.attrs IS NOT OLD.attrs OR NEW.company_id IS NOT OLD.company_id
    BEGIN
        INSERT INTO grade_dirty (lead_id) VALUES (NEW.id)
            ON CONFLICT (lead_id) DO UPDATE SET gen = gen + 1;
    END;
    CREATE TRIGGER grade_dirty_lead_delete AFTER DELETE ON leads BEGIN
        DELETE FROM grade_dirty WHERE lead_id = OLD.id;
    END;
    CREATE TRIGGER grade_dirty_company_update AFTER UPDATE OF attrs ON companies
    WHEN NEW.attrs IS NOT OLD.attrs
    BEGIN
        INSERT INTO grade_dirty (lead_id) SELECT id FROM leads WHERE company_id = NEW.id
            ON CONFLICT (lead_id) DO UPDATE SET gen = gen + 1;
    END;
    CREATE TRIGGER grade_dirty_event_insert AFTER INSERT ON events BEGIN
        INSERT OR IGNORE INTO grade_dirty (lead_id) VALUES (NEW.lead_id);
    END;
    CREATE TRIGGER grade_dirty_event_delete AFTER DELETE ON events BEGIN
        INSERT INTO grade_dirty (lead_id) SELECT OLD.lead_id WHERE EXISTS
            (SELECT 1 FROM leads WHERE id = OLD.lead_id)
            ON CONFLICT (lead_id) DO UPDATE SET gen = gen + 1;
        -- a deleted event's id may be given to the next one: sweeps.event_watermark sees it
        INSERT INTO meta (key, value) VALUES ('event_deletions', 1)
            ON CONFLICT (key) DO UPDATE SET value = value + 1;
    END;
    CREATE TRIGGER grade_dirty_event_update AFTER UPDATE OF lead_id, at, class_id ON events
    WHEN NEW.lead_id IS NOT OLD.lead_id OR NEW.at IS NOT OLD.at OR NEW.class_id IS NOT OLD.class_id
    BEGIN
        INSERT INTO grade_dirty (lead_id) VALUES (NEW.lead_id)
            ON CONFLICT (lead_id) DO UPDATE SET gen = gen + 1;
        INSERT INTO grade_dirty (lead_id) SELECT OLD.lead_id WHERE OLD.lead_id IS NOT NEW.lead_id
            ON CONFLICT (lead_id) DO UPDATE SET gen = gen + 1;
    END;
    """,
]
