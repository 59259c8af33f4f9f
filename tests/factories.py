"""Builders for what the tests feed the grader, each returning a fresh object.

- ``spec_model(**changes)``: SPEC section 3's example model file, as the dict YAML gives;
- ``spec_rule(data, rule_id)``: one rule of that dict, to change in place;
- ``make_config(...)`` / ``make_model(...)``: the same, validated (``Config`` / its one ``Model``);
- ``event(...)``: an event as the grader sees it, at ``AS_OF``;
- ``lead(...)``: a lead record as the API and the importers take it.
"""

import copy
from datetime import UTC, datetime

from grading.core.config import load_config
from grading.core.model import Config, Model
from grading.core.scoring import Event

AS_OF = datetime(2026, 11, 1, 15, 30, tzinfo=UTC)  # as of: a Sunday afternoon, UTC

_PROSPECTS = {
    "name": "prospects",
    "audience": {"field": "person.lifecycle", "not_in": ["customer", "disqualified"]},
    "fit": {
        "rules": [
            {
                "id": "target-industry",
                "when": {"field": "company.industry", "in": ["software", "manufacturing"]},
                "points": 20,
            },
            {
                "id": "large-company",
                "when": {"field": "company.employees", "gte": 200},
                "points": 30,
                "label": "200+ employees",
            },
            {
                "id": "ceo",
                "when": {"field": "person.title", "matches": "\\b(ceo|chief executive)\\b"},
                "points": 30,
            },
            {"id": "phone-given", "when": {"field": "person.phone", "present": True}, "points": 5},
            {
                "id": "student",
                "when": {"field": "person.title", "contains": "student"},
                "points": -40,
            },
        ],
        "thresholds": {"A": 70, "B": 45, "C": 20},
    },
    "activity": {
        "window_days": 90,
        "half_life_days": 30,
        "rules": [
            {"id": "downloads", "event": "download", "points": 10, "max_points": 30},
            {"id": "many-visits", "event": "page_view", "min_count": 6, "points": 20},
            {
                "id": "pricing-recent",
                "event": "page_view",
                "where": {"field": "url", "matches": "^/pricing"},
                "within_days": 7,
                "points": 15,
            },
            {
                "id": "careers",
                "event": "page_view",
                "where": {"field": "url", "matches": "/(careers|jobs)"},
                "points": -10,
            },
        ],
        "thresholds": {4: 60, 3: 35, 2: 10},
    },
    "categories": [
        {
            "name": "analytics",
            "where": {"field": "product", "equals": "analytics"},
            "routing": [{"cells": ["A*"], "to": "sales", "queue": "analytics"}],
        },
    ],
    "routing": [
        {"cells": ["A4", "A3", "B4"], "to": "sales", "queue": "senior"},
        {"cells": ["A*", "B*"], "to": "nurture", "campaign": "accelerate"},
        {"cells": ["*"], "to": "nurture", "campaign": "newsletter"},
    ],
}


def spec_model(**changes) -> dict:
    """The example model file of SPEC section 3: an hourly schedule and one model, `prospects`.

    Keywords replace keys of `prospects` (``fit=...``, ``routing=[...]``); None removes one
    (``audience=None``). Change the file's top level (webhooks, retention, ...) on the result.
    """
    body = copy.deepcopy(_PROSPECTS)
    for key, value in changes.items():
        if value is None:
            body.pop(key, None)
        else:
            body[key] = copy.deepcopy(value)
    return {"schedule": {"regrade": "0 * * * *"}, "models": [body]}


def spec_rule(data: dict, rule_id: str) -> dict:
    """The fit or activity rule `rule_id` of the first model of `data`, to change in place."""
    body = data["models"][0]
    (rule,) = [
        rule
        for block in ("fit", "activity")
        for rule in body[block]["rules"]
        if rule["id"] == rule_id
    ]
    return rule


def make_config(data: dict | None = None, **changes) -> Config:
    """The validated Config of `data`, by default of ``spec_model(**changes)``."""
    return load_config(spec_model(**changes) if data is None else data)


def make_model(**changes) -> Model:
    """The validated `prospects` model of ``spec_model(**changes)``."""
    return make_config(**changes).models[0]


def event(event_type: str = "download", at: datetime = AS_OF, **properties) -> Event:
    """An event as the grader sees it: a download, just now, unless told otherwise."""
    return Event(event_type, at, properties)


def lead(lead_id: str = "L-1", *, person=None, company=None, **fields) -> dict:
    """A lead record as the API and the importers take it: a CEO of a large software company."""
    return {
        "id": lead_id,
        "person": {"title": "CEO", "phone": "1"} if person is None else person,
        "company": (
            {"domain": "acme.io", "industry": "software", "employees": 500}
            if company is None
            else company
        ),
        **fields,
    }
