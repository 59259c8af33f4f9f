"""The list pages' query parameters, one schema each for the API and the web view alike."""

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


ACCOUNT_SORTS = {
    "grade": "desc",
    "fit_score": "desc",
    "activity_score": "desc",
    "leads": "desc",
    "name": "asc",
}


class AccountListArgs(SortedListArgs):
    SORTS = ACCOUNT_SORTS

    model = fields.Str(metadata={"description": "default: the first model with an accounts block"})
    cell = fields.List(fields.Str(validate=CELL), load_default=list)
    fit = fields.List(fields.Str(validate=validate.OneOf(list("ABCD"))), load_default=list)
    activity = fields.List(fields.Int(validate=validate.Range(1, 4)), load_default=list)
    q = fields.Str(
        validate=validate.Length(1, 200),
        metadata={
            "description": "words in the company's name or domain (every word must match,"
            " the last as a prefix; case and accents ignored)"
        },
    )
    sort = fields.Str(load_default="grade", validate=validate.OneOf(list(ACCOUNT_SORTS)))
    page = fields.Int(load_default=1, validate=validate.Range(1, 1_000_000))
    per_page = fields.Int(load_default=50, validate=validate.Range(1, 1000))


class AuditArgs(Schema):
    limit = fields.Int(load_default=100, validate=validate.Range(1, 1000))
    before = fields.Int(
        validate=validate.Range(1, 2**63 - 1),  # SQLite's largest integer
        metadata={"description": "entries older than this id (paging)"},
    )
