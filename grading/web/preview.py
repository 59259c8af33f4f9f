"""The models page's preview: upload a changed model file, see where the leads would move."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import render_template, request

from grading.core import roles
from grading.core.config import ConfigError
from grading.core.times import TimeTextError, parse_as_of

from ..core.preview import NONE, ModelPreview
from ..http.request import get_db, state
from ..services import preview as preview_service
from .blueprint import login_required, web


def _grid(model: ModelPreview) -> dict:
    """Rows of the move matrix for the template: each cell's count and its shade (the diagonal
    muted, moves shaded by their share of the largest move)."""
    rows_shown, columns_shown = model.shown()
    row_totals, column_totals = model.totals()
    largest = max([1, *(m["leads"] for m in model.moves())])
    rows = []
    for src in rows_shown:
        cells = []
        for dst in columns_shown:
            n = model.matrix[src][dst]
            if src == dst == NONE:
                n = 0  # leads neither file grades are not part of the matrix
            if src == dst:
                shade = "heat-0"  # stays in its cell: muted
            elif n:
                shade = f"heat-{min(9, 1 + (8 * n) // largest)}"
            else:
                shade = ""
            cells.append({"to": dst, "leads": n, "shade": shade})
        rows.append({"from": src, "cells": cells, "total": row_totals[src]})
    return {
        "columns": columns_shown,
        "rows": rows,
        "column_totals": [column_totals[c] for c in columns_shown],
        "total": sum(row_totals.values()),
    }


@web.post("/models/preview")
@login_required(roles.PREVIEW)
def model_preview() -> str | tuple[str, int]:
    upload = request.files.get("file")
    problems: list[str] = []
    if upload is None or not upload.filename:
        problems.append("file: choose the changed model file (YAML) to preview")
    as_of = datetime.now(UTC)
    at_text = request.form.get("as_of", "").strip()
    if at_text:
        try:
            as_of = parse_as_of(at_text, "as_of")
        except TimeTextError as error:
            problems.append(f"as of: {error.reason}")
    new = None
    if upload is not None and not problems:
        try:
            new = preview_service.read_new_config(upload.read())
        except ConfigError as error:
            problems.extend(error.problems)
    name = upload.filename if upload is not None and upload.filename else None
    if problems or new is None:  # no problems: the new file was read
        page = render_template("preview.html", filename=name, problems=problems, result=None)
        return page, 422
    result = preview_service.preview(get_db(), state().config, new, as_of=as_of)
    models = [{"model": m, "grid": _grid(m)} for m in result.models]
    return render_template("preview.html", filename=name, problems=[], result=result, models=models)
