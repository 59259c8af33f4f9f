"""Conditions of the model file (SPEC section 3), compiled into predicates.

A predicate takes a flat mapping of field -> value (``{"person.title": "CEO", ...}`` for
leads, ``{"type": "page_view", "url": "/pricing", ...}`` for events) and returns a bool.
Validation of the condition's shape lives in ``config_rules.py``; this module assumes a valid dict.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

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


def _value_test(op: str, operand: Any) -> Callable[[Any], bool]:
    """A leaf's answer for one value of its field (None: the field is absent): the one reading of
    a value that the record predicate and the columnar one share."""
    if op == "present":
        wanted = bool(operand)
        return lambda value: (not is_missing(value)) is wanted
    test = _element_test(op, operand)

    def answer(value: Any) -> bool:
        if is_missing(value):
            return False
        if isinstance(value, list | tuple):
            return any(test(item) for item in value if not is_missing(item))
        return test(value)

    return answer


def _leaf(field: str, op: str, operand: Any) -> Predicate:
    answer = _value_test(op, operand)
    if op == "present":
        return lambda record: answer(record.get(field))
    # A leaf's answer depends on its field's value alone, and text values repeat (industries,
    # titles, countries): remember them, up to a bound so unique values cannot grow it.
    remembered: dict[Any, bool] = {}

    def leaf(record: Mapping[str, Any]) -> bool:
        value = record.get(field)
        if type(value) is str:  # strings only: 1 and 1.0 are one key but read differently as text
            known = remembered.get(value)
            if known is None:
                known = answer(value)
                if len(remembered) < MEMO_LIMIT:
                    remembered[value] = known
            return known
        return answer(value)

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


# columnar: one condition over the records of a chunk at once ----------------------------------


class Encoded(NamedTuple):
    """One field over many records, dictionary-encoded: records[i] has distinct[codes[i]]."""

    codes: npt.NDArray[np.intp]
    distinct: list[Any]


def _value_key(value: Any) -> Any:
    """A dictionary key that only values read alike share: 1, 1.0, True and -0.0 / 0.0 are
    equal in Python but read differently as text; an unhashable value shares with nothing."""
    if type(value) is str or value is None:
        return value
    if isinstance(value, float):
        return (float, value, math.copysign(1.0, value))
    if isinstance(value, list | tuple):
        keys = tuple(_value_key(item) for item in value)
        return (list, keys) if all(type(k) is not object for k in keys) else object()
    if isinstance(value, bool | int | str):
        return (type(value), value)
    return object()


def encode(values: Sequence[Any]) -> Encoded:
    """Dictionary-encode the values of one field (None where a record lacks it)."""
    originals: dict[Any, Any] = {}  # key -> value, for the values that are not their own key

    def key_of(value: Any) -> Any:
        key = _value_key(value)
        originals[key] = value
        return key

    keys = [v if type(v) is str or v is None else key_of(v) for v in values]
    distinct_keys = list(dict.fromkeys(keys))  # in order of first sight
    ids = {key: i for i, key in enumerate(distinct_keys)}
    codes = np.fromiter(map(ids.__getitem__, keys), dtype=np.intp, count=len(keys))
    distinct = [originals[k] if k in originals else k for k in distinct_keys]
    return Encoded(codes, distinct)


class Columns:
    """The fields of a chunk of records, each read and encoded once, whichever leaves read it.
    `values_of(field)` gives the field's value per record (None where absent)."""

    def __init__(self, size: int, values_of: Callable[[str], Sequence[Any]]):
        self.size = size
        self._values_of = values_of
        self._encoded: dict[str, Encoded] = {}

    @classmethod
    def of_records(cls, records: Sequence[Mapping[str, Any]]) -> Columns:
        return cls(len(records), lambda field: [record.get(field) for record in records])

    def encoded(self, field: str) -> Encoded:
        found = self._encoded.get(field)
        if found is None:
            found = self._encoded[field] = encode(self._values_of(field))
        return found


ColumnPredicate = Callable[[Columns], npt.NDArray[np.bool_]]


def compile_columns(condition: Mapping[str, Any]) -> ColumnPredicate:
    """The condition over every record of a chunk at once: a bool per record, the same as
    `compile_condition`'s predicate gives each (a leaf asks each distinct value of its field once,
    then all / any / not combine whole columns)."""
    if "all" in condition or "any" in condition:
        combinator = "all" if "all" in condition else "any"
        parts = tuple(compile_columns(c) for c in condition[combinator])
        join = np.logical_and if combinator == "all" else np.logical_or

        def combined(columns: Columns) -> npt.NDArray[np.bool_]:
            out = np.full(columns.size, combinator == "all")
            for part in parts:
                out = join(out, part(columns))
            return out

        return combined
    if "not" in condition:
        inner = compile_columns(condition["not"])
        return lambda columns: ~inner(columns)
    field = condition["field"]
    (op,) = [key for key in condition if key != "field"]
    answer = _value_test(op, condition[op])

    def leaf(columns: Columns) -> npt.NDArray[np.bool_]:
        codes, distinct = columns.encoded(field)
        answers = np.fromiter(map(answer, distinct), dtype=np.bool_, count=len(distinct))
        return answers[codes]

    return leaf


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
