"""What every API handler shares: the request's database connection, the model state, errors."""

from __future__ import annotations

import math
import threading
from typing import Any

from flask import current_app, request
from marshmallow import Schema, ValidationError
from werkzeug.datastructures import MultiDict

from grading.core import json_input

from ..state import ModelState
from ..store.db import connect


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


_threads = threading.local()
KEPT_CONNECTIONS = 4  # per thread: one per database this thread served lately


def get_db():
    """This thread's connection to the app's database, kept between requests: SQLite's page
    cache stays warm, and nothing is re-opened or re-checked per request. Writes run in
    explicit transactions that roll back on any error, so nothing is left open between requests."""
    path = current_app.config["DATABASE"]
    kept = getattr(_threads, "connections", None)
    if kept is None:
        kept = _threads.connections = {}
    db = kept.get(path)
    if db is None:
        if len(kept) >= KEPT_CONNECTIONS:
            for old in kept.values():
                old.conn.close()
            kept.clear()
        db = kept[path] = connect(path)
    if db.conn.in_transaction:  # a request that died mid-transaction must not leak it
        db.conn.rollback()
    return db


def state() -> ModelState:
    return current_app.extensions["grading"]


def problems_of(messages: Any, prefix: str = "") -> list[dict[str, str]]:
    """marshmallow's nested error dict -> [{"field": "events[3].at", "message": …}]."""
    out: list[dict[str, str]] = []
    if isinstance(messages, dict):
        for key, value in messages.items():
            if key == "_schema":
                name = prefix
            elif isinstance(key, int):
                name = f"{prefix}[{key}]"
            else:
                name = f"{prefix}.{key}" if prefix else str(key)
            out.extend(problems_of(value, name))
    elif isinstance(messages, list):
        for item in messages:
            if isinstance(item, dict | list):
                out.extend(problems_of(item, prefix))
            else:
                out.append({"field": prefix, "message": str(item)})
    else:
        out.append({"field": prefix, "message": str(messages)})
    return out


def load_query(
    schema: Schema, args: MultiDict, *, blank_is_absent: bool = False, extra: tuple[str, ...] = ()
) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """Query parameters through their schema, one reading for the API and the web view: a list
    field takes repeated and comma-separated values, the last value of any other counts, and a
    parameter the schema does not know is a problem. `blank_is_absent`: an empty value (a form
    field left empty) means not given. `extra`: parameters the caller reads itself.

    Returns (what the schema loaded, []) or ({}, problems): each with its `field`, `message`
    and the `value` given."""
    data: dict[str, Any] = {}
    for key in args:
        if key in extra:
            continue
        values = args.getlist(key)
        field = schema.fields.get(key)
        if field is not None and field.__class__.__name__ == "List":
            data[key] = [v for value in values for v in value.split(",") if v]
        elif not blank_is_absent or values[-1]:
            data[key] = values[-1]
    try:
        return schema.load(data), []
    except ValidationError as error:
        problems = problems_of(error.messages)
    for problem in problems:
        name, _, index = problem["field"].partition("[")
        value = data.get(name, "")
        if index and isinstance(value, list):
            value = value[int(index.rstrip("]"))]
        problem["value"] = str(value)
    return {}, problems


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
