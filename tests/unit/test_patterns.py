"""`matches` patterns (grading.core.patterns): compiled by RE2, case-insensitive and searched
anywhere, in time linear in the text whatever the pattern; what RE2 cannot compile, or what is
too long or too large for it, is refused with a PatternError whose reason the author of the model
file can act on. How a refusal reaches check-config (the rule's path) is tests/unit/test_config.py.
"""

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grading.core.patterns import PatternError, compile_pattern

# RE2: `matches` cannot hang grading ------------------------------------------------------


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
    assert compile_pattern(pattern)(value) is expected


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.text(alphabet="ab()[]^|*+?{}.,:\\-0123dswbZzP<>=!жé$\ud800", max_size=30))
def test_every_pattern_compiles_or_is_refused_with_a_reason(pattern):
    try:
        search = compile_pattern(pattern)
    except PatternError as refused:
        assert str(refused)
        return
    assert search("ab" * 50 + "жé") in (True, False)
