"""The service itself in the API: health, the re-grade runs (and running one now), and the model
file in use (and re-reading it)."""

from __future__ import annotations

from marshmallow import Schema, fields

from grading.core.times import TimeTextError, parse_as_of

from ..http.request import get_db, reread_model_file, state
from ..services.database import schema_version
from ..services.runs import Busy, recent_runs, run_regrade
from . import privacy
from .auth import ADMIN, READ, requires
from .blueprint import api
from .common import ApiError, model_and_category


class Health(Schema):
    status = fields.Str()
    schema_version = fields.Int()
    model_digest = fields.Str()


class RegradeIn(Schema):
    model = fields.Str()
    as_of = fields.Str(metadata={"format": "date-time"})


class RunOut(Schema):
    id = fields.Int()
    trigger = fields.Str()
    reason = fields.Str()
    started_at = fields.Str()
    finished_at = fields.Str(allow_none=True)
    leads = fields.Int(allow_none=True)
    changed = fields.Int(allow_none=True)
    rows_written = fields.Int(allow_none=True)
    kept = fields.Int(
        allow_none=True,
        metadata={
            "description": "of the leads, those not read again: nothing changed their grades"
        },
    )
    model_digest = fields.Str(allow_none=True)
    error = fields.Str(allow_none=True)


class RunsOut(Schema):
    runs = fields.List(fields.Nested(RunOut))
    running = fields.Str(allow_none=True, metadata={"description": "holder of the re-grade lease"})


class ModelOut(Schema):
    name = fields.Str()
    label = fields.Str(allow_none=True)
    categories = fields.List(fields.Str())
    fit_rules = fields.Int()
    activity_rules = fields.Int()


class ModelsOut(Schema):
    path = fields.Str()
    digest = fields.Str()
    schedule = fields.Str(allow_none=True)
    models = fields.List(fields.Nested(ModelOut))
    refused = fields.List(
        fields.Str(), metadata={"description": "problems of a newer file that was refused"}
    )


class ReloadOut(Schema):
    changed = fields.Bool()
    problems = fields.List(fields.Str())
    run = fields.Nested(RunOut, allow_none=True)


@api.get("/health")
@api.doc(security=[])
@api.response(200, Health)
def health():
    """Liveness; open without a token"""
    return {
        "status": "ok",
        "schema_version": schema_version(get_db()),
        "model_digest": state().loaded.digest,
    }


@api.get("/runs")
@requires(READ)
@api.response(200, RunsOut)
def runs():
    """The latest re-grade runs"""
    return recent_runs(get_db())


@api.post("/regrade")
@requires(ADMIN)
@api.arguments(RegradeIn, required=False)
@api.response(200, RunOut)
@api.error(404, "unknown model")
@api.error(409, "another re-grade holds the lease")
def regrade_now(params: dict):
    """Re-grade everyone now (409 while another run holds the lease)"""
    models = None
    if params.get("model"):
        model_and_category({"model": params["model"]})
        models = [params["model"]]
    as_of = None
    if params.get("as_of"):
        try:
            as_of = parse_as_of(params["as_of"], "as_of")
        except TimeTextError as error:
            problem = {"field": "as_of", "message": error.reason}
            raise ApiError(422, "invalid request", [problem]) from None
    try:
        run = run_regrade(get_db(), state().loaded, trigger="manual", as_of=as_of, models=models)
    except Busy as busy:
        raise ApiError(409, f"a re-grade is already running ({busy})") from None
    return run


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


@api.get("/models")
@requires(READ)
@api.response(200, ModelsOut)
def models():
    """The active model file and its models"""
    return models_document()


@api.post("/models/reload")
@requires(ADMIN)
@api.response(200, ReloadOut)
@api.alt_response(
    422,
    schema=ReloadOut,
    description="the file was refused, its problems listed: the old one serves on",
)
def reload_models():
    """Re-read the model file; a valid change re-grades everyone"""
    outcome = reread_model_file(actor=privacy.actor())
    status = 422 if outcome["problems"] else 200
    return outcome, status
