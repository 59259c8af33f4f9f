"""The JSON API under /api: thin handlers that validate, call a service and serialise."""

from __future__ import annotations

import math

from flask import Blueprint, current_app, g, jsonify, request
from marshmallow import Schema, ValidationError

from grading.core.qualification import QualificationError, is_qualified
from grading.core.times import epoch_text, from_epoch, parse_time

from ..services import export as export_service
from ..services import ingest
from ..services import leads as lead_service
from ..services import qualification as qualification_service
from ..services.runs import Busy, run_regrade
from ..store import grades as grade_store
from ..store import queries
from ..store import runs as run_store
from ..store.db import schema_version
from . import schemas as s
from .auth import ADMIN, READ, SALES, WRITE, requires
from .common import ApiError, get_db, json_body, load_query, problems_of, state
from .openapi import route

api = Blueprint("api", __name__, url_prefix="/api")


def body(schema: Schema) -> dict:
    data = json_body()
    try:
        return schema.load(data)
    except ValidationError as error:
        raise ApiError(422, "invalid request", problems_of(error.messages)) from None


def args(schema: Schema) -> dict:
    params, problems = load_query(schema, request.args)
    if problems:
        raise ApiError(
            400, "invalid query", [{"field": p["field"], "message": p["message"]} for p in problems]
        )
    return params


def model_and_category(params: dict) -> tuple[str, str]:
    config = state().config
    name = params.get("model") or config.models[0].name
    model = config.model(name)
    if model is None:
        raise ApiError(
            404, f"unknown model '{name}'", [{"field": "model", "message": "unknown model"}]
        )
    category = params.get("category") or ""
    if category and model.category(category) is None:
        raise ApiError(
            404,
            f"unknown category '{category}'",
            [{"field": "category", "message": "unknown category"}],
        )
    return name, category


def refused(kind: str, failed: ingest.ImportFailed) -> ApiError:
    """The 422 of a batch the import refused, each problem named by its item's place."""
    problems = [
        {"field": f"{kind}[{position}]" + (f".{name}" if name else ""), "message": reason}
        for position, name, reason in failed.result.details
    ]
    return ApiError(422, f"{len(problems)} problem(s); nothing was stored", problems)


def _ingest(kind: str, items: list[dict]) -> dict:
    records = [(str(i), item) for i, item in enumerate(items)]
    current = state()
    try:
        # the model as it is once the batch holds the write lock (see import_records)
        result = ingest.import_records(
            get_db(), lambda: current.config, kind, records, source=kind, actor=privacy.actor()
        )
    except ingest.ImportFailed as failed:
        raise refused(kind, failed) from None
    graded = result.regraded
    return {
        "received": len(items),
        "stored": result.stored,
        "duplicates": result.duplicates,
        "regraded": graded.leads if graded else 0,
        "changed": graded.changed if graded else 0,
    }


@route("GET", "/health", s.Health, summary="Liveness; open without a token")
@api.get("/health")
def health():
    return {
        "status": "ok",
        "schema_version": schema_version(get_db()),
        "model_digest": state().loaded.digest,
    }


@route(
    "POST", "/leads", s.IngestOut, s.LeadIn, summary="Create or update one lead (re-graded at once)"
)
@api.post("/leads")
@requires(WRITE)
def upsert_lead():
    return _ingest("leads", [body(s.LeadIn())]), 200


@route(
    "POST",
    "/leads/batch",
    s.IngestOut,
    s.LeadBatchIn,
    summary="Create or update up to 10,000 leads",
)
@api.post("/leads/batch")
@requires(WRITE)
def upsert_leads():
    return _ingest("leads", body(s.LeadBatchIn())["leads"]), 200


