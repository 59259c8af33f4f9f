"""Grades in the API: the matrix of cells, the routes with their member counts, and the leads on
one route."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from ..http.request import get_db, state
from ..services import leads as lead_service
from ..services import reports as report_service
from .auth import READ, requires
from .blueprint import api
from .common import UNKNOWN_MODEL, model_and_category, page_of
from .schemas import LeadList, Route


class MatrixArgs(Schema):
    model = fields.Str()
    category = fields.Str()


class RouteMembersArgs(Schema):
    model = fields.Str()
    category = fields.Str()
    to = fields.Str(required=True)
    queue = fields.Str()
    campaign = fields.Str()
    page = fields.Int(load_default=1, validate=validate.Range(1, 1_000_000))
    per_page = fields.Int(load_default=100, validate=validate.Range(1, 1000))


class Cell(Schema):
    leads = fields.Int()
    won = fields.Int()
    lost = fields.Int()
    conversion = fields.Float(allow_none=True)


class MatrixOut(Schema):
    model = fields.Str()
    category = fields.Str(allow_none=True)
    cells = fields.Dict(keys=fields.Str(), values=fields.Nested(Cell))
    total = fields.Int()


class RouteCount(Schema):
    model = fields.Str()
    category = fields.Str(allow_none=True)
    route = fields.Nested(Route)
    members = fields.Int()


class RoutesOut(Schema):
    routes = fields.List(fields.Nested(RouteCount))


@api.get("/matrix")
@requires(READ)
@api.arguments(MatrixArgs, location="query")
@api.response(200, MatrixOut)
@api.error(404, UNKNOWN_MODEL)
def matrix(params: dict):
    """Leads, won, lost and conversion per cell"""
    model, category = model_and_category(params)
    cells = lead_service.cell_stats(get_db(), model, category)
    return {
        "model": model,
        "category": category or None,
        "cells": cells,
        "total": sum(c["leads"] for c in cells.values()),
    }


@api.get("/routes")
@requires(READ)
@api.arguments(MatrixArgs, location="query")
@api.response(200, RoutesOut)
@api.error(404, UNKNOWN_MODEL)
def routes(params: dict):
    """Every route with its member count"""
    names = [params["model"]] if params.get("model") else [m.name for m in state().config.models]
    for name in names:
        model_and_category({"model": name})
    config = state().config
    rows = [
        row for name in names for row in report_service.route_counts(get_db(), config.model(name))
    ]
    return {"routes": rows}


@api.get("/routes/members")
@requires(READ)
@api.arguments(RouteMembersArgs, location="query")
@api.response(200, LeadList)
@api.error(404, UNKNOWN_MODEL)
def route_members(params: dict):
    """The leads on one route"""
    model, category = model_and_category(params)
    route = (params["to"], params.get("queue"), params.get("campaign"))
    per_page, page = params["per_page"], params["page"]
    rows, total = lead_service.route_page(get_db(), model, category, route, page, per_page)
    for row in rows:
        report_service.explain_row(state().config, row)
    return page_of(rows, total, page, per_page)
