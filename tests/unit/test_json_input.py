"""json_input: the JSON every door reads (API bodies, .json/.jsonl imports, CSV list cells)."""

import pytest

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
