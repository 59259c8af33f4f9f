"""Calibration through the store, the API, the command line and the page (SPEC section 5)."""

import re
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from grading.services import calibration as service
from grading.services import privacy
from grading.services.ingest import import_records
from grading.store.db import connect
from grading.store.users import create_user

NOW = datetime.now(UTC).replace(microsecond=0)
OUTCOME = NOW - timedelta(days=10)  # L-1 and L-2 closed ten days ago


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def visits(lead: str, n: int, when: datetime, url="/blog") -> list[dict]:
    return [
        {"id": f"{lead}-v{when:%j}-{i}", "lead": lead, "type": "page_view", "at": iso(when)}
        | {"properties": {"url": url}}
        for i in range(n)
    ]


def put(db, config, kind, records):
    import_records(db, config, kind, [(str(i), r) for i, r in enumerate(records)])


def fill(db, config):
    """L-1 won as a CEO at a 500-person company with 6 visits; L-2 lost with 6 visits, all
    after it closed; L-3 became a CEO before it was won."""
    put(
        db,
        config,
        "leads",
        [
            {
                "id": "L-1",
                "person": {"title": "CEO", "email": "ana@acme.io"},
                "company": {"domain": "acme.io", "industry": "software", "employees": 500},
            },
            {"id": "L-2", "person": {"title": "Analyst"}, "company": {"name": "Beta"}},
            {"id": "L-3", "person": {"title": "Student"}, "company": {"name": "Gamma"}},
        ],
    )
    put(db, config, "events", visits("L-1", 6, OUTCOME - timedelta(days=2)))
    put(
        db,
        config,
        "outcomes",
        [
            {"lead": "L-1", "outcome": "won", "at": iso(OUTCOME)},
            {"lead": "L-2", "outcome": "lost", "at": iso(OUTCOME)},
        ],
    )


def rules_of(data):
    return {r["id"]: r for r in data["rules"]}


def test_what_happens_after_the_outcome_never_counts(db, config):
    fill(db, config)
    # after the outcomes: an event, a lead change and a company change
    put(db, config, "events", visits("L-2", 6, OUTCOME + timedelta(days=2)))
    put(db, config, "leads", [{"id": "L-1", "person": {"title": "Student"}}])
    put(db, config, "leads", [{"id": "L-9", "company": {"domain": "ACME.io", "employees": 10}}])
    # ... while a change before an outcome does count: L-3 became a CEO, then was won
    put(db, config, "leads", [{"id": "L-3", "person": {"title": "CEO"}}])
    put(
        db,
        config,
        "outcomes",
        [{"lead": "L-3", "outcome": "won", "at": iso(NOW + timedelta(hours=1))}],
    )

    data = service.calibration(db, config, "prospects")
    rules = rules_of(data)
    assert (data["leads"], data["won"], data["lost"]) == (3, 2, 1)
    assert (rules["ceo"]["leads"], rules["ceo"]["won"]) == (2, 2)  # L-1 then, L-3 after it changed
    assert rules["student"]["leads"] == 0  # L-1 is a student only since it was won
    assert (rules["large-company"]["leads"], rules["large-company"]["won"]) == (1, 1)
    assert (rules["target-industry"]["leads"], rules["target-industry"]["won"]) == (1, 1)
    assert (rules["many-visits"]["leads"], rules["many-visits"]["won"]) == (1, 1)  # not L-2
    # L-1 as of its outcome: 20 + 30 + 30 = 80 is A; with 6 visits, 20 activity is 2
    cells = {c["name"]: c for c in data["cells"]}
    assert (cells["A2"]["leads"], cells["A2"]["won"]) == (1, 1)
    assert cells["D1"]["leads"] == 1 and cells["D1"]["lost"] == 1  # L-2
    # today's grade of L-1 does see the changes
    (grade,) = db.execute(
        "SELECT g.fit FROM grades g JOIN leads l ON l.id = g.lead_id"
        " WHERE l.ext_id = 'L-1' AND g.category = ''"
    ).fetchone()
    assert grade == "D"  # software 20, a student -40, 10 employees


def lead_changes(db):
    return [orjson.loads(b) for (b,) in db.execute("SELECT before FROM lead_changes ORDER BY id")]


