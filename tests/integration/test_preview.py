"""Preview of a changed model file: the moves and rule hits it computes, that it writes nothing,
that an invalid file is refused with its problems, and the CLI, the API and the web page."""

import copy
import hashlib
import json
import re
from datetime import UTC, datetime, timedelta

import pytest
import yaml

from grading.core.config import load_config
from grading.core.preview import NONE
from grading.services.grading import regrade
from grading.services.ingest import import_records
from grading.services.preview import preview
from grading.store.db import connect
from grading.store.users import create_user

T = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
STAMP = "2026-11-01T12:00:00Z"


def iso(moment):
    return moment.isoformat().replace("+00:00", "Z")


LEADS = [
    # fit 20 + 30 + 30 + 5 = 85: A; no events: A1
    {
        "id": "L-1",
        "person": {"title": "CEO", "phone": "1"},
        "company": {"domain": "acme.io", "industry": "software", "employees": 500},
    },
    # fit -40: D; one page view of the app (read only by the changed file): D1
    {"id": "L-2", "person": {"title": "Student"}, "company": {"domain": "uni.edu"}},
    # fit 20 + 30 = 50: B; 3 downloads today = 30 points: B2
    {
        "id": "L-3",
        "person": {"title": "CTO"},
        "company": {"domain": "soft.io", "industry": "software", "employees": 300},
    },
    # a customer: outside the audience of the active file
    {"id": "L-4", "person": {"title": "VP Sales", "lifecycle": "customer"}, "company": {}},
]
EVENTS = [
    *(
        {
            "lead": "L-3",
            "type": "download",
            "at": iso(T - timedelta(minutes=i)),
            "properties": {"product": "analytics"},
        }
        for i in range(3)
    ),
    {
        "lead": "L-2",
        "type": "page_view",
        "at": iso(T - timedelta(days=1)),
        "properties": {"url": "/home", "app": "web"},
    },
]


def changed(model_dict):
    """large-company 30 -> 50 (L-3 B2 -> A2), customers join the audience (L-4 none -> D1),
    phone-given removed (L-1 stays A), a vp rule added (L-4 meets it), a model added."""
    data = copy.deepcopy(model_dict)
    model = data["models"][0]
    model["audience"] = {"field": "person.lifecycle", "not_in": ["disqualified"]}
    rules = [r for r in model["fit"]["rules"] if r["id"] != "phone-given"]
    for rule in rules:
        if rule["id"] == "large-company":
            rule["points"] = 50
    rules.append({"id": "vp", "when": {"field": "person.title", "contains": "vp"}, "points": 5})
    model["fit"]["rules"] = rules
    data["models"].append(
        {
            "name": "everyone",
            "fit": {
                "rules": [
                    {"id": "any", "when": {"field": "person.title", "present": True}, "points": 1}
                ],
                "thresholds": {"A": 3, "B": 2, "C": 1},
            },
            "activity": {"rules": [], "thresholds": {4: 3, 3: 2, 2: 1}},
        }
    )
    return data


@pytest.fixture
def filled(db, config):
    records = lambda items: [(str(i), r) for i, r in enumerate(items, start=1)]  # noqa: E731
    import_records(db, config, "leads", records(LEADS), as_of=T)
    import_records(db, config, "events", records(EVENTS), as_of=T)
    regrade(db, config, as_of=T)
    return db


def moves(model):
    return {(m["from"], m["to"]): m["leads"] for m in model.moves()}


def rules(model):
    return {(r.dimension, r.id): (r.status, r.hits_before, r.hits_after) for r in model.rules}


