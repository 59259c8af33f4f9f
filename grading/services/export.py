"""Grades for people: explanations with labels, exports, and one lead's breakdown."""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from itertools import islice
from typing import Any

import orjson
import sqlite_utils

from grading.core.model import Config, Model, Route
from grading.core.qualification import Criterion, is_qualified, summary, ticked
from grading.core.scoring import route_of
from grading.core.times import display_text

from ..store import grades as grade_store
from ..store import leads as lead_store
from ..store import queries
from ..store.db import connect
from ..store.events import count_events, events_of
from ..store.qualification import ticks_by_lead

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


def _rules(config: Config, model_name: str, category: str | None) -> dict[tuple[str, str], Any]:
    """(kind, rule id) -> the rule of the model file, for labels and min_counts."""
    model = config.model(model_name)
    if model is None:
        return {}
    rules: dict[tuple[str, str], Any] = {("f", r.id): r for r in model.fit_rules}
    block = model.block_of(model.category(category) if category else None)
    rules.update({("a", r.id): r for r in block.rules})
    return rules


def expand_explanation(
    config: Config, model: str, category: str | None, compact: list
) -> tuple[list[dict], list[dict]]:
    """The stored [["f", rule, points], ["a", rule, points, events], ["p", rule, events,
    min_count]] form, with labels: (the rules that contributed, adding up to the scores; the
    threshold rules on their way, with `events` of `min_count`). A threshold rule graded before
    progress was kept apart (an "a" item short of its count, 0 points) counts as progress."""
    rules = _rules(config, model, category)
    contributed, progress = [], []
    for item in compact:
        kind, rule_id = item[0], item[1]
        rule = rules.get(("a" if kind == "p" else kind, rule_id))
        entry: dict[str, Any] = {
            "rule": rule_id,
            "label": rule.label if rule else None,
            "dimension": "fit" if kind == "f" else "activity",
        }
        if kind == "f":
            contributed.append({**entry, "points": item[2]})
            continue
        events, min_count = (item[2], item[3]) if kind == "p" else (item[3], None)
        if min_count is None and rule is not None:
            min_count = rule.min_count
        if min_count is not None:
            entry["min_count"] = min_count
        if min_count is not None and events < min_count:
            progress.append({**entry, "events": events})
        else:
            contributed.append({**entry, "points": item[2], "events": events})
    return contributed, progress


def explain_row(config: Config, row: dict[str, Any]) -> dict[str, Any]:
    """A stored grade row (its model, category and compact explanation) with its `explanation`
    and `progress` expanded (expand_explanation)."""
    row["explanation"], row["progress"] = expand_explanation(
        config, row["model"], row["category"], row["explanation"]
    )
    return row


def grades(
    db: sqlite_utils.Database,
    config: Config,
    *,
    model: str | None = None,
    category: str | None = None,
    cells: Iterable[str] = (),
    lead_id: int | None = None,
) -> Iterator[dict[str, Any]]:
    criteria = [c.id for c in config.qualification]
    rows = grade_store.query_grades(
        db, model=model, category=category, cells=list(cells), lead_id=lead_id
    )
    while chunk := list(islice(rows, 2000)):
        ticks = ticks_by_lead(db, [row["lead"] for row in chunk])
        for row in chunk:
            explain_row(config, row)
            row["qualification"] = ticks.get(row["lead"], [])
            row["qualified"] = all(c in row["qualification"] for c in criteria)
            yield row


def route_counts(db: sqlite_utils.Database, model: Model) -> list[dict[str, Any]]:
    """Members per route of the model's main grade and each category.

    A route follows from the cell, so the members are the kept per-cell counts summed by route:
    no scan of the grades, however many leads there are."""
    out = []
    for category, routing in (
        (None, model.routing),
        *((c.name, c.routing) for c in model.categories),
    ):
        cells = grade_store.cell_stats(db, model.name, category or "")
        members: dict[Route, int] = {}
        for cell, stats in cells.items():
            route = route_of(routing, cell)
            if route is not None and stats["leads"]:
                members[route] = members.get(route, 0) + stats["leads"]
        ranked = sorted(members.items(), key=lambda item: -item[1])
        out += [
            {"model": model.name, "category": category, "route": r.as_dict(), "members": n}
            for r, n in ranked
        ]
    return out


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


