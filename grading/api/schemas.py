"""Request and response schemas of the API; the OpenAPI document is generated from these."""

from __future__ import annotations

from datetime import UTC, datetime

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from grading.core.records import LIFECYCLES, MAX_ID, RecordError, parse_event, parse_lead
from grading.core.scoring import epoch

MAX_BATCH = 10_000
CELL = validate.Regexp(r"^[A-D][1-4]$", error="must be a cell like A4")
ATTRIBUTES = {"keys": fields.Str(), "values": fields.Raw(allow_none=True)}


class LeadIn(Schema):
    id = fields.Str(required=True, validate=validate.Length(1, MAX_ID))
    person = fields.Dict(
        **ATTRIBUTES, load_default=dict, metadata={"description": "free-form; null removes"}
    )
    company = fields.Dict(
        **ATTRIBUTES, load_default=dict, metadata={"description": "shared by domain, else name"}
    )

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
    properties = fields.Dict(**ATTRIBUTES, allow_none=True, load_default=dict)

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


class SortedListArgs(Schema):
    """`sort` and `order` of a list. `order=asc` is always the lowest value first, `desc` the
    highest: for `grade` the value is how hot the cell is (D1 lowest, A4 highest), for times how
    recent. Without `order` a sort goes its own way (SORTS: best, highest or newest first; names
    and ids A to Z), which is also what the web view's first click on a column shows."""

    SORTS: dict[str, str] = {}  # sort -> its default order

    order = fields.Str(
        validate=validate.OneOf(["asc", "desc"]),
        metadata={
            "description": "asc: lowest first (for grade: D1 first), desc: highest first;"
            " default: desc, but asc for name and id"
        },
    )

    @post_load
    def own_order(self, data, **kwargs):
        data.setdefault("order", self.SORTS[data["sort"]])
        return data


LEAD_SORTS = {
    "grade": "desc",
    "fit_score": "desc",
    "activity_score": "desc",
    "last_activity": "desc",
    "name": "asc",
    "id": "asc",
    "updated": "desc",
}


class LeadListArgs(SortedListArgs):
    SORTS = LEAD_SORTS

    model = fields.Str(metadata={"description": "default: the first model"})
    category = fields.Str()
    cell = fields.List(fields.Str(validate=CELL), load_default=list)
    fit = fields.List(fields.Str(validate=validate.OneOf(list("ABCD"))), load_default=list)
    activity = fields.List(fields.Int(validate=validate.Range(1, 4)), load_default=list)
    lifecycle = fields.List(fields.Str(validate=validate.OneOf(LIFECYCLES)), load_default=list)
    owner = fields.List(fields.Str(), load_default=list)
    qualified = fields.Bool(
        metadata={"description": "true: every qualification criterion ticked; false: not"}
    )
    q = fields.Str(
        validate=validate.Length(1, 200),
        metadata={
            "description": "words in the name, e-mail, title, company name or domain, or lead id"
            " (every word must match, the last as a prefix; case and accents ignored)"
        },
    )
    sort = fields.Str(load_default="grade", validate=validate.OneOf(list(LEAD_SORTS)))
    page = fields.Int(load_default=1, validate=validate.Range(1, 1_000_000))
    per_page = fields.Int(load_default=50, validate=validate.Range(1, 1000))


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


class RegradeIn(Schema):
    model = fields.Str()
    as_of = fields.Str(metadata={"format": "date-time"})


# responses ---------------------------------------------------------------------------------


class Contribution(Schema):
    rule = fields.Str()
    label = fields.Str(allow_none=True)
    dimension = fields.Str(metadata={"enum": ["fit", "activity"]})
    points = fields.Float(
        metadata={"description": "after decay and caps; they add up to the score"}
    )
    events = fields.Int(metadata={"description": "activity rules: matching events in the window"})
    min_count = fields.Int(metadata={"description": "threshold rules: the events that earn points"})


class Progress(Schema):
    """A threshold rule with matching events, fewer than its min_count: it earned nothing yet."""

    rule = fields.Str()
    label = fields.Str(allow_none=True)
    dimension = fields.Str(metadata={"enum": ["activity"]})
    events = fields.Int(metadata={"description": "matching events in the window"})
    min_count = fields.Int(metadata={"description": "the events it takes to earn its points"})


class Route(Schema):
    to = fields.Str()
    queue = fields.Str()
    campaign = fields.Str()


class GradeOut(Schema):
    model = fields.Str()
    category = fields.Str(allow_none=True)
    fit_score = fields.Float()
    fit = fields.Str()
    activity_score = fields.Float()
    activity = fields.Int()
    grade = fields.Str()
    route = fields.Nested(Route, allow_none=True)
    explanation = fields.List(
        fields.Nested(Contribution), metadata={"description": "the rules that contributed"}
    )
    progress = fields.List(
        fields.Nested(Progress),
        metadata={"description": "threshold rules short of their min_count (no points)"},
    )
    graded_at = fields.Str()


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


class LeadListItem(GradeOut):
    id = fields.Str()
    qualified = fields.Bool(metadata={"description": "every qualification criterion ticked"})
    name = fields.Str(allow_none=True)
    last_event_at = fields.Int(
        allow_none=True,
        metadata={"description": "microseconds since the epoch of the newest event graded"},
    )
    person = fields.Dict()
    company = fields.Dict()
    lifecycle = fields.Str()
    owner = fields.Str(allow_none=True)


class LeadList(Schema):
    items = fields.List(fields.Nested(LeadListItem))
    total = fields.Int()
    page = fields.Int()
    per_page = fields.Int()
    pages = fields.Int()


class IngestOut(Schema):
    received = fields.Int()
    stored = fields.Int()
    duplicates = fields.Int()
    regraded = fields.Int(metadata={"description": "leads re-graded before the response"})
    changed = fields.Int(metadata={"description": "grades whose cell or route changed"})


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


class RunOut(Schema):
    id = fields.Int()
    trigger = fields.Str()
    reason = fields.Str()
    started_at = fields.Str()
    finished_at = fields.Str(allow_none=True)
    leads = fields.Int(allow_none=True)
    changed = fields.Int(allow_none=True)
    rows_written = fields.Int(allow_none=True)
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


class WebhookStatus(Schema):
    url = fields.Str(
        metadata={
            "description": "the whole URL for admins; scheme and host only for other roles "
            "(https://hooks.example.com/…): paths and query strings carry receivers' tokens"
        }
    )
    configured = fields.Bool(
        metadata={"description": "false: the URL left the model file; its messages wait"}
    )
    pending = fields.Int()
    delivered = fields.Int()
    failing = fields.Bool()
    attempts = fields.Int(allow_none=True)
    last_error = fields.Str(allow_none=True)
    next_attempt_at = fields.Str(allow_none=True)
    oldest_pending_at = fields.Str(allow_none=True)


class WebhooksOut(Schema):
    webhooks = fields.List(fields.Nested(WebhookStatus))


class Health(Schema):
    status = fields.Str()
    schema_version = fields.Int()
    model_digest = fields.Str()


class Problem(Schema):
    field = fields.Str(metadata={"description": "e.g. events[3].at"})
    message = fields.Str()
    line = fields.Int(
        metadata={"description": "a problem of a model file: its line, where the file has it"}
    )


class ErrorOut(Schema):
    error = fields.Str()
    problems = fields.List(fields.Nested(Problem))
