"""The application factory."""

from __future__ import annotations

import os
import secrets

from flask import Flask, jsonify, render_template, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import HTTPException

from . import web
from .api import api
from .api.common import ApiError
from .http.lead_urls import LeadIdConverter, RawPath
from .resources import TEMPLATES, default_model_file
from .services.model_file.active import ModelState
from .services.users import ABSOLUTE_S

MAX_BODY = 10 * 1024 * 1024


def create_app(settings: dict | None = None) -> Flask:
    app = Flask(__name__, template_folder=TEMPLATES, static_folder="static")
    app.config.from_mapping(
        DATABASE=os.environ.get("GRADING_DB", "instance/grading.db"),
        MODEL_FILE=os.environ.get("GRADING_CONFIG") or default_model_file(),
        MAX_CONTENT_LENGTH=MAX_BODY,
        SESSION_COOKIE_SECURE=secure_cookies(os.environ.get("GRADING_SECURE_COOKIES", "")),
    )
    app.config.update(settings or {})
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = secret_key(app.config["DATABASE"])
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        # the signed cookie stops being read when its session would have ended on the server
        PERMANENT_SESSION_LIFETIME=ABSOLUTE_S,
    )
    provider = app.json
    assert isinstance(provider, DefaultJSONProvider)  # Flask's own, which sorts keys unless told
    provider.sort_keys = False
    app.extensions["grading"] = ModelState(app.config["MODEL_FILE"])
    app.url_map.converters["lead"] = LeadIdConverter  # <lead:lead_id>, one segment
    app.wsgi_app = RawPath(app.wsgi_app)  # type: ignore[method-assign]
    app.register_blueprint(api)
    web.init_app(app)  # with its CSRF check and login throttle

    @app.after_request
    def security_headers(response):
        # no script anywhere: the pages work without JavaScript, so none may run
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; script-src 'none'; object-src 'none'; base-uri 'none';"
            " form-action 'self'; frame-ancestors 'none'",
        )
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response

    @app.errorhandler(ApiError)
    def api_error(error: ApiError):
        return error.response()

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if not request.path.startswith("/api/"):
            return render_template("error.html", error=error), error.code
        code = error.code or 500
        messages = {413: "the body is over 10 MB", 405: "method not allowed", 404: "not found"}
        response = jsonify({"error": messages.get(code, error.description), "problems": []})
        response.status_code = code
        return response

    return app


def secure_cookies(value: str) -> bool:
    """GRADING_SECURE_COOKIES: 1 (the session cookie is sent over HTTPS only) or 0 (the default)."""
    word = value.strip().lower()
    if word not in ("1", "true", "yes", "on", "0", "false", "no", "off", ""):
        raise ValueError(f"GRADING_SECURE_COOKIES={value!r}: use 1 (behind HTTPS) or 0")
    return word in ("1", "true", "yes", "on")


def secret_key(database: str) -> str:
    """GRADING_SECRET_KEY, else a key kept beside the database (made once, readable only by us)."""
    if os.environ.get("GRADING_SECRET_KEY"):
        return os.environ["GRADING_SECRET_KEY"]
    if database == ":memory:":
        return secrets.token_hex(32)
    path = os.path.join(os.path.dirname(os.path.abspath(database)), ".secret_key")
    if not os.path.exists(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_hex(32))
    with open(path) as handle:
        return handle.read().strip()
