"""The model file (grading.core.config, SPEC section 3): a valid file loads; an invalid one is
refused with every problem listed by its path, all at once.

First the SPEC's own example and each rule of section 3 on a small model; then the problems of the
tests' example model file (tests/factories.py) changed one way at a time; then what RE2 cannot
compile and the retention setting."""

import copy

import pytest
import yaml

from grading.core.config import ConfigError, load_config
from tests.factories import make_config, spec_model, spec_rule

SPEC_EXAMPLE = r"""
schedule:
  regrade: "0 * * * *"              # cron; re-grade everything hourly

models:
  - name: prospects                   # [a-z0-9_-]+, unique
    audience: {field: person.lifecycle, not_in: [customer, disqualified]}   # optional: who is graded
    fit:
      rules:
        - {id: target-industry, when: {field: company.industry, in: [software, manufacturing]}, points: 20}
        - {id: large-company, when: {field: company.employees, gte: 200}, points: 30, label: "200+ employees"}
        - {id: ceo, when: {field: person.title, matches: "\\b(ceo|chief executive)\\b"}, points: 30}
        - {id: phone-given, when: {field: person.phone, present: true}, points: 5}
        - {id: student, when: {field: person.title, contains: student}, points: -40}
      thresholds: {A: 70, B: 45, C: 20}      # score >= 70 is A, >= 45 B, >= 20 C, else D
    activity:
      window_days: 90                  # default 90: older events count nothing
      half_life_days: 30               # optional: exponential decay of per-event points
      rules:
        - {id: downloads, event: download, points: 10, max_points: 30}
        - {id: many-visits, event: page_view, min_count: 6, points: 20, label: "more than 5 visits"}
        - {id: pricing-recent, event: page_view, where: {field: url, matches: "^/pricing"},
           within_days: 7, points: 15}
        - {id: careers, event: page_view, where: {field: url, matches: "/(careers|jobs)"}, points: -10}
      thresholds: {4: 60, 3: 35, 2: 10}      # score >= 60 is 4, >= 35 is 3, >= 10 is 2, else 1
    categories:                       # optional: one extra activity dimension per product category
      - name: analytics
        where: {field: product, equals: analytics}
      - name: crm
        where: {field: url, matches: "^/products/crm"}
    routing:                          # first match wins; cells may use * for either axis
      - {cells: [A4, A3, B4], to: sales, queue: senior}
      - {cells: ["A*", "B*"], to: nurture, campaign: accelerate}
      - {cells: ["*"], to: nurture, campaign: newsletter}

  - name: upsell
    audience: {field: person.lifecycle, equals: customer}
    fit:
      rules:
        - {id: big-account, when: {field: company.revenue, gte: 10000000}, points: 50}
      thresholds: {A: 50, B: 30, C: 10}
    activity:
      rules:
        - {id: any-activity, points: 5}
      thresholds: {4: 40, 3: 20, 2: 5}
    categories:
      - name: analytics
        where: {field: product, equals: analytics}
        activity:
          window_days: 30
          rules:
            - {id: analytics-views, event: [page_view, download], points: 10}
          thresholds: {4: 50, 3: 30, 2: 10}
        routing:
          - {cells: ["*4"], to: sales, queue: upsell}
"""


def spec_example() -> dict:
    return yaml.safe_load(SPEC_EXAMPLE)


def model(**overrides) -> dict:
    """A small valid model dict; keyword arguments replace its top-level keys (None drops one)."""
    raw = {
        "name": "m",
        "fit": {
            "rules": [
                {"id": "big", "when": {"field": "company.employees", "gte": 200}, "points": 30}
            ],
            "thresholds": {"A": 60, "B": 30, "C": 10},
        },
        "activity": {
            "rules": [{"id": "downloads", "event": "download", "points": 10}],
            "thresholds": {4: 60, 3: 35, 2: 10},
        },
    }
    raw.update(copy.deepcopy(overrides))
    return {k: v for k, v in raw.items() if v is not None}


def fit(*rules, thresholds=None) -> dict:
    return {"rules": list(rules), "thresholds": thresholds or {"A": 60, "B": 30, "C": 10}}


def activity(*rules, thresholds=None, **block) -> dict:
    return {"rules": list(rules), "thresholds": thresholds or {4: 60, 3: 35, 2: 10}, **block}


def fit_rule(when, rule_id="r", points=10, **extra) -> dict:
    return {"id": rule_id, "when": when, "points": points, **extra}


def problems_of(data) -> list[str]:
    with pytest.raises(ConfigError) as refused:
        load_config(data)
    problems = refused.value.problems
    assert isinstance(problems, list) and all(isinstance(p, str) for p in problems)
    assert problems
    return problems


def assert_problem_at(problems: list[str], path: str, *words: str) -> None:
    """One problem is reported at exactly `path` and mentions every one of `words`."""
    at_path = [p for p in problems if p.startswith(f"{path}: ")]
    assert at_path, f"no problem at {path!r} in {problems}"
    assert any(all(w in p for w in words) for p in at_path), (
        f"no problem at {path!r} mentions {words}: {at_path}"
    )


