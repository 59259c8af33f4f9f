"""Re-grading through the store: history reasons, audiences, hand-over, and agreement with the core."""

from datetime import UTC, datetime, timedelta

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grading.core.batch import CompactGrade
from grading.core.config import load_config
from grading.core.scoring import Event, grade_lead
from grading.services.grader import stored_form
from grading.services.grading import regrade
from grading.services.ingest import import_records
from grading.store.db import connect

T = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def iso(moment):
    return moment.isoformat().replace("+00:00", "Z")


def records(*items):
    return [(str(i), r) for i, r in enumerate(items, start=1)]


def load(db, config, kind, *items, grade=False, as_of=T):
    return import_records(db, config, kind, records(*items), grade=grade, as_of=as_of)


def grades_of(db):
    return {
        (ext, model, cat): grade
        for ext, model, cat, grade in db.execute(
            "SELECT l.ext_id, g.model, g.category, g.grade FROM grades g JOIN leads l ON l.id = g.lead_id"
        )
    }


def history(db):
    return db.execute(
        "SELECT l.ext_id, h.category, h.from_grade, h.to_grade, h.reason FROM grade_history h"
        " JOIN leads l ON l.id = h.lead_id ORDER BY h.id"
    ).fetchall()


CEO = {
    "id": "L-1",
    "person": {"title": "CEO", "phone": "1"},
    "company": {"domain": "acme.io", "industry": "software", "employees": 500},
}


def downloads(n, lead="L-1", days_ago=0):
    return [
        {
            "lead": lead,
            "type": "download",
            "at": iso(T - timedelta(days=days_ago, minutes=i)),
            "properties": {"product": "analytics"},
        }
        for i in range(n)
    ]


def test_a_second_regrade_with_nothing_changed_writes_nothing(db, config):
    load(db, config, "leads", CEO)
    load(db, config, "events", *downloads(3))
    first = regrade(db, config, as_of=T)
    second = regrade(db, config, as_of=T)
    assert first.rows_written == 2 and second.rows_written == 0 and second.changed == 0


def test_history_records_lead_update_event_and_time_passing(db, config):
    load(db, config, "leads", CEO, grade=True)
    load(db, config, "events", *downloads(3), *downloads(3, days_ago=0), grade=True)
    regrade(db, config, as_of=T + timedelta(days=200))
    rows = [r for r in history(db) if r[1] is None]
    assert rows == [
        ("L-1", None, None, "A1", "lead-update"),
        ("L-1", None, "A1", "A2", "event"),
        ("L-1", None, "A2", "A1", "regrade"),
    ]


def test_a_lead_leaving_the_audience_loses_its_grade_and_that_is_recorded(db, config):
    load(db, config, "leads", CEO, grade=True)
    load(db, config, "leads", {"id": "L-1", "person": {"lifecycle": "customer"}}, grade=True)
    assert grades_of(db) == {}
    assert history(db)[-2:] == [
        ("L-1", None, "A1", None, "lead-update"),
        ("L-1", "analytics", "A1", None, "lead-update"),
    ]


def test_first_sales_route_keeps_the_hand_over_time_and_moves_lead_to_mql(db, config):
    load(db, config, "leads", CEO)
    load(db, config, "events", *downloads(3))
    regrade(db, config, as_of=T)  # analytics A2 routes to sales
    lifecycle, handed = db.execute("SELECT lifecycle, handed_over_at FROM leads").fetchone()
    assert (lifecycle, handed) == ("mql", "2026-11-01T12:00:00Z")
    assert orjson.loads(db.execute("SELECT attrs FROM leads").fetchone()[0])["lifecycle"] == "mql"


def test_only_the_named_model_is_regraded(db, model_dict):
    second = dict(model_dict["models"][0], name="other", categories=[])
    model_dict["models"].append(second)
    config = load_config(model_dict)
    load(db, config, "leads", CEO)
    regrade(db, config, as_of=T, models=["other"])
    assert {k[1] for k in grades_of(db)} == {"other"}


def test_grades_of_a_removed_model_are_dropped_on_a_full_regrade(db, config, model_dict):
    load(db, config, "leads", CEO)
    regrade(db, config, as_of=T)
    model_dict["models"][0]["name"] = "renamed"
    regrade(db, load_config(model_dict), as_of=T, reason="model-change")
    assert {k[1] for k in grades_of(db)} == {"renamed"}
    assert ("L-1", None, "A1", None, "model-change") in history(db)