def test_moves_and_rule_hits_of_a_changed_file(filled, config, model_dict):
    result = preview(filled, config, load_config(changed(model_dict)), as_of=T)
    assert result.leads == 4
    prospects, everyone = result.models
    assert (prospects.name, prospects.status) == ("prospects", "changed")
    assert moves(prospects) == {("B2", "A2"): 1, (NONE, "D1"): 1}
    assert prospects.moved == 2
    assert (prospects.graded_before, prospects.graded_after) == (3, 4)
    assert prospects.matrix["A1"]["A1"] == 1 and prospects.matrix["D1"]["D1"] == 1
    assert rules(prospects) == {
        ("fit", "large-company"): ("changed", 2, 2),
        ("fit", "phone-given"): ("removed", 1, 0),
        ("fit", "vp"): ("added", 0, 1),
    }
    assert everyone.status == "added" and everyone.graded_before == 0
    assert moves(everyone) == {(NONE, "C1"): 4}  # every lead has a title: 1 point, C
    assert rules(everyone) == {("fit", "any"): ("added", 0, 4)}
    assert prospects.settings == ["audience changed"] and everyone.settings == []


def test_a_threshold_rule_is_hit_only_when_its_count_is_reached(filled, config, model_dict):
    views = [
        {
            "lead": "L-1",
            "type": "page_view",
            "at": iso(T - timedelta(hours=i)),
            "properties": {"url": "/home"},
        }
        for i in range(3)
    ]
    import_records(filled, config, "events", [(str(i), v) for i, v in enumerate(views)], as_of=T)
    lowered = copy.deepcopy(model_dict)
    for rule in lowered["models"][0]["activity"]["rules"]:
        if rule["id"] == "many-visits":
            rule["min_count"] = 3  # 6 before: three visits did not meet it, now they do
    (prospects,) = preview(filled, config, load_config(lowered), as_of=T).models
    assert moves(prospects) == {("A1", "A2"): 1}
    assert rules(prospects) == {("activity", "many-visits"): ("changed", 0, 1)}


def test_the_same_file_moves_nobody(filled, config):
    result = preview(filled, config, config, as_of=T)
    (prospects,) = result.models
    assert prospects.status == "unchanged" and prospects.moved == 0 and prospects.rules == []
    assert prospects.matrix[NONE][NONE] == 1  # the customer, graded by neither


def test_a_removed_model_sends_its_leads_to_none(filled, config, model_dict):
    data = changed(model_dict)
    data["models"] = data["models"][1:]
    prospects = preview(filled, config, load_config(data), as_of=T).models[0]
    assert prospects.status == "removed"
    assert moves(prospects) == {("A1", NONE): 1, ("D1", NONE): 1, ("B2", NONE): 1}


def test_a_property_the_stored_classes_do_not_keep_is_read_from_the_events(
    filled, config, model_dict, tmp_path
):
    """The active file never reads `app`: the preview classifies raw events, and its cells are
    the ones a real re-grade under the new file gives."""
    data = copy.deepcopy(model_dict)
    data["models"][0]["activity"]["rules"].append(
        {
            "id": "web-app",
            "event": "page_view",
            "where": {"field": "app", "equals": "web"},
            "points": 20,
        }
    )
    new = load_config(data)
    prospects = preview(filled, config, new, as_of=T).models[0]
    assert moves(prospects) == {("D1", "D2"): 1}
    assert rules(prospects) == {("activity", "web-app"): ("added", 0, 1)}
    regrade(filled, new, as_of=T, reason="model-change")
    cells = dict(
        filled.execute(
            "SELECT l.ext_id, g.grade FROM grades g JOIN leads l ON l.id = g.lead_id"
            " WHERE g.model = 'prospects' AND g.category = ''"
        ).fetchall()
    )
    after = {dst for (src, dst), n in moves(prospects).items()}
    assert cells["L-2"] in after and cells == {"L-1": "A1", "L-2": "D2", "L-3": "B2"}


