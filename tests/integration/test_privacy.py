"""Privacy and accountability: forget a person everywhere, export everything about them, the
audit log, and login rate limiting (issue 6)."""

import os
import re
import sqlite3
import time
from datetime import UTC, datetime

import orjson
import pytest
import yaml

from grading.services.ingest import import_records
from grading.store.db import connect
from grading.store.privacy import tables_with
from grading.store.users import create_user
from grading.web.login import PER_ADDRESS, PER_NAME, WINDOW_S

EMAIL = "ana.secret@acme.io"


@pytest.fixture
def hooked_config_file(config_file, model_dict, monkeypatch):
    monkeypatch.setenv("HOOK_SECRET", "s3cret")
    model_dict["webhooks"] = [{"url": "http://127.0.0.1:9/hook", "secret_env": "HOOK_SECRET"}]
    with open(config_file, "w") as handle:
        yaml.safe_dump(model_dict, handle, sort_keys=False)
    return config_file


def fill(cli, tmp_path):
    """Two leads of one company, one alone at its own; events, an outcome, grades, history."""
    leads = tmp_path / "leads.jsonl"
    leads.write_text(
        "\n".join(
            orjson.dumps(r).decode()
            for r in (
                {
                    "id": "L-ana",
                    "person": {"email": EMAIL, "title": "CEO", "phone": "1"},
                    "company": {"domain": "solo.io", "industry": "software", "employees": 300},
                },
                {"id": "L-bo", "person": {"title": "CTO"}, "company": {"domain": "acme.io"}},
                {"id": "L-cy", "person": {"title": "CFO"}, "company": {"domain": "acme.io"}},
            )
        )
    )
    events = tmp_path / "events.jsonl"
    events.write_text(
        "\n".join(
            orjson.dumps(
                {
                    "id": f"E-{lead}-{i}",
                    "lead": lead,
                    "type": "download",
                    "at": f"2026-11-{10 + i:02d}T09:00:00Z",
                    "properties": {"product": "analytics"},
                }
            ).decode()
            for lead in ("L-ana", "L-bo")
            for i in range(12)
        )
    )
    outcomes = tmp_path / "outcomes.jsonl"
    outcomes.write_text('{"lead": "L-ana", "outcome": "won", "at": "2026-11-23T00:00:00Z"}')
    for kind, path in (("leads", leads), ("events", events), ("outcomes", outcomes)):
        assert cli("import", kind, str(path)).exit_code == 0
    # a later change of the person, so any history kept of attributes exists too
    leads.write_text('{"id": "L-ana", "person": {"title": "Chief Executive"}}')
    assert cli("import", "leads", str(leads)).exit_code == 0


def rows_naming(db, lead_id):
    return {
        table: n
        for table in tables_with(db, "lead_id")
        if (
            n := db.execute(
                f'SELECT count(*) FROM "{table}" WHERE lead_id = ?', [lead_id]
            ).fetchone()[0]
        )
    }


def cell_counts_agree(db):
    kept = {
        (m, c, g): (n, w, lost)
        for m, c, g, n, w, lost in db.execute(
            "SELECT model, category, grade, leads, won, lost FROM cell_stats WHERE leads OR won OR lost"
        )
    }
    counted = {
        (m, c, g): (n, w, lost)
        for m, c, g, n, w, lost in db.execute(
            "SELECT g.model, g.category, g.grade, count(*), sum(l.outcome IS 'won'),"
            " sum(l.outcome IS 'lost') FROM grades g JOIN leads l ON l.id = g.lead_id"
            " GROUP BY g.model, g.category, g.grade"
        )
    }
    return kept == counted


