"""Calibration (SPEC section 5): each lead with an outcome, as it was at the outcome's time.

A lead and its company are overwritten on update, so their earlier states are read back from
`lead_changes` / `company_changes`: the state at time T is the `before` of the earliest change
after T, else the current row. Events are read up to T only. The core does the statistics.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import sqlite_utils

from grading.core.calibration import Case, as_dict, calibrate
from grading.core.model import Config, Model
from grading.core.scoring import Event, window_start
from grading.core.times import from_epoch
from grading.store.db import read_only

FETCH = 1000


class UnknownModel(ValueError):
    def __init__(self, name: str, known: list[str]):
        self.name = name
        super().__init__(f"unknown model '{name}' (models: {', '.join(known)})")


def model_of(config: Config, name: str | None) -> Model:
    if not name:
        return config.models[0]
    model = config.model(name)
    if model is None:
        raise UnknownModel(name, [m.name for m in config.models])
    return model


def calibration(db: sqlite_utils.Database, config: Config, model: str | None = None) -> dict:
    """The calibration of one model (default: the first) as plain data (see core.calibration)."""
    chosen = model_of(config, model)
    with read_only(db):
        result = calibrate(chosen, cases(db, chosen))
    data = as_dict(result)
    data["label"] = chosen.label
    return data


def cases(db: sqlite_utils.Database, model: Model) -> Iterator[Case]:
    """Every lead with an outcome (its latest), as known at the outcome's time."""
    days = model.activity.longest_window
    reader = db.conn.cursor()
    reader.execute(
        "SELECT l.id, l.ext_id, l.outcome, l.outcome_at, l.company_id, l.attrs,"
        " (SELECT c.before FROM lead_changes c WHERE c.lead_id = l.id AND c.at > l.outcome_at"
        "  ORDER BY c.at, c.id LIMIT 1)"
        " FROM leads l WHERE l.outcome IS NOT NULL ORDER BY l.id"
    )
    while rows := reader.fetchmany(FETCH):
        for lead_id, ext_id, outcome, at, company_id, attrs, changed in rows:
            if changed is not None:
                before = orjson.loads(changed)
                person, company_id = before["attrs"], before["company_id"]
            else:
                person = orjson.loads(attrs)
            yield Case(
                lead=ext_id,
                person=person,
                company=_company_as_of(db, company_id, at),
                events=_events_until(db, lead_id, at, days),
                won=outcome == "won",
                at=from_epoch(at),
            )


def _company_as_of(db: sqlite_utils.Database, company_id: int | None, at: int) -> dict[str, Any]:
    if company_id is None:
        return {}
    row = db.execute(
        "SELECT before FROM company_changes WHERE company_id = ? AND at > ? ORDER BY at, id LIMIT 1",
        [company_id, at],
    ).fetchone()
    if row is not None:
        return orjson.loads(row[0])["attrs"]
    row = db.execute("SELECT attrs FROM companies WHERE id = ?", [company_id]).fetchone()
    return orjson.loads(row[0]) if row else {}


def _events_until(db: sqlite_utils.Database, lead_id: int, at: int, days: int) -> list[Event]:
    """The lead's events any rule can count as of `at` (the window's first day up to `at`)."""
    cutoff = window_start(at, days)
    rows = db.execute(
        "SELECT type, at, props FROM events WHERE lead_id = ? AND at >= ? AND at <= ?",
        [lead_id, cutoff, at],
    )
    return [Event(kind, from_epoch(when), orjson.loads(props)) for kind, when, props in rows]
