"""Schemathesis against /api/openapi.json on the WSGI app: whatever it sends, the API answers
without a server error, with a documented status, in the documented shape."""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile

import pytest
import schemathesis
import yaml
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from tests.factories import spec_model
from tests.fuzz import hostile

# 25 per operation keeps the file well under a minute; GRADING_FUZZ_EXAMPLES=500 digs deeper
EXAMPLES = int(os.environ.get("GRADING_FUZZ_EXAMPLES", "25"))
# The everyday run tries the same examples every time (a red CI is then a real regression, not
# luck); a deeper run with GRADING_FUZZ_EXAMPLES set draws new ones.
DERANDOMIZE = "GRADING_FUZZ_EXAMPLES" not in os.environ
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance]
LEADS = [
    {
        "id": "L-1",
        "person": {"title": "CEO", "phone": "1", "owner": "kim", "interests": ["analytics"]},
        "company": {"domain": "acme.io", "industry": "software", "employees": 500},
    },
    {"id": "L-2", "person": {"title": "Student", "lifecycle": "lead"}, "company": {"name": "Uni"}},
    {"id": "L-3", "person": {"lifecycle": "customer"}, "company": {"domain": "acme.io"}},
]
OUTCOME = {"lead": "L-1", "outcome": "won", "at": "2026-11-25T00:00:00Z", "amount": 100}
EVENTS = [
    {"id": "E-1", "lead": "L-1", "type": "download", "at": "2026-11-23T10:00:00Z"},
    {
        "id": "E-2",
        "lead": "L-1",
        "type": "page_view",
        "at": "2026-11-24T10:00:00Z",
        "properties": {"url": "/pricing", "product": "analytics"},
    },
    {
        "lead": "L-2",
        "type": "page_view",
        "at": "2026-11-20T10:00:00Z",
        "properties": {"url": "/jobs"},
    },
]


def _load_schema():
    """The document as the app serves it at /api/openapi.json (read with an admin token from a
    scratch app: the document depends on the code only, not on the database)."""
    from grading.app import create_app
    from grading.store.auth import create_token
    from grading.store.db import connect

    scratch = tempfile.mkdtemp(prefix="grading-openapi-")
    model = os.path.join(scratch, "grading.yaml")
    with open(model, "w") as handle:
        yaml.safe_dump(spec_model(), handle)
    app = create_app({"DATABASE": os.path.join(scratch, "api.db"), "MODEL_FILE": model})
    database = connect(app.config["DATABASE"])
    _, secret = create_token(database, "admin", "fuzz", "2026-11-01T00:00:00Z")
    database.conn.close()
    try:
        return schemathesis.openapi.from_wsgi(
            "/api/openapi.json", app, headers={"Authorization": f"Bearer {secret}"}
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


schema = _load_schema()


@pytest.fixture
def seeded(app, tokens):
    """The app with graded leads, events, an outcome, a run and audit entries, so the read
    endpoints answer with full documents rather than empty lists."""
    admin = tokens["admin"]
    client = app.test_client()
    for path, payload in (
        ("/api/leads/batch", {"leads": LEADS}),
        ("/api/events", {"events": EVENTS}),
        ("/api/outcomes", {"outcomes": [OUTCOME]}),
        ("/api/regrade", {}),
    ):
        response = client.post(path, json=payload, headers=admin)
        assert response.status_code == 200, (path, response.json)
    assert client.patch("/api/leads/L-2", json={"owner": "sam"}, headers=admin).status_code == 200
    return app, tokens


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
    derandomize=DERANDOMIZE,
)
def test_every_operation_answers_as_documented(case, seeded):
    app, tokens = seeded
    case.call_and_validate(app=app, headers=tokens["admin"], checks=CHECKS)