# a valid file ----------------------------------------------------------------------------


def test_the_spec_example_loads():
    config = load_config(spec_example())

    assert config.schedule == "0 * * * *"
    assert [m.name for m in config.models] == ["prospects", "upsell"]
    prospects = config.model("prospects")
    assert [r.id for r in prospects.fit_rules] == [
        "target-industry",
        "large-company",
        "ceo",
        "phone-given",
        "student",
    ]
    assert [r.points for r in prospects.fit_rules] == [20, 30, 30, 5, -40]
    assert prospects.fit_rules[1].label == "200+ employees"
    assert prospects.fit_thresholds == (70, 45, 20)
    assert prospects.activity.thresholds == (60, 35, 10)
    assert prospects.activity.window_days == 90
    assert prospects.activity.half_life_days == 30


def test_the_spec_example_keeps_every_activity_rule_option():
    rules = {r.id: r for r in load_config(spec_example()).model("prospects").activity.rules}

    assert rules["downloads"].event_types == ("download",)
    assert rules["downloads"].max_points == 30
    assert rules["many-visits"].min_count == 6
    assert rules["many-visits"].label == "more than 5 visits"
    assert rules["pricing-recent"].within_days == 7
    assert rules["pricing-recent"].where == {"field": "url", "matches": "^/pricing"}
    assert rules["careers"].points == -10
    assert rules["careers"].min_count is None and rules["careers"].max_points is None


def test_the_spec_example_keeps_categories_routing_and_audience():
    config = load_config(spec_example())
    prospects, upsell = config.model("prospects"), config.model("upsell")

    assert [c.name for c in prospects.categories] == ["analytics", "crm"]
    assert prospects.block_of(prospects.category("crm")) is prospects.activity
    assert prospects.category("crm").routing == ()
    assert [e.cells for e in prospects.routing] == [("A4", "A3", "B4"), ("A*", "B*"), ("*",)]
    assert prospects.routing[0].route.as_dict() == {"to": "sales", "queue": "senior"}
    assert prospects.routing[2].route.as_dict() == {"to": "nurture", "campaign": "newsletter"}
    assert prospects.in_audience({"person.lifecycle": "lead"})
    assert not prospects.in_audience({"person.lifecycle": "customer"})

    analytics = upsell.category("analytics")
    assert analytics.activity.window_days == 30
    assert analytics.activity.rules[0].event_types == ("page_view", "download")
    assert analytics.routing[0].route.as_dict() == {"to": "sales", "queue": "upsell"}
    assert upsell.activity.window_days == 90  # the default
    assert upsell.activity.half_life_days is None
    assert upsell.activity.rules[0].event_types is None  # no `event`: any type


def test_thresholds_may_be_written_with_string_keys():
    block = activity({"id": "a", "points": 1}, thresholds={"4": 3, "3": 2, "2": 1})
    config = load_config({"models": [model(activity=block)]})
    assert config.models[0].activity.thresholds == (3, 2, 1)


def test_a_file_without_schedule_has_none():
    assert load_config({"models": [model()]}).schedule is None


# every problem, by path ------------------------------------------------------------------


def test_an_unknown_operator_is_reported_in_the_spec_form():
    rules = [fit_rule({"field": "company.employees", "gte": 1}, f"r{i}") for i in range(3)]
    rules.append(fit_rule({"field": "company.employees", "greater": 200}, "r3"))
    problems = problems_of({"models": [model(fit=fit(*rules))]})
    assert problems == ["models[0].fit.rules[3].when: unknown operator 'greater'"]


def test_an_unknown_operator_deep_in_a_condition_is_reported_at_its_path():
    when = {
        "all": [
            {"field": "person.title", "present": True},
            {"not": {"field": "person.x", "like": "a"}},
        ]
    }
    problems = problems_of({"models": [model(audience=when)]})
    assert problems == ["models[0].audience.all[1].not: unknown operator 'like'"]


PRESENT = {"field": "person.x", "present": True}
CATEGORY = {"name": "c", "where": {"field": "p", "equals": 1}}


@pytest.mark.parametrize(
    "data, path, key",
    [
        ({"models": [model()], "version": 2}, "version", "version"),
        ({"models": [model(owner="kim")]}, "models[0].owner", "owner"),
        ({"models": [model(fit={**fit(), "weights": 1})]}, "models[0].fit.weights", "weights"),
        (
            {"models": [model(activity={**activity({"id": "a", "points": 1}), "decay": 3})]},
            "models[0].activity.decay",
            "decay",
        ),
        (
            {"models": [model(fit=fit(fit_rule(PRESENT, weight=2)))]},
            "models[0].fit.rules[0].weight",
            "weight",
        ),
        (
            {"models": [model(activity=activity({"id": "a", "points": 1, "every": 2}))]},
            "models[0].activity.rules[0].every",
            "every",
        ),
        (
            {"models": [model(categories=[{**CATEGORY, "x": 1}])]},
            "models[0].categories[0].x",
            "x",
        ),
        (
            {"models": [model(routing=[{"cells": ["*"], "to": "sales", "owner": "kim"}])]},
            "models[0].routing[0].owner",
            "owner",
        ),
        ({"schedule": {"every": "hour"}, "models": [model()]}, "schedule.every", "every"),
    ],
)
def test_an_unknown_key_is_reported_at_its_path(data, path, key):
    assert_problem_at(problems_of(data), path, f"unknown key '{key}'")


