"""The /api blueprint: flask-smorest's, so that one declaration per endpoint makes both its route
and its OpenAPI entry, reading requests by the API's own rules.

    @api.get("/leads")                      the route (flask-smorest's Blueprint.route)
    @requires(READ)                         who may call it: 401, and 403 where a role may not
    @api.arguments(LeadListArgs, location="query")   parsed before the handler runs: 400
    @api.response(200, LeadList)            what it answers, dumped through the schema
    @api.error(404, "unknown model or category")     every other answer it can give
    def list_leads(params):
        \"\"\"The summary in the document.\"\"\"
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import request
from flask_smorest import Blueprint
from marshmallow import Schema
from webargs.core import missing
from webargs.flaskparser import FlaskParser

from ..http.request import load_query, problems_of
from .common import ApiError, json_body
from .schemas import ErrorOut

BAD_JSON = (
    "the body is not JSON the API accepts: invalid JSON or UTF-8, a lone surrogate, NaN, "
    "Infinity, a number that overflows (1e999), an integer beyond signed 64 bits, nesting deeper "
    "than 64 levels; named by path where the value parsed"
)
BAD_QUERY = "bad query parameters, listed by field"
TOO_LARGE = "the body is over 10 MB"
INVALID_BODY = "every problem, by field and item; nothing was stored"
OPTIONAL_JSON = "json_if_sent"  # a JSON body that may be left out: then the schema loads {}


class RequestParser(FlaskParser):
    """webargs reading a request as the API always has: the body by json_input's rules (a 400
    naming where, before any schema sees it), the query string as load_query reads it for the
    API and the web view alike, and a schema's problems as ApiError (422 for a body, 400 for a
    query), each naming its field."""

    DEFAULT_UNKNOWN_BY_LOCATION: dict[str, str | None] = {}  # the schema's own: unknown is refused
    __location_map__ = {**FlaskParser.__location_map__, OPTIONAL_JSON: "load_json_if_sent"}

    def load_json(self, req, schema):
        return json_body()

    def load_json_if_sent(self, req, schema):
        return json_body() if req.content_length else missing

    def parse(self, argmap, req=None, *, location=None, **kwargs):
        if location != "query":
            return super().parse(argmap, req, location=location, **kwargs)
        req = req if req is not None else self.get_default_request()
        params, problems = load_query(self._get_schema(argmap, req), req.args)
        if problems:
            found = [{"field": p["field"], "message": p["message"]} for p in problems]
            raise ApiError(400, "invalid query", found)
        return params

    def handle_error(self, error, req, schema, *, error_status_code, error_headers):
        ((_location, messages),) = error.messages.items()  # webargs files them by location
        raise ApiError(error_status_code or 422, "invalid request", problems_of(messages))


class ApiBlueprint(Blueprint):
    """flask-smorest's Blueprint whose `arguments` also document the errors they answer."""

    ARGUMENTS_PARSER = RequestParser()
    DEFAULT_LOCATION_CONTENT_TYPE_MAPPING = {
        **Blueprint.DEFAULT_LOCATION_CONTENT_TYPE_MAPPING,
        OPTIONAL_JSON: "application/json",
    }

    def add_url_rule(self, rule, endpoint=None, view_func=None, *args, tags=None, **options):
        """As flask-smorest's; the document groups each endpoint by its module (leads, runs…)."""
        if tags is None and view_func is not None:
            tags = [view_func.__module__.rpartition(".")[2]]
        super().add_url_rule(rule, endpoint, view_func, *args, tags=tags, **options)

    def arguments(self, schema, *, location: str = "json", required: bool = True, **kwargs):
        """The handler gets what `schema` loaded from the query string (location="query") or
        the JSON body (required=False: a request without a body loads {})."""
        if location == "query":
            parse = super().arguments(schema, location=location, error_status_code=400, **kwargs)
            return stacked(self.error(400, BAD_QUERY), parse)
        where = "json" if required else OPTIONAL_JSON
        parse = super().arguments(schema, location=where, required=required, **kwargs)
        return stacked(*self.body_errors(), parse)

    def documents_body(self, schema: type[Schema]):
        """The JSON body of a handler that reads it itself (a fast path, a second media type):
        documented as `schema`, with the errors every body can answer."""
        content = {"application/json": {"schema": schema}}
        return stacked(
            *self.body_errors(), self.doc(requestBody={"required": True, "content": content})
        )

    def body_errors(self) -> list[Callable]:
        return [
            self.error(400, BAD_JSON),
            self.error(413, TOO_LARGE),
            self.error(422, INVALID_BODY),
        ]

    def error(self, status: int, description: str):
        """Documents an error answer, in the shape of ApiError.response()."""
        return self.alt_response(status, schema=ErrorOut, description=description)


def stacked(*decorators: Callable) -> Callable:
    """The decorators as one, applied as if written one above the other in this order."""

    def decorate(view: Callable) -> Callable:
        for decorator in reversed(decorators):
            view = decorator(view)
        return view

    return decorate


def body(schema: Schema) -> Any:
    """The JSON body through `schema` as @api.arguments reads it, for a handler that decides
    itself whether a schema is needed."""
    return api.ARGUMENTS_PARSER.parse(schema, request, location="json")


api = ApiBlueprint("api", __name__, url_prefix="/api", description="The JSON API")
