"""The HTTP API through Flask's test client: validation, real-time grading, roles."""

import inspect
import os
import re
from datetime import UTC, datetime, timedelta

import pytest

from grading.app import create_app
from tests.factories import lead

LEAD = lead()  # the CEO of a large software company


def event(i, lead="L-1", kind="download", at="2026-11-23T10:00:00Z", **props):
    return {"id": f"E-{i}", "lead": lead, "type": kind, "at": at, "properties": props}


def iso(moment):
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


@pytest.fixture
def admin(tokens):
    return tokens["admin"]


def test_health_is_open(client):
    assert client.get("/api/health").json["status"] == "ok"


def test_everything_else_needs_a_token(client):
    assert client.get("/api/leads").status_code == 401
    assert client.get("/api/leads", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert client.get("/api/openapi.json").status_code == 401


def test_a_lead_is_graded_before_the_response_returns(client, admin):
    response = client.post("/api/leads", json=LEAD, headers=admin)
    assert response.status_code == 200 and response.json["regraded"] == 1
    lead = client.get("/api/leads/L-1", headers=admin).json
    main = next(g for g in lead["grades"] if g["category"] is None)
    assert main["fit"] == "A" and main["fit_score"] == 85
    assert lead["history"][0]["reason"] == "lead-update"


def test_events_regrade_at_once_and_duplicates_are_counted(client, admin):
    client.post("/api/leads", json=LEAD, headers=admin)
    batch = {"events": [event(i, product="analytics") for i in range(3)]}
    first = client.post("/api/events", json=batch, headers=admin).json
    again = client.post("/api/events", json=batch, headers=admin).json
    assert (first["stored"], first["duplicates"]) == (3, 0)
    assert (again["stored"], again["duplicates"]) == (0, 3)
    lead = client.get("/api/leads/L-1", headers=admin).json
    assert [h["reason"] for h in lead["history"] if h["category"] is None] == [
        "lead-update",
        "event",
    ]
    assert len(lead["events"]) == 3


def test_a_bad_batch_lists_every_problem_by_item_and_stores_nothing(client, admin):
    client.post("/api/leads", json=LEAD, headers=admin)
    batch = {
        "events": [
            event(1),
            {"lead": "L-1", "type": "x"},
            event(3, lead="L-404"),
            event(4, at="2099-01-01T00:00:00Z"),
        ]
    }
    response = client.post("/api/events", json=batch, headers=admin)
    assert response.status_code == 422
    fields = {(p["field"], p["message"]) for p in response.json["problems"]}
    assert ("events[1].at", "is required (ISO-8601 time with offset)") in fields
    batch["events"][1]["at"] = "2026-11-23T10:00:00Z"
    response = client.post("/api/events", json=batch, headers=admin)
    fields = {(p["field"], p["message"]) for p in response.json["problems"]}
    assert fields == {
        ("events[2].lead", "unknown lead 'L-404'"),
        ("events[3].at", "is more than 1 day in the future"),
    }
    assert client.get("/api/leads/L-1", headers=admin).json["events"] == []


def test_bad_lead_attributes_are_422_by_field(client, admin):
    bad = {"id": "L-9", "person": {"lifecycle": "prospect", "tags": [1, 2]}}
    response = client.post("/api/leads", json=bad, headers=admin)
    assert response.status_code == 422
    fields = {p["field"] for p in response.json["problems"]}
    assert fields == {"person.lifecycle", "person.tags"}
    assert client.get("/api/leads/L-9", headers=admin).status_code == 404


def test_unknown_keys_and_non_json_bodies_are_refused(client, admin):
    assert (
        client.post("/api/leads", json={**LEAD, "colour": "red"}, headers=admin).status_code == 422
    )
    response = client.post(
        "/api/leads", data="{", headers={**admin, "Content-Type": "application/json"}
    )
    assert response.status_code == 400


def test_batches_over_10000_items_are_refused(client, admin):
    batch = {"events": [event(i) for i in range(10_001)]}
    response = client.post("/api/events", json=batch, headers=admin)
    assert response.status_code == 422 and response.json["problems"][0]["field"] == "events"


def test_bodies_over_10_mb_get_413(client, admin):
    response = client.post(
        "/api/leads",
        data=b"x" * (10 * 1024 * 1024 + 1),
        headers={**admin, "Content-Type": "application/json"},
    )
    assert response.status_code == 413


def test_order_asc_is_lowest_first_for_every_sort_and_each_sort_has_its_own_default(client, admin):
    leads = [
        LEAD,
        {"id": "L-2", "person": {"title": "Student"}, "company": {"name": "Uni"}},
        {"id": "L-3", "person": {"title": "CTO"}, "company": {"domain": "acme.io"}},
    ]
    client.post("/api/leads/batch", json={"leads": leads}, headers=admin)
    now = datetime.now(UTC)
    events = [
        {"id": f"E-{lead}", "lead": lead, "type": "page_view", "at": iso(now - timedelta(days=d))}
        for lead, d in (("L-1", 3), ("L-2", 1), ("L-3", 2))
    ]
    assert client.post("/api/events", json={"events": events}, headers=admin).status_code == 200

    def ids(query):
        response = client.get(f"/api/leads?{query}", headers=admin)
        assert response.status_code == 200, response.json
        return [i["id"] for i in response.json["items"]]

    assert ids("sort=last_activity&order=asc") == ["L-1", "L-3", "L-2"]  # oldest first
    assert (
        ids("sort=last_activity&order=desc") == ids("sort=last_activity") == ["L-2", "L-3", "L-1"]
    )
    assert ids("sort=fit_score&order=asc") == ["L-2", "L-3", "L-1"]  # lowest first
    assert ids("sort=fit_score") == ["L-1", "L-3", "L-2"]  # without order: the best first
    assert ids("sort=grade") == ids("") == ids("sort=grade&order=desc") == ["L-1", "L-3", "L-2"]
    assert ids("sort=grade&order=asc") == ["L-2", "L-3", "L-1"]  # the coldest cell first
    assert ids("sort=id") == ["L-1", "L-2", "L-3"] and ids("sort=id&order=desc") == [
        "L-3",
        "L-2",
        "L-1",
    ]


def test_a_threshold_rule_short_of_its_count_is_progress_apart_from_the_explanation(client, admin):
    client.post("/api/leads", json=LEAD, headers=admin)
    now = datetime.now(UTC)
    visits = [event(i, kind="page_view", at=iso(now - timedelta(hours=i))) for i in range(4)]
    assert client.post("/api/events", json={"events": visits}, headers=admin).status_code == 200
    lead = client.get("/api/leads/L-1", headers=admin).json
    main = next(g for g in lead["grades"] if g["category"] is None)
    assert main["progress"] == [
        {
            "rule": "many-visits",
            "label": None,
            "dimension": "activity",
            "events": 4,
            "min_count": 6,
        }
    ]
    assert all(item["rule"] != "many-visits" for item in main["explanation"])
    activity = [i["points"] for i in main["explanation"] if i["dimension"] == "activity"]
    assert sum(activity) == main["activity_score"] == 0
    listed = client.get("/api/leads", headers=admin).json["items"][0]
    assert listed["progress"] == main["progress"]
    more = [event(10 + i, kind="page_view", at=iso(now - timedelta(hours=i))) for i in range(2)]
    client.post("/api/events", json={"events": more}, headers=admin)
    main = next(
        g
        for g in client.get("/api/leads/L-1", headers=admin).json["grades"]
        if g["category"] is None
    )
    assert (
        main["progress"] == []
        and {
            "rule": "many-visits",
            "label": None,
            "dimension": "activity",
            "points": 20.0,
            "events": 6,
            "min_count": 6,
        }
        in main["explanation"]
    )
    assert lead["events_total"] == 4 and lead["name"] is None


def test_lead_list_filters_sorts_and_pages(client, admin):
    leads = [
        LEAD,
        {"id": "L-2", "person": {"title": "Student", "owner": "kim"}, "company": {"name": "Uni"}},
        {"id": "L-3", "person": {"title": "CTO", "owner": "kim"}, "company": {"domain": "acme.io"}},
    ]
    client.post("/api/leads/batch", json={"leads": leads}, headers=admin)
    everyone = client.get("/api/leads?sort=fit_score&order=desc", headers=admin).json
    assert [i["id"] for i in everyone["items"]] == ["L-1", "L-3", "L-2"] and everyone["total"] == 3
    assert [
        i["id"] for i in client.get("/api/leads?owner=kim&sort=id", headers=admin).json["items"]
    ] == ["L-2", "L-3"]
    assert client.get("/api/leads?cell=A1&cell=D1", headers=admin).json["total"] == 2
    assert client.get("/api/leads?cell=A1,B1&fit=A", headers=admin).json["total"] == 1
    assert client.get("/api/leads?q=uni", headers=admin).json["items"][0]["id"] == "L-2"
    page = client.get("/api/leads?per_page=2&page=2&sort=id", headers=admin).json
    assert (page["pages"], [i["id"] for i in page["items"]]) == (2, ["L-3"])
    bad = client.get("/api/leads?cell=Z9&per_page=0", headers=admin)
    assert bad.status_code == 400 and {p["field"] for p in bad.json["problems"]} == {
        "cell[0]",
        "per_page",
    }
    assert client.get("/api/leads?model=nope", headers=admin).status_code == 404
    assert (
        client.get("/api/leads?category=analytics", headers=admin).json["items"][0]["category"]
        == "analytics"
    )


def test_matrix_counts_and_conversion(client, admin):
    client.post("/api/leads", json=LEAD, headers=admin)
    client.post(
        "/api/outcomes",
        json={"outcomes": [{"lead": "L-1", "outcome": "won", "at": "2026-11-01T00:00:00Z"}]},
        headers=admin,
    )
    cells = client.get("/api/matrix", headers=admin).json["cells"]
    assert cells["A1"] == {"leads": 1, "won": 1, "lost": 0, "conversion": 1.0}


def test_routes_and_members(client, admin):
    client.post("/api/leads", json=LEAD, headers=admin)
    routes = client.get("/api/routes", headers=admin).json["routes"]
    assert routes == [
        {
            "model": "prospects",
            "category": None,
            "route": {"to": "nurture", "campaign": "accelerate"},
            "members": 1,
        },
        {
            "model": "prospects",
            "category": "analytics",
            "route": {"to": "sales", "queue": "analytics"},
            "members": 1,
        },
    ]
    members = client.get("/api/routes/members?to=nurture&campaign=accelerate", headers=admin).json
    assert [m["id"] for m in members["items"]] == ["L-1"]


def test_route_members_are_listed_hot_cells_first(client, admin):
    leads = [
        {"id": "L-2", "person": {"title": "Student"}, "company": {"name": "Uni"}},  # D1
        {"id": "L-5", "person": {}, "company": {"name": "Small", "industry": "software"}},  # C1
    ]
    client.post("/api/leads/batch", json={"leads": leads}, headers=admin)
    members = client.get("/api/routes/members?to=nurture&campaign=newsletter", headers=admin).json
    assert [(m["id"], m["grade"]) for m in members["items"]] == [("L-5", "C1"), ("L-2", "D1")]


def test_sales_may_change_lifecycle_and_owner_but_not_write_leads(client, tokens):
    client.post("/api/leads", json=LEAD, headers=tokens["marketing"])
    response = client.patch(
        "/api/leads/L-1", json={"owner": "kim", "lifecycle": "sql"}, headers=tokens["sales"]
    )
    assert response.status_code == 200 and (response.json["owner"], response.json["lifecycle"]) == (
        "kim",
        "sql",
    )
    assert client.post("/api/leads", json=LEAD, headers=tokens["sales"]).status_code == 403
    assert (
        client.patch("/api/leads/L-1", json={"owner": "x"}, headers=tokens["viewer"]).status_code
        == 403
    )
    assert client.patch("/api/leads/L-1", json={}, headers=tokens["sales"]).status_code == 422
    assert (
        client.patch("/api/leads/L-404", json={"owner": "x"}, headers=tokens["sales"]).status_code
        == 404
    )


def test_regrade_runs_are_recorded(client, admin):
    client.post("/api/leads", json=LEAD, headers=admin)
    run = client.post("/api/regrade", headers=admin).json
    assert run["trigger"] == "manual" and run["leads"] == 1 and run["error"] is None
    assert client.get("/api/runs", headers=admin).json["runs"][0]["id"] == run["id"]


def test_models_and_reload_refuse_an_invalid_file(client, admin, config_file):
    assert client.get("/api/models", headers=admin).json["models"][0]["name"] == "prospects"
    with open(config_file, "a") as handle:
        handle.write("\nnonsense: 1\n")
    line = open(config_file).read().count("\n")  # the appended key's line, named in the problem
    response = client.post("/api/models/reload", headers=admin)
    assert response.status_code == 422 and response.json["problems"] == [
        f"line {line}: nonsense: unknown key 'nonsense'"
    ]
    assert client.get("/api/models", headers=admin).json["refused"] == [
        f"line {line}: nonsense: unknown key 'nonsense'"
    ]
    assert client.get("/api/leads", headers=admin).status_code == 200


def test_a_valid_model_change_regrades_everyone_with_reason_model_change(
    client, admin, config_file
):
    import yaml

    client.post("/api/leads", json=LEAD, headers=admin)
    data = yaml.safe_load(open(config_file))
    data["models"][0]["fit"]["thresholds"]["A"] = 100
    with open(config_file, "w") as handle:
        yaml.safe_dump(data, handle)
    outcome = client.post("/api/models/reload", headers=admin).json
    assert outcome["changed"] and outcome["run"]["reason"] == "model-change"
    history = client.get("/api/leads/L-1", headers=admin).json["history"]
    assert (history[-1]["from"], history[-1]["to"], history[-1]["reason"]) == (
        "A1",
        "B1",
        "model-change",
    )


# every endpoint x every role --------------------------------------------------------------

ALLOWED = {
    ("POST", "/leads"): {"admin", "marketing"},
    ("POST", "/leads/batch"): {"admin", "marketing"},
    ("POST", "/events"): {"admin", "marketing"},
    ("POST", "/outcomes"): {"admin", "marketing"},
    ("PATCH", "/leads/{lead_id}"): {"admin", "marketing", "sales"},
    ("POST", "/regrade"): {"admin"},
    ("POST", "/models/reload"): {"admin"},
    ("DELETE", "/leads/{lead_id}"): {"admin"},
    ("GET", "/leads/{lead_id}/export"): {"admin"},
    ("GET", "/audit"): {"admin"},
    ("POST", "/models/preview"): {"admin", "marketing"},
}
BODIES = {
    "/leads": LEAD,
    "/leads/batch": {"leads": [LEAD]},
    "/events": {"events": [event(1)]},
    "/outcomes": {"outcomes": [{"lead": "L-1", "outcome": "won", "at": "2026-11-01T00:00:00Z"}]},
    "/leads/{lead_id}": {"owner": "kim"},
    "/models/preview": {
        "config": open(
            os.path.join(os.path.dirname(__file__), "../../config/grading.yaml"), encoding="utf-8"
        ).read()
    },
}


def endpoints_of(rule):
    """(method, path) of a Flask rule under /api, the path as the document writes it."""
    if not rule.rule.startswith("/api/"):
        return []
    path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule.removeprefix("/api"))
    return [(method, path) for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]