def with_fit_rule(**rule) -> dict:
    return {"models": [model(fit=fit(fit_rule(**{"when": PRESENT, **rule})))]}


def with_when(when) -> dict:
    return {"models": [model(fit=fit(fit_rule(when)))]}


def with_block(**changes) -> dict:
    return {"models": [model(activity={**activity({"id": "a", "points": 1}), **changes})]}


def with_activity_rule(**changes) -> dict:
    return {"models": [model(activity=activity({"id": "a", "points": 1, **changes}))]}


WHEN = "models[0].fit.rules[0].when"
RULE = "models[0].activity.rules[0]"


@pytest.mark.parametrize(
    "data, path",
    [
        ({"models": {"name": "m"}}, "models"),
        ({"models": [model(fit=[])]}, "models[0].fit"),
        (
            {"models": [model(fit={"rules": {}, "thresholds": {"A": 3, "B": 2, "C": 1}})]},
            "models[0].fit.rules",
        ),
        (with_fit_rule(points="ten"), "models[0].fit.rules[0].points"),
        (with_fit_rule(points=True), "models[0].fit.rules[0].points"),
        (with_fit_rule(label=5), "models[0].fit.rules[0].label"),
        (with_when("person.x is given"), WHEN),
        (with_when({"field": "person.x", "present": "yes"}), f"{WHEN}.present"),
        (with_when({"field": "person.x", "in": "software"}), f"{WHEN}.in"),
        (with_when({"field": "person.x", "equals": ["a"]}), f"{WHEN}.equals"),
        (with_when({"field": "person.x", "gte": "200"}), f"{WHEN}.gte"),
        (with_when({"field": "person.x", "between": [1]}), f"{WHEN}.between"),
        (with_when({"field": "person.x", "between": [1, "z"]}), f"{WHEN}.between[1]"),
        (with_when({"field": "person.x", "between": [9, 1]}), f"{WHEN}.between"),
        (with_when({"field": "person.x", "contains": 5}), f"{WHEN}.contains"),
        (with_when({"all": PRESENT}), f"{WHEN}.all"),
        (with_when({"field": "person.x", "gte": 1, "lte": 5}), WHEN),
        (with_when({"field": "person.x"}), WHEN),
        (with_block(window_days="90"), "models[0].activity.window_days"),
        (with_block(window_days=0), "models[0].activity.window_days"),
        (with_block(half_life_days=0), "models[0].activity.half_life_days"),
        (with_block(half_life_days="30"), "models[0].activity.half_life_days"),
        (with_activity_rule(event=5), f"{RULE}.event"),
        (with_activity_rule(event=["page_view", 5]), f"{RULE}.event[1]"),
        (with_activity_rule(within_days=0), f"{RULE}.within_days"),
        (with_activity_rule(within_days=7.5), f"{RULE}.within_days"),
        (with_activity_rule(points="1"), f"{RULE}.points"),
        ({"models": [model(name=7)]}, "models[0].name"),
        ({"models": [model(name="Prospects!")]}, "models[0].name"),
        ({"models": [model(routing=[{"cells": ["*"], "to": 5}])]}, "models[0].routing[0].to"),
        ({"models": [model(routing={"cells": ["*"], "to": "sales"})]}, "models[0].routing"),
    ],
)
def test_a_wrong_type_is_reported_at_its_path(data, path):
    assert_problem_at(problems_of(data), path)


@pytest.mark.parametrize(
    "data, path",
    [
        ({}, "models"),
        ({"models": [model(name=None)]}, "models[0].name"),
        ({"models": [model(fit=None)]}, "models[0].fit"),
        ({"models": [model(activity=None)]}, "models[0].activity"),
        ({"models": [model(fit={"rules": []})]}, "models[0].fit.thresholds"),
        ({"models": [model(fit=fit({"when": PRESENT, "points": 1}))]}, "models[0].fit.rules[0].id"),
        ({"models": [model(fit=fit({"id": "r", "points": 1}))]}, "models[0].fit.rules[0].when"),
        (
            {"models": [model(fit=fit({"id": "r", "when": PRESENT}))]},
            "models[0].fit.rules[0].points",
        ),
        ({"models": [model(activity=activity({"id": "a"}))]}, f"{RULE}.points"),
        (
            {"models": [model(activity={"rules": [{"id": "a", "points": 1}]})]},
            "models[0].activity.thresholds",
        ),
        ({"models": [model(routing=[{"cells": ["*"]}])]}, "models[0].routing[0].to"),
        ({"models": [model(routing=[{"to": "sales"}])]}, "models[0].routing[0].cells"),
        ({"models": [model(categories=[{"name": "c"}])]}, "models[0].categories[0].where"),
    ],
)
def test_a_missing_key_is_reported_at_its_path(data, path):
    assert_problem_at(problems_of(data), path)


