"""What every API handler shares: the request's database connection, the model state, errors."""

from __future__ import annotations

from typing import Any

from flask import current_app, g

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


def get_db():
    """One connection per request (or app context), closed at teardown."""
    if "db" not in g:
        g.db = connect(current_app.config["DATABASE"])
    return g.db


def close_db(_: Any = None) -> None:
    db = g.pop("db", None)
    if db is not None:
        db.conn.close()


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
