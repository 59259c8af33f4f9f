"""Ticking qualification criteria on a lead (API PATCH and the lead page's form), and making the
database's `qualified` column follow the active model file before it is filtered on."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlite_utils

from grading.core.model import Config
from grading.core.qualification import ATTRIBUTE, apply_ticks

from ..store.qualification import sync_criteria


def person_changes(
    db: sqlite_utils.Database, config: Config, lead: Mapping[str, Any], changes: Mapping[str, Any]
) -> dict[str, Any]:
    """A lead update's changes as person attributes: `qualification` ticks ({id: bool}) become
    the new person.qualification list (None removes it). Raises QualificationError naming each
    unknown criterion or non-boolean tick."""
    out = dict(changes)
    if ATTRIBUTE in out:
        out[ATTRIBUTE] = apply_ticks(lead["person"], out[ATTRIBUTE], config.qualification)
        sync_criteria(db, config.qualification)  # the trigger then judges by these criteria
    return out


def ready_to_filter(db: sqlite_utils.Database, config: Config) -> None:
    """Before the lead list filters on `qualified`: the column must follow this model file."""
    sync_criteria(db, config.qualification)
