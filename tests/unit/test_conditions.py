"""Conditions (grading.core.conditions), exactly as SPEC section 3 ("Conditions") says.

Every test compiles one condition and asks it about one flat record
(``{"person.title": "CEO"}``), the way fit rules, audiences and event ``where`` see them.
The operators at a glance come after the operator-by-operator tables. How a `matches` pattern
is compiled (RE2, its refusals and limits) is grading.core.patterns: tests/unit/test_patterns.py."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grading.core import conditions
from grading.core.conditions import Columns, as_number, compile_columns


def compile_condition(condition: dict):
    """The record predicate, each answer checked against the columnar one (compile_columns over
    a chunk of that one record): every table below holds for both."""
    predicate = conditions.compile_condition(condition)
    columnar = compile_columns(condition)

    def checked(record):
        answer = predicate(record)
        assert bool(columnar(Columns.of_records([record]))[0]) is answer
        return answer

    return checked


MISSING = object()  # the field is not in the record at all
MISSING_VALUES = [MISSING, None, "", "  ", "\t"]


def holds(condition: dict, value=MISSING, field: str = "x") -> bool:
    """Whether `condition` holds for a record whose `field` has `value` (MISSING: absent)."""
    record = {} if value is MISSING else {field: value}
    return compile_condition(condition)(record)


def leaf(op: str, operand, field: str = "x") -> dict:
    return {"field": field, op: operand}


# equals / not_equals ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "operand, value, expected",
    [
        ("CEO", "CEO", True),
        ("CEO", "ceo", True),
        ("ceo", "  CEO  ", True),
        ("  Software ", "software", True),
        ("CEO", "CTO", False),
        ("CEO", "CEO of Acme", False),
        ("München", "MÜNCHEN", True),
        (250, 250, True),
        (250, 250.0, True),
        (250, "250", True),
        ("250", 250, True),
        (2500, "2.5e3", True),
        ("2.5e3", 2500, True),
        ("2.5E3", "2500.0", True),
        (42, " 42 ", True),
        (" 42 ", 42, True),
        ("0250", 250, True),
        (".5", 0.5, True),
        ("+5", 5, True),
        (250, 251, False),
        (250, "250 employees", False),
        (250, "two hundred fifty", False),
        (True, True, True),
        (True, "true", True),
        (True, "TRUE", True),
        (True, False, False),
        (False, False, True),
        ("DE", "de", True),
    ],
)
def test_equals_compares_numbers_as_numbers_and_text_case_insensitively_after_trimming(
    operand, value, expected
):
    assert holds(leaf("equals", operand), value) is expected
    assert holds(leaf("not_equals", operand), value) is (not expected)


def test_equals_on_a_boolean_is_not_a_number():
    assert holds(leaf("equals", 1), True) is False
    assert holds(leaf("equals", True), 1) is False


# in / not_in -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "options, value, expected",
    [
        (["software", "manufacturing"], "Software", True),
        (["software", "manufacturing"], " MANUFACTURING ", True),
        (["software", "manufacturing"], "retail", False),
        ([100, 250], "250", True),
        ([100, 250], "2.5e2", True),
        ([100, 250], " 100 ", True),
        (["100", "250"], 250, True),
        (["100", "250"], 250.0, True),
        ([100, 250], 300, False),
        (["de", "at", "ch"], "CH", True),
        (["de", 49], "49", True),
        (["de", 49], "DE", True),
        (["de", 49], "fr", False),
        ([True], True, True),
        ([True], False, False),
    ],
)
def test_in_holds_when_the_value_equals_one_of_the_options(options, value, expected):
    assert holds(leaf("in", options), value) is expected
    assert holds(leaf("not_in", options), value) is (not expected)


# gt / gte / lt / lte / between -----------------------------------------------------------


@pytest.mark.parametrize(
    "op, operand, value, expected",
    [
        ("gt", 200, 201, True),
        ("gt", 200, 200, False),
        ("gt", 200, 199.99, False),
        ("gte", 200, 200, True),
        ("gte", 200, 199.999, False),
        ("gte", 200, 250, True),
        ("lt", 200, 199, True),
        ("lt", 200, 200, False),
        ("lte", 200, 200, True),
        ("lte", 200, 200.001, False),
        ("gte", 200, "250", True),
        ("gte", 200, " 250 ", True),
        ("gte", 2000, "2.5e3", True),
        ("gt", 2500, "2.5e3", False),
        ("lt", 0, -1, True),
        ("lt", 0, "-1", True),
        ("gt", 1.5, 1.6, True),
        ("between", [10, 20], 10, True),
        ("between", [10, 20], 20, True),
        ("between", [10, 20], 15, True),
        ("between", [10, 20], "20", True),
        ("between", [10, 20], 9.99, False),
        ("between", [10, 20], 20.01, False),
        ("between", [5, 5], 5, True),
    ],
)
def test_comparisons_compare_numbers(op, operand, value, expected):
    assert holds(leaf(op, operand), value) is expected


@pytest.mark.parametrize(
    "op, operand", [("gt", 0), ("gte", 0), ("lt", 1e12), ("lte", 1e12), ("between", [-1e12, 1e12])]
)
@pytest.mark.parametrize("value", ["many", "250 employees", "1,000", "n/a", True, False])
def test_a_value_that_is_not_a_number_makes_a_comparison_false(op, operand, value):
    assert holds(leaf(op, operand), value) is False


# matches ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "pattern, value, expected",
    [
        (r"\b(ceo|chief executive)\b", "CEO", True),
        (r"\b(ceo|chief executive)\b", "Founder & CEO", True),
        (r"\b(ceo|chief executive)\b", "Chief Executive Officer", True),
        (r"\b(ceo|chief executive)\b", "CEOs assistant", False),
        (r"ceo", "Deputy CEO", True),  # searched anywhere, not anchored at the start
        ("^/pricing", "/pricing/enterprise", True),
        ("^/pricing", "/en/pricing", False),
        ("/(careers|jobs)", "/about/careers/berlin", True),
        ("/(careers|jobs)", "/JOBS", True),
        ("^CEO$", "  ceo  ", True),  # trimmed before it is searched
        ("^2", 250, True),
        ("^true$", True, True),
    ],
)
def test_matches_searches_anywhere_case_insensitively(pattern, value, expected):
    assert holds(leaf("matches", pattern), value) is expected


# contains --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "needle, value, expected",
    [
        ("student", "Student", True),
        ("student", "PhD STUDENT at TU Berlin", True),
        ("STUDENT", "working student", True),
        ("student", "studies", False),
        ("analytics", "web-analytics", True),
        ("25", 250, True),
        ("sales", "Head of Marketing", False),
    ],
)
def test_contains_is_a_case_insensitive_substring(needle, value, expected):
    assert holds(leaf("contains", needle), value) is expected


# present ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, given",
    [
        (MISSING, False),
        (None, False),
        ("", False),
        ("  ", False),
        ([], False),
        ("+49 30 1234", True),
        (0, True),
        (False, True),
        (["analytics"], True),
    ],
)
def test_present_asks_whether_the_field_is_given(value, given):
    assert holds(leaf("present", True), value) is given
    assert holds(leaf("present", False), value) is (not given)


# missing values --------------------------------------------------------------------------

EVERY_OPERATOR_BUT_PRESENT = [
    ("equals", "x"),
    ("equals", ""),
    ("not_equals", "x"),
    ("in", ["a", "b"]),
    ("not_in", ["a", "b"]),
    ("gt", 0),
    ("gte", 0),
    ("lt", 10),
    ("lte", 10),
    ("between", [-10, 10]),
    ("matches", ".*"),
    ("matches", "^$"),
    ("contains", "a"),
]


@pytest.mark.parametrize("op, operand", EVERY_OPERATOR_BUT_PRESENT)
@pytest.mark.parametrize("value", MISSING_VALUES, ids=["absent", "None", "empty", "blank", "tab"])
def test_a_missing_field_makes_every_leaf_false(op, operand, value):
    assert holds(leaf(op, operand), value) is False


@pytest.mark.parametrize("value", MISSING_VALUES, ids=["absent", "None", "empty", "blank", "tab"])
def test_a_missing_field_is_not_present(value):
    assert holds(leaf("present", False), value) is True
    assert holds(leaf("present", True), value) is False


def test_a_missing_field_is_not_a_zero():
    assert holds(leaf("equals", 0), None) is False
    assert holds(leaf("lte", 0), "") is False


# lists -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "op, operand, value, expected",
    [
        ("equals", "analytics", ["crm", "Analytics"], True),
        ("equals", "analytics", ["crm", "erp"], False),
        ("not_equals", "crm", ["crm", "erp"], True),  # erp is not crm
        ("not_equals", "crm", ["crm", " CRM "], False),
        ("in", ["bi", "crm"], ["erp", "crm"], True),
        ("in", ["bi", "crm"], ["erp"], False),
        ("not_in", ["bi", "crm"], ["bi", "erp"], True),
        ("not_in", ["bi", "crm"], ["bi", "crm"], False),
        ("gt", 100, ["50", "150"], True),
        ("gt", 100, ["50", "many"], False),
        ("between", [1, 3], [0, 2, 9], True),
        ("matches", "^ana", ["crm", "analytics"], True),
        ("contains", "lyt", ["crm", "analytics"], True),
        ("contains", "xyz", ["crm", "analytics"], False),
        ("equals", 250, ["250", "x"], True),
        ("equals", "x", [], False),
        ("not_equals", "x", [], False),
        ("not_in", ["x"], [], False),
        ("equals", "", ["", None], False),
        ("not_equals", "x", ["", None], False),
    ],
)
def test_a_list_holds_when_any_element_holds(op, operand, value, expected):
    assert holds(leaf(op, operand), value) is expected


@pytest.mark.parametrize(
    "value, non_empty", [([], False), (["analytics"], True), (["a", "b"], True)]
)
def test_present_on_a_list_asks_for_a_non_empty_list(value, non_empty):
    assert holds(leaf("present", True), value) is non_empty
    assert holds(leaf("present", False), value) is (not non_empty)


# all / any / not -------------------------------------------------------------------------

CEO = {"field": "person.title", "matches": "ceo"}
BIG = {"field": "company.employees", "gte": 200}
STUDENT = {"field": "person.title", "contains": "student"}


@pytest.mark.parametrize(
    "record, expected",
    [
        ({"person.title": "CEO", "company.employees": 250}, True),
        ({"person.title": "CEO", "company.employees": 20}, False),
        ({"person.title": "CTO", "company.employees": 250}, False),
        ({"person.title": "CEO"}, False),
    ],
)
def test_all_holds_when_every_part_holds(record, expected):
    assert compile_condition({"all": [CEO, BIG]})(record) is expected


@pytest.mark.parametrize(
    "record, expected",
    [
        ({"person.title": "CEO", "company.employees": 20}, True),
        ({"person.title": "CTO", "company.employees": 250}, True),
        ({"person.title": "CTO", "company.employees": 20}, False),
        ({}, False),
    ],
)
def test_any_holds_when_one_part_holds(record, expected):
    assert compile_condition({"any": [CEO, BIG]})(record) is expected


@pytest.mark.parametrize(
    "record, expected",
    [
        ({"person.title": "CEO"}, False),
        ({"person.title": "CTO"}, True),
        ({"person.title": ""}, True),
        ({"person.title": None}, True),
        ({}, True),  # not over a missing field: the leaf is false, so `not` is true
    ],
)
def test_not_inverts_its_condition(record, expected):
    assert compile_condition({"not": CEO})(record) is expected


@pytest.mark.parametrize(
    "condition, expected",
    [
        ({"not": {"field": "x", "present": False}}, True),
        ({"not": {"field": "absent", "present": False}}, False),
        ({"not": {"field": "absent", "gt": 0}}, True),
        ({"not": {"field": "absent", "not_equals": "a"}}, True),
        ({"not": {"not": CEO}}, True),
    ],
)
def test_not_inverts_whatever_its_condition_gives(condition, expected):
    record = {"x": "given", "person.title": "CEO"}
    assert compile_condition(condition)(record) is expected


def test_combinators_nest():
    senior_not_student = {
        "all": [
            {"any": [CEO, {"field": "person.seniority", "in": ["c-level", "vp"]}]},
            {"not": STUDENT},
            {"any": [BIG, {"field": "company.revenue", "between": [1e6, 1e9]}]},
        ]
    }
    test = compile_condition(senior_not_student)
    assert test({"person.seniority": "VP", "company.revenue": "48000000"}) is True
    assert test({"person.title": "CEO", "company.employees": "250"}) is True
    assert test({"person.title": "CEO student", "company.employees": 250}) is False
    assert test({"person.seniority": "manager", "company.employees": 250}) is False
    assert test({"person.title": "CEO"}) is False


def test_a_leaf_reads_only_its_own_field():
    test = compile_condition({"field": "url", "equals": "/pricing"})
    assert test({"url": "/pricing", "type": "page_view", "product": "crm"}) is True
    assert test({"path": "/pricing"}) is False


# a predicate has no memory ---------------------------------------------------------------


@pytest.mark.parametrize(
    "condition, first, then, then_expected",
    [
        ({"field": "x", "matches": "^1$"}, 1, 1.0, False),
        ({"field": "x", "contains": "."}, 1.0, 1, False),
        ({"field": "x", "contains": ".5"}, 2.5, "2.5", True),
    ],
)
def test_a_predicates_answer_does_not_depend_on_the_records_it_saw_before(
    condition, first, then, then_expected
):
    fresh = compile_condition(condition)({"x": then})
    assert fresh is then_expected
    used = compile_condition(condition)
    used({"x": first})
    assert used({"x": then}) is fresh


# the operators at a glance ---------------------------------------------------------------


def holds_for(condition: dict, value) -> bool:
    """`holds` for an operator written without its field (``{"equals": "software"}``)."""
    return holds({"field": "person.x", **condition}, value, field="person.x")


TABLE = [
    # equals: numbers when both sides are numbers or numeric-looking, else text, case-insensitive, trimmed
    ({"equals": "software"}, "Software", True),
    ({"equals": "software"}, "  SOFTWARE ", True),
    ({"equals": "software"}, "soft", False),
    ({"equals": 250}, "250.0", True),
    ({"equals": 250}, " 250 ", True),
    ({"equals": "250"}, "0250", True),  # both numeric-looking: compared as numbers
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
    ({"gte": 200}, "1e999", False),  # a text that overflows is no number (it was infinity)
    ({"lte": 200}, "-1e999", False),
    ({"equals": "1e999"}, "1E999", True),  # compared as the texts they are
    ({"gt": 1}, "1e308", True),
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
    ({"matches": "\\bceo\\b"}, "CEOs office", False),
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
    assert holds_for(condition, value) is expected


MISSING_OR_EMPTY_LIST = [MISSING, None, "", "   ", []]
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


@pytest.mark.parametrize(
    "value", MISSING_OR_EMPTY_LIST, ids=["absent", "null", "empty", "blank", "empty-list"]
)
@pytest.mark.parametrize("condition", OPERATORS, ids=lambda c: next(iter(c)))
def test_a_missing_field_or_an_empty_list_makes_every_operator_false(condition, value):
    assert holds_for(condition, value) is False


@pytest.mark.parametrize(
    "value", MISSING_OR_EMPTY_LIST, ids=["absent", "null", "empty", "blank", "empty-list"]
)
def test_present_false_holds_for_a_missing_field(value):
    assert holds_for({"present": False}, value) is True


@pytest.mark.parametrize(
    "value", MISSING_OR_EMPTY_LIST, ids=["absent", "null", "empty", "blank", "empty-list"]
)
def test_not_inverts_even_a_missing_field(value):
    assert (
        compile_condition({"not": {"field": "person.x", "equals": "y"}})({"person.x": value})
        is True
    )


LISTS_AT_A_GLANCE = [
    ({"equals": "analytics"}, ["crm"], False),
    ({"in": ["a", "b"]}, ["c", "b"], True),
    ({"not_equals": "crm"}, ["crm", "analytics"], True),  # holds for one element
    ({"not_equals": "crm"}, ["crm"], False),
    ({"gt": 5}, ["1", "9"], True),
    ({"contains": "ana"}, ["x", "Banana"], True),
    ({"present": True}, ["x"], True),
    ({"present": True}, [""], False),
]


@pytest.mark.parametrize("condition,value,expected", LISTS_AT_A_GLANCE)
def test_a_list_holds_when_one_element_holds(condition, value, expected):
    assert holds_for(condition, value) is expected


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


def test_an_integer_past_floats_range_is_no_number_and_no_crash():
    huge = 10**400
    assert as_number(huge) is None
    assert compile_condition({"field": "n", "equals": huge})({"n": huge}) is True  # as text
    assert compile_condition({"field": "n", "equals": huge})({"n": 5}) is False
    assert compile_condition({"field": "n", "in": [huge, 5]})({"n": 5}) is True


# the columnar form over a whole chunk ---------------------------------------------------------

# values equal in Python (1 == 1.0 == True, 0.0 == -0.0) that read differently as text or as
# numbers, texts that fold alike, numbers as text, lists, and every kind of missing
VALUES = st.one_of(
    st.sampled_from(
        [None, "", "  ", 1, 1.0, True, False, 0, 0.0, -0.0, "1", " 1.0 ", "1e3", 1000, "true"]
        + ["CEO", "ceo ", "Straße", "STRASSE", "ǅ", "software", "Software", "250", 250, 1e999]
        + [[], [None, ""], ["crm", "bi"], [1, "x"], [[1]], {"a": 1}]
    ),
    st.text(alphabet="aAßs-1. ", max_size=4),
    st.integers(-3, 300),
    st.floats(allow_nan=False, min_value=-1e3, max_value=1e3),
    st.lists(st.sampled_from(["crm", "CRM", 1, None, "", 2.5]), max_size=3),
)
OPERANDS = {
    "equals": st.sampled_from([1, "1", True, "ceo", "straße", 250, "-0.0", 0]),
    "not_equals": st.sampled_from([1, "ceo", 0.0, False]),
    "in": st.lists(
        st.sampled_from([1, "1.0", "ceo", "crm", 250, True, "software", ""]), min_size=1
    ),
    "not_in": st.lists(st.sampled_from([1, "ceo", "crm", 0, "true"]), min_size=1),
    "gt": st.sampled_from([0, 1, 250, -1.5]),
    "gte": st.sampled_from([0, 1, 250, 999.5]),
    "lt": st.sampled_from([0, 1, 250]),
    "lte": st.sampled_from([0, -0.0, 1000]),
    "between": st.sampled_from([[0, 1], [1, 300], [-1, -0.5]]),
    "matches": st.sampled_from(["^c", "e$", "ss", "\\d", "^$", "true"]),
    "contains": st.sampled_from(["e", "-", "SS", ".", "1"]),
    "present": st.booleans(),
}
FIELDS = ("x", "y")
LEAVES = st.sampled_from(sorted(OPERANDS)).flatmap(
    lambda op: st.builds(
        lambda field, operand: {"field": field, op: operand}, st.sampled_from(FIELDS), OPERANDS[op]
    )
)
CONDITIONS = st.recursive(
    LEAVES,
    lambda inner: st.one_of(
        st.builds(lambda parts: {"all": parts}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda parts: {"any": parts}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda part: {"not": part}, inner),
    ),
    max_leaves=6,
)
RECORDS = st.lists(
    st.dictionaries(st.sampled_from(FIELDS), VALUES, max_size=2), min_size=0, max_size=25
)


@settings(max_examples=300, deadline=None)
@given(condition=CONDITIONS, records=RECORDS)
def test_the_columnar_form_gives_every_record_the_predicates_answer(condition, records):
    """Values that Python finds equal but the operators read differently share no answer."""
    predicate = conditions.compile_condition(condition)
    got = compile_columns(condition)(Columns.of_records(records))
    assert got.tolist() == [predicate(r) for r in records]


def test_equal_values_that_read_differently_are_told_apart_in_one_chunk():
    records = [{"x": v} for v in (0.0, -0.0, 1, 1.0, True, "1", [1], [1.0])]
    minus = compile_columns({"field": "x", "contains": "-"})(Columns.of_records(records))
    assert minus.tolist() == [False, True, False, False, False, False, False, False]
    dot = compile_columns({"field": "x", "contains": "."})(Columns.of_records(records))
    assert dot.tolist() == [True, True, False, True, False, False, False, True]
    true = compile_columns({"field": "x", "equals": "true"})(Columns.of_records(records))
    assert true.tolist() == [False, False, False, False, True, False, False, False]
