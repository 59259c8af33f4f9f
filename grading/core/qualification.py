"""Qualification: criteria sales ticks on a lead (BANT by default), apart from its grade.

The ticks are one lead attribute, ``person.qualification``: the list of ticked criterion ids
(``["budget", "need"]``). Being a plain attribute, rules read it with the condition language as
it is (``{field: person.qualification, equals: budget}`` holds when budget is ticked, since a
list leaf holds when any element does), filters and exports see it, and an import may set it.
A lead is *qualified* when every criterion of the model file is ticked.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypedDict

ATTRIBUTE = "qualification"  # the person attribute holding the ticked ids
CRITERION_ID = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Criterion:
    id: str
    label: str


DEFAULT_CRITERIA: tuple[Criterion, ...] = (
    Criterion("budget", "Budget confirmed"),
    Criterion("authority", "Decision maker involved"),
    Criterion("need", "Need confirmed"),
    Criterion("timeline", "Timeline agreed"),
)


class CriterionState(TypedDict):
    id: str
    label: str
    ticked: bool


class QualificationSummary(TypedDict):
    qualified: bool
    criteria: list[CriterionState]


class QualificationError(ValueError):
    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = problems
        super().__init__("; ".join(f"{f}: {r}" for f, r in problems))


def check_criteria(value: Any, fail: Callable[[str, str], None]) -> tuple[Criterion, ...] | None:
    """The model file's ``qualification`` block -> criteria; every problem goes to fail(path, why)."""
    if not isinstance(value, Mapping):
        fail("qualification", "must be a mapping with 'criteria'")
        return None
    ok = True
    for key in value:
        if key != "criteria":
            fail(f"qualification.{key}", f"unknown key '{key}'")
            ok = False
    if "criteria" not in value:
        fail("qualification.criteria", "is required")
        return None
    raw = value["criteria"]
    if not isinstance(raw, list) or not raw:
        fail("qualification.criteria", "must be a non-empty list of {id, label}")
        return None
    criteria, seen = [], set()
    for i, item in enumerate(raw):
        path = f"qualification.criteria[{i}]"
        if not isinstance(item, Mapping):
            fail(path, "must be a mapping {id, label}")
            ok = False
            continue
        for key in item:
            if key not in ("id", "label"):
                fail(f"{path}.{key}", f"unknown key '{key}'")
                ok = False
        criterion_id, label = item.get("id"), item.get("label")
        if not isinstance(criterion_id, str) or not CRITERION_ID.match(criterion_id):
            fail(f"{path}.id", f"{criterion_id!r} must match [a-z][a-z0-9_]*")
            ok = False
        elif criterion_id in seen:
            fail(f"{path}.id", f"duplicate criterion '{criterion_id}'")
            ok = False
        else:
            seen.add(criterion_id)
        if label is None:
            label = criterion_id
        elif not isinstance(label, str) or not label.strip():
            fail(f"{path}.label", "must be a non-empty string")
            ok = False
        if ok and isinstance(criterion_id, str) and isinstance(label, str):  # (ok says both are)
            criteria.append(Criterion(criterion_id, label.strip()))
    return tuple(criteria) if ok else None


def ticked(person: Mapping[str, Any]) -> list[str]:
    """The ticked ids as stored (trimmed, lower-cased; an import may have given one string)."""
    value = person.get(ATTRIBUTE)
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        return []
    out: list[str] = []
    for item in value:
        if not isinstance(item, str):
            continue
        # as SQLite's lower(trim()) in the triggers: spaces only, ASCII letters only
        item = item.strip(" ")
        item = item.lower() if item.isascii() else item
        if item and item not in out:
            out.append(item)
    return out


def is_qualified(person: Mapping[str, Any], criteria: Iterable[Criterion]) -> bool:
    done = set(ticked(person))
    return all(c.id in done for c in criteria)


def summary(person: Mapping[str, Any], criteria: Iterable[Criterion]) -> QualificationSummary:
    """What the lead page, the API and exports show: qualified, and each criterion ticked or not."""
    done = set(ticked(person))
    items: list[CriterionState] = [
        {"id": c.id, "label": c.label, "ticked": c.id in done} for c in criteria
    ]
    return {"qualified": all(i["ticked"] for i in items), "criteria": items}


def apply_ticks(
    person: Mapping[str, Any], changes: Mapping[str, Any], criteria: Iterable[Criterion]
) -> list[str] | None:
    """The new value of person.qualification after ticking (True) or unticking (False) some
    criteria; None when nothing stays ticked (the attribute is removed). Unknown ids or
    non-boolean values raise QualificationError naming each one."""
    known = [c.id for c in criteria]
    problems = []
    for key, value in changes.items():
        if key not in known:
            problems.append(
                (f"{ATTRIBUTE}.{key}", "unknown criterion (use " + ", ".join(known) + ")")
            )
        elif not isinstance(value, bool):
            problems.append((f"{ATTRIBUTE}.{key}", "must be true or false"))
    if problems:
        raise QualificationError(problems)
    done = set(ticked(person))
    done |= {k for k, v in changes.items() if v}
    done -= {k for k, v in changes.items() if not v}
    # criteria order first; ids of criteria no longer in the file are kept, should they return
    result = [i for i in known if i in done] + sorted(done - set(known))
    return result or None


def ticks_from_form(chosen: Iterable[str], criteria: Iterable[Criterion]) -> dict[str, bool]:
    """A checkbox form sends only the ticked boxes: every criterion not among them is unticked."""
    chosen = set(chosen)
    known = [c.id for c in criteria]
    unknown = sorted(chosen - set(known))
    if unknown:
        raise QualificationError([(f"{ATTRIBUTE}.{i}", "unknown criterion") for i in unknown])
    return {i: i in chosen for i in known}
