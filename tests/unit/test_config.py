"""The model file: every problem listed with its path, all at once."""

import copy

import pytest

from grading.core.config import ConfigError, load_config
from tests.factories import make_config, spec_model


def problems(mutate):
    data = spec_model()
    mutate(data)
    with pytest.raises(ConfigError) as error:
        load_config(data)
    return error.value.problems


def model(data):
    return data["models"][0]


def test_the_spec_example_loads():
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
            model(d)["fit"]["rules"][3]["when"].update({"greater": 3})
            or model(d)["fit"]["rules"][3]["when"].pop("present")
        ),
        "models[0].fit.rules[3].when: unknown operator 'greater'",
    ),
    (lambda d: model(d).update(colour="red"), "models[0].colour: unknown key 'colour'"),
    (
        lambda d: model(d)["fit"]["rules"][0].update(points="ten"),
        "models[0].fit.rules[0].points: must be a number, not a string",
    ),
    (
        lambda d: model(d)["fit"]["rules"][2]["when"].update(matches="(ceo"),
        "models[0].fit.rules[2].when.matches: not RE2 syntax: missing ): (ceo",
    ),
    (
        lambda d: model(d)["fit"]["rules"][1].update(id="ceo"),
        "models[0].fit.rules[2].id: duplicate rule id 'ceo'",
    ),
    (
        lambda d: d["models"].append(copy.deepcopy(model(d))),
        "models[1].name: duplicate model name 'prospects'",
    ),
    (
        lambda d: model(d)["categories"].append(copy.deepcopy(model(d)["categories"][0])),
        "models[0].categories[1].name: duplicate category name 'analytics'",
    ),
    (
        lambda d: model(d)["fit"].update(thresholds={"A": 20, "B": 45, "C": 20}),
        "models[0].fit.thresholds: thresholds must be strictly decreasing A > B > C",
    ),
    (
        lambda d: model(d)["activity"].update(thresholds={4: 10, 3: 10, 2: 5}),
        "models[0].activity.thresholds: thresholds must be strictly decreasing 4 > 3 > 2",
    ),
    (
        lambda d: model(d)["fit"].update(thresholds={"A": 70, "B": 45}),
        "models[0].fit.thresholds.C: is required",
    ),
    (
        lambda d: model(d)["fit"]["rules"][0]["when"].update(field="industry"),
        "models[0].fit.rules[0].when.field: unknown namespace in 'industry': use person.KEY or company.KEY",
    ),
    (
        lambda d: model(d)["activity"]["rules"][2]["where"].update(field="person.url"),
        "models[0].activity.rules[2].where.field: 'person.url': event conditions use property keys (url, product, type)",
    ),
    (
        lambda d: model(d)["routing"][0].update(cells=["A5"]),
        "models[0].routing[0].cells[0]: 'A5' is not a cell pattern (A4, A*, *4, *)",
    ),
    (
        lambda d: model(d)["routing"][0].update(cells=["**4"]),
        "models[0].routing[0].cells[0]: '**4' is not a cell pattern (A4, A*, *4, *)",
    ),
    (
        lambda d: model(d)["activity"]["rules"][1].update(min_count=0),
        "models[0].activity.rules[1].min_count: must be a whole number ≥ 1",
    ),
    (
        lambda d: model(d)["activity"]["rules"][1].update(min_count=2.5),
        "models[0].activity.rules[1].min_count: must be a whole number ≥ 1, not a number",
    ),
    (
        lambda d: model(d)["activity"]["rules"][0].update(max_points=0),
        "models[0].activity.rules[0].max_points: must be greater than 0",
    ),
    (
        lambda d: model(d)["activity"]["rules"][0].update(max_points=-5),
        "models[0].activity.rules[0].max_points: must be greater than 0",
    ),
    (
        lambda d: d["schedule"].update(regrade="every hour"),
        "schedule.regrade: bad cron expression 'every hour': Wrong number of fields; got 2, expected 5",
    ),
    (
        lambda d: model(d).update(name="Prospects!"),
        "models[0].name: 'Prospects!' must match [a-z0-9_-]+",
    ),
    (
        lambda d: (
            model(d)["fit"]["rules"][0]["when"].update(between=[5])
            or model(d)["fit"]["rules"][0]["when"].pop("in")
        ),
        "models[0].fit.rules[0].when.between: must be a list [low, high]",
    ),
    (
        lambda d: model(d)["fit"]["rules"][0]["when"].update(gte=5),
        "models[0].fit.rules[0].when: exactly one operator per condition, found in, gte",
    ),
    (
        lambda d: model(d)["fit"]["rules"][3]["when"].update(present="yes"),
        "models[0].fit.rules[3].when.present: must be true or false, not a string",
    ),
    (lambda d: model(d).pop("fit"), "models[0].fit: is required"),
    (
        lambda d: d.update(webhooks=[{"url": "ftp://x"}]),
        "webhooks[0].url: must be an http:// or https:// address without spaces or control"
        " characters",
    ),
]


@pytest.mark.parametrize("mutate,expected", CASES)
def test_each_problem_is_reported_with_its_path(mutate, expected):
    assert expected in problems(mutate)


def test_every_problem_is_listed_at_once():
    def many(d):
        model(d).update(colour="red")
        model(d)["fit"]["rules"][0].update(points="ten")
        model(d)["routing"][0].update(cells=["Z9"])
        model(d)["activity"]["rules"][0].update(max_points=0)

    assert len(problems(many)) == 4


def test_an_empty_or_non_mapping_file_is_refused():
    with pytest.raises(ConfigError, match="empty"):
        load_config(None)
    with pytest.raises(ConfigError, match="must be a mapping"):
        load_config(["models"])


def test_activity_thresholds_accept_number_or_text_keys():
    data = spec_model()
    model(data)["activity"]["thresholds"] = {"4": 60, "3": 35, "2": 10}
    assert load_config(data).models[0].activity.thresholds == (60, 35, 10)


def test_a_webhook_url_listed_twice_is_refused():
    def twice(d):
        d["webhooks"] = [
            {"url": "http://127.0.0.1:9/x"},
            {"url": "http://127.0.0.1:9/x", "events": ["route.changed"]},
        ]

    found = problems(twice)
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

    assert not [p for p in problems(hooks) if "t0ken" in p]


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
    found = problems(lambda d: d.update(webhooks=[{"url": url}]))
    assert any(p.startswith("webhooks[0].url: ") and why in p for p in found), found


def test_a_webhook_url_with_a_port_and_a_query_is_fine():
    data = spec_model()
    data["webhooks"] = [{"url": "HTTPS://h.example:8443/x?t=1"}]
    assert load_config(data).webhooks[0].url == "HTTPS://h.example:8443/x?t=1"