def test_chunks_learning_new_event_classes_keep_the_ones_seen_before(
    db, config, model_dict, monkeypatch
):
    """Raw classes turn up chunk by chunk: the second lead's downloads (a class the first chunk
    taught) must still count when its chunk also brings a new class."""
    from grading.services import preview as preview_module

    leads = [{"id": f"L-{i}", "person": {"title": "CEO"}, "company": {}} for i in (1, 2)]
    events = [
        {"lead": lead, "type": "download", "at": iso(T - timedelta(minutes=i)), "properties": {}}
        for lead in ("L-1", "L-2")
        for i in range(3)
    ]
    events.append({"lead": "L-2", "type": "page_view", "at": iso(T), "properties": {"app": "x"}})
    records = lambda items: [(str(i), r) for i, r in enumerate(items, start=1)]  # noqa: E731
    import_records(db, config, "leads", records(leads), as_of=T, grade=False)
    import_records(db, config, "events", records(events), as_of=T, grade=False)
    data = copy.deepcopy(model_dict)
    data["models"][0]["activity"]["rules"].append(
        {"id": "app", "where": {"field": "app", "equals": "y"}, "points": 1}
    )
    whole = preview(db, config, load_config(data), as_of=T).models[0].matrix
    monkeypatch.setattr(preview_module, "CHUNK", 1)
    one_by_one = preview(db, config, load_config(data), as_of=T).models[0].matrix
    assert whole["C2"]["C2"] == 2 and one_by_one == whole


def test_worker_processes_add_up_to_the_same_preview(filled, config, model_dict, monkeypatch):
    from grading.services import preview as preview_module

    data = changed(model_dict)
    data["models"][0]["activity"]["rules"].append(
        {"id": "web-app", "where": {"field": "app", "equals": "web"}, "points": 20}
    )
    pools = []
    pooled = preview_module._preview_parallel

    def spy(*args):
        pools.append(args)
        return pooled(*args)

    for new in (load_config(changed(model_dict)), load_config(data)):  # stored and raw classes
        alone = preview(filled, config, new, as_of=T, workers=1)
        monkeypatch.setattr(preview_module, "PARALLEL_MIN_LEADS", 1)
        monkeypatch.setattr(preview_module, "SLICE", 1)  # a task per lead id
        monkeypatch.setattr(preview_module, "_preview_parallel", spy)
        together = preview(filled, config, new, as_of=T, workers=2)
        monkeypatch.undo()
        assert together.as_dict()["models"] == alone.as_dict()["models"]
        assert together.leads == alone.leads == 4 and alone.models[0].moved >= 2
    assert len(pools) == 2


def test_as_of_decides_what_counts(filled, config, model_dict):
    data = copy.deepcopy(model_dict)
    data["models"][0]["activity"]["thresholds"] = {4: 60, 3: 45, 2: 35}
    later = preview(filled, config, load_config(data), as_of=T + timedelta(days=200)).models[0]
    now = preview(filled, config, load_config(data), as_of=T).models[0]
    assert moves(now) == {("B2", "B1"): 1}  # 30 points of downloads no longer reach 2
    assert now.settings == ["activity thresholds: 3 35 → 45, 2 10 → 35"]
    assert moves(later) == {}  # 200 days later they count nothing under either file


def fingerprint(path, db):
    files = {}
    for suffix in ("", "-wal"):
        try:
            with open(path + suffix, "rb") as handle:
                files[suffix] = hashlib.sha256(handle.read()).hexdigest()
        except FileNotFoundError:
            files[suffix] = None
    counts = {
        table: db.execute(f"SELECT count(*) FROM [{table}]").fetchone()[0]
        for table in db.table_names()
    }
    return files, counts


def test_nothing_is_written(filled, config, model_dict, tmp_path):
    path = str(tmp_path / "grading.db")
    filled.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    before = fingerprint(path, filled)
    grades = filled.execute("SELECT * FROM grades ORDER BY lead_id, model, category").fetchall()
    data = changed(model_dict)
    data["models"][0]["activity"]["rules"].append(
        {
            "id": "web-app",
            "event": "page_view",
            "where": {"field": "app", "equals": "web"},
            "points": 20,
        }
    )
    for new in (load_config(changed(model_dict)), load_config(data)):  # stored and raw classes
        assert preview(filled, config, new, as_of=T).models[0].moved
    assert fingerprint(path, filled) == before
    assert (
        filled.execute("SELECT * FROM grades ORDER BY lead_id, model, category").fetchall()
        == grades
    )
    assert before[1]["runs"] == 0 and before[1]["grade_history"] > 0
    filled.execute("INSERT INTO meta (key, value) VALUES ('after', 'preview')")  # still writable


