"""Qualification (issue 5, item 4): sales ticks criteria through the API and the lead page; the
ticks are the lead attribute person.qualification, rules read them, the lead list filters on
`qualified`, exports carry both, and every change is audited."""

import csv
import io
import json
import re

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from grading.app import create_app
from grading.core.qualification import DEFAULT_CRITERIA, Criterion, is_qualified
from grading.services.ingest import import_records
from grading.store.db import connect
from grading.store.qualification import sync_criteria
from grading.store.users import create_user
from tests.factories import spec_model

BANT = {"budget": True, "authority": True, "need": True, "timeline": True}
BUDGET_RULE = {
    "id": "budget-confirmed",
    "label": "Budget confirmed",
    "when": {"field": "person.qualification", "equals": "budget"},
    "points": 40,
}
# fit: software 20 + 300 employees 30 = 50 (B); with budget ticked 90 (A)
LEADS = [
    {
        "id": "L-1",
        "person": {"name": "Ana", "title": "CTO"},
        "company": {"domain": "acme.io", "industry": "software", "employees": 300},
    },
    {"id": "L-2", "person": {"name": "Bo", "title": "CTO"}, "company": {"domain": "bo.io"}},
    {
        "id": "L-3",
        "person": {"name": "Cy", "qualification": ["budget", "authority", "need", "timeline"]},
        "company": {"domain": "cy.io"},
    },
]


@pytest.fixture
def model_dict():
    data = spec_model()
    data["models"][0]["fit"]["rules"].append(BUDGET_RULE)
    return data


@pytest.fixture
def site(app, config):
    db = connect(app.config["DATABASE"])
    for name, role in (("ada", "admin"), ("mia", "marketing"), ("sam", "sales"), ("val", "viewer")):
        create_user(db, name, role, "correct horse", "2026-11-01T00:00:00Z")
    import_records(db, config, "leads", [(str(i), r) for i, r in enumerate(LEADS)])
    db.conn.close()
    return app


@pytest.fixture
def client(site):
    return site.test_client()


def patch(client, headers, ticks, lead="L-1", **other):
    return client.patch(
        f"/api/leads/{lead}", json={"qualification": ticks, **other}, headers=headers
    )


def main_grade(lead: dict) -> dict:
    return next(g for g in lead["grades"] if g["category"] is None)


def listed(client, headers, query: str = "") -> tuple[int, list[str]]:
    body = client.get(f"/api/leads?per_page=100{query}", headers=headers).json
    return body["total"], sorted(item["id"] for item in body["items"])


# store --------------------------------------------------------------------------------


def qualified_column(db) -> dict[str, int]:
    return dict(db.execute("SELECT ext_id, qualified FROM leads ORDER BY ext_id"))


def test_the_column_follows_every_write_and_the_criteria_of_the_model_file(db, config):
    import_records(db, config, "leads", [(str(i), r) for i, r in enumerate(LEADS)])
    assert qualified_column(db) == {"L-1": 0, "L-2": 0, "L-3": 1}
    ticks = {"id": "L-1", "person": {"qualification": ["budget", "authority", "need", "timeline"]}}
    import_records(db, config, "leads", [("1", ticks)])
    import_records(db, config, "leads", [("1", {"id": "L-3", "person": {"name": "Cy Ng"}})])
    assert qualified_column(db) == {"L-1": 1, "L-2": 0, "L-3": 1}
    import_records(db, config, "leads", [("1", {"id": "L-3", "person": {"qualification": None}})])
    assert qualified_column(db) == {"L-1": 1, "L-2": 0, "L-3": 0}

    assert sync_criteria(db, DEFAULT_CRITERIA) is False  # BANT is what the triggers assume
    before = db.conn.total_changes
    assert sync_criteria(db, (Criterion("champion", "Champion found"),)) is True
    assert qualified_column(db) == {"L-1": 0, "L-2": 0, "L-3": 0}
    assert db.conn.total_changes - before == 2  # the meta row and the one lead that changed
    import_records(
        db, config, "leads", [("1", {"id": "L-2", "person": {"qualification": "champion"}})]
    )
    assert qualified_column(db) == {"L-1": 0, "L-2": 1, "L-3": 0}
    assert sync_criteria(db, (Criterion("champion", "Champion found"),)) is False


