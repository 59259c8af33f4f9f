"""What every API handler shares: errors, the JSON body, the model and category a query names,
a page (the request's database connection and the model state are in grading/http/request.py)."""

from __future__ import annotations

import math
from typing import Any

from flask import request

from grading.core import json_input

from ..http.request import state


class ApiError(Exception):
    def __init__(self, status: int, message: str, problems: list[dict[str, str]] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.problems = problems or []

    def response(self):
        return {"error": self.message, "problems": self.problems}, self.status


def json_body(not_json: str = "the body must be JSON") -> Any:
    """The request's JSON body by json_input's rules, the importers' own: 400 naming where for
    text that is no JSON, invalid UTF-8, lone surrogates, NaN, Infinity, 1e999, integers beyond
    64 bits and nesting deeper than json_input.MAX_DEPTH; never the 500 of a value that
    cannot be stored or walked."""
    if not request.is_json:
        raise ApiError(
            400,
            not_json,
            [{"field": "", "message": "send it with Content-Type: application/json"}],
        )
    try:
        data = json_input.loads(request.get_data(cache=True))
    except json_input.JsonInputError as error:
        problems = [{"field": f, "message": m} for f, m in error.problems]
        raise ApiError(400, "the body is not JSON the API accepts", problems) from None
    if data is None:
        raise ApiError(400, "the body must be JSON", [{"field": "", "message": "it is null"}])
    return data


UNKNOWN_MODEL = "unknown model or category"  # what model_and_category's 404 is, in the document


def model_and_category(params: dict) -> tuple[str, str]:
    """The model (default: the first) and category ("": none) a request names; 404 naming the
    parameter for one the model file does not have."""
    config = state().config
    name = params.get("model") or config.models[0].name
    model = config.model(name)
    if model is None:
        raise ApiError(
            404, f"unknown model '{name}'", [{"field": "model", "message": "unknown model"}]
        )
    category = params.get("category") or ""
    if category and model.category(category) is None:
        raise ApiError(
            404,
            f"unknown category '{category}'",
            [{"field": "category", "message": "unknown category"}],
        )
    return name, category


def page_of(items: list, total: int, page: int, per_page: int) -> dict:
    """One page of a list as every list endpoint answers it (a page past the last: no items)."""
    return {
        "items": items,
        "total": total,
        "page": page,
        "per_page": per_page,
        "pages": math.ceil(total / per_page),
    }
