"""Leads for the entrypoints: the lead list and matrix reads, and editing one lead (lifecycle,
owner, qualification) the same way for the API, the lead page and any other caller."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

import sqlite_utils

from grading.core.model import Config
from grading.core.qualification import ticks_from_form

from ..store import grades as grade_store
from ..store import leads as lead_store
from ..store import queries
from ..store.leads import find_lead
from .ingest import ImportResult, import_records
from .qualification import person_changes

LeadFilter = queries.LeadFilter


class LeadNotFound(LookupError):
    pass


def edit_lead(
    db: sqlite_utils.Database,
    config_of: Callable[[], Config],
    lead_id: str,
    changes: Mapping[str, Any],
    *,
    actor: str,
    exactly_ticked: Collection[str] | None = None,
    source: str = "input",
    position: str = "0",
) -> ImportResult:
    """Change one lead's person attributes (`lifecycle`, `owner`, `qualification` ticks as
    {criterion id: bool}) and re-grade it; the import audits what really changed, naming `actor`.

    `exactly_ticked`: the criteria a checkbox form left ticked, every other one unticked.
    `config_of` gives the model when asked: it is asked again under the write lock, so a reload
    that intervenes is never graded with the old model. Raises LeadNotFound, QualificationError
    (an unknown criterion, a tick that is no boolean) or ingest.ImportFailed."""
    lead = find_lead(db, lead_id)
    if lead is None:
        raise LeadNotFound(lead_id)
    config = config_of()
    if exactly_ticked is not None:
        changes = {
            **changes,
            "qualification": ticks_from_form(exactly_ticked, config.qualification),
        }
    person = person_changes(db, config, lead, changes)
    return import_records(
        db,
        config_of,
        "leads",
        [(position, {"id": lead_id, "person": person})],
        source=source,
        actor=actor,
    )


def lead_filter(
    model: str,
    category: str,
    params: dict[str, Any],
    routes: Sequence[tuple[str, str | None, str | None]] = (),
) -> LeadFilter:
    """The filter of a lead list from its parameters (list_args.LeadListArgs)."""
    return LeadFilter.from_params(model, category, params, routes)


def list_page(
    db: sqlite_utils.Database, chosen: LeadFilter, params: dict[str, Any]
) -> tuple[list[dict[str, Any]], int]:
    """The page of the list its parameters ask for, with the list's total."""
    return queries.list_page(db, chosen, params)


def route_page(
    db: sqlite_utils.Database,
    model: str,
    category: str,
    route: tuple[str, str | None, str | None],
    page: int,
    per_page: int,
) -> tuple[list[dict[str, Any]], int]:
    """One page of the leads on a route (destination, queue, campaign), hot cells first."""
    chosen = LeadFilter(model=model, category=category, routes=[route])
    rows, total = queries.list_leads(
        db, chosen, descending=True, limit=per_page, offset=(page - 1) * per_page
    )
    assert total is not None  # list_leads counts unless told not to (with_total)
    return rows, total


def owners(db: sqlite_utils.Database) -> list[str]:
    return lead_store.owners(db)


def cell_stats(db: sqlite_utils.Database, model: str, category: str = "") -> dict[str, dict]:
    """Per cell of the matrix: leads, won, lost, conversion."""
    return grade_store.cell_stats(db, model, category)
