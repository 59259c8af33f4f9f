"""Laws of the store: importing twice stores once; re-grading twice changes nothing."""

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grading.services.grading import regrade
from grading.services.ingest import import_records
from grading.store.db import connect

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
