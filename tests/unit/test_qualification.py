"""Qualification criteria: the model file's `qualification` block and what `qualified` means."""

import pytest

from grading.core.conditions import compile_condition
from grading.core.config import ConfigError, load_config
from grading.core.qualification import (
    DEFAULT_CRITERIA,
    Criterion,
    QualificationError,
    apply_ticks,
    is_qualified,
    summary,
    ticked,
    ticks_from_form,
)
from tests.factories import make_config, spec_model

BANT = [c.id for c in DEFAULT_CRITERIA]
TWO = (Criterion("budget", "Budget"), Criterion("fit_check", "Fit checked"))


def with_qualification(block):
    data = spec_model()
    data["qualification"] = block
    return data


def problems_of(block) -> list[str]:
    with pytest.raises(ConfigError) as error:
        load_config(with_qualification(block))
    return error.value.problems


def test_without_a_qualification_block_the_criteria_are_bant():
    assert BANT == ["budget", "authority", "need", "timeline"]
    config = make_config()
    assert config.qualification == DEFAULT_CRITERIA
    assert all(c.label and c.label != c.id for c in config.qualification)


def test_the_model_file_names_its_own_criteria_and_a_missing_label_is_the_id():
    config = load_config(
        with_qualification(
            {"criteria": [{"id": "budget", "label": " Budget confirmed "}, {"id": "champion"}]}
        )
    )
    assert config.qualification == (
        Criterion("budget", "Budget confirmed"),
        Criterion("champion", "champion"),
    )


@pytest.mark.parametrize(
    "block, expected",
    [
        ([], "qualification: must be a mapping with 'criteria'"),
        ({}, "qualification.criteria: is required"),
        ({"criteria": []}, "qualification.criteria: must be a non-empty list of {id, label}"),
        ({"criteria": "budget"}, "qualification.criteria: must be a non-empty list of {id, label}"),
        ({"criteria": [{"id": "x"}], "extra": 1}, "qualification.extra: unknown key 'extra'"),
        (
            {"criteria": [{"id": "Budget"}]},
            "qualification.criteria[0].id: 'Budget' must match [a-z][a-z0-9_]*",
        ),
        (
            {"criteria": [{"id": "has-dash"}]},
            "qualification.criteria[0].id: 'has-dash' must match [a-z][a-z0-9_]*",
        ),
        ({"criteria": [{"label": "x"}]}, "qualification.criteria[0].id: None must match"),
        (
            {"criteria": [{"id": "a"}, {"id": "a"}]},
            "qualification.criteria[1].id: duplicate criterion 'a'",
        ),
        (
            {"criteria": [{"id": "a", "label": 3}]},
            "qualification.criteria[0].label: must be a non-empty string",
        ),
        (
            {"criteria": [{"id": "a", "label": "A", "points": 5}]},
            "qualification.criteria[0].points: unknown key 'points'",
        ),
        ({"criteria": ["budget"]}, "qualification.criteria[0]: must be a mapping {id, label}"),
    ],
)
def test_a_bad_qualification_block_is_refused_with_its_path(block, expected):
    problems = problems_of(block)
    assert any(p.startswith(expected) for p in problems), problems


def test_every_problem_of_the_block_is_listed_with_the_rest_of_the_file():
    data = with_qualification({"criteria": [{"id": "A"}, {"id": "b", "label": ""}]})
    data["models"][0]["fit"]["thresholds"]["A"] = "high"
    with pytest.raises(ConfigError) as error:
        load_config(data)
    paths = [p.split(":")[0] for p in error.value.problems]
    assert "qualification.criteria[0].id" in paths
    assert "qualification.criteria[1].label" in paths
    assert "models[0].fit.thresholds.A" in paths