def test_a_change_after_the_outcome_that_hands_the_lead_over_does_not_count(db, config):
    """The update makes the lead an A (a sales route), so grading also hands it over: that second
    change of the row must sort after the update, or its `before` is the updated lead."""
    put(
        db,
        config,
        "leads",
        [{"id": "L-9", "person": {"title": "Analyst"}, "company": {"domain": "x.io"}}],
    )
    put(db, config, "outcomes", [{"lead": "L-9", "outcome": "won", "at": iso(OUTCOME)}])
    big = {"domain": "acme.io", "industry": "software", "employees": 500}
    put(
        db,
        config,
        "leads",
        [{"id": "L-9", "person": {"title": "CEO", "phone": "1"}, "company": big}],
    )
    assert db.execute("SELECT handed_over_at FROM leads WHERE ext_id = 'L-9'").fetchone()[0]
    rules = {r["id"]: r for r in service.calibration(db, config)["rules"]}
    assert rules["ceo"]["leads"] == 0 and rules["large-company"]["leads"] == 0


def test_changes_are_kept_only_when_a_lead_or_company_really_changes(db, config):
    fill(db, config)
    # the one change so far: L-1's hand-over to sales (A in analytics) moved it from lead to mql
    (handed,) = lead_changes(db)
    assert (handed["lifecycle"], handed["handed_over_at"]) == ("lead", None)
    assert db.execute("SELECT count(*) FROM company_changes").fetchone()[0] == 0
    same = {"id": "L-1", "person": {"title": "CEO"}, "company": {"domain": "acme.io"}}
    put(db, config, "leads", [same])
    assert len(lead_changes(db)) == 1
    put(db, config, "leads", [{**same, "company": {"domain": "acme.io", "employees": 600}}])
    (before,) = db.execute("SELECT before FROM company_changes").fetchone()
    assert orjson.loads(before)["attrs"]["employees"] == 500
    assert len(lead_changes(db)) == 1  # the lead row itself did not change
    put(db, config, "leads", [{"id": "L-1", "person": {"owner": "kim"}}])
    latest = lead_changes(db)[-1]
    assert "owner" not in latest["attrs"] and latest["attrs"]["title"] == "CEO"
    assert latest["lifecycle"] == "mql" and latest["company_id"] is not None


def test_forgetting_a_person_erases_their_changes_and_their_orphaned_company_changes(db, config):
    fill(db, config)
    put(db, config, "leads", [{"id": "L-1", "person": {"title": "CFO"}}])
    put(db, config, "leads", [{"id": "L-1", "company": {"domain": "acme.io", "employees": 9}}])
    put(
        db,
        config,
        "leads",
        [{"id": "L-2", "person": {"title": "CTO"}, "company": {"name": "Beta", "employees": 5}}],
    )
    privacy.forget(db, config, "L-1", "test")
    assert [c["attrs"]["title"] for c in lead_changes(db)] == ["Analyst"]  # L-2's only
    # acme.io had no other lead: its history goes with it; Beta's stays
    (left,) = db.execute("SELECT count(*) FROM company_changes").fetchone()
    assert left == 1
    (before,) = db.execute("SELECT before FROM company_changes").fetchone()
    assert orjson.loads(before)["attrs"]["name"] == "Beta"


def test_a_persons_earlier_states_are_part_of_their_data_export(db, config):
    fill(db, config)
    put(db, config, "leads", [{"id": "L-2", "person": {"title": "CTO"}}])
    document = privacy.export_lead(db, config, "L-2")
    (change,) = document["other"]["lead_changes"]
    assert change["before"]["attrs"]["title"] == "Analyst"


def test_a_shared_company_keeps_its_changes_when_one_of_its_people_is_forgotten(db, config):
    fill(db, config)
    put(db, config, "leads", [{"id": "L-4", "company": {"domain": "acme.io"}}])
    put(db, config, "leads", [{"id": "L-1", "company": {"domain": "acme.io", "employees": 9}}])
    privacy.forget(db, config, "L-1", "test")
    assert db.execute("SELECT count(*) FROM company_changes").fetchone()[0] == 1


def test_no_outcomes_gives_empty_statistics(db, config):
    data = service.calibration(db, config)
    assert (data["model"], data["leads"], data["fit_auc"]) == ("prospects", 0, None)
    assert all(r["suggested_points"] is None for r in data["rules"])
    assert data["fit_falls"] and data["activity_falls"]


def test_an_unknown_model_is_refused(db, config):
    with pytest.raises(service.UnknownModel, match="unknown model 'nope'"):
        service.calibration(db, config, "nope")


# the API -----------------------------------------------------------------------------------


@pytest.fixture
def filled(app, config):
    db = connect(app.config["DATABASE"])
    fill(db, config)
    for name, role in (("ada", "admin"), ("val", "viewer")):
        create_user(db, name, role, "correct horse", "2026-11-01T00:00:00Z")
    db.conn.close()
    return app


