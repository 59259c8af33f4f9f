"""`matches` patterns (grading.core.patterns): compiled by RE2, case-insensitive and searched
anywhere, in time linear in the text whatever the pattern; what RE2 cannot compile, or what is
too long or too large for it, is refused with a PatternError whose reason the author of the model
file can act on. How a refusal reaches check-config (the rule's path) is tests/unit/test_config.py.
"""

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grading.core.patterns import MAX_PATTERN, PatternError, compile_pattern

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


# what is refused, and why -----------------------------------------------------------------


@pytest.mark.parametrize(
    "pattern, reason",
    [
        (r"(ceo)\s+\1", "backreferences (\\1) need backtracking, which RE2 never does"),
        (r"(?P<t>ceo)(?P=t)", "named backreferences need backtracking"),
        (r"(?P<t>ceo)\k<t>", "named backreferences need backtracking"),
        (r"ceo(?=\s)", "lookaround ((?=…), (?!…), (?<=…), (?<!…)) needs backtracking"),
        (r"(?<!co-)founder", "lookaround"),
        (r"a*+", "possessive quantifiers (*+) are not RE2 syntax, and not needed"),
        (r"a?+", "possessive quantifiers (?+)"),
        (r"(?>a+)", "atomic groups (?>…) are not RE2 syntax"),
        (r"ceo\Z", "\\Z is not RE2 syntax: write \\z (or $) for the end of the text"),
        (r"(?#note)ceo", "(?#…) comments are not RE2 syntax"),
        (r"(?ix)ceo", "verbose mode (?x) is not RE2 syntax"),
        (r"a{1001}", "repetition counts are at most 1000 in RE2"),
        (r"(a{100}){100}", "repetition counts are at most 1000 in RE2, nested ones multiplied"),
        (r"\pL{400}", "the pattern is too large for RE2's memory bound"),
        (r"(ceo", "not RE2 syntax: missing ): (ceo"),
        ("\ud800", "holds a character that is not valid Unicode text"),
        (r"\Wдиректор", "\\W know only ASCII letters in RE2"),
        (r"\bдиректор\B", "\\B, \\b know only ASCII letters in RE2"),
    ],
)
def test_a_refused_pattern_says_why_in_the_authors_terms(pattern, reason):
    with pytest.raises(PatternError) as refused:
        compile_pattern(pattern)
    assert str(refused.value).startswith(reason)


@pytest.mark.parametrize("pattern", [r"(ceo)\s+\1", r"ceo(?=\s)", r"a*+", r"ceo\Z"])
def test_a_translated_refusal_keeps_re2s_own_words(pattern):
    with pytest.raises(PatternError, match=r"\(RE2: (invalid|bad) [a-z ]+: .+\)$"):
        compile_pattern(pattern)


def test_a_possessive_counted_repetition_is_named_as_possessive():
    with pytest.raises(PatternError, match=r"^possessive quantifiers \(\{2\}\+\)"):
        compile_pattern("a{2}+")


@pytest.mark.parametrize(
    "pattern, text",
    [
        ("a" * MAX_PATTERN, "a" * MAX_PATTERN),  # the longest pattern allowed
        (r"a{1000}", "a" * 1000),  # the largest repetition count
        (r"\\bдиректор", "\\bдиректор"),  # an escaped backslash is no \b
        (r"\bceo\b", "Founder & CEO"),  # \b over ASCII letters only is fine
        (r"\pL{50}", "ж" * 50),
    ],
)
def test_a_pattern_at_the_limits_compiles(pattern, text):
    assert compile_pattern(pattern)(text) is True


def test_a_pattern_one_character_too_long_is_refused_by_its_length():
    with pytest.raises(PatternError, match=r"^is 1,001 characters long: at most 1,000$"):
        compile_pattern("a" * (MAX_PATTERN + 1))


def test_a_pattern_is_compiled_once():
    assert compile_pattern("^/pricing") is compile_pattern("^/pricing")
