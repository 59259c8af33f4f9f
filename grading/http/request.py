"""What the API and the web view share per request: the database handle, the model state, and
query parameters read through a marshmallow schema (one reading for both)."""

from __future__ import annotations

from typing import Any

import sqlite_utils
from flask import Flask, current_app
from marshmallow import Schema, ValidationError
from werkzeug.datastructures import MultiDict

from ..services.database import connect, kept_connection
from ..services.model_file.active import ModelState
from ..services.runs import reload_model_file


def get_db() -> sqlite_utils.Database:
    """This thread's kept connection to the app's database (services.database.kept_connection)."""
    return kept_connection(current_app.config["DATABASE"])


def state() -> ModelState:
    return current_app.extensions["grading"]


def reread_model_file(actor: str, app: Flask | None = None) -> dict[str, Any]:
    """The model file re-read (services.runs.reload_model_file) for `app` (default: the
    request's), on a connection of its own: a changed file's re-grade may wait for the lease.
    The scheduler, when this process runs one, moves its cron re-grade to the new schedule."""
    app = app if app is not None else current_app
    scheduler = app.extensions.get("grading.scheduler")
    db = connect(app.config["DATABASE"])
    try:
        return reload_model_file(
            db,
            app.extensions["grading"],
            actor=actor,
            on_change=scheduler.schedule_regrade if scheduler is not None else None,
        )
    finally:
        db.conn.close()


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
