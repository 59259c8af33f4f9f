"""The web view: server-rendered pages for sales and marketing (templates/ holds the pages)."""

from __future__ import annotations

import io
import math
import secrets
import time
import unicodedata
from datetime import UTC, datetime
from functools import wraps
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.datastructures import MultiDict

from ..api.common import get_db, load_query, state
from ..api.schemas import LEAD_SORTS, LeadListArgs
from ..core.conditions import describe
from ..core.qualification import QualificationError, is_qualified, ticked, ticks_from_form
from ..core.records import LIFECYCLES
from ..core.times import from_epoch
from ..lead_urls import as_url
from ..services import export as export_service
from ..services import ingest
from ..services import qualification as qualification_service
from ..services.runs import Busy, run_regrade
from ..store import grades as grade_store
from ..store import queries
from ..store import runs as run_store
from ..store.db import connect
from ..store.leads import find_lead
from ..store.sessions import end_session, session_user, start_session
from ..store.users import check_login
from .throttle import LoginThrottle

web = Blueprint("web", __name__)

CAN_CHANGE_LEADS = {"admin", "marketing", "sales"}
LIST_FILTERS = (
    "model",
    "category",
    "cell",
    "fit",
    "activity",
    "lifecycle",
    "owner",
    "qualified",
    "q",
    "sort",
    "order",
    "per_page",
)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(24)
    return session["csrf"]


@web.before_app_request
def load_user():
    """The user of the session the cookie names, if it is still live on the server (a cookie
    kept from before a logout, a disabling or a new password names an ended one)."""
    g.user = None
    if "sid" in session:
        sid = session["sid"]
        g.user = session_user(get_db(), sid, time.time()) if isinstance(sid, str) else None
        if g.user is None:
            session.clear()


def csrf_ok() -> bool:
    expected = session.get("csrf")
    return bool(expected) and secrets.compare_digest(request.form.get("csrf", ""), expected)


@web.before_request
def check_csrf():
    if request.method == "POST" and request.endpoint != "web.login" and not csrf_ok():
        abort(400, "the form has expired: reload the page and try again")


@web.app_context_processor
def helpers():
    return {
        "csrf_token": csrf_token,
        "user": g.get("user"),
        "models": state().config.models,
        "when": when,
        "route_text": export_service.route_text,
    }


@web.app_template_filter("num")
def num(value: float) -> str:
    """70.0 -> 70, 2.5 -> 2.5: numbers of the model file as people wrote them."""
    return f"{value:g}"


def when(epoch: int | None) -> str:
    if epoch is None:
        return "—"
    return from_epoch(epoch).strftime("%Y-%m-%d %H:%M")


MAX_NEXT = 2048  # longer than any link the pages make


def safe_next(target: str | None) -> str:
    """`target` if a browser would read it as a path on this site, else "/" (the matrix).

    Browsers drop tabs and newlines anywhere in a URL, strip leading controls and spaces and read
    a backslash as `/`, so `/<tab>/evil.example` and `/<backslash>evil.example` lead to another
    host: only a path starting with one `/`, with no control character and no backslash, is taken."""
    if not target or len(target) > MAX_NEXT or target[0] != "/" or target[1:2] == "/":
        return "/"
    if "\\" in target or any(unicodedata.category(char) == "Cc" for char in target):
        return "/"
    parts = urlsplit(target)
    return "/" if parts.scheme or parts.netloc else target


def this_page() -> str:
    """The current page's path and query, percent-encoded as a link: the `next` of a login."""
    return safe_next(as_url(request.path, request.query_string))  # %2F in an id stays encoded


def login_required(roles: set[str] | None = None):
    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if g.user is None:
                return redirect(url_for("web.login", next=this_page()))
            if roles is not None and g.user["role"] not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapper

    return decorate


def throttle() -> LoginThrottle:
    """Failed logins are counted per app (one per server process)."""
    return current_app.extensions.setdefault("grading.login_throttle", LoginThrottle())


