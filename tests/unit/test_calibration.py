"""Calibration (SPEC section 5): rule statistics, the criteria-table points, cells, ROC AUC."""

from datetime import UTC, datetime, timedelta

import pytest

from grading.core.calibration import (
    as_dict,
    calibrate,
    roc_auc,
    suggested_points,
)
from grading.core.calibration_cases import Case
from grading.core.config import load_config
from grading.core.scoring import Event

OUTCOME = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def model_of(fit_rules, activity_rules, activity_thresholds=(60, 35, 10)):
    body = {
        "name": "m",
        "audience": {"field": "person.lifecycle", "not_in": ["disqualified"]},
        "fit": {"rules": fit_rules, "thresholds": {"A": 70, "B": 45, "C": 20}},
        "activity": {
            "window_days": 90,
            "rules": activity_rules,
            "thresholds": dict(zip((4, 3, 2), activity_thresholds, strict=True)),
        },
    }
    return load_config({"models": [body]}).models[0]


# The issue's criteria table: which rules the won deals met, and the points they must yield.
ISSUE_MODEL = model_of(
    [
        {"id": "ceo", "when": {"field": "person.title", "matches": "\\bceo\\b"}, "points": 25},
        {
            "id": "company-size",
            "when": {"field": "company.employees", "gte": 200},
            "points": 20,
        },
    ],
    [
        {"id": "downloads", "event": "download", "min_count": 4, "points": 10},
        {"id": "visits", "event": "page_view", "min_count": 6, "points": 20},
        {
            "id": "blog",
            "event": "form_submit",
            "where": {"field": "form", "equals": "blog"},
            "points": 15,
        },
        {
            "id": "careers",
            "event": "page_view",
            "where": {"field": "url", "matches": "/careers"},
            "points": -10,
        },
    ],
)


def events(kind, n, days_before=3, **props):
    return [Event(kind, OUTCOME - timedelta(days=days_before, hours=i), props) for i in range(n)]


def case(i, won, *, ceo=False, large=False, downloads=0, visits=0, blog=False, extra=()):
    person = {"lifecycle": "opportunity", "title": "CEO" if ceo else "Analyst"}
    company = {"employees": 500 if large else 20}
    evs = events("download", downloads) + events("page_view", visits, url="/pricing")
    evs += events("form_submit", 1, form="blog") if blog else []
    return Case(f"L-{i}", person, company, [*evs, *extra], won, OUTCOME)


def issue_cases():
    """20 won deals with 50 rule hits: downloads 5, CEO 15, blog 5, visits 10, company size 15."""
    won = [
        case(
            i,
            True,
            ceo=i < 15,
            large=i >= 5,
            downloads=4 + i % 3 if i < 5 else 3,  # 3 downloads is not "more than 3"
            visits=6 if i >= 10 else 5,  # 5 visits is not "more than 5"
            blog=i >= 15,
        )
        for i in range(20)
    ]
    # a won deal that read the careers page: a negative rule takes no share of the closings
    won.append(case(20, True, extra=events("page_view", 1, url="/careers")))
    lost = [case(100 + i, False, ceo=i < 4, large=2 <= i < 4) for i in range(10)]
    # 9 downloads but all after the lost deal closed: they were not known then
    late = events("download", 9, days_before=-2)
    lost.append(case(200, False, extra=late))
    return won + lost


def test_suggested_points_are_exactly_the_issue_table():
    result = calibrate(ISSUE_MODEL, issue_cases())
    suggested = {r.id: r.suggested_points for r in result.rules}
    assert suggested == {
        "downloads": 10,
        "ceo": 30,
        "blog": 10,
        "visits": 20,
        "company-size": 30,
        "careers": None,
    }
    shares = {r.id: r.share for r in result.rules}
    assert shares["ceo"] == pytest.approx(0.30)
    assert shares["downloads"] == pytest.approx(0.10)


def test_share_in_dimension_counts_only_hits_of_the_same_dimension():
    result = {r.id: r for r in calibrate(ISSUE_MODEL, issue_cases()).rules}
    # fit: CEO 15 + company size 15; activity: downloads 5 + visits 10 + blog 5
    assert result["ceo"].share_in_dimension == pytest.approx(0.5)
    assert result["company-size"].share_in_dimension == pytest.approx(0.5)
    assert result["downloads"].share_in_dimension == pytest.approx(0.25)
    assert result["visits"].share_in_dimension == pytest.approx(0.5)
    assert result["blog"].share_in_dimension == pytest.approx(0.25)
    assert result["careers"].share_in_dimension is None


def test_leads_won_win_rate_and_lift_per_rule():
    result = calibrate(ISSUE_MODEL, issue_cases())
    assert (result.leads, result.won, result.lost) == (32, 21, 11)
    rules = {r.id: r for r in result.rules}
    ceo = rules["ceo"]
    assert (ceo.leads, ceo.won) == (19, 15)
    assert ceo.win_rate == pytest.approx(15 / 19)
    assert ceo.lift == pytest.approx((15 / 19) / (21 / 32))
    # the late downloads of the lost lead do not count: only the 5 won leads met the rule
    assert (rules["downloads"].leads, rules["downloads"].won) == (5, 5)
    assert rules["downloads"].lift == pytest.approx(1 / (21 / 32))
    assert (rules["careers"].leads, rules["careers"].won) == (1, 1)


