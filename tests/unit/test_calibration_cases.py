"""The cases calibration learns from (grading.core.calibration_cases): a lead's main grade as of
its outcome's time, from the events known then, and the rules that grade met. What is counted
from them (rule and cell statistics, AUC) is tests/unit/test_calibration.py."""

from datetime import timedelta

import pytest

from grading.core.calibration_cases import Case, grade_as_of, rules_met
from tests.factories import AS_OF, event, make_model

CEO_OF_A_BIG_SOFTWARE_COMPANY = (
    {"title": "CEO", "lifecycle": "lead"},
    {"industry": "software", "employees": 500},
)


def case(*events, person=None, company=None, won=True, at=AS_OF) -> Case:
    default_person, default_company = CEO_OF_A_BIG_SOFTWARE_COMPANY
    return Case(
        "L-1",
        default_person if person is None else person,
        default_company if company is None else company,
        list(events),
        won,
        at,
    )


def days_ago(n: float):
    return AS_OF - timedelta(days=n)


def test_the_grade_is_the_main_grade_as_of_the_outcome():
    grade = grade_as_of(make_model(), case(event("download"), event("download")))
    assert grade is not None and grade.category is None
    assert (grade.fit_score, grade.grade) == (80, "A2")  # 20 + 30 + 30; 2 downloads, no decay


def test_events_after_the_outcome_are_left_out():
    later = [event("download", AS_OF + timedelta(hours=1)) for _ in range(3)]
    grade = grade_as_of(make_model(), case(*later))
    assert (grade.activity_score, grade.grade) == (0, "A1")


def test_a_lead_outside_the_audience_then_has_no_grade():
    person = {"title": "CEO", "lifecycle": "customer"}
    assert grade_as_of(make_model(), case(event(), person=person)) is None


def test_the_cache_keeps_what_each_kind_of_event_matched():
    cache: dict = {}
    model = make_model()
    grade_as_of(
        model, case(event("page_view", url="/pricing"), event("page_view", url="/jobs")), cache
    )
    assert len(cache) == 2
    grade_as_of(model, case(event("page_view", url="/pricing", at=days_ago(1))), cache)
    assert len(cache) == 2  # the same kind of event at another time: classified once


def test_a_cached_grade_is_the_uncached_one():
    events = [event("page_view", days_ago(i), url="/pricing", tags=["a", "b"]) for i in range(8)]
    cache: dict = {}
    model = make_model()
    first = grade_as_of(model, case(*events), cache)
    assert first == grade_as_of(model, case(*events), cache) == grade_as_of(model, case(*events))


@pytest.mark.parametrize(
    "events, met",
    [
        ([], []),
        ([event("download")], [("activity", "downloads")]),
        ([event("page_view", url="/about")] * 5, []),  # 5 visits: many-visits needs 6
        ([event("page_view", url="/about")] * 6, [("activity", "many-visits")]),
        ([event("page_view", days_ago(8), url="/pricing")], []),  # pricing-recent: 7 days
        (
            [event("page_view", url="/careers")] * 6,
            [("activity", "many-visits"), ("activity", "careers")],
        ),
    ],
)
def test_the_rules_met_are_fit_rules_that_held_and_activity_rules_with_enough_events(events, met):
    model = make_model()
    grade = grade_as_of(model, case(*events))
    fit = [("fit", "target-industry"), ("fit", "large-company"), ("fit", "ceo")]
    assert rules_met(model, grade) == fit + met  # the CEO's fit rules, then the activity


def test_a_negative_fit_rule_that_held_is_met_too():
    person = {"title": "Student", "lifecycle": "lead"}
    grade = grade_as_of(make_model(), case(person=person, company={}))
    assert rules_met(make_model(), grade) == [("fit", "student")]