def api_endpoints(app):
    return sorted(e for rule in app.url_map.iter_rules() for e in endpoints_of(rule))


ENDPOINTS = api_endpoints(create_app({"DATABASE": ":memory:"}))


@pytest.mark.parametrize("role", ["admin", "marketing", "sales", "viewer", None])
@pytest.mark.parametrize("method,path", ENDPOINTS)
def test_every_endpoint_for_every_role(client, tokens, method, path, role):
    client.post("/api/leads", json=LEAD, headers=tokens["admin"])
    # company 1 is L-1's (acme.io): the first company of a fresh database
    url = "/api" + path.replace("{lead_id}", "L-1").replace("{company_id}", "1")
    if path == "/routes/members":
        url += "?to=nurture"
    headers = tokens[role] if role else {}
    response = client.open(url, method=method, json=BODIES.get(path), headers=headers)
    if path == "/health":
        assert response.status_code == 200
    elif role is None:
        assert response.status_code == 401
    elif role in ALLOWED.get((method, path), {"admin", "marketing", "sales", "viewer"}):
        assert response.status_code == 200, response.json
    else:
        assert response.status_code == 403


def test_the_openapi_document_covers_every_endpoint_with_schemas(client, admin):
    document = client.get("/api/openapi.json", headers=admin).json
    assert document["openapi"].startswith("3.")
    for method, path in ENDPOINTS:
        operation = document["paths"][path][method.lower()]
        assert "200" in operation["responses"]
    assert "EventBatchIn" in document["components"]["schemas"]
    assert document["paths"]["/events"]["post"]["requestBody"]["content"]["application/json"][
        "schema"
    ] == {"$ref": "#/components/schemas/EventBatchIn"}


