"""Schemas more than one resource uses, or the web view too: list sorting, the lead-list query
(the API's GET /leads and the web's lead list read it alike), a grade with its explanation, a
page of leads, and the error every endpoint answers with. Each resource's own schemas are in its
module."""

from __future__ import annotations

from marshmallow import Schema, fields, post_load, validate

from grading.core.records import LIFECYCLES

CELL = validate.Regexp(r"^[A-D][1-4]$", error="must be a cell like A4")


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


class Problem(Schema):
    field = fields.Str(metadata={"description": "e.g. events[3].at"})
    message = fields.Str()
    line = fields.Int(
        metadata={"description": "a problem of a model file: its line, where the file has it"}
    )


class ErrorOut(Schema):
    error = fields.Str()
    problems = fields.List(fields.Nested(Problem))