def test_a_rule_nobody_met_has_no_rate_and_no_points():
    model = model_of(
        [{"id": "never", "when": {"field": "person.title", "equals": "pope"}, "points": 10}],
        [{"id": "any", "points": 10}],
    )
    result = calibrate(model, [case(1, True), case(2, False)])
    never = result.rules[0]
    assert (never.leads, never.win_rate, never.lift, never.share) == (0, None, None, None)
    assert never.suggested_points is None


def test_leads_outside_the_audience_at_the_outcome_are_counted_apart():
    outside = Case("L-x", {"lifecycle": "disqualified"}, {}, [], True, OUTCOME)
    result = calibrate(ISSUE_MODEL, [outside, case(1, False)])
    assert (result.leads, result.outside_audience) == (1, 1)


@pytest.mark.parametrize(
    ("hits", "all_hits", "points"),
    [(5, 50, 10), (15, 50, 30), (1, 8, 13), (1, 200, 1), (1, 201, 0), (3, 3, 100), (0, 7, 0)],
)
def test_suggested_points_round_half_up(hits, all_hits, points):
    assert suggested_points(hits, all_hits) == points


# ROC AUC ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("won", "lost", "auc"),
    [
        ([3, 4], [1, 2], 1.0),
        ([1, 2], [3, 4], 0.0),
        ([3, 2], [1, 2], 0.875),  # the tie 2 = 2 counts half
        ([5, 5], [5, 5, 5], 0.5),
        ([10, 30, 20], [15, 5], 5 / 6),
    ],
)
def test_roc_auc(won, lost, auc):
    assert roc_auc(won, lost) == pytest.approx(auc)


def test_roc_auc_needs_both_won_and_lost():
    assert roc_auc([1.0], []) is None
    assert roc_auc([], [1.0]) is None


def test_auc_of_fit_and_activity_scores():
    result = calibrate(ISSUE_MODEL, issue_cases())
    assert 0.5 < result.fit_auc <= 1.0
    won_fit = [25 * (i < 15) + 20 * (i >= 5) for i in range(20)] + [0]
    lost_fit = [25 * (i < 4) + 20 * (2 <= i < 4) for i in range(10)] + [0]
    assert result.fit_auc == pytest.approx(roc_auc(won_fit, lost_fit))


# cells and whether conversion falls ------------------------------------------------------------

CELL_MODEL = model_of(
    [
        {"id": f"tier-{t}", "when": {"field": "company.tier", "equals": t}, "points": p}
        for t, p in (("a", 70), ("b", 45), ("c", 20))
    ],
    [{"id": f"act-{n}", "event": f"e{n}", "points": p} for n, p in ((4, 60), (3, 35), (2, 10))],
)


def in_cell(cell, won, i=0):
    letter, number = cell[0].lower(), int(cell[1])
    evs = events(f"e{number}", 1) if number > 1 else []
    return Case(f"{cell}-{i}", {"lifecycle": "lead"}, {"tier": letter}, evs, won, OUTCOME)


def cases_with(conversions):
    """cell -> (won, lost)"""
    out = []
    for cell, (won, lost) in conversions.items():
        out += [in_cell(cell, True, i) for i in range(won)]
        out += [in_cell(cell, False, won + i) for i in range(lost)]
    return out


def test_cells_count_leads_won_lost_and_conversion():
    result = calibrate(CELL_MODEL, cases_with({"A4": (3, 1), "B2": (1, 3), "D1": (0, 2)}))
    cells = {c.name: c for c in result.cells}
    assert [c.name for c in result.cells][:5] == ["A4", "A3", "A2", "A1", "B4"]
    assert (cells["A4"].leads, cells["A4"].won, cells["A4"].lost) == (4, 3, 1)
    assert cells["A4"].conversion == 0.75
    assert cells["B2"].conversion == 0.25
    assert cells["D1"].conversion == 0.0
    assert cells["C3"].leads == 0 and cells["C3"].conversion is None
    assert {c.name: c.leads for c in result.letters} == {"A": 4, "B": 4, "C": 0, "D": 2}
    assert result.fit_falls and result.activity_falls
    assert result.violations == ()


def test_conversion_that_rises_towards_d_or_1_is_named():
    result = calibrate(
        CELL_MODEL,
        cases_with({"A4": (1, 3), "B4": (3, 1), "C4": (1, 1), "B3": (1, 0), "B2": (0, 1)}),
    )
    assert not result.fit_falls
    texts = [str(v) for v in result.violations]
    # B (4 of 6) converts better than A (1 of 4), and B4 better than A4 in activity column 4
    assert "B converts 67%, more than A (25%)" in texts
    assert "B4 converts 75%, more than A4 (25%)" in texts
    # B3 (100 %) above B4 (75 %): along 4..1 within row B
    assert "B3 converts 100%, more than B4 (75%)" in texts
    assert not result.activity_falls
    assert all(v.axis in ("fit", "activity") for v in result.violations)
    # C4 (50 %) is below B4 (75 %): falling is fine
    assert not any(v.worse == "C4" for v in result.violations)


def test_as_dict_is_plain_json():
    import json

    data = as_dict(calibrate(ISSUE_MODEL, issue_cases()))
    assert json.loads(json.dumps(data)) == data
    assert len(data["cells"]) == 16
    assert {r["id"]: r["suggested_points"] for r in data["rules"]}["ceo"] == 30
