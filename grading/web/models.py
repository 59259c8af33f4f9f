"""The routes page and the models page: the model file's rules, its runs, re-grade and reload."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, url_for

from ..core import roles
from ..core.conditions import describe
from ..http.request import get_db, reread_model_file, state
from ..services import reports as report_service
from ..services.runs import Busy, recent_runs, run_regrade
from .blueprint import login_required, web


@web.get("/routes")
@login_required()
def routes():
    config = state().config
    rows = [row for model in config.models for row in report_service.route_counts(get_db(), model)]
    return render_template("routes.html", rows=rows)


@web.get("/models")
@login_required()
def models():
    current = state()
    return render_template(
        "models.html",
        loaded=current.loaded,
        refused=current.problems,
        describe=describe,
        **recent_runs(get_db(), limit=10),
    )


@web.post("/models/regrade")
@login_required(roles.ADMIN)
def regrade():
    try:
        run = run_regrade(get_db(), state().loaded, trigger="manual")
        flash(f"Re-graded {run['leads']} leads: {run['changed']} grades changed.", "ok")
    except Busy as busy:
        flash(f"A re-grade is already running ({busy}).", "error")
    return redirect(url_for("web.models"))


@web.post("/models/reload")
@login_required(roles.ADMIN)
def reload():
    outcome = reread_model_file(actor=f"user:{g.user['name']}")
    if outcome["problems"]:
        flash(
            "The model file was refused; the previous one keeps grading: "
            + "; ".join(outcome["problems"]),
            "error",
        )
    elif outcome["changed"]:
        flash(
            f"New model file active; everyone was re-graded ({outcome['run']['changed']} grades changed).",
            "ok",
        )
    else:
        flash("The model file has not changed.", "ok")
    return redirect(url_for("web.models"))
