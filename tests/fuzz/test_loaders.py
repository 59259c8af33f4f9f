"""Hypothesis against what reads users' files: the model file (what check-config runs) and the
importers (what `grading import` runs). Whatever comes in, the answer is a result or an error
that names where the problem is; never a traceback, and a refused import stores nothing."""

from __future__ import annotations

import copy
import csv
import io
import json
import os
import re
import shutil
import tempfile
import time
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from grading.core.config import ConfigError, load_config
from grading.core.model import Config
from grading.core.scoring import Event, grade_lead
from grading.services import ingest
from grading.services.model_file.read import parse_yaml, read_config
from grading.store.db import connect
from tests.conftest import REPO
from tests.factories import make_config, spec_model
from tests.fuzz import hostile

# GRADING_FUZZ_EXAMPLES=1000 digs deeper than the everyday run
EXAMPLES = int(os.environ.get("GRADING_FUZZ_EXAMPLES", "60"))
# The everyday run tries the same examples every time (a red CI is then a real regression, not
# luck); a deeper run with GRADING_FUZZ_EXAMPLES set draws new ones.
DERANDOMIZE = "GRADING_FUZZ_EXAMPLES" not in os.environ
FAST = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
    derandomize=DERANDOMIZE,
)
with open(os.path.join(REPO, "config", "grading.yaml"), encoding="utf-8") as _file:
    MODEL_FILE_TEXT = _file.read()
MODEL_FILE = parse_yaml(MODEL_FILE_TEXT.encode())[0]  # YAML 1.2, as the service reads it

# the model file -----------------------------------------------------------------------------

WORDS = [
    "models", "name", "label", "audience", "fit", "activity", "rules", "thresholds", "id",
    "when", "points", "field", "equals", "in", "not_in", "gt", "between", "matches", "contains",
    "present", "all", "any", "not", "event", "where", "min_count", "max_points", "within_days",
    "window_days", "half_life_days", "categories", "routing", "cells", "to", "queue", "campaign",
    "accounts", "schedule", "regrade", "webhooks", "url", "events", "secret_env", "retention",
    "events_days", "qualification", "criteria", "A", "B", "C", 4, 3, 2,
]  # fmt: skip
TOKENS = [
    "A4", "A*", "*4", "*", "Z9", "person.title", "company.employees", "url", "type", "sum",
    "max", "0 * * * *", "61 * * * *", "^/pricing", "(a+)+$", "[", "grade.changed",
    "http://localhost:1/hook", "prospects", "",
]  # fmt: skip
KEYS = st.sampled_from(WORDS) | st.text("abcdefghijklmnopqrstuvwxyz_0123456789", min_size=1)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.sampled_from([10**30, -(10**400), 36_501])
    | st.floats()
    | st.text(max_size=12)
    | st.sampled_from(TOKENS)
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=5),
    max_leaves=25,
)
PATH_STEP = re.compile(r"\.?([^.\[\]]+)|\[(\d+)\]")


def resolves(data, path: str) -> bool:
    """Whether a problem's path leads into the data (its last step may be a missing key: a
    required key that is not there)."""
    steps = [(key, index) for key, index in PATH_STEP.findall(path)]
    if "".join(f".{k}" if k else f"[{i}]" for k, i in steps).lstrip(".") != path:
        return False
    node = data
    for n, (key, index) in enumerate(steps):
        last = n == len(steps) - 1
        if index:
            if not isinstance(node, list) or int(index) >= len(node):
                return False
            node = node[int(index)]
        elif isinstance(node, dict):
            found = [k for k in node if str(k) == key]
            if not found:
                return last
            node = node[found[0]]
        else:
            return False
    return True


def outcome_of_load(data) -> Config | ConfigError:
    try:
        config = load_config(data)
    except ConfigError as error:
        assert error.problems and all(isinstance(p, str) and p for p in error.problems)
        return error
    event("a valid config")
    grade_everyone(config)  # what was accepted must grade, not fail later
    return config


SAMPLE_LEAD = {"title": "CEO", "lifecycle": "lead", "interests": ["analytics"]}
SAMPLE_EVENTS = [
    Event("page_view", datetime(2026, 11, 1, tzinfo=UTC), {"url": "/pricing", "product": "crm"}),
    Event("download", datetime(2025, 1, 1, tzinfo=UTC), {"url": "/careers"}),
]