IDS = ("budget", "authority", "need", "timeline", "key")
SPELLINGS = st.sampled_from([*IDS, " Budget", "NEED ", "Timeline", "other", "need\t", "\u212aey"])


@settings(max_examples=60, deadline=None)
@given(
    ticks=st.lists(st.one_of(st.none(), SPELLINGS, st.lists(SPELLINGS, max_size=6)), max_size=8),
    criteria=st.lists(st.sampled_from(IDS), min_size=1, max_size=5, unique=True),
)
def test_the_column_always_agrees_with_the_pure_rule(ticks, criteria):
    """Whatever the stored spelling and whichever criteria the file names, the SQL of the
    triggers and of sync_criteria says what core.qualification.is_qualified says."""
    db = connect(":memory:")
    chosen = tuple(Criterion(i, i) for i in criteria)
    for i, value in enumerate(ticks):
        attrs = {} if value is None else {"qualification": value}
        db.execute(
            "INSERT INTO leads (ext_id, attrs, created_at, updated_at) VALUES (?, ?, 'x', 'x')",
            [str(i), json.dumps(attrs)],
        )
    sync_criteria(db, chosen)
    for ext_id, attrs, column in db.execute("SELECT ext_id, attrs, qualified FROM leads"):
        assert column == is_qualified(json.loads(attrs), chosen), (ext_id, attrs)
    # and every write after the sync goes through the triggers with these criteria
    for i, value in enumerate(reversed(ticks)):
        attrs = {} if value is None else {"qualification": value}
        db.execute("UPDATE leads SET attrs = ? WHERE ext_id = ?", [json.dumps(attrs), str(i)])
    for ext_id, attrs, column in db.execute("SELECT ext_id, attrs, qualified FROM leads"):
        assert column == is_qualified(json.loads(attrs), chosen), (ext_id, attrs)
    db.conn.close()


# API -----------------------------------------------------------------------------------


def test_sales_ticks_every_criterion_and_the_lead_is_qualified(client, tokens):
    response = patch(client, tokens["sales"], {"budget": True, "need": True})
    assert response.status_code == 200
    assert response.json["person"]["qualification"] == ["budget", "need"]
    assert response.json["qualification"]["qualified"] is False
    ticks = {c["id"]: c["ticked"] for c in response.json["qualification"]["criteria"]}
    assert ticks == {"budget": True, "authority": False, "need": True, "timeline": False}

    done = patch(client, tokens["sales"], {"authority": True, "timeline": True}).json
    assert done["person"]["qualification"] == ["budget", "authority", "need", "timeline"]
    assert done["qualification"]["qualified"] is True


def test_unticking_makes_the_lead_unqualified_and_the_last_untick_removes_the_attribute(
    client, tokens
):
    patch(client, tokens["marketing"], BANT)
    partly = patch(client, tokens["admin"], {"need": False}).json
    assert partly["qualification"]["qualified"] is False
    assert partly["person"]["qualification"] == ["budget", "authority", "timeline"]
    gone = patch(client, tokens["sales"], {"budget": False, "authority": False, "timeline": False})
    assert "qualification" not in gone.json["person"]


def test_a_viewer_may_not_tick_and_nothing_changes(client, tokens):
    response = patch(client, tokens["viewer"], {"budget": True})
    assert response.status_code == 403
    lead = client.get("/api/leads/L-1", headers=tokens["viewer"]).json
    assert "qualification" not in lead["person"] and lead["qualification"]["qualified"] is False
    assert client.get("/api/audit", headers=tokens["admin"]).json["entries"] == []


def test_unknown_criteria_and_non_boolean_ticks_are_named_and_nothing_is_stored(client, tokens):
    response = patch(client, tokens["sales"], {"budjet": True, "need": "yes", "budget": True})
    assert response.status_code == 422
    assert {(p["field"], p["message"]) for p in response.json["problems"]} == {
        ("qualification.budjet", "unknown criterion (use budget, authority, need, timeline)"),
        ("qualification.need", "must be true or false"),
    }
    lead = client.get("/api/leads/L-1", headers=tokens["sales"]).json
    assert "qualification" not in lead["person"]
    assert [h["reason"] for h in lead["history"] if h["category"] is None] == ["lead-update"]
    not_a_map = patch(client, tokens["sales"], ["budget"])
    assert not_a_map.status_code == 422
    assert not_a_map.json["problems"][0]["field"] == "qualification"
    empty = client.patch("/api/leads/L-1", json={}, headers=tokens["sales"])
    assert empty.status_code == 422
    assert "qualification" in empty.json["problems"][0]["message"]
    assert patch(client, tokens["sales"], {"budget": True}, lead="L-404").status_code == 404