def test_every_api_rule_is_in_the_document_with_its_methods_and_nothing_else(app, client, admin):
    document = client.get("/api/openapi.json", headers=admin).json
    documented = sorted((m.upper(), path) for path, ops in document["paths"].items() for m in ops)
    assert documented == api_endpoints(app)
    assert document["servers"] == [{"url": "/api"}]
    assert document["components"]["securitySchemes"] == {
        "bearer": {"type": "http", "scheme": "bearer"}
    }


def views(app):
    """(method, path) -> the view Flask calls, for every rule under /api."""
    return {
        endpoint: app.view_functions[rule.endpoint]
        for rule in app.url_map.iter_rules()
        for endpoint in endpoints_of(rule)
    }


def test_every_documented_answer_is_one_the_endpoint_can_give(app, client, admin):
    document = client.get("/api/openapi.json", headers=admin).json
    every_role = {"admin", "marketing", "sales", "viewer"}
    for (method, path), view in views(app).items():
        operation = document["paths"][path][method.lower()]
        codes = set(operation["responses"])
        where = (method, path, sorted(codes))
        assert "200" in codes and codes <= {"200", "400", "401", "403", "404", "409", "413", "422"}
        # 401 and 403 come from the role check, 403 only where it leaves some role out
        roles = getattr(view, "roles", None)
        assert ("401" in codes) == (roles is not None), where
        assert ("403" in codes) == (roles is not None and roles < every_role), where
        assert (operation.get("security") == []) == (roles is None), where
        # a body: 400 (not JSON the API accepts), 413 (over 10 MB), 422 (its problems by field);
        # query parameters: 400 naming them; nothing else reads the request
        queries = [p for p in operation.get("parameters", []) if p["in"] == "query"]
        body = operation.get("requestBody")
        if body:
            assert {"400", "413", "422"} <= codes, where
        assert ("413" in codes) == bool(body), where
        assert ("400" in codes) == bool(body or queries), where
        # 404: a path that names something, or a model named in the query or the body
        named = {p["name"] for p in queries}
        if body:
            ref = body["content"]["application/json"]["schema"]["$ref"].rpartition("/")[2]
            named |= set(document["components"]["schemas"][ref]["properties"])
        assert ("404" in codes) == ("{" in path or "model" in named), where
        # what the handler raises itself is documented
        source = inspect.getsource(inspect.unwrap(view))
        for raised in re.findall(r"ApiError\(\s*(\d{3})", source):
            assert raised in codes, (where, raised)


