"""Leads and their shared companies: writing them (with their earlier states) and finding them.
What a re-grade reads of them is in lead_facts.py, outcomes in outcomes.py."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, cast

import orjson
import sqlite_utils

from grading.core.records import LeadInput
from grading.core.times import epoch

from . import audit

DEFAULT_LIFECYCLE = "lead"
ROUTING_ACTOR = "routing"  # who the audit log names for a hand-over's lifecycle lead -> mql
AUDIT_BATCH = 5000  # audit entries kept before they are written (in the writer's transaction)

# Rows as they were before a change (lead_changes / company_changes): calibration reads a lead
# as of its outcome's time, and leads and companies are otherwise overwritten.
LEAD_CHANGE_SQL = (
    "INSERT INTO lead_changes (lead_id, at, before) SELECT id, ?, json_object('company_id',"
    " company_id, 'attrs', json(attrs), 'lifecycle', lifecycle, 'owner', owner, 'name', name,"
    " 'handed_over_at', handed_over_at, 'updated_at', updated_at) FROM leads WHERE id = ?"
)
COMPANY_CHANGE_SQL = (
    "INSERT INTO company_changes (company_id, at, before) SELECT id, ?, json_object('domain',"
    " domain, 'name_key', name_key, 'attrs', json(attrs), 'updated_at', updated_at)"
    " FROM companies WHERE id = ?"
)


def _merge(current: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    merged = dict(current)
    for key, value in changes.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def _domain(attrs: dict[str, Any]) -> str | None:
    value = attrs.get("domain")
    return value.strip().lower() or None if isinstance(value, str) else None


def _name_key(attrs: dict[str, Any]) -> str | None:
    value = attrs.get("name")
    return " ".join(value.split()).lower() or None if isinstance(value, str) else None


CACHE_LIMIT = 50_000  # rows a lead writer keeps at most of each kind (a file of millions)


def _bounded(*caches: dict) -> None:
    """Forget what a writer remembers once it holds too much: the database has it all (in the
    writer's transaction), remembering only saves reading it again."""
    for cache in caches:
        if len(cache) > CACHE_LIMIT:
            cache.clear()


class LeadWriter:
    """Upserts leads and companies inside the caller's transaction.

    Every write of a lead passes here (import, API, batch, PATCH, the web form), so here is
    where a change of an existing lead's lifecycle, owner or qualification is audited, naming
    `actor`; the entries are written in bulk (call flush() once done). A new lead is not an
    audit entry: nobody's lead changed."""

    def __init__(self, db: sqlite_utils.Database, now: str, actor: str):
        self.db = db
        self.now = now
        self.actor = actor
        self.changed_at = epoch(datetime.now(UTC))  # exact, for lead_changes / company_changes
        self.touched_companies: set[int] = set()
        self.audit_entries: list[tuple[str, dict[str, Any]]] = []
        # what this writer read or wrote (all in the caller's transaction, so nobody else
        # changes them meanwhile): a file's leads share companies, and a block of leads is
        # looked up in one query
        self.leads: dict[str, tuple[int, int | None, str] | None] = {}  # ext id -> row or none
        self.company_attrs: dict[int, dict[str, Any]] = {}
        self.company_by_domain: dict[str, int | None] = {}

    def prefetch(self, ext_ids: Iterable[str]) -> None:
        """Look the stored rows of these leads up in one query (a block of an import)."""
        _bounded(self.leads, self.company_attrs, self.company_by_domain)
        wanted = [i for i in set(ext_ids) if i not in self.leads]
        if not wanted:
            return
        rows = self.db.execute(
            "SELECT ext_id, id, company_id, attrs FROM leads"
            " WHERE ext_id IN (SELECT value FROM json_each(?))",
            [orjson.dumps(wanted).decode()],
        )
        found = {
            ext_id: (lead_id, company_id, attrs) for ext_id, lead_id, company_id, attrs in rows
        }
        for ext_id in wanted:
            self.leads[ext_id] = found.get(ext_id)

    def _lead_row(self, ext_id: str) -> tuple[int, int | None, str] | None:
        if ext_id not in self.leads:
            self.leads[ext_id] = self.db.execute(
                "SELECT id, company_id, attrs FROM leads WHERE ext_id = ?", [ext_id]
            ).fetchone()
        return self.leads[ext_id]

    def _company_attrs(self, company_id: int) -> dict[str, Any]:
        if company_id not in self.company_attrs:
            (raw,) = self.db.execute(
                "SELECT attrs FROM companies WHERE id = ?", [company_id]
            ).fetchone()
            self.company_attrs[company_id] = orjson.loads(raw)
        return self.company_attrs[company_id]

    def _company_written(
        self, company_id: int, before: dict[str, Any] | None, attrs: dict[str, Any]
    ) -> None:
        if before is not None and _domain(before) != _domain(attrs):
            self.company_by_domain.pop(_domain(before) or "", None)  # (an id may take it)
        self.company_attrs[company_id] = attrs
        if _domain(attrs):
            self.company_by_domain[_domain(attrs) or ""] = company_id

    def flush(self) -> None:
        """Write the audit entries kept so far."""
        if self.audit_entries:
            audit.record_many(self.db, self.actor, "lead.update", self.audit_entries)
            self.audit_entries.clear()

    def _find_company(self, changes: dict[str, Any], current_id: int | None) -> int | None:
        domain = _domain(changes)
        if domain:
            if domain not in self.company_by_domain:
                row = self.db.execute(
                    "SELECT id FROM companies WHERE domain = ?", [domain]
                ).fetchone()
                self.company_by_domain[domain] = row[0] if row else None
            return self.company_by_domain[domain]
        name = _name_key(changes)
        if name:
            row = self.db.execute(
                "SELECT id FROM companies WHERE name_key = ? ORDER BY domain IS NOT NULL, id LIMIT 1",
                [name],
            ).fetchone()
            return row[0] if row else None
        return current_id

    def _upsert_company(self, changes: dict[str, Any], current_id: int | None) -> int | None:
        company_id = self._find_company(changes, current_id)
        if company_id is None:
            if not any(v is not None for v in changes.values()):
                return current_id
            attrs = _merge({}, changes)
            cursor = self.db.execute(
                "INSERT INTO companies (domain, name_key, attrs, updated_at) VALUES (?, ?, ?, ?)",
                [_domain(attrs), _name_key(attrs), orjson.dumps(attrs).decode(), self.now],
            )
            company_id = cast(int, cursor.lastrowid)
            self._company_written(company_id, None, attrs)
        elif changes:
            current = self._company_attrs(company_id)
            attrs = _merge(current, changes)
            if attrs != current:
                self.db.execute(COMPANY_CHANGE_SQL, [self.changed_at, company_id])
                self.db.execute(
                    "UPDATE companies SET domain = ?, name_key = ?, attrs = ?, updated_at = ? WHERE id = ?",
                    [
                        _domain(attrs),
                        _name_key(attrs),
                        orjson.dumps(attrs).decode(),
                        self.now,
                        company_id,
                    ],
                )
                self._company_written(company_id, current, attrs)
                self.touched_companies.add(company_id)
        return company_id

    def upsert(self, lead: LeadInput) -> tuple[int, bool]:
        """Store one lead; returns (lead id, whether anything changed)."""
        row = self._lead_row(lead.id)
        current_company = row[1] if row else None
        company_id = self._upsert_company(lead.company, current_company)
        if row is None:
            attrs = _merge({"lifecycle": DEFAULT_LIFECYCLE}, lead.person)
            attrs.setdefault("lifecycle", DEFAULT_LIFECYCLE)
            text = orjson.dumps(attrs).decode()
            cursor = self.db.execute(
                "INSERT INTO leads (ext_id, company_id, attrs, lifecycle, owner, name, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    lead.id,
                    company_id,
                    text,
                    attrs["lifecycle"],
                    _owner(attrs),
                    display_name(attrs),
                    self.now,
                    self.now,
                ],
            )
            # set by the INSERT just run; cast, not assert: ingest calls this once a lead
            new_id = cast(int, cursor.lastrowid)
            self.leads[lead.id] = (new_id, company_id, text)
            return new_id, True
        lead_id, _, raw = row
        current = orjson.loads(raw)
        attrs = _merge(current, lead.person)
        attrs.setdefault("lifecycle", DEFAULT_LIFECYCLE)
        if attrs == current and company_id == current_company:
            return lead_id, company_id in self.touched_companies
        detail = audit.lead_update(current, attrs)
        if detail:
            self.audit_entries.append((lead.id, detail))
            if len(self.audit_entries) >= AUDIT_BATCH:
                self.flush()
        self.db.execute(LEAD_CHANGE_SQL, [self.changed_at, lead_id])
        text = orjson.dumps(attrs).decode()
        self.db.execute(
            "UPDATE leads SET company_id = ?, attrs = ?, lifecycle = ?, owner = ?, name = ?, updated_at = ?"
            " WHERE id = ?",
            [
                company_id,
                text,
                attrs["lifecycle"],
                _owner(attrs),
                display_name(attrs),
                self.now,
                lead_id,
            ],
        )
        self.leads[lead.id] = (lead_id, company_id, text)
        return lead_id, True


