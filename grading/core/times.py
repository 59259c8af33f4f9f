"""Time, in one home: the stored form, ISO text read and written, and the pages' short form.

A stored time is an *epoch*: whole microseconds since 1970-01-01 UTC (``TICKS`` a second), exact
for any aware ``datetime``. Nothing here reads the clock: callers pass ``datetime.now(UTC)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

import numpy as np

TICKS = 1_000_000  # epoch units in a second
DAY = 86_400 * TICKS
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
DISPLAY_FORMAT = "%Y-%m-%d %H:%M"  # what the pages and the CSV exports show
MAX_TIME_TEXT = 64  # longer time texts are not cached (see valid_time)

Problems = list[tuple[str, str]]  # (field, reason), as records and the API report them


class TimeTextError(ValueError):
    """A time text that cannot be read, with the one (field, reason) parse_time found."""

    def __init__(self, field: str, reason: str):
        self.field = field
        self.reason = reason
        self.problems: Problems = [(field, reason)]
        super().__init__(f"{field}: {reason}")


def epoch(moment: datetime) -> int:
    """An aware datetime as an epoch (microseconds since 1970 UTC); a naive one is refused."""
    if moment.tzinfo is None:
        raise ValueError("times must carry a UTC offset")
    return (moment - _EPOCH) // _MICROSECOND


def from_epoch(ticks: int) -> datetime:
    """An epoch as an aware datetime in UTC."""
    return _EPOCH + timedelta(microseconds=ticks)


def iso_text(moment: datetime) -> str:
    """A moment as ISO 8601 to the second with a Z for UTC (``2026-10-02T09:14:00Z``): run
    stamps, audit rows, exports' ``exported_at``. The moment is written in its own offset: give
    a UTC one."""
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def epoch_text(ticks: int) -> str:
    """A stored time as the API and the exports write it: ISO 8601 in UTC with a Z, with its
    microseconds when it has any."""
    return from_epoch(ticks).isoformat().replace("+00:00", "Z")


def unix_text(seconds: float) -> str:
    """A ``time.time()`` value (sessions, leases, webhook deliveries) as ``iso_text`` writes it."""
    return iso_text(datetime.fromtimestamp(seconds, UTC))


def display_text(ticks: int) -> str:
    """A stored time in the pages' and CSV exports' short form, ``2026-10-02 09:14`` (UTC)."""
    return from_epoch(ticks).strftime(DISPLAY_FORMAT)


def parse_time(value: Any, field: str, problems: Problems) -> int | None:
    """The epoch of an ISO 8601 time with an offset (``Z`` or ``+02:00``); None after adding
    to ``problems`` why it is none: no text, no ISO time, no offset, or outside the years 1-9999
    once in UTC."""
    moment = _utc_moment(value, field, problems)
    return None if moment is None else epoch(moment)


def _utc_moment(value: Any, field: str, problems: Problems) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        problems.append((field, "is required (ISO-8601 time with offset)"))
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        problems.append((field, f"not an ISO-8601 time: {value[:40]!r}"))
        return None
    if moment.tzinfo is None:
        problems.append((field, "needs a UTC offset, e.g. 2026-10-02T09:14:00Z"))
        return None
    try:
        return moment.astimezone(UTC)  # 9999-12-31T23:59-01:00 is in year 10000 in UTC
    except OverflowError:
        problems.append((field, f"is out of range in UTC: {value[:40]!r}"))
        return None


@lru_cache(maxsize=4096)
def valid_time(value: str) -> int | None:
    """The epoch of a well-formed time text, or None (parse_time then says what is wrong).
    Cached: the events of one batch mostly share a handful of times; keep texts longer than
    MAX_TIME_TEXT away from it."""
    problems: Problems = []
    return parse_time(value, "at", problems)


_Z_TEXT = len("2026-10-02T09:14:00Z")  # the form nearly every export writes: read in bulk
_Z_DIGITS = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18]
_Z_MARKS = {4: ord("-"), 7: ord("-"), 10: ord("T"), 13: ord(":"), 16: ord(":"), 19: ord("Z")}
_MONTH_DAYS = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


def valid_times(texts: Sequence[str]) -> list[int | None]:
    """valid_time of each text (without its cache: import files rarely repeat a time), the
    texts written as ``2026-10-02T09:14:00Z`` read together with numpy, the others one by one."""
    out: list[int | None] = [None] * len(texts)
    fast = _z_epochs(texts)
    if fast is not None:
        epochs, ok = fast
        out = epochs.tolist()
        if ok.all():
            return out
        for i in np.flatnonzero(~ok).tolist():
            out[i] = None
    for i, text in enumerate(texts):
        if out[i] is None:
            out[i] = parse_time(text, "at", [])
    return out


def _z_epochs(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray] | None:
    """(epochs, which are right) for texts all of the Z form's length; None for any other."""
    if not texts or set(map(len, texts)) != {_Z_TEXT}:
        return None
    try:
        raw = "".join(texts).encode("ascii")
    except UnicodeEncodeError:
        return None
    chars = np.frombuffer(raw, dtype=np.uint8).reshape(len(texts), _Z_TEXT)
    digits = chars[:, _Z_DIGITS].astype(np.int64) - ord("0")
    ok = ((digits >= 0) & (digits <= 9)).all(axis=1)
    for column, mark in _Z_MARKS.items():
        ok &= chars[:, column] == mark
    d = digits
    year = d[:, 0] * 1000 + d[:, 1] * 100 + d[:, 2] * 10 + d[:, 3]
    month = d[:, 4] * 10 + d[:, 5]
    day = d[:, 6] * 10 + d[:, 7]
    hour, minute, second = (d[:, i] * 10 + d[:, i + 1] for i in (8, 10, 12))
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    ok &= (year >= 1) & (month >= 1) & (month <= 12) & (day >= 1)
    ok &= day <= _MONTH_DAYS[np.clip(month, 0, 12)] + (leap & (month == 2))
    ok &= (hour <= 23) & (minute <= 59) & (second <= 59)
    # days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil)
    shifted = year - (month <= 2)
    era = shifted // 400
    year_of_era = shifted - era * 400
    day_of_year = (153 * ((month + 9) % 12) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    days = era * 146_097 + day_of_era - 719_468
    seconds = days * 86_400 + hour * 3_600 + minute * 60 + second
    return seconds * TICKS, ok


def parse_as_of(value: str, field: str = "as_of") -> datetime:
    """An ``--as-of`` / ``as_of`` value (CLI, API, preview page) read once into the moment it
    names, in UTC; TimeTextError says why it names none. (No value means now: the caller's
    ``datetime.now(UTC)``.)"""
    problems: Problems = []
    moment = _utc_moment(value, field, problems)
    if moment is None:
        raise TimeTextError(*problems[0])
    return moment
