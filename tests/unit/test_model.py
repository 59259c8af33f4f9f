"""The validated model file as frozen dataclasses (grading.core.model): what their methods answer
(audience, categories, windows, routes) and which event properties a file reads."""

import dataclasses

import pytest

from grading.core.model import Route, cell_matches
from tests.factories import make_config, make_model, spec_model, spec_rule


@pytest.mark.parametrize(
    "pattern, grade, expected",
    [
        ("*", "D1", True),
        ("A4", "A4", True),
        ("A4", "A3", False),
        ("A*", "A1", True),
        ("A*", "B1", False),
        ("*4", "C4", True),
        ("*4", "C3", False),
    ],
)
def test_a_cell_pattern_matches_a_letter_a_number_or_both(pattern, grade, expected):
    assert cell_matches(pattern, grade) is expected


@pytest.mark.parametrize(
    "route, text, as_dict",
    [
        (Route("sales", queue="senior"), "sales/senior", {"to": "sales", "queue": "senior"}),
        (Route("nurture", campaign="news"), "nurture/news", {"to": "nurture", "campaign": "news"}),
        (Route("sales"), "sales", {"to": "sales"}),
    ],
)
def test_a_route_reads_as_its_destination_and_queue_or_campaign(route, text, as_dict):
    assert (str(route), route.as_dict()) == (text, as_dict)


def test_main_only_drops_the_categories_and_keeps_the_rest():
    model = make_model()
    main = model.main_only()
    assert model.categories and main.categories == ()
    assert main == dataclasses.replace(model, categories=())
    assert len(model.categories) == 1  # the model itself is left as it was


def test_a_category_is_found_by_name():
    model = make_model()
    assert model.category("analytics").name == "analytics"
    assert model.category("hr") is None


def test_a_model_is_found_by_name():
    config = make_config()
    assert config.model("prospects") is config.models[0]
    assert config.model("partners") is None


@pytest.mark.parametrize(
    "lifecycle, inside", [("lead", True), ("customer", False), ("disqualified", False)]
)
def test_in_audience_asks_the_audience_condition(lifecycle, inside):
    assert make_model().in_audience({"person.lifecycle": lifecycle}) is inside


def test_a_model_without_an_audience_takes_every_lead():
    assert make_model(audience=None).in_audience({"person.lifecycle": "customer"})


def test_a_category_without_its_own_activity_block_uses_the_models():
    model = make_model()
    assert model.block_of(model.category("analytics")) is model.activity
    assert model.block_of(None) is model.activity


def test_a_rules_days_are_its_within_days_or_the_blocks_window():
    block = make_model().activity
    rules = {r.id: r for r in block.rules}
    assert block.days_of(rules["pricing-recent"]) == 7
    assert block.days_of(rules["downloads"]) == 90


def test_the_longest_window_counts_a_rule_reaching_beyond_the_block():
    data = spec_model()
    spec_rule(data, "pricing-recent")["within_days"] = 400
    assert make_config(data).models[0].activity.longest_window == 400
    assert make_model().activity.longest_window == 90


@pytest.mark.parametrize(
    "event_type, url, expected",
    [
        ("page_view", "/pricing", True),
        ("page_view", "/about", False),  # the where does not hold
        ("download", "/pricing", False),  # the wrong type
    ],
)
def test_an_activity_rule_matches_by_type_and_where(event_type, url, expected):
    rules = {r.id: r for r in make_model().activity.rules}
    assert rules["pricing-recent"].matches(event_type, {"url": url}) is expected


def test_an_activity_rule_without_event_or_where_matches_any_event():
    data = spec_model()
    data["models"][0]["activity"]["rules"] = [{"id": "anything", "points": 1}]
    (rule,) = make_config(data).models[0].activity.rules
    assert rule.matches("webinar", {}) and rule.matches("download", {"url": "/x"})


def test_the_event_property_keys_are_what_every_where_reads_but_the_type():
    assert make_config().event_property_keys == ("product", "url")


def test_a_categorys_own_activity_rules_count_towards_the_property_keys():
    data = spec_model()
    data["models"][0]["categories"][0]["activity"] = {
        "rules": [
            {
                "id": "webinar",
                "event": "webinar",
                "where": {
                    "all": [
                        {"field": "topic", "equals": "bi"},
                        {"field": "type", "equals": "webinar"},
                    ]
                },
                "points": 10,
            }
        ],
        "thresholds": {4: 60, 3: 35, 2: 10},
    }
    assert make_config(data).event_property_keys == ("product", "topic", "url")


def test_the_models_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        make_model().name = "other"  # type: ignore[misc]
