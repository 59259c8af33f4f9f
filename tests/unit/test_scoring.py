"""Grading exactly as SPEC section 4, table by table, boundary by boundary."""

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grading.core.config import load_config
from grading.core.scoring import Event, activity_number, fit_letter, grade_lead

T = datetime(2026, 11, 1, 15, 30, tzinfo=UTC)  # as of: 15:30 UTC on 1 November


def build(
    activity_rules, *, window=90, half_life=None, thresholds=(60, 35, 10), fit_rules=(), **model
):
    activity = {
        "window_days": window,
        "rules": list(activity_rules),
        "thresholds": dict(zip((4, 3, 2), thresholds, strict=True)),
    }
    if half_life:
        activity["half_life_days"] = half_life
    body = {
        "name": "m",
        "fit": {"rules": list(fit_rules), "thresholds": {"A": 70, "B": 45, "C": 20}},
        "activity": activity,
        **model,
    }
    return load_config({"models": [body]}).models[0]


def at(days=0, hours=0, minutes=0):
    return T - timedelta(days=days, hours=hours, minutes=minutes)


def ev(kind="download", when=None, **props):
    return Event(kind, when or T, props)


def main_grade(model, events=(), person=None, company=None):
    return grade_lead(model, person or {"lifecycle": "lead"}, company or {}, events, T)[0]


def activity_of(model, events):
    return main_grade(model, events).activity_score


# fit ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "score,letter",
    [
        (100, "A"),
        (70, "A"),
        (69.99, "B"),
        (45, "B"),
        (44.99, "C"),
        (20, "C"),
        (19.99, "D"),
        (0, "D"),
        (-40, "D"),
    ],
)
def test_fit_letter_boundaries(score, letter):
    assert fit_letter(score, (70, 45, 20)) == letter


@pytest.mark.parametrize(
    "score,number",
    [(100, 4), (60, 4), (59.99, 3), (35, 3), (34.99, 2), (10, 2), (9.99, 1), (0, 1), (-5, 1)],
)
def test_activity_number_boundaries(score, number):
    assert activity_number(score, (60, 35, 10)) == number


FIT = [
    {"id": "big", "when": {"field": "company.employees", "gte": 200}, "points": 30},
    {"id": "ceo", "when": {"field": "person.title", "matches": "\\bceo\\b"}, "points": 40},
    {
        "id": "student",
        "when": {"field": "person.title", "contains": "student"},
        "points": -40,
        "label": "Student",
    },
]


@pytest.mark.parametrize(
    "person,company,score,letter",
    [
        ({"title": "CEO"}, {"employees": 200}, 70, "A"),
        ({"title": "CEO"}, {"employees": 199}, 40, "C"),
        ({"title": "Student CEO"}, {"employees": 500}, 30, "C"),
        ({"title": "student"}, {}, -40, "D"),
        ({}, {}, 0, "D"),
    ],
)
def test_fit_score_is_the_sum_of_rules_that_hold_each_once(person, company, score, letter):
    grade = main_grade(
        build([], fit_rules=FIT), person={"lifecycle": "lead", **person}, company=company
    )
    assert (grade.fit_score, grade.fit) == (score, letter)
    assert sum(c.points for c in grade.explanation if c.dimension == "fit") == score


def test_fit_explanation_names_rule_label_dimension_and_points():
    grade = main_grade(build([], fit_rules=FIT), person={"title": "Student"})
    (item,) = grade.explanation
    assert (item.rule, item.label, item.dimension, item.points, item.events) == (
        "student",
        "Student",
        "fit",
        -40,
        None,
    )


# windows, whole UTC days --------------------------------------------------------------------

COUNT = [{"id": "d", "event": "download", "points": 10}]


@pytest.mark.parametrize(
    "when,counts",
    [
        (at(), True),  # exactly as of
        (at(minutes=-1), False),  # a minute after as of, same day
        (at(days=-1), False),  # tomorrow
        (at(days=89), True),  # age 89 < 90
        (at(days=90), False),  # age 90
        (
            T.replace(hour=0, minute=0) - timedelta(days=89),
            True,
        ),  # 00:00 of the oldest day in the window
        (
            T.replace(hour=0, minute=0) - timedelta(days=89, seconds=1),
            False,
        ),  # 23:59:59 the day before
    ],
)
def test_the_window_is_counted_in_whole_utc_days(when, counts):
    assert activity_of(build(COUNT), [ev(when=when)]) == (10 if counts else 0)


