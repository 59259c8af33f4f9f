"""The chunk grader's first grading (no stored grades: rows built from the arrays) writes what
comparing with nothing and `changes_of` would write."""

import dataclasses
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from grading.core.batch import BatchGrader, EventArrays, lead_columns
from grading.core.changes import Scope, changes_of
from grading.core.scoring import classify
from grading.core.times import epoch
from grading.services.grader import _compare, _first_changes, _Slots
from grading.store.lead_facts import LeadFacts
from tests.unit.test_batch import MODEL, T, lead

OTHER = dataclasses.replace(MODEL, name="other")  # a second model: grades ordered by model too
facts_of = st.tuples(
    lead, st.sampled_from(["won", "lost", None]), st.sampled_from([None, "2026-10-01"])
)


def chunk(leads):
    facts, rows, classes = [], [], {}
    for i, ((title, size, life, events), outcome, handed) in enumerate(leads):
        person = {"lifecycle": life} | ({"title": title} if title else {})
        company = {"employees": size} if size is not None else {}
        facts.append(LeadFacts(10 + 3 * i, person, company, handed, outcome, None))
        for kind, url, product, minutes in events:
            key = (kind, url, product)
            if key not in classes:
                props = {"url": url} | ({"product": product} if product else {})
                classes[key] = (len(classes) + 1, props)
            rows.append((i, classes[key][0], epoch(T - timedelta(minutes=minutes))))
    columns = lead_columns([f.person for f in facts], [f.company for f in facts])
    graded = []
    for model in (MODEL, OTHER):
        grader = BatchGrader(model)
        grader.learn_classes({c: classify(model, k[0], p) for k, (c, p) in classes.items()})
        graded.append(grader.grade_columns(columns, EventArrays.from_rows(rows), epoch(T)))
    return facts, _Slots(["m", "other"], graded, {f.lead_id for f in facts})


@settings(max_examples=150, deadline=None)
@given(leads=st.lists(facts_of, min_size=1, max_size=8))
def test_a_first_grading_writes_what_comparing_with_nothing_writes(leads):
    facts, slots = chunk(leads)
    routed = [
        (f.lead_id, f.handed_over_at)
        for f, to in zip(facts, slots.sales.tolist(), strict=True)
        if to
    ]
    scope = Scope(frozenset({"m", "other"}), frozenset({"m", "other"}))
    compared = _compare(slots, facts, [], scope)
    expected = changes_of(
        compared, at="2026-11-01T15:30:00Z", reason="regrade", routed_to_sales=routed
    )
    got = _first_changes(slots, facts, "2026-11-01T15:30:00Z", "regrade", routed)
    assert [(key, tuple(values)) for key, values in expected.upserts] == list(got.upserts)
    assert [tuple(row) for row in expected.history] == list(got.history)
    assert expected.cells == got.cells
    assert expected.hand_overs == got.hand_overs
    assert expected.deletes == got.deletes == ()