# the CLI ------------------------------------------------------------------------------------


@pytest.fixture
def cli_db(cli, write, config):
    leads = write("leads.jsonl", "\n".join(json.dumps(r) for r in LEADS))
    events = write("events.jsonl", "\n".join(json.dumps(e) for e in EVENTS))
    assert cli("import", "leads", leads, "--no-regrade").exit_code == 0
    assert cli("import", "events", events, "--no-regrade").exit_code == 0
    assert cli("regrade", "--as-of", STAMP).exit_code == 0
    return cli


def test_cli_prints_the_matrix_and_the_rules(cli_db, write, model_dict):
    new = write("new.yaml", yaml.safe_dump(changed(model_dict)))
    result = cli_db("preview", new, "--as-of", STAMP)
    assert result.exit_code == 0, result.output
    assert "model prospects (changed): 2 lead(s) change cell; graded 3 -> 4" in result.output
    row = next(line for line in result.output.splitlines() if line.strip().startswith("B2"))
    header = next(line for line in result.output.splitlines() if "from\\to" in line)
    assert row.split()[header.split().index("A2")] == "1"
    assert re.search(r"fit\s+phone-given\s+removed\s+1 -> 0\s+\(-1\)", result.output)
    assert "model everyone (added)" in result.output
    assert "  audience changed\n" in result.output


def test_cli_json(cli_db, write, model_dict):
    new = write("new.yaml", yaml.safe_dump(changed(model_dict)))
    result = cli_db("preview", new, "--as-of", STAMP, "--format", "json")
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    assert document["as_of"] == STAMP and document["leads"] == 4
    prospects = document["models"][0]
    assert prospects["matrix"]["B2"]["A2"] == 1 and prospects["matrix"][NONE]["D1"] == 1
    assert {"from": "B2", "to": "A2", "leads": 1} in prospects["moves"]


def test_cli_refuses_an_invalid_file_with_the_problems_of_check_config(cli_db, write, model_dict):
    data = changed(model_dict)
    data["models"][0]["fit"]["rules"][0]["when"] = {"field": "company.industry", "greater": 1}
    del data["models"][1]["activity"]
    bad = write("bad.yaml", yaml.safe_dump(data))
    result = cli_db("preview", bad)
    checked = cli_db("check-config", bad)
    assert result.exit_code == 1 and checked.exit_code == 1
    assert "models[0].fit.rules[0].when: unknown operator 'greater'" in result.stderr
    assert "models[1].activity: is required" in result.stderr
    problems = [line for line in result.stderr.splitlines() if line.startswith(bad)]
    assert problems == [line for line in checked.stderr.splitlines() if line.startswith(bad)]
    assert "nothing to preview" in result.stderr


# the API ------------------------------------------------------------------------------------


@pytest.fixture
def api_app(app, config):
    db = connect(app.config["DATABASE"])
    import_records(db, config, "leads", [(str(i), r) for i, r in enumerate(LEADS)], as_of=T)
    import_records(db, config, "events", [(str(i), e) for i, e in enumerate(EVENTS)], as_of=T)
    regrade(db, config, as_of=T)
    for name, role in (("ada", "admin"), ("mia", "marketing"), ("sam", "sales"), ("val", "viewer")):
        create_user(db, name, role, "correct horse", "2026-11-01T00:00:00Z")
    db.conn.close()
    return app


@pytest.mark.parametrize(
    "role,status", [("admin", 200), ("marketing", 200), ("sales", 403), ("viewer", 403)]
)
def test_api_preview_by_role(api_app, tokens, model_dict, role, status):
    client = api_app.test_client()
    body = {"config": yaml.safe_dump(changed(model_dict)), "as_of": STAMP}
    response = client.post("/api/models/preview", json=body, headers=tokens[role])
    assert response.status_code == status
    if status == 200:
        prospects = response.json["models"][0]
        assert prospects["moved"] == 2 and prospects["matrix"]["B2"]["A2"] == 1
        assert {r["id"]: r["difference"] for r in prospects["rules"]} == {
            "large-company": 0,
            "phone-given": -1,
            "vp": 1,
        }
    assert client.post("/api/models/preview", json=body).status_code == 401