EVENT_CASES = [
    {"lead": "L-1", "type": "x", "at": "2026-11-01T00:00:00Z"},
    {"lead": "L-1", "type": "x", "at": "2026-11-01T00:00:00Z", "id": "E", "properties": {"a": [1]}},
    {
        "lead": "L-1",
        "type": "x",
        "at": "2026-11-01T00:00:00Z",
        "properties": {"a": ["x"], "b": 2.5, "c": True},
    },
    {"lead": "L-1", "type": "", "at": "2026-11-01T00:00:00Z"},
    {"lead": "L-1", "at": "2026-11-01T00:00:00Z"},
    {"lead": "L-1", "type": "x"},
    {"lead": "L-1", "type": "x", "at": "2026-11-01T00:00:00Z", "colour": "red"},
    {"lead": "L-1", "type": "x", "at": "2026-11-01T00:00:00Z", "properties": "nope"},
    {"lead": "L-1", "type": "x", "at": "2026-11-01T00:00:00Z", "id": "x" * 201},
    {"type": "x", "at": "2026-11-01T00:00:00Z"},
    {"lead": 7, "type": "x", "at": "2026-11-01T00:00:00Z"},
    {"lead": "L-1", "type": "x", "at": "2026-11-01T00:00:00Z", "id": None, "properties": None},
    {"lead": "L-1", "type": " ", "at": "2026-11-01T00:00:00Z"},
    {"lead": "L-1", "type": "x", "at": "2026-11-01T00:00:00"},
]