@schema.parametrize()
@settings(
    max_examples=max(3, EXAMPLES // 8),
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
    derandomize=DERANDOMIZE,
)
def test_every_operation_refuses_the_roles_it_does_not_list(case, seeded):
    """The other roles get documented answers too, and never a success where the document's
    "Roles:" line leaves them out (SPEC section 6)."""
    app, tokens = seeded
    description = case.operation.definition.raw.get("description", "")
    allowed = description.removeprefix("Roles: ").split(", ") if "Roles: " in description else []
    for role in ("marketing", "sales", "viewer"):
        response = case.call(app=app, headers=tokens[role])
        case.validate_response(response, checks=CHECKS)
        # 403 (or 401 for a case that leaves the token out); other methods than the operation's
        # (OPTIONS, TRACE) are Flask's and hold no data
        if allowed and role not in allowed and case.method.upper() == case.operation.method.upper():
            assert not 200 <= response.status_code < 300, (role, case.method, case.formatted_path)


# What the fuzzer found, pinned down so a regression fails without luck ----------------------


def test_an_event_whose_lead_is_not_text_is_refused_by_item(client, tokens):
    batch = {"events": [{"lead": {}, "type": "x", "at": "2026-11-20T10:00:00Z"}]}
    response = client.post("/api/events", json=batch, headers=tokens["admin"])
    assert response.status_code == 422
    assert response.json["problems"][0]["field"] == "events[0].lead"


def test_an_audit_page_before_an_id_beyond_sqlite_is_a_bad_query(client, tokens):
    response = client.get(f"/api/audit?before={2**63}", headers=tokens["admin"])
    assert response.status_code == 400
    assert response.json["problems"][0]["field"] == "before"


def test_a_regrade_of_an_unknown_model_is_a_documented_404(client, tokens):
    response = client.post("/api/regrade", json={"model": "nope"}, headers=tokens["admin"])
    assert response.status_code == 404
    assert "404" in schema["/regrade"]["POST"].definition.raw["responses"]


def test_a_regrade_as_of_beyond_year_9999_in_utc_is_refused(client, tokens):
    late = {"as_of": "9999-12-31T23:59:59-01:00"}  # was an OverflowError, a 500
    response = client.post("/api/regrade", json=late, headers=tokens["admin"])
    assert response.status_code == 422
    assert response.json["problems"][0]["field"] == "as_of"


def test_an_account_id_of_digits_that_are_no_number_is_a_404(client, tokens):
    response = client.get("/api/accounts/%C2%B2", headers=tokens["admin"])  # "²" was a 500
    assert response.status_code == 404


# Hostile values, for every operation of the document ----------------------------------------

# raw JSON text of one value; every one is refused with a 400 before any schema sees the body
HOSTILE_JSON = hostile.JSON_VALUES
# a body each operation takes, with "@" where the hostile value goes
BODIES = {
    ("post", "/leads"): {"id": "L-H", "person": {"title": "@"}},
    ("post", "/leads/batch"): {"leads": [LEADS[0], {"id": "L-H", "company": {"employees": "@"}}]},
    ("post", "/events"): {
        "events": [*EVENTS, {**EVENTS[1], "id": "E-H", "properties": {"n": "@"}}]
    },
    ("post", "/outcomes"): {"outcomes": [{**OUTCOME, "amount": "@"}]},
    ("patch", "/leads/{lead_id}"): {"owner": "@"},
    ("post", "/regrade"): {"model": "@"},
    ("post", "/models/preview"): {"config": "@"},
}
# query values no integer parameter takes: beyond SQLite, beyond int(), no numbers at all
HOSTILE_QUERY = [
    "99999999999999999999999",
    str(2**63),
    str(-(2**63) - 1),
    "9" * 5000,
    "1e999",
    "Infinity",
    "NaN",
    "%ED%A0%80",  # a surrogate, percent-encoded UTF-8
    "%FF",
    "%00",
    "1%002",
]
OPERATIONS = [(m, p, op) for p, ops in schema.raw_schema["paths"].items() for m, op in ops.items()]


def stored(app) -> dict[str, int]:
    from grading.store.db import connect

    db = connect(app.config["DATABASE"])
    tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    counts = {t: db.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
    db.conn.close()
    counts.pop("tokens", None)  # (a token's last use is not what a request stores)
    return counts


def body_with(operation: tuple[str, str], value: bytes) -> bytes:
    return json.dumps(BODIES[operation]).encode().replace(b'"@"', value)


def test_every_operation_that_takes_a_body_has_a_hostile_body_here():
    assert {(m, p) for m, p, op in OPERATIONS if "requestBody" in op} == set(BODIES)


@pytest.mark.parametrize("operation", sorted(BODIES))
def test_hostile_json_values_are_a_400_naming_where_and_nothing_is_stored(seeded, operation):
    app, tokens = seeded
    client = app.test_client()
    method, path = operation
    url = "/api" + path.replace("{lead_id}", "L-2")
    headers = {**tokens["admin"], "Content-Type": "application/json"}
    # the same body with a plain value is no 400: the 400s below are the values' own
    plain = client.open(url, method=method, data=body_with(operation, b"1"), headers=headers)
    assert plain.status_code != 400, plain.json
    before = stored(app)
    for name, value in HOSTILE_JSON.items():
        response = client.open(
            url, method=method, data=body_with(operation, value), headers=headers
        )
        assert response.status_code == 400, (name, response.status_code, response.data[:300])
        assert response.json["error"] == "the body is not JSON the API accepts", name
        (problem,) = response.json["problems"]
        assert problem["message"], name
        if name.startswith(("2**", "-2**")):  # a value that parsed is named by its path
            assert problem["field"] in ("person.title", "leads[1].company.employees",
                                        "events[3].properties.n", "outcomes[0].amount",
                                        "owner", "model", "config"), problem  # fmt: skip
        assert stored(app) == before, name
    # NUL is JSON: what would store it names it (422), anything else answers without a 500
    response = client.open(
        url, method=method, data=body_with(operation, b'"a\\u0000b"'), headers=headers
    )
    assert 400 <= response.status_code < 500, response.data[:300]
    assert stored(app) == before


@pytest.mark.parametrize(
    "method, path, parameter",
    [
        (m, p, param)
        for m, p, op in OPERATIONS
        for param in op.get("parameters", [])
        if param["in"] == "query"
    ],
    ids=lambda v: v["name"] if isinstance(v, dict) else str(v),
)
def test_hostile_query_values_are_refused_by_name_or_answered_never_a_500(
    seeded, method, path, parameter
):
    app, tokens = seeded
    client = app.test_client()
    kind = parameter["schema"].get("items", parameter["schema"])["type"]
    extra = "&to=sales" if path == "/routes/members" and parameter["name"] != "to" else ""
    before = stored(app)
    for value in HOSTILE_QUERY:
        url = f"/api{path}?{parameter['name']}={value}{extra}"
        response = client.open(url, method=method, headers=tokens["admin"])
        assert response.status_code < 500, (url[:80], response.data[:300])
        if kind in ("integer", "boolean"):
            assert response.status_code == 400, (url[:80], response.json)
            assert response.json["problems"][0]["field"].startswith(parameter["name"])
    assert stored(app) == before


@pytest.mark.parametrize(
    "method, path",
    [(m, p) for m, p, op in OPERATIONS if "{" in p],
)
def test_hostile_path_values_are_a_404_or_refused_never_a_500(seeded, method, path):
    app, tokens = seeded
    client = app.test_client()
    headers = {**tokens["admin"], "Content-Type": "application/json"}
    before = stored(app)
    for value in [*HOSTILE_QUERY, "%2F", "..%2F..%2Fx", "x" * 5000]:
        url = "/api" + re.sub(r"{\w+}", value, path)
        data = b'{"owner": "kim"}' if method == "patch" else None
        response = client.open(url, method=method, data=data, headers=headers)
        assert response.status_code in (400, 404, 422), (url[:80], response.data[:200])
    assert stored(app) == before
