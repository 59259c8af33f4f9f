"""Leads in the API: the list (filtered, sorted, paged), one lead with everything about it, and
the changes sales makes by hand (lifecycle, owner, qualification ticks)."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from grading.core.qualification import QualificationError, is_qualified
from grading.core.records import LIFECYCLES, MAX_ID
from grading.core.times import epoch_text

from ..http.list_args import LeadListArgs
from ..http.request import get_db, state
from ..services import ingest
from ..services import leads as lead_service
from ..services import qualification as qualification_service
from ..services import reports as report_service
from . import privacy
from .auth import READ, SALES, requires
from .blueprint import api
from .common import UNKNOWN_MODEL, ApiError, model_and_category, page_of
from .imports import refused
from .schemas import GradeOut, LeadList, Route

NO_LEAD = "no lead with this id"


class LeadPatch(Schema):
    lifecycle = fields.Str(validate=validate.OneOf(LIFECYCLES))
    owner = fields.Str(allow_none=True, validate=validate.Length(0, MAX_ID))
    qualification = fields.Dict(
        keys=fields.Str(),
        values=fields.Raw(),
        metadata={
            "description": "criterion id -> true (tick) or false (untick); others stay as they are"
        },
    )

    @validates_schema
    def something(self, data, **kwargs):
        if not data:
            raise ValidationError("give lifecycle, owner and/or qualification")


class HistoryOut(Schema):
    model = fields.Str()
    category = fields.Str(allow_none=True)
    from_ = fields.Str(data_key="from", attribute="from", allow_none=True)
    to = fields.Str(allow_none=True)
    from_route = fields.Nested(Route, allow_none=True)
    to_route = fields.Nested(Route, allow_none=True)
    at = fields.Str()
    reason = fields.Str()


class EventOut(Schema):
    id = fields.Str(allow_none=True)
    type = fields.Str()
    at = fields.Str()
    properties = fields.Dict()


class CriterionOut(Schema):
    id = fields.Str()
    label = fields.Str()
    ticked = fields.Bool()


class QualificationOut(Schema):
    qualified = fields.Bool(metadata={"description": "every criterion ticked"})
    criteria = fields.List(fields.Nested(CriterionOut))


class LeadOut(Schema):
    id = fields.Str()
    name = fields.Str(
        allow_none=True, metadata={"description": "name, else first and last name, else e-mail"}
    )
    person = fields.Dict()
    company = fields.Dict()
    lifecycle = fields.Str()
    owner = fields.Str(allow_none=True)
    handed_over_at = fields.Str(allow_none=True)
    created_at = fields.Str()
    updated_at = fields.Str()
    grades = fields.List(fields.Nested(GradeOut))
    history = fields.List(fields.Nested(HistoryOut))
    events = fields.List(fields.Nested(EventOut), metadata={"description": "the latest 20"})
    events_total = fields.Int(metadata={"description": "every event stored for the lead"})
    qualification = fields.Nested(QualificationOut)


@api.get("/leads")
@requires(READ)
@api.arguments(LeadListArgs, location="query")
@api.response(200, LeadList)
@api.error(404, UNKNOWN_MODEL)
def list_leads(params: dict):
    """Leads with their grade in a model or category"""
    model, category = model_and_category(params)
    lead_filter = lead_service.lead_filter(model, category, params)
    if lead_filter.qualified is not None:
        qualification_service.ready_to_filter(get_db(), state().config)
    per_page, page = params["per_page"], params["page"]
    rows, total = lead_service.list_page(get_db(), lead_filter, params)
    config = state().config
    for row in rows:
        report_service.explain_row(config, row)
        row["qualified"] = is_qualified(row["person"], config.qualification)
    return page_of(rows, total, page, per_page)


@api.get("/leads/<lead:lead_id>")
@requires(READ)
@api.response(200, LeadOut)
@api.error(404, NO_LEAD)
def get_lead(lead_id: str):
    """One lead with every grade, explanation, history and events"""
    report = report_service.lead_report(get_db(), state().config, lead_id)
    if report is None:
        raise ApiError(404, f"no lead '{lead_id}'")
    for event in report["events"]:
        event["at"] = epoch_text(event["at"])
    return report


@api.patch("/leads/<lead:lead_id>")
@requires(SALES)
@api.arguments(LeadPatch)
@api.response(200, LeadOut)
@api.error(404, NO_LEAD)
def patch_lead(changes: dict, lead_id: str):
    """Change lifecycle, owner and/or tick qualification criteria"""
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
