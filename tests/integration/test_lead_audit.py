"""Every change of a lead's lifecycle, owner or qualification is audited with who made it,
whichever way it comes (POST /api/leads, the batch, PATCH, `grading import` of JSONL and CSV, the
web form, a routing hand-over); a re-send that changes nothing writes no entry (issue item 8)."""

import getpass
import re
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from grading.services.ingest import ImportFailed, import_records
from grading.store import leads as lead_store
from grading.store.db import connect
from grading.store.users import create_user
from tests.factories import lead

# fit A (software, 500 people, CEO): three downloads and pricing make it A3 -> sales
SALES_LEAD = lead("L-hot", person={"title": "CEO"})


def updates(db_path):
    db = connect(db_path)
    try:
        rows = db.execute(
            "SELECT actor, target, detail FROM audit_log WHERE action = 'lead.update' ORDER BY id"
        ).fetchall()
    finally:
        db.conn.close()
    return [(actor, target, orjson.loads(detail)) for actor, target, detail in rows]


def token_actor(app, role):
    db = connect(app.config["DATABASE"])
    (token_id,) = db.execute("SELECT id FROM tokens WHERE name = ?", [role]).fetchone()
    db.conn.close()
    return f"token:{role} #{token_id}"


def test_post_lead_audits_a_change_of_an_existing_lead_and_not_a_resend(client, tokens, app):
    marketing = tokens["marketing"]
    lead = {"id": "L-1", "person": {"title": "CTO", "owner": "kim"}}
    assert client.post("/api/leads", json=lead, headers=marketing).status_code == 200
    assert updates(app.config["DATABASE"]) == []  # a new lead changed nobody's lead
    client.post("/api/leads", json=lead, headers=marketing)  # the same again
    assert updates(app.config["DATABASE"]) == []
    changed = {"id": "L-1", "person": {"lifecycle": "sql", "owner": "lea", "title": "CEO"}}
    assert client.post("/api/leads", json=changed, headers=marketing).status_code == 200
    assert updates(app.config["DATABASE"]) == [
        (
            token_actor(app, "marketing"),
            "L-1",
            {"lifecycle": ["lead", "sql"], "owner": ["kim", "lea"]},
        )
    ]
    client.post("/api/leads", json={"id": "L-1", "person": {"title": "VP"}}, headers=marketing)
    assert len(updates(app.config["DATABASE"])) == 1  # a title is not audited


def test_the_batch_audits_each_lead_that_really_changed(client, tokens, app):
    admin = tokens["admin"]
    leads = [{"id": f"L-{i}", "person": {"owner": "kim"}} for i in range(3)]
    client.post("/api/leads/batch", json={"leads": leads}, headers=admin)
    leads[0]["person"] = {"owner": "kim"}  # unchanged
    leads[1]["person"] = {"owner": None}  # removed
    leads[2]["person"] = {"owner": "kim", "qualification": ["budget"]}
    assert client.post("/api/leads/batch", json={"leads": leads}, headers=admin).status_code == 200
    actor = token_actor(app, "admin")
    assert updates(app.config["DATABASE"]) == [
        (actor, "L-1", {"owner": ["kim", None]}),
        (actor, "L-2", {"qualification": [None, ["budget"]]}),
    ]


def test_a_refused_batch_audits_nothing(client, tokens, app):
    admin = tokens["admin"]
    client.post("/api/leads", json={"id": "L-1", "person": {"owner": "kim"}}, headers=admin)
    bad = [{"id": "L-1", "person": {"owner": "lea"}}, {"id": "L-2", "person": {"lifecycle": "x"}}]
    assert client.post("/api/leads/batch", json={"leads": bad}, headers=admin).status_code == 422
    assert updates(app.config["DATABASE"]) == []


def test_patch_and_post_name_their_tokens(client, tokens, app):
    client.post("/api/leads", json={"id": "L-1", "person": {}}, headers=tokens["admin"])
    client.patch("/api/leads/L-1", json={"owner": "sam"}, headers=tokens["sales"])
    client.patch("/api/leads/L-1", json={"owner": "sam"}, headers=tokens["sales"])  # no change
    assert updates(app.config["DATABASE"]) == [
        (token_actor(app, "sales"), "L-1", {"owner": [None, "sam"]})
    ]


def test_cli_import_of_jsonl_and_csv_audits_as_the_os_user(cli, write):
    actor = f"cli:{getpass.getuser()}"
    first = '{"id": "L-1", "person": {"owner": "kim"}}\n{"id": "L-2", "person": {}}\n'
    assert cli("import", "leads", write("a.jsonl", first)).exit_code == 0
    assert cli("import", "leads", write("b.jsonl", first)).exit_code == 0  # the same again
    assert updates(cli.db_path) == []
    again = '{"id": "L-1", "person": {"owner": "lea", "lifecycle": "customer"}}\n'
    assert cli("import", "leads", write("c.jsonl", again)).exit_code == 0
    csv_text = "id,person.owner,person.qualification\nL-1,lea,\nL-2,sam,need\n"
    assert cli("import", "leads", write("d.csv", csv_text)).exit_code == 0
    assert cli("import", "leads", write("e.csv", csv_text)).exit_code == 0  # no change
    assert updates(cli.db_path) == [
        (actor, "L-1", {"lifecycle": ["lead", "customer"], "owner": ["kim", "lea"]}),
        (actor, "L-2", {"owner": [None, "sam"], "qualification": [None, "need"]}),
    ]
    shown = cli("audit").output
    assert "lead.update" in shown and actor in shown


