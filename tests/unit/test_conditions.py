"""Every operator of SPEC section 3 with its missing / list / number / text rules."""

import pytest

from grading.core.conditions import compile_condition


def holds(condition, value, field="person.x"):
    record = {} if value is ABSENT else {field: value}
    return compile_condition({"field": field, **condition})(record)


ABSENT = object()

TABLE = [
    # equals: numbers when both sides are numbers or numeric-looking, else text, case-insensitive, trimmed
    ({"equals": "software"}, "Software", True),
    ({"equals": "software"}, "  SOFTWARE ", True),
    ({"equals": "software"}, "soft", False),
    ({"equals": 250}, "250", True),
    ({"equals": 250}, "250.0", True),
    ({"equals": "2.5e3"}, 2500, True),
    ({"equals": 250}, " 250 ", True),
    ({"equals": 250}, 251, False),
    ({"equals": "250"}, "0250", True),  # both numeric-looking: compared as numbers
    ({"equals": True}, True, True),
    ({"equals": True}, "true", True),
    ({"equals": True}, 1, False),
    ({"not_equals": "x"}, "X", False),
    ({"not_equals": "x"}, "y", True),
    ({"not_equals": 5}, "5.0", False),
    # in / not_in
    ({"in": ["software", 200]}, "SOFTWARE", True),
    ({"in": ["software", 200]}, "200", True),
    ({"in": ["software", 200]}, "retail", False),
    ({"not_in": ["customer", "disqualified"]}, "lead", True),
    ({"not_in": ["customer", "disqualified"]}, "Customer", False),
    # comparisons need numbers; anything else makes the leaf false
    ({"gt": 200}, 201, True),
    ({"gt": 200}, 200, False),
    ({"gte": 200}, "1e999", False),  # a text that overflows is no number (it was infinity)
    ({"lte": 200}, "-1e999", False),
    ({"equals": "1e999"}, "1E999", True),  # compared as the texts they are
    ({"gt": 1}, "1e308", True),
    ({"gte": 200}, 200, True),
    ({"gte": 200}, "200", True),
    ({"gte": 200}, "199.99", False),
    ({"lt": 10}, 9.5, True),
    ({"lt": 10}, 10, False),
    ({"lte": 10}, 10, True),
    ({"lte": 10}, "1e1", True),
    ({"gt": 5}, "many", False),
    ({"lt": 5}, "many", False),
    ({"gte": 1}, True, False),
    ({"between": [200, 999]}, 200, True),
    ({"between": [200, 999]}, 999, True),
    ({"between": [200, 999]}, 1000, False),
    ({"between": [200, 999]}, 199, False),
    ({"between": [200, 999]}, "abc", False),
    # matches: RE2, searched anywhere, case-insensitive
    ({"matches": "\\b(ceo|chief executive)\\b"}, "Founder & CEO", True),
    ({"matches": "\\b(ceo|chief executive)\\b"}, "Chief Executive Officer", True),
    ({"matches": "\\bceo\\b"}, "CEOs office", False),
    ({"matches": "^/pricing"}, "/pricing/enterprise", True),
    ({"matches": "^/pricing"}, "/en/pricing", False),
    ({"matches": "^25"}, 250, True),
    # contains: case-insensitive substring
    ({"contains": "student"}, "Working Student", True),
    ({"contains": "STUDENT"}, "student intern", True),
    ({"contains": "student"}, "Analyst", False),
    # present
    ({"present": True}, "x", True),
    ({"present": True}, 0, True),
    ({"present": True}, False, True),
    ({"present": False}, "x", False),
]


@pytest.mark.parametrize("condition,value,expected", TABLE)
def test_operator_table(condition, value, expected):
    assert holds(condition, value) is expected


MISSING = [ABSENT, None, "", "   ", []]
OPERATORS = [
    {"equals": "x"},
    {"not_equals": "x"},
    {"in": ["x"]},
    {"not_in": ["x"]},
    {"gt": 1},
    {"gte": 1},
    {"lt": 1},
    {"lte": 1},
    {"between": [0, 1]},
    {"matches": ".*"},
    {"contains": ""},
    {"present": True},
]


@pytest.mark.parametrize("value", MISSING, ids=["absent", "null", "empty", "blank", "empty-list"])
@pytest.mark.parametrize("condition", OPERATORS, ids=lambda c: next(iter(c)))
def test_a_missing_field_makes_every_leaf_false(condition, value):
    assert holds(condition, value) is False


@pytest.mark.parametrize("value", MISSING, ids=["absent", "null", "empty", "blank", "empty-list"])
def test_present_false_holds_for_a_missing_field(value):
    assert holds({"present": False}, value) is True


@pytest.mark.parametrize("value", MISSING, ids=["absent", "null", "empty", "blank", "empty-list"])
def test_not_inverts_even_a_missing_field(value):
    assert (
        compile_condition({"not": {"field": "person.x", "equals": "y"}})({"person.x": value})
        is True
    )


LISTS = [
    ({"equals": "analytics"}, ["crm", "Analytics"], True),
    ({"equals": "analytics"}, ["crm"], False),
    ({"in": ["a", "b"]}, ["c", "b"], True),
    ({"not_equals": "crm"}, ["crm", "analytics"], True),  # holds for one element
    ({"not_equals": "crm"}, ["crm"], False),
    ({"gt": 5}, ["1", "9"], True),
    ({"contains": "ana"}, ["x", "Banana"], True),
    ({"present": True}, ["x"], True),
    ({"present": True}, [""], False),
    ({"present": False}, [], True),
]


@pytest.mark.parametrize("condition,value,expected", LISTS)
def test_a_list_holds_when_any_element_holds(condition, value, expected):
    assert holds(condition, value) is expected


def test_all_any_and_not_nest():
    condition = {
        "all": [
            {"field": "company.industry", "in": ["software"]},
            {
                "any": [
                    {"field": "company.employees", "gte": 200},
                    {"field": "company.revenue", "gte": 1e7},
                ]
            },
            {"not": {"field": "person.title", "contains": "student"}},
        ]
    }
    test = compile_condition(condition)
    assert test({"company.industry": "Software", "company.employees": 10, "company.revenue": 2e7})
    assert not test({"company.industry": "Software", "company.employees": 10})
    assert not test(
        {"company.industry": "Software", "company.employees": 300, "person.title": "Student"}
    )
    assert not test({"company.employees": 300})


def test_event_conditions_read_properties_and_type():
    test = compile_condition(
        {"all": [{"field": "type", "equals": "page_view"}, {"field": "url", "matches": "jobs"}]}
    )
    assert test({"type": "page_view", "url": "/jobs/12"})
    assert not test({"type": "download", "url": "/jobs/12"})


def test_remembered_answers_never_mix_types():
    test = compile_condition({"field": "x", "equals": 1})
    assert test({"x": 1}) and test({"x": 1.0}) and test({"x": "1"})
    assert not test({"x": True})  # a boolean is not the number 1