@pytest.mark.parametrize(
    "where, path",
    [
        ("audience", "models[0].audience"),
        ("fit", "models[0].fit.rules[0].when"),
        ("activity", "models[0].activity.rules[0].where"),
        ("category", "models[0].categories[0].where"),
    ],
)
@pytest.mark.parametrize("pattern", ["(unclosed", "[a-", "*careers", "(?<=a)b", "(a)\\1"])
def test_a_bad_regular_expression_is_reported_at_its_path(where, path, pattern):
    field = "person.title" if where in ("audience", "fit") else "url"
    condition = {"field": field, "matches": pattern}
    overrides = {
        "audience": {"audience": condition},
        "fit": {"fit": fit(fit_rule(condition))},
        "activity": {"activity": activity({"id": "a", "points": 1, "where": condition})},
        "category": {"categories": [{"name": "c", "where": condition}]},
    }[where]
    assert_problem_at(problems_of({"models": [model(**overrides)]}), f"{path}.matches")


def test_duplicate_fit_rule_ids_are_reported():
    rules = [fit_rule(PRESENT, rule_id) for rule_id in ("a", "b", "a")]
    assert_problem_at(
        problems_of({"models": [model(fit=fit(*rules))]}), "models[0].fit.rules[2].id", "'a'"
    )


def test_duplicate_activity_rule_ids_are_reported():
    block = activity({"id": "a", "points": 1}, {"id": "a", "points": 2})
    assert_problem_at(
        problems_of({"models": [model(activity=block)]}), "models[0].activity.rules[1].id", "'a'"
    )


def test_duplicate_rule_ids_in_a_category_block_are_reported():
    category = {
        "name": "c",
        "where": {"field": "product", "equals": "c"},
        "activity": activity({"id": "a", "points": 1}, {"id": "a", "points": 2}),
    }
    assert_problem_at(
        problems_of({"models": [model(categories=[category])]}),
        "models[0].categories[0].activity.rules[1].id",
        "'a'",
    )


def test_duplicate_model_names_are_reported():
    problems = problems_of({"models": [model(name="m"), model(name="n"), model(name="m")]})
    assert_problem_at(problems, "models[2].name", "'m'")


def test_duplicate_category_names_are_reported():
    categories = [
        {"name": "crm", "where": {"field": "product", "equals": "crm"}},
        {"name": "crm", "where": {"field": "url", "matches": "crm"}},
    ]
    assert_problem_at(
        problems_of({"models": [model(categories=categories)]}),
        "models[0].categories[1].name",
        "'crm'",
    )


@pytest.mark.parametrize(
    "thresholds",
    [
        {"A": 30, "B": 45, "C": 20},
        {"A": 70, "B": 70, "C": 20},
        {"A": 70, "B": 45, "C": 45},
        {"A": 1, "B": 2, "C": 3},
    ],
)
def test_fit_thresholds_must_be_strictly_decreasing(thresholds):
    assert_problem_at(
        problems_of({"models": [model(fit=fit(thresholds=thresholds))]}),
        "models[0].fit.thresholds",
        "strictly decreasing",
    )


@pytest.mark.parametrize(
    "thresholds", [{4: 10, 3: 35, 2: 60}, {4: 60, 3: 60, 2: 10}, {4: 60, 3: 35, 2: 35}]
)
def test_activity_thresholds_must_be_strictly_decreasing(thresholds):
    block = activity({"id": "a", "points": 1}, thresholds=thresholds)
    assert_problem_at(
        problems_of({"models": [model(activity=block)]}),
        "models[0].activity.thresholds",
        "strictly decreasing",
    )


def test_a_categorys_activity_thresholds_must_be_strictly_decreasing():
    category = {
        "name": "c",
        "where": {"field": "product", "equals": "c"},
        "activity": activity({"id": "a", "points": 1}, thresholds={4: 5, 3: 5, 2: 1}),
    }
    assert_problem_at(
        problems_of({"models": [model(categories=[category])]}),
        "models[0].categories[0].activity.thresholds",
    )


@pytest.mark.parametrize("letter", ["A", "B", "C"])
def test_every_fit_threshold_is_required(letter):
    thresholds = {"A": 70, "B": 45, "C": 20}
    del thresholds[letter]
    assert_problem_at(
        problems_of({"models": [model(fit=fit(thresholds=thresholds))]}),
        f"models[0].fit.thresholds.{letter}",
        "required",
    )


@pytest.mark.parametrize("number", [4, 3, 2])
def test_every_activity_threshold_is_required(number):
    thresholds = {4: 60, 3: 35, 2: 10}
    del thresholds[number]
    block = activity({"id": "a", "points": 1}, thresholds=thresholds)
    assert_problem_at(
        problems_of({"models": [model(activity=block)]}),
        f"models[0].activity.thresholds.{number}",
        "required",
    )


