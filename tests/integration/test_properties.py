"""Laws of the store: importing twice stores once; re-grading twice changes nothing."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grading.services.grading import regrade
from grading.services.ingest import import_records
from grading.store.db import connect
from grading.store.queries import SORTS

pytestmark = pytest.mark.slow  # hypothesis over a real database: seconds a test

T = datetime(2026, 11, 1, tzinfo=UTC)
events = st.lists(
    st.fixed_dictionaries(
        {
            "id": st.one_of(st.none(), st.sampled_from([f"E-{i}" for i in range(8)])),
            "type": st.sampled_from(["page_view", "download"]),
            "days": st.integers(0, 100),
            "url": st.sampled_from(["/pricing", "/careers", "/x"]),
        }
    ),
    max_size=30,
)


SORT_VALUE = {  # what each sort orders by, lowest first (updated_at is not in a listed row)
    "grade": lambda r: ("DCBA".index(r["fit"]), r["activity"], r["activity_score"]),
    "fit_score": lambda r: r["fit_score"],
    "activity_score": lambda r: r["activity_score"],
    "last_activity": lambda r: (r["last_event_at"] is not None, r["last_event_at"] or 0),
    "name": lambda r: (r["name"] is not None, r["name"] or ""),
    "id": lambda r: r["id"],
}


def numbered(items):
    return [(str(i), item) for i, item in enumerate(items, 1)]


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(events=events)
def test_importing_the_same_events_twice_stores_them_once_and_regrading_twice_changes_nothing(
    tmp_path_factory, config, events
):
    db = connect(str(tmp_path_factory.mktemp("p") / "g.db"))
    import_records(db, config, "leads", numbered([{"id": "L-1", "person": {"title": "CEO"}}]))
    rows = []
    for e in events:
        row = {
            "lead": "L-1",
            "type": e["type"],
            "properties": {"url": e["url"]},
            "at": (T - timedelta(days=e["days"])).isoformat(),
        }
        if e["id"]:
            row["id"] = e["id"]
        rows.append(row)
    import_records(db, config, "events", numbered(rows), as_of=T)
    with_id = {e["id"] for e in events if e["id"]}
    expected = len(with_id) + sum(1 for e in events if not e["id"])
    assert db.execute("SELECT count(*) FROM events").fetchone()[0] == expected
    import_records(db, config, "events", numbered([r for r in rows if "id" in r]), as_of=T)
    assert db.execute("SELECT count(*) FROM events").fetchone()[0] == expected
    regrade(db, config, as_of=T)
    assert regrade(db, config, as_of=T).rows_written == 0
    db.conn.close()


def slow_cell_stats(db):
    """The matrix computed the slow way, from grades and each lead's latest outcome."""
    out = {}
    rows = db.execute(
        "SELECT g.model, g.category, g.grade, (SELECT o.outcome FROM outcomes o WHERE o.lead_id = g.lead_id"
        " ORDER BY o.at DESC, o.id DESC LIMIT 1) FROM grades g"
    )
    for model, category, grade, outcome in rows:
        cell = out.setdefault((model, category, grade), [0, 0, 0])
        cell[0] += 1
        cell[1] += outcome == "won"
        cell[2] += outcome == "lost"
    return out


def kept_cell_stats(db):
    rows = db.execute("SELECT model, category, grade, leads, won, lost FROM cell_stats")
    return {(m, c, g): [n, w, lo] for m, c, g, n, w, lo in rows if (n, w, lo) != (0, 0, 0)}


