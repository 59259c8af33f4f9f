"""What the list pages share: the model and category asked for, and filters read as the API
reads them."""

from __future__ import annotations

from flask import abort, request
from werkzeug.datastructures import MultiDict

from ..http.request import load_query, state


def model_and_category(model_name: str | None, category: str | None):
    config = state().config
    model = config.model(model_name) if model_name else config.models[0]
    if model is None:
        abort(404, f"unknown model '{model_name}'")
    if category and model.category(category) is None:
        abort(404, f"unknown category '{category}'")
    return model, category or ""


def list_query(schema, extra: tuple[str, ...] = ()) -> tuple[dict, list[str]]:
    """A list page's filters, read and validated as the API reads them (http.request.load_query),
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
