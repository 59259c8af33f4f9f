"""The OpenAPI 3 document, built by flask-smorest from the endpoints' own declarations (see
blueprint.py) and served at GET /api/openapi.json to any token."""

from __future__ import annotations

from functools import lru_cache

from flask import Flask, current_app, jsonify
from flask_smorest import Api
from flask_smorest.spec.plugins import FlaskPlugin

from ..http.lead_urls import LeadIdConverter
from .auth import READ, requires
from .blueprint import api
from .schemas import ErrorOut

LEAD_ID = (
    "the lead's id as one percent-encoded path segment: '/' as %2F, '%' as %25, '?' as %3F, "
    "'#' as %23 (an unencoded '/' is never part of an id)"
)
PATH_DESCRIPTIONS = {LeadIdConverter: LEAD_ID}  # a path parameter's text, by its converter
SPEC = {
    "title": "grading",
    "version": "1",
    "openapi_version": "3.0.3",
    "info": {
        "description": "Grades B2B leads on fit (A-D, A best) and activity (1-4, 4 most active)."
    },
    "servers": [{"url": api.url_prefix}],
    "security": [{"bearer": []}],
}


class ServerPaths(FlaskPlugin):
    """Paths as seen from the document's server (/api), and a path's parameters listed on each
    of its operations, where clients have always found them."""

    def rule_to_params(self, rule):
        params = super().rule_to_params(rule)
        for param in params:
            text = PATH_DESCRIPTIONS.get(type(rule._converters[param["name"]]))
            if text:
                param["description"] = text
        return params

    def path_helper(self, rule, operations, parameters, **kwargs):
        path = super().path_helper(rule=rule, operations=operations, parameters=parameters)
        for operation in operations.values():
            if parameters:
                operation["parameters"] = [*parameters, *operation.get("parameters", [])]
            if "summary" in operation:  # a docstring's first paragraph, however it wraps
                operation["summary"] = " ".join(operation["summary"].split())
        parameters.clear()
        return path.removeprefix(api.url_prefix)


class GradingApi(Api):
    """flask-smorest's Api minus what would change the API's answers: errors keep the shape
    app.py gives them (no error handler of its own), no documentation pages (they load their
    scripts from a CDN; the document is served below, behind a token), no default error
    response of another shape and no pagination header (our lists page in their bodies)."""

    DEFAULT_ERROR_RESPONSE_NAME = None
    ERROR_SCHEMA = ErrorOut

    def _register_error_handlers(self):
        pass

    def _register_doc_blueprint(self):
        pass

    def _register_pagination_header(self):
        pass


@lru_cache(maxsize=1)
def document() -> dict:
    """The document, built once per process: it depends on the code alone. flask-smorest builds
    it from the blueprint registered on an app of its own, which routes as ours does."""
    scratch = Flask(__name__)
    scratch.url_map.converters.update(current_app.url_map.converters)
    rest = GradingApi(scratch, spec_kwargs={**SPEC, "flask_plugin": ServerPaths()})
    rest.spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    rest.register_blueprint(api)
    return rest.spec.to_dict()


@api.get("/openapi.json")
@requires(READ)
@api.response(200, {"type": "object"}, description="this document")
def openapi():
    """The OpenAPI 3 document of this API"""
    return jsonify(document())
