"""A `matches` pattern cannot hang grading: patterns that backtrack exponentially are refused at
check-config with the rule's path, and the text searched is bounded for the polynomial rest."""

import copy
import re
import time
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grading.core.conditions import MAX_MATCHED_TEXT, compile_condition
from grading.core.config import ConfigError, backtracking_risk, load_config
from grading.core.scoring import Event, grade_lead
from tests.conftest import SPEC_MODEL

T = datetime(2026, 11, 1, 12, tzinfo=UTC)
EVIL = "a" * 40 + "b"  # what makes (a+)+$ take 2^40 steps


def with_title_pattern(pattern: str) -> dict:
    model = copy.deepcopy(SPEC_MODEL)
    model["models"][0]["fit"]["rules"][2]["when"] = {"field": "person.title", "matches": pattern}
    return model


def problems_of(model: dict) -> list[str]:
    with pytest.raises(ConfigError) as refused:
        load_config(model)
    return refused.value.problems


@pytest.mark.parametrize(
    "pattern, kind",
    [
        (r"(a+)+$", "nested quantifier"),
        (r"(a*)*b", "nested quantifier"),
        (r"(a{1,3})+$", "nested quantifier"),
        (r"(\w+\s?)+$", "nested quantifier"),
        (r"^(/[a-z]+)*$", "nested quantifier"),
        (r"(.*,)+x", "nested quantifier"),
        (r"(a|a)+$", "overlapping alternatives"),
        (r"(a|aa)+$", "overlapping alternatives"),
        (r"(?:\d|\w\w)+$", "overlapping alternatives"),
        (r"a*a*b", "quantifiers that compete"),
        (
            r".*a.*b",
            "quantifiers that compete",
        ),  # 1 s on 1,000 characters unguarded; .*a.*a.*b 400 s
        (r"\w+\s*\w+$", "quantifiers that compete"),
        (r"(x*)(x*)y", "quantifiers that compete"),
        (r"a*?a++b", "quantifiers that compete"),  # the lazy one still gives the other text
        (r"a((a{1,3}|a+))a*!", "quantifiers that compete"),
        (r"(\w\d?)+$", "nested quantifier: an optional part"),
        (r"(\w{2}\d?a?)*a!", "nested quantifier: an optional part"),
    ],
)
def test_a_catastrophic_pattern_is_refused_naming_the_rule(pattern, kind):
    problems = problems_of(with_title_pattern(pattern))
    assert len(problems) == 1
    assert problems[0].startswith(
        f"models[0].fit.rules[2].when.matches: catastrophic backtracking: {kind}"
    )


def test_the_refusal_names_the_path_wherever_the_condition_is():
    model = copy.deepcopy(SPEC_MODEL)
    body = model["models"][0]
    body["audience"] = {"not": {"field": "person.title", "matches": "(x+)+y"}}
    body["activity"]["rules"][2]["where"] = {"all": [{"field": "url", "matches": "(/a*)*$"}]}
    body["categories"][0]["where"] = {"any": [{"field": "url", "matches": "(a|a)*$"}]}
    assert [p.split(": catastrophic")[0] for p in problems_of(model)] == [
        "models[0].audience.not.matches",
        "models[0].activity.rules[2].where.all[0].matches",
        "models[0].categories[0].where.any[0].matches",
    ]


@pytest.mark.parametrize(
    "pattern",
    [
        r"\b(ceo|chief executive)\b",  # the SPEC's own patterns
        r"^/pricing",
        r"/(careers|jobs)",
        r"^/products/crm",
        r"(ceo|cfo|cto)+",  # alternatives that start differently
        r"(\d{3})+",  # a fixed count inside is one way only
        r"(a++)+$",  # possessive inside
        r"(?>a+)+$",  # atomic inside
        r"(a+)++$",  # possessive outside
        r"(\w|\d)+$",  # one character class, not two alternatives
        r"\w+\s+\w+$",  # the spaces stand between the words
        r"\d+\.\d+",
        r"^\s*ceo\s*$",
        r"a*+a*b",  # possessive first: nothing to trade
        r"(ab?)+",  # the optional b is nothing else in the group takes
        r"(https?://)+",
        r"\w+(\s+|,)\w+",
        r"^(?:https?://)?(?:www\.)?acme\.io/pricing",
    ],
)
def test_a_safe_pattern_is_accepted(pattern):
    assert backtracking_risk(pattern) is None
    load_config(with_title_pattern(pattern))


