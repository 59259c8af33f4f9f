"""Records (grading.core.records), whatever the door (API, .jsonl, .json, .csv).

What the records refuse: NUL in text, control characters in ids, texts too long to show, numbers
that are not finite, CSV list cells that are JSON no importer can store. And parse_event's fast
path for well-formed events gives exactly what the full checks give: the same event, or (having
stepped aside) the same problems."""

import json

import orjson
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from grading.core import json_input, records
from grading.core.records import RecordError, from_dotted, parse_event, parse_lead, parse_outcome

NOW = 1_800_000_000_000_000
AT = "2026-11-30T10:00:00Z"


def problems(parse, obj) -> list[tuple[str, str]]:
    with pytest.raises(RecordError) as error:
        parse(obj)
    return error.value.problems


@pytest.mark.parametrize(
    "lead, field, reason",
    [
        ({"id": "L-1\x00"}, "id", "control characters"),
        ({"id": "L\n1"}, "id", "control characters"),
        ({"id": "a\x85b"}, "id", "control characters"),  # C1 (NEL): they passed before
        ({"id": "a\u2028b"}, "id", "line separators"),
        ({"id": "L-1", "person": {"title": "a\x00b"}}, "person.title", "NUL"),
        ({"id": "L-1", "person": {"interests": ["ok", "a\x00"]}}, "person.interests", "NUL"),
        (
            {"id": "L-1", "person": {"title": "x" * (records.MAX_TEXT + 1)}},
            "person.title",
            "10,000",
        ),
        ({"id": "L-1", "company": {"employees": float("inf")}}, "company.employees", "finite"),
        ({"id": "L-1", "company": {"employees": float("nan")}}, "company.employees", "finite"),
        ({"id": "L-1", "person": {"a\x00": 1}}, "person", "control characters"),
        ({"id": "L-1", "person": {"x" * 201: 1}}, "person", "200 characters"),
    ],
)
def test_a_lead_value_that_cannot_be_stored_is_named(lead, field, reason):
    ((name, message),) = problems(parse_lead, lead)
    assert name == field and reason in message


def test_the_longest_text_and_a_tab_inside_a_value_are_fine():
    lead = parse_lead({"id": "L-1", "person": {"title": "x" * records.MAX_TEXT, "note": "a\tb"}})
    assert len(lead.person["title"]) == records.MAX_TEXT


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"lead": "L-1\x00"}, "lead"),
        ({"type": "page\x00view"}, "type"),
        ({"id": "E\x7f"}, "id"),
        ({"properties": {"url": "/a\x00"}}, "properties.url"),
        ({"properties": {"url": "/" * (records.MAX_TEXT + 1)}}, "properties.url"),
        ({"properties": {"n": float("inf")}}, "properties.n"),
        ({"properties": {"\x00": 1}}, "properties"),
    ],
)
def test_an_event_value_that_cannot_be_stored_is_named_by_both_paths(changes, field):
    event = {"lead": "L-1", "type": "download", "at": AT, **changes}
    ((name, _),) = problems(lambda obj: parse_event(obj, NOW), event)
    assert name == field
    # the fast path (exact dicts) steps aside for the same records
    assert records._fast_event(event, NOW) is None


@pytest.mark.parametrize("amount", ["1e999", "inf", "-Infinity", "nan", float("inf")])
def test_an_outcome_amount_that_is_not_finite_is_refused(amount):
    outcome = {"lead": "L-1", "outcome": "won", "at": AT, "amount": amount}
    assert problems(parse_outcome, outcome) == [("amount", "must be a finite number")]


@pytest.mark.parametrize(
    "cell",
    [
        '["\\ud800"]',  # a lone surrogate: was a TypeError when the lead was stored
        '["a", NaN]',
        "[18446744073709551616]",
        '["\\udc80", "x"]',
    ],
)
def test_a_csv_list_cell_that_no_importer_can_store_is_a_problem_of_its_column(cell):
    ((name, reason),) = problems(from_dotted, {"id": "L-1", "person.interests": cell})
    assert name == "person.interests" and "cannot be stored" in reason


@pytest.mark.parametrize("cell", ["[EMEA] team", "[" * 5000, "[" * 50 + "]" * 50 + "x"])
def test_a_csv_cell_that_only_starts_like_a_list_stays_text(cell):
    assert from_dotted({"id": "L-1", "person.team": cell}) == {
        "id": "L-1",
        "person": {"team": cell},
    }


# parse_event's fast path agrees with the full checks -------------------------------------


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


