"""retention.events_days: old events are purged on the schedule (and by `grading purge`), grades stay."""

from datetime import UTC, datetime, timedelta

import pytest

from grading.scheduler import regrade_job
from grading.services.retention import cutoff
from grading.store import audit
from grading.store.db import connect
from tests.factories import lead, make_config, spec_model

LEAD = lead(person={"title": "CEO"}, company={"industry": "software"})


@pytest.fixture
def model_dict(model_dict):
    model_dict["retention"] = {"events_days": 120}
    return model_dict


def days_ago(days):
    moment = datetime.now(UTC) - timedelta(days=days)
    return moment.isoformat().replace("+00:00", "Z")


def post_events(client, headers):
    assert client.post("/api/leads", json=LEAD, headers=headers).status_code == 200
    events = [
        {"id": f"E-{age}", "lead": "L-1", "type": "download", "at": days_ago(age)}
        for age in (400, 200, 121, 120, 119, 10, 0)
    ]
    response = client.post("/api/events", json={"events": events}, headers=headers)
    assert response.json["stored"] == 7


def stored_events(app):
    db = connect(app.config["DATABASE"])
    try:
        return sorted(row[0] for row in db.execute("SELECT ext_id FROM events"))
    finally:
        db.conn.close()


def grades(app):
    db = connect(app.config["DATABASE"])
    try:
        return db.execute(
            "SELECT lead_id, model, category, fit_score, activity_score, grade FROM grades ORDER BY 1, 2, 3"
        ).fetchall()
    finally:
        db.conn.close()


def test_the_scheduled_job_purges_old_events_and_no_grade_changes(app, client, tokens):
    post_events(client, tokens["admin"])
    before = grades(app)
    run = regrade_job(app)
    assert stored_events(app) == ["E-0", "E-10", "E-119"]
    assert run["changed"] == 0 and grades(app) == before
    db = connect(app.config["DATABASE"])
    (entry,) = [e for e in audit.entries(db) if e["action"] == "events.purge"]
    db.conn.close()
    # 120 days old is out of a 120-day window (age < 120 counts), so it goes too
    assert entry["actor"] == "schedule" and entry["detail"]["deleted"] == 4
    assert entry["detail"]["days"] == 120 and entry["target"] is None
    # nothing left to purge: no second audit entry
    regrade_job(app)
    db = connect(app.config["DATABASE"])
    assert [e["action"] for e in audit.entries(db)].count("events.purge") == 1
    db.conn.close()


def test_a_purged_event_sent_again_is_purged_again_and_counts_for_nothing(app, client, tokens):
    post_events(client, tokens["admin"])
    regrade_job(app)
    before = grades(app)
    again = {"events": [{"id": "E-400", "lead": "L-1", "type": "download", "at": days_ago(400)}]}
    client.post("/api/events", json=again, headers=tokens["admin"])
    assert grades(app) == before
    regrade_job(app)
    assert "E-400" not in stored_events(app)


def test_grading_purge_on_the_command_line(cli, write, config_file, tmp_path):
    leads = write("leads.jsonl", '{"id": "L-1", "person": {"title": "CEO"}}\n')
    lines = [
        f'{{"id": "E-{age}", "lead": "L-1", "type": "download", "at": "{days_ago(age)}"}}'
        for age in (300, 5)
    ]
    events = write("events.jsonl", "\n".join(lines) + "\n")
    assert cli("import", "leads", leads).exit_code == 0
    assert cli("import", "events", events).exit_code == 0
    result = cli("purge")
    assert result.exit_code == 0 and "deleted 1 event(s) older than 120 days" in result.output
    db = connect(cli.db_path)
    assert [r[0] for r in db.execute("SELECT ext_id FROM events")] == ["E-5"]
    (entry,) = [e for e in audit.entries(db) if e["action"] == "events.purge"]
    assert entry["actor"].startswith("cli:")
    db.conn.close()


def test_without_retention_purge_says_so(cli, write, model_dict, tmp_path):
    import yaml

    del model_dict["retention"]
    plain = write("plain.yaml", yaml.safe_dump(model_dict))
    result = cli("purge", config=plain)
    assert result.exit_code == 0 and "sets no retention" in result.output


# the cutoff: whole UTC days --------------------------------------------------------------


def test_without_retention_nothing_is_purged():
    config = make_config()
    assert config.retention_days is None
    assert cutoff(config, datetime(2026, 12, 1, 15, tzinfo=UTC)) is None


def test_the_cutoff_keeps_every_event_a_window_of_that_many_days_counts():
    data = spec_model()
    data["retention"] = {"events_days": 90}
    config = make_config(data)
    now = datetime(2026, 12, 1, 15, 30, tzinfo=UTC)
    # age < 90 days: the date of the event is at most 89 days before today
    assert cutoff(config, now) == datetime(2026, 9, 3, tzinfo=UTC)
    assert (now.date() - cutoff(config, now).date()).days == 89