def test_a_model_reading_a_new_property_reclassifies_stored_events(db, config, model_dict):
    load(db, config, "leads", CEO)
    load(
        db,
        config,
        "events",
        *[{"lead": "L-1", "type": "page_view", "at": iso(T), "properties": {"asset": "roi"}}],
    )
    regrade(db, config, as_of=T)
    rule = {
        "id": "roi",
        "event": "page_view",
        "where": {"field": "asset", "equals": "ROI"},
        "points": 50,
    }
    model_dict["models"][0]["activity"]["rules"].append(rule)
    regrade(db, load_config(model_dict), as_of=T, reason="model-change")
    assert grades_of(db)[("L-1", "prospects", "")] == "A3"


# The store's bulk path must agree with the core's reference path on any data.

URLS = ["/pricing", "/careers", "/blog/x", "/products/analytics", "/jobs/7"]
TYPES = ["page_view", "download", "webinar_attended"]
event_strategy = st.fixed_dictionaries(
    {
        "type": st.sampled_from(TYPES),
        "minutes": st.integers(min_value=-2 * 1440, max_value=120 * 1440),
        "url": st.sampled_from(URLS),
        "product": st.sampled_from(["analytics", "crm", None]),
    }
)
lead_strategy = st.fixed_dictionaries(
    {
        "title": st.sampled_from(["CEO", "Student", "Analyst", ""]),
        "employees": st.sampled_from([10, 199, 200, "250", None]),
        "events": st.lists(event_strategy, max_size=25),
    }
)


@pytest.mark.slow
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(leads=st.lists(lead_strategy, min_size=1, max_size=6))
def test_store_grades_equal_the_core_reference(tmp_path_factory, config, leads):
    db = connect(str(tmp_path_factory.mktemp("p") / "g.db"))
    lead_rows, event_rows, expected = [], [], {}
    for i, spec in enumerate(leads):
        company = {"industry": "software"}
        if spec["employees"] is not None:
            company["employees"] = spec["employees"]
        person = {"title": spec["title"]} if spec["title"] else {}
        lead_rows.append({"id": f"L-{i}", "person": person, "company": company})
        events = []
        for e in spec["events"]:
            props = {"url": e["url"]} | ({"product": e["product"]} if e["product"] else {})
            at = T - timedelta(minutes=e["minutes"])
            events.append(Event(e["type"], at, props))
            event_rows.append(
                {"lead": f"L-{i}", "type": e["type"], "at": iso(at), "properties": props}
            )
        for grade in grade_lead(
            config.models[0], person | {"lifecycle": "lead"}, company, events, T
        ):
            expected[(f"L-{i}", grade.category or "")] = stored_form(CompactGrade.from_grade(grade))
    load(db, config, "leads", *lead_rows)
    if event_rows:
        load(db, config, "events", *event_rows)
    regrade(db, config, as_of=T)
    stored = {
        (ext, cat): (fs, f, a_s, a, g, r, x)
        for ext, cat, fs, f, a_s, a, g, r, x in db.execute(
            "SELECT l.ext_id, category, fit_score, fit, activity_score, activity, grade, route, explanation"
            " FROM grades JOIN leads l ON l.id = lead_id"
        )
    }
    assert stored == expected
    db.conn.close()


def test_a_new_kind_of_event_does_not_make_a_running_process_forget_the_old_ones(db, config):
    """The grader is kept between calls; the first event of a new class once wiped the classes
    learned before, so earlier downloads stopped counting until the process restarted."""
    lead = {"id": "L-1", "person": {"title": "CEO"}, "company": {"domain": "a.io"}}
    load(db, config, "leads", lead, grade=True)
    downloads = [
        {"id": f"D{i}", "lead": "L-1", "type": "download", "at": iso(T - timedelta(hours=2))}
        for i in range(3)
    ]
    load(db, config, "events", *downloads, grade=True)

    def main_grade():
        return db.execute(
            "SELECT grade, activity_score FROM grades WHERE category = '' AND model = 'prospects'"
        ).fetchone()

    before = main_grade()
    assert before[1] > 0
    view = {
        "id": "V1",
        "lead": "L-1",
        "type": "page_view",
        "at": iso(T),
        "properties": {"url": "/new"},
    }
    load(db, config, "events", view, grade=True)
    assert main_grade() == before
    regrade(db, config, as_of=T)
    assert main_grade() == before
