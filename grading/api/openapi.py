"""The OpenAPI 3 document, generated from the marshmallow schemas the handlers use."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from . import schemas as s


@dataclass(frozen=True)
class ApiRoute:
    method: str
    path: str
    response: type
    request: type | None
    query: type | None
    summary: str
    view: object


ROUTES: list[ApiRoute] = []
LEAD_ID = (
    "the lead's id as one percent-encoded path segment: '/' as %2F, '%' as %25, '?' as %3F, "
    "'#' as %23 (an unencoded '/' is never part of an id)"
)
BAD_JSON = (
    "the body is not JSON the API accepts: invalid JSON or UTF-8, a lone surrogate, NaN, "
    "Infinity, a number that overflows (1e999), an integer beyond signed 64 bits, nesting deeper "
    "than 64 levels; named by path where the value parsed"
)


def route(
    method: str, path: str, response: type, request: type | None = None, *, query=None, summary=""
):
    """Record an endpoint for the document; wraps nothing."""

    def record(view):
        ROUTES.append(ApiRoute(method, path, response, request, query, summary, view))
        return view

    return record


def _operation(item: ApiRoute) -> dict:
    roles = getattr(item.view, "roles", None)
    operation: dict = {
        "summary": item.summary,
        "responses": {
            "200": {"description": "OK", "content": {"application/json": {"schema": item.response}}}
        },
    }
    if roles is None:
        operation["security"] = []
    else:
        operation["description"] = "Roles: " + ", ".join(sorted(roles))
        for status, text in (("401", "no or bad token"), ("403", "role not allowed")):
            operation["responses"][status] = _error(text)
    parameters = [
        {"in": "path", "name": name, "required": True, "schema": {"type": "string"}}
        | ({"description": LEAD_ID} if name == "lead_id" else {})
        for name in re.findall(r"{(\w+)}", item.path)
    ]
    if item.query is not None:
        parameters.append({"in": "query", "schema": item.query})
        operation["responses"]["400"] = _error("bad query parameters, listed by field")
    if parameters:
        operation["parameters"] = parameters
    if item.request is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": item.request}},
        }
        operation["responses"]["400"] = _error(BAD_JSON)
        operation["responses"]["413"] = _error("the body is over 10 MB")
        operation["responses"]["422"] = _error(
            "every problem, by field and item; nothing was stored"
        )
    names_a_model = item.request is not None and "model" in item.request._declared_fields
    if "{" in item.path or item.query is not None or names_a_model:
        operation["responses"]["404"] = _error("unknown lead, model or category")
    if item.path == "/regrade":
        operation["responses"]["409"] = _error("another re-grade holds the lease")
    return operation


def _error(description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": s.ErrorOut}}}


@lru_cache(maxsize=1)
def document() -> dict:
    spec = APISpec(
        title="grading",
        version="1",
        openapi_version="3.0.3",
        plugins=[MarshmallowPlugin()],
        info={
            "description": "Grades B2B leads on fit (A-D, A best) and activity (1-4, 4 most active)."
        },
        servers=[{"url": "/api"}],
    )
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    paths: dict[str, dict] = {}
    for item in ROUTES:
        paths.setdefault(item.path, {})[item.method.lower()] = _operation(item)
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    out = spec.to_dict()
    out["security"] = [{"bearer": []}]
    return out
