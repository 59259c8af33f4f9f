"""Incremental sweeps: a re-grade of everyone reads only the leads whose grades can have changed,
and stores exactly what reading every lead again stores."""

import os
from datetime import UTC, datetime, timedelta

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from grading.core.config import load_config
from grading.services import grader as grader_module
from grading.services import sweep
from grading.services.grading import regrade
from grading.services.ingest import import_records
from grading.services.privacy import forget
from grading.services.retention import purge_events
from grading.store import sweeps as sweep_store
from grading.store.db import backup, connect

T = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def shipped():
    """The shipped model file: two models with categories, decay, thresholds, caps, accounts."""
    with open(os.path.join(ROOT, "config", "grading.yaml")) as handle:
        return load_config(yaml.safe_load(handle))


COMPANIES = [
    {"domain": "acme.io", "industry": "software", "employees": 500, "country": "DE"},
    {"domain": "initech.com", "industry": "retail", "employees": 60, "country": "US"},
]
TITLES = ["CEO", "Student", "Head of Marketing", "Developer"]
LIFECYCLES = ["lead", "customer", "disqualified"]
KINDS = ["page_view", "download", "form_submit", "login", "webinar_attended", "email_click"]
PROPERTIES = [{}, {"url": "/pricing"}, {"product": "analytics"}, {"form": "demo"}]


def lead(i, title="CEO", lifecycle="lead", company=0):
    return {
        "id": f"L-{i}",
        "person": {"title": title, "lifecycle": lifecycle, "email": f"p{i}@x.io"},
        "company": COMPANIES[company],
    }


def numbered(items):
    return [(str(i), item) for i, item in enumerate(items, 1)]


def iso(moment):
    return moment.isoformat().replace("+00:00", "Z")


def events(lead_no, moment, kind="download", n=1, **properties):
    return [
        {
            "lead": f"L-{lead_no}",
            "type": kind,
            "at": iso(moment - timedelta(minutes=i)),
            "properties": properties,
        }
        for i in range(n)
    ]


def stored_state(db):
    """Everything a re-grade writes, but the moment it was written."""
    queries = {
        "grades": "SELECT lead_id, model, category, fit_score, fit, activity_score, activity,"
        " grade, route, explanation FROM grades ORDER BY 1, 2, 3",
        "history": "SELECT lead_id, model, category, from_grade, to_grade, from_route, to_route,"
        " at, reason FROM grade_history ORDER BY lead_id, model, category, id",
        "cells": "SELECT * FROM cell_stats WHERE leads OR won OR lost ORDER BY 1, 2, 3",
        "accounts": "SELECT company_id, model, fit_score, activity_score, fit, activity, grade,"
        " leads, explanation FROM account_grades ORDER BY 1, 2",
        "leads": "SELECT id, lifecycle, handed_over_at IS NOT NULL, last_event_at FROM leads"
        " ORDER BY id",
    }
    return {name: db.execute(sql).fetchall() for name, sql in queries.items()}


def started(tmp_path, config, n=4):
    db = connect(str(tmp_path / "g.db"))
    import_records(
        db, config, "leads", numbered([lead(i, company=i % 2) for i in range(n)]), grade=False
    )
    regrade(db, config, as_of=T)
    return db


def test_a_second_sweep_reads_no_lead(tmp_path, shipped):
    db = started(tmp_path, shipped)
    import_records(db, shipped, "events", numbered(events(1, T, n=3)), as_of=T)
    first = regrade(db, shipped, as_of=T)
    assert first.leads == 4
    again = regrade(db, shipped, as_of=T)
    assert (again.leads, again.kept, again.rows_written) == (4, 4, 0)
    # later the same day, no event between: nothing can have changed
    later = regrade(db, shipped, as_of=T + timedelta(hours=5))
    assert (later.kept, later.rows_written) == (4, 0)
    # --full reads everyone again, and finds the same
    full = regrade(db, shipped, as_of=T + timedelta(hours=5), full=True)
    assert (full.kept, full.rows_written) == (0, 0)


