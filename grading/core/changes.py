"""Old grades against new ones: the rows to write, the history entries, the cell counts that move,
and the leads to hand over to sales.

The re-grade compares each new grade with the stored one as plain tuples (fast: most grades do
not change) and hands only the grades that differ to `changes_of`, which decides what they mean.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from .model import Route

SALES = "sales"  # the route target whose leads are handed over (lifecycle lead -> mql)

# (lead id, model, category ('' for the main grade))
GradeKey = tuple[int, str, str]
# (model, category, cell)
CellKey = tuple[str, str, str]


class StoredGrade(NamedTuple):
    """One grade of a lead in one model and category, as stored: scores unrounded, route and
    explanation as JSON text."""

    fit_score: float
    fit: str
    activity_score: float
    activity: int
    grade: str
    route: str | None
    explanation: str


# A stored grade as a plain tuple in StoredGrade's order: what the store reads and the re-grade
# compares in bulk, and only the grades that differ become StoredGrades (StoredGrade._make). The
# garbage collector stops tracking a plain tuple of plain values, never a named one: a named
# tuple for every grade made a re-grade after a model change a sixth slower.
GradeValues = tuple[float, str, float, int, str, str | None, str]


class HistoryRow(NamedTuple):
    """One entry of a lead's grade history: its cell or its route changed (None: none)."""

    lead_id: int
    model: str
    category: str | None  # None for the main grade
    from_grade: str | None
    to_grade: str | None
    from_route: str | None
    to_route: str | None
    at: str
    reason: str


# A history entry as a plain tuple in HistoryRow's order (a first grading makes one per grade)
HistoryValues = tuple[
    int, str, str | None, str | None, str | None, str | None, str | None, str, str
]


class GradeChange(NamedTuple):
    """A grade whose new form differs from the stored one (a named tuple too: a re-grade after
    a model change makes one for nearly every grade)."""

    lead_id: int
    model: str
    category: str  # '' for the main grade
    old: StoredGrade | None  # None: the lead had no grade here
    new: StoredGrade | None  # None: the lead has no grade here any more
    outcome: str | None  # the lead's latest outcome ("won", "lost"), for the cell counts


@dataclass(frozen=True, slots=True)
class Scope:
    """Which models one pass grades, and which the model file has."""

    graded: frozenset[str]
    known: frozenset[str]

    def drops(self, model: str) -> bool:
        """Whether a stored grade in `model` that the pass did not produce is deleted: in a
        graded model (the lead left the audience, or the category is gone), and when every model
        is graded, in a model the file no longer has."""
        return model in self.graded or (self.graded == self.known and model not in self.known)


@dataclass(frozen=True, slots=True)
class GradeChanges:
    """What a set of changed grades asks to be written and told."""

    upserts: tuple[tuple[GradeKey, GradeValues], ...]  # StoredGrades, or their plain tuples
    deletes: tuple[GradeKey, ...]
    history: tuple[HistoryValues, ...]  # HistoryRows, or their plain tuples
    cells: Mapping[CellKey, tuple[int, int, int]]  # leads, won, lost: deltas
    hand_overs: tuple[int, ...]  # lead ids, to move from lifecycle lead to mql

    def __len__(self) -> int:
        """The grade rows written: inserted, updated or deleted."""
        return len(self.upserts) + len(self.deletes)


NO_CHANGES = GradeChanges((), (), (), {}, ())


def routes_to_sales(route: Route | None) -> bool:
    return route is not None and route.to == SALES


def move(
    cells: dict[CellKey, list[int]],
    model: str,
    category: str,
    old: str | None,
    new: str | None,
    outcome: str | None,
) -> None:
    """Count a lead leaving cell `old` and entering cell `new` (either may be None) in
    `cells`: (model, category, cell) -> [leads, won, lost] deltas."""
    for cell, sign in ((old, -1), (new, 1)):
        if cell is None:
            continue
        delta = cells.setdefault((model, category, cell), [0, 0, 0])
        delta[0] += sign
        if outcome == "won":
            delta[1] += sign
        elif outcome == "lost":
            delta[2] += sign


def frozen_cells(cells: Mapping[CellKey, Sequence[int]]) -> dict[CellKey, tuple[int, int, int]]:
    return {key: (delta[0], delta[1], delta[2]) for key, delta in cells.items()}


def changes_of(
    changed: Iterable[GradeChange],
    *,
    at: str,
    reason: str,
    routed_to_sales: Iterable[tuple[int, str | None]] = (),
) -> GradeChanges:
    """The rows to write for grades that changed, graded `at` for `reason`.

    A new or changed grade is upserted, a vanished one deleted; either is a history entry when
    the cell or the route differs (not for an explanation or a score alone), and moves the lead
    between cells. `routed_to_sales`: (lead id, handed over at) of the leads with a grade routed to
    sales, changed or not; those not handed over yet are."""
    upserts: list[tuple[GradeKey, GradeValues]] = []
    deletes: list[GradeKey] = []
    history: list[HistoryValues] = []
    cells: dict[CellKey, list[int]] = {}
    for change in changed:
        old, new = change.old, change.new
        key = (change.lead_id, change.model, change.category)
        if new is None:
            deletes.append(key)
        else:
            upserts.append((key, new))
        old_grade = old.grade if old is not None else None
        new_grade = new.grade if new is not None else None
        old_route = old.route if old is not None else None
        new_route = new.route if new is not None else None
        if old_grade != new_grade or old is None or new is None:
            move(cells, change.model, change.category, old_grade, new_grade, change.outcome)
        if old_grade != new_grade or old_route != new_route or old is None or new is None:
            history.append(
                HistoryRow(
                    change.lead_id,
                    change.model,
                    change.category or None,
                    old_grade,
                    new_grade,
                    old_route,
                    new_route,
                    at,
                    reason,
                )
            )
    return GradeChanges(
        tuple(upserts),
        tuple(deletes),
        tuple(history),
        frozen_cells(cells),
        hand_overs_of(routed_to_sales),
    )


def hand_overs_of(routed_to_sales: Iterable[tuple[int, str | None]]) -> tuple[int, ...]:
    """Of the leads with a grade routed to sales (lead id, handed over at): those to hand over."""
    return tuple(lead_id for lead_id, handed_over in routed_to_sales if handed_over is None)
