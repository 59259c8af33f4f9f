"""Calibration (SPEC section 5): each lead with an outcome, as it was at the outcome's time.

A lead and its company are overwritten on update, so their earlier states are read back from
`lead_changes` / `company_changes`: the state at time T is the `before` of the earliest change
after T, else the current row. Events are read up to T only. The core does the statistics.
"""

from __future__ import annotations

from collections.abc import Iterator

import sqlite_utils

from grading.core.calibration import as_dict, calibrate
from grading.core.calibration_cases import Case
from grading.core.model import Config, Model
from grading.core.scoring import window_start
from grading.core.times import from_epoch
from grading.store import events as event_store
from grading.store import outcomes as outcome_store
from grading.store.db import read_only


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
    for lead in outcome_store.closed_leads(db):
        yield Case(
            lead=lead.ext_id,
            person=lead.person,
            company=outcome_store.company_as_of(db, lead.company_id, lead.at),
            # the events any rule can count as of the outcome (the window's first day up to it)
            events=event_store.lead_events_between(
                db, lead.lead_id, window_start(lead.at, days), lead.at
            ),
            won=lead.outcome == "won",
            at=from_epoch(lead.at),
        )