def test_each_write_a_grade_reads_marks_its_leads_and_only_them(tmp_path, shipped):
    db = started(tmp_path, shipped)
    assert sweep_store.dirty_leads(db) == []
    ids = {ext: i for i, ext in db.execute("SELECT id, ext_id FROM leads")}

    def marked():
        return sorted(ext for ext, i in ids.items() if i in sweep_store.dirty_leads(db))

    import_records(db, shipped, "events", numbered(events(1, T)), grade=False)
    assert marked() == ["L-1"]
    regrade(db, shipped, as_of=T)
    assert marked() == []
    # the person changed: that lead
    import_records(
        db, shipped, "leads", numbered([lead(2, title="Student", company=0)]), grade=False
    )
    assert marked() == ["L-2"]
    regrade(db, shipped, as_of=T)
    # the same values again: no mark
    import_records(
        db, shipped, "leads", numbered([lead(2, title="Student", company=0)]), grade=False
    )
    assert marked() == []
    # the company changed: every lead of it (L-0 and L-2 are at acme.io)
    changed = dict(COMPANIES[0], employees=5)
    import_records(db, shipped, "leads", numbered([{**lead(0), "company": changed}]), grade=False)
    assert marked() == ["L-0", "L-2"]
    regrade(db, shipped, as_of=T)
    # a lead moved to another company
    import_records(db, shipped, "leads", numbered([lead(3, company=0)]), grade=False)
    assert "L-3" in marked()
    regrade(db, shipped, as_of=T)
    # events purged by retention
    import_records(db, shipped, "events", numbered(events(1, T - timedelta(days=400))), grade=False)
    regrade(db, shipped, as_of=T)
    assert purge_events(db, shipped, T, actor="test") == 1
    assert marked() == ["L-1"]
    regrade(db, shipped, as_of=T)
    # an erased lead leaves no mark behind
    import_records(db, shipped, "events", numbered(events(3, T)), grade=False)
    forget(db, shipped, "L-3", actor="test")
    assert sweep_store.dirty_leads(db) == []


def test_a_sweep_a_day_later_reads_the_leads_with_events_in_the_window(tmp_path, shipped):
    db = started(tmp_path, shipped)
    import_records(db, shipped, "events", numbered(events(1, T - timedelta(days=3))), as_of=T)
    import_records(db, shipped, "events", numbered(events(2, T - timedelta(days=300))), as_of=T)
    # L-3's one event is on the last day of the 90-day window: it leaves it the next day
    edge = T - timedelta(days=89)
    import_records(db, shipped, "events", numbered(events(3, edge, "webinar_attended")), as_of=T)
    regrade(db, shipped, as_of=T)
    assert db.execute("SELECT count(*) FROM grades WHERE activity_score > 0").fetchone()[0]
    later = regrade(db, shipped, as_of=T + timedelta(days=1))
    # L-1's download decays, L-3's webinar left the window; L-2's only event is far out of every
    # window and L-0 has none
    assert later.kept == 2


@pytest.mark.parametrize("write", ["event", "lead", "deleted event"])
def test_a_write_made_while_a_worker_grades_from_its_snapshot_keeps_the_lead_marked(
    tmp_path, shipped, monkeypatch, write
):
    """A worker of a parallel sweep reads its chunk outside the write lock: a write committed
    by another connection between its reading and its writing is not graded, so it must stay
    to be graded (the grades of another grader would make it grade again under the lock)."""
    db = started(tmp_path, shipped)
    old = T - timedelta(days=400)  # out of every window: the purge deletes it
    import_records(db, shipped, "events", numbered(events(1, T) + events(2, old)), grade=False)
    other = connect(str(tmp_path / "g.db"))
    done = []

    def meanwhile(*args, **kwargs):
        if not done:
            done.append(write)
            if write == "event":
                import_records(other, shipped, "events", numbered(events(1, T)), grade=False)
            elif write == "lead":
                record = lead(1, title="Student")
                import_records(other, shipped, "leads", numbered([record]), grade=False)
            else:
                assert purge_events(other, shipped, T, actor="test") == 1
        return real(*args, **kwargs)

    real = grader_module.changes_of
    monkeypatch.setattr(grader_module, "changes_of", meanwhile)
    grader = grader_module.Grader(db, shipped)
    assert not db.conn.in_transaction  # so the chunk is read from a snapshot
    grader.grade_chunk(T, "regrade", id_range=(0, 100))
    assert done == [write]
    ids = dict(db.execute("SELECT ext_id, id FROM leads"))
    assert ids["L-1"] in sweep_store.dirty_leads(db)
    other.conn.close()


def test_gradings_made_during_a_sweep_stay_in_the_span_it_leaves(tmp_path, shipped):
    db = started(tmp_path, shipped)
    assert sweep.begin(db, shipped, T) == []
    # a real-time grading the next day, while the sweep runs
    import_records(
        db,
        shipped,
        "events",
        numbered(events(1, T + timedelta(days=1))),
        as_of=T + timedelta(days=1),
    )
    sweep.finish(db, shipped, T)
    state, _ = sweep_store.read_state(db)
    assert (state.low, state.high) == (
        int(T.timestamp() * 1_000_000),
        int((T + timedelta(days=1)).timestamp() * 1_000_000),
    )


def test_a_changed_model_file_reads_everyone(tmp_path, shipped):
    db = started(tmp_path, shipped)
    source = yaml.safe_load(yaml.safe_dump(dict(shipped.source)))
    source["models"][0]["fit"]["thresholds"]["A"] = 70
    changed = load_config(source)
    assert regrade(db, changed, as_of=T).kept == 0
    assert regrade(db, changed, as_of=T).kept == 4
    # a re-grade of one model leaves the sweep state of all of them as it was
    assert regrade(db, changed, as_of=T + timedelta(days=2), models=["upsell"]).kept == 0
    assert regrade(db, changed, as_of=T).kept == 4