def grade_everyone(config: Config) -> None:
    for model in config.models:
        for person in (SAMPLE_LEAD, {"lifecycle": "customer"}):
            grade_lead(model, person, {"employees": 250}, SAMPLE_EVENTS, SAMPLE_AS_OF)


SAMPLE_AS_OF = datetime(2026, 11, 2, tzinfo=UTC)


@FAST
@given(VALUES)
def test_any_parsed_yaml_gives_a_config_or_problems(data):
    outcome_of_load(data)


@FAST
@given(st.dictionaries(KEYS, VALUES, max_size=5))
def test_problems_of_a_mapping_name_a_path_into_the_file(data):
    outcome = outcome_of_load(data)
    if isinstance(outcome, ConfigError):
        for problem in outcome.problems:
            path = problem.split(": ", 1)[0]
            assert resolves(data, path), problem


def mutate(data, draw):
    """Walk down a random path of the data and there replace, delete or add something."""
    node = data
    while True:
        children = (
            list(node.keys())
            if isinstance(node, dict)
            else list(range(len(node)))
            if isinstance(node, list)
            else []
        )
        if not children:
            break
        key = draw(st.sampled_from(children))
        child = node[key]
        if not isinstance(child, dict | list) or draw(st.integers(0, 3)) == 0:
            action = draw(st.sampled_from(["replace", "delete", "add"]))
            if action == "replace":
                node[key] = draw(VALUES)
            elif action == "delete":
                del node[key]
            elif isinstance(node, dict):
                node[draw(KEYS)] = draw(VALUES)
            else:
                node.append(draw(VALUES))
            return
        node = child


@FAST
@given(st.data())
def test_mutations_of_the_shipped_model_file_give_a_config_or_problems_by_path(data):
    for base in (MODEL_FILE, spec_model()):
        model = copy.deepcopy(base)
        for _ in range(data.draw(st.integers(1, 4))):
            mutate(model, data.draw)
        outcome = outcome_of_load(model)
        if isinstance(outcome, ConfigError):
            for problem in outcome.problems:
                path = problem.split(": ", 1)[0]
                assert resolves(model, path), problem


def read_model_text(raw: bytes) -> None:
    directory = tempfile.mkdtemp(prefix="grading-fuzz-")
    try:
        path = os.path.join(directory, "grading.yaml")
        with open(path, "wb") as handle:
            handle.write(raw)
        try:
            read_config(path)
        except ConfigError as error:
            assert error.problems and all(isinstance(p, str) and p for p in error.problems)
            assert_lines_named(raw, error.problems)
    finally:
        shutil.rmtree(directory)


def assert_lines_named(raw: bytes, problems: list[str]) -> None:
    """A problem whose path starts in the file names its line."""
    try:
        data, _ = parse_yaml(raw)
    except ConfigError:
        return  # no YAML, or refused whole (bounds, duplicates): those name their own line
    if not isinstance(data, dict):
        return
    for problem in problems:
        first = PATH_STEP.match(problem.split(": ", 1)[0])
        if first and first.group(1) in {str(k) for k in data}:
            assert problem.startswith("line "), problem


HOSTILE = st.sampled_from(
    [
        "\n          points: 1000",  # a duplicate key where a rule's points are
        "\n    name: again",
        "&x ",
        "*x",
        "<<: *x\n",
        "\n  - &m {name: m}\n  - *m\n",
        'matches: "([а-я]|жж)+$"',
        'matches: "(a+)+$"',
        'matches: "ceo(?=\\s)"',
        'matches: "(x)\\1"',
        'matches: "\\bдиректор\\b"',
        'matches: "ж{1001}"',
        "%YAML 1.1\n---\n",
        "NO",
        "yes",
    ]
)


@FAST
@given(st.data())
def test_edits_of_the_model_file_text_are_read_or_refused_with_problems(data):
    text = MODEL_FILE_TEXT
    for _ in range(data.draw(st.integers(1, 5))):
        at = data.draw(st.integers(0, len(text)))
        cut = data.draw(st.integers(0, 40))
        insert = data.draw(
            st.sampled_from(["", ":", "- ", "  ", "\n", "[", "{", "&a", "*a", "!!", "\t"])
            | st.text(max_size=6)
            | HOSTILE
        )
        text = text[:at] + insert + text[at + cut :]
    started = time.process_time()
    read_model_text(text.encode("utf-8", "surrogatepass"))
    assert time.process_time() - started < 10.0  # no edit makes reading (or matching) hang


