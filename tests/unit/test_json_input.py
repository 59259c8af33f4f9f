"""json_input: the JSON every door reads (API bodies, .json/.jsonl imports, CSV list cells)."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grading.core import json_input
from grading.core.json_input import BEYOND_64_BITS, TOO_DEEP, JsonInputError, loads


def refused(text: bytes | str) -> list[tuple[str, str]]:
    with pytest.raises(JsonInputError) as error:
        loads(text)
    return error.value.problems


@pytest.mark.parametrize(
    "text, problem",
    [
        (b'{"a": "\\ud800"}', "no low surrogate"),  # a lone high surrogate escape
        (b'{"a": "x\\udc80y"}', "surrogate"),  # a lone low one
        (b'{"a": "\xed\xa0\x80"}', "not valid UTF-8"),  # a surrogate encoded as UTF-8 bytes
        (b'{"a": "\xff\xfe"}', "not valid UTF-8"),
        (b'{"a": NaN}', "invalid JSON"),
        (b'{"a": Infinity}', "invalid JSON"),
        (b'{"a": -Infinity}', "invalid JSON"),
        (b'{"a": 1e999}', "infinity"),
        (b'{"a": -1e999}', "infinity"),
        (b'{"a": ' + b"9" * 5000 + b"}", "infinity"),  # an integer beyond even a double
        (b"[" * 10_000 + b"]" * 10_000, "depth limit"),  # orjson's own limit, no recursion
        (b"{", "invalid JSON"),
    ],
)
def test_text_that_is_no_acceptable_json_is_refused_as_a_whole(text, problem):
    ((field, reason),) = refused(text)
    assert field == "" and problem in reason


@pytest.mark.parametrize(
    "text, field",
    [
        (b'{"a": 9223372036854775808}', "a"),  # 2**63: orjson keeps it as an int
        (b'{"a": [1, -9223372036854775809]}', "a[1]"),  # -2**63-1
        (b'{"a": {"b": 18446744073709551616}}', "a.b"),  # 2**64: orjson makes it a float
        (b"18446744073709551616", ""),
    ],
)
def test_integers_beyond_64_bits_are_named_by_their_path(text, field):
    assert refused(text) == [(field, BEYOND_64_BITS)]


def test_the_64_bit_edges_and_long_digit_strings_are_fine():
    assert loads(b"[9223372036854775807, -9223372036854775808]") == [2**63 - 1, -(2**63)]
    assert loads(b'{"phone": "123456789012345678901234"}') == {"phone": "123456789012345678901234"}
    assert loads(b'{"x": 1e19, "y": 12345678901234567890.5}') == {
        "x": 1e19,
        "y": 12345678901234567890.5,
    }


def test_nesting_is_fine_up_to_the_limit_and_refused_beyond_it():
    depth = json_input.MAX_DEPTH
    assert loads("[" * depth + "]" * depth) is not None
    ((field, reason),) = refused("[" * (depth + 1) + "]" * (depth + 1))
    assert reason == TOO_DEEP and field.startswith("[0][0]")
    ((field, reason),) = refused('{"a":' * 1000 + "1" + "}" * 1000)  # under orjson's 1024
    assert reason == TOO_DEEP and field.startswith("a.a.a") and len(field) <= 120


def test_every_problem_is_listed_with_a_deep_value_beside_a_long_integer():
    text = '{"n": 18446744073709551616, "m": 9223372036854775808, "ok": "fine"}'
    assert refused(text) == [("n", BEYOND_64_BITS), ("m", BEYOND_64_BITS)]


def test_nul_and_plain_values_come_through_for_the_records_to_judge():
    assert loads('{"a": "x\\u0000y", "b": true, "c": null}') == {
        "a": "x\x00y",
        "b": True,
        "c": None,
    }


# loads_many: the lines of a block at once, as loads reads each -----------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=6),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=12,
)
json_lines = st.lists(
    st.builds(lambda v: json.dumps(v).encode(), json_values)
    | st.sampled_from([b"[" * 70 + b"]" * 70, b"{", b"", b"  ", b'{"a": 1e400}', b'"\\ud800"']),
    min_size=1,
    max_size=6,
)


def read_one(text: bytes):
    try:
        return loads(text)
    except JsonInputError as error:
        return error.problems


@settings(max_examples=400, deadline=None, derandomize=True)
@given(json_lines)
def test_loads_many_reads_each_line_as_loads_does_or_steps_aside(lines):
    read = json_input.loads_many(lines)
    if read is not None:
        assert read[0] == [read_one(line) for line in lines]


def test_a_block_of_plain_lines_is_read_at_once_and_knows_its_longest_line():
    lines = [b'{"id":"E-1","properties":{"url":"/a"}}', b'{"id":"E-22","n":1.5,"ok":true}']
    values, plain = json_input.loads_many(lines)
    assert values == [loads(line) for line in lines]
    assert plain == json_input.Plain(longest=len(lines[0]))


@pytest.mark.parametrize(
    "line",
    [
        b'{"a":"x\\u0000"}',  # an escape (a control character, NUL)
        b'{"a":"x\\n"}',
        '{"a":"caf\u00e9"}'.encode(),  # beyond ASCII (C1 controls, line separators)
        b'{"a":"x\x7f"}',
        b'{"a":[1]}',
        b'{"a":null}',
        b'{"a":""}',
        b'{"a":{"b":{"c":1}}}',
        b'{"a":{"b":1},"c":{"d":1}}',
    ],
)
def test_what_could_hide_a_value_that_needs_a_check_is_not_plain(line):
    values, plain = json_input.loads_many([b'{"a":"b"}', line])
    assert values[1] == loads(line) and plain is None


@pytest.mark.parametrize(
    "line", [b"{", b"", b'{"a": 9223372036854775808}', b"[" * 65 + b"]" * 65, b'{"a":"\\ud800"}']
)
def test_a_block_with_a_line_loads_refuses_or_must_look_into_is_read_line_by_line(line):
    assert json_input.loads_many([b'{"a":1}', line]) is None