def test_a_rule_on_a_criterion_regrades_the_lead_with_reason_lead_update(client, tokens):
    before = client.get("/api/leads/L-1", headers=tokens["sales"]).json
    assert main_grade(before)["fit"] == "B" and main_grade(before)["fit_score"] == 50

    after = patch(client, tokens["sales"], {"budget": True}).json
    grade = main_grade(after)
    assert grade["fit"] == "A" and grade["fit_score"] == 90
    assert {"rule": "budget-confirmed", "label": "Budget confirmed"}.items() <= next(
        e for e in grade["explanation"] if e["rule"] == "budget-confirmed"
    ).items()
    last = [h for h in after["history"] if h["category"] is None][-1]
    assert (last["from"][0], last["to"][0], last["reason"]) == ("B", "A", "lead-update")

    untick = patch(client, tokens["sales"], {"budget": False}).json
    assert main_grade(untick)["fit"] == "B"
    # scoring and qualification stay apart: A-fit is not qualified, nor the reverse
    assert after["qualification"]["qualified"] is False


def test_ticks_and_lifecycle_change_together_in_one_audited_update(client, tokens):
    response = patch(client, tokens["sales"], {"budget": True}, lifecycle="sql", owner="sam")
    assert response.status_code == 200 and response.json["lifecycle"] == "sql"
    patch(client, tokens["sales"], {"need": True})
    patch(client, tokens["sales"], {"need": True})  # no change: no entry
    entries = client.get("/api/audit", headers=tokens["admin"]).json["entries"]
    updates = [e for e in entries if e["action"] == "lead.update"]
    assert [e["detail"] for e in updates] == [
        {"qualification": [["budget"], ["budget", "need"]]},
        {
            "lifecycle": ["lead", "sql"],
            "owner": [None, "sam"],
            "qualification": [None, ["budget"]],
        },
    ]
    assert all(e["target"] == "L-1" and e["actor"].startswith("token:") for e in updates)


def test_the_lead_list_filters_by_qualified(client, tokens):
    sales = tokens["sales"]
    assert listed(client, sales) == (3, ["L-1", "L-2", "L-3"])
    assert listed(client, sales, "&qualified=true") == (1, ["L-3"])  # qualified by its import
    assert listed(client, sales, "&qualified=false") == (2, ["L-1", "L-2"])
    patch(client, sales, BANT, lead="L-2")
    assert listed(client, sales, "&qualified=true") == (2, ["L-2", "L-3"])
    patch(client, sales, {"timeline": False}, lead="L-3")
    assert listed(client, sales, "&qualified=true") == (1, ["L-2"])
    items = client.get("/api/leads", headers=sales).json["items"]
    assert {i["id"]: i["qualified"] for i in items} == {"L-1": False, "L-2": True, "L-3": False}
    # with other filters, and a bad value named
    assert listed(client, sales, "&qualified=true&fit=C") == (1, ["L-2"])  # budget's 40 points
    assert listed(client, sales, "&qualified=true&fit=B") == (0, [])
    bad = client.get("/api/leads?qualified=maybe", headers=sales)
    assert bad.status_code == 400 and bad.json["problems"][0]["field"] == "qualified"


def test_an_import_that_sets_the_attribute_counts_as_ticking(client, tokens):
    lead = {"id": "L-9", "person": {"qualification": ["Budget", " need", "authority", "timeline"]}}
    assert client.post("/api/leads", json=lead, headers=tokens["marketing"]).status_code == 200
    assert "L-9" in listed(client, tokens["viewer"], "&qualified=true")[1]
    lead["person"]["qualification"] = None  # null removes the attribute
    client.post("/api/leads", json=lead, headers=tokens["marketing"])
    assert "L-9" in listed(client, tokens["viewer"], "&qualified=false")[1]


