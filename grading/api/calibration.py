"""GET /api/calibration: are the points right, judged by won and lost deals (every role reads)."""

from __future__ import annotations

from marshmallow import Schema, fields

from ..http.request import get_db, state
from ..services import calibration as service
from .auth import READ, requires
from .blueprint import api
from .common import ApiError


class CalibrationArgs(Schema):
    model = fields.Str(metadata={"description": "a model name; default the first model"})


class RuleCalibration(Schema):
    id = fields.Str()
    label = fields.Str(allow_none=True)
    dimension = fields.Str(metadata={"description": "fit or activity"})
    points = fields.Float(metadata={"description": "the rule's points in the model now"})
    leads = fields.Int(metadata={"description": "leads with an outcome that met the rule"})
    won = fields.Int()
    win_rate = fields.Float(allow_none=True)
    lift = fields.Float(allow_none=True, metadata={"description": "win rate / overall win rate"})
    share = fields.Float(
        allow_none=True,
        metadata={
            "description": "% of closings: the rule's hits among won leads / all rule hits of won"
            " leads (rules with points >= 0); null for negative rules"
        },
    )
    share_in_dimension = fields.Float(
        allow_none=True,
        metadata={"description": "the same, over hits of rules of this dimension only"},
    )
    suggested_points = fields.Int(allow_none=True, metadata={"description": "round(100 x share)"})


class CellCalibration(Schema):
    name = fields.Str(metadata={"description": "a cell (A4), a fit letter (A) or a number (4)"})
    leads = fields.Int()
    won = fields.Int()
    lost = fields.Int()
    conversion = fields.Float(allow_none=True, metadata={"description": "won / leads"})


class Violation(Schema):
    axis = fields.Str(metadata={"description": "fit (A to D) or activity (4 to 1)"})
    better = fields.Str()
    worse = fields.Str()
    better_conversion = fields.Float()
    worse_conversion = fields.Float()
    text = fields.Str()


class CalibrationOut(Schema):
    model = fields.Str()
    label = fields.Str(allow_none=True)
    leads = fields.Int(metadata={"description": "leads with an outcome, graded as of it"})
    won = fields.Int()
    lost = fields.Int()
    win_rate = fields.Float(allow_none=True)
    outside_audience = fields.Int(
        metadata={"description": "leads with an outcome outside the audience at that time"}
    )
    rules = fields.List(fields.Nested(RuleCalibration))
    cells = fields.List(fields.Nested(CellCalibration), metadata={"description": "A4 ... D1"})
    letters = fields.List(fields.Nested(CellCalibration))
    numbers = fields.List(fields.Nested(CellCalibration))
    fit_falls = fields.Bool(metadata={"description": "conversion falls from A to D"})
    activity_falls = fields.Bool(metadata={"description": "conversion falls from 4 to 1"})
    violations = fields.List(fields.Nested(Violation), metadata={"description": "where not"})
    fit_auc = fields.Float(allow_none=True, metadata={"description": "ROC AUC of the fit score"})
    activity_auc = fields.Float(
        allow_none=True, metadata={"description": "ROC AUC of the activity score"}
    )


@api.get("/calibration")
@requires(READ)
@api.arguments(CalibrationArgs, location="query")
@api.response(200, CalibrationOut)
@api.error(404, "unknown model")
def calibration(params: dict):
    """Rules and cells against won and lost deals, each lead as of its outcome's time"""
    try:
        data = service.calibration(get_db(), state().config, params.get("model"))
    except service.UnknownModel as error:
        raise ApiError(404, str(error), [{"field": "model", "message": "unknown model"}]) from None
    return data
