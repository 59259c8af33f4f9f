"""Erasure, personal-data export and the audit log in the API (admin only)."""

from __future__ import annotations

from flask import g
from marshmallow import Schema, fields

from ..http.list_args import AuditArgs
from ..http.request import get_db, state
from ..services import privacy, users
from .auth import ADMIN, requires
from .blueprint import api
from .common import ApiError


class ErasedOut(Schema):
    lead = fields.Str()
    deleted = fields.Dict(
        keys=fields.Str(), values=fields.Int(), metadata={"description": "rows per table"}
    )
    audit_id = fields.Int(metadata={"description": "the audit entry of this erasure"})
    wal_cleared = fields.Bool(
        metadata={
            "description": "false: readers kept the WAL from being truncated, so it may hold"
            " older pages until the next checkpoint"
        }
    )


class LeadExportOut(Schema):
    exported_at = fields.Str()
    lead = fields.Dict(metadata={"description": "id, person, company, lifecycle, owner, times"})
    grades = fields.List(fields.Dict())
    history = fields.List(fields.Dict())
    events = fields.List(fields.Dict(), metadata={"description": "every event, newest first"})
    outcomes = fields.List(fields.Dict())
    webhook_messages = fields.List(fields.Dict())
    other = fields.Dict(metadata={"description": "rows of any other table that names the lead"})


class AuditEntry(Schema):
    id = fields.Int()
    at = fields.Str()
    actor = fields.Str()
    action = fields.Str()
    target = fields.Str(allow_none=True)
    detail = fields.Dict()
    summary = fields.Str(metadata={"description": "the detail as people read it"})


class AuditOut(Schema):
    entries = fields.List(fields.Nested(AuditEntry))


def actor() -> str:
    return f"token:{g.token['name']} #{g.token['id']}"


@api.get("/leads/<lead:lead_id>/export")
@requires(ADMIN)
@api.response(200, LeadExportOut)
@api.error(404, "no lead with this id")
def export_lead(lead_id: str):
    """Everything stored about one person"""
    document = privacy.export_lead(get_db(), state().config, lead_id)
    if document is None:
        raise ApiError(404, f"no lead '{lead_id}'")
    return document


@api.delete("/leads/<lead:lead_id>")
@requires(ADMIN)
@api.response(200, ErasedOut)
@api.error(404, "no lead with this id")
def erase_lead(lead_id: str):
    """Erase a person: lead, events, outcomes, grades, history, webhook messages"""
    erased = privacy.forget(get_db(), state().config, lead_id, actor())
    if erased is None:
        raise ApiError(404, f"no lead '{lead_id}'")
    return {"lead": lead_id, **erased}


@api.get("/audit")
@requires(ADMIN)
@api.arguments(AuditArgs, location="query")
@api.response(200, AuditOut)
def audit_log(params: dict):
    """The audit log, newest first"""
    return {"entries": users.audit_log(get_db(), params["limit"], params.get("before"))}