def test_the_criteria_of_the_model_file_decide_who_is_qualified(site, tokens, tmp_path, model_dict):
    client = site.test_client()
    patch(client, tokens["sales"], {"budget": True}, lead="L-2")
    assert listed(client, tokens["sales"], "&qualified=true")[1] == ["L-3"]
    # the same database under a model file that asks for budget alone
    model_dict["qualification"] = {"criteria": [{"id": "budget", "label": "Budget agreed"}]}
    path = tmp_path / "budget-only.yaml"
    path.write_text(yaml.safe_dump(model_dict, sort_keys=False))
    other = create_app(
        {"DATABASE": site.config["DATABASE"], "MODEL_FILE": str(path), "TESTING": True}
    ).test_client()
    assert listed(other, tokens["sales"], "&qualified=true")[1] == ["L-2", "L-3"]
    lead = other.get("/api/leads/L-2", headers=tokens["sales"]).json["qualification"]
    assert lead == {
        "qualified": True,
        "criteria": [{"id": "budget", "label": "Budget agreed", "ticked": True}],
    }
    unknown = patch(other, tokens["sales"], {"need": True}, lead="L-2")
    assert unknown.json["problems"][0]["message"] == "unknown criterion (use budget)"
    # and back: BANT again
    assert listed(client, tokens["sales"], "&qualified=true")[1] == ["L-3"]


def test_the_openapi_document_describes_the_ticks_and_the_filter(client, tokens):
    document = client.get("/api/openapi.json", headers=tokens["viewer"]).json
    schemas = document["components"]["schemas"]
    assert "qualification" in schemas["LeadPatch"]["properties"]
    assert "qualification" in schemas["LeadOut"]["properties"]
    assert "qualified" in schemas["LeadListItem"]["properties"]
    parameters = document["paths"]["/leads"]["get"]["parameters"]
    assert "qualified" in [p["name"] for p in parameters]


# exports ----------------------------------------------------------------------------


def test_grades_export_carries_qualified_and_the_ticked_criteria(cli, write):
    leads = "\n".join(json.dumps(lead) for lead in LEADS[1:])
    assert cli("import", "leads", write("leads.jsonl", leads)).exit_code == 0
    result = cli("grades", "--format", "jsonl", "--category", "-")
    rows = {row["lead"]: row for row in map(json.loads, result.output.splitlines())}
    assert rows["L-3"]["qualified"] is True
    assert rows["L-3"]["qualification"] == ["budget", "authority", "need", "timeline"]
    assert (rows["L-2"]["qualified"], rows["L-2"]["qualification"]) == (False, [])

    table = list(csv.DictReader(io.StringIO(cli("grades", "--format", "csv").output)))
    by_lead = {(r["lead"], r["category"]): r for r in table}
    assert by_lead[("L-3", "")]["qualified"] == "true"
    assert by_lead[("L-3", "")]["qualification"] == "budget;authority;need;timeline"
    assert (by_lead[("L-2", "")]["qualified"], by_lead[("L-2", "")]["qualification"]) == (
        "false",
        "",
    )


def test_explain_shows_the_qualification_apart_from_the_grades(cli, write):
    cli("import", "leads", write("leads.jsonl", json.dumps(LEADS[2])))
    output = cli("explain", "L-3").output
    assert "Qualified  [x] Budget confirmed" in output


# web --------------------------------------------------------------------------------


def login(client, name):
    page = client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    client.post("/login", data={"name": name, "password": "correct horse", "csrf": token})
    return client


def csrf(client, url):
    return re.search(r'name="csrf" value="([^"]+)"', client.get(url).text).group(1)