def test_23_59_yesterday_is_age_1():
    model = build([{"id": "today", "event": "download", "within_days": 1, "points": 5}])
    assert activity_of(model, [ev(when=T.replace(hour=0, minute=0, second=0))]) == 5
    assert activity_of(model, [ev(when=T.replace(hour=0, minute=0) - timedelta(seconds=1))]) == 0


@pytest.mark.parametrize("days,counts", [(0, True), (6, True), (7, False)])
def test_within_days_7_is_today_and_the_six_days_before(days, counts):
    model = build([{"id": "p", "event": "page_view", "within_days": 7, "points": 15}])
    assert activity_of(model, [ev("page_view", at(days=days))]) == (15 if counts else 0)


def test_within_days_may_reach_beyond_the_block_window():
    model = build([{"id": "long", "event": "download", "within_days": 120, "points": 1}], window=30)
    assert activity_of(model, [ev(when=at(days=100))]) == 1


# decay, caps, thresholds ----------------------------------------------------------------------


@pytest.mark.parametrize("days,weight", [(0, 1.0), (30, 0.5), (60, 0.25), (15, 0.5**0.5)])
def test_decay_halves_points_every_half_life(days, weight):
    model = build(COUNT, half_life=30)
    assert activity_of(model, [ev(when=at(days=days))]) == pytest.approx(10 * weight)


def test_without_half_life_there_is_no_decay():
    assert activity_of(build(COUNT), [ev(when=at(days=80))]) == 10


@pytest.mark.parametrize("n,expected", [(1, 10), (3, 30), (4, 30), (10, 30)])
def test_max_points_caps_a_positive_rule(n, expected):
    model = build([{"id": "d", "event": "download", "points": 10, "max_points": 30}])
    assert activity_of(model, [ev() for _ in range(n)]) == expected


@pytest.mark.parametrize("n,expected", [(1, -10), (2, -20), (5, -24)])
def test_max_points_caps_a_negative_rule_at_minus_m(n, expected):
    model = build([{"id": "careers", "event": "page_view", "points": -10, "max_points": 24}])
    assert activity_of(model, [ev("page_view") for _ in range(n)]) == expected


def test_caps_apply_after_decay():
    model = build([{"id": "d", "event": "download", "points": 10, "max_points": 12}], half_life=30)
    assert activity_of(model, [ev(when=at(days=30)), ev(when=at(days=30))]) == 10  # 5 + 5 < 12
    assert activity_of(model, [ev(), ev()]) == 12


@pytest.mark.parametrize("n,expected", [(5, 0), (6, 20), (12, 20)])
def test_min_count_adds_points_once_at_n_matching_events(n, expected):
    model = build([{"id": "visits", "event": "page_view", "min_count": 6, "points": 20}])
    assert activity_of(model, [ev("page_view") for _ in range(n)]) == expected


def test_min_count_rules_do_not_decay():
    model = build(
        [{"id": "visits", "event": "page_view", "min_count": 2, "points": 20}], half_life=10
    )
    assert activity_of(model, [ev("page_view", at(days=60)), ev("page_view", at(days=80))]) == 20


def test_a_threshold_rule_short_of_its_count_is_progress_not_a_contribution():
    model = build([{"id": "visits", "event": "page_view", "min_count": 6, "points": 20}])
    grade = main_grade(model, [ev("page_view")] * 3)
    assert grade.explanation == ()  # it contributed nothing: no "+0.00" line
    (item,) = grade.progress
    assert (item.rule, item.points, item.events, item.min_count, item.earned) == (
        "visits",
        0,
        3,
        6,
        False,
    )


def test_a_threshold_rule_that_reached_its_count_contributes_and_says_its_count():
    model = build([{"id": "visits", "event": "page_view", "min_count": 6, "points": 20}])
    grade = main_grade(model, [ev("page_view")] * 7)
    (item,) = grade.explanation
    assert (item.rule, item.points, item.events, item.min_count) == ("visits", 20, 7, 6)
    assert item.as_dict()["min_count"] == 6 and grade.progress == ()


