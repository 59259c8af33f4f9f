"""Text search (`q` in the lead and account lists) over the FTS5 indexes lead_search and
company_search (migrations.py keeps them with triggers on every lead and company write).

Only values are indexed, never JSON keys: a lead's name (name, full name, first and last name as
typed), e-mail, title, company name and domain, and its id; a company's name and domain. The
tokenizer folds case and accents, and splits on everything but letters and digits, so
`ana@acme.io` is the words ana, acme, io.

Triggers note every lead and company whose indexed values change (lead_search_queue,
company_search_queue); db.transaction() calls reindex_noted before it commits, so the index
always commits with the rows it describes."""

from __future__ import annotations

import sqlite_utils

LEAD_COLUMNS = "rowid, ext_id, name, email, title, company, domain"
COMPANY_COLUMNS = "rowid, name, domain"


def reindex_noted(db: sqlite_utils.Database) -> None:
    """Index again the leads and companies the triggers noted (deleted ones leave the index)."""
    for index, columns in (("lead_search", LEAD_COLUMNS), ("company_search", COMPANY_COLUMNS)):
        queue = f"{index}_queue"
        if db.execute(f"SELECT EXISTS (SELECT 1 FROM {queue})").fetchone()[0]:
            db.execute(f"DELETE FROM {index} WHERE rowid IN (SELECT id FROM {queue})")
            db.execute(
                f"INSERT INTO {index} ({columns}) SELECT r.* FROM {queue} q"
                f" JOIN {index}_rows r ON r.id = q.id"
            )
            db.execute(f"DELETE FROM {queue}")


def purge_erased(db: sqlite_utils.Database) -> None:
    """After an erasure: take the deleted rows out of the index now, and merge every segment
    into one, which drops what the deleted rows had put in older segments (an FTS5 delete only
    adds a tombstone; its 'secure-delete' option needs SQLite 3.42, and 'optimize' leaves no
    tombstoned term in any page). It rewrites the whole index: seconds at a million leads."""
    reindex_noted(db)
    for index in ("lead_search", "company_search"):
        db.execute(f"INSERT INTO {index} ({index}) VALUES ('optimize')")


def match_expression(text: str) -> str | None:
    """An FTS5 query for what a person typed: every word must match (a word is whatever stands
    between spaces, searched as a phrase, so `ana@acme.io` finds that address), the last one as a
    prefix so that typing works ("Liam San" finds Liam Sanchez, `L-0042` also L-00421) unless it
    is a single letter or digit, which would be the start of nearly every lead. Every word is
    quoted, so nothing typed is FTS5 syntax (quotes, `*`, NEAR, AND, `-`, `:`, column names).
    None when no word holds a letter or digit: nothing can match."""
    printable = "".join(ch if ch.isprintable() else " " for ch in text)  # a NUL ends FTS5's text
    words = [word for word in printable.split() if any(ch.isalnum() for ch in word)]
    if not words:
        return None
    phrases = ['"' + word.replace('"', '""') + '"' for word in words]
    if sum(ch.isalnum() for ch in words[-1]) > 1:
        phrases[-1] += "*"
    return " ".join(phrases)


def match_clause(clause: str, text: str) -> tuple[str, list[str]]:
    """The SQL condition (clause holds one `MATCH ?`) and its parameter for a text filter; a
    text with nothing to search for matches no row."""
    expression = match_expression(text)
    return (clause, [expression]) if expression else ("0", [])


def indexed_values(db: sqlite_utils.Database, lead_id: int) -> dict[str, str | None] | None:
    """What the search index holds about one lead (the export shows it)."""
    cursor = db.execute(
        "SELECT ext_id, name, email, title, company, domain FROM lead_search WHERE rowid = ?",
        [lead_id],
    )
    row = cursor.fetchone()
    return dict(zip([d[0] for d in cursor.description], row, strict=True)) if row else None
