"""The web view: server-rendered pages for sales and marketing (templates/ holds the pages).

`web` is the blueprint (blueprint.py); each page group is a module that adds its routes to it."""

from __future__ import annotations

from flask import Flask

from . import accounts, calibration, exports, leads, login, models, preview, privacy
from .blueprint import init_csrf, web

PAGE_GROUPS = (accounts, calibration, exports, leads, login, models, preview, privacy)

__all__ = ["PAGE_GROUPS", "init_app", "web"]


def init_app(app: Flask) -> None:
    """The blueprint with its CSRF check and its login throttle."""
    init_csrf(app)
    login.init_throttle(app)
    app.register_blueprint(web)