@web.route("/login", methods=["GET", "POST"])
def login():
    error = None
    if request.method == "POST":
        name, address = request.form.get("name", ""), request.remote_addr or ""
        wait = throttle().wait_seconds(name, address)
        if wait:
            minutes = -(-wait // 60)
            error = f"Too many failed logins: try again in {minutes} minute{'s' if minutes > 1 else ''}."
            page = render_template("login.html", error=error)
            return page, 429, {"Retry-After": str(wait)}
        if not csrf_ok():
            error = "The form has expired: please try again."
        else:
            found = check_login(get_db(), name, request.form.get("password", ""), now_iso())
            if not found:
                throttle().failed(name, address)
            else:
                throttle().succeeded(name, address)
                session.clear()
                session["sid"] = start_session(get_db(), found["id"], time.time())
                return redirect(safe_next(request.args.get("next")))
            error = "Unknown name or wrong password."
    return render_template("login.html", error=error), 401 if error else 200


@web.post("/logout")
def logout():
    if "sid" in session:
        end_session(get_db(), session["sid"], time.time())
    session.clear()
    return redirect(url_for("web.login"))


def model_and_category(model_name: str | None, category: str | None):
    config = state().config
    model = config.model(model_name) if model_name else config.models[0]
    if model is None:
        abort(404, f"unknown model '{model_name}'")
    if category and model.category(category) is None:
        abort(404, f"unknown category '{category}'")
    return model, category or ""


@web.get("/")
@login_required()
def matrix():
    model, category = model_and_category(request.args.get("model"), request.args.get("category"))
    cells = grade_store.cell_stats(get_db(), model.name, category)
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


ROUTE_PARAMS = ("route_to", "route_queue", "route_campaign")  # the routes page's member links


def list_query(schema, extra: tuple[str, ...] = ()) -> tuple[dict, list[str]]:
    """A list page's filters, read and validated as the API reads them (api.common.load_query),
    empty form fields being not given. With a problem, the filters that are fine are kept (for
    the form) and each problem is named with the value given: a list is never shown unfiltered
    in place of what was asked."""
    params, problems = load_query(schema, request.args, blank_is_absent=True, extra=extra)
    if not problems:
        return params, []
    wrong = {p["field"].partition("[")[0] for p in problems}
    kept = MultiDict([(k, v) for k, v in request.args.items(multi=True) if k not in wrong])
    params, _ = load_query(schema, kept, blank_is_absent=True, extra=extra)
    return params or schema.load({}), [
        f"{p['field'].partition('[')[0]}={p['value']}: {p['message']}"
        if p["value"]
        else f"{p['field']}: {p['message']}"
        for p in problems
    ]


def past_last_page(page: int, pages: int) -> list[str]:
    """A page beyond the last is said to be, not shown as an empty list beside the total."""
    return [f"page {page} is past the last page ({pages})"] if page > pages else []


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
    return (
        model,
        category,
        queries.LeadFilter.from_params(model.name, category, params, [route] if route else ()),
        route,
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
        rows, total = queries.list_page(get_db(), chosen, params)
    pages = max(1, math.ceil(total / per_page))
    problems = problems or past_last_page(page, pages)
    for row in rows:
        row["qualified"] = is_qualified(row["person"], state().config.qualification)
    owners = [
        r[0]
        for r in get_db().execute(
            "SELECT DISTINCT owner FROM leads WHERE owner IS NOT NULL ORDER BY 1"
        )
    ]
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
        owners=owners,
        lifecycles=LIFECYCLES,
        query=query,
        sort_defaults=LEAD_SORTS,
    )
    return page_html, 400 if problems else 200


CSV_COLUMNS = (
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


@web.get("/leads.csv")
@login_required()
def leads_csv():
    params, problems = list_args()
    if problems:
        abort(400, "; ".join(problems))
    model, category, chosen, _ = lead_filter(params)
    criteria = state().config.qualification
    if chosen.qualified is not None:
        qualification_service.ready_to_filter(get_db(), state().config)
    path = current_app.config["DATABASE"]

    def generate():
        db = connect(path)  # the request's connection is closed before a streamed body ends
        out = io.StringIO()
        writer = export_service.CsvWriter(out)
        writer.writerow(CSV_COLUMNS)
        offset = 0
        while True:
            rows, _ = queries.list_leads(
                db,
                chosen,
                sort=params["sort"],
                descending=params["order"] == "desc",
                limit=5000,
                offset=offset,
                with_total=False,
            )
            for r in rows:
                writer.writerow(
                    [
                        r["id"],
                        r["name"] or "",
                        r["person"].get("email", ""),
                        r["company"].get("name", ""),
                        r["company"].get("domain", ""),
                        r["lifecycle"],
                        r["owner"] or "",
                        r["model"],
                        r["category"] or "",
                        r["grade"],
                        r["fit"],
                        export_service.two_decimals(r["fit_score"]),
                        r["activity"],
                        export_service.two_decimals(r["activity_score"]),
                        export_service.route_text(r["route"]),
                        when(r["last_event_at"]) if r["last_event_at"] else "",
                        "true" if is_qualified(r["person"], criteria) else "false",
                        ";".join(ticked(r["person"])),
                    ]
                )
            yield out.getvalue()
            out.seek(0)
            out.truncate()
            if len(rows) < 5000:
                db.conn.close()
                return
            offset += 5000

    name = f"leads-{model.name}{'-' + category if category else ''}.csv"
    return Response(
        generate(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@web.route("/leads/<lead:lead_id>", methods=["GET", "POST"])
@login_required()
def lead(lead_id: str):
    db = get_db()
    config = state().config
    if request.method == "POST":
        if g.user["role"] not in CAN_CHANGE_LEADS:
            abort(403)
        changes = {}
        lifecycle = request.form.get("lifecycle")
        if lifecycle:
            if lifecycle not in LIFECYCLES:
                abort(400, "unknown lifecycle")
            changes["lifecycle"] = lifecycle
        if "owner" in request.form:
            changes["owner"] = request.form["owner"].strip()[:200] or None
        before = find_lead(db, lead_id)
        if before is None:
            abort(404, f"no lead '{lead_id}'")
        try:
            if "qualification_form" in request.form:  # unticked boxes are not sent
                ticks = ticks_from_form(request.form.getlist("qualification"), config.qualification)
                changes = qualification_service.person_changes(
                    db, config, before, {**changes, "qualification": ticks}
                )
        except QualificationError as error:
            abort(400, "; ".join(f"{f}: {m}" for f, m in error.problems))
        try:
            # the model is read under the write lock, as for API batches (a reload may intervene)
            current = state()
            ingest.import_records(
                db,
                lambda: current.config,
                "leads",
                [("form", {"id": lead_id, "person": changes})],
                actor=f"user:{g.user['name']}",  # the import audits what really changed
            )
        except ingest.ImportFailed as failed:
            flash("; ".join(failed.result.problems), "error")
        else:
            flash("Saved; the lead was re-graded.", "ok")
        return redirect(url_for("web.lead", lead_id=lead_id))
    report = export_service.lead_report(db, state().config, lead_id, events=200)
    if report is None:
        abort(404, f"no lead '{lead_id}'")
    return render_template(
        "lead.html",
        lead=report,
        lifecycles=LIFECYCLES,
        can_change=g.user["role"] in CAN_CHANGE_LEADS,
    )


@web.get("/routes")
@login_required()
def routes():
    config = state().config
    rows = [row for model in config.models for row in export_service.route_counts(get_db(), model)]
    return render_template("routes.html", rows=rows)


@web.get("/models")
@login_required()
def models():
    current = state()
    db = get_db()
    return render_template(
        "models.html",
        loaded=current.loaded,
        refused=current.problems,
        describe=describe,
        runs=run_store.list_runs(db, limit=10),
        running=run_store.lease_holder(db, "regrade", time.time()),
    )


@web.post("/models/regrade")
@login_required({"admin"})
def regrade():
    try:
        run = run_regrade(get_db(), state().loaded, trigger="manual")
        flash(f"Re-graded {run['leads']} leads: {run['changed']} grades changed.", "ok")
    except Busy as busy:
        flash(f"A re-grade is already running ({busy}).", "error")
    return redirect(url_for("web.models"))


@web.post("/models/reload")
@login_required({"admin"})
def reload():
    from ..scheduler import reload_and_regrade

    outcome = reload_and_regrade(
        current_app._get_current_object(), trigger="manual", actor=f"user:{g.user['name']}"
    )
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


from . import (  # noqa: E402
    accounts,  # noqa: F401  (the account list and pages register on web)
    calibration,  # noqa: F401  (the calibration page registers on web)
    preview,  # noqa: F401  (the model-file preview registers on web)
    privacy,  # noqa: F401  (its views register on web)
)
