"""What a re-grade reads of the leads: each lead's facts (its person and company attributes,
hand-over, latest outcome, newest event seen), the span of lead ids a full pass walks in
slices, and the newest event time it notes back for the lead list."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple

import orjson
import sqlite_utils


class LeadFacts(NamedTuple):
    """What grading reads of one lead."""

    lead_id: int
    person: dict[str, Any]
    company: dict[str, Any]
    handed_over_at: str | None
    outcome: str | None  # the latest one
    last_event_at: int | None  # the newest event the grader saw


def iter_lead_facts(
    db: sqlite_utils.Database,
    lead_ids: list[int] | None = None,
    id_range: tuple[int, int] | None = None,
) -> Iterator[LeadFacts]:
    sql = (
        "SELECT l.id, l.attrs, c.attrs, l.handed_over_at, l.outcome, l.last_event_at FROM leads l"
        " LEFT JOIN companies c ON c.id = l.company_id"
    )
    if id_range is not None:
        rows = db.execute(sql + " WHERE l.id >= ? AND l.id < ? ORDER BY l.id", list(id_range))
    else:
        marks = ",".join("?" * len(lead_ids or []))
        rows = db.execute(sql + f" WHERE l.id IN ({marks}) ORDER BY l.id", list(lead_ids or []))
    loads, new = orjson.loads, tuple.__new__  # (a named tuple's constructor is Python code)
    for lead_id, person, company, handed, outcome, last_event in rows:
        yield new(
            LeadFacts,
            (
                lead_id,
                loads(person),
                loads(company) if company else {},
                handed,
                outcome,
                last_event,
            ),
        )


def note_last_events(db: sqlite_utils.Database, newest: Iterable[tuple[int | None, int]]) -> None:
    """(newest event time or None, lead id): what the lead list shows as the last activity."""
    db.conn.executemany("UPDATE leads SET last_event_at = ? WHERE id = ?", newest)


class IdSpan(NamedTuple):
    low: int  # the smallest lead id (0 without leads)
    high: int  # the largest (-1 without leads)
    leads: int


def id_span(db: sqlite_utils.Database) -> IdSpan:
    """The range of lead ids, and how many leads: what a full pass walks in slices."""
    row = db.execute(
        "SELECT coalesce(min(id), 0), coalesce(max(id), -1), count(*) FROM leads"
    ).fetchone()
    return IdSpan(*row)