def test_an_unknown_threshold_key_is_reported():
    thresholds = {"A": 70, "B": 45, "C": 20, "D": 0}
    problems = problems_of({"models": [model(fit=fit(thresholds=thresholds))]})
    assert_problem_at(problems, "models[0].fit.thresholds.D")


@pytest.mark.parametrize(
    "field", ["industry", "lead.industry", "Company.industry", "company", "company."]
)
def test_a_lead_field_needs_the_person_or_company_namespace(field):
    rules = fit(fit_rule({"field": field, "in": ["software"]}))
    assert_problem_at(
        problems_of({"models": [model(fit=rules)]}),
        "models[0].fit.rules[0].when.field",
        "namespace",
    )


def test_an_audience_field_needs_the_person_or_company_namespace():
    problems = problems_of({"models": [model(audience={"field": "lifecycle", "equals": "lead"})]})
    assert_problem_at(problems, "models[0].audience.field", "namespace")


@pytest.mark.parametrize("field", ["company.industry", "person.title"])
def test_an_event_condition_uses_property_keys_not_lead_fields(field):
    block = activity({"id": "a", "points": 1, "where": {"field": field, "equals": "x"}})
    assert_problem_at(
        problems_of({"models": [model(activity=block)]}), "models[0].activity.rules[0].where.field"
    )


@pytest.mark.parametrize("field", ["url", "product", "type", "asset"])
def test_an_event_condition_may_read_any_property_or_the_type(field):
    block = activity({"id": "a", "points": 1, "where": {"field": field, "equals": "x"}})
    category = {"name": "c", "where": {"field": field, "equals": "x"}}
    load_config({"models": [model(activity=block, categories=[category])]})


@pytest.mark.parametrize("cell", ["A5", "E1", "a4", "4A", "A", "AB", "**4", "", 44, "A0"])
def test_a_routing_cell_that_is_not_a_pattern_is_reported(cell):
    routing = [{"cells": ["A4", cell], "to": "sales"}]
    assert_problem_at(
        problems_of({"models": [model(routing=routing)]}), "models[0].routing[0].cells[1]"
    )


def test_a_bad_cell_in_a_categorys_routing_is_reported():
    category = {
        "name": "c",
        "where": {"field": "product", "equals": "c"},
        "routing": [{"cells": ["Z9"], "to": "sales"}],
    }
    assert_problem_at(
        problems_of({"models": [model(categories=[category])]}),
        "models[0].categories[0].routing[0].cells[0]",
    )


@pytest.mark.parametrize("cell", ["A4", "D1", "A*", "*4", "*1", "*", "**"])
def test_every_cell_pattern_is_accepted(cell):
    load_config({"models": [model(routing=[{"cells": [cell], "to": "sales"}])]})


@pytest.mark.parametrize("min_count", [0, -1, 2.5, "3", True, None])
def test_min_count_must_be_a_whole_number_of_at_least_one(min_count):
    assert_problem_at(problems_of(with_activity_rule(min_count=min_count)), f"{RULE}.min_count")


@pytest.mark.parametrize("min_count", [1, 6])
def test_min_count_may_be_any_whole_number_of_at_least_one(min_count):
    config = load_config(with_activity_rule(min_count=min_count))
    assert config.models[0].activity.rules[0].min_count == min_count


@pytest.mark.parametrize("max_points", [0, -5, -0.1, "30", True])
def test_max_points_must_be_a_number_above_zero(max_points):
    assert_problem_at(problems_of(with_activity_rule(max_points=max_points)), f"{RULE}.max_points")


def test_max_points_may_be_a_fraction():
    config = load_config(with_activity_rule(max_points=0.5))
    assert config.models[0].activity.rules[0].max_points == 0.5


@pytest.mark.parametrize("cron", ["", 61, None, ["0 * * * *"]])
def test_schedule_regrade_must_be_a_text(cron):
    problems = problems_of({"schedule": {"regrade": cron}, "models": [model()]})
    assert_problem_at(problems, "schedule.regrade")


@pytest.mark.parametrize("cron", ["0 * * * *", "*/15 9-17 * * mon-fri", "30 2 * * *"])
def test_a_schedule_text_is_kept(cron):
    # whether the scheduler can run it is checked where the file is read (tests/integration/
    # test_model_file.py): the scheduler library is no part of the pure core
    assert load_config({"schedule": {"regrade": cron}, "models": [model()]}).schedule == cron


@pytest.mark.parametrize("data", [None, [], "models: []", {"models": []}])
def test_a_file_without_models_is_refused(data):
    problems_of(data)


# all at once -----------------------------------------------------------------------------