def lead_report(
    db: sqlite_utils.Database,
    config: Config,
    ext_id: str,
    model: str | None = None,
    events: int | None = 20,  # None: every event
) -> dict | None:
    """Everything `grading explain` shows about one lead."""
    lead = lead_store.find_lead(db, ext_id)
    if lead is None:
        return None
    lead_id = lead.pop("internal_id")
    lead["name"] = lead_store.display_name(lead["person"])
    lead["qualification"] = summary(lead["person"], config.qualification)
    lead["grades"] = [
        g for g in grades(db, config, lead_id=lead_id) if model is None or g["model"] == model
    ]
    lead["history"] = [
        h for h in grade_store.history_of(db, lead_id) if model is None or h["model"] == model
    ]
    lead["events"] = events_of(db, lead_id, limit=events)
    lead["events_total"] = count_events(db, lead_id)
    return lead


def render_report(report: dict) -> str:
    """A readable breakdown of one lead's grades for the terminal: who, the grades with the rules
    that contributed and the threshold rules on their way, the history and the latest events."""
    out = io.StringIO()
    person, company = report["person"], report["company"]
    name = report.get("name")
    out.write(f"{name}  ({report['id']})\n" if name else f"{report['id']}\n")
    who = " · ".join(
        str(x) for x in (person.get("title"), person.get("email")) if x and str(x) != name
    )
    if who:
        out.write(f"  {who}\n")
    where = " · ".join(str(x) for x in (company.get("name"), company.get("domain")) if x)
    if where:
        out.write(f"Company  {where}\n")
    out.write(f"Lifecycle {report['lifecycle']}  owner {report['owner'] or '-'}")
    if report["handed_over_at"]:
        out.write(f"  handed to sales {report['handed_over_at']}")
    out.write("\n")
    qualification = report["qualification"]
    marks = "  ".join(
        f"[{'x' if c['ticked'] else ' '}] {c['label']}" for c in qualification["criteria"]
    )
    out.write(f"{'Qualified' if qualification['qualified'] else 'Not qualified'}  {marks}\n")
    if not report["grades"]:
        out.write("\nNo grades: the lead is outside every model's audience, or not graded yet.\n")
    for grade in report["grades"]:
        _render_grade(out, grade)
    if report["history"]:
        out.write("\nHistory\n")
        for h in report["history"]:
            scope = h["model"] + (f"/{h['category']}" if h["category"] else "")
            out.write(
                f"  {h['at']}  {scope}: {h['from'] or '—'} → {h['to'] or '—'}  ({h['reason']})\n"
            )
    _render_events(out, report["events"], report["events_total"])
    return out.getvalue()


def _rule_text(item: dict) -> str:
    return f"{item['rule']}  {item['label']}" if item["label"] else item["rule"]


def _render_grade(out: io.StringIO, grade: dict) -> None:
    scope = grade["model"] + (f" / {grade['category']}" if grade["category"] else "")
    out.write(f"\n{scope}: {grade['grade']}   route: {route_text(grade['route']) or 'none'}\n")
    for dimension, score, mark in (
        ("fit", grade["fit_score"], grade["fit"]),
        ("activity", grade["activity_score"], grade["activity"]),
    ):
        out.write(f"  {dimension} {score:g} → {mark}\n")
        items = [i for i in grade["explanation"] if i["dimension"] == dimension]
        for item in items:
            events = f"  ({events_text(item['events'])})" if "events" in item else ""
            out.write(f"    {item['points']:>+8.2f}  {_rule_text(item)}{events}\n")
        if not items:
            out.write("    (no rule applies)\n")
        if dimension == "activity" and grade["progress"]:
            out.write(
                "    not yet earned (threshold rules, no points until the count is reached):\n"
            )
            for item in grade["progress"]:
                count = f"{item['events']} of {item['min_count']}"
                out.write(f"    {count:>8}  {_rule_text(item)}\n")


def _render_events(out: io.StringIO, events: list[dict], total: int) -> None:
    if not total:
        out.write("\nNo events\n")
        return
    if not events:
        out.write(f"\n{events_text(total)} (none shown)\n")
        return
    shown = f"the latest {len(events)} of {total}" if total > len(events) else f"{total}"
    out.write(f"\nEvents ({shown}, newest first)\n")
    for event in events:
        at = display_text(event["at"])
        props = ", ".join(f"{k}: {v}" for k, v in sorted(event["properties"].items()))
        out.write(f"  {at}  {event['type']}{'  ' + props if props else ''}\n")
