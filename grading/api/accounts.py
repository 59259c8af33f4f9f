"""Account grades in the API: the list (filtered, sorted, paged) and one account with its people."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields

from ..http.list_args import AccountListArgs
from ..http.request import get_db, state
from ..services import accounts as account_service
from .auth import READ, requires
from .blueprint import api
from .common import ApiError, page_of


class FitHit(Schema):
    rule = fields.Str()
    label = fields.Str(allow_none=True)
    dimension = fields.Str()
    points = fields.Float()


class TopLead(Schema):
    lead = fields.Str(metadata={"description": "the lead's id"})
    name = fields.Str(allow_none=True)
    activity_score = fields.Float()


class ActivityAggregate(Schema):
    aggregate = fields.Str(metadata={"description": "sum or max of the leads' activity scores"})
    leads = fields.Int(metadata={"description": "leads of the company in the model's audience"})
    score = fields.Float()
    top = fields.List(fields.Nested(TopLead), metadata={"description": "most contributing first"})


class AccountExplanation(Schema):
    fit = fields.List(fields.Nested(FitHit), metadata={"description": "company fit rules that hit"})
    activity = fields.Nested(ActivityAggregate)


class AccountGradeOut(Schema):
    model = fields.Str()
    fit_score = fields.Float()
    fit = fields.Str()
    activity_score = fields.Float()
    activity = fields.Int()
    grade = fields.Str()
    leads = fields.Int()
    explanation = fields.Nested(AccountExplanation)
    graded_at = fields.Str()


class AccountItem(AccountGradeOut):
    company_id = fields.Int()
    name = fields.Str(allow_none=True)
    domain = fields.Str(allow_none=True)


class AccountList(Schema):
    model = fields.Str(allow_none=True, metadata={"description": "null: no model grades accounts"})
    items = fields.List(fields.Nested(AccountItem))
    total = fields.Int()
    page = fields.Int()
    per_page = fields.Int()
    pages = fields.Int()


class PersonCell(Schema):
    model = fields.Str()
    grade = fields.Str()
    activity_score = fields.Float()


class Person(Schema):
    lead = fields.Str()
    name = fields.Str(allow_none=True)
    title = fields.Str(allow_none=True)
    lifecycle = fields.Str()
    owner = fields.Str(allow_none=True)
    grades = fields.List(fields.Nested(PersonCell), metadata={"description": "main grades"})


class AccountOut(Schema):
    company_id = fields.Int()
    name = fields.Str(allow_none=True)
    domain = fields.Str(allow_none=True)
    company = fields.Dict(metadata={"description": "the company's attributes"})
    grades = fields.List(fields.Nested(AccountGradeOut))
    people = fields.List(fields.Nested(Person), metadata={"description": "the first 500, by name"})
    people_total = fields.Int()


def accounts_model(name: str | None) -> str | None:
    """The model to list (None: no model grades accounts); 404 for one that grades none."""
    config = state().config
    if not name:
        graded = account_service.account_models(config)
        return graded[0].name if graded else None
    model = config.model(name)
    if model is None:
        raise ApiError(
            404, f"unknown model '{name}'", [{"field": "model", "message": "unknown model"}]
        )
    if model.accounts is None:
        raise ApiError(
            404,
            f"model '{name}' grades no accounts",
            [{"field": "model", "message": "the model has no accounts block"}],
        )
    return name


@api.get("/accounts")
@requires(READ)
@api.arguments(AccountListArgs, location="query")
@api.response(200, AccountList)
@api.error(404, "unknown model, or one that grades no accounts")
def list_accounts(params: dict):
    """Companies with their account grade in a model"""
    model = accounts_model(params.get("model"))
    per_page, page = params["per_page"], params["page"]
    rows: list[dict[str, Any]] = []
    total = 0
    if model is not None:
        account_service.drain(get_db(), state().config)  # accounts of the latest events too
        rows, total = account_service.list_accounts(
            get_db(),
            model,
            cells=params["cell"],
            fit=params["fit"],
            activity=params["activity"],
            text=params.get("q"),
            sort=params["sort"],
            descending=params["order"] == "desc",
            limit=per_page,
            offset=(page - 1) * per_page,
        )
    return {"model": model, **page_of(rows, total, page, per_page)}


@api.get("/accounts/<company_id>")
@requires(READ)
@api.response(200, AccountOut)
@api.error(404, "no company with this id")
def get_account(company_id: str):
    """One company: its account grades, their explanation, and its people with their cells"""
    account_service.drain(get_db(), state().config)
    report = (
        account_service.account_report(get_db(), int(company_id))
        if company_id.isascii() and company_id.isdigit() and len(company_id) < 19  # not "²"
        else None
    )
    if report is None:
        raise ApiError(404, f"no company '{company_id}'")
    return report