def test_forget_erases_the_person_everywhere_and_audits_without_personal_data(
    cli, tmp_path, hooked_config_file
):
    fill(cli, tmp_path)
    db = connect(cli.db_path)
    ana = db.execute("SELECT id, company_id FROM leads WHERE ext_id = 'L-ana'").fetchone()
    before = rows_naming(db, ana[0])
    assert {"events", "outcomes", "grades", "grade_history", "outbox"} <= set(before)
    bo = rows_naming(db, db.execute("SELECT id FROM leads WHERE ext_id = 'L-bo'").fetchone()[0])

    result = cli("forget", "L-ana", "--yes")
    assert result.exit_code == 0, result.output
    assert "erased lead 'L-ana'" in result.output and f"{before['events']} events" in result.output

    assert db.execute("SELECT count(*) FROM leads WHERE ext_id = 'L-ana'").fetchone()[0] == 0
    assert rows_naming(db, ana[0]) == {}
    # the company only she worked for goes too; the shared one and the other leads stay
    assert db.execute("SELECT count(*) FROM companies WHERE id = ?", [ana[1]]).fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM companies").fetchone()[0] == 1
    bo_after = rows_naming(
        db, db.execute("SELECT id FROM leads WHERE ext_id = 'L-bo'").fetchone()[0]
    )
    assert bo_after == bo
    assert cell_counts_agree(db)
    # nothing personal is left anywhere in the database file's tables
    for (table,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
        dump = str(db.execute(f'SELECT * FROM "{table}"').fetchall())
        assert EMAIL not in dump and "L-ana" not in dump, table
    (entry,) = [e for e in connect(cli.db_path)["audit_log"].rows if e["action"] == "lead.erase"]
    assert entry["actor"].startswith("cli") and entry["target"] is None
    assert orjson.loads(entry["detail"])["rows"]["events"] == before["events"]

    again = cli("forget", "L-ana", "--yes")
    assert again.exit_code == 1 and "no lead" in again.output


def test_forget_asks_before_erasing(cli, tmp_path, config_file):
    fill(cli, tmp_path)
    result = cli("forget", "L-bo", input="n\n")
    assert result.exit_code == 1
    db = connect(cli.db_path)
    assert db.execute("SELECT count(*) FROM leads WHERE ext_id = 'L-bo'").fetchone()[0] == 1


def test_export_lead_returns_everything_stored_about_them(cli, tmp_path, hooked_config_file):
    fill(cli, tmp_path)
    out = tmp_path / "ana.json"
    result = cli("export-lead", "L-ana", "-o", str(out))
    assert result.exit_code == 0, result.output
    document = orjson.loads(out.read_text())
    assert document["lead"]["id"] == "L-ana" and document["lead"]["person"]["email"] == EMAIL
    assert document["lead"]["person"]["title"] == "Chief Executive"
    assert len(document["events"]) == 12  # all of them, not a page
    assert {e["id"] for e in document["events"]} == {f"E-L-ana-{i}" for i in range(12)}
    assert document["events"][0]["at"].endswith("Z")
    assert document["outcomes"] == [
        {"outcome": "won", "at": "2026-11-23T00:00:00Z", "amount": None}
    ]
    assert document["grades"] and all("explanation" in g for g in document["grades"])
    assert document["history"]
    assert document["webhook_messages"] and all(
        m["body"]["lead"] == "L-ana" for m in document["webhook_messages"]
    )
    printed = cli("export-lead", "L-ana")
    assert orjson.loads(printed.output)["lead"]["id"] == "L-ana"
    assert cli("export-lead", "nobody").exit_code == 1


def test_api_erase_and_export_are_for_admins(client, tokens):
    admin, marketing = tokens["admin"], tokens["marketing"]
    lead = {"id": "L-9", "person": {"email": EMAIL, "title": "CEO"}, "company": {"name": "Solo"}}
    assert client.post("/api/leads", json=lead, headers=marketing).status_code == 200
    event = {"id": "E-1", "lead": "L-9", "type": "download", "at": "2026-11-20T00:00:00Z"}
    assert (
        client.post("/api/events", json={"events": [event]}, headers=marketing).status_code == 200
    )

    assert client.get("/api/leads/L-9/export", headers=marketing).status_code == 403
    assert client.delete("/api/leads/L-9", headers=marketing).status_code == 403
    exported = client.get("/api/leads/L-9/export", headers=admin)
    assert exported.status_code == 200 and exported.json["events"][0]["id"] == "E-1"

    erased = client.delete("/api/leads/L-9", headers=admin)
    assert erased.status_code == 200
    assert erased.json["deleted"]["events"] == 1 and erased.json["deleted"]["leads"] == 1
    assert client.get("/api/leads/L-9", headers=admin).status_code == 404
    assert client.delete("/api/leads/L-9", headers=admin).status_code == 404
    assert client.get("/api/leads/L-9/export", headers=admin).status_code == 404
    # the event id is free again: the erased person's events are gone, not hidden
    assert client.post("/api/leads", json=lead, headers=marketing).status_code == 200
    again = client.post("/api/events", json={"events": [event]}, headers=marketing)
    assert again.json["stored"] == 1

    entries = client.get("/api/audit", headers=admin).json["entries"]
    erase = next(e for e in entries if e["action"] == "lead.erase")
    assert erase["actor"].startswith("token:") and erase["id"] == erased.json["audit_id"]
    assert EMAIL not in str(entries) and "L-9" not in str(erase)
    assert client.get("/api/audit", headers=marketing).status_code == 403


def test_the_audit_log_records_lifecycle_owner_reloads_and_accounts(client, tokens, cli, app):
    sales, admin = tokens["sales"], tokens["admin"]
    client.post("/api/leads", json={"id": "L-1", "person": {"title": "CTO"}}, headers=admin)
    patched = client.patch(
        "/api/leads/L-1", json={"lifecycle": "sql", "owner": "kim"}, headers=sales
    )
    assert patched.status_code == 200
    client.post("/api/models/reload", headers=admin)  # unchanged file: nothing to record
    entries = client.get("/api/audit", headers=admin).json["entries"]
    (update,) = [e for e in entries if e["action"] == "lead.update"]
    assert update["target"] == "L-1"
    assert update["detail"] == {"lifecycle": ["lead", "sql"], "owner": [None, "kim"]}
    assert update["actor"].startswith("token:")
    assert not [e for e in entries if e["action"] == "model.reload"]

    path = app.config["MODEL_FILE"]
    with open(path, "a") as handle:
        handle.write("\nmodels: oops\n")
    refused = client.post("/api/models/reload", headers=admin)
    assert refused.status_code == 422
    entries = client.get("/api/audit", headers=admin).json["entries"]
    assert entries[0]["action"] == "model.reload" and entries[0]["detail"]["result"] == "refused"

    result = cli("token", "create", "--role", "viewer", "--name", "dash")
    assert result.exit_code == 0
    assert cli("audit").output.count("token.create") == 1


@pytest.fixture
def site(app, config):
    db = connect(app.config["DATABASE"])
    for name, role in (("ada", "admin"), ("sam", "sales")):
        create_user(db, name, role, "correct horse", "2026-11-01T00:00:00Z")
    import_records(
        db, config, "leads", [("1", {"id": "L-1", "person": {"email": EMAIL, "title": "CEO"}})]
    )
    db.conn.close()
    return app


def csrf(client, url):
    return re.search(r'name="csrf" value="([^"]+)"', client.get(url).text).group(1)


def login(client, name, password="correct horse"):
    return client.post(
        "/login", data={"name": name, "password": password, "csrf": csrf(client, "/login")}
    )


def test_web_erasure_needs_the_id_typed_and_is_for_admins(site):
    sales = site.test_client()
    login(sales, "sam")
    assert sales.get("/leads/L-1/erase").status_code == 403
    assert sales.get("/leads/L-1/export").status_code == 403
    assert sales.get("/audit").status_code == 403
    assert "erase this person" not in sales.get("/leads/L-1").text

    admin = site.test_client()
    login(admin, "ada")
    page = admin.get("/leads/L-1")
    assert "erase this person" in page.text and "/leads/L-1/export" in page.text
    exported = admin.get("/leads/L-1/export")
    assert exported.status_code == 200 and "attachment" in exported.headers["Content-Disposition"]
    assert orjson.loads(exported.data)["lead"]["person"]["email"] == EMAIL
    confirm = admin.get("/leads/L-1/erase")
    assert confirm.status_code == 200 and "grades" in confirm.text
    token = csrf(admin, "/leads/L-1/erase")
    wrong = admin.post(
        "/leads/L-1/erase", data={"csrf": token, "confirm": "L-2"}, follow_redirects=True
    )
    assert "Type the lead" in wrong.text
    assert admin.get("/leads/L-1").status_code == 200
    done = admin.post(
        "/leads/L-1/erase", data={"csrf": token, "confirm": "L-1"}, follow_redirects=True
    )
    assert "Erased one person" in done.text
    assert admin.get("/leads/L-1").status_code == 404
    audit_page = admin.get("/audit")
    assert audit_page.status_code == 200 and "lead.erase" in audit_page.text
    assert EMAIL not in audit_page.text


def test_web_lifecycle_change_is_audited(site):
    client = site.test_client()
    login(client, "sam")
    token = csrf(client, "/leads/L-1")
    client.post("/leads/L-1", data={"csrf": token, "lifecycle": "sql", "owner": "sam"})
    client.post("/leads/L-1", data={"csrf": token, "lifecycle": "sql", "owner": "sam"})  # no change
    db = connect(site.config["DATABASE"])
    (entry,) = [e for e in db["audit_log"].rows if e["action"] == "lead.update"]
    assert entry["actor"] == "user:sam" and entry["target"] == "L-1"
    assert orjson.loads(entry["detail"]) == {"lifecycle": ["lead", "sql"], "owner": [None, "sam"]}
    admin = site.test_client()
    login(admin, "ada")
    text = admin.get("/audit").text
    assert "user:sam" in text and "lead.update" in text and "L-1" in text


def test_logins_are_rate_limited_per_name_and_address(site):
    client = site.test_client()
    for _ in range(PER_NAME):
        assert login(client, "ada", "wrong").status_code == 401
    blocked = login(client, "ada")  # even the right password is refused now
    assert blocked.status_code == 429 and "Too many failed logins" in blocked.text
    assert int(blocked.headers["Retry-After"]) > 0
    assert login(client, "sam").status_code == 302  # another name still gets in


@pytest.mark.slow  # ~4 s: about 50 logins, each one a password check
def test_the_throttle_forgets_failures_after_the_window(site, monkeypatch):
    now = [float(int(time.time()))]
    monkeypatch.setattr(time, "time", lambda: now[0])  # the throttle's clock, frozen

    def wait_seconds(name, address, password="wrong"):
        """0 when a try is allowed (it then fails, but for `password`), else the Retry-After."""
        client = site.test_client()
        client.environ_base["REMOTE_ADDR"] = address
        response = login(client, name, password)
        assert response.status_code in (302, 401, 429)
        return int(response.headers["Retry-After"]) if response.status_code == 429 else 0

    for _ in range(PER_NAME - 1):
        assert wait_seconds("Ada", "10.0.0.1") == 0
    assert wait_seconds("ada ", "10.0.0.1") == 0  # the last failure allowed
    assert wait_seconds("ada", "10.0.0.1") == WINDOW_S + 1
    assert wait_seconds("ada", "10.0.0.2", "correct horse") == 0  # per address
    now[0] += WINDOW_S
    assert wait_seconds("ada", "10.0.0.1", "correct horse") == 0
    for i in range(PER_ADDRESS):
        wait_seconds(f"user{i}", "10.0.0.9")  # spraying many names from one address
    assert wait_seconds("someone-else", "10.0.0.9") > 0
    for _ in range(PER_NAME - 1):
        wait_seconds("ada", "10.0.0.3")
    assert wait_seconds("ada", "10.0.0.3", "correct horse") == 0
    for _ in range(PER_NAME):  # a good login forgot the name's failures from there
        assert wait_seconds("ada", "10.0.0.3") == 0


MARK = "Qx9Erase"  # in every personal field; searched in the raw files case-insensitively


def fill_marked(cli, tmp_path):
    """A person with the marker in every field they gave, at a company of their own, with events
    whose properties hold it (one the model reads, so it is in an event class), an outcome,
    webhook messages and a later change; and others, so the search index has several segments."""
    ext = f"L-{MARK}"
    email = f"{MARK}.ana@{MARK}-mail.io"
    others = tmp_path / "others.jsonl"
    others.write_text(
        "\n".join(
            orjson.dumps(
                {"id": f"L-o{i}", "person": {"title": "CTO", "email": f"o{i}@acme.io"}}
            ).decode()
            for i in range(30)
        )
    )
    assert cli("import", "leads", str(others)).exit_code == 0
    person = {
        "email": email,
        "first_name": f"{MARK}First",
        "last_name": f"{MARK}Last",
        "title": f"{MARK} Officer",
        "phone": f"+49 {MARK}",
        "notes": f"met {MARK} at a fair",
    }
    company = {"domain": f"{MARK}-solo.io", "name": f"{MARK} Solo GmbH", "employees": 300}
    leads = tmp_path / "ana.jsonl"
    leads.write_text(orjson.dumps({"id": ext, "person": person, "company": company}).decode())
    assert cli("import", "leads", str(leads)).exit_code == 0
    events = tmp_path / "events.jsonl"
    rows = [
        {
            "id": f"E-{MARK}-{i}",
            "lead": ext,
            "type": "page_view",
            "at": f"2026-11-{10 + i:02d}T09:00:00Z",
            "properties": {"url": f"/pricing?email={email}", "form": f"{MARK} contact form"},
        }
        for i in range(8)
    ]
    rows.append({"lead": ext, "type": "download", "at": "2026-11-20T09:00:00Z", "properties": {}})
    rows.append({"lead": "L-o1", "type": "download", "at": "2026-11-20T09:00:00Z"})
    events.write_text("\n".join(orjson.dumps(r).decode() for r in rows))
    assert cli("import", "events", str(events)).exit_code == 0
    outcomes = tmp_path / "outcomes.jsonl"
    outcomes.write_text(f'{{"lead": "{ext}", "outcome": "won", "at": "2026-11-23T00:00:00Z"}}')
    assert cli("import", "outcomes", str(outcomes)).exit_code == 0
    leads.write_text(orjson.dumps({"id": ext, "person": {"title": f"Chief {MARK}"}}).decode())
    assert cli("import", "leads", str(leads)).exit_code == 0
    return ext


def raw_bytes(path):
    found = {}
    for suffix in ("", "-wal"):
        if os.path.exists(path + suffix):
            with open(path + suffix, "rb") as handle:
                found[suffix or "db"] = handle.read().lower()
    return found


def test_after_forget_no_byte_of_the_person_is_left_in_the_file_or_its_wal(
    cli, tmp_path, hooked_config_file, monkeypatch
):
    """As on an SQLite built without SECURE_DELETE: every connection starts with it off."""
    connect_sqlite = sqlite3.connect

    def without_secure_delete(*args, **kwargs):
        conn = connect_sqlite(*args, **kwargs)
        conn.execute("PRAGMA secure_delete = OFF")
        return conn

    monkeypatch.setattr(sqlite3, "connect", without_secure_delete)
    ext = fill_marked(cli, tmp_path)
    watcher = connect(cli.db_path)  # open all along: closing the last one would delete the WAL
    export = cli("export-lead", ext)
    assert export.exit_code == 0 and MARK in export.output
    assert orjson.loads(export.output)["search_index"]["title"] == f"Chief {MARK}"
    marker = MARK.lower().encode()
    assert any(marker in data for data in raw_bytes(cli.db_path).values())  # the test can see it
    (classes_before,) = watcher.execute("SELECT count(*) FROM event_classes").fetchone()
    # as every full re-grade does: on an SQLite built with STAT4 this samples index keys (ids)
    watcher.execute("ANALYZE")

    result = cli("forget", ext, "--yes")
    assert result.exit_code == 0, result.output
    assert "event_classes" in result.output

    left = {name: data.count(marker) for name, data in raw_bytes(cli.db_path).items()}
    assert left == {name: 0 for name in left}, left
    watcher.execute("PRAGMA wal_checkpoint(FULL)")  # whatever a WAL still held reaches the file
    left = {name: data.count(marker) for name, data in raw_bytes(cli.db_path).items()}
    assert left == {name: 0 for name in left}, left
    # the rest is intact: the others are found, their classes kept, the index consistent
    assert watcher.execute("SELECT count(*) FROM leads").fetchone()[0] == 30
    (classes_after,) = watcher.execute("SELECT count(*) FROM event_classes").fetchone()
    assert 0 < classes_after < classes_before
    assert watcher.execute(
        "SELECT count(*) FROM events WHERE class_id NOT IN (SELECT id FROM event_classes)"
    ).fetchone() == (0,)
    assert watcher.execute(
        "SELECT count(*) FROM lead_search WHERE lead_search MATCH 'cto'"
    ).fetchone() == (30,)
    watcher.execute("INSERT INTO lead_search (lead_search) VALUES ('integrity-check')")
    watcher.conn.close()


def test_a_kept_grader_does_not_reuse_the_classes_an_erasure_deleted(tmp_path, config):
    """The server's grader keeps class ids; an erasure elsewhere deletes some of them."""
    from grading.services.privacy import forget

    path = str(tmp_path / "g.db")
    server, other = connect(path), connect(path)
    people = [{"id": "L-ana", "person": {"title": "CEO"}}, {"id": "L-bo", "person": {}}]
    import_records(server, config, "leads", [(str(i), p) for i, p in enumerate(people)])

    def visit(lead, n, url="/careers/ana"):
        event = {
            "id": f"E-{lead}-{n}",
            "lead": lead,
            "type": "page_view",
            "at": "2026-11-20T09:00:00Z",
            "properties": {"url": url},
        }
        import_records(server, config, "events", [("1", event)])

    visit("L-ana", 1)  # the class exists only through her event, and the grader keeps its id
    (erased,) = server.execute("SELECT max(id) FROM event_classes").fetchone()
    assert forget(other, config, "L-ana", "test")["deleted"]["event_classes"] == 1
    visit("L-bo", 3, url="/jobs")  # another key never takes the erased id (the grader knows it)
    visit("L-bo", 2)  # the same class again: a new id, stored with its key
    (reused,) = server.execute(
        "SELECT count(*) FROM event_classes WHERE id <= ?", [erased]
    ).fetchone()
    assert reused == erased - 1
    assert server.execute(
        "SELECT count(*) FROM events WHERE class_id NOT IN (SELECT id FROM event_classes)"
    ).fetchone() == (0,)
    fresh = connect(path)
    from grading.services.grading import regrade

    regrade(fresh, config, as_of=datetime(2026, 11, 21, tzinfo=UTC))
    bo = fresh.execute(
        "SELECT explanation FROM grades g JOIN leads l ON l.id = g.lead_id"
        " WHERE l.ext_id = 'L-bo' AND g.category = ''"
    ).fetchone()[0]
    assert "careers" in bo  # graded with the class, in a process that read it from the file


def test_forget_says_when_a_reader_kept_the_wal_from_being_truncated(tmp_path, config):
    from grading.services.privacy import forget

    path = str(tmp_path / "g.db")
    db, reader = connect(path), connect(path)
    import_records(db, config, "leads", [("1", {"id": "L-1", "person": {"email": EMAIL}})])
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM leads").fetchone()  # holds a snapshot of the WAL
    db.execute("PRAGMA busy_timeout = 50")
    assert forget(db, config, "L-1", "test")["wal_cleared"] is False
    reader.execute("COMMIT")
    import_records(db, config, "leads", [("1", {"id": "L-2", "person": {"email": EMAIL}})])
    assert forget(db, config, "L-2", "test")["wal_cleared"] is True
    assert os.path.getsize(path + "-wal") == 0
