"""Conditions of the model file (SPEC section 3), compiled into predicates.

A predicate takes a flat mapping of field -> value (``{"person.title": "CEO", ...}`` for
leads, ``{"type": "page_view", "url": "/pricing", ...}`` for events) and returns a bool.
Validation of the condition's shape lives in ``config_rules.py``; this module assumes a valid dict.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from .patterns import compile_pattern

Predicate = Callable[[Mapping[str, Any]], bool]

OPERATORS = (
    "equals",
    "not_equals",
    "in",
    "not_in",
    "gt",
    "gte",
    "lt",
    "lte",
    "between",
    "matches",
    "contains",
    "present",
)
NUMERIC_OPERATORS = ("gt", "gte", "lt", "lte", "between")
COMBINATORS = ("all", "any", "not")

MEMO_LIMIT = 10_000
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def as_number(value: Any) -> float | None:
    """The value as a float when it is a number or a numeric-looking string, else None."""
    if isinstance(value, str):
        return _number_of_text(value)
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            return float(value)
        except OverflowError:  # an integer past float's range (400 digits) is no number, as 1e999
            return None
    return None


@lru_cache(maxsize=65536)  # the same industries, titles and countries come by again and again
def _number_of_text(value: str) -> float | None:
    """A numeric-looking text as a number; one that overflows (1e999) is no number, not infinity,
    which would pass every `gte`."""
    text = value.strip()
    if not _NUMBER.match(text):
        return None
    number = float(text)
    return number if math.isfinite(number) else None


def as_text(value: Any) -> str:
    if isinstance(value, str):
        return _fold(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).strip().casefold()


@lru_cache(maxsize=65536)
def _fold(value: str) -> str:
    return value.strip().casefold()


def is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list | tuple):
        return not any(not is_missing(item) for item in value)
    return False


def _equals_any(options: Any) -> Callable[[Any], bool]:
    """equals-one-of, with the operands' number and text forms worked out once."""
    numbers = {n for n in map(as_number, options) if n is not None}
    texts_of_words = {as_text(o) for o in options if as_number(o) is None}
    all_texts = {as_text(o) for o in options}

    def test(value: Any) -> bool:
        number = as_number(value)
        if number is not None:
            return number in numbers or as_text(value) in texts_of_words
        return as_text(value) in all_texts

    return test


def _element_test(op: str, operand: Any) -> Callable[[Any], bool]:
    """A test of one (non-missing, non-list) value against the operator."""
    if op in ("equals", "in"):
        return _equals_any([operand] if op == "equals" else operand)
    if op in ("not_equals", "not_in"):
        inner = _equals_any([operand] if op == "not_equals" else operand)
        return lambda v: not inner(v)
    if op in NUMERIC_OPERATORS:
        return _numeric_test(op, operand)
    if op == "matches":
        search = compile_pattern(operand)
        return lambda v: search(as_text_raw(v))
    if op == "contains":
        needle = as_text(operand)
        return lambda v: needle in as_text(v)
    raise ValueError(f"unknown operator {op!r}")


def as_text_raw(value: Any) -> str:
    """Trimmed text without case folding (the regex is case-insensitive itself)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).strip()


def _numeric_test(op: str, operand: Any) -> Callable[[Any], bool]:
    compare: Callable[[float], bool]
    if op == "between":
        lo, hi = float(operand[0]), float(operand[1])
        compare = lambda n: lo <= n <= hi  # noqa: E731
    else:
        limit = float(operand)
        compare = {
            "gt": lambda n: n > limit,
            "gte": lambda n: n >= limit,
            "lt": lambda n: n < limit,
            "lte": lambda n: n <= limit,
        }[op]

    def test(value: Any) -> bool:
        number = as_number(value)
        return number is not None and compare(number)

    return test


def _leaf(field: str, op: str, operand: Any) -> Predicate:
    if op == "present":
        wanted = bool(operand)
        return lambda record: (not is_missing(record.get(field))) is wanted
    test = _element_test(op, operand)
    # A leaf's answer depends on its field's value alone, and text values repeat (industries,
    # titles, countries): remember them, up to a bound so unique values cannot grow it.
    remembered: dict[Any, bool] = {}

    def leaf(record: Mapping[str, Any]) -> bool:
        value = record.get(field)
        if type(value) is str:  # strings only: 1 and 1.0 are one key but read differently as text
            answer = remembered.get(value)
            if answer is None:
                answer = not is_missing(value) and test(value)
                if len(remembered) < MEMO_LIMIT:
                    remembered[value] = answer
            return answer
        if is_missing(value):
            return False
        if isinstance(value, list | tuple):
            return any(test(item) for item in value if not is_missing(item))
        return test(value)

    return leaf


def compile_condition(condition: Mapping[str, Any]) -> Predicate:
    """Turn a validated condition dict into a predicate over a flat record."""
    if "all" in condition:
        parts = tuple(compile_condition(c) for c in condition["all"])
        return lambda record: all(p(record) for p in parts)
    if "any" in condition:
        parts = tuple(compile_condition(c) for c in condition["any"])
        return lambda record: any(p(record) for p in parts)
    if "not" in condition:
        inner = compile_condition(condition["not"])
        return lambda record: not inner(record)
    field = condition["field"]
    (op,) = [key for key in condition if key != "field"]
    return _leaf(field, op, condition[op])


def condition_fields(condition: Mapping[str, Any]) -> set[str]:
    """Every field a condition reads."""
    for key in ("all", "any"):
        if key in condition:
            return set().union(*(condition_fields(c) for c in condition[key]))
    if "not" in condition:
        return condition_fields(condition["not"])
    return {condition["field"]}


def describe(condition: Mapping[str, Any]) -> str:
    """A short human reading of a condition, for rule tables and explanations."""
    if "all" in condition:
        return " and ".join(f"({describe(c)})" for c in condition["all"])
    if "any" in condition:
        return " or ".join(f"({describe(c)})" for c in condition["any"])
    if "not" in condition:
        return f"not ({describe(condition['not'])})"
    field = condition["field"]
    (op,) = [key for key in condition if key != "field"]
    operand = condition[op]
    if op == "present":
        return f"{field} is {'given' if operand else 'not given'}"
    if op == "between":
        return f"{field} between {operand[0]} and {operand[1]}"
    if op in ("in", "not_in"):
        words = "in" if op == "in" else "not in"
        return f"{field} {words} {', '.join(str(o) for o in operand)}"
    symbols = {
        "equals": "=",
        "not_equals": "≠",
        "gt": ">",
        "gte": "≥",
        "lt": "<",
        "lte": "≤",
        "matches": "matches",
        "contains": "contains",
    }
    return f"{field} {symbols[op]} {operand}"
