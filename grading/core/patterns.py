"""`matches` patterns (SPEC section 3): compiled by RE2, which matches in time linear in the
text whatever the pattern, and refused with a reason a model file's author can act on."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

import re2
from re2 import _re2  # the RE2 C++ class itself: it has no way to fall back to a backtracking re


class PatternError(ValueError):
    """A `matches` pattern that RE2 cannot compile; the message says why, in the user's terms."""


_UNANCHORED = _re2.RE2.Anchor.UNANCHORED
# What RE2 says (its own words, first) -> what to tell the author of the model file.
_NO_BACKTRACKING = "need backtracking, which RE2 never does"
_NOT_NEEDED = "not RE2 syntax, and not needed: RE2 never backtracks"
_RE2_REFUSALS = (
    (r"invalid escape sequence: \\[1-9]", f"backreferences ({{0}}) {_NO_BACKTRACKING}"),
    (
        r"invalid (perl operator: \(\?P$|escape sequence: \\k)",
        f"named backreferences {_NO_BACKTRACKING}",
    ),
    (
        r"invalid perl operator: \(\?<?[=!]",
        "lookaround ((?=…), (?!…), (?<=…), (?<!…)) needs backtracking, which RE2 never does",
    ),
    (r"invalid perl operator: \(\?>", f"atomic groups (?>…) are {_NOT_NEEDED}"),
    (
        r"bad repetition operator: (?:[*+?]|\{\d+(?:,\d*)?\})\+",
        f"possessive quantifiers ({{0}}) are {_NOT_NEEDED}",
    ),
    (
        r"invalid escape sequence: \\Z",
        "\\Z is not RE2 syntax: write \\z (or $) for the end of the text",
    ),
    (r"invalid perl operator: \(\?#", "(?#…) comments are not RE2 syntax"),
    (r"invalid perl operator: \(\?[a-zA-Z]*x", "verbose mode (?x) is not RE2 syntax"),
    (
        r"invalid repetition size",
        "repetition counts are at most 1000 in RE2, nested ones multiplied",
    ),
    (r"pattern too large", "the pattern is too large for RE2's memory bound"),
)
# RE2's \b, \B, \w, \W (like \d and \s) are ASCII-only: \bдиректор\b never matches "директор".
_ASCII_ONLY = frozenset("bBwW")


MAX_PATTERN = 1_000  # characters of a `matches` pattern
# RE2's memory for one pattern (program and DFA cache): real patterns need a few KiB, and a
# counted repetition such as \pL{400} that would take ~4 MiB (and 0.2 s to compile) is refused
# in milliseconds. With the cache below, compiled patterns hold at most ~256 MiB whatever files
# are checked or previewed.
PATTERN_MEMORY = 1 << 20


@lru_cache(maxsize=256)
def compile_pattern(pattern: str) -> Callable[[str], bool]:
    """A `matches` pattern compiled by RE2, which runs in time linear in the text whatever the
    pattern: case-insensitive, searched anywhere. PatternError says why a pattern is refused
    (backreferences and lookaround, which need backtracking, above all)."""
    if len(pattern) > MAX_PATTERN:
        raise PatternError(f"is {len(pattern):,} characters long: at most {MAX_PATTERN:,}")
    ascii_only = _ascii_only_escapes(pattern)
    if ascii_only and any(ord(ch) > 127 for ch in pattern):
        escapes = ", ".join(f"\\{e}" for e in sorted(ascii_only))
        raise PatternError(
            f"{escapes} know only ASCII letters in RE2, not the other letters of this pattern: "
            "write \\pL for a letter of any script and \\PL for a non-letter, e.g. "
            "(^|\\PL)директор($|\\PL) for the whole word"
        )
    options = re2.Options()
    options.case_sensitive = False
    options.never_capture = True  # a yes/no answer needs no groups
    options.log_errors = False
    options.max_mem = PATTERN_MEMORY
    try:
        compiled = _re2.RE2(pattern.encode("utf-8"), options)
    except UnicodeEncodeError:
        raise PatternError("holds a character that is not valid Unicode text") from None
    if not compiled.ok():
        raise PatternError(_refusal(compiled.error()))
    # RE2.Match(anchor, text, start, end) -> the (start, end) of each group, (-1, -1) for none
    match: Callable[[object, bytes, int, int], list[tuple[int, int]]] = compiled.Match

    def search(text: str) -> bool:
        data = text.encode("utf-8", "replace")  # a lone surrogate cannot hide a value
        return match(_UNANCHORED, data, 0, len(data))[0][0] != -1

    return search


def _refusal(error: bytes | str) -> str:
    said = error.decode("utf-8", "replace") if isinstance(error, bytes) else str(error)
    for pattern, reason in _RE2_REFUSALS:
        found = re.match(pattern, said)
        if found:
            return f"{reason.format(said.rpartition(': ')[2])} (RE2: {said})"
    return f"not RE2 syntax: {said}"


def _ascii_only_escapes(pattern: str) -> set[str]:
    """The escapes among \\b \\B \\w \\W the pattern uses (an escaped backslash is no escape)."""
    found, i = set(), 0
    while i < len(pattern) - 1:
        if pattern[i] == "\\":
            if pattern[i + 1] in _ASCII_ONLY:
                found.add(pattern[i + 1])
            i += 2
        else:
            i += 1
    return found