def test_an_accepted_rewrite_of_the_refused_pattern_answers_at_once():
    matches = compile_condition({"field": "t", "matches": "(a++)+$"})
    started = time.process_time()  # CPU time: other processes on a busy machine do not count
    assert matches({"t": EVIL}) is False and matches({"t": "aaaa"}) is True
    # milliseconds when bounded; (a+)+$ on this text would take hours. The limit is far above a
    # busy machine's noise, far below a hang.
    assert time.process_time() - started < 5.0


def test_check_config_lists_the_refusal(cli, tmp_path):
    import yaml

    path = tmp_path / "evil.yaml"
    path.write_text(yaml.safe_dump(with_title_pattern("(a+)+$")))
    result = cli("check-config", str(path))
    assert result.exit_code == 1
    assert "models[0].fit.rules[2].when.matches: catastrophic backtracking: nested" in result.output


ALLOWED = [
    r"\b(ceo|chief executive)\b",
    r"^/pricing",
    r".*x",  # quadratic in the text's length: 20 s on 50,000 characters unbounded
    r"\w*x",
    r"\w+\s+\w+x",
    r"(a++)+$",
    r"(ceo|cfo|cto)+$",
]


def test_a_huge_title_against_allowed_patterns_grades_promptly():
    model = copy.deepcopy(SPEC_MODEL)
    model["models"][0]["fit"]["rules"] = [
        {"id": f"r{i}", "when": {"field": "person.title", "matches": p}, "points": 1}
        for i, p in enumerate(ALLOWED)
    ]
    config = load_config(model)
    events = [Event("page_view", T, {"url": "a" * 50_000})]
    started = time.process_time()
    grades = grade_lead(
        config.models[0], {"title": "a" * 50_000, "lifecycle": "lead"}, {}, events, T
    )
    # well under a second when matching is bounded; unbounded, .*x alone takes 20 s on 50,000
    # characters. The limit is far above a busy machine's noise, far below a hang.
    assert time.process_time() - started < 15.0
    hits = {c.rule for c in grades[0].explanation if c.dimension == "fit"}
    assert hits == {"r5"}  # (a++)+$ on the searched part; nothing else matches "aaa…"


def test_matches_searches_the_first_characters_of_a_long_value():
    matches = compile_condition({"field": "t", "matches": "needle"})
    early = "x" * (MAX_MATCHED_TEXT - 6) + "needle"
    assert matches({"t": early}) is True
    assert matches({"t": "x" * MAX_MATCHED_TEXT + "needle"}) is False


def test_the_readme_examples_are_what_check_config_does():
    import os
    import re

    readme = open(os.path.join(os.path.dirname(__file__), "..", "..", "README.md")).read()
    assert "catastrophic backtracking: nested quantifier" in readme
    section = readme[readme.index("- a **nested quantifier**") :]
    section = section[: section.index("###")]
    refused, fine = section.split("Make the inner part")
    for example in re.findall(r"`([^`]*[+*][^`]*)`", refused):
        if "is fine" in refused.split(example)[1][:20]:
            assert backtracking_risk(example) is None, example
        else:
            assert backtracking_risk(example), example
    for example in ("(a++)+", "(?>a+)+"):
        assert backtracking_risk(example) is None
    assert f"first {MAX_MATCHED_TEXT:,} characters" in fine


@pytest.mark.filterwarnings("ignore::FutureWarning")  # re's "possible nested set"
@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.text(alphabet="ab()[]^|*+?{}.,:\\-0123dsw$>=!<", max_size=30))
def test_the_guard_answers_for_every_pattern_re_compiles(pattern):
    try:
        re.compile(pattern, re.IGNORECASE)
    except (re.error, RecursionError, OverflowError):
        return
    risk = backtracking_risk(pattern)
    assert risk is None or risk.split(":")[0] in (
        "nested quantifier",
        "overlapping alternatives inside a repetition, like (a|a)+ or (a|ab)+, can match the "
        "same text in exponentially many ways; make the alternatives start differently, or the "
        "group atomic ((?>a|ab)+)",
        "quantifiers that compete for the same characters, like a*a*b or .*a.*b, take time "
        "growing with a power of the text's length; drop a leading or trailing .* (matches "
        "searches anywhere), or separate them by something only one of them can match",
    )
