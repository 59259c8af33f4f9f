"""The lead list: filters, sorting and paging over current grades (what the API and web view show)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
import sqlite_utils

from grading.core.scoring import shown

from .search import match_clause

# sort name -> (column, ascending?) for `order=asc`, ending in a unique tie-break; `desc` turns
# every column round. asc always means lowest value first: for "grade" the value is how hot the
# cell is (D1 lowest, A4 highest; within a cell, by activity score), for last_activity and
# updated the time (oldest first; a lead that never did anything is the oldest).
SORTS = {
    "grade": (("g.fit", False), ("g.activity", True), ("g.activity_score", True), ("l.id", True)),
    "fit_score": (("g.fit_score", True), ("l.id", True)),
    "activity_score": (("g.activity_score", True), ("l.id", True)),
    "last_activity": (("l.last_event_at", True), ("l.id", True)),
    "name": (("l.name", True), ("l.id", True)),
    "id": (("l.ext_id", True), ("l.id", True)),
    "updated": (("l.updated_at", True), ("l.id", True)),
}


def order_by(sorts: dict, sort: str, descending: bool) -> str:
    """The ORDER BY terms of a sort (SORTS, or the accounts' table) in one direction."""
    return ", ".join(
        f"{column} {'ASC' if ascending != descending else 'DESC'}"
        for column, ascending in sorts[sort]
    )


@dataclass
class LeadFilter:
    model: str
    category: str = ""
    cells: Sequence[str] = ()
    fit: Sequence[str] = ()
    activity: Sequence[int] = ()
    lifecycle: Sequence[str] = ()
    owner: Sequence[str] = ()
    text: str | None = None
    routes: Sequence[tuple[str, str | None, str | None]] = field(default_factory=tuple)
    qualified: bool | None = None  # every qualification criterion ticked (store/qualification.py)

    @classmethod
    def from_params(
        cls, model: str, category: str, params: dict[str, Any], routes=()
    ) -> LeadFilter:
        """From the lead-list parameters the API and the web view share (list_args.LeadListArgs)."""
        return cls(
            model=model,
            category=category,
            cells=params["cell"],
            fit=params["fit"],
            activity=params["activity"],
            lifecycle=params["lifecycle"],
            owner=params["owner"],
            text=params.get("q"),
            routes=routes,
            qualified=params.get("qualified"),
        )

    def where(self) -> tuple[str, list[Any]]:
        clauses = ["g.model = ?", "g.category = ?"]
        params: list[Any] = [self.model, self.category]
        for column, values in (
            ("g.grade", self.cells),
            ("g.fit", self.fit),
            ("g.activity", self.activity),
            ("l.lifecycle", self.lifecycle),
            ("l.owner", self.owner),
        ):
            if values:
                clauses.append(f"{column} IN ({','.join('?' * len(values))})")
                params.extend(values)
        if self.routes:
            parts = []
            for route in self.routes:
                parts.append("g.route = ?")
                params.append(route_json(*route))
            clauses.append("(" + " OR ".join(parts) + ")")
        if self.qualified is not None:
            clauses.append("l.qualified = ?")
            params.append(1 if self.qualified else 0)
        if self.text:  # with SEARCHED as the source
            clause, values = match_clause("s.lead_search MATCH ?", self.text)
            clauses.append(clause)
            params.extend(values)
        return " AND ".join(clauses), params


def route_json(to: str, queue: str | None = None, campaign: str | None = None) -> str:
    route = {"to": to}
    if queue is not None:
        route["queue"] = queue
    if campaign is not None:
        route["campaign"] = campaign
    return orjson.dumps(route).decode()


FROM = "FROM grades g JOIN leads l ON l.id = g.lead_id LEFT JOIN companies c ON c.id = l.company_id"
# a text filter: the search index's matches first, then each one's lead and grade by key
SEARCHED = (
    "FROM lead_search s CROSS JOIN leads l ON l.id = s.rowid CROSS JOIN grades g ON g.lead_id = l.id"
    " LEFT JOIN companies c ON c.id = l.company_id"
)
LEADS_FIRST = "FROM leads l CROSS JOIN grades g ON g.lead_id = l.id LEFT JOIN companies c ON c.id = l.company_id"
COLUMNS = (
    "l.id, l.ext_id, l.attrs, c.attrs, l.lifecycle, l.owner, g.model, g.category, g.fit_score, g.fit,"
    " g.activity_score, g.activity, g.grade, g.route, g.explanation, g.graded_at, l.name, l.last_event_at"
)


HOT_ORDER = tuple(f"{fit}{activity}" for fit in "ABCD" for activity in (4, 3, 2, 1))


def cells_only(lead_filter: LeadFilter) -> list[str] | None:
    """The cells a filter selects, hottest first, when it filters by grade alone (else None)."""
    f = lead_filter
    if f.lifecycle or f.owner or f.text or f.routes or f.qualified is not None:
        return None
    return [
        cell
        for cell in HOT_ORDER
        if (not f.cells or cell in f.cells)
        and (not f.fit or cell[0] in f.fit)
        and (not f.activity or int(cell[1]) in f.activity)
    ]


def list_leads(
    db: sqlite_utils.Database,
    lead_filter: LeadFilter,
    *,
    sort: str = "grade",
    descending: bool,  # required: asc is the coldest, lowest, oldest first
    limit: int = 50,
    offset: int = 0,
    with_total: bool = True,
) -> tuple[list[dict[str, Any]], int | None]:
    cells = cells_only(lead_filter)
    if cells is not None:
        # grade filters only: counts come from the kept per-cell counts, not a count of rows
        from .grades import cell_stats

        stats = cell_stats(db, lead_filter.model, lead_filter.category)
        sizes = {cell: stats[cell]["leads"] for cell in cells}
        total = sum(sizes.values())
        if sort == "grade":
            return _page_by_cell(db, lead_filter, sizes, descending, limit, offset), total
        if sort in ("fit_score", "activity_score"):
            return _merge_cells(db, lead_filter, sizes, sort, descending, limit, offset), total
        if sort in ("last_activity", "name"):
            return _walk_leads(db, lead_filter, cells, sort, descending, limit, offset), total
    where, params = lead_filter.where()
    order = order_by(SORTS, sort, descending)
    # sorting by a lead's own column: walk the leads along that column's index, probe each grade
    source = LEADS_FIRST if sort in ("last_activity", "name") else FROM
    if lead_filter.text:
        source = SEARCHED
    rows = db.execute(
        f"SELECT {COLUMNS} {source} WHERE {where} ORDER BY {order} LIMIT ? OFFSET ?",
        [*params, limit, offset],
    ).fetchall()
    if cells is None and with_total:
        counted = SEARCHED if lead_filter.text else FROM
        total = db.execute(f"SELECT count(*) {counted} WHERE {where}", params).fetchone()[0]
    elif cells is None:
        total = None
    return [lead_row(r) for r in rows], total


def list_page(
    db: sqlite_utils.Database, lead_filter: LeadFilter, params: dict[str, Any]
) -> tuple[list[dict[str, Any]], int]:
    """The page of a lead list its parameters ask for (list_args.LeadListArgs: sort, order,
    page, per_page), with the total."""
    per_page = params["per_page"]
    rows, total = list_leads(
        db,
        lead_filter,
        sort=params["sort"],
        descending=params["order"] == "desc",
        limit=per_page,
        offset=(params["page"] - 1) * per_page,
    )
    return rows, total or 0


def _walk_leads(
    db,
    lead_filter: LeadFilter,
    cells: list[str],
    sort: str,
    descending: bool,
    limit: int,
    offset: int,
):
    """One page sorted by a lead's own column: walk the leads along that column's index in
    batches and keep those whose grade is in the chosen cells (no sort, no join of every grade)."""
    order = order_by(SORTS, sort, descending)
    wanted = set(cells)
    every_cell = len(wanted) == len(HOT_ORDER)
    found: list[int] = []
    batch, start = max(200, 4 * (offset + limit)), 0
    while len(found) < offset + limit:
        ids = [
            r[0]
            for r in db.execute(
                f"SELECT l.id FROM leads l ORDER BY {order} LIMIT ? OFFSET ?", [batch, start]
            )
        ]
        if not ids:
            break
        graded = dict(
            db.execute(
                f"SELECT lead_id, grade FROM grades WHERE model = ? AND category = ?"
                f" AND lead_id IN ({','.join('?' * len(ids))})",
                [lead_filter.model, lead_filter.category, *ids],
            )
        )
        found += [i for i in ids if i in graded and (every_cell or graded[i] in wanted)]
        start += batch
        batch *= 2
    page = found[offset : offset + limit]
    if not page:
        return []
    rows = db.execute(
        f"SELECT {COLUMNS} {FROM} WHERE g.model = ? AND g.category = ? AND g.lead_id IN ({','.join('?' * len(page))})",
        [lead_filter.model, lead_filter.category, *page],
    ).fetchall()
    position = {lead_id: i for i, lead_id in enumerate(page)}
    return [lead_row(r) for r in sorted(rows, key=lambda r: position[r[0]])]


def _merge_cells(
    db,
    lead_filter: LeadFilter,
    sizes: dict[str, int],
    column: str,
    descending: bool,
    limit: int,
    offset: int,
):
    """One page sorted by a score: the top rows of each cell along its score index, merged."""
    direction = "DESC" if descending else "ASC"
    want = offset + limit
    keyed = []
    for cell, size in sizes.items():
        if not size:
            continue
        for lead_id, score in db.execute(
            f"SELECT lead_id, {column} FROM grades WHERE model = ? AND category = ? AND grade = ?"
            f" ORDER BY {column} {direction}, lead_id {direction} LIMIT ?",
            [lead_filter.model, lead_filter.category, cell, want],
        ):
            keyed.append((score, lead_id))
    keyed.sort(reverse=descending)
    page = [lead_id for _, lead_id in keyed[offset:want]]
    if not page:
        return []
    rows = db.execute(
        f"SELECT {COLUMNS} {FROM} WHERE g.model = ? AND g.category = ? AND g.lead_id IN ({','.join('?' * len(page))})",
        [lead_filter.model, lead_filter.category, *page],
    ).fetchall()
    order = {lead_id: i for i, lead_id in enumerate(page)}
    return [lead_row(r) for r in sorted(rows, key=lambda r: order[r[0]])]


def _page_by_cell(
    db, lead_filter: LeadFilter, sizes: dict[str, int], descending: bool, limit: int, offset: int
):
    """One page in grade order, read cell by cell along the cell index (no sort of the whole set):
    descending is the hottest cell first and the most active lead first within it (`sizes` is
    in that order), ascending the reverse."""
    rows: list = []
    direction = "DESC" if descending else "ASC"
    for cell in sizes if descending else reversed(list(sizes)):
        if len(rows) >= limit:
            break
        if offset >= sizes[cell]:
            offset -= sizes[cell]
            continue
        rows += db.execute(
            f"SELECT {COLUMNS} {FROM} WHERE g.model = ? AND g.category = ? AND g.grade = ?"
            f" ORDER BY g.activity_score {direction}, g.lead_id {direction} LIMIT ? OFFSET ?",
            [lead_filter.model, lead_filter.category, cell, limit - len(rows), offset],
        ).fetchall()
        offset = 0
    return [lead_row(r) for r in rows]


def lead_row(row: Sequence[Any]) -> dict[str, Any]:
    (
        _,
        ext_id,
        person,
        company,
        lifecycle,
        owner,
        model,
        category,
        fit_score,
        fit,
        act_score,
        act,
        grade,
        route,
        explanation,
        graded_at,
        name,
        last_event_at,
    ) = row
    return {
        "id": ext_id,
        "person": orjson.loads(person),
        "company": orjson.loads(company) if company else {},
        "lifecycle": lifecycle,
        "owner": owner,
        "model": model,
        "category": category or None,
        "fit_score": shown(fit_score),
        "fit": fit,
        "activity_score": shown(act_score),
        "activity": act,
        "grade": grade,
        "route": orjson.loads(route) if route else None,
        "explanation": orjson.loads(explanation),
        "graded_at": graded_at,
        "name": name,
        "last_event_at": last_event_at,
    }
