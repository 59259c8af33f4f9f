"""Validation of incoming records (SPEC section 2): leads, events, outcomes.

Hand-written rather than schema-library based because the importer runs it for tens of
millions of rows; every problem is reported as ``(field, reason)`` and all are collected.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import chain
from operator import itemgetter
from typing import Any, cast

from . import json_input
from .times import DAY, MAX_TIME_TEXT, Problems, parse_time, valid_time, valid_times

LIFECYCLES = ("lead", "mql", "sql", "opportunity", "customer", "disqualified")
MAX_ID = 200
MAX_TEXT = 10_000  # characters of one attribute or property value (or of one item of a list)
# NUL ends a text in many SQLite functions and in the sqlite3 shell; the other control
# characters in an id break the CSV exports and the pages that show it
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")  # C0, DEL, C1, line separators
NUL_TEXT = "must not contain NUL characters (U+0000)"
FUTURE_LIMIT = DAY  # an event more than a day ahead of now is refused


class RecordError(ValueError):
    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = problems
        super().__init__("; ".join(f"{f}: {r}" if f else r for f, r in problems))

    def __reduce__(self) -> tuple[type[RecordError], tuple[list[tuple[str, str]]]]:
        return RecordError, (self.problems,)  # (sent from the process that reads a file)


@dataclass(frozen=True)
class LeadInput:
    id: str
    person: dict[str, Any]  # a None value removes the attribute
    company: dict[str, Any]


@dataclass(frozen=True)
class EventInput:
    id: str | None
    lead: str
    type: str
    at: int  # microseconds since the epoch, UTC (times.TICKS)
    properties: dict[str, Any]


@dataclass
class EventColumns:
    """Many events as columns, one list per field of EventInput (a bulk import carries these
    instead of an object per event)."""

    ids: list[str | None]
    leads: list[str]
    types: list[str]
    ats: list[int]
    properties: list[dict[str, Any]]

    def __len__(self) -> int:
        return len(self.leads)


@dataclass(frozen=True)
class OutcomeInput:
    lead: str
    outcome: str
    at: int
    amount: float | None


def _identifier(
    obj: Mapping[str, Any], key: str, problems: Problems, required: bool = True
) -> str | None:
    value = obj.get(key)
    if value is None:
        if required:
            problems.append((key, "is required"))
        return None
    if not isinstance(value, str) or not value.strip():
        problems.append((key, "must be a non-empty string"))
        return None
    if len(value) > MAX_ID:
        problems.append((key, f"must be at most {MAX_ID} characters"))
        return None
    if _CONTROL.search(value.strip()):
        problems.append(
            (
                key,
                "must not contain control characters (U+0000 to U+001F, U+007F to U+009F) nor line"
                " separators (U+2028, U+2029)",
            )
        )
        return None
    return value.strip()


def _attribute_problem(value: Any) -> str | None:
    """Why an attribute (or property) value cannot be stored, or None."""
    if value is None or isinstance(value, bool | int):
        return None  # (the range of integers is json_input's: JSON is where they come from)
    if isinstance(value, float):
        return None if math.isfinite(value) else "must be a finite number"
    texts = [value] if isinstance(value, str) else value if isinstance(value, list) else None
    if texts is None or not all(isinstance(v, str) for v in texts):
        return "must be a string, number, boolean or list of strings"
    for text in texts:
        if len(text) > MAX_TEXT:
            return f"must be at most {MAX_TEXT:,} characters"
        if "\x00" in text:
            return NUL_TEXT
    return None


_GOOD_NAMES: set[str] = set()  # attribute names already found well-formed (str, length, controls)


def _attributes(obj: Mapping[str, Any], key: str, problems: Problems) -> dict[str, Any]:
    value = obj.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        problems.append((key, "must be an object"))
        return {}
    out = {}
    for name, item in value.items():
        if (
            name in _GOOD_NAMES
            and type(item) is str
            and len(item) <= MAX_TEXT
            and "\x00" not in item
        ):
            out[name] = item  # the common case, as the checks below would find it
            continue
        if not isinstance(name, str) or not name:
            problems.append((key, f"attribute names must be non-empty strings, not {name!r}"))
        elif len(name) > MAX_ID or _CONTROL.search(name):
            problems.append(
                (
                    key,
                    f"attribute names must be at most {MAX_ID} characters, without control"
                    f" characters: {name[:40]!r}",
                )
            )
        elif (problem := _attribute_problem(item)) is not None:
            problems.append((f"{key}.{name}", problem))
        else:
            out[name] = item
            if len(_GOOD_NAMES) < 10_000:  # the same few dozen names come with every lead
                _GOOD_NAMES.add(name)
    return out


def _unknown(obj: Mapping[str, Any], allowed: tuple[str, ...], problems: Problems) -> None:
    for key in obj:
        if key not in allowed:
            problems.append((str(key), "unknown field"))


def _object(obj: Any) -> Mapping[str, Any]:
    if not isinstance(obj, Mapping):
        raise RecordError([("", "must be an object")])
    return obj


def parse_lead(obj: Any) -> LeadInput:
    obj = _object(obj)
    problems: list[tuple[str, str]] = []
    _unknown(obj, ("id", "person", "company"), problems)
    lead_id = _identifier(obj, "id", problems)
    person = _attributes(obj, "person", problems)
    company = _attributes(obj, "company", problems)
    lifecycle = person.get("lifecycle")
    if lifecycle is not None:
        if not isinstance(lifecycle, str) or lifecycle.strip().lower() not in LIFECYCLES:
            problems.append(("person.lifecycle", "must be one of " + ", ".join(LIFECYCLES)))
        else:
            person["lifecycle"] = lifecycle.strip().lower()
    for key in ("domain", "name"):
        if company.get(key) is not None and not isinstance(company[key], str):
            problems.append((f"company.{key}", "must be a string"))
    if problems or lead_id is None:  # (no problem means an id)
        raise RecordError(problems)
    return LeadInput(lead_id, person, company)


_EVENT_FIELDS = frozenset(("id", "lead", "type", "at", "properties"))


def _fast_event(obj: dict[str, Any], now: int) -> EventInput | None:
    """The event of a well-formed record, or None when anything needs the full checks (which
    then report every problem); the same result as parse_event for the records it accepts."""
    if not _EVENT_FIELDS.issuperset(obj):
        return None
    event_id = obj.get("id")
    if event_id is not None:
        if type(event_id) is not str or len(event_id) > MAX_ID:
            return None
        event_id = event_id.strip()
        if not event_id:
            return None
    lead, event_type, at = obj.get("lead"), obj.get("type"), obj.get("at")
    if type(lead) is not str or type(event_type) is not str or type(at) is not str:
        return None
    if len(lead) > MAX_ID or len(event_type) > MAX_ID or len(at) > MAX_TIME_TEXT:
        return None  # (a long time text is not kept in the cache: the full checks judge it)
    lead, event_type = lead.strip(), event_type.strip()
    if not lead or not event_type or _CONTROL.search(f"{event_id or ''}{lead}{event_type}"):
        return None
    moment = valid_time(at)
    if moment is None or moment > now + FUTURE_LIMIT:
        return None
    given = obj.get("properties")
    properties = {}
    if given is not None:
        if type(given) is not dict:
            return None
        for name, item in given.items():
            if type(name) is not str or not name or len(name) > MAX_ID or _CONTROL.search(name):
                return None
            kind = type(item)
            if kind is str:
                if len(item) > MAX_TEXT or "\x00" in item:
                    return None
                properties[name] = item
            elif kind is int or kind is bool or (kind is float and math.isfinite(item)):
                properties[name] = item
            elif item is None:
                continue
            elif kind is list and _attribute_problem(item) is None:
                properties[name] = item
            else:
                return None
    return EventInput(event_id, lead, event_type, moment, properties)


_EVENT_COLUMNS = itemgetter("id", "lead", "type", "at", "properties")


def parse_event_block(
    records: Sequence[Any], now: int, plain: json_input.Plain
) -> EventColumns | None:
    """The events of records read from plain JSON texts (json_input.loads_many), as columns,
    checked field by field over the whole block; None when any record needs parse_event (then
    check them one by one). For the blocks it takes, the events parse_event gives one by one.

    What the plain texts guarantee is not checked again: no string holds a control character
    or NUL, and no property value is null, a list or an object."""
    if plain.longest > MAX_TEXT or not records:
        return None
    if set(map(type, records)) != {dict} or set(map(len, records)) != {5}:
        return None  # (five fields: the ones of an event, else one is missing)
    try:
        rows = list(map(_EVENT_COLUMNS, records))
    except KeyError:
        return None
    ids, leads, types, ats, properties = (list(column) for column in zip(*rows, strict=True))
    for column in (ids, leads, types, ats):
        if set(map(type, column)) != {str}:
            return None
    if plain.longest > MAX_ID:
        for column, longest in ((ids, MAX_ID), (leads, MAX_ID), (types, MAX_ID)):
            if max(map(len, column)) > longest:
                return None
    ids, leads, types = (list(map(str.strip, column)) for column in (ids, leads, types))
    if not all(ids) or not all(leads) or not all(types):
        return None
    if plain.longest > MAX_TIME_TEXT and max(map(len, ats)) > MAX_TIME_TEXT:
        return None
    moments = valid_times(ats)
    if None in moments:
        return None
    ticks: list[int] = moments  # type: ignore[assignment]  # (no None, as just checked)
    if max(ticks) > now + FUTURE_LIMIT or set(map(type, properties)) != {dict}:
        return None
    names = chain.from_iterable(properties)
    if plain.longest > MAX_ID and max(map(len, names), default=0) > MAX_ID:
        return None  # (a name; a value is shorter than its text, and so than MAX_TEXT)
    return EventColumns(cast(list[str | None], ids), leads, types, ticks, properties)


def parse_event(obj: Any, now: int) -> EventInput:
    if type(obj) is dict:
        event = _fast_event(obj, now)
        if event is not None:
            return event
    obj = _object(obj)
    problems: list[tuple[str, str]] = []
    _unknown(obj, ("id", "lead", "type", "at", "properties"), problems)
    event_id = _identifier(obj, "id", problems, required=False)
    lead = _identifier(obj, "lead", problems)
    event_type = _identifier(obj, "type", problems)
    at = parse_time(obj.get("at"), "at", problems)
    if at is not None and at > now + FUTURE_LIMIT:
        problems.append(("at", "is more than 1 day in the future"))
    properties = _attributes(obj, "properties", problems)
    if problems or lead is None or event_type is None or at is None:  # (no problem means all)
        raise RecordError(problems)
    properties = {k: v for k, v in properties.items() if v is not None}
    return EventInput(event_id, lead, event_type, at, properties)


def parse_outcome(obj: Any) -> OutcomeInput:
    obj = _object(obj)
    problems: list[tuple[str, str]] = []
    _unknown(obj, ("lead", "outcome", "at", "amount"), problems)
    lead = _identifier(obj, "lead", problems)
    outcome = obj.get("outcome")
    if outcome not in ("won", "lost"):
        problems.append(("outcome", "must be won or lost"))
    at = parse_time(obj.get("at"), "at", problems)
    amount = obj.get("amount")
    if isinstance(amount, str) and amount.strip():
        try:
            amount = float(amount)
        except ValueError:
            problems.append(("amount", "must be a number"))
    elif amount is not None and (isinstance(amount, bool) or not isinstance(amount, int | float)):
        problems.append(("amount", "must be a number"))
    elif isinstance(amount, str):
        amount = None
    if isinstance(amount, float) and not math.isfinite(amount):  # "1e999", "inf", "nan"
        problems.append(("amount", "must be a finite number"))
    if problems or lead is None or at is None:  # (no problem means both)
        raise RecordError(problems)
    return OutcomeInput(lead, outcome, at, None if amount is None else float(amount))


def from_dotted(row: Mapping[str, str]) -> dict[str, Any]:
    """A CSV row with dotted headers -> a nested record; empty cells mean "not given".

    A cell that starts with '[' is read as a JSON list (for list attributes), and one that is no
    JSON at all ("[EMEA] team") stays text. JSON that breaks json_input's rules (a lone surrogate
    such as ``["\\ud800"]``, NaN, integers beyond 64 bits) is a RecordError naming the column."""
    out: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    for header, cell in row.items():
        if header is None or cell is None or not cell.strip():
            continue
        value: Any = cell
        text = cell.strip()
        if text.startswith("["):
            try:
                value = json_input.loads(text)
            except json_input.JsonInputError as error:
                if _json_by_grammar(text):
                    problems.append((header.strip(), f"a JSON list that cannot be stored: {error}"))
        parts = header.strip().split(".", 1)
        if len(parts) == 2:
            out.setdefault(parts[0], {})
            if isinstance(out[parts[0]], dict):
                out[parts[0]][parts[1]] = value
        else:
            out[parts[0]] = value
    if problems:
        raise RecordError(problems)
    return out


def _json_by_grammar(text: str) -> bool:
    """Whether the standard library reads the text (it takes lone surrogates, NaN and long
    integers); only for few brackets, as it recurses."""
    import json

    if text.count("[") + text.count("{") > json_input.MAX_DEPTH:
        return False
    try:
        json.loads(text)
    except ValueError:
        return False
    return True
