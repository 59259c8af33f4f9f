"""The matrix, the lead list and the lead page (where a lead's lifecycle, owner and
qualification are changed)."""

from __future__ import annotations

import math

from flask import abort, flash, g, redirect, render_template, request, url_for

from ..core import roles
from ..core.qualification import QualificationError, is_qualified
from ..core.records import LIFECYCLES
from ..http.list_args import LEAD_SORTS, LeadListArgs
from ..http.request import get_db, state
from ..services import ingest
from ..services import leads as lead_service
from ..services import qualification as qualification_service
from ..services import reports as report_service
from .blueprint import login_required, may, web
from .lists import list_query, model_and_category, past_last_page

ROUTE_PARAMS = ("route_to", "route_queue", "route_campaign")  # the routes page's member links


def list_args() -> tuple[dict, list[str]]:
    return list_query(LeadListArgs(), extra=ROUTE_PARAMS)


def lead_filter(params: dict):
    model, category = model_and_category(params.get("model"), params.get("category"))
    route = None
    if request.args.get("route_to"):
        route = (
            request.args["route_to"],
            request.args.get("route_queue") or None,
            request.args.get("route_campaign") or None,
        )
    chosen = lead_service.lead_filter(model.name, category, params, [route] if route else ())
    return model, category, chosen, route


@web.get("/")
@login_required()
def matrix():
    model, category = model_and_category(request.args.get("model"), request.args.get("category"))
    cells = lead_service.cell_stats(get_db(), model.name, category)
    top = max([c["leads"] for c in cells.values()] + [1])
    for cell in cells.values():
        cell["heat"] = 0 if not cell["leads"] else 1 + round(8 * cell["leads"] / top)
    rows = {f: sum(cells[f"{f}{a}"]["leads"] for a in (1, 2, 3, 4)) for f in "ABCD"}
    columns = {a: sum(cells[f"{f}{a}"]["leads"] for f in "ABCD") for a in (1, 2, 3, 4)}
    outcomes = any(c["won"] or c["lost"] for c in cells.values())
    return render_template(
        "matrix.html",
        model=model,
        category=category,
        cells=cells,
        rows=rows,
        columns=columns,
        total=sum(rows.values()),
        outcomes=outcomes,
    )


@web.get("/leads")
@login_required()
def leads():
    params, problems = list_args()
    model, category, chosen, route = lead_filter(params)
    per_page, page = params["per_page"], params["page"]
    rows, total = [], 0
    if not problems:
        if chosen.qualified is not None:
            qualification_service.ready_to_filter(get_db(), state().config)
        rows, total = lead_service.list_page(get_db(), chosen, params)
    pages = max(1, math.ceil(total / per_page))
    problems = problems or past_last_page(page, pages)
    for row in rows:
        row["qualified"] = is_qualified(row["person"], state().config.qualification)
    query = {k: request.args.getlist(k) for k in request.args if k != "page"}
    page_html = render_template(
        "leads.html",
        rows=rows,
        total=total,
        page=page,
        pages=pages,
        params=params,
        problems=problems,
        model=model,
        category=category,
        route=route,
        owners=lead_service.owners(get_db()),
        lifecycles=LIFECYCLES,
        query=query,
        sort_defaults=LEAD_SORTS,
    )
    return page_html, 400 if problems else 200


def form_changes() -> dict:
    """The lead form's lifecycle and owner (an owner left empty: none)."""
    changes: dict[str, str | None] = {}
    lifecycle = request.form.get("lifecycle")
    if lifecycle:
        if lifecycle not in LIFECYCLES:
            abort(400, "unknown lifecycle")
        changes["lifecycle"] = lifecycle
    if "owner" in request.form:
        changes["owner"] = request.form["owner"].strip()[:200] or None
    return changes


@web.route("/leads/<lead:lead_id>", methods=["GET", "POST"])
@login_required()
def lead(lead_id: str):
    if request.method == "POST":
        if not may(roles.CHANGE_LEADS):
            abort(403)
        changes = form_changes()
        current = state()
        try:
            lead_service.edit_lead(
                get_db(),
                lambda: current.config,
                lead_id,
                changes,
                actor=f"user:{g.user['name']}",
                # unticked boxes are not sent: the form's ticks are all there is
                exactly_ticked=(
                    request.form.getlist("qualification")
                    if "qualification_form" in request.form
                    else None
                ),
                position="form",
            )
        except lead_service.LeadNotFound:
            abort(404, f"no lead '{lead_id}'")
        except QualificationError as error:
            abort(400, "; ".join(f"{f}: {m}" for f, m in error.problems))
        except ingest.ImportFailed as failed:
            flash("; ".join(failed.result.problems), "error")
        else:
            flash("Saved; the lead was re-graded.", "ok")
        return redirect(url_for("web.lead", lead_id=lead_id))
    report = report_service.lead_report(get_db(), state().config, lead_id, events=200)
    if report is None:
        abort(404, f"no lead '{lead_id}'")
    return render_template(
        "lead.html",
        lead=report,
        lifecycles=LIFECYCLES,
        can_change=may(roles.CHANGE_LEADS),
    )
