"""The lead list as a CSV file: exactly the rows the list's filters choose, in its order."""

from __future__ import annotations

import io

from flask import Response, abort, current_app

from ..core.qualification import is_qualified, ticked
from ..http.request import get_db, state
from ..services import export as export_service
from ..services import leads as lead_service
from ..services import qualification as qualification_service
from ..services.database import connect
from .blueprint import login_required, web, when
from .leads import lead_filter, list_args

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


def csv_row(r: dict, criteria) -> list:
    return [
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
        batches = lead_service.every_lead(
            db, chosen, sort=params["sort"], descending=params["order"] == "desc"
        )
        for rows in batches:
            for r in rows:
                writer.writerow(csv_row(r, criteria))
            yield out.getvalue()
            out.seek(0)
            out.truncate()
        db.conn.close()

    name = f"leads-{model.name}{'-' + category if category else ''}.csv"
    return Response(
        generate(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
