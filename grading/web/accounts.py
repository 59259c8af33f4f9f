"""Account pages: companies by account grade, and one company with its grade, why, and its people."""

from __future__ import annotations

import math

from flask import abort, render_template, request

from ..http.list_args import ACCOUNT_SORTS, AccountListArgs
from ..http.request import get_db, state
from ..services import accounts as account_service
from .blueprint import login_required, web
from .lists import list_query, past_last_page


@web.get("/accounts")
@login_required()
def accounts():
    params, problems = list_query(AccountListArgs())
    config = state().config
    graded = account_service.account_models(config)
    if params.get("model"):
        model = config.model(params["model"])
        if model is None:
            abort(404, f"unknown model '{params['model']}'")
        if model.accounts is None:
            abort(404, f"model '{model.name}' grades no accounts (it has no accounts block)")
    else:
        model = graded[0] if graded else None
    per_page, page = params["per_page"], params["page"]
    rows, total = [], 0
    if model is not None and not problems:
        account_service.drain(get_db(), config)  # accounts of the latest events too
        rows, total = account_service.list_accounts(
            get_db(),
            model.name,
            cells=params["cell"],
            fit=params["fit"],
            activity=params["activity"],
            text=params.get("q"),
            sort=params["sort"],
            descending=params["order"] == "desc",
            limit=per_page,
            offset=(page - 1) * per_page,
        )
    pages = max(1, math.ceil(total / per_page))
    problems = problems or past_last_page(page, pages)
    query = {k: request.args.getlist(k) for k in request.args if k != "page"}
    page_html = render_template(
        "accounts.html",
        rows=rows,
        total=total,
        page=page,
        pages=pages,
        params=params,
        problems=problems,
        model=model,
        account_models=graded,
        query=query,
        sort_defaults=ACCOUNT_SORTS,
    )
    return page_html, 400 if problems else 200


@web.get("/accounts/<int:company_id>")
@login_required()
def account(company_id: int):
    account_service.drain(get_db(), state().config)
    # a row id is a signed 64-bit integer: a longer number names no company (and SQLite refuses it)
    report = account_service.account_report(get_db(), company_id) if company_id < 2**63 else None
    if report is None:
        abort(404, f"no company {company_id}")
    labels = {m.name: m.label or m.name for m in state().config.models}
    return render_template("account.html", account=report, labels=labels)


@web.app_context_processor
def account_links():
    """`account_of(lead id)`: the company page a lead belongs to (None: no company)."""
    return {"account_of": lambda ext_id: account_service.company_of_lead(get_db(), ext_id)}