def test_every_problem_of_a_file_is_reported_at_once():
    broken = spec_example()
    broken["schedule"]["regrade"] = ""
    prospects = broken["models"][0]
    prospects["colour"] = "blue"
    prospects["fit"]["rules"][3]["when"] = {"field": "person.phone", "greater": 5}
    prospects["fit"]["rules"][0]["when"]["field"] = "industry"
    prospects["fit"]["rules"][4]["id"] = "ceo"
    prospects["fit"]["rules"][1]["points"] = "thirty"
    prospects["fit"]["thresholds"] = {"A": 70, "B": 80}
    prospects["activity"]["rules"][0]["max_points"] = 0
    prospects["activity"]["rules"][1]["min_count"] = 0
    prospects["activity"]["rules"][2]["where"]["matches"] = "^/pricing("
    prospects["activity"]["thresholds"] = {4: 60, 3: 35, 2: 35}
    prospects["categories"][1]["name"] = "analytics"
    prospects["routing"][1]["cells"] = ["A*", "B5"]
    broken["models"][1]["name"] = "prospects"

    problems = problems_of(broken)

    expected_paths = [
        "schedule.regrade",
        "models[0].colour",
        "models[0].fit.rules[3].when",
        "models[0].fit.rules[0].when.field",
        "models[0].fit.rules[4].id",
        "models[0].fit.rules[1].points",
        "models[0].fit.thresholds.C",
        "models[0].activity.rules[0].max_points",
        "models[0].activity.rules[1].min_count",
        "models[0].activity.rules[2].where.matches",
        "models[0].activity.thresholds",
        "models[0].categories[1].name",
        "models[0].routing[1].cells[1]",
        "models[1].name",
    ]
    for path in expected_paths:
        assert_problem_at(problems, path)
    assert "models[0].fit.rules[3].when: unknown operator 'greater'" in problems


def test_problems_in_several_models_are_all_reported():
    problems = problems_of(
        {
            "models": [
                model(name="a", fit=fit(fit_rule({"field": "person.x", "near": 1}))),
                model(name="b", activity=activity({"id": "a", "points": 1, "min_count": 0})),
            ]
        }
    )
    assert_problem_at(problems, "models[0].fit.rules[0].when", "unknown operator 'near'")
    assert_problem_at(problems, "models[1].activity.rules[0].min_count")


def test_config_error_is_a_value_error_listing_its_problems():
    error = ConfigError(["a: one", "b: two"])
    assert isinstance(error, ValueError)
    assert error.problems == ["a: one", "b: two"]
    assert "a: one" in str(error) and "b: two" in str(error)


# the tests' example model file, changed one way at a time --------------------------------


def problems_after(mutate) -> list[str]:
    """The problems of the tests' example model file once `mutate` has changed it."""
    data = spec_model()
    mutate(data)
    return problems_of(data)


def prospects_of(data: dict) -> dict:
    """The `prospects` model of a model-file dict, to change in place."""
    return data["models"][0]


def test_the_tests_example_model_file_loads():
    config = make_config()
    (prospects,) = config.models
    assert (
        prospects.name == "prospects"
        and len(prospects.fit_rules) == 5
        and config.schedule == "0 * * * *"
    )
    assert prospects.fit_thresholds == (70, 45, 20) and prospects.activity.thresholds == (
        60,
        35,
        10,
    )
    assert config.event_property_keys == ("product", "url")


