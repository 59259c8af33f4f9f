"""The web view: server-rendered pages for sales and marketing (templates/ holds the pages).

`web` is the blueprint (blueprint.py); each page group is a module that adds its routes to it."""

from __future__ import annotations

from . import accounts, calibration, exports, leads, login, models, preview, privacy
from .blueprint import web

PAGE_GROUPS = (accounts, calibration, exports, leads, login, models, preview, privacy)

__all__ = ["PAGE_GROUPS", "web"]
