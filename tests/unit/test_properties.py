"""Laws of grading (SPEC section 4) that hold for any lead and any events."""

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grading.core.config import load_config
from grading.core.scoring import Event, grade_lead

T = datetime(2026, 11, 1, 15, 30, tzinfo=UTC)
DAY = 86400

MODEL = load_config(
    {
        "models": [
            {
                "name": "laws",
                "audience": {"field": "person.lifecycle", "not_in": ["customer", "disqualified"]},
                "fit": {
                    "rules": [
                        {
                            "id": "big",
                            "when": {"field": "company.employees", "gte": 200},
                            "points": 30,
                        },
                        {
                            "id": "ceo",
                            "when": {"field": "person.title", "matches": r"\bceo\b"},
                            "points": 40,
                        },
                        {
                            "id": "phone",
                            "when": {"field": "person.phone", "present": True},
                            "points": 5,
                        },
                        {
                            "id": "student",
                            "when": {"field": "person.title", "contains": "student"},
                            "points": -50,
                        },
                    ],
                    "thresholds": {"A": 60, "B": 30, "C": 10},
                },
                "activity": {
                    "window_days": 60,
                    "half_life_days": 14,
                    "rules": [
                        {"id": "downloads", "event": "download", "points": 10, "max_points": 25},
                        {"id": "many-visits", "event": "page_view", "min_count": 4, "points": 20},
                        {
                            "id": "pricing",
                            "event": "page_view",
                            "where": {"field": "url", "matches": "^/pricing"},
                            "within_days": 7,
                            "points": 15,
                        },
                        {
                            "id": "careers",
                            "event": ["page_view", "download"],
                            "where": {"field": "url", "contains": "careers"},
                            "points": -8,
                            "max_points": 20,
                        },
                        {
                            "id": "webinars",
                            "where": {"field": "type", "matches": "^webinar"},
                            "within_days": 120,
                            "points": 12,
                        },
                        {"id": "anything", "points": 0.7},
                    ],
                    "thresholds": {4: 60, 3: 35, 2: 10},
                },
                "categories": [
                    {"name": "analytics", "where": {"field": "product", "equals": "analytics"}},
                    {
                        "name": "crm",
                        "where": {"field": "url", "matches": "^/products/crm"},
                        "activity": {
                            "window_days": 30,
                            "half_life_days": 10,
                            "rules": [
                                {
                                    "id": "crm-views",
                                    "event": "page_view",
                                    "points": 6,
                                    "max_points": 18,
                                },
                                {"id": "crm-fan", "min_count": 3, "points": 10},
                            ],
                            "thresholds": {4: 25, 3: 15, 2: 5},
                        },
                        "routing": [{"cells": ["*4", "A3"], "to": "sales", "queue": "crm"}],
                    },
                ],
                "routing": [
                    {"cells": ["A4", "A3", "B4"], "to": "sales", "queue": "senior"},
                    {"cells": ["A*", "B*"], "to": "nurture", "campaign": "accelerate"},
                    {"cells": ["*1"], "to": "nurture", "campaign": "wake-up"},
                ],
            }
        ]
    }
).models[0]

TYPES = ["page_view", "download", "webinar_attended", "email_click", "form_submit"]
URLS = [
    "/",
    "/pricing",
    "/pricing/enterprise",
    "/careers",
    "/products/crm",
    "/products/crm/api",
    "/blog",
]
PRODUCTS = ["analytics", "crm", None]

events = st.builds(
    lambda kind, url, product, seconds: Event(
        kind,
        T + timedelta(seconds=seconds),
        {"url": url} | ({"product": product} if product else {}),
    ),
    st.sampled_from(TYPES),
    st.sampled_from(URLS),
    st.sampled_from(PRODUCTS),
    st.integers(min_value=-200 * DAY, max_value=200 * DAY),
)
event_lists = st.lists(events, max_size=40)
people = st.fixed_dictionaries(
    {"lifecycle": st.sampled_from(["lead", "mql", "sql"])},
    optional={
        "title": st.sampled_from(["CEO", "ceo and student", "Student", "analyst", ""]),
        "phone": st.sampled_from(["+49 30 1234", "", None]),
    },
)
companies = st.fixed_dictionaries(
    {}, optional={"employees": st.sampled_from([10, 199, 200, "250", "many", None])}
)


def grade(person, company, evs, as_of=T):
    return grade_lead(MODEL, person, company, evs, as_of)


def comparable(grades):
    """Everything of the grades but the float noise of adding the same terms in another order."""
    return [
        (
            g.category,
            g.fit_score,
            g.fit,
            g.activity,
            g.route,
            [(c.rule, c.label, c.dimension, c.events) for c in g.explanation],
            [(c.rule, c.events, c.min_count) for c in g.progress],
        )
        for g in grades
    ]


def assert_same_grades(left, right):
    assert comparable(left) == comparable(right)
    for a, b in zip(left, right, strict=True):
        assert a.activity_score == pytest.approx(b.activity_score, rel=1e-12, abs=1e-12)
        for x, y in zip(a.explanation, b.explanation, strict=True):
            assert x.points == pytest.approx(y.points, rel=1e-12, abs=1e-12)


@settings(max_examples=200, deadline=None)
@given(person=people, company=companies, evs=event_lists)
def test_the_explanations_points_add_up_to_the_scores(person, company, evs):
    grades = grade(person, company, evs)
    assert [g.category for g in grades] == [None, "analytics", "crm"]
    for g in grades:
        fit_points = [c.points for c in g.explanation if c.dimension == "fit"]
        activity_points = [c.points for c in g.explanation if c.dimension == "activity"]
        assert sum(fit_points) == pytest.approx(g.fit_score)
        assert sum(activity_points) == pytest.approx(g.activity_score)
        assert all(c.events is None for c in g.explanation if c.dimension == "fit")
        assert all(c.events >= 1 for c in g.explanation if c.dimension == "activity")
        # a threshold rule short of its count is progress, apart from what contributed
        assert all(c.earned for c in g.explanation)
        assert all(
            c.dimension == "activity" and c.points == 0 and 1 <= c.events < c.min_count
            for c in g.progress
        )


@settings(max_examples=150, deadline=None)
@given(person=people, company=companies, evs=event_lists)
def test_grading_twice_gives_identical_grades(person, company, evs):
    assert grade(person, company, evs) == grade(person, company, list(evs))


@settings(max_examples=150, deadline=None)
@given(person=people, company=companies, evs=event_lists, seed=st.integers(0, 2**32 - 1))
def test_the_order_of_the_events_does_not_matter(person, company, evs, seed):
    shuffled = list(evs)
    random.Random(seed).shuffle(shuffled)
    assert_same_grades(grade(person, company, evs), grade(person, company, shuffled))


@settings(max_examples=150, deadline=None)
@given(
    person=people,
    company=companies,
    evs=event_lists,
    late=st.lists(
        st.builds(
            lambda kind, url, seconds: Event(kind, T + timedelta(seconds=seconds), {"url": url}),
            st.sampled_from(TYPES),
            st.sampled_from(URLS),
            st.integers(min_value=1, max_value=200 * DAY),
        ),
        min_size=1,
        max_size=5,
    ),
)
def test_an_event_after_as_of_changes_nothing(person, company, evs, late):
    assert grade(person, company, evs) == grade(person, company, evs + late)
    assert grade(person, company, evs) == grade(person, company, late + evs)
