"""A `matches` pattern cannot hang grading, seen from outside: RE2 answers at once in a process a
backtracking engine would hang, check-config lists what RE2 cannot compile with the rule's path
and the reason, and the README lists the same. The pattern checks themselves are in
tests/unit/test_conditions.py and tests/unit/test_config.py."""

import os
import re
import subprocess
import sys
import textwrap

import pytest

from grading.core.patterns import PatternError, compile_pattern
from tests.factories import spec_model, spec_rule

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
    """The SPEC's model file with `pattern` as the title pattern of its `ceo` rule."""
    data = spec_model()
    spec_rule(data, "ceo")["when"] = {"field": "person.title", "matches": pattern}
    return data


def test_adversarial_patterns_answer_at_once_in_a_process_that_would_hang_otherwise():
    # In a child process with a deadline, so a backtracking engine fails the test, not hangs it.
    script = textwrap.dedent(
        """
        import time
        from grading.core.config import load_config
        from tests.integration.test_regex_guard import ADVERSARIAL, with_title_pattern
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


def test_check_config_lists_the_refusal(cli, tmp_path):
    import yaml

    path = tmp_path / "lookahead.yaml"
    path.write_text(yaml.safe_dump(with_title_pattern("ceo(?=\\s)")))
    result = cli("check-config", str(path))
    assert result.exit_code == 1
    assert "models[0].fit.rules[2].when.matches: lookaround" in result.output


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