@FAST
@given(
    st.binary(max_size=200)
    | st.sampled_from(
        [
            b"a: 2001-02-30\n",  # a YAML date that is no date
            b"models: " + b"[" * 3000,  # nested deeper than the parser recurses
            b"\xff\xfe\x00bad",
            b"models: &a [*a]",
            b"models: []\nmodels: []\n",  # a duplicate key
            b"%YAML 1.1\n---\nmodels: [NO]\n",
            b"a: &a [1,1,1,1,1,1,1,1,1,1]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
            b"c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
            b"e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\n",
            "models: [{name: p, audience: {field: person.t, matches: '([а-я]|жж)+$'}}]".encode(),
            b"a: " + b"9" * 5000,  # an integer Python will not read
        ]
    )
)
def test_any_bytes_are_read_or_refused_with_problems(raw):
    read_model_text(raw)


# the importers ------------------------------------------------------------------------------

TABLES_SQL = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"


@contextmanager
def scratch_database():
    directory = tempfile.mkdtemp(prefix="grading-fuzz-")
    db = connect(os.path.join(directory, "fuzz.db"))
    try:
        yield db, directory
    finally:
        db.conn.close()
        shutil.rmtree(directory)


def counts(db) -> dict[str, int]:
    tables = [row["name"] for row in db.query(TABLES_SQL)]
    return {t: db.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}


ATTRIBUTE = (
    st.none()
    | st.booleans()
    | st.integers(-(2**66), 2**66)
    | st.floats()
    | st.text(max_size=10)
    | st.lists(st.text(max_size=5), max_size=3)
    | st.dictionaries(st.text(max_size=3), st.integers(), max_size=2)
    | st.sampled_from(["\ud800", "x\udc80", "a\x00b", 2**64, 2**63, -(2**63) - 1])
)
NAMES = st.sampled_from(["L-1", "L-2", "L-3", "", " ", "x" * 201]) | st.text(max_size=6)
TIMES = st.sampled_from(
    [
        "2026-11-20T10:00:00Z",
        "2026-11-20T10:00:00",
        "0001-01-01T00:00:00+01:00",
        "9999-12-31T23:59:59-01:00",
        "2999-01-01T00:00:00Z",
        "2026-02-30T00:00:00Z",
        "yesterday",
    ]
) | st.text(max_size=25)
LEAD = st.fixed_dictionaries(
    {"id": NAMES},
    optional={
        "person": st.dictionaries(
            st.sampled_from(["title", "lifecycle", "owner", "email", ""]) | st.text(max_size=4),
            ATTRIBUTE | st.sampled_from(["lead", "customer", "bogus"]),
            max_size=4,
        )
        | ATTRIBUTE,
        "company": st.dictionaries(
            st.sampled_from(["domain", "name", "employees"]) | st.text(max_size=4),
            ATTRIBUTE,
            max_size=3,
        )
        | ATTRIBUTE,
        "extra": ATTRIBUTE,
    },
)
EVENT = st.fixed_dictionaries(
    {"lead": NAMES | ATTRIBUTE, "type": NAMES | ATTRIBUTE, "at": TIMES | ATTRIBUTE},
    optional={
        "id": NAMES | ATTRIBUTE,
        "properties": st.dictionaries(st.text(max_size=4), ATTRIBUTE, max_size=3) | ATTRIBUTE,
    },
)
OUTCOME = st.fixed_dictionaries(
    {
        "lead": NAMES | ATTRIBUTE,
        "outcome": st.sampled_from(["won", "lost", "WON", ""]) | ATTRIBUTE,
        "at": TIMES | ATTRIBUTE,
    },
    optional={"amount": ATTRIBUTE | st.sampled_from(["12", "1e400", "abc", " "])},
)
KNOWN = st.sampled_from(["L-1", "L-2"])
WORD = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=12)
PLAIN = WORD | st.integers(-(10**12), 10**12) | st.booleans() | st.floats(allow_nan=False)
MOMENTS = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2026, 11, 29), timezones=st.just(UTC)
).map(lambda moment: moment.isoformat().replace("+00:00", "Z"))
GOOD = {
    "leads": st.fixed_dictionaries(
        {"id": KNOWN | st.sampled_from(["L-3", "L-4 ", "Ö-5"])},
        optional={
            "person": st.fixed_dictionaries(
                {},
                optional={
                    "title": WORD,
                    "lifecycle": st.sampled_from(["lead", "MQL", "customer"]),
                    "interests": st.lists(WORD, max_size=2),
                    "phone": PLAIN,
                },
            ),
            "company": st.fixed_dictionaries(
                {},
                optional={"domain": WORD, "industry": WORD, "employees": st.integers(0, 10**6)},
            ),
        },
    ),
    "events": st.fixed_dictionaries(
        {"lead": KNOWN, "type": st.sampled_from(["page_view", "download"]) | WORD, "at": MOMENTS},
        optional={
            "id": WORD,
            "properties": st.dictionaries(st.sampled_from(["url", "product"]) | WORD, PLAIN),
        },
    ),
    "outcomes": st.fixed_dictionaries(
        {"lead": KNOWN, "outcome": st.sampled_from(["won", "lost"]), "at": MOMENTS},
        optional={"amount": st.none() | st.integers(0, 10**9) | st.floats(0, 1e9)},
    ),
}
BAD = {"leads": LEAD, "events": EVENT, "outcomes": OUTCOME}