@pytest.mark.parametrize(
    "stored, qualified",
    [
        (None, False),
        ([], False),
        (["budget", "authority", "need"], False),
        (["budget", "authority", "need", "timeline"], True),
        ([" Timeline", "NEED", "authority", "budget"], True),  # as an import may spell them
        (["budget", "authority", "need", "timeline", "retired"], True),
        ("budget", False),
        (42, False),
    ],
)
def test_a_lead_is_qualified_when_every_criterion_is_ticked(stored, qualified):
    person = {} if stored is None else {"qualification": stored}
    assert is_qualified(person, DEFAULT_CRITERIA) is qualified
    assert summary(person, DEFAULT_CRITERIA)["qualified"] is qualified


def test_qualified_follows_the_criteria_of_the_model_file():
    person = {"qualification": ["budget", "fit_check"]}
    assert is_qualified(person, TWO) and not is_qualified(person, DEFAULT_CRITERIA)
    assert summary(person, TWO) == {
        "qualified": True,
        "criteria": [
            {"id": "budget", "label": "Budget", "ticked": True},
            {"id": "fit_check", "label": "Fit checked", "ticked": True},
        ],
    }


def test_a_lone_string_counts_as_one_tick_and_duplicates_once():
    assert ticked({"qualification": "Budget "}) == ["budget"]
    assert ticked({"qualification": ["need", "NEED", "", "budget"]}) == ["need", "budget"]


def test_ticking_adds_and_unticking_removes_in_criteria_order():
    person = {"qualification": ["need"]}
    assert apply_ticks(person, {"timeline": True, "budget": True}, DEFAULT_CRITERIA) == [
        "budget",
        "need",
        "timeline",
    ]
    assert apply_ticks(person, {"need": False, "authority": True}, DEFAULT_CRITERIA) == [
        "authority"
    ]


def test_unticking_the_last_criterion_removes_the_attribute():
    assert apply_ticks({"qualification": ["need"]}, {"need": False}, DEFAULT_CRITERIA) is None
    assert apply_ticks({}, {"budget": False}, DEFAULT_CRITERIA) is None


def test_ticks_of_criteria_no_longer_in_the_file_are_kept():
    person = {"qualification": ["budget", "legacy"]}
    assert apply_ticks(person, {"budget": False}, TWO) == ["legacy"]


def test_unknown_criteria_and_non_boolean_ticks_are_refused_by_name():
    with pytest.raises(QualificationError) as error:
        apply_ticks({}, {"budjet": True, "need": "yes", "budget": True}, DEFAULT_CRITERIA)
    assert error.value.problems == [
        ("qualification.budjet", "unknown criterion (use budget, authority, need, timeline)"),
        ("qualification.need", "must be true or false"),
    ]


def test_a_checkbox_form_unticks_every_box_not_sent():
    assert ticks_from_form(["need"], DEFAULT_CRITERIA) == {
        "budget": False,
        "authority": False,
        "need": True,
        "timeline": False,
    }
    with pytest.raises(QualificationError) as error:
        ticks_from_form(["need", "nope"], DEFAULT_CRITERIA)
    assert error.value.problems == [("qualification.nope", "unknown criterion")]


@pytest.mark.parametrize(
    "condition, ticks, holds",
    [
        ({"field": "person.qualification", "equals": "budget"}, ["budget", "need"], True),
        ({"field": "person.qualification", "equals": "budget"}, ["need"], False),
        ({"field": "person.qualification", "equals": "budget"}, None, False),
        ({"not": {"field": "person.qualification", "equals": "budget"}}, None, True),
        ({"field": "person.qualification", "in": ["budget", "need"]}, ["need"], True),
        (
            {
                "all": [
                    {"field": "person.qualification", "equals": "budget"},
                    {"field": "person.qualification", "equals": "authority"},
                ]
            },
            ["authority", "budget"],
            True,
        ),
        ({"field": "person.qualification", "present": True}, None, False),
    ],
)
def test_rules_read_the_ticks_with_the_existing_condition_language(condition, ticks, holds):
    person = {} if ticks is None else {"qualification": ticks}
    record = {f"person.{k}": v for k, v in person.items()}
    assert compile_condition(condition)(record) is holds