@pytest.mark.slow
@settings(max_examples=1500, deadline=None, derandomize=True)
@given(st.one_of(record, nearly_right))
def test_the_fast_path_agrees_with_the_full_checks(obj):
    assert repr(outcome(obj)) == repr(outcome(NotPlain(obj)))


def test_the_fast_path_is_taken_for_a_well_formed_event():
    obj = {"id": "E-1", "lead": "L-1", "type": "download", "at": "2026-11-30T10:00:00Z"}
    assert records._fast_event(obj, NOW) == records.parse_event(NotPlain(obj), NOW)


# parse_event_block: a block of well-formed events at once, the same events as parse_event -------

z_time = st.builds(
    "{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}Z".format,
    st.sampled_from([1, 1970, 2000, 2024, 2026, 2027, 2100]),
    st.integers(0, 13),
    st.integers(0, 32),
    st.integers(0, 24),
    st.integers(0, 60),
    st.integers(0, 60),
)
well_formed = st.fixed_dictionaries(
    {
        "lead": st.sampled_from(["L-1", " L-2", "L-3 "]),
        "type": st.sampled_from(["download", "page_view"]),
        "at": st.one_of(z_time, st.sampled_from(["2026-11-30T10:00:00+02:00", AT])),
    },
    optional={
        "id": st.one_of(st.none(), st.sampled_from(["E-1", " E-2 "])),
        "properties": st.one_of(
            st.none(),
            st.dictionaries(
                st.sampled_from(["url", "product", "session_id"]),
                st.one_of(st.text(max_size=4), st.integers(), st.booleans(), st.floats()),
                max_size=3,
            ),
        ),
    },
)


def as_events(columns: records.EventColumns) -> list[records.EventInput]:
    fields = (columns.ids, columns.leads, columns.types, columns.ats, columns.properties)
    return [records.EventInput(*event) for event in zip(*fields, strict=True)]


# texts as exports write them, and with what makes a text not plain (escapes, lists, null, ...)
def text_of(obj, ascii_only: bool) -> bytes:
    text = json.dumps(obj, ensure_ascii=ascii_only, separators=(",", ":"))
    return text.encode("utf-8", "surrogatepass")


line = st.one_of(
    st.builds(text_of, st.one_of(well_formed, nearly_right, record), st.booleans()),
    st.sampled_from(
        [
            b'{"id":"E-1","lead":"L-1","type":"t","at":"2026-11-30T10:00:00Z","properties":{}}',
            b'{"id":"E-1","lead":"L-1","type":"t\\u0000","at":"2026-11-30T10:00:00Z","properties":{}}',
            b'{"id":"E-1","lead":"L-1","type":"t","at":"2026-11-30T10:00:00Z","properties":[]}',
            b'{"id":"E-1","lead":"L-1","type":"t","at":"2026-11-30T10:00:00Z","properties":{"":1}}',
            b'{"id":"E-1","lead":"L-1","type":" ","at":"2026-11-30T10:00:00Z","properties":{"a":1}}',
            b'{"id":"E-1","lead":"L-1","type":"t","at":"2026-11-30T10:00:00Z","properties":{"a":1.5e300}}',
            b'{"id":"E-1","lead":"L-1","type":"t","at":"2026-11-30T10:00:00Z","properties":"{}"}',
            b'{"id":"E-1","lead":{"a":1},"type":"t","at":"2026-11-30T10:00:00Z"}',
            b'{"id":"E-1","lead":"L-1","type":"t","at":"2026-11-30T10:00:00Z","properties":{},"x":1}',
        ]
    ),
)


def as_read(lines: list[bytes]):
    read = json_input.loads_many(lines)
    assume(read is not None and read[1] is not None)
    return read


@settings(max_examples=600, deadline=None, derandomize=True)
@given(st.lists(line, min_size=1, max_size=5))
def test_a_block_gives_the_events_parse_event_gives_or_steps_aside(lines):
    values, plain = as_read(lines)
    columns = records.parse_event_block(values, NOW, plain)
    if columns is not None:  # (else the importer checks them one by one)
        assert repr(as_events(columns)) == repr([parse_event(obj, NOW) for obj in values])


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.lists(well_formed, min_size=1, max_size=5))
def test_a_plain_block_of_events_parse_event_takes_is_taken_whole(block):
    block = [{"id": "E-0", "properties": {}} | obj for obj in block]
    block = [obj | {"properties": obj["properties"] or {}} for obj in block]
    try:
        expected = [parse_event(obj, NOW) for obj in block]
    except RecordError:
        return
    values, plain = as_read([orjson.dumps(obj) for obj in block])
    columns = records.parse_event_block(values, NOW, plain)
    assert columns is not None
    assert repr(as_events(columns)) == repr(expected)