def rows_of(kind: str):
    """Mostly good rows, now and then one with mistakes or something that is no record."""
    return st.lists(
        st.sampled_from(["good"] * 8 + ["bad", "other"]).flatmap(
            lambda pick: GOOD[kind] if pick == "good" else BAD[kind] if pick == "bad" else VALUES
        ),
        max_size=8,
    )


BASE_LEADS = [
    {"id": "L-1", "person": {"title": "CEO"}, "company": {"domain": "acme.io", "employees": 500}},
    {"id": "L-2", "person": {"lifecycle": "customer"}, "company": {"name": "Uni"}},
]


def flatten(record, prefix=""):
    if isinstance(record, dict):
        out = {}
        for key, value in record.items():
            if isinstance(value, dict) and not prefix:
                out.update(flatten(value, f"{key}."))
            else:
                out[f"{prefix}{key}"] = value
        return out
    return {"value": record}


def as_file(kind: str, rows: list, how: str, garbage: bytes) -> tuple[str, bytes]:
    """The rows written as .jsonl, .json or .csv, with `garbage` spliced in for the mistakes
    that are not in the rows themselves (broken lines, bytes that are not UTF-8)."""
    if how == "jsonl":
        lines = [json.dumps(row, allow_nan=True).encode() for row in rows]
        if garbage:
            lines.insert(len(lines) // 2, garbage)
        return ".jsonl", b"\n".join(lines)
    if how == "json":
        return ".json", json.dumps(rows, allow_nan=True).encode() + garbage
    flat = [flatten(row) for row in rows]
    headers = list(dict.fromkeys(k for row in flat for k in row)) or ["id"]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headers)
    for row in flat:
        cells = []
        for header in headers:
            value = row.get(header)
            cells.append(
                "" if value is None else value if isinstance(value, str) else json.dumps(value)
            )
        writer.writerow(cells)
    return ".csv", out.getvalue().encode("utf-8", "surrogatepass") + garbage


POSITION = {
    ".jsonl": re.compile(r"^(\d+)$"),
    ".json": re.compile(r"^(?:1|item (\d+))$"),
    ".csv": re.compile(r"^(\d+)$"),
}
CONFIG = make_config()


@settings(
    max_examples=EXAMPLES * 2,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
    derandomize=DERANDOMIZE,
)
@given(
    kind=st.sampled_from(ingest.KINDS),
    data=st.data(),
    how=st.sampled_from(["jsonl", "json", "csv"]),
    garbage=st.sampled_from([b""] * 6 + [b"{", b"\xff\xfe", b"[1,2", b'"a","b","c","d"', b"\x00"])
    | st.binary(max_size=12),
)
def test_an_import_stores_everything_or_nothing_and_names_each_bad_line(kind, data, how, garbage):
    rows = data.draw(rows_of(kind))
    with scratch_database() as (db, directory):
        ingest.import_records(db, CONFIG, "leads", [(str(i), r) for i, r in enumerate(BASE_LEADS)])
        before = counts(db)
        extension, raw = as_file(kind, rows, how, garbage)
        path = os.path.join(directory, "input" + extension)
        with open(path, "wb") as handle:
            handle.write(raw)
        # lines as an editor (and the csv module) sees them: \r, \n and \r\n end one
        text = io.TextIOWrapper(io.BytesIO(raw), errors="surrogateescape", newline="")
        lines = max(1, sum(1 for _ in text))
        try:
            result = ingest.import_file(db, CONFIG, kind, path)
        except ingest.ImportFailed as failed:
            event(f"{kind} refused")
            assert failed.result.problems
            for problem in failed.result.problems:
                assert problem.startswith(f"{path}:"), problem
                position = problem[len(path) + 1 :].split(": ", 1)[0]
                where = POSITION[extension].match(position)
                assert where, problem
                if where.group(1) and extension != ".json":
                    assert 1 <= int(where.group(1)) <= lines, problem
            assert counts(db) == before
        else:
            event(f"{kind} stored" if result.stored else f"{kind}: nothing to store")
            assert result.ok and result.rows >= result.stored


