"""The demo database: generated leads, events and outcomes, graded; and the matrix as text."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

import sqlite_utils

from ..services import ingest
from ..services.model_file.read import LoadedConfig
from ..services.runs import run_regrade
from ..store.grades import matrix
from ..store.leads import count_leads
from .dataset import generate


def _numbered(records: Iterable[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    for number, record in enumerate(records, start=1):
        yield f"item {number}", record


def fill_demo(
    db: sqlite_utils.Database, loaded: LoadedConfig, *, n_leads: int, seed: int = 1
) -> str:
    """Generate six months of data ending now into an empty database and grade it, as a re-grade
    run (trigger `demo`) that the models page and /api/runs list."""
    if count_leads(db):
        raise ValueError("the database already holds leads: the demo fills only an empty database")
    config, now = loaded.config, datetime.now(UTC)
    data = generate(n_leads, seed=seed, end=now)
    counts = {}
    for kind, records in (
        ("leads", data.leads()),
        ("events", data.events()),
        ("outcomes", data.outcomes()),
    ):
        result = ingest.import_records(
            db, config, kind, _numbered(records), source="demo", grade=False
        )
        counts[kind] = result.stored
    run = run_regrade(db, loaded, trigger="demo", as_of=now, reason="regrade", wait_seconds=60)
    return (
        f"demo: {counts['leads']} leads, {counts['events']} events, {counts['outcomes']} outcomes; "
        f"{run['leads']} leads graded into {run['rows_written']} grades (run {run['id']})"
    )


def render_matrix(db: sqlite_utils.Database, model: str, category: str = "") -> str:
    """The 4×4 matrix: fit letters as rows (A on top), activity 1-4 as columns (4 on the right)."""
    counts = matrix(db, model, category)
    title = model + (f" / {category}" if category else "")
    width = max(6, *(len(f"{n:,}") + 1 for n in counts.values()))
    lines = [f"{title}: fit A-D (A best) × activity 1-4 (4 most active)", ""]
    lines.append(
        "     " + "".join(f"{n:>{width}}" for n in (1, 2, 3, 4)) + f"{'total':>{width + 2}}"
    )
    for letter in "ABCD":
        row = [counts[f"{letter}{n}"] for n in (1, 2, 3, 4)]
        lines.append(
            f"  {letter}  " + "".join(f"{c:>{width},}" for c in row) + f"{sum(row):>{width + 2},}"
        )
    totals = [sum(counts[f"{letter}{n}"] for letter in "ABCD") for n in (1, 2, 3, 4)]
    lines.append(
        "total" + "".join(f"{t:>{width},}" for t in totals) + f"{sum(totals):>{width + 2},}"
    )
    return "\n".join(lines)
