"""core.changes: which rows a set of changed grades writes, which history entries and cell moves
they make, and which leads are handed over."""

import pytest

from grading.core.changes import (
    NO_CHANGES,
    GradeChange,
    HistoryRow,
    Scope,
    StoredGrade,
    changes_of,
    move,
    routes_to_sales,
)
from grading.core.model import Route

AT = "2026-12-01T10:00:00Z"
SALES = '{"to":"sales"}'
NURTURE = '{"to":"nurture"}'


def grade(cell: str, route: str | None = None, fit_score: float = 10.0, explanation="[]"):
    return StoredGrade(fit_score, cell[0], 5.0, int(cell[1]), cell, route, explanation)


def change(old, new, category="", outcome=None, lead=7):
    return GradeChange(lead, "m", category, old, new, outcome)


def history(old_cell, new_cell, old_route=None, new_route=None, category=None, lead=7):
    return HistoryRow(lead, "m", category, old_cell, new_cell, old_route, new_route, AT, "regrade")


# (what changed, upserts, deletes, history rows, cell deltas)
CASES = {
    "nothing changed": ([], [], [], [], {}),
    "a new lead": (
        [change(None, grade("B2"))],
        [((7, "m", ""), grade("B2"))],
        [],
        [history(None, "B2")],
        {("m", "", "B2"): (1, 0, 0)},
    ),
    "a score alone": (
        [change(grade("B2"), grade("B2", fit_score=11.0))],
        [((7, "m", ""), grade("B2", fit_score=11.0))],
        [],
        [],
        {},
    ),
    "the explanation alone": (
        [change(grade("B2"), grade("B2", explanation='[["f","x",1]]'))],
        [((7, "m", ""), grade("B2", explanation='[["f","x",1]]'))],
        [],
        [],
        {},
    ),
    "fit changes": (
        [change(grade("B2"), grade("A2"))],
        [((7, "m", ""), grade("A2"))],
        [],
        [history("B2", "A2")],
        {("m", "", "B2"): (-1, 0, 0), ("m", "", "A2"): (1, 0, 0)},
    ),
    "activity changes": (
        [change(grade("B2"), grade("B3"))],
        [((7, "m", ""), grade("B3"))],
        [],
        [history("B2", "B3")],
        {("m", "", "B2"): (-1, 0, 0), ("m", "", "B3"): (1, 0, 0)},
    ),
    "the route alone moves": (
        [change(grade("A4", NURTURE), grade("A4", SALES))],
        [((7, "m", ""), grade("A4", SALES))],
        [],
        [history("A4", "A4", NURTURE, SALES)],
        {},
    ),
    "cell and route": (
        [change(grade("A3"), grade("A4", SALES))],
        [((7, "m", ""), grade("A4", SALES))],
        [],
        [history("A3", "A4", None, SALES)],
        {("m", "", "A3"): (-1, 0, 0), ("m", "", "A4"): (1, 0, 0)},
    ),
    "a grade goes away": (
        [change(grade("C1", NURTURE), None)],
        [],
        [(7, "m", "")],
        [history("C1", None, NURTURE, None)],
        {("m", "", "C1"): (-1, 0, 0)},
    ),
    "a category grade": (
        [change(grade("D1"), grade("D2"), category="cloud")],
        [((7, "m", "cloud"), grade("D2"))],
        [],
        [history("D1", "D2", category="cloud")],
        {("m", "cloud", "D1"): (-1, 0, 0), ("m", "cloud", "D2"): (1, 0, 0)},
    ),
    "a category goes away": (
        [change(grade("D1"), None, category="cloud")],
        [],
        [(7, "m", "cloud")],
        [history("D1", None, category="cloud")],
        {("m", "cloud", "D1"): (-1, 0, 0)},
    ),
    "a won lead moves": (
        [change(grade("B2"), grade("B3"), outcome="won")],
        [((7, "m", ""), grade("B3"))],
        [],
        [history("B2", "B3")],
        {("m", "", "B2"): (-1, -1, 0), ("m", "", "B3"): (1, 1, 0)},
    ),
    "a lost lead is new": (
        [change(None, grade("C1"), outcome="lost")],
        [((7, "m", ""), grade("C1"))],
        [],
        [history(None, "C1")],
        {("m", "", "C1"): (1, 0, 1)},
    ),
    "two leads cross": (
        [change(grade("B2"), grade("B3"), lead=1), change(grade("B3"), grade("B2"), lead=2)],
        [((1, "m", ""), grade("B3")), ((2, "m", ""), grade("B2"))],
        [],
        [history("B2", "B3", lead=1), history("B3", "B2", lead=2)],
        {("m", "", "B2"): (0, 0, 0), ("m", "", "B3"): (0, 0, 0)},
    ),
}


@pytest.mark.parametrize("name", CASES)
def test_changed_grades_make_these_rows(name):
    changed, upserts, deletes, rows, cells = CASES[name]
    result = changes_of(changed, at=AT, reason="regrade")
    assert list(result.upserts) == upserts
    assert list(result.deletes) == deletes
    assert list(result.history) == rows
    assert dict(result.cells) == cells
    assert len(result) == len(upserts) + len(deletes)
    assert result.hand_overs == ()


def test_no_changed_grades_is_no_changes():
    assert changes_of([], at=AT, reason="regrade") == NO_CHANGES


def test_history_rows_carry_the_time_and_the_reason():
    (row,) = changes_of([change(None, grade("A1"))], at=AT, reason="event").history
    assert (row.at, row.reason) == (AT, "event")


# (leads with a grade routed to sales: (lead id, handed over at)) -> hand-overs
HAND_OVERS = [
    ([], ()),
    ([(3, None)], (3,)),
    ([(3, "2026-11-01T00:00:00Z")], ()),  # handed over before: never twice
    ([(3, None), (4, "2026-11-01T00:00:00Z"), (5, None)], (3, 5)),
]


@pytest.mark.parametrize(("routed", "expected"), HAND_OVERS)
def test_a_lead_routed_to_sales_is_handed_over_once(routed, expected):
    assert changes_of([], at=AT, reason="regrade", routed_to_sales=routed).hand_overs == expected


@pytest.mark.parametrize(
    ("route", "expected"),
    [(None, False), (Route("sales"), True), (Route("nurture", campaign="x"), False)],
)
def test_only_the_sales_route_hands_over(route, expected):
    assert routes_to_sales(route) is expected


# (models graded, models in the file, model of a stored grade not produced) -> deleted
SCOPES = [
    ({"m"}, {"m"}, "m", True),  # left the audience, or its category is gone
    ({"m"}, {"m", "n"}, "n", False),  # a partial pass keeps what it did not grade
    ({"m", "n"}, {"m", "n"}, "gone", True),  # a model the file no longer has
    ({"m"}, {"m", "n"}, "gone", False),  # ... but only when every model is graded
]


@pytest.mark.parametrize(("graded", "known", "model", "dropped"), SCOPES)
def test_which_grades_a_pass_no_longer_produces_are_deleted(graded, known, model, dropped):
    assert Scope(frozenset(graded), frozenset(known)).drops(model) is dropped


def test_a_move_counts_the_lead_out_of_one_cell_and_into_another():
    cells: dict = {}
    move(cells, "m", "", "B2", "B3", "won")
    move(cells, "m", "", None, "B3", None)
    move(cells, "m", "", "B3", None, "lost")
    assert cells == {("m", "", "B2"): [-1, -1, 0], ("m", "", "B3"): [1, 1, -1]}
