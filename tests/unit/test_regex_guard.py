"""A `matches` pattern cannot hang grading: RE2 matches in time linear in the text whatever the
pattern, and what RE2 cannot compile (backreferences, lookaround) is refused at check-config with the
rule's path and the reason — never handed to a backtracking engine instead."""

import os
import re
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grading.core.conditions import PatternError, compile_condition, compile_pattern
from grading.core.config import ConfigError, load_config
from grading.core.scoring import Event, grade_lead
from tests.factories import spec_model

T = datetime(2026, 11, 1, 12, tzinfo=UTC)
ROOT = os.path.join(os.path.dirname(__file__), "..", "..")

# Patterns a backtracking engine takes exponential (or high-power polynomial) time on, with the
# text that shows it; the first is the issue's: 48 Cyrillic letters held a server at 100 % CPU.
ADVERSARIAL = [
    (r"([а-я]|жж)+$", "ж" * 48 + "!"),
    (r"(a+)+$", "a" * 48 + "b"),
    (r"(a|aa)+$", "a" * 48 + "b"),
    (r"(\w+\s?)+$", "word " * 12 + "!"),
    (r"(.*a){12}", "a" * 48),
    (r".*a.*a.*b", "a" * 5_000),
]


def with_title_pattern(pattern: str) -> dict:
    model = spec_model()
    model["models"][0]["fit"]["rules"][2]["when"] = {"field": "person.title", "matches": pattern}
    return model


def problems_of(model: dict) -> list[str]:
    with pytest.raises(ConfigError) as refused:
        load_config(model)
    return refused.value.problems


def test_adversarial_patterns_answer_at_once_in_a_process_that_would_hang_otherwise():
    # In a child process with a deadline, so a backtracking engine fails the test, not hangs it.
    script = textwrap.dedent(
        """
        import time
        from grading.core.config import load_config
        from tests.unit.test_regex_guard import ADVERSARIAL, with_title_pattern
        for pattern, text in ADVERSARIAL:
            test = load_config(with_title_pattern(pattern)).models[0].fit_rules[2].test
            for value in (text, text * 2_000):  # ~100,000 characters: linear means milliseconds
                started = time.process_time()
                test({"person.title": value})
                assert time.process_time() - started < 2.0, (pattern, len(value))
        print("ok")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]


def test_matching_time_grows_linearly_with_the_text():
    search = compile_pattern(r"([а-я]|жж)+$")
    timings = []
    for size in (20_000, 200_000):
        started = time.process_time()
        for _ in range(5):
            assert search("ж" * size + "!") is False
        timings.append(time.process_time() - started)
    # ten times the text: about ten times the time (a generous factor for a noisy machine);
    # backtracking would not finish at all
    assert timings[1] < max(timings[0], 0.01) * 40


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


def test_check_config_lists_the_refusal(cli, tmp_path):
    import yaml

    path = tmp_path / "lookahead.yaml"
    path.write_text(yaml.safe_dump(with_title_pattern("ceo(?=\\s)")))
    result = cli("check-config", str(path))
    assert result.exit_code == 1
    assert "models[0].fit.rules[2].when.matches: lookaround" in result.output


@pytest.mark.parametrize(
    "pattern, value, expected",
    [
        (r"\b(ceo|chief executive)\b", "Founder & CEO", True),  # the SPEC's own patterns
        (r"\b(ceo|chief executive)\b", "CEOs office", False),
        (r"^/pricing", "/Pricing/enterprise", True),
        ("директор", "ГЕНЕРАЛЬНЫЙ ДИРЕКТОР", True),  # case folding beyond ASCII
        (r"(^|\PL)директор($|\PL)", "генеральный директор", True),  # a whole word, any script
        (r"(^|\PL)директор($|\PL)", "директорат", False),
        (r"^\pL+$", "Ζωή", True),
        (r"(a+)+$", "aaaa", True),
        (r"([а-я]|жж)+$", "жжж", True),
        (r"(?s)a.b", "a\nb", True),  # inline flags are RE2 syntax
        ("needle", "x" * 50_000 + "needle", True),  # the whole value is searched
        ("x", "\udc80x", True),  # a lone surrogate in a value neither crashes nor hides it
    ],
)
def test_matches_is_re2_searched_anywhere_case_insensitively(pattern, value, expected):
    matches = compile_condition({"field": "t", "matches": pattern})
    assert matches({"t": value}) is expected


def test_a_huge_title_against_many_patterns_grades_promptly():
    patterns = [r".*x", r"\w*x", r"\w+\s+\w+x", r"(a+)+$", r"(a|aa)+$", r"([а-я]|жж)+$"]
    model = spec_model()
    model["models"][0]["fit"]["rules"] = [
        {"id": f"r{i}", "when": {"field": "person.title", "matches": p}, "points": 1}
        for i, p in enumerate(patterns)
    ]
    config = load_config(model)
    events = [Event("page_view", T, {"url": "a" * 50_000 + "!"})]
    started = time.process_time()
    grades = grade_lead(
        config.models[0], {"title": "a" * 50_000 + "!", "lifecycle": "lead"}, {}, events, T
    )
    assert time.process_time() - started < 5.0  # milliseconds; far above a busy machine's noise
    assert {c.rule for c in grades[0].explanation if c.dimension == "fit"} == set()


def test_the_readme_lists_what_check_config_refuses():
    readme = open(os.path.join(ROOT, "README.md")).read()
    section = readme[readme.index("`matches` uses [RE2 syntax]") :]
    section = section[: section.index("###")]
    refused, allowed = section.split("`\\b`, `\\B`, `\\w`, `\\W`, `\\d` and `\\s` mean ASCII")
    examples = re.findall(r"^- .*$", refused, re.M)
    for example in re.findall(r"`([^`]+)`", "\n".join(examples)):
        if example in ("\\z", "$"):  # the replacements offered
            assert compile_pattern(example)
            continue
        with pytest.raises(PatternError):
            compile_pattern(example.replace("…", "a"))
    with pytest.raises(PatternError):
        compile_pattern("\\bдиректор\\b")
    assert compile_pattern("(^|\\PL)директор($|\\PL)")("генеральный директор")


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.text(alphabet="ab()[]^|*+?{}.,:\\-0123dswbZzP<>=!жé$\ud800", max_size=30))
def test_every_pattern_compiles_or_is_refused_with_a_reason(pattern):
    try:
        search = compile_pattern(pattern)
    except PatternError as refused:
        assert str(refused)
        return
    assert search("ab" * 50 + "жé") in (True, False)
