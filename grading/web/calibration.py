"""The calibration page: cell conversions as a heat map, rules with current and suggested points."""

from __future__ import annotations

from flask import abort, render_template, request

from ..http.request import get_db, state
from ..services import calibration as service
from .blueprint import login_required, web

HEAT_STEPS = 8  # heat-1 .. heat-9 of the stylesheet; heat-0 is a cell without outcomes


def heat(conversion: float | None) -> int:
    return 0 if conversion is None else 1 + round(HEAT_STEPS * conversion)


@web.get("/calibration")
@login_required()
def calibration():
    config = state().config
    try:
        data = service.calibration(get_db(), config, request.args.get("model"))
    except service.UnknownModel as error:
        abort(404, str(error))
    cells = {cell["name"]: {**cell, "heat": heat(cell["conversion"])} for cell in data["cells"]}
    return render_template(
        "calibration.html",
        model=config.model(data["model"]),
        result=data,
        cells=cells,
        letters={c["name"]: c for c in data["letters"]},
        numbers={c["name"]: c for c in data["numbers"]},
    )