# --- an incremental sweep stores exactly what a full one stores ------------------------------

operations = st.lists(
    st.one_of(
        st.tuples(
            st.just("event"),
            st.integers(0, 3),
            st.sampled_from(KINDS),
            st.sampled_from(PROPERTIES),
            # days before the clock (-1: tomorrow), near the windows' edges (7, 14, 30, 90 days)
            st.sampled_from([-1, 0, 1, 7, 14, 29, 30, 89, 90, 120]),
            st.sampled_from([0, 11, 12, 13, 23]),  # hour of that day (the clock is at 12:00)
            st.booleans(),  # graded at once, as an API batch is
        ),
        st.tuples(
            st.just("lead"),
            st.integers(0, 3),
            st.sampled_from(TITLES),
            st.sampled_from(LIFECYCLES),
            st.integers(0, 1),
        ),
        st.tuples(st.just("company"), st.integers(0, 1), st.sampled_from([5, 60, 500, 5000])),
        st.tuples(st.just("sweep"), st.sampled_from([0, 1, 11, 12, 24, 36, 24 * 7, -1, -24])),
        st.tuples(
            st.just("purge"),
        ),
    ),
    min_size=1,
    max_size=14,
)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=operations)
# found by the search: an event graded at once on the last day of the window, a day later
@example(ops=[("event", 0, "page_view", {}, 89, 0, True), ("sweep", 24)])
# an event of tomorrow, graded at once, then counted when its day comes; a sweep back in time
@example(ops=[("event", 1, "download", {}, -1, 0, True), ("sweep", 12), ("sweep", -24)])
# an event later today, graded at once (not counted yet), counted by a sweep that evening
@example(ops=[("event", 0, "download", {}, 0, 13, True), ("sweep", 11)])
@pytest.mark.slow
def test_an_incremental_sweep_stores_what_a_full_one_stores(tmp_path_factory, shipped, ops):
    folder = tmp_path_factory.mktemp("sweep")
    db = started(folder, shipped)
    clock = T
    companies = [dict(c) for c in COMPANIES]
    for op in ops:
        if op[0] == "event":
            _, who, kind, properties, days, hour, graded = op
            moment = (clock - timedelta(days=days)).replace(hour=hour, minute=30)
            import_records(
                db,
                shipped,
                "events",
                numbered(events(who, moment, kind, **properties)),
                grade=graded,
                as_of=clock,
            )
        elif op[0] == "lead":
            _, who, title, lifecycle, company = op
            record = {**lead(who, title, lifecycle), "company": companies[company]}
            import_records(db, shipped, "leads", numbered([record]), grade=False)
        elif op[0] == "company":
            _, which, employees = op
            companies[which] = dict(companies[which], employees=employees)
            record = {**lead(which), "company": companies[which]}
            record["person"] = {}  # only the company changes
            import_records(db, shipped, "leads", numbered([record]), grade=False)
        elif op[0] == "purge":
            purge_events(db, shipped, clock, actor="test")
        else:
            clock += timedelta(hours=op[1])
            copy_path = str(folder / f"full-{clock.timestamp():.0f}.db")
            backup(db, copy_path)
            full_db = connect(copy_path)
            full = regrade(full_db, shipped, as_of=clock, full=True)
            fast = regrade(db, shipped, as_of=clock)
            assert stored_state(db) == stored_state(full_db)
            assert (fast.changed, fast.rows_written) == (full.changed, full.rows_written)
            full_db.conn.close()
    db.conn.close()


def test_a_hand_over_grades_its_lead_again_in_the_same_run(tmp_path, shipped):
    """Going to sales moves a lead to mql, which the audience reads: its grades are made from
    that at once, so the next sweep finds nothing to do."""
    source = yaml.safe_load(yaml.safe_dump(dict(shipped.source)))
    source["models"][0]["audience"] = {"field": "person.lifecycle", "equals": "lead"}
    config = load_config(source)
    db = connect(str(tmp_path / "g.db"))
    import_records(db, config, "leads", numbered([lead(1)]), grade=False)
    hot = events(1, T, "form_submit", 2, form="demo") + events(1, T, "webinar_attended", 2)
    import_records(db, config, "events", numbered(hot + events(1, T, n=5)), grade=False)
    first = regrade(db, config, as_of=T)
    assert db.execute("SELECT lifecycle FROM leads").fetchone()[0] == "mql"
    # handed over from an A4 in prospects, then out of its audience (lead only) in the same run
    assert not db.execute("SELECT count(*) FROM grades WHERE model = 'prospects'").fetchone()[0]
    moves = db.execute(
        "SELECT from_grade, to_grade FROM grade_history WHERE model = 'prospects'"
        " AND category IS NULL"
        " ORDER BY id"
    ).fetchall()
    assert moves == [(None, "A4"), ("A4", None)]
    assert first.rows_written
    assert regrade(db, config, as_of=T).kept == 1