def test_careers_page_visits_lower_activity():
    model = build(
        [
            {"id": "dl", "event": "download", "points": 20},
            {
                "id": "careers",
                "event": "page_view",
                "where": {"field": "url", "matches": "/(careers|jobs)"},
                "points": -10,
            },
        ]
    )
    grade = main_grade(
        model, [ev(), ev("page_view", url="/careers"), ev("page_view", url="/pricing")]
    )
    assert grade.activity_score == 10


# event types and where --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "event,kind,matches",
    [
        ("download", "download", True),
        ("download", "Download", False),
        (["download", "webinar"], "webinar", True),
        (["download", "webinar"], "page_view", False),
        (None, "anything", True),
    ],
)
def test_event_types_compare_exactly(event, kind, matches):
    rule = {"id": "r", "points": 1}
    if event is not None:
        rule["event"] = event
    assert activity_of(build([rule]), [ev(kind)]) == (1 if matches else 0)


def test_where_reads_properties_and_type():
    model = build(
        [
            {
                "id": "r",
                "where": {
                    "all": [
                        {"field": "type", "in": ["page_view", "download"]},
                        {"field": "url", "matches": "^/pricing"},
                    ]
                },
                "points": 1,
            }
        ]
    )
    assert (
        activity_of(
            model,
            [
                ev("page_view", url="/pricing"),
                ev("download", url="/pricing/x"),
                ev("webinar", url="/pricing"),
                ev("page_view", url="/blog"),
            ],
        )
        == 2
    )


# categories, audience, routing --------------------------------------------------------------------

CATEGORY_MODEL = dict(
    fit_rules=FIT,
    categories=[
        {
            "name": "analytics",
            "where": {"field": "product", "equals": "analytics"},
            "routing": [{"cells": ["*2"], "to": "sales", "queue": "analytics"}],
        },
        {
            "name": "crm",
            "where": {"field": "url", "matches": "^/products/crm"},
            "activity": {
                "window_days": 7,
                "rules": [{"id": "crm-any", "points": 50}],
                "thresholds": {4: 100, 3: 50, 2: 10},
            },
        },
    ],
    routing=[
        {"cells": ["A4", "A3"], "to": "sales", "queue": "senior"},
        {"cells": ["A*"], "to": "nurture", "campaign": "accelerate"},
        {"cells": ["*4"], "to": "nurture", "campaign": "hot"},
        {"cells": ["*"], "to": "nurture", "campaign": "newsletter"},
    ],
    audience={"field": "person.lifecycle", "not_in": ["customer", "disqualified"]},
)


def grades_of(events, person=None, company=None):
    model = build(COUNT, **CATEGORY_MODEL)
    return {
        g.category: g
        for g in grade_lead(
            model,
            person or {"lifecycle": "lead", "title": "CEO"},
            company or {"employees": 300},
            events,
            T,
        )
    }


def test_a_category_counts_only_its_events_with_the_models_fit_letter():
    grades = grades_of([ev(product="analytics"), ev(product="crm"), ev()])
    assert grades[None].activity_score == 30
    assert grades["analytics"].activity_score == 10 and grades["analytics"].grade == "A2"


def test_a_category_may_have_its_own_activity_block():
    grades = grades_of(
        [
            ev("page_view", at(days=3), url="/products/crm"),
            ev("page_view", at(days=8), url="/products/crm"),
        ]
    )
    assert grades["crm"].activity_score == 50 and grades["crm"].grade == "A3"
    assert [c.rule for c in grades["crm"].explanation if c.dimension == "activity"] == ["crm-any"]


def test_a_category_routes_by_its_own_routing_or_not_at_all():
    grades = grades_of([ev(product="analytics")])
    assert grades["analytics"].route.queue == "analytics"
    assert grades["crm"].route is None  # no routing of its own: no route (not the model's)


