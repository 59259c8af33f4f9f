"""parse_event's fast path for well-formed events gives exactly what the full checks give: the
same event, or (having stepped aside) the same problems."""

from hypothesis import given, settings
from hypothesis import strategies as st

from grading.core import records

NOW = 1_800_000_000_000_000

scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=5),
    st.lists(st.one_of(st.text(max_size=3), st.integers()), max_size=3),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=1),
)
times = st.sampled_from(
    [
        "2026-12-01T10:00:00Z",
        " 2026-12-01T10:00:00+02:00 ",
        "2026-12-01T10:00:00",
        "x",
        "",
        "  ",
        "2099-01-01T00:00:00Z",  # far ahead of NOW (2027-01-15T08:00Z)
        "2027-01-16T07:00:00Z",  # 23 hours ahead: accepted
        "2027-01-16T20:00:00Z",  # 36 hours ahead: more than a day in the future
        "9999-12-31T23:59-01:00",  # beyond year 9999 in UTC
        "2026-11-30T00:00:00.123456Z",
        "2026-11-30T00:00:00Z" + " " * 70,  # longer than the cached texts
    ]
)
identifier = st.one_of(
    st.none(),
    st.text(max_size=4),
    st.just(" a "),
    st.just("x" * (records.MAX_ID + 1)),
    st.just(" " + "x" * (records.MAX_ID - 1) + " "),
    st.integers(),
)
record = st.fixed_dictionaries(
    {},
    optional={
        "id": identifier,
        "lead": identifier,
        "type": identifier,
        "at": st.one_of(times, st.integers(), st.none()),
        "properties": st.one_of(
            st.none(),
            st.integers(),
            st.dictionaries(st.one_of(st.text(max_size=3), st.just("")), scalar, max_size=4),
        ),
        "extra": st.integers(),
    },
)

# mostly well-formed: what the fast path takes, near each of its edges
nearly_right = st.fixed_dictionaries(
    {
        "lead": st.sampled_from(["L-1", " L-2 ", "x" * records.MAX_ID, "x" * (records.MAX_ID + 1)]),
        "type": st.sampled_from(["download", "page_view ", " "]),
        "at": times,
    },
    optional={
        "id": st.sampled_from(["E-1", " E-2", "", None]),
        "properties": st.dictionaries(st.sampled_from(["url", "product", ""]), scalar, max_size=3),
    },
)


class NotPlain(dict):
    """A mapping that is not exactly a dict: parse_event gives it the full checks."""


def outcome(obj):
    try:
        return ("event", records.parse_event(obj, NOW))
    except records.RecordError as error:
        return ("problems", error.problems)


@settings(max_examples=1500, deadline=None, derandomize=True)
@given(st.one_of(record, nearly_right))
def test_the_fast_path_agrees_with_the_full_checks(obj):
    assert repr(outcome(obj)) == repr(outcome(NotPlain(obj)))


def test_the_fast_path_is_taken_for_a_well_formed_event():
    obj = {"id": "E-1", "lead": "L-1", "type": "download", "at": "2026-11-30T10:00:00Z"}
    assert records._fast_event(obj, NOW) == records.parse_event(NotPlain(obj), NOW)
