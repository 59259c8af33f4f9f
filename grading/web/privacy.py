"""Admin pages: a person's data as JSON, their erasure (after a confirmation), the audit log."""

from __future__ import annotations

from flask import Response, abort, flash, g, redirect, render_template, request, url_for

from ..core import roles
from ..http.list_args import AuditArgs
from ..http.request import get_db, load_query, state
from ..services import privacy
from ..services import users as user_service
from .blueprint import login_required, web

PAGE = 100


def actor() -> str:
    return f"user:{g.user['name']}"


@web.get("/leads/<lead:lead_id>/export")
@login_required(roles.ADMIN)
def lead_export(lead_id: str):
    document = privacy.export_lead_json(get_db(), state().config, lead_id)
    if document is None:
        abort(404, f"no lead '{lead_id}'")
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in lead_id)[:80]
    return Response(
        document,
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="lead-{safe}.json"'},
    )


@web.route("/leads/<lead:lead_id>/erase", methods=["GET", "POST"])
@login_required(roles.ADMIN)
def lead_erase(lead_id: str):
    db = get_db()
    if request.method == "POST":
        if request.form.get("confirm", "").strip() != lead_id:
            flash("Type the lead's id exactly to confirm the erasure.", "error")
            return redirect(url_for("web.lead_erase", lead_id=lead_id))
        erased = privacy.forget(db, state().config, lead_id, actor())
        if erased is None:
            abort(404, f"no lead '{lead_id}'")
        rows = sum(erased["deleted"].values())
        flash(f"Erased one person: {rows} rows (audit entry {erased['audit_id']}).", "ok")
        if not erased["wal_cleared"]:
            flash(
                "Readers kept the database's WAL from being truncated: it may hold older pages"
                " of the person until the server stops.",
                "error",
            )
        return redirect(url_for("web.leads"))
    counts = privacy.stored_counts(db, lead_id)
    if counts is None:
        abort(404, f"no lead '{lead_id}'")
    return render_template("erase.html", lead_id=lead_id, counts=counts)


@web.get("/audit")
@login_required(roles.ADMIN)
def audit_log():
    # the API's reading and bounds: an id beyond SQLite's integers is a bad link, not a 500
    params, problems = load_query(AuditArgs(), request.args, blank_is_absent=True)
    if problems:
        abort(400, "; ".join(f"{p['field']}: {p['message']}" for p in problems))
    before = params.get("before")
    entries = user_service.audit_log(get_db(), limit=PAGE + 1, before=before)
    older = entries[PAGE - 1]["id"] if len(entries) > PAGE else None
    return render_template("audit.html", entries=entries[:PAGE], older=older)