@pytest.mark.parametrize(
    "title,employees,n,route",
    [
        ("CEO", 300, 6, ("sales", "senior", None)),  # A4 (60 points): first entry
        ("CEO", 300, 1, ("nurture", None, "accelerate")),  # A2 matches A*
        ("Analyst", 300, 6, ("nurture", None, "hot")),  # C4 matches *4
        ("Analyst", 10, 0, ("nurture", None, "newsletter")),
    ],
)
def test_routing_wildcards_and_first_match_wins(title, employees, n, route):
    model = build([{"id": "d", "event": "download", "points": 10}], **CATEGORY_MODEL)
    grade = grade_lead(
        model, {"lifecycle": "lead", "title": title}, {"employees": employees}, [ev()] * n, T
    )[0]
    assert (grade.route.to, grade.route.queue, grade.route.campaign) == route


@pytest.mark.parametrize(
    "lifecycle,graded",
    [("lead", True), ("mql", True), ("customer", False), ("disqualified", False)],
)
def test_a_lead_outside_the_audience_has_no_grade(lifecycle, graded):
    model = build(COUNT, **CATEGORY_MODEL)
    assert bool(grade_lead(model, {"lifecycle": lifecycle}, {}, [], T)) is graded


# laws -----------------------------------------------------------------------------------------------

LAW_MODEL = build(
    [
        {"id": "dl", "event": "download", "points": 7, "max_points": 30},
        {"id": "visits", "event": "page_view", "min_count": 4, "points": 20},
        {
            "id": "pricing",
            "where": {"field": "url", "equals": "/pricing"},
            "within_days": 7,
            "points": 15,
        },
        {
            "id": "careers",
            "where": {"field": "url", "contains": "career"},
            "points": -6,
            "max_points": 15,
        },
    ],
    half_life=10,
    **CATEGORY_MODEL,
)
events = st.lists(
    st.builds(
        lambda kind, url, product, minutes: Event(
            kind,
            T - timedelta(minutes=minutes),
            {"url": url} | ({"product": product} if product else {}),
        ),
        st.sampled_from(["download", "page_view", "webinar"]),
        st.sampled_from(["/pricing", "/careers", "/blog"]),
        st.sampled_from(["analytics", None]),
        st.integers(-2 * 1440, 120 * 1440),
    ),
    max_size=40,
)
people = st.fixed_dictionaries(
    {"lifecycle": st.just("lead"), "title": st.sampled_from(["CEO", "Student", "Analyst"])}
)


@settings(max_examples=150, deadline=None)
@given(events=events, person=people)
def test_explanation_points_add_up_to_the_scores(events, person):
    for grade in grade_lead(LAW_MODEL, person, {"employees": 300}, events, T):
        fit = sum(c.points for c in grade.explanation if c.dimension == "fit")
        activity = sum(c.points for c in grade.explanation if c.dimension == "activity")
        assert fit == pytest.approx(grade.fit_score) and activity == pytest.approx(
            grade.activity_score
        )


@settings(max_examples=100, deadline=None)
@given(events=events, person=people, seed=st.integers(0, 1000))
def test_grading_twice_or_shuffled_gives_the_same_grades(events, person, seed):
    first = grade_lead(LAW_MODEL, person, {"employees": 300}, events, T)
    assert grade_lead(LAW_MODEL, person, {"employees": 300}, events, T) == first
    shuffled = list(events)
    random.Random(seed).shuffle(shuffled)
    again = grade_lead(LAW_MODEL, person, {"employees": 300}, shuffled, T)
    assert [(g.category, g.grade, g.route) for g in again] == [
        (g.category, g.grade, g.route) for g in first
    ]
    assert [g.activity_score for g in again] == pytest.approx([g.activity_score for g in first])


@settings(max_examples=100, deadline=None)
@given(events=events, later=events)
def test_events_after_as_of_change_nothing(events, later):
    after = [
        Event(
            e.type, T + timedelta(seconds=1) + (T - e.at if e.at < T else timedelta()), e.properties
        )
        for e in later
    ]
    person = {"lifecycle": "lead", "title": "CEO"}
    assert grade_lead(LAW_MODEL, person, {}, events + after, T) == grade_lead(
        LAW_MODEL, person, {}, events, T
    )