@route(
    "GET",
    "/leads",
    s.LeadList,
    query=s.LeadListArgs,
    summary="Leads with their grade in a model or category",
)
@api.get("/leads")
@requires(READ)
def list_leads():
    params = args(s.LeadListArgs())
    model, category = model_and_category(params)
    lead_filter = queries.LeadFilter.from_params(model, category, params)
    if lead_filter.qualified is not None:
        qualification_service.ready_to_filter(get_db(), state().config)
    per_page, page = params["per_page"], params["page"]
    rows, total = queries.list_page(get_db(), lead_filter, params)
    config = state().config
    for row in rows:
        export_service.explain_row(config, row)
        row["qualified"] = is_qualified(row["person"], config.qualification)
    return s.LeadList().dump(
        {
            "items": rows,
            "total": total,
            "page": page,
            "per_page": per_page,
            "pages": math.ceil(total / per_page),
        }
    )


@route(
    "GET",
    "/leads/{lead_id}",
    s.LeadOut,
    summary="One lead with every grade, explanation, history and events",
)
@api.get("/leads/<lead:lead_id>")
@requires(READ)
def get_lead(lead_id: str):
    report = export_service.lead_report(get_db(), state().config, lead_id)
    if report is None:
        raise ApiError(404, f"no lead '{lead_id}'")
    for event in report["events"]:
        event["at"] = epoch_text(event["at"])
    return s.LeadOut().dump(report)


@route(
    "PATCH",
    "/leads/{lead_id}",
    s.LeadOut,
    s.LeadPatch,
    summary="Change lifecycle, owner and/or tick qualification criteria",
)
@api.patch("/leads/<lead:lead_id>")
@requires(SALES)
def patch_lead(lead_id: str):
    changes = body(s.LeadPatch())
    current = state()
    try:  # audited by the import, as every lead write
        lead_service.edit_lead(
            get_db(),
            lambda: current.config,
            lead_id,
            changes,
            actor=privacy.actor(),
            source="leads",
        )
    except lead_service.LeadNotFound:
        raise ApiError(404, f"no lead '{lead_id}'") from None
    except QualificationError as error:
        problems = [{"field": f, "message": m} for f, m in error.problems]
        raise ApiError(422, "invalid request", problems) from None
    except ingest.ImportFailed as failed:
        raise refused("leads", failed) from None
    return get_lead(lead_id)


@route(
    "POST",
    "/events",
    s.IngestOut,
    s.EventBatchIn,
    summary="Up to 10,000 events; their leads are re-graded at once",
)
@api.post("/events")
@requires(WRITE)
def post_events():
    # A well-formed envelope skips the schema (which copies each of up to 10,000 items through a
    # field); anything else goes through it for the same errors as always.
    data = json_body()
    events = data.get("events") if type(data) is dict and len(data) == 1 else None
    if not (
        type(events) is list
        and 1 <= len(events) <= s.MAX_BATCH
        and not any(item is None for item in events)  # the schema refuses null items
    ):
        events = body(s.EventEnvelopeIn())["events"]
    return _ingest("events", events), 200


@route(
    "POST",
    "/outcomes",
    s.IngestOut,
    s.OutcomeBatchIn,
    summary="Won and lost deals, for calibration",
)
@api.post("/outcomes")
@requires(WRITE)
def post_outcomes():
    return _ingest("outcomes", body(s.OutcomeBatchIn())["outcomes"]), 200


@route(
    "GET",
    "/matrix",
    s.MatrixOut,
    query=s.MatrixArgs,
    summary="Leads, won, lost and conversion per cell",
)
@api.get("/matrix")
@requires(READ)
def matrix():
    model, category = model_and_category(args(s.MatrixArgs()))
    cells = grade_store.cell_stats(get_db(), model, category)
    return s.MatrixOut().dump(
        {
            "model": model,
            "category": category or None,
            "cells": cells,
            "total": sum(c["leads"] for c in cells.values()),
        }
    )


@route(
    "GET", "/routes", s.RoutesOut, query=s.MatrixArgs, summary="Every route with its member count"
)
@api.get("/routes")
@requires(READ)
def routes():
    params = args(s.MatrixArgs())
    names = [params["model"]] if params.get("model") else [m.name for m in state().config.models]
    for name in names:
        model_and_category({"model": name})
    config = state().config
    rows = [
        row for name in names for row in export_service.route_counts(get_db(), config.model(name))
    ]
    return s.RoutesOut().dump({"routes": rows})


