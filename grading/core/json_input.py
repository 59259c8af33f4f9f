"""JSON as users send it (API bodies, .json and .jsonl imports, list cells of CSV files): one
set of rules for every door, so a value that cannot be stored or walked safely is refused where
it comes in, named by its place, instead of failing later as a 500 or a traceback.

orjson refuses invalid UTF-8, lone surrogates (as bytes or as ``\\ud800`` escapes), ``NaN``,
``Infinity`` and numbers that overflow to infinity (``1e999``), and stops at 1024 levels of
nesting, all without recursing in Python. What it lets through and is checked here:

- integers outside SQLite's signed 64 bits: orjson keeps those up to 2**64-1 as ints and turns
  longer ones into floats (silently losing their digits), so the text is read again for them;
- nesting deeper than MAX_DEPTH: code that walks values (marshmallow, error reports) recurses.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

MAX_DEPTH = 64
INT_MIN, INT_MAX = -(2**63), 2**63 - 1
TOO_DEEP = f"nested deeper than {MAX_DEPTH} levels"
BEYOND_64_BITS = "is an integer outside the signed 64-bit range (-2**63 to 2**63-1)"
MAX_PROBLEMS = 100
# orjson turns an integer literal beyond 2**64-1 into a float: only a float this large may be one
_BIG = 2.0**63
# a text without 19 digits in a row holds no integer beyond 64 bits (2**63 has 19)
_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
_NINETEEN_DIGITS = b"0" * 19
_BRACKETS_AS_BRACES = bytes.maketrans(b"[", b"{")
_NOT_BRACKETS = bytes(set(range(256)) - set(b"[{\n"))
_TOO_MANY_BRACKETS = b"{" * (MAX_DEPTH + 1)


class JsonInputError(ValueError):
    """Every problem as (field, reason); field is a path like ``events[3].properties.n``, or
    empty for the text as a whole."""

    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = problems
        super().__init__("; ".join(f"{f}: {r}" if f else r for f, r in problems))


class _LongInteger:
    """An integer literal beyond 64 bits, kept as its text by the second reading."""

    def __init__(self, text: str):
        self.text = text


def _integer(text: str) -> int | _LongInteger:
    if len(text.lstrip("-")) > 19:
        return _LongInteger(text)  # (int() of thousands of digits is slow, and refused)
    number = int(text)
    return number if INT_MIN <= number <= INT_MAX else _LongInteger(text)


def parse(data: bytes | str, max_depth: int = MAX_DEPTH) -> tuple[Any, list[tuple[str, str]]]:
    """The value of a JSON text and the problems of its values (nesting, integer range), by
    path; raises JsonInputError when the text is no JSON at all."""
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as error:
        raise JsonInputError([("", f"invalid JSON: {error}")]) from None
    problems, big_float = _scan(value, max_depth)
    if big_float and not any(reason == TOO_DEEP for _, reason in problems):
        # a float of 2**63 or more may have been an integer literal: read the text again, for
        # its integers as written (within max_depth, so the standard library's recursion is safe)
        try:
            value = json.loads(data, parse_int=_integer)
        except ValueError:  # (what orjson read it reads too; should it not, orjson's reading)
            return value, problems
        problems, _ = _scan(value, max_depth)
    return value, problems


def loads(data: bytes | str, max_depth: int = MAX_DEPTH) -> Any:
    """The value of a JSON text; JsonInputError naming every problem."""
    value, problems = parse(data, max_depth)
    if problems:
        raise JsonInputError(problems)
    return value


@dataclass(frozen=True)
class Plain:
    """What texts with no escape, no byte beyond ASCII nor DEL, no list, no null, no empty string
    and no object inside an object inside an object guarantee about their values: every string
    is non-empty printable ASCII or spaces (orjson refuses raw control characters in strings),
    no object holds a list, null or an object beyond one level down, and numbers are finite
    (orjson refuses NaN, Infinity and 1e999)."""

    longest: int  # bytes of the longest text: none of its strings is longer


def loads_many(texts: Sequence[bytes]) -> tuple[list[Any], Plain | None] | None:
    """The value of each JSON text (the lines of a file) as loads gives it, read in one call,
    and what they guarantee when they are plain; None when a text is refused or may hold what
    loads checks (then read them one by one).

    A text with no more brackets than MAX_DEPTH cannot nest deeper, and one without 19 digits in
    a row holds no integer beyond 64 bits: only such texts skip the walk over their values."""
    try:
        values = list(map(orjson.loads, texts))
    except orjson.JSONDecodeError:
        return None
    if not values:
        return values, None
    data = b"\n".join(texts)
    # each text's brackets, as "{": a text nests deeper than it has brackets in a row here
    brackets = data.translate(_BRACKETS_AS_BRACES, _NOT_BRACKETS)
    if _TOO_MANY_BRACKETS in brackets or _NINETEEN_DIGITS in data.translate(_DIGITS_AS_ZERO):
        return None
    plain = (
        data.isascii()
        and b"{{{" not in brackets
        and not any(mark in data for mark in (b"[", b"\\", b"\x7f", b"null", b'""'))
    )
    return values, Plain(max(map(len, texts))) if plain else None


def _fine(value: Any, max_depth: int) -> bool:
    """Quick check without paths, level by level (~0.5 ms for a batch of 1,000 events)."""
    level, depth = [value], 1
    while level:
        below = []
        for node in level:
            kind = type(node)
            if kind is dict:
                items = node.values()
            elif kind is list:
                items = node
            else:
                if kind is int:
                    if not INT_MIN <= node <= INT_MAX:
                        return False
                elif kind is float:
                    if not -_BIG < node < _BIG:
                        return False
                elif kind is _LongInteger:
                    return False
                continue
            if depth > max_depth:
                return False
            below.extend(items)
        level, depth = below, depth + 1
    return True


def _scan(value: Any, max_depth: int) -> tuple[list[tuple[str, str]], bool]:
    """(path, reason) for each value nested too deeply or an integer beyond 64 bits (an explicit
    stack, never recursion), and whether a float of 2**63 or more was seen."""
    if _fine(value, max_depth):
        return [], False
    problems: list[tuple[str, str]] = []
    big_float = False
    stack: list[tuple[Any, str, int]] = [(value, "", 1)]
    while stack and len(problems) < MAX_PROBLEMS:
        node, path, depth = stack.pop()
        kind = type(node)
        if kind is dict or kind is list:
            if depth > max_depth:
                problems.append((path if len(path) <= 120 else path[:119] + "…", TOO_DEEP))
                continue
            pairs = (
                (((f"{path}.{k}" if path else str(k)), v) for k, v in node.items())
                if kind is dict
                else ((f"{path}[{i}]", v) for i, v in enumerate(node))
            )
            stack.extend((v, p, depth + 1) for p, v in reversed(list(pairs)))
        elif kind is _LongInteger or (kind is int and not INT_MIN <= node <= INT_MAX):
            problems.append((path, BEYOND_64_BITS))
        elif kind is float and not -_BIG < node < _BIG:
            big_float = True
    return problems, big_float
