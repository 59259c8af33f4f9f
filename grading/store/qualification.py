"""The `qualified` column of leads: every criterion of the model file ticked in person.qualification.

The database keeps it for the lead-list filter (an indexed column, not JSON read per row).
Triggers of migration 7 set it whenever a lead's attributes are written, however they are
written (import, API, web form), against the criteria kept in meta; `sync_criteria` brings that
list in line with the active model file and re-derives the column once when it changed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson
import sqlite_utils

from grading.core.qualification import DEFAULT_CRITERIA, Criterion, ticked

from .db import get_meta, set_meta, transaction

CRITERIA_KEY = "qualification.criteria"
DEFAULT_IDS = orjson.dumps([c.id for c in DEFAULT_CRITERIA]).decode()  # as migration 7 assumes

# the test of the triggers of migration 7 over the row's own attrs, for every lead at once;
# only rows whose value changes are written
REDERIVE_SQL = """
UPDATE leads SET qualified = NOT EXISTS (
    SELECT 1 FROM json_each(?1) c WHERE c.value NOT IN
    (SELECT lower(trim(t.value)) FROM json_each(leads.attrs, '$.qualification') t))
WHERE qualified IS NOT (NOT EXISTS (
    SELECT 1 FROM json_each(?1) c WHERE c.value NOT IN
    (SELECT lower(trim(t.value)) FROM json_each(leads.attrs, '$.qualification') t)))
"""


def criteria_json(criteria: Iterable[Criterion]) -> str:
    return orjson.dumps([c.id for c in criteria]).decode()


def sync_criteria(db: sqlite_utils.Database, criteria: Iterable[Criterion]) -> bool:
    """Keep the model file's criteria in meta; when they changed, re-derive `qualified` for
    every lead (one pass, only rows whose value changes are written). Returns whether it did."""
    wanted = criteria_json(criteria)
    if (get_meta(db, CRITERIA_KEY) or DEFAULT_IDS) == wanted:
        return False
    with transaction(db):
        set_meta(db, CRITERIA_KEY, wanted)
        db.execute(REDERIVE_SQL, [wanted])
    return True


def ticks_by_lead(db: sqlite_utils.Database, ext_ids: Iterable[str]) -> dict[str, list[str]]:
    """person.qualification of each lead (by external id), for exports; absent leads have []."""
    ids = list(dict.fromkeys(ext_ids))
    out: dict[str, list[str]] = {}
    for start in range(0, len(ids), 500):
        part = ids[start : start + 500]
        for ext_id, raw in db.execute(
            "SELECT ext_id, json_extract(attrs, '$.qualification') FROM leads"
            " WHERE ext_id IN (SELECT value FROM json_each(?))",
            [orjson.dumps(part).decode()],
        ):
            out[ext_id] = ticked({"qualification": _loads(raw)})
    return out


def _loads(raw: Any) -> Any:
    """json_extract gives a list as JSON text and a lone string as itself."""
    if isinstance(raw, str) and raw.startswith("["):
        return orjson.loads(raw)
    return raw
