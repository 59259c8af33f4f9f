"""Account grades (SPEC section 4, Accounts), table by table: which fit rules count, sum vs max,
thresholds and the audience."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grading.core.accounts import (
    AccountGrader,
    AccountLead,
    company_rules,
    grade_account,
    is_company_rule,
)
from grading.core.conditions import condition_fields
from grading.core.config import ConfigError, load_config
from grading.core.scoring import lead_record

FIT_RULES = [
    {"id": "industry", "when": {"field": "company.industry", "equals": "software"}, "points": 20},
    {"id": "size", "when": {"field": "company.employees", "gte": 200}, "points": 15},
    {"id": "ceo", "when": {"field": "person.title", "equals": "CEO"}, "points": 30},
    {
        "id": "big-and-senior",  # mixes person and company: says nothing about the company alone
        "when": {
            "all": [
                {"field": "company.employees", "gte": 200},
                {"field": "person.seniority", "equals": "vp"},
            ]
        },
        "points": 50,
    },
    {
        "id": "not-a-competitor",
        "when": {"not": {"field": "company.domain", "in": ["rival.com"]}},
        "points": 5,
        "label": "No competitor",
    },
    {
        "id": "any-market",
        "when": {
            "any": [
                {"field": "company.country", "equals": "DE"},
                {"field": "company.country", "equals": "AT"},
            ]
        },
        "points": 10,
    },
]


def build(
    how="sum",
    fit=(40, 25, 10),
    activity=(150, 80, 20),
    audience=None,
    accounts=True,
    fit_rules=FIT_RULES,
):
    body = {
        "name": "m",
        "fit": {"rules": fit_rules, "thresholds": {"A": 70, "B": 45, "C": 20}},
        "activity": {
            "rules": [{"id": "d", "event": "download", "points": 10}],
            "thresholds": {4: 60, 3: 35, 2: 10},
        },
    }
    if audience:
        body["audience"] = audience
    if accounts:
        body["accounts"] = {
            "activity": how,
            "fit_thresholds": dict(zip("ABC", fit, strict=True)),
            "activity_thresholds": dict(zip((4, 3, 2), activity, strict=True)),
        }
    return load_config({"models": [body]}).models[0]


COMPANY = {"domain": "acme.io", "industry": "software", "employees": 500, "country": "DE"}


def lead(key, score, company=COMPANY, **person):
    person.setdefault("lifecycle", "lead")
    return AccountLead(key, score, lead_record(person, company))


def test_only_rules_reading_nothing_but_company_fields_count():
    model = build()
    assert [r.id for r in company_rules(model)] == [
        "industry",
        "size",
        "not-a-competitor",
        "any-market",
    ]
    rules = {r.id: r for r in model.fit_rules}
    assert not is_company_rule(rules["ceo"])
    assert not is_company_rule(rules["big-and-senior"])


def test_the_account_fit_is_the_company_rules_that_hold_whoever_the_people_are():
    # a CEO and a VP at a big company: the person rules (ceo, big-and-senior) still do not count
    grade = grade_account(build(), COMPANY, [lead(1, 0, title="CEO"), lead(2, 0, seniority="vp")])
    assert grade.fit_score == 20 + 15 + 5 + 10
    assert [hit[0] for hit in grade.fit_hits] == [
        "industry",
        "size",
        "not-a-competitor",
        "any-market",
    ]
    assert grade.fit == "A"
    assert grade.explanation()["fit"][2] == {
        "rule": "not-a-competitor",
        "label": "No competitor",
        "dimension": "fit",
        "points": 5,
    }


@pytest.mark.parametrize(
    "company,score,letter",
    [
        (COMPANY, 50, "A"),  # >= 40
        ({"domain": "a.io", "industry": "software", "employees": 10, "country": "DE"}, 35, "B"),
        ({"domain": "a.io", "industry": "software", "employees": 10}, 25, "B"),  # exactly B
        ({"domain": "a.io", "employees": 300}, 20, "C"),
        ({"domain": "a.io", "country": "AT"}, 15, "C"),
        ({"domain": "a.io"}, 5, "D"),
        ({"domain": "rival.com"}, 0, "D"),
        ({"domain": "a.io", "employees": 200, "country": "US"}, 20, "C"),  # gte boundary
    ],
)
def test_fit_letters_come_from_the_accounts_thresholds(company, score, letter):
    grade = grade_account(build(), company, [lead(1, 0, company=company)])
    assert (grade.fit_score, grade.fit) == (score, letter)


@pytest.mark.parametrize(
    "how,scores,expected",
    [
        ("sum", [10, 20, 30.5], 60.5),
        ("max", [10, 20, 30.5], 30.5),
        ("sum", [40, -10], 30),
        ("max", [-5, -10], -5),
        ("sum", [7], 7),
        ("max", [7], 7),
    ],
)
def test_activity_is_the_sum_or_the_max_of_the_leads_scores(how, scores, expected):
    grade = grade_account(build(how), COMPANY, [lead(i, s) for i, s in enumerate(scores)])
    assert grade.activity_score == pytest.approx(expected)
    assert grade.aggregate == how
    assert grade.leads == len(scores)


@pytest.mark.parametrize(
    "score,number",
    [(150, 4), (149.99, 3), (80, 3), (79.99, 2), (20, 2), (19.99, 1), (0, 1), (-30, 1)],
)
def test_activity_numbers_come_from_the_accounts_thresholds_at_every_boundary(score, number):
    assert grade_account(build(), COMPANY, [lead(1, score)]).activity == number


def test_sum_and_max_of_the_same_leads_can_land_in_different_cells():
    leads = [lead(1, 60), lead(2, 50), lead(3, 45)]
    assert grade_account(build("sum"), COMPANY, leads).grade == "A4"  # 155
    assert grade_account(build("max"), COMPANY, leads).grade == "A2"  # 60


def test_only_leads_in_the_audience_count():
    model = build(audience={"field": "person.lifecycle", "not_in": ["customer", "disqualified"]})
    leads = [lead(1, 30), lead(2, 100, lifecycle="customer"), lead(3, 25, lifecycle="mql")]
    grade = grade_account(model, COMPANY, leads)
    assert grade.activity_score == 55
    assert grade.leads == 2
    assert [key for key, _ in grade.top] == [1, 3]


def test_a_company_with_no_lead_in_the_audience_has_no_account_grade():
    model = build(audience={"field": "person.lifecycle", "equals": "customer"})
    assert grade_account(model, COMPANY, [lead(1, 90), lead(2, 10, lifecycle="sql")]) is None
    assert grade_account(model, COMPANY, []) is None


def test_a_model_without_an_accounts_block_grades_no_accounts():
    assert grade_account(build(accounts=False), COMPANY, [lead(1, 90)]) is None


def test_the_explanation_names_the_leads_that_contributed_most_first():
    leads = [lead(k, s) for k, s in [(1, 5), (2, 40), (3, 40), (4, 0), (5, 12), (6, 3), (7, 1)]]
    grade = grade_account(build(), COMPANY, leads)
    activity = grade.explanation()["activity"]
    assert activity["aggregate"] == "sum"
    assert activity["leads"] == 7
    assert activity["score"] == 101
    # five at most, highest first, ties by key: the same whatever order the leads came in
    assert activity["top"] == [
        {"lead": 2, "activity_score": 40},
        {"lead": 3, "activity_score": 40},
        {"lead": 5, "activity_score": 12},
        {"lead": 1, "activity_score": 5},
        {"lead": 6, "activity_score": 3},
    ]
    assert grade_account(build(), COMPANY, list(reversed(leads))) == grade


def test_the_accounts_block_is_checked():
    with pytest.raises(ConfigError) as error:
        build(how="mean")
    assert "models[0].accounts.activity: must be sum or max, not 'mean'" in error.value.problems
    with pytest.raises(ConfigError):
        build(fit=(10, 25, 40))  # thresholds must fall from A to C


@pytest.mark.parametrize(
    "person,company,inside",
    [
        ({"lifecycle": "lead", "title": "CEO"}, {"plan": "growth"}, True),
        ({"lifecycle": "customer"}, {"plan": "growth"}, False),
        ({"lifecycle": "lead"}, {"plan": "free"}, False),
        ({"lifecycle": "lead"}, {}, False),
        ({}, {"plan": "growth"}, False),
    ],
)
def test_an_audience_may_read_person_and_company_fields(person, company, inside):
    audience = {
        "all": [
            {"field": "person.lifecycle", "in": ["lead", "mql"]},
            {"field": "company.plan", "equals": "growth"},
        ]
    }
    leads = [AccountLead("L", 12, lead_record(person, company))]
    graded = grade_account(build(audience=audience), company, leads)
    assert (graded is not None) == inside


def test_a_lead_without_a_record_is_taken_as_in_the_audience():
    """The store passes only leads graded in the model (only leads in its audience have a grade)."""
    model = build(audience={"field": "person.lifecycle", "equals": "customer"})
    grade = grade_account(model, COMPANY, [AccountLead(1, 30), lead(2, 50, lifecycle="lead")])
    assert (grade.activity_score, grade.leads) == (30, 1)


# the columnar grader (AccountGrader.grade_columns) against the reference, to the bit -----------

ATTRS = st.fixed_dictionaries(
    {},
    optional={
        "industry": st.sampled_from(["software", "retail", "Software", 7]),
        "employees": st.sampled_from([10, 199, 200, 200.0, 500, "500", None, True]),
        "country": st.sampled_from(["DE", "AT", "US", ""]),
        "domain": st.sampled_from(["acme.io", "rival.com"]),
    },
)
SCORES = st.one_of(
    st.sampled_from([0.0, -0.0, 0.1, 0.2, 0.3, 20.0, 19.999999999, 80.0, 150.0, -150.0, 1e-10]),
    st.floats(-1e6, 1e6, allow_nan=False),
    st.floats(allow_nan=False, allow_infinity=False),
)
COMPANIES = st.lists(
    st.tuples(ATTRS, st.lists(SCORES, min_size=1, max_size=12)), min_size=0, max_size=8
)


@settings(max_examples=300, deadline=None)
@given(
    companies=COMPANIES,
    how=st.sampled_from(["sum", "max"]),
    keys=st.randoms(),
    company_rules=st.booleans(),  # a model may have none: every account fit is 0, D
)
def test_columnar_account_grades_are_the_references_stored_rows(
    companies, how, keys, company_rules
):
    rules = FIT_RULES if company_rules else [r for r in FIT_RULES if not is_company_rule_dict(r)]
    grader = AccountGrader(build(how, fit_rules=rules))
    size = sum(len(scores) for _, scores in companies)
    lead_keys = keys.sample(range(10 * size + 1), size)  # any order, not only ascending
    starts, at = [], 0
    for _, scores in companies:
        starts.append(at)
        at += len(scores)
    columns = grader.grade_columns(
        [attrs for attrs, _ in companies],
        np.array(starts, dtype=np.intp),
        np.array(lead_keys, dtype=np.int64),
        np.array([s for _, scores in companies for s in scores], dtype=np.float64),
    )
    expected = [
        grader.grade(
            attrs, [AccountLead(k, s) for k, s in zip(lead_keys[begin:], scores, strict=False)]
        ).stored_row()
        for (attrs, scores), begin in zip(companies, starts, strict=True)
    ]
    assert columns.rows() == expected
    # the same bits, not only equal values (0.0 == -0.0, and the explanation shows the sign)
    assert [[repr(v) for v in row] for row in columns.rows()] == [
        [repr(v) for v in row] for row in expected
    ]


def is_company_rule_dict(rule):
    return all(field.startswith("company.") for field in condition_fields(rule["when"]))


def test_a_model_without_an_accounts_block_grades_no_accounts_in_columns():
    grader = AccountGrader(build(accounts=False))
    empty = np.zeros(0, dtype=np.intp)
    assert grader.grade_columns([], empty, empty.astype(np.int64), np.zeros(0)) is None


@pytest.mark.parametrize("rules", [62, 63, 70])  # the hits of up to 62 rules fit one int64
def test_columnar_account_fit_with_many_company_rules(rules):
    fit_rules = [
        {"id": f"n{i}", "when": {"field": "company.n", "gte": i}, "points": 1 + i / 7}
        for i in range(rules)
    ]
    grader = AccountGrader(build(fit_rules=fit_rules))
    companies = [{"n": n} for n in (0, 5, 61, 62, 63, 69, 70, 5)]
    columns = grader.grade_columns(
        companies,
        np.arange(len(companies), dtype=np.intp),
        np.arange(len(companies), dtype=np.int64),
        np.full(len(companies), 30.0),
    )
    expected = [
        grader.grade(company, [AccountLead(i, 30.0)]).stored_row()
        for i, company in enumerate(companies)
    ]
    assert columns.rows() == expected