step = st.one_of(
    st.tuples(
        st.just("lead"),
        st.integers(0, 4),
        st.sampled_from(["CEO", "Student", "CTO"]),
        st.sampled_from(["lead", "customer"]),
    ),
    st.tuples(
        st.just("event"),
        st.integers(0, 4),
        st.sampled_from(["download", "page_view"]),
        st.integers(0, 40),
    ),
    st.tuples(
        st.just("outcome"), st.integers(0, 4), st.sampled_from(["won", "lost"]), st.integers(0, 40)
    ),
    st.tuples(st.just("regrade"), st.integers(0, 120)),
)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=st.lists(step, min_size=1, max_size=15))
def test_the_kept_matrix_always_equals_the_matrix_counted_from_grades(
    tmp_path_factory, config, steps
):
    db = connect(str(tmp_path_factory.mktemp("m") / "g.db"))
    known = set()
    for item in steps:
        kind = item[0]
        if kind == "lead":
            _, n, title, lifecycle = item
            import_records(
                db,
                config,
                "leads",
                numbered(
                    [
                        {
                            "id": f"L-{n}",
                            "person": {"title": title, "lifecycle": lifecycle},
                            "company": {"employees": 500},
                        }
                    ]
                ),
                as_of=T,
            )
            known.add(n)
        elif kind in ("event", "outcome") and item[1] in known:
            _, n, what, days = item
            at = (T - timedelta(days=days)).isoformat()
            if kind == "event":
                record = {
                    "lead": f"L-{n}",
                    "type": what,
                    "at": at,
                    "properties": {"product": "analytics"},
                }
                import_records(db, config, "events", numbered([record]), as_of=T)
            else:
                import_records(
                    db,
                    config,
                    "outcomes",
                    numbered([{"lead": f"L-{n}", "outcome": what, "at": at}]),
                )
        elif kind == "regrade":
            regrade(db, config, as_of=T + timedelta(days=item[1]))
        assert kept_cell_stats(db) == slow_cell_stats(db)
    db.conn.close()


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    titles=st.lists(st.sampled_from(["CEO", "Student", "CTO", "Analyst"]), min_size=1, max_size=25),
    downloads=st.lists(st.integers(0, 8), min_size=25, max_size=25),
    cells=st.lists(
        st.sampled_from(["A1", "A2", "A3", "A4", "C1", "D1", "D2"]), max_size=3, unique=True
    ),
    fit=st.lists(st.sampled_from("ABCD"), max_size=2, unique=True),
    descending=st.booleans(),
    limit=st.integers(1, 7),
    offset=st.integers(0, 20),
    sort=st.sampled_from(list(SORTS)),
)
def test_the_cell_by_cell_page_equals_the_sorted_query(
    tmp_path_factory, config, titles, downloads, cells, fit, descending, limit, offset, sort
):
    from grading.core.records import LIFECYCLES
    from grading.store.queries import LeadFilter, list_leads

    db = connect(str(tmp_path_factory.mktemp("q") / "g.db"))
    leads = [
        {
            "id": f"L-{i:02d}",
            "person": {"title": t},
            "company": {"employees": 500, "industry": "software"},
        }
        for i, t in enumerate(titles)
    ]
    import_records(db, config, "leads", numbered(leads), as_of=T)
    events = [
        {"lead": f"L-{i:02d}", "type": "download", "at": (T - timedelta(hours=h)).isoformat()}
        for i in range(len(titles))
        for h in range(downloads[i])
    ]
    if events:
        import_records(db, config, "events", numbered(events), as_of=T)
    fast = LeadFilter("prospects", cells=cells, fit=fit)
    slow = LeadFilter(
        "prospects", cells=cells, fit=fit, lifecycle=list(LIFECYCLES)
    )  # reads lead fields
    got, total = list_leads(db, fast, sort=sort, descending=descending, limit=limit, offset=offset)
    want, want_total = list_leads(
        db, slow, sort=sort, descending=descending, limit=limit, offset=offset
    )
    assert [r["id"] for r in got] == [r["id"] for r in want] and total == want_total
    # one meaning of the direction for every sort and path: asc is the lowest value first (for
    # grade: the coldest cell), and desc is exactly asc turned round
    for lead_filter in (fast, slow):
        both = {
            way: list_leads(db, lead_filter, sort=sort, descending=way, limit=1000)[0]
            for way in (False, True)
        }
        assert [r["id"] for r in both[True]] == [r["id"] for r in reversed(both[False])]
        if sort in SORT_VALUE:
            values = [SORT_VALUE[sort](r) for r in both[False]]
            assert values == sorted(values), sort
    db.conn.close()