def display_name(person: dict[str, Any]) -> str | None:
    """How people are shown and sorted: name, else first and last name, else e-mail."""
    for key in ("name", "full_name"):
        if isinstance(person.get(key), str) and person[key].strip():
            return person[key].strip()
    parts = [p for k in ("first_name", "last_name") if isinstance(p := person.get(k), str)]
    if any(p.strip() for p in parts):
        return " ".join(p.strip() for p in parts if p.strip())
    email = person.get("email")
    return email.strip() if isinstance(email, str) and email.strip() else None


def _owner(attrs: dict[str, Any]) -> str | None:
    owner = attrs.get("owner")
    return str(owner) if owner is not None else None


def lead_ids_of_companies(db: sqlite_utils.Database, company_ids: Iterable[int]) -> set[int]:
    ids = list(company_ids)
    found: set[int] = set()
    for start in range(0, len(ids), 500):
        part = ids[start : start + 500]
        marks = ",".join("?" * len(part))
        found.update(
            r[0] for r in db.execute(f"SELECT id FROM leads WHERE company_id IN ({marks})", part)
        )
    return found


class LeadIds(dict):
    """External lead id -> internal id, looked up on first use and remembered (None: unknown)."""

    def __init__(self, db: sqlite_utils.Database):
        super().__init__()
        self.db = db

    def prefetch(self, ext_ids: list[str]) -> None:
        """Look many ids up in one query (a batch from the API) instead of one query each."""
        wanted = [i for i in set(ext_ids) if isinstance(i, str) and i not in self]
        if not wanted:
            return
        found = dict(
            self.db.execute(
                "SELECT ext_id, id FROM leads WHERE ext_id IN (SELECT value FROM json_each(?))",
                [orjson.dumps(wanted).decode()],
            )
        )
        for ext_id in wanted:
            self[ext_id] = found.get(ext_id)

    def __missing__(self, ext_id: str) -> int | None:
        self[ext_id] = lead_id_of(self.db, ext_id)
        return self[ext_id]


