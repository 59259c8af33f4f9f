"""The lead list as a CSV file: exactly the rows the list's filters choose, in its order."""

from __future__ import annotations

from flask import Response, abort, current_app

from ..http.request import get_db, state
from ..services import export as export_service
from ..services import qualification as qualification_service
from .blueprint import login_required, web
from .leads import lead_filter, list_args


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
    rows = export_service.lead_list_csv(
        current_app.config["DATABASE"],  # its own connection: the request's closes first
        chosen,
        sort=params["sort"],
        descending=params["order"] == "desc",
        criteria=criteria,
    )
    name = f"leads-{model.name}{'-' + category if category else ''}.csv"
    return Response(
        rows,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
