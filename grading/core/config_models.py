"""Reading one entry of the model file's ``models`` list: audience, fit, activity, categories,
routing and account thresholds (SPEC section 3)."""

from __future__ import annotations

import re
from typing import Any

from .conditions import compile_condition
from .config_checks import Checker, join
from .config_rules import LEAD_NAMESPACES, check_condition, read_activity_block, read_fit_rules
from .model import (
    ACTIVITY_NUMBERS,
    FIT_LETTERS,
    Accounts,
    ActivityBlock,
    Category,
    FitRule,
    Model,
    Route,
    RoutingEntry,
)

CELL = re.compile(r"^(\*|[A-D*][1-4*])$")
MODEL_KEYS = ("name", "label", "audience", "fit", "activity", "categories", "routing", "accounts")


def read_routing(check: Checker, value: Any, path: str) -> tuple[RoutingEntry, ...]:
    entries = []
    for i, raw in enumerate(check.items(value, path)):
        where = f"{path}[{i}]"
        entry = check.mapping(
            raw, where, ("cells", "to", "queue", "campaign", "label"), ("cells", "to")
        )
        if entry is None:
            continue
        cells = []
        raw_cells = entry.get("cells")
        if isinstance(raw_cells, str):
            raw_cells = [raw_cells]
        for j, cell in enumerate(
            check.items(raw_cells, join(where, "cells")) if "cells" in entry else []
        ):
            if not isinstance(cell, str) or not CELL.match(cell):
                check.fail(f"{where}.cells[{j}]", f"'{cell}' is not a cell pattern (A4, A*, *4, *)")
            else:
                cells.append(cell)
        to = check.text(entry.get("to"), join(where, "to")) if "to" in entry else None
        extra = {}
        for key in ("queue", "campaign", "label"):
            if key in entry:
                extra[key] = check.text(entry[key], join(where, key))
        if to and cells:
            route = Route(to=to, queue=extra.get("queue"), campaign=extra.get("campaign"))
            entries.append(RoutingEntry(cells=tuple(cells), route=route))
    return tuple(entries)


def _categories(check: Checker, value: Any, path: str) -> tuple[Category, ...]:
    categories: list[Category] = []
    names: list[tuple[str | None, str]] = []
    for i, raw in enumerate(check.items(value, path, allow_empty=True)):
        where = f"{path}[{i}]"
        cat = check.mapping(
            raw, where, ("name", "label", "where", "activity", "routing"), ("name", "where")
        )
        if cat is None:
            continue
        name = check.name(cat.get("name"), join(where, "name")) if "name" in cat else None
        names.append((name, join(where, "name")))
        ok = "where" in cat and check_condition(check, cat["where"], join(where, "where"), None)
        activity = None
        if "activity" in cat:
            activity = read_activity_block(check, cat["activity"], join(where, "activity"))
            ok = ok and activity is not None
        entries = (
            read_routing(check, cat["routing"], join(where, "routing")) if "routing" in cat else ()
        )
        label = check.label(cat, where)
        if ok and name:
            categories.append(
                Category(
                    name, cat["where"], compile_condition(cat["where"]), activity, entries, label
                )
            )
    check.unique(names, "category name")
    return tuple(categories)


def _accounts(check: Checker, value: Any, path: str) -> Accounts | None:
    acc = check.mapping(
        value,
        path,
        ("activity", "fit_thresholds", "activity_thresholds"),
        ("fit_thresholds", "activity_thresholds"),
    )
    if acc is None:
        return None
    how = acc.get("activity", "sum")
    if how not in ("sum", "max"):
        check.fail(join(path, "activity"), f"must be sum or max, not '{how}'")
        return None
    fit = (
        check.thresholds(acc.get("fit_thresholds"), join(path, "fit_thresholds"), FIT_LETTERS)
        if "fit_thresholds" in acc
        else None
    )
    act = (
        check.thresholds(
            acc.get("activity_thresholds"), join(path, "activity_thresholds"), ACTIVITY_NUMBERS
        )
        if "activity_thresholds" in acc
        else None
    )
    return Accounts(how, fit, act) if fit and act else None


def read_model(check: Checker, raw: Any, path: str) -> Model | None:
    """One entry of ``models``: the Model, or None when it has problems (all of them in check)."""
    model = check.mapping(raw, path, MODEL_KEYS, ("name", "fit", "activity"))
    if model is None:
        return None
    name = check.name(model.get("name"), join(path, "name")) if "name" in model else None
    audience_ok = True
    if "audience" in model:
        audience_ok = check_condition(
            check, model["audience"], join(path, "audience"), LEAD_NAMESPACES
        )
    rules: tuple[FitRule, ...] = ()
    fit_thresholds = None
    if "fit" in model:
        fit = check.mapping(
            model["fit"], join(path, "fit"), ("rules", "thresholds"), ("rules", "thresholds")
        )
        if fit is not None:
            if "rules" in fit:
                rules = read_fit_rules(check, fit["rules"], join(path, "fit.rules"))
            if "thresholds" in fit:
                fit_thresholds = check.thresholds(
                    fit["thresholds"], join(path, "fit.thresholds"), FIT_LETTERS
                )
    activity: ActivityBlock | None = (
        read_activity_block(check, model["activity"], join(path, "activity"))
        if "activity" in model
        else None
    )
    categories = (
        _categories(check, model["categories"], join(path, "categories"))
        if "categories" in model
        else ()
    )
    entries = (
        read_routing(check, model["routing"], join(path, "routing")) if "routing" in model else ()
    )
    accounts = (
        _accounts(check, model["accounts"], join(path, "accounts")) if "accounts" in model else None
    )
    label = check.label(model, path)
    if not (name and fit_thresholds and activity and audience_ok):
        return None
    audience = model.get("audience")
    return Model(
        name=name,
        fit_rules=rules,
        fit_thresholds=fit_thresholds,
        activity=activity,
        categories=categories,
        routing=entries,
        audience=audience,
        audience_test=compile_condition(audience) if audience else None,
        accounts=accounts,
        label=label,
    )
