"""The bulk grader (numpy) gives the reference grades of scoring.grade_model, lead by lead."""

import struct
from datetime import UTC, datetime, timedelta

import numpy as np
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grading.core.batch import BatchGrader, CompactGrade, EventArrays, int_table, rounded
from grading.core.config import load_config
from grading.core.scoring import classify, grade_model, lead_record, tally
from grading.core.times import epoch

T = datetime(2026, 11, 1, 15, 30, tzinfo=UTC)
MODEL = load_config(
    {
        "models": [
            {
                "name": "m",
                "audience": {"field": "person.lifecycle", "not_equals": "customer"},
                "fit": {
                    "rules": [
                        {
                            "id": "big",
                            "when": {"field": "company.employees", "gte": 200},
                            "points": 30,
                        },
                        {
                            "id": "ceo",
                            "when": {"field": "person.title", "matches": "ceo"},
                            "points": 40,
                        },
                        {
                            "id": "student",
                            "when": {"field": "person.title", "contains": "student"},
                            "points": -50,
                        },
                    ],
                    "thresholds": {"A": 60, "B": 30, "C": 10},
                },
                "activity": {
                    "window_days": 30,
                    "half_life_days": 7,
                    "rules": [
                        {"id": "dl", "event": "download", "points": 10, "max_points": 25},
                        {"id": "visits", "event": "page_view", "min_count": 3, "points": 20},
                        {
                            "id": "pricing",
                            "where": {"field": "url", "equals": "/pricing"},
                            "within_days": 7,
                            "points": 15,
                        },
                        {
                            "id": "careers",
                            "where": {"field": "url", "contains": "career"},
                            "points": -8,
                            "max_points": 12,
                        },
                    ],
                    "thresholds": {"4": 50, "3": 30, "2": 10},
                },
                "categories": [
                    {"name": "crm", "where": {"field": "product", "equals": "crm"}},
                    {
                        "name": "bi",
                        "where": {"field": "product", "equals": "bi"},
                        "activity": {
                            "window_days": 120,
                            "rules": [{"id": "any", "points": 3}],
                            "thresholds": {"4": 12, "3": 6, "2": 3},
                        },
                        "routing": [{"cells": ["*4"], "to": "sales"}],
                    },
                ],
                "routing": [
                    {"cells": ["A*"], "to": "sales"},
                    {"cells": ["*"], "to": "nurture", "campaign": "n"},
                ],
            }
        ]
    }
).models[0]

event = st.tuples(
    st.sampled_from(["download", "page_view", "webinar"]),
    st.sampled_from(["/pricing", "/careers", "/blog"]),
    st.sampled_from(["crm", "bi", None]),
    st.integers(min_value=-3 * 24 * 60, max_value=150 * 24 * 60),
)
lead = st.tuples(
    st.sampled_from(["CEO", "student", "analyst", None]),
    st.sampled_from([10, 500, "250", None]),
    st.sampled_from(["lead", "customer"]),
    st.lists(event, max_size=30),
)


def reference(records, leads):
    out = []
    for record, (*_, events) in zip(records, leads, strict=True):
        classified = []
        for kind, url, product, minutes in events:
            props = {"url": url} | ({"product": product} if product else {})
            classified.append((classify(MODEL, kind, props), epoch(T - timedelta(minutes=minutes))))
        grades = grade_model(MODEL, record, tally(classified, epoch(T)))
        out.append([CompactGrade.from_grade(g) for g in grades])
    return out


def bulk(records, leads):
    grader = BatchGrader(MODEL)
    classes, rows = {}, []
    for i, (*_, events) in enumerate(leads):
        for kind, url, product, minutes in events:
            key = (kind, url, product)
            if key not in classes:
                props = {"url": url} | ({"product": product} if product else {})
                classes[key] = (len(classes) + 1, classify(MODEL, kind, props))
            rows.append((i, classes[key][0], epoch(T - timedelta(minutes=minutes))))
    grader.learn_classes(dict(classes.values()))
    return grader.grade(records, EventArrays.from_rows(rows), epoch(T))


def same(a: CompactGrade, b: CompactGrade):
    """Equal to the bit: the scores, and the explanation as the store writes it (JSON text)."""
    assert a == b
    assert struct.pack("<dd", a.fit_score, a.activity_score) == struct.pack(
        "<dd", b.fit_score, b.activity_score
    )
    assert orjson.dumps(a.explanation) == orjson.dumps(b.explanation)


@pytest.mark.slow
@settings(max_examples=150, deadline=None)
@given(leads=st.lists(lead, max_size=8))
def test_bulk_grades_equal_the_reference(leads):
    records = [
        lead_record(
            {"lifecycle": life} | ({"title": title} if title else {}),
            {"employees": size} if size is not None else {},
        )
        for title, size, life, _ in leads
    ]
    expected, actual = reference(records, leads), bulk(records, leads)
    assert len(expected) == len(actual)
    for want, got in zip(expected, actual, strict=True):
        assert len(want) == len(got)
        for a, b in zip(want, got, strict=True):
            same(a, b)


def test_a_chunk_without_events_still_grades_fit():
    records = [lead_record({"title": "CEO", "lifecycle": "lead"}, {"employees": 300})]
    (grades,) = BatchGrader(MODEL).grade(records, EventArrays.from_rows([]), epoch(T))
    assert [g.grade for g in grades] == ["A1", "A1", "A1"]
    assert grades[0].route.to == "sales" and grades[2].route is None


def test_classes_learned_later_keep_the_earlier_ones():
    """A server learns event classes as they first arrive: a new one must not forget the old."""
    downloads = (1, "download", {"product": "analytics"})
    pricing = (2, "page_view", {"url": "/pricing"})
    together, one_by_one = BatchGrader(MODEL), BatchGrader(MODEL)
    together.learn_classes({c: classify(MODEL, t, p) for c, t, p in (downloads, pricing)})
    for c, t, p in (downloads, pricing):
        one_by_one.learn_classes({c: classify(MODEL, t, p)})
    assert one_by_one.matrix[1].any() and one_by_one.matrix[2].any()
    assert (one_by_one.matrix == together.matrix).all()


@settings(max_examples=300, deadline=None)
@given(
    values=st.lists(
        st.one_of(
            st.floats(allow_nan=False, allow_infinity=True),
            st.floats(min_value=-1000, max_value=1000),
            st.integers(-100_000, 100_000).map(lambda n: n / 1000),  # halves of cents: 2.675
            st.integers(-(10**9), 10**9).map(lambda n: n * 0.005),
        ),
        max_size=50,
    ),
    decimals=st.sampled_from([2, 9]),
)
def test_rounding_in_numpy_gives_pythons_round_to_the_bit(values, decimals):
    got = rounded(np.array(values, dtype=np.float64), decimals).tolist()
    want = [round(v, decimals) for v in values]
    assert struct.pack(f"<{len(values)}d", *got) == struct.pack(f"<{len(values)}d", *want)


def test_rounding_where_numpy_and_python_differ():
    values = [2.675, 1.005, 0.285, 1.0049999999999999, 0.125, -0.004, 5e-324, 1e300]
    assert rounded(np.array(values), 2).tolist() == [round(v, 2) for v in values]


@given(rows=st.lists(st.tuples(*[st.integers(-(2**62), 2**62)] * 3), max_size=20))
def test_rows_read_as_one_flat_run_are_numpys_reading_of_them(rows):
    table = int_table(rows, 3)
    assert table.shape == (len(rows), 3)
    assert table.tolist() == [list(row) for row in rows]
