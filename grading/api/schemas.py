"""Schemas more than one resource uses: a grade with its explanation, a page of leads, and the
error every endpoint answers with (the list queries the web view reads too are in
grading/list_args.py). Each resource's own schemas are in its
module."""

from __future__ import annotations

from marshmallow import Schema, fields


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