@route(
    "GET", "/routes/members", s.LeadList, query=s.RouteMembersArgs, summary="The leads on one route"
)
@api.get("/routes/members")
@requires(READ)
def route_members():
    params = args(s.RouteMembersArgs())
    model, category = model_and_category(params)
    lead_filter = queries.LeadFilter(
        model=model,
        category=category,
        routes=[(params["to"], params.get("queue"), params.get("campaign"))],
    )
    per_page, page = params["per_page"], params["page"]
    rows, total = queries.list_leads(  # hot cells first
        get_db(), lead_filter, descending=True, limit=per_page, offset=(page - 1) * per_page
    )
    for row in rows:
        export_service.explain_row(state().config, row)
    return s.LeadList().dump(
        {
            "items": rows,
            "total": total,
            "page": page,
            "per_page": per_page,
            "pages": math.ceil(total / per_page),
        }
    )


@route("GET", "/runs", s.RunsOut, summary="The latest re-grade runs")
@api.get("/runs")
@requires(READ)
def runs():
    import time

    db = get_db()
    return s.RunsOut().dump(
        {
            "runs": run_store.list_runs(db),
            "running": run_store.lease_holder(db, "regrade", time.time()),
        }
    )


@route(
    "POST",
    "/regrade",
    s.RunOut,
    s.RegradeIn,
    summary="Re-grade everyone now (409 while another run holds the lease)",
)
@api.post("/regrade")
@requires(ADMIN)
def regrade_now():
    params = body(s.RegradeIn()) if request.content_length else {}
    models = None
    if params.get("model"):
        model_and_category({"model": params["model"]})
        models = [params["model"]]
    as_of = None
    if params.get("as_of"):
        problems: list = []
        at = parse_time(params["as_of"], "as_of", problems)
        if problems:
            raise ApiError(
                422, "invalid request", [{"field": f, "message": m} for f, m in problems]
            )
        as_of = from_epoch(at)
    try:
        run = run_regrade(get_db(), state().loaded, trigger="manual", as_of=as_of, models=models)
    except Busy as busy:
        raise ApiError(409, f"a re-grade is already running ({busy})") from None
    return s.RunOut().dump(run)


def models_document() -> dict:
    current = state()
    loaded = current.loaded
    return {
        "path": loaded.path,
        "digest": loaded.digest,
        "schedule": loaded.config.schedule,
        "models": [
            {
                "name": m.name,
                "label": m.label,
                "categories": [c.name for c in m.categories],
                "fit_rules": len(m.fit_rules),
                "activity_rules": len(m.activity.rules),
            }
            for m in loaded.config.models
        ],
        "refused": current.problems,
    }


@route("GET", "/models", s.ModelsOut, summary="The active model file and its models")
@api.get("/models")
@requires(READ)
def models():
    return s.ModelsOut().dump(models_document())


@route(
    "POST",
    "/models/reload",
    s.ReloadOut,
    summary="Re-read the model file; a valid change re-grades everyone",
)
@api.post("/models/reload")
@requires(ADMIN)
def reload_models():
    from ..scheduler import reload_and_regrade

    outcome = reload_and_regrade(current_app, trigger="manual", actor=privacy.actor())
    status = 422 if outcome["problems"] else 200
    return s.ReloadOut().dump(outcome), status


@route("GET", "/webhooks", s.WebhooksOut, summary="Delivery state of each webhook")
@api.get("/webhooks")
@requires(READ)
def webhooks():
    from ..services import webhooks as webhook_service

    items = webhook_service.status(get_db(), state().config)
    if g.token["role"] not in ADMIN:  # receivers' tokens ride in URLs: admins only see them
        items = [{**item, "url": webhook_service.public_url(item["url"])} for item in items]
    return s.WebhooksOut().dump({"webhooks": items})


@api.get("/openapi.json")
@requires(READ)
def openapi():
    from .openapi import document

    return jsonify(document())


from . import (  # noqa: E402
    accounts,  # noqa: F401  (GET /accounts and /accounts/{id} register on api)
    calibration,  # noqa: F401  (GET /calibration registers on api)
    preview,  # noqa: F401  (POST /models/preview registers on api)
    privacy,  # its endpoints register on api
)