def test_api_takes_the_yaml_file_itself(api_app, tokens, model_dict):
    response = api_app.test_client().post(
        f"/api/models/preview?as_of={STAMP}",
        data=yaml.safe_dump(changed(model_dict)),
        content_type="text/yaml",
        headers=tokens["marketing"],
    )
    assert response.status_code == 200
    assert response.json["as_of"] == STAMP and response.json["models"][0]["moved"] == 2


def test_api_lists_the_problems_of_an_invalid_file(api_app, tokens, model_dict):
    client = api_app.test_client()
    data = changed(model_dict)
    data["models"][0]["fit"]["rules"][0]["when"] = {"field": "company.industry", "greater": 1}
    response = client.post(
        "/api/models/preview", json={"config": yaml.safe_dump(data)}, headers=tokens["admin"]
    )
    assert response.status_code == 422
    problem = {"field": "models[0].fit.rules[0].when", "message": "unknown operator 'greater'"}
    found = [p for p in response.json["problems"] if p["field"] == problem["field"]]
    assert found == [{**problem, "line": found[0]["line"]}] and found[0]["line"] > 1
    syntax = client.post(
        "/api/models/preview", data="models: [", content_type="text/yaml", headers=tokens["admin"]
    )
    assert syntax.status_code == 422
    assert syntax.json["problems"] == [
        {"field": "", "line": 1, "message": "expected the node content, but found '<stream end>'"}
    ]
    for body, field in (
        ({}, "config"),
        ({"config": 3}, "config"),
        ({"config": "x", "as_of": "soon"}, "as_of"),
    ):
        response = client.post("/api/models/preview", json=body, headers=tokens["admin"])
        assert response.status_code == 422, body
        assert response.json["problems"][0]["field"] == field
    assert client.post("/api/models/preview", data="{", headers=tokens["admin"]).status_code == 400


def test_api_documents_the_preview(api_app, tokens):
    document = api_app.test_client().get("/api/openapi.json", headers=tokens["viewer"]).json
    operation = document["paths"]["/models/preview"]["post"]
    assert operation["description"] == "Roles: admin, marketing"
    assert "PreviewOut" in document["components"]["schemas"]


# the web page -------------------------------------------------------------------------------


def login(client, name):
    page = client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    client.post("/login", data={"name": name, "password": "correct horse", "csrf": token})


def upload(client, text, **extra):
    page = client.get("/models")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    data = {"csrf": token, "file": (__import__("io").BytesIO(text.encode()), "new.yaml"), **extra}
    return client.post("/models/preview", data=data, content_type="multipart/form-data")


def test_web_upload_renders_the_matrix(api_app, model_dict):
    client = api_app.test_client()
    login(client, "mia")
    assert 'action="/models/preview"' in client.get("/models").text
    response = upload(client, yaml.safe_dump(changed(model_dict)), as_of=STAMP)
    assert response.status_code == 200
    page = response.text
    assert "<strong>2</strong> lead(s) change cell" in page
    assert re.search(r'class="num heat-9" title="B2 → A2">1<', page)  # the move, highlighted
    assert re.search(r'class="num heat-0" title="A1 → A1">1<', page)  # staying put, muted
    assert re.search(r"phone-given.*?removed.*?-1", page, re.S)


def test_web_upload_lists_the_problems_and_needs_the_role_and_the_token(api_app, model_dict):
    client = api_app.test_client()
    login(client, "ada")
    response = upload(client, "models:\n  - name: Bad Name\n")
    assert response.status_code == 422
    assert "models[0].name" in response.text and "nothing to preview" in response.text
    assert upload(client, "x: 1", as_of="yesterday").status_code == 422
    missing = client.post("/models/preview", data={"csrf": "wrong"})
    assert missing.status_code == 400  # a form without this session's token
    viewer = api_app.test_client()
    login(viewer, "val")
    assert 'action="/models/preview"' not in viewer.get("/models").text
    assert upload(viewer, yaml.safe_dump(changed(model_dict))).status_code == 403