@pytest.mark.parametrize("item", EVENT_CASES)
def test_the_event_schema_and_the_importer_agree_on_what_is_valid(item):
    """POST /api/events checks items with the importer's validation; the documented schema must agree."""
    from datetime import UTC, datetime

    from marshmallow import ValidationError

    from grading.api.imports import EventIn
    from grading.core.records import RecordError, parse_event
    from grading.core.times import epoch

    try:
        parse_event(item, epoch(datetime.now(UTC)))
        importer_ok = True
    except RecordError:
        importer_ok = False
    try:
        EventIn().load(item)
        schema_ok = True
    except ValidationError:
        schema_ok = False
    # the schema documents shapes and leaves the checking to the importer's validation
    assert schema_ok == importer_ok


def test_no_documentation_pages_and_flask_errors_keep_the_api_shape(app, client, admin):
    # pages like Swagger UI or ReDoc would load their scripts from a CDN: none is served
    assert "flask-smorest" not in app.extensions
    for path in ("/api/docs", "/api/swagger-ui", "/api/redoc", "/api/rapidoc", "/openapi.json"):
        assert client.get(path, headers=admin).status_code == 404, path
    assert client.get("/api/nope", headers=admin).json == {"error": "not found", "problems": []}
    response = client.put("/api/leads", headers=admin)
    assert response.status_code == 405
    assert response.json == {"error": "method not allowed", "problems": []}