@FAST
@given(st.binary(max_size=300), st.sampled_from([".jsonl", ".json", ".csv", ".ndjson"]))
def test_random_bytes_import_or_are_refused_by_line(raw, extension):
    assume(raw.strip())
    with scratch_database() as (db, directory):
        before = counts(db)
        path = os.path.join(directory, "input" + extension)
        with open(path, "wb") as handle:
            handle.write(raw)
        for kind in ingest.KINDS:
            try:
                ingest.import_file(db, CONFIG, kind, path)
            except ingest.ImportFailed as failed:
                assert all(p.startswith(f"{path}:") for p in failed.result.problems)
                assert counts(db) == before


# What the fuzzing found, pinned down --------------------------------------------------------


def problems_reading(text: bytes) -> list[str]:
    directory = tempfile.mkdtemp(prefix="grading-fuzz-")
    try:
        path = os.path.join(directory, "grading.yaml")
        with open(path, "wb") as handle:
            handle.write(text)
        try:
            read_config(path)
        except ConfigError as error:
            return error.problems
        return []
    finally:
        shutil.rmtree(directory)


def test_a_yaml_date_that_is_no_date_is_a_problem_at_its_line():
    problems = problems_reading(b"schedule:\n  regrade: 2026-02-30\n")
    assert problems == [
        "line 2, column 12: '2026-02-30' is not a date: day is out of range for month"
    ]


def test_a_file_nested_deeper_than_yaml_reads_is_a_problem():
    assert problems_reading(b"models: " + b"[" * 3000) == [
        "line 1, column 72: nested deeper than 64 levels"
    ]


def spec_model_with(**changes) -> dict:
    model = spec_model()
    body = model["models"][0]
    for key, value in changes.items():
        if key == "webhooks":
            model["webhooks"] = value
        elif key == "window_days":
            body["activity"]["window_days"] = value
        elif key == "threshold_a":
            body["fit"]["thresholds"]["A"] = value
    return model


@pytest.mark.parametrize(
    "changes, problem",
    [
        (
            {"webhooks": [{"url": "http://localhost:1/", "models": [["prospects"]]}]},
            "webhooks[0].models[0]: unknown model",  # was a TypeError (a list in a set)
        ),
        ({"threshold_a": float("nan")}, "models[0].fit.thresholds.A: must be a finite number"),
        ({"threshold_a": float("inf")}, "models[0].fit.thresholds.A: must be a finite number"),
        ({"threshold_a": 10**400}, "models[0].fit.thresholds.A: must be a finite number"),
        ({"window_days": 10**30}, "models[0].activity.window_days: must be at most 36,500"),
    ],
)
def test_values_that_broke_loading_or_grading_are_problems(changes, problem):
    with pytest.raises(ConfigError) as refused:
        load_config(spec_model_with(**changes))
    assert any(p.startswith(problem) for p in refused.value.problems), refused.value.problems


def refused_positions(kind: str, name: str, raw: bytes) -> list[str]:
    with scratch_database() as (db, directory):
        ingest.import_records(db, CONFIG, "leads", [(str(i), r) for i, r in enumerate(BASE_LEADS)])
        before = counts(db)
        path = os.path.join(directory, name)
        with open(path, "wb") as handle:
            handle.write(raw)
        with pytest.raises(ingest.ImportFailed) as failed:
            ingest.import_file(db, CONFIG, kind, path)
        assert counts(db) == before
        return [p[len(path) + 1 :] for p in failed.value.result.problems]


def test_csv_bytes_that_are_not_utf8_are_named_by_their_line():
    raw = b"id,person.title\nL-7,CEO\nL-8,Chef \xe9\nL-9,CTO\n"
    assert refused_positions("leads", "leads.csv", raw) == ["3: not UTF-8 text"]


def test_a_csv_header_that_is_not_utf8_is_line_1():
    raw = b"id,person.\x80title\nL-7,CEO\n"
    assert refused_positions("leads", "leads.csv", raw) == ["1: the header line is not UTF-8 text"]