def find_lead(db: sqlite_utils.Database, ext_id: str) -> dict[str, Any] | None:
    row = db.execute(
        "SELECT l.id, l.ext_id, l.attrs, c.attrs, l.lifecycle, l.owner, l.handed_over_at, l.created_at,"
        " l.updated_at FROM leads l LEFT JOIN companies c ON c.id = l.company_id WHERE l.ext_id = ?",
        [ext_id],
    ).fetchone()
    if row is None:
        return None
    return {
        "internal_id": row[0],
        "id": row[1],
        "person": orjson.loads(row[2]),
        "company": orjson.loads(row[3]) if row[3] else {},
        "lifecycle": row[4],
        "owner": row[5],
        "handed_over_at": row[6],
        "created_at": row[7],
        "updated_at": row[8],
    }


def count_leads(db: sqlite_utils.Database) -> int:
    return db.execute("SELECT count(*) FROM leads").fetchone()[0]


def lead_id_of(db: sqlite_utils.Database, ext_id: str) -> int | None:
    """The internal id of the lead with this external id (None: unknown lead)."""
    row = db.execute("SELECT id FROM leads WHERE ext_id = ?", [ext_id]).fetchone()
    return row[0] if row else None


def ext_ids_of(db: sqlite_utils.Database, lead_ids: Iterable[int]) -> dict[int, str]:
    """The leads' external ids in one query (a JSON array sidesteps the bound-variable limit)."""
    return dict(
        db.execute(
            "SELECT id, ext_id FROM leads WHERE id IN (SELECT value FROM json_each(?))",
            [orjson.dumps(sorted(lead_ids)).decode()],
        ).fetchall()
    )


def owners(db: sqlite_utils.Database) -> list[str]:
    """Every owner some lead has, in order (the lead list's filter)."""
    rows = db.execute("SELECT DISTINCT owner FROM leads WHERE owner IS NOT NULL ORDER BY 1")
    return [row[0] for row in rows]


def hand_over(db: sqlite_utils.Database, lead_ids: list[int], at: str) -> None:
    """First sales route: keep the time and move lifecycle lead -> mql (audited as routing)."""
    if not lead_ids:
        return
    moved = [
        row[0]
        for row in db.execute(
            "SELECT ext_id FROM leads WHERE id IN (SELECT value FROM json_each(?))"
            " AND handed_over_at IS NULL AND lifecycle = 'lead'",
            [orjson.dumps(lead_ids).decode()],
        )
    ]
    # the row changes now, whatever time the grading is as of: lead_changes keeps real time, so a
    # hand-over caused by an update sorts after that update (and after any earlier outcome)
    changed_at = epoch(datetime.now(UTC))
    db.conn.executemany(
        LEAD_CHANGE_SQL + " AND handed_over_at IS NULL",
        [(changed_at, lead_id) for lead_id in lead_ids],
    )
    db.conn.executemany(
        "UPDATE leads SET handed_over_at = ?, lifecycle = CASE lifecycle WHEN 'lead' THEN 'mql' ELSE lifecycle END,"
        " attrs = CASE lifecycle WHEN 'lead' THEN json_set(attrs, '$.lifecycle', 'mql') ELSE attrs END"
        " WHERE id = ? AND handed_over_at IS NULL",
        [(at, lead_id) for lead_id in lead_ids],
    )
    audit.record_many(
        db,
        ROUTING_ACTOR,
        "lead.update",
        [(ext_id, {"lifecycle": ["lead", "mql"]}) for ext_id in moved],
    )
