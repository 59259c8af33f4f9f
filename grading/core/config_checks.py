"""The checks every part of the model file is read with: each records a problem under its path
and returns a usable value, or None (or an empty list), so reading goes on to the next problem.

Reading the file itself is ``config.load_config``; the parts are in ``config_rules`` (conditions
and rules), ``config_models`` (a model: fit, activity, categories, routing, accounts) and
``config_webhooks``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

MAX_TEXT = 500  # ids, labels, queues, campaigns, URLs: what people read, not documents
NAME = re.compile(r"^[a-z0-9_-]+$")
MAX_DAYS = 36_500  # 100 years: windows are walked day by day, and times must stay in range


class Checker:
    """Collects problems; each check returns a usable value or None."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def fail(self, path: str, message: str) -> None:
        self.problems.append(f"{path}: {message}" if path else message)

    def mapping(
        self, value: Any, path: str, allowed: tuple[str, ...], required: tuple[str, ...] = ()
    ) -> dict[str, Any] | None:
        if not isinstance(value, Mapping):
            self.fail(path, f"must be a mapping, not {kind(value)}")
            return None
        for key in value:
            if key not in allowed:
                self.fail(join(path, key), f"unknown key '{key}'")
        for key in required:
            if key not in value:
                self.fail(join(path, key), "is required")
        return dict(value)

    def number(self, value: Any, path: str, *, positive: bool = False) -> float | None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(path, f"must be a number, not {kind(value)}")
            return None
        number = float(value) if abs(value) < 1e300 else math.inf  # 10**400 is no float
        if not math.isfinite(number):
            self.fail(path, f"must be a finite number, not {str(value)[:20]}")
            return None
        if positive and value <= 0:
            self.fail(path, "must be greater than 0")
            return None
        return number

    def whole(
        self, value: Any, path: str, minimum: int = 1, maximum: int | None = None
    ) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(path, f"must be a whole number ≥ {minimum}, not {kind(value)}")
            return None
        if value < minimum:
            self.fail(path, f"must be a whole number ≥ {minimum}")
            return None
        if maximum is not None and value > maximum:
            self.fail(path, f"must be at most {maximum:,}")
            return None
        return value

    def text(self, value: Any, path: str) -> str | None:
        if not isinstance(value, str) or not value.strip():
            self.fail(path, f"must be a non-empty string, not {kind(value)}")
            return None
        if len(value) > MAX_TEXT:  # a label is copied into every grade's explanation
            self.fail(path, f"is {len(value):,} characters long: at most {MAX_TEXT:,}")
            return None
        return value

    def name(self, value: Any, path: str) -> str | None:
        text = self.text(value, path)
        if text is not None and not NAME.match(text):
            self.fail(path, f"'{text}' must match [a-z0-9_-]+")
            return None
        return text

    def items(self, value: Any, path: str, *, allow_empty: bool = False) -> list[Any]:
        if not isinstance(value, list):
            self.fail(path, f"must be a list, not {kind(value)}")
            return []
        if not value and not allow_empty:
            self.fail(path, "must not be empty")
        return value

    def unique(self, names: list[tuple[str | None, str]], what: str) -> None:
        seen: set[str] = set()
        for name, path in names:
            if name is None:
                continue
            if name in seen:
                self.fail(path, f"duplicate {what} '{name}'")
            seen.add(name)

    def label(self, entry: Mapping[str, Any], path: str) -> str | None:
        """The optional `label` of a rule, category or model."""
        return self.text(entry["label"], join(path, "label")) if "label" in entry else None

    def thresholds(
        self, value: Any, path: str, keys: tuple[str, ...] | tuple[int, ...]
    ) -> tuple[float, float, float] | None:
        """Three thresholds by key (A, B, C or 4, 3, 2), strictly decreasing."""
        if not isinstance(value, Mapping):
            self.fail(path, f"must be a mapping of {', '.join(map(str, keys))}, not {kind(value)}")
            return None
        by_key = {str(k): v for k, v in value.items()}
        wanted = [str(k) for k in keys]
        for key in by_key:
            if key not in wanted:
                self.fail(join(path, key), f"unknown threshold '{key}' (use {', '.join(wanted)})")
        numbers: list[float | None] = []
        for key in wanted:
            if key not in by_key:
                self.fail(join(path, key), "is required")
                numbers.append(None)
            else:
                numbers.append(self.number(by_key[key], join(path, key)))
        high, middle, low = numbers
        if high is None or middle is None or low is None:
            return None
        if not (high > middle > low):
            self.fail(path, "thresholds must be strictly decreasing " + " > ".join(wanted))
            return None
        return (high, middle, low)


def join(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


def kind(value: Any) -> str:
    if value is None:
        return "nothing"
    return {
        bool: "a boolean",
        int: "a number",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "a mapping",
    }.get(type(value), type(value).__name__)
