"""Imports through the API: leads, events and won/lost outcomes, each batch stored whole or not
at all and its leads re-graded before the answer (the importer's own validation and writes)."""

from __future__ import annotations

from datetime import UTC, datetime

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from grading.core.records import MAX_ID, RecordError, parse_event, parse_lead
from grading.core.times import epoch

from ..http.request import get_db, state
from ..services import ingest
from . import privacy
from .auth import WRITE, requires
from .blueprint import api, body
from .common import ApiError, json_body

MAX_BATCH = 10_000


def free_form(description: str | None = None, *, nullable: bool = False) -> fields.Dict:
    """Free-form attributes: string keys, any value or null; an empty object when left out
    (`nullable`: null itself is accepted too)."""
    return fields.Dict(
        keys=fields.Str(),
        values=fields.Raw(allow_none=True),
        load_default=dict,
        allow_none=nullable,
        metadata={"description": description} if description else None,
    )


class LeadIn(Schema):
    id = fields.Str(required=True, validate=validate.Length(1, MAX_ID))
    person = free_form("free-form; null removes")
    company = free_form("shared by domain, else name")

    @validates_schema
    def attributes(self, data, **kwargs):
        try:
            parse_lead(data)
        except RecordError as error:
            raise ValidationError(_by_field(error)) from None


def _by_field(error: RecordError) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, reason in error.problems:
        out.setdefault(name or "_schema", []).append(reason)
    return out


class LeadBatchIn(Schema):
    leads = fields.List(
        fields.Nested(LeadIn), required=True, validate=validate.Length(1, MAX_BATCH)
    )


class EventIn(Schema):
    id = fields.Str(
        allow_none=True,
        validate=validate.Length(1, MAX_ID),
        metadata={"description": "makes resending harmless"},
    )
    lead = fields.Str(required=True, validate=validate.Length(1, MAX_ID))
    type = fields.Str(required=True, validate=validate.Length(1, MAX_ID))
    at = fields.Str(
        required=True, metadata={"format": "date-time", "description": "ISO-8601 with offset"}
    )
    properties = free_form(nullable=True)

    @validates_schema
    def checked(self, data, **kwargs):
        """The fields above document the shape; core.records.parse_event decides."""
        try:
            parse_event(data, epoch(datetime.now(UTC)))
        except RecordError as error:
            raise ValidationError(_by_field(error)) from None


class EventBatchIn(Schema):
    events = fields.List(
        fields.Nested(EventIn), required=True, validate=validate.Length(1, MAX_BATCH)
    )


class EventEnvelopeIn(Schema):
    """The envelope of EventBatchIn; its items are checked by grading.core.records.parse_event,
    the importer's validation, which agrees with EventIn (tested) at a tenth of the cost."""

    events = fields.List(fields.Raw(), required=True, validate=validate.Length(1, MAX_BATCH))


class OutcomeIn(Schema):
    lead = fields.Str(required=True, validate=validate.Length(1, MAX_ID))
    outcome = fields.Str(required=True, validate=validate.OneOf(["won", "lost"]))
    at = fields.Str(required=True, metadata={"format": "date-time"})
    amount = fields.Float(allow_none=True, allow_nan=False)


class OutcomeBatchIn(Schema):
    outcomes = fields.List(
        fields.Nested(OutcomeIn), required=True, validate=validate.Length(1, MAX_BATCH)
    )


class IngestOut(Schema):
    received = fields.Int()
    stored = fields.Int()
    duplicates = fields.Int()
    regraded = fields.Int(metadata={"description": "leads re-graded before the response"})
    changed = fields.Int(metadata={"description": "grades whose cell or route changed"})


def refused(kind: str, failed: ingest.ImportFailed) -> ApiError:
    """The 422 of a batch the import refused, each problem named by its item's place."""
    problems = [
        {"field": f"{kind}[{position}]" + (f".{name}" if name else ""), "message": reason}
        for position, name, reason in failed.result.details
    ]
    return ApiError(422, f"{len(problems)} problem(s); nothing was stored", problems)


def import_items(kind: str, items: list[dict]) -> dict:
    """One batch through the importer: stored whole, its leads re-graded, or a 422 listing every
    problem by item."""
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


@api.post("/leads")
@requires(WRITE)
@api.arguments(LeadIn)
@api.response(200, IngestOut)
def upsert_lead(lead: dict):
    """Create or update one lead (re-graded at once)"""
    return import_items("leads", [lead]), 200


@api.post("/leads/batch")
@requires(WRITE)
@api.arguments(LeadBatchIn)
@api.response(200, IngestOut)
def upsert_leads(batch: dict):
    """Create or update up to 10,000 leads"""
    return import_items("leads", batch["leads"]), 200


@api.post("/events")
@requires(WRITE)
@api.documents_body(EventBatchIn)
@api.response(200, IngestOut)
def post_events():
    """Up to 10,000 events; their leads are re-graded at once"""
    # A well-formed envelope skips the schema (which copies each of up to 10,000 items through a
    # field); anything else goes through it for the same errors as always.
    data = json_body()
    events = data.get("events") if type(data) is dict and len(data) == 1 else None
    if not (
        type(events) is list
        and 1 <= len(events) <= MAX_BATCH
        and not any(item is None for item in events)  # the schema refuses null items
    ):
        events = body(EventEnvelopeIn())["events"]
    return import_items("events", events), 200


@api.post("/outcomes")
@requires(WRITE)
@api.arguments(OutcomeBatchIn)
@api.response(200, IngestOut)
def post_outcomes(batch: dict):
    """Won and lost deals, for calibration"""
    return import_items("outcomes", batch["outcomes"]), 200
