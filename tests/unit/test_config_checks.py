"""The checks the model file is read with (grading.core.config_checks): each check returns a
usable value or None and records its problem under the path, so reading goes on. The whole file
through ``load_config`` is tests/unit/test_config.py; here each check on its own, as a table of
value -> (what it returns, the problems it records)."""

import math

import pytest

from grading.core.config_checks import MAX_TEXT, Checker, join, kind


def check(method: str, value, *args, **options):
    """What `Checker.<method>(value, "p", ...)` returns, and the problems it recorded."""
    checker = Checker()
    result = getattr(checker, method)(value, "p", *args, **options)
    return result, checker.problems


@pytest.mark.parametrize(
    "value, options, result, problems",
    [
        (3, {}, 3.0, []),
        (-2.5, {}, -2.5, []),
        (True, {}, None, ["p: must be a number, not a boolean"]),
        ("3", {}, None, ["p: must be a number, not a string"]),
        (None, {}, None, ["p: must be a number, not nothing"]),
        (math.inf, {}, None, ["p: must be a finite number, not inf"]),
        (math.nan, {}, None, ["p: must be a finite number, not nan"]),
        (10**400, {}, None, ["p: must be a finite number, not 10000000000000000000"]),
        (0, {"positive": True}, None, ["p: must be greater than 0"]),
        (0.5, {"positive": True}, 0.5, []),
    ],
)
def test_number(value, options, result, problems):
    assert check("number", value, **options) == (result, problems)


@pytest.mark.parametrize(
    "value, bounds, result, problems",
    [
        (1, (), 1, []),
        (0, (), None, ["p: must be a whole number ≥ 1"]),
        (0, (0,), 0, []),
        (2.0, (), None, ["p: must be a whole number ≥ 1, not a number"]),
        (False, (0,), None, ["p: must be a whole number ≥ 0, not a boolean"]),
        (36_500, (1, 36_500), 36_500, []),
        (36_501, (1, 36_500), None, ["p: must be at most 36,500"]),
    ],
)
def test_whole(value, bounds, result, problems):
    assert check("whole", value, *bounds) == (result, problems)


@pytest.mark.parametrize(
    "value, result, problems",
    [
        ("CEO", "CEO", []),
        ("x" * MAX_TEXT, "x" * MAX_TEXT, []),
        ("x" * (MAX_TEXT + 1), None, ["p: is 501 characters long: at most 500"]),
        ("   ", None, ["p: must be a non-empty string, not a string"]),
        (7, None, ["p: must be a non-empty string, not a number"]),
    ],
)
def test_text(value, result, problems):
    assert check("text", value) == (result, problems)


@pytest.mark.parametrize(
    "value, result, problems",
    [
        ("prospects_2-b", "prospects_2-b", []),
        ("Prospects", None, ["p: 'Prospects' must match [a-z0-9_-]+"]),
        ("two words", None, ["p: 'two words' must match [a-z0-9_-]+"]),
        ("", None, ["p: must be a non-empty string, not a string"]),  # one problem, not two
    ],
)
def test_name(value, result, problems):
    assert check("name", value) == (result, problems)


@pytest.mark.parametrize(
    "value, options, result, problems",
    [
        ([1], {}, [1], []),
        ([], {}, [], ["p: must not be empty"]),
        ([], {"allow_empty": True}, [], []),
        ({"a": 1}, {}, [], ["p: must be a list, not a mapping"]),
    ],
)
def test_items(value, options, result, problems):
    assert check("items", value, **options) == (result, problems)


def test_mapping_reports_every_unknown_and_missing_key():
    result, problems = check(
        "mapping", {"id": "x", "extra": 1, "more": 2}, ("id", "when"), ("id", "when")
    )
    assert result == {"id": "x", "extra": 1, "more": 2}  # still usable: reading goes on
    assert problems == [
        "p.extra: unknown key 'extra'",
        "p.more: unknown key 'more'",
        "p.when: is required",
    ]


def test_mapping_refuses_what_is_no_mapping():
    assert check("mapping", [1], ("id",)) == (None, ["p: must be a mapping, not a list"])


@pytest.mark.parametrize(
    "value, result, problems",
    [
        ({"A": 70, "B": 45, "C": 20}, (70.0, 45.0, 20.0), []),
        (
            {"A": 70, "B": 70, "C": 20},
            None,
            ["p: thresholds must be strictly decreasing A > B > C"],
        ),
        ({"A": 70, "B": 45}, None, ["p.C: is required"]),
        (
            {"A": 70, "B": 45, "C": 20, "D": 0},
            (70.0, 45.0, 20.0),
            ["p.D: unknown threshold 'D' (use A, B, C)"],
        ),
        ({"A": "high", "B": 45, "C": 20}, None, ["p.A: must be a number, not a string"]),
        ([70, 45, 20], None, ["p: must be a mapping of A, B, C, not a list"]),
    ],
)
def test_fit_thresholds(value, result, problems):
    assert check("thresholds", value, ("A", "B", "C")) == (result, problems)


def test_activity_thresholds_may_be_keyed_by_numbers_or_their_text():
    keys = (4, 3, 2)
    assert check("thresholds", {4: 60, "3": 35, 2: 10}, keys) == ((60.0, 35.0, 10.0), [])


def test_unique_reports_each_repeat_at_its_own_path_and_skips_missing_names():
    checker = Checker()
    checker.unique(
        [("a", "r[0]"), (None, "r[1]"), ("a", "r[2]"), (None, "r[3]"), ("a", "r[4]")], "rule id"
    )
    assert checker.problems == ["r[2]: duplicate rule id 'a'", "r[4]: duplicate rule id 'a'"]


@pytest.mark.parametrize(
    "entry, result, problems",
    [
        ({}, None, []),
        ({"label": "200+ employees"}, "200+ employees", []),
        ({"label": ""}, None, ["p.label: must be a non-empty string, not a string"]),
    ],
)
def test_label_is_optional_but_checked_when_given(entry, result, problems):
    assert check("label", entry) == (result, problems)


def test_a_problem_at_the_top_level_has_no_path():
    checker = Checker()
    checker.fail("", "nothing to read")
    assert checker.problems == ["nothing to read"]


@pytest.mark.parametrize(
    "path, key, joined",
    [("", "models", "models"), ("models[0]", "fit", "models[0].fit"), ("a", 4, "a.4")],
)
def test_join(path, key, joined):
    assert join(path, key) == joined


@pytest.mark.parametrize(
    "value, said",
    [
        (None, "nothing"),
        (True, "a boolean"),
        (1, "a number"),
        (1.5, "a number"),
        ("", "a string"),
        ([], "a list"),
        ({}, "a mapping"),
        ((1,), "tuple"),
    ],
)
def test_kind_names_a_value_as_yaml_would(value, said):
    assert kind(value) == said
