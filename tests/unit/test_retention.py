"""The retention setting of the model file: checked against the activity windows; whole UTC days."""

from datetime import UTC, datetime

import pytest

from grading.core.config import ConfigError, load_config
from grading.services.retention import cutoff
from tests.factories import make_config, spec_model


def config_with(retention):
    data = spec_model()
    data["retention"] = retention
    return load_config(data)


def problems(retention):
    with pytest.raises(ConfigError) as error:
        config_with(retention)
    return error.value.problems


def test_without_retention_nothing_is_purged():
    config = make_config()
    assert config.retention_days is None
    assert cutoff(config, datetime(2026, 12, 1, 15, tzinfo=UTC)) is None


def test_a_retention_as_long_as_the_longest_window_is_accepted():
    assert config_with({"events_days": 90}).retention_days == 90


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
    assert any(p.startswith(expected) for p in problems(retention)), problems(retention)


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


def test_the_cutoff_keeps_every_event_a_window_of_that_many_days_counts():
    config = config_with({"events_days": 90})
    now = datetime(2026, 12, 1, 15, 30, tzinfo=UTC)
    # age < 90 days: the date of the event is at most 89 days before today
    assert cutoff(config, now) == datetime(2026, 9, 3, tzinfo=UTC)
    assert (now.date() - cutoff(config, now).date()).days == 89
