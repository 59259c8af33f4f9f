"""The files of grades people take away: the one CSV writer of every export (CsvWriter, cells
made spreadsheet-safe), JSONL and CSV tables, the cells of a grade row and of a lead-list row, the
lead list as a streamed CSV download, and the text forms of a route, an explanation and progress
that those cells (and the terminal report of reports.py) use."""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any

import orjson

from grading.core.qualification import Criterion, is_qualified, ticked
from grading.core.times import display_text

from ..store import queries
from ..store.db import connect

EXPORT_COLUMNS = (
    "lead",
    "model",
    "category",
    "fit_score",
    "fit",
    "activity_score",
    "activity",
    "grade",
    "route",
    "explanation",
    "qualified",  # every qualification criterion ticked (kept apart from the grade)
    "qualification",  # the ticked criteria
    "progress",  # threshold rules with matching events short of their min_count (no points)
)


# What a spreadsheet reads as the start of a formula (OWASP's CSV injection rule). Full-width
# and other compatibility forms (＝, ＋, ﹣, ＠ …) count too: their NFKC form is one of these.
FORMULA_STARTS = frozenset("=+-@")
FORMULA_CONTROLS = ("\t", "\r")  # a cell led by these is read as a formula by some spreadsheets


def spreadsheet_cell(value: Any) -> Any:
    """A CSV cell no spreadsheet runs as a formula: text that starts with = + - @ (or a full-width
    form of them), also after leading whitespace a spreadsheet skips, or with a tab or carriage
    return, gets a leading ' so it is shown as the text it is. Numbers (int, float, Decimal) are
    left alone: -40 is a number, not a formula, while the text "+49 30 1234" or "-1+2" is quoted."""
    if not isinstance(value, str):
        return value
    if value.startswith(FORMULA_CONTROLS):
        return "'" + value
    first = value.lstrip()[:1]
    if first and unicodedata.normalize("NFKC", first)[:1] in FORMULA_STARTS:
        return "'" + value
    return value


class CsvWriter:
    """The one CSV writer of every export (grades, accounts, the lead list): csv.writer with
    each cell made spreadsheet-safe (spreadsheet_cell)."""

    def __init__(self, out):
        self._writer = csv.writer(out)

    def writerow(self, row: Iterable[Any]) -> None:
        self._writer.writerow([spreadsheet_cell(value) for value in row])


def two_decimals(score: float) -> Decimal:
    """A score for CSV as a number with two decimals ("-40.00"): a number, so left as it is."""
    return Decimal(f"{score:.2f}")


def write_jsonl(
    rows: Iterable[dict[str, Any]], out, columns: Sequence[str] = EXPORT_COLUMNS
) -> int:
    """One JSON object per line with the given keys of each row; returns the rows written."""
    count = 0
    for row in rows:
        out.write(orjson.dumps({k: row[k] for k in columns}).decode() + "\n")
        count += 1
    return count


def write_table(out, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """CSV: the header, then the rows (spreadsheet-safe); returns the rows written."""
    writer = CsvWriter(out)
    writer.writerow(header)
    count = 0
    for row in rows:
        writer.writerow(row)
        count += 1
    return count


def text_flag(value: bool) -> str:
    return "true" if value else "false"


def grade_cells(row: dict[str, Any]) -> list[Any]:
    """A grade row of the export as CSV cells (EXPORT_COLUMNS)."""
    return [
        row["lead"],
        row["model"],
        row["category"] or "",
        two_decimals(row["fit_score"]),
        row["fit"],
        two_decimals(row["activity_score"]),
        row["activity"],
        row["grade"],
        route_text(row["route"]),
        explanation_text(row["explanation"]),
        text_flag(row["qualified"]),
        ";".join(row["qualification"]),
        progress_text(row["progress"]),
    ]


def write_csv(rows: Iterable[dict[str, Any]], out) -> int:
    return write_table(out, EXPORT_COLUMNS, map(grade_cells, rows))


LEAD_LIST_COLUMNS = (
    "id",
    "name",
    "email",
    "company",
    "domain",
    "lifecycle",
    "owner",
    "model",
    "category",
    "grade",
    "fit",
    "fit_score",
    "activity",
    "activity_score",
    "route",
    "last_activity",
    "qualified",
    "qualification",
)
LEAD_LIST_PAGE = 5000  # rows read (and sent) at a time


def lead_list_cells(row: dict[str, Any], criteria: Sequence[Criterion]) -> list[Any]:
    """A row of the lead list (store.queries.lead_row) as CSV cells (LEAD_LIST_COLUMNS)."""
    person, company, last = row["person"], row["company"], row["last_event_at"]
    return [
        row["id"],
        row["name"] or "",
        person.get("email", ""),
        company.get("name", ""),
        company.get("domain", ""),
        row["lifecycle"],
        row["owner"] or "",
        row["model"],
        row["category"] or "",
        row["grade"],
        row["fit"],
        two_decimals(row["fit_score"]),
        row["activity"],
        two_decimals(row["activity_score"]),
        route_text(row["route"]),
        display_text(last) if last else "",
        text_flag(is_qualified(person, criteria)),
        ";".join(ticked(person)),
    ]


def lead_list_csv(
    path: str,
    lead_filter: queries.LeadFilter,
    *,
    sort: str,
    descending: bool,
    criteria: Sequence[Criterion],
) -> Iterator[str]:
    """The lead list as CSV text, a page of rows at a time, for a streamed download: read on a
    connection of its own, since the request's is closed before the body ends."""
    db = connect(path)
    try:
        out = io.StringIO()
        writer = CsvWriter(out)
        writer.writerow(LEAD_LIST_COLUMNS)
        offset = 0
        while True:
            rows, _ = queries.list_leads(
                db,
                lead_filter,
                sort=sort,
                descending=descending,
                limit=LEAD_LIST_PAGE,
                offset=offset,
                with_total=False,
            )
            for row in rows:
                writer.writerow(lead_list_cells(row, criteria))
            yield out.getvalue()
            out.seek(0)
            out.truncate()
            if len(rows) < LEAD_LIST_PAGE:
                return
            offset += LEAD_LIST_PAGE
    finally:
        db.conn.close()


def route_text(route: dict | None) -> str:
    if not route:
        return ""
    extra = route.get("queue") or route.get("campaign")
    return f"{route['to']}/{extra}" if extra else route["to"]


def events_text(count: int) -> str:
    return f"{count} event" if count == 1 else f"{count} events"


def explanation_text(explanation: list[dict]) -> str:
    parts = []
    for item in explanation:
        text = f"{item['rule']} {item['points']:+g}"
        if "events" in item:
            text += f" ({events_text(item['events'])})"
        parts.append(text)
    return "; ".join(parts)


def progress_text(progress: list[dict]) -> str:
    return "; ".join(f"{item['rule']} {item['events']} of {item['min_count']}" for item in progress)
