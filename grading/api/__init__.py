"""The JSON API under /api: thin handlers that validate, call a service and serialise.

One module per resource, each with its schemas and its endpoints, declared once on the
blueprint (blueprint.py): imports (leads, events, outcomes), leads, grades (matrix, routes),
runs (health, re-grades, the model file), webhooks, accounts, calibration, preview, privacy;
auth.py holds who may call what, openapi.py the document."""

from __future__ import annotations

from . import (  # noqa: F401  (their endpoints register on api)
    accounts,
    calibration,
    grades,
    imports,
    leads,
    openapi,
    preview,
    privacy,
    runs,
    webhooks,
)
from .blueprint import api

__all__ = ["api"]