@pytest.mark.parametrize("role", ["admin", "marketing", "sales", "viewer"])
def test_every_role_reads_the_calibration(filled, tokens, role):
    response = filled.test_client().get("/api/calibration", headers=tokens[role])
    assert response.status_code == 200
    data = response.json
    assert (data["model"], data["leads"], data["won"], data["lost"]) == ("prospects", 2, 1, 1)
    rules = rules_of(data)
    # the won lead met ceo, large-company, target-industry and many-visits: a quarter each
    assert {k: r["suggested_points"] for k, r in rules.items() if r["suggested_points"]} == {
        "ceo": 25,
        "large-company": 25,
        "target-industry": 25,
        "many-visits": 25,
    }
    assert rules["ceo"]["share_in_dimension"] == 0.3333  # 1 of 3 fit hits, 4 decimals
    assert rules["student"]["suggested_points"] is None
    assert data["fit_auc"] == 1.0


def test_the_calibration_api_needs_a_token_and_a_known_model(filled, tokens):
    client = filled.test_client()
    assert client.get("/api/calibration").status_code == 401
    response = client.get("/api/calibration?model=nope", headers=tokens["viewer"])
    assert response.status_code == 404
    assert response.json["problems"] == [{"field": "model", "message": "unknown model"}]
    response = client.get("/api/calibration?colour=red", headers=tokens["viewer"])
    assert response.status_code == 400
    assert response.json["problems"][0]["field"] == "colour"


def test_the_openapi_document_describes_the_calibration(filled, tokens):
    document = filled.test_client().get("/api/openapi.json", headers=tokens["viewer"]).json
    operation = document["paths"]["/calibration"]["get"]
    assert "Roles: admin, marketing, sales, viewer" in operation["description"]
    assert "CalibrationOut" in document["components"]["schemas"]


# the command line ----------------------------------------------------------------------------


@pytest.fixture
def cli_filled(cli, config):
    cli("init")
    db = connect(cli.db_path)
    fill(db, config)
    db.conn.close()
    return cli


def test_calibrate_prints_rules_cells_and_auc(cli_filled):
    result = cli_filled("calibrate")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Calibration of prospects: 2 leads with an outcome as of it, 1 won, 1 lost" in out
    ceo = next(line for line in out.splitlines() if line.startswith("ceo "))
    assert ceo.split() == ["ceo", "fit", "30", "25", "1", "1", "100%", "2.00", "25%", "33%"]
    student = next(line for line in out.splitlines() if line.startswith("student "))
    assert student.split()[2:4] == ["-40", "-"]
    assert re.search(r"A\s.*100% 1/1", out)
    assert "Conversion falls from A to D: yes" in out
    assert "ROC AUC: fit 1.00, activity 1.00" in out


def test_calibrate_as_json_equals_the_api(cli_filled, config):
    result = cli_filled("calibrate", "--format", "json", "--model", "prospects")
    assert result.exit_code == 0
    data = orjson.loads(result.output)
    db = connect(cli_filled.db_path)
    assert data == service.calibration(db, config, "prospects")
    db.conn.close()


def test_calibrate_refuses_an_unknown_model(cli_filled):
    result = cli_filled("calibrate", "--model", "nope")
    assert result.exit_code == 2
    assert "unknown model 'nope'" in result.output


# the page --------------------------------------------------------------------------------------


def login(client, name):
    page = client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    client.post("/login", data={"name": name, "password": "correct horse", "csrf": token})


def test_the_page_shows_a_heat_map_and_current_next_to_suggested_points(filled):
    client = filled.test_client()
    assert client.get("/calibration").status_code == 302  # a login first
    login(client, "val")
    page = client.get("/calibration")
    assert page.status_code == 200
    html = page.text
    assert 'aria-label="conversion per cell"' in html
    cell = re.search(r'<td class="heat-(\d)" data-cell="A2">(.*?)</td>', html, re.S)
    assert cell.group(1) == "9" and "100%" in cell.group(2)  # 1 of 1 won: the darkest
    assert re.search(r'<td class="heat-1" data-cell="D1">', html)  # 0 of 1 won
    assert re.search(r'<td class="heat-0" data-cell="B4">', html)  # no outcomes
    row = re.search(r'<tr data-rule="ceo">(.*?)</tr>', html, re.S).group(1)
    numbers = re.findall(r'<td class="num[^"]*">(?:<strong>)?([^<]+)', row)
    assert numbers[:2] == ["30", "25"]  # current, suggested
    assert "Conversion falls from A to D: <strong>yes</strong>" in html
    assert client.get("/calibration?model=nope").status_code == 404


def test_the_page_is_linked_from_the_menu_and_the_models_page(filled):
    client = filled.test_client()
    login(client, "val")
    assert 'href="/calibration"' in client.get("/").text
    assert 'href="/calibration?model=prospects"' in client.get("/models").text