def test_a_time_beyond_year_9999_in_utc_is_a_problem_of_its_line():
    raw = b'{"lead": "L-1", "outcome": "won", "at": "9999-12-31T23:59:59-01:00"}\n'
    assert refused_positions("outcomes", "outcomes.jsonl", raw) == [
        "1: at: is out of range in UTC: '9999-12-31T23:59:59-01:00'"
    ]


# Hostile values, for every importer: each kind in each format ------------------------------

GOOD_ROW = {
    "leads": {"id": "L-8", "person": {"title": "CEO"}},
    "events": {"lead": "L-1", "type": "download", "at": "2026-11-20T10:00:00Z"},
    "outcomes": {"lead": "L-1", "outcome": "won", "at": "2026-11-20T10:00:00Z"},
}
# the row of each kind with "@" where the hostile value goes, and that column's CSV header
HOSTILE_ROW = {
    "leads": ({"id": "L-9", "person": {"title": "@"}}, "person.title"),
    "events": ({**GOOD_ROW["events"], "properties": {"n": "@"}}, "properties.n"),
    "outcomes": ({**GOOD_ROW["outcomes"], "amount": "@"}, "amount"),
}
HOSTILE_JSON = {
    **hostile.JSON_VALUES,
    "NUL": b'"a\\u0000b"',
    "10,001 characters": b'"' + b"x" * 10_001 + b'"',
}
HOSTILE_CELLS = {
    "a list with a lone surrogate": '["\\ud800"]',  # was a TypeError out of `grading import`
    "a list with NaN": "[NaN]",
    "a list with 2**64": "[18446744073709551616]",
    "a surrogate as UTF-8 bytes": b"\xed\xa0\x80",
    "invalid UTF-8": b"\xff",
    "NUL": "a\x00b",
    "10,001 characters": "x" * 10_001,
}


def hostile_file(kind: str, how: str, value: bytes) -> tuple[str, bytes]:
    """A good row on line 1 (or item 1), the hostile one on line 2."""
    template, header = HOSTILE_ROW[kind]
    if how == "csv":
        flat = flatten(GOOD_ROW[kind])
        headers = [*flat, header] if header not in flat else list(flat)
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(headers)
        writer.writerow([flat.get(h, "") for h in headers])
        hostile = {**flatten({k: v for k, v in template.items()}), header: "@"}
        writer.writerow([hostile.get(h, "") for h in headers])
        return ".csv", out.getvalue().encode().replace(b"@", value)
    good = json.dumps(GOOD_ROW[kind]).encode()
    bad = json.dumps(template).encode().replace(b'"@"', value)
    if how == "jsonl":
        return ".jsonl", good + b"\n" + bad + b"\n"
    return ".json", b"[" + good + b",\n" + bad + b"]"


@pytest.mark.parametrize("kind", ingest.KINDS)
@pytest.mark.parametrize("how", ["jsonl", "json"])
@pytest.mark.parametrize("name", list(HOSTILE_JSON))
def test_hostile_json_values_refuse_the_file_by_line_and_store_nothing(kind, how, name):
    extension, raw = hostile_file(kind, how, HOSTILE_JSON[name])
    positions = refused_positions(kind, "input" + extension, raw)  # (asserts nothing stored)
    assert positions, name
    for position in positions:
        where, _, reason = position.partition(": ")
        # JSON that is no JSON at all has no items to name in a .json list: its line 1 then
        assert where == ("2" if how == "jsonl" else "item 2") or (how == "json" and where == "1")
        assert reason, position


@pytest.mark.parametrize("kind", ingest.KINDS)
@pytest.mark.parametrize("name", list(HOSTILE_CELLS))
def test_hostile_csv_cells_refuse_the_file_by_line_and_store_nothing(kind, name):
    cell = HOSTILE_CELLS[name]
    _, raw = hostile_file(kind, "csv", cell if isinstance(cell, bytes) else cell.encode())
    positions = refused_positions(kind, "input.csv", raw)
    assert positions and all(p.startswith("3: ") for p in positions), positions  # header is 1


def test_a_number_in_a_csv_amount_that_overflows_is_refused():
    raw = b"lead,outcome,at,amount\nL-1,won,2026-11-20T10:00:00Z,1e999\n"
    assert refused_positions("outcomes", "outcomes.csv", raw) == [
        "2: amount: must be a finite number"
    ]
