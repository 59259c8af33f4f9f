"""Erasure, personal-data export and the audit log in the API (admin only)."""

from __future__ import annotations

from flask import g
from marshmallow import Schema, fields

from ..list_args import AuditArgs
from ..services import privacy
from ..store import audit
from . import api, args
from .auth import ADMIN, requires
from .common import ApiError, get_db, state
from .openapi import route


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


@route(
    "GET", "/leads/{lead_id}/export", LeadExportOut, summary="Everything stored about one person"
)
@api.get("/leads/<lead:lead_id>/export")
@requires(ADMIN)
def export_lead(lead_id: str):
    document = privacy.export_lead(get_db(), state().config, lead_id)
    if document is None:
        raise ApiError(404, f"no lead '{lead_id}'")
    return LeadExportOut().dump(document)


@route(
    "DELETE",
    "/leads/{lead_id}",
    ErasedOut,
    summary="Erase a person: lead, events, outcomes, grades, history, webhook messages",
)
@api.delete("/leads/<lead:lead_id>")
@requires(ADMIN)
def erase_lead(lead_id: str):
    erased = privacy.forget(get_db(), state().config, lead_id, actor())
    if erased is None:
        raise ApiError(404, f"no lead '{lead_id}'")
    return ErasedOut().dump({"lead": lead_id, **erased})


@route("GET", "/audit", AuditOut, query=AuditArgs, summary="The audit log, newest first")
@api.get("/audit")
@requires(ADMIN)
def audit_log():
    params = args(AuditArgs())
    return AuditOut().dump(
        {"entries": audit.entries(get_db(), params["limit"], params.get("before"))}
    )
