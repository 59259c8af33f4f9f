"""Grades as people read them: the stored compact explanation expanded with the model file's
labels (expand_explanation, explain_row), grade rows with their qualification (grades), the members
per route of the matrix (route_counts), and everything `grading explain` shows about one lead
(lead_report) with its terminal rendering (render_report). The files written from them (CSV,
JSONL) are export.py's."""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any

import sqlite_utils

from grading.core.model import Config, Model, Route
from grading.core.qualification import summary
from grading.core.scoring import route_of
from grading.core.times import display_text

from ..store import grades as grade_store
from ..store import leads as lead_store
from ..store.events import count_events, events_of
from ..store.qualification import ticks_by_lead
from .export import events_text, route_text


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
