"""The one home for time: what parse_time accepts and refuses, and every form a time is written in."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grading.core.times import (
    DAY,
    TICKS,
    TimeTextError,
    display_text,
    epoch,
    epoch_text,
    from_epoch,
    iso_text,
    parse_as_of,
    parse_time,
    unix_text,
    valid_time,
    valid_times,
)

MOMENT = datetime(2026, 10, 2, 9, 14, tzinfo=UTC)
INT64_MAX = 2**63 - 1
FIRST = datetime(1, 1, 1, tzinfo=UTC)
LAST = datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)

ACCEPTED = [
    ("2026-10-02T09:14:00Z", MOMENT),
    ("2026-10-02T09:14:00+00:00", MOMENT),
    ("2026-10-02T11:14:00+02:00", MOMENT),
    ("2026-10-02T03:44:00-05:30", MOMENT),
    ("2026-10-02T09:14:30+00:00:30", MOMENT),  # an offset with seconds
    ("  2026-10-02T09:14:00Z \n", MOMENT),  # surrounding spaces are trimmed
    ("2026-10-02 09:14:00Z", MOMENT),  # a space for the T
    ("2026-10-02T09:14Z", MOMENT),  # no seconds
    ("20261002T091400Z", MOMENT),  # ISO basic format
    ("2026-W40-5T09:14Z", MOMENT),  # ISO week date
    ("2026-10-02T09:14:00.5Z", MOMENT + timedelta(milliseconds=500)),
    ("2026-10-02T09:14:00,5Z", MOMENT + timedelta(milliseconds=500)),
    ("2026-10-02T09:14:00.123456Z", MOMENT + timedelta(microseconds=123_456)),
    ("2026-10-02T09:14:00.1234567Z", MOMENT + timedelta(microseconds=123_456)),  # cut, not rounded
    ("1969-12-31T23:59:59Z", datetime(1969, 12, 31, 23, 59, 59, tzinfo=UTC)),  # before 1970
    ("0001-01-01T00:00:00Z", FIRST),
    ("0001-01-01T01:00:00+01:00", FIRST),
    ("9999-12-31T23:59:59.999999Z", LAST),
    ("9999-12-31T22:59:59.999999-01:00", LAST),
]

REQUIRED = "is required (ISO-8601 time with offset)"
NO_OFFSET = "needs a UTC offset, e.g. 2026-10-02T09:14:00Z"

REFUSED = [
    (None, REQUIRED),
    ("", REQUIRED),
    ("   ", REQUIRED),
    (1790932440, REQUIRED),  # a number is no time text
    (["2026-10-02T09:14:00Z"], REQUIRED),
    ("2026-10-02T09:14:00", NO_OFFSET),  # naive
    ("2026-10-02", NO_OFFSET),  # a date is a naive midnight
    ("yesterday", "not an ISO-8601 time: 'yesterday'"),
    ("2026-10-02t09:14:00z", "not an ISO-8601 time: '2026-10-02t09:14:00z'"),
    ("2026-10-02T24:00:00Z", "not an ISO-8601 time: '2026-10-02T24:00:00Z'"),
    ("2026-10-02T09:14:00+24:00", "not an ISO-8601 time: '2026-10-02T09:14:00+24:00'"),
    ("2026-02-30T09:14:00Z", "not an ISO-8601 time: '2026-02-30T09:14:00Z'"),
    ("10000-01-01T00:00:00Z", "not an ISO-8601 time: '10000-01-01T00:00:00Z'"),
    ("x" * 60, "not an ISO-8601 time: '" + "x" * 40 + "'"),  # the text is cut at 40
    ("9999-12-31T23:59:00-01:00", "is out of range in UTC: '9999-12-31T23:59:00-01:00'"),
    ("0001-01-01T00:30:00+01:00", "is out of range in UTC: '0001-01-01T00:30:00+01:00'"),
]


@pytest.mark.parametrize(("text", "moment"), ACCEPTED)
def test_parse_time_reads_a_time_with_an_offset_into_its_epoch(text, moment):
    problems = []
    assert parse_time(text, "at", problems) == epoch(moment)
    assert problems == []
    assert valid_time(text) == epoch(moment)
    assert parse_as_of(text) == moment


@pytest.mark.parametrize(("value", "reason"), REFUSED)
def test_parse_time_refuses_with_one_reason_naming_the_field(value, reason):
    problems = []
    assert parse_time(value, "events[3].at", problems) is None
    assert problems == [("events[3].at", reason)]
    if isinstance(value, str):
        assert valid_time(value) is None


@pytest.mark.parametrize(("value", "reason"), REFUSED)
def test_parse_as_of_raises_the_same_reason(value, reason):
    with pytest.raises(TimeTextError) as raised:
        parse_as_of(value, "--as-of")
    assert (raised.value.field, raised.value.reason) == ("--as-of", reason)
    assert raised.value.problems == [("--as-of", reason)]


def test_parse_time_adds_to_the_problems_already_found():
    problems = [("lead", "is required")]
    parse_time("", "at", problems)
    assert problems == [("lead", "is required"), ("at", REQUIRED)]


def test_parse_as_of_gives_the_moment_in_utc():
    moment = parse_as_of("2026-10-02T11:14:00+02:00")
    assert moment == MOMENT and moment.tzinfo is UTC


def test_every_time_parse_time_accepts_fits_a_signed_64_bit_column():
    assert epoch(FIRST) == -62_135_596_800 * TICKS
    assert epoch(LAST) == 253_402_300_799_999_999
    assert -INT64_MAX - 1 < epoch(FIRST) < epoch(LAST) < INT64_MAX


@pytest.mark.parametrize(
    ("moment", "ticks"),
    [
        (datetime(1970, 1, 1, tzinfo=UTC), 0),
        (datetime(1970, 1, 2, tzinfo=UTC), DAY),
        (datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC), TICKS),
        (datetime(1969, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC), -1),
        (datetime(2026, 10, 2, 11, 14, tzinfo=timezone(timedelta(hours=2))), epoch(MOMENT)),
        (FIRST, -62_135_596_800 * TICKS),
        (LAST, 253_402_300_799_999_999),
    ],
)
def test_epoch_counts_microseconds_since_1970_utc_and_from_epoch_undoes_it(moment, ticks):
    assert epoch(moment) == ticks
    assert from_epoch(ticks) == moment
    assert from_epoch(ticks).tzinfo is UTC


def test_epoch_refuses_a_naive_datetime():
    with pytest.raises(ValueError, match="UTC offset"):
        epoch(datetime(2026, 10, 2, 9, 14))


@pytest.mark.parametrize(
    ("moment", "iso", "full"),
    [
        (MOMENT, "2026-10-02T09:14:00Z", "2026-10-02T09:14:00Z"),
        (
            MOMENT + timedelta(microseconds=123_456),
            "2026-10-02T09:14:00Z",  # to the second, cut
            "2026-10-02T09:14:00.123456Z",  # a stored time keeps its microseconds
        ),
        (
            MOMENT + timedelta(microseconds=999_999),
            "2026-10-02T09:14:00Z",
            "2026-10-02T09:14:00.999999Z",
        ),
        (FIRST, "0001-01-01T00:00:00Z", "0001-01-01T00:00:00Z"),
        (LAST, "9999-12-31T23:59:59Z", "9999-12-31T23:59:59.999999Z"),
    ],
)
def test_iso_text_writes_to_the_second_and_epoch_text_to_the_microsecond(moment, iso, full):
    assert iso_text(moment) == iso
    assert epoch_text(epoch(moment)) == full
    assert parse_as_of(full) == moment


def test_iso_text_writes_a_moment_in_its_own_offset():
    moment = datetime(2026, 10, 2, 11, 14, tzinfo=timezone(timedelta(hours=2)))
    assert iso_text(moment) == "2026-10-02T11:14:00+02:00"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "1970-01-01T00:00:00Z"),
        (1_790_932_440, "2026-10-02T09:14:00Z"),
        (1_790_932_440.999, "2026-10-02T09:14:00Z"),
    ],
)
def test_unix_text_writes_a_clock_reading_as_iso_text(seconds, text):
    assert unix_text(seconds) == text


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (MOMENT, "2026-10-02 09:14"),
        (MOMENT + timedelta(seconds=59, microseconds=999_999), "2026-10-02 09:14"),
        (datetime(1970, 1, 1, tzinfo=UTC), "1970-01-01 00:00"),
        (LAST, "9999-12-31 23:59"),
    ],
)
def test_display_text_shows_the_minute_in_utc(moment, text):
    assert display_text(epoch(moment)) == text


# valid_times reads a block of texts at once, each as valid_time reads it

z_form = st.builds(
    "{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}Z".format,
    st.one_of(st.integers(0, 9999), st.sampled_from([1900, 2000, 2023, 2024, 2100, 2400])),
    st.integers(0, 13),
    st.integers(0, 32),
    st.integers(0, 24),
    st.integers(0, 60),
    st.integers(0, 60),
)
near_z_form = st.builds(
    lambda text, at, char: text[:at] + char + text[at + 1 :],
    z_form,
    st.integers(0, 19),
    st.sampled_from(list("0123456789-T:Zt z/+\u0660")),  # (U+0660: an Arabic-Indic zero)
)


@settings(max_examples=500, deadline=None, derandomize=True)
@given(st.lists(st.one_of(z_form, near_z_form), min_size=1, max_size=8))
def test_valid_times_reads_a_block_as_valid_time_reads_each_text(texts):
    assert valid_times(texts) == [valid_time(text) for text in texts]


@pytest.mark.parametrize(
    "texts",
    [
        ["2024-02-29T23:59:59Z", "2023-02-29T00:00:00Z", "0000-01-01T00:00:00Z"],
        ["9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "2026-10-02T09:14:00+02:00"],
        ["2026-10-02T09:14:00.5Z", "", "x" * 20, "2026-10-02 09:14:00Z"],
    ],
)
def test_valid_times_reads_the_edges_and_other_forms_as_valid_time(texts):
    assert valid_times(texts) == [valid_time(text) for text in texts]