def test_sales_ticks_on_the_lead_page_and_the_lead_is_regraded(site):
    client = login(site.test_client(), "sam")
    page = client.get("/leads/L-1").text
    assert 'aria-label="qualification criteria"' in page and "Not qualified" in page
    assert re.findall(r'name="qualification" value="(\w+)"', page) == [
        "budget",
        "authority",
        "need",
        "timeline",
    ]
    token = csrf(client, "/leads/L-1")
    form = {"csrf": token, "qualification_form": "1", "qualification": ["budget", "need"]}
    response = client.post("/leads/L-1", data=form)
    assert response.status_code == 302
    page = client.get("/leads/L-1").text
    assert "Saved; the lead was re-graded." in page
    assert len(re.findall(r'value="(budget|need)" checked', page)) == 2
    assert 'g-A1">A1<' in page and 'g-B1">B1<' not in page  # budget lifted fit B to A

    form = {"csrf": token, "qualification_form": "1", "qualification": list(BANT)}
    client.post("/leads/L-1", data=form)
    assert ">Qualified<" in client.get("/leads/L-1").text

    # every box unticked: the form sends none, and the attribute goes
    client.post("/leads/L-1", data={"csrf": token, "qualification_form": "1"})
    db = connect(site.config["DATABASE"])
    person = json.loads(db.execute("SELECT attrs FROM leads WHERE ext_id = 'L-1'").fetchone()[0])
    assert "qualification" not in person
    details = [json.loads(r[0]) for r in db.execute("SELECT detail FROM audit_log ORDER BY id")]
    assert details[0] == {"qualification": [None, ["budget", "need"]]}
    assert details[-1] == {"qualification": [["budget", "authority", "need", "timeline"], None]}
    actors = {r[0] for r in db.execute("SELECT actor FROM audit_log WHERE detail LIKE '%qual%'")}
    assert actors == {"user:sam"}
    # A fit reached a sales route (analytics A*): routing handed the lead over, audited as such
    handed = db.execute("SELECT actor, detail FROM audit_log WHERE detail NOT LIKE '%qual%'")
    assert [(a, json.loads(d)) for a, d in handed] == [("routing", {"lifecycle": ["lead", "mql"]})]
    db.conn.close()


def test_the_lead_form_leaves_lifecycle_and_owner_alone_and_refuses_unknown_boxes(site):
    client = login(site.test_client(), "mia")
    token = csrf(client, "/leads/L-1")
    client.post("/leads/L-1", data={"csrf": token, "owner": "kim", "lifecycle": "sql"})
    client.post(
        "/leads/L-1", data={"csrf": token, "qualification_form": "1", "qualification": "need"}
    )
    page = client.get("/leads/L-1").text
    assert "<dd>sql</dd>" in page and "<dd>kim</dd>" in page
    bad = client.post(
        "/leads/L-1", data={"csrf": token, "qualification_form": "1", "qualification": "nope"}
    )
    assert bad.status_code == 400 and "qualification.nope: unknown criterion" in bad.text
    no_token = client.post(
        "/leads/L-1", data={"qualification_form": "1", "qualification": "budget"}
    )
    assert no_token.status_code == 400
    assert len(re.findall(r'value="\w+" checked', client.get("/leads/L-1").text)) == 1


def test_a_viewer_sees_the_ticks_but_no_form_and_may_not_post(site):
    client = login(site.test_client(), "val")
    page = client.get("/leads/L-3").text
    assert 'aria-label="qualification criteria"' not in page
    assert "☑ Budget confirmed" in page and ">Qualified<" in page
    assert "☐ Budget confirmed" in client.get("/leads/L-1").text
    token = csrf(client, "/leads/L-1")
    response = client.post(
        "/leads/L-1", data={"csrf": token, "qualification_form": "1", "qualification": "budget"}
    )
    assert response.status_code == 403


def test_the_web_lead_list_filters_and_shows_qualified(site):
    client = login(site.test_client(), "val")
    every = client.get("/leads").text
    assert every.count('class="badge qualified"') == 1
    assert '<option value="true" ' in every
    only = client.get("/leads?qualified=true").text
    assert "Cy" in only and "Ana" not in only and "Bo" not in only
    assert 'value="true" selected' in only
    rest = client.get("/leads?qualified=false").text
    assert "Ana" in rest and "Bo" in rest and "Cy" not in rest
    bad = client.get("/leads?qualified=maybe")
    assert bad.status_code == 400 and "qualified=maybe: Not a valid boolean." in bad.text


def test_the_web_csv_export_carries_qualified_and_the_ticks(site):
    client = login(site.test_client(), "val")
    rows = list(csv.DictReader(io.StringIO(client.get("/leads.csv").get_data(as_text=True))))
    by_id = {r["id"]: r for r in rows}
    assert by_id["L-3"]["qualified"] == "true"
    assert by_id["L-3"]["qualification"] == "budget;authority;need;timeline"
    assert (by_id["L-1"]["qualified"], by_id["L-1"]["qualification"]) == ("false", "")
    only = client.get("/leads.csv?qualified=true").get_data(as_text=True)
    assert [r["id"] for r in csv.DictReader(io.StringIO(only))] == ["L-3"]
