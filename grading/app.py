"""The application factory."""

from __future__ import annotations

import os

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from .api import api
from .api.common import ApiError, close_db
from .state import ModelState

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAX_BODY = 10 * 1024 * 1024


def create_app(settings: dict | None = None) -> Flask:
    app = Flask(__name__, template_folder=os.path.join(ROOT, "templates"))
    app.config.from_mapping(
        DATABASE=os.environ.get("GRADING_DB", "instance/grading.db"),
        MODEL_FILE=os.environ.get("GRADING_CONFIG", "config/grading.yaml"),
        MAX_CONTENT_LENGTH=MAX_BODY,
    )
    app.config.update(settings or {})
    app.json.sort_keys = False
    app.extensions["grading"] = ModelState(app.config["MODEL_FILE"])
    app.register_blueprint(api)
    app.teardown_appcontext(close_db)

    @app.errorhandler(ApiError)
    def api_error(error: ApiError):
        return error.response()

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        messages = {413: "the body is over 10 MB", 405: "method not allowed", 404: "not found"}
        response = jsonify({"error": messages.get(error.code, error.description), "problems": []})
        response.status_code = error.code or 500
        return response

    return app
