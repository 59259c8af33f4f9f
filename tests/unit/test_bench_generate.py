"""The bench's events look like a real tracking export: time order across leads, re-sent
duplicates, properties no rule reads; and the same seed writes the same bytes."""

import importlib.util
import os
from collections import Counter
from datetime import datetime, timedelta

import orjson
import pytest

from grading.services.model_file.read import read_config

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_spec = importlib.util.spec_from_file_location("bench_generate", f"{ROOT}/bench/generate.py")
assert _spec and _spec.loader
generate = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(generate)

LEADS = 150  # 3,000 distinct events: a fraction of a second


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    folder = tmp_path_factory.mktemp("set")
    counts = generate.write_set(str(folder), LEADS, seed=3)
    with open(folder / "events.jsonl", "rb") as handle:
        lines = handle.read().splitlines()
    return folder, counts, lines


def test_about_a_tenth_of_the_lines_are_copies_of_an_earlier_line_with_the_same_id(written):
    _, counts, lines = written
    first: dict[str, bytes] = {}
    copies = 0
    for line in lines:
        event_id = orjson.loads(line)["id"]
        if event_id in first:
            assert line == first[event_id]  # the same content again, never a changed event
            copies += 1
        else:
            first[event_id] = line
    assert len(first) == counts["distinct_events"] == LEADS * 20
    assert copies == counts["duplicates"] == counts["events"] - len(first)
    assert 0.08 < copies / len(lines) < 0.12


def test_some_copies_come_again_long_after_the_first_and_some_right_after(written):
    _, _, lines = written
    position: dict[str, int] = {}
    gaps = []
    for number, line in enumerate(lines):
        event_id = orjson.loads(line)["id"]
        if event_id in position:
            gaps.append(number - position[event_id])
        else:
            position[event_id] = number
    assert min(gaps) == 1  # a retry: the very next line
    assert sum(gap > len(lines) // 50 for gap in gaps) > len(gaps) // 5  # a re-export, far later


def test_the_file_is_in_time_order_with_the_sessions_of_many_leads_interleaved(written):
    _, _, lines = written
    events = [orjson.loads(line) for line in lines]
    start = generate.END - timedelta(days=generate.DAYS)
    times = [datetime.fromisoformat(e["at"]) for e in events]
    assert all(start <= t <= generate.END for t in times)
    seen: set[str] = set()
    first_copies = []
    for moment, event in zip(times, events, strict=True):
        if event["id"] not in seen:
            seen.add(event["id"])
            first_copies.append(moment)
    assert first_copies == sorted(first_copies)
    switches = sum(a["lead"] != b["lead"] for a, b in zip(events, events[1:], strict=False))
    assert switches > len(events) // 4  # not lead by lead
    assert len({e["lead"] for e in events[: len(events) // 10]}) > LEADS // 5


def test_each_event_has_one_to_three_properties_and_many_have_ones_no_rule_reads(written):
    _, _, lines = written
    read = set(read_config(f"{ROOT}/config/grading.yaml").config.event_property_keys)
    unread_keys = {key for key, _ in generate._UNREAD}
    sizes: Counter[int] = Counter()
    unread: Counter[str] = Counter()
    sessions = set()
    for line in lines:
        properties = orjson.loads(line)["properties"]
        sizes[len(properties)] += 1
        unread.update(key for key in properties if key in unread_keys)
        sessions.add(properties.get("session_id"))
    assert set(sizes) == {1, 2, 3}
    assert set(unread) == unread_keys and not read & unread_keys
    assert sum(unread.values()) > len(lines) // 4
    assert len(sessions) > LEADS  # many distinct values, as a real tracker's


def test_the_same_seed_writes_the_same_bytes_and_another_seed_others(written, tmp_path):
    folder, _, _ = written
    again, other = tmp_path / "again", tmp_path / "other"
    generate.write_set(str(again), LEADS, seed=3)
    generate.write_set(str(other), LEADS, seed=4)
    for kind in generate.KINDS:
        assert (again / f"{kind}.jsonl").read_bytes() == (folder / f"{kind}.jsonl").read_bytes()
    assert (other / "events.jsonl").read_bytes() != (folder / "events.jsonl").read_bytes()
    assert not [name for name in os.listdir(again) if not name.endswith(".jsonl")]