CASES = [
    (
        lambda d: (
            prospects_of(d)["fit"]["rules"][3]["when"].update({"greater": 3})
            or prospects_of(d)["fit"]["rules"][3]["when"].pop("present")
        ),
        "models[0].fit.rules[3].when: unknown operator 'greater'",
    ),
    (lambda d: prospects_of(d).update(colour="red"), "models[0].colour: unknown key 'colour'"),
    (
        lambda d: prospects_of(d)["fit"]["rules"][0].update(points="ten"),
        "models[0].fit.rules[0].points: must be a number, not a string",
    ),
    (
        lambda d: prospects_of(d)["fit"]["rules"][2]["when"].update(matches="(ceo"),
        "models[0].fit.rules[2].when.matches: not RE2 syntax: missing ): (ceo",
    ),
    (
        lambda d: prospects_of(d)["fit"]["rules"][1].update(id="ceo"),
        "models[0].fit.rules[2].id: duplicate rule id 'ceo'",
    ),
    (
        lambda d: d["models"].append(copy.deepcopy(prospects_of(d))),
        "models[1].name: duplicate model name 'prospects'",
    ),
    (
        lambda d: prospects_of(d)["categories"].append(
            copy.deepcopy(prospects_of(d)["categories"][0])
        ),
        "models[0].categories[1].name: duplicate category name 'analytics'",
    ),
    (
        lambda d: prospects_of(d)["fit"].update(thresholds={"A": 20, "B": 45, "C": 20}),
        "models[0].fit.thresholds: thresholds must be strictly decreasing A > B > C",
    ),
    (
        lambda d: prospects_of(d)["activity"].update(thresholds={4: 10, 3: 10, 2: 5}),
        "models[0].activity.thresholds: thresholds must be strictly decreasing 4 > 3 > 2",
    ),
    (
        lambda d: prospects_of(d)["fit"].update(thresholds={"A": 70, "B": 45}),
        "models[0].fit.thresholds.C: is required",
    ),
    (
        lambda d: prospects_of(d)["fit"]["rules"][0]["when"].update(field="industry"),
        "models[0].fit.rules[0].when.field: unknown namespace in 'industry': use person.KEY or company.KEY",
    ),
    (
        lambda d: prospects_of(d)["activity"]["rules"][2]["where"].update(field="person.url"),
        "models[0].activity.rules[2].where.field: 'person.url': event conditions use property keys (url, product, type)",
    ),
    (
        lambda d: prospects_of(d)["routing"][0].update(cells=["A5"]),
        "models[0].routing[0].cells[0]: 'A5' is not a cell pattern (A4, A*, *4, *)",
    ),
    (
        lambda d: prospects_of(d)["routing"][0].update(cells=["**4"]),
        "models[0].routing[0].cells[0]: '**4' is not a cell pattern (A4, A*, *4, *)",
    ),
    (
        lambda d: prospects_of(d)["activity"]["rules"][1].update(min_count=0),
        "models[0].activity.rules[1].min_count: must be a whole number ≥ 1",
    ),
    (
        lambda d: prospects_of(d)["activity"]["rules"][1].update(min_count=2.5),
        "models[0].activity.rules[1].min_count: must be a whole number ≥ 1, not a number",
    ),
    (
        lambda d: prospects_of(d)["activity"]["rules"][0].update(max_points=0),
        "models[0].activity.rules[0].max_points: must be greater than 0",
    ),
    (
        lambda d: prospects_of(d)["activity"]["rules"][0].update(max_points=-5),
        "models[0].activity.rules[0].max_points: must be greater than 0",
    ),
    (
        lambda d: prospects_of(d).update(name="Prospects!"),
        "models[0].name: 'Prospects!' must match [a-z0-9_-]+",
    ),
    (
        lambda d: (
            prospects_of(d)["fit"]["rules"][0]["when"].update(between=[5])
            or prospects_of(d)["fit"]["rules"][0]["when"].pop("in")
        ),
        "models[0].fit.rules[0].when.between: must be a list [low, high]",
    ),
    (
        lambda d: prospects_of(d)["fit"]["rules"][0]["when"].update(gte=5),
        "models[0].fit.rules[0].when: exactly one operator per condition, found in, gte",
    ),
    (
        lambda d: prospects_of(d)["fit"]["rules"][3]["when"].update(present="yes"),
        "models[0].fit.rules[3].when.present: must be true or false, not a string",
    ),
    (lambda d: prospects_of(d).pop("fit"), "models[0].fit: is required"),
    (
        lambda d: d.update(webhooks=[{"url": "ftp://x"}]),
        "webhooks[0].url: must be an http:// or https:// address without spaces or control"
        " characters",
    ),
]


@pytest.mark.parametrize("mutate,expected", CASES)
def test_each_problem_is_reported_with_its_path(mutate, expected):
    assert expected in problems_after(mutate)


def test_every_problem_is_listed_at_once():
    def many(d):
        prospects_of(d).update(colour="red")
        prospects_of(d)["fit"]["rules"][0].update(points="ten")
        prospects_of(d)["routing"][0].update(cells=["Z9"])
        prospects_of(d)["activity"]["rules"][0].update(max_points=0)

    assert len(problems_after(many)) == 4


def test_an_empty_or_non_mapping_file_is_refused():
    with pytest.raises(ConfigError, match="empty"):
        load_config(None)
    with pytest.raises(ConfigError, match="must be a mapping"):
        load_config(["models"])


def test_activity_thresholds_accept_number_or_text_keys():
    data = spec_model()
    prospects_of(data)["activity"]["thresholds"] = {"4": 60, "3": 35, "2": 10}
    assert load_config(data).models[0].activity.thresholds == (60, 35, 10)


def test_a_webhook_url_listed_twice_is_refused():
    def twice(d):
        d["webhooks"] = [
            {"url": "http://127.0.0.1:9/x"},
            {"url": "http://127.0.0.1:9/x", "events": ["route.changed"]},
        ]

    found = problems_after(twice)
    assert (
        "webhooks[1].url: the same URL as an earlier webhook: list its events together instead"
        in found
    )


def test_no_problem_repeats_a_webhook_url_which_may_carry_its_receivers_token():
    """Problems of a refused file are shown to every role (models page, GET /api/models)."""

    def hooks(d):
        d["webhooks"] = [
            {"url": "ftp://hooks.example/t0ken-one"},
            {"url": "https://hooks.example/?token=t0ken-two"},
            {"url": "https://hooks.example/?token=t0ken-two"},
        ]

    assert not [p for p in problems_after(hooks) if "t0ken" in p]