def test_a_bad_row_rolls_back_the_audit_entries_of_the_file(cli, write):
    cli("import", "leads", write("a.jsonl", '{"id": "L-1", "person": {"owner": "kim"}}\n'))
    bad = '{"id": "L-1", "person": {"owner": "lea"}}\n{"id": "L-2", "person": {"lifecycle": 1}}\n'
    assert cli("import", "leads", write("b.jsonl", bad)).exit_code == 1
    assert updates(cli.db_path) == []


@pytest.mark.slow
def test_a_big_import_writes_every_entry_in_bulk(db, config):
    n = lead_store.AUDIT_BATCH * 2 + 7  # over the batch size twice: each flush counts
    leads = [(str(i), {"id": f"L-{i}", "person": {"owner": "kim"}}) for i in range(n)]
    import_records(db, config, "leads", leads, grade=False, actor="cli:test")
    moved = [(p, {"id": r["id"], "person": {"owner": "lea"}}) for p, r in leads]
    moved[5] = ("5", {"id": "L-5", "person": {"owner": "kim"}})  # unchanged: no entry
    import_records(db, config, "leads", moved, grade=False, actor="cli:test")
    rows = db.execute("SELECT actor, count(*), count(DISTINCT target) FROM audit_log").fetchall()
    assert rows == [("cli:test", n - 1, n - 1)]
    with pytest.raises(ImportFailed):
        import_records(
            db, config, "leads", [*leads, ("x", {"id": 3})], grade=False, actor="cli:test"
        )
    assert db.execute("SELECT count(*) FROM audit_log").fetchone() == (n - 1,)


def events_for(lead):
    at = (datetime.now(UTC) - timedelta(hours=1)).isoformat()  # inside every window
    downloads = [
        {"id": f"{lead}-d{i}", "lead": lead, "type": "download", "at": at} for i in range(3)
    ]
    pricing = {"id": f"{lead}-p", "lead": lead, "type": "page_view", "at": at}
    return [*downloads, {**pricing, "properties": {"url": "/pricing"}}]


def test_a_hand_over_to_sales_is_audited_as_routing(client, tokens, app):
    admin = tokens["admin"]
    already = {**SALES_LEAD, "id": "L-sql", "person": {"title": "CEO", "lifecycle": "sql"}}
    client.post("/api/leads/batch", json={"leads": [SALES_LEAD, already]}, headers=admin)
    events = events_for("L-hot") + events_for("L-sql")
    assert client.post("/api/events", json={"events": events}, headers=admin).status_code == 200
    lead = client.get("/api/leads/L-hot", headers=admin).json
    assert lead["lifecycle"] == "mql" and lead["handed_over_at"]
    assert client.get("/api/leads/L-sql", headers=admin).json["handed_over_at"]
    # L-sql was handed over too, but its lifecycle stayed sql: nothing changed to audit
    assert updates(app.config["DATABASE"]) == [("routing", "L-hot", {"lifecycle": ["lead", "mql"]})]


@pytest.fixture
def site(app, config):
    db = connect(app.config["DATABASE"])
    for name, role in (("ada", "admin"), ("sam", "sales")):
        create_user(db, name, role, "correct horse", "2026-11-01T00:00:00Z")
    import_records(db, config, "leads", [("1", {"id": "L-1", "person": {"title": "CTO"}})])
    db.conn.close()
    return app


def login(client, name):
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text).group(1)
    client.post("/login", data={"name": name, "password": "correct horse", "csrf": token})
    return client


def test_the_web_form_audits_as_the_user_and_the_audit_page_reads_well(site):
    sam = login(site.test_client(), "sam")
    token = re.search(r'name="csrf" value="([^"]+)"', sam.get("/leads/L-1").text).group(1)
    form = {"csrf": token, "lifecycle": "sql", "owner": "sam", "qualification_form": "1"}
    sam.post("/leads/L-1", data={**form, "qualification": ["budget", "need"]})
    sam.post("/leads/L-1", data={**form, "qualification": ["budget", "need"]})  # no change
    assert updates(site.config["DATABASE"]) == [
        (
            "user:sam",
            "L-1",
            {
                "lifecycle": ["lead", "sql"],
                "owner": [None, "sam"],
                "qualification": [None, ["budget", "need"]],
            },
        )
    ]
    page = login(site.test_client(), "ada").get("/audit").text
    row = re.search(r"<tr><td>[^<]*</td><td>user:sam</td>.*?</tr>", page, re.S).group(0)
    assert "lifecycle: lead → sql" in row and "owner: — → sam" in row
    assert "qualification: — → budget, need" in row and "[" not in row


def test_the_cli_and_the_page_show_one_readable_summary_of_a_change(cli, write):
    cli("import", "leads", write("a.jsonl", '{"id": "L-1", "person": {"owner": "kim"}}\n'))
    change = '{"id": "L-1", "person": {"owner": "lea", "qualification": ["budget", "need"]}}\n'
    cli("import", "leads", write("b.jsonl", change))
    shown = cli("audit").output
    assert "owner: kim → lea; qualification: — → budget, need" in shown
    assert "[None" not in shown and "owner=" not in shown