@pytest.mark.parametrize(
    "url,why",
    [
        ("http://h:abc/x", "not a valid address"),
        ("http://127.0.0.1:99999/x", "not a valid address"),
        ("http://[zz/x", "not a valid address"),
        ("http://user:pass@hooks.example/x", "never sent"),
        ("http:///x", "names no host"),
        ("https://hooks.example/a b", "without spaces"),
        ("https://hooks.example/\x85", "control characters"),
        ("ftp://hooks.example/x", "http:// or https://"),
    ],
)
def test_a_webhook_url_that_cannot_be_delivered_to_is_refused(url, why):
    """They passed before: /api/webhooks was a 500 for viewers and delivery failed every second."""
    found = problems_after(lambda d: d.update(webhooks=[{"url": url}]))
    assert any(p.startswith("webhooks[0].url: ") and why in p for p in found), found


def test_a_webhook_url_with_a_port_and_a_query_is_fine():
    data = spec_model()
    data["webhooks"] = [{"url": "HTTPS://h.example:8443/x?t=1"}]
    assert load_config(data).webhooks[0].url == "HTTPS://h.example:8443/x?t=1"


# patterns RE2 cannot compile -------------------------------------------------------------


def with_title_pattern(pattern: str) -> dict:
    """The SPEC's model file with `pattern` as the title pattern of its `ceo` rule."""
    data = spec_model()
    spec_rule(data, "ceo")["when"] = {"field": "person.title", "matches": pattern}
    return data


@pytest.mark.parametrize(
    "pattern, why",
    [
        (r"(ceo)\s+\1", "backreferences (\\1) need backtracking"),
        (r"(?P<t>ceo)(?P=t)", "named backreferences need backtracking"),
        (r"(?P<t>ceo)\k<t>", "named backreferences need backtracking"),
        (r"ceo(?=\s)", "lookaround ((?=…), (?!…), (?<=…), (?<!…)) needs backtracking"),
        (r"ceo(?!s)", "lookaround"),
        (r"(?<=vp )sales", "lookaround"),
        (r"(?<!co-)founder", "lookaround"),
        (r"(a++)+$", "possessive quantifiers (++) are not RE2 syntax"),
        (r"(?>a+)+$", "atomic groups (?>…) are not RE2 syntax"),
        (r"ceo\Z", "\\Z is not RE2 syntax: write \\z (or $)"),
        (r"(?x) c e o", "verbose mode (?x) is not RE2 syntax"),
        (r"a{1001}", "repetition counts are at most 1000"),
        (r"(ceo", "not RE2 syntax: missing ): (ceo"),
        (r"\bдиректор\b", "\\b know only ASCII letters in RE2"),
        (r"\w+ директор", "\\w know only ASCII letters in RE2"),
        ("\ud800", "holds a character that is not valid Unicode text"),
    ],
)
def test_what_re2_cannot_compile_is_refused_naming_the_rule_and_why(pattern, why):
    problems = problems_of(with_title_pattern(pattern))
    assert len(problems) == 1
    assert problems[0].startswith(f"models[0].fit.rules[2].when.matches: {why}"), problems


def test_the_refusal_names_the_path_wherever_the_condition_is():
    model = spec_model()
    body = model["models"][0]
    body["audience"] = {"not": {"field": "person.title", "matches": "(x)\\1"}}
    body["activity"]["rules"][2]["where"] = {"all": [{"field": "url", "matches": "(?=/a)"}]}
    body["categories"][0]["where"] = {"any": [{"field": "url", "matches": "(?<!x)a"}]}
    assert [p.split(": ")[0] for p in problems_of(model)] == [
        "models[0].audience.not.matches",
        "models[0].activity.rules[2].where.all[0].matches",
        "models[0].categories[0].where.any[0].matches",
    ]


# retention -------------------------------------------------------------------------------


def with_retention(retention) -> dict:
    data = spec_model()
    data["retention"] = retention
    return data


def retention_problems(retention) -> list[str]:
    return problems_of(with_retention(retention))


def test_a_retention_as_long_as_the_longest_window_is_accepted():
    assert make_config(with_retention({"events_days": 90})).retention_days == 90


@pytest.mark.parametrize(
    "retention, expected",
    [
        (
            {"events_days": 30},
            "retention.events_days: 30 days is shorter than the longest activity window (90 days, model 'prospects')",
        ),
        ({"events_days": 0}, "retention.events_days: must be a whole number ≥ 1"),
        (
            {"events_days": "a year"},
            "retention.events_days: must be a whole number ≥ 1, not a string",
        ),
        ({}, "retention.events_days: is required"),
        ({"events_days": 400, "keep": 1}, "retention.keep: unknown key 'keep'"),
        (365, "retention: must be a mapping, not a number"),
    ],
)
def test_a_bad_retention_is_refused_naming_the_field(retention, expected):
    assert any(p.startswith(expected) for p in retention_problems(retention)), retention_problems(
        retention
    )


def test_a_category_window_counts_too():
    data = spec_model()
    data["models"][0]["categories"][0]["activity"] = {
        "window_days": 180,
        "rules": [{"id": "d", "event": "download", "points": 10}],
        "thresholds": {4: 60, 3: 35, 2: 10},
    }
    data["retention"] = {"events_days": 120}
    with pytest.raises(ConfigError) as error:
        load_config(data)
    assert any("(180 days, model 'prospects')" in p for p in error.value.problems)
