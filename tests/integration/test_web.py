"""The web view through Flask's test client: login, roles, CSRF, filters, CSV, escaping."""

import csv
import io
import re

import pytest

from grading.services.ingest import import_records
from grading.store.db import connect
from grading.store.users import create_user

EVIL = "<script>alert(1)</script>"


@pytest.fixture
def site(app, config):
    db = connect(app.config["DATABASE"])
    for name, role in (("ada", "admin"), ("mia", "marketing"), ("sam", "sales"), ("val", "viewer")):
        create_user(db, name, role, "correct horse", "2026-11-01T00:00:00Z")
    leads = [
        {
            "id": "L-1",
            "person": {"name": EVIL, "title": "CEO", "phone": "1", "owner": "sam"},
            "company": {"name": "Acme", "industry": "software", "employees": 300},
        },
        {
            "id": "L-2",
            "person": {"email": "bo@uni.edu", "title": "Student"},
            "company": {"name": "Uni"},
        },
        {
            "id": "L-3",
            "person": {"first_name": "Cy", "last_name": "Ng", "title": "CTO"},
            "company": {"name": "Acme", "industry": "software", "employees": 300},
        },
    ]
    import_records(db, config, "leads", [(str(i), r) for i, r in enumerate(leads)])
    db.conn.close()
    return app


def login(client, name):
    page = client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    return client.post("/login", data={"name": name, "password": "correct horse", "csrf": token})


def csrf(client, url):
    return re.search(r'name="csrf" value="([^"]+)"', client.get(url).text).group(1)


def test_pages_need_a_login(site):
    client = site.test_client()
    for url in ("/", "/leads", "/leads/L-1", "/routes", "/models", "/leads.csv"):
        response = client.get(url)
        assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_a_wrong_password_is_refused(site):
    client = site.test_client()
    token = csrf(client, "/login")
    response = client.post("/login", data={"name": "ada", "password": "nope", "csrf": token})
    assert response.status_code == 401 and "wrong password" in response.text


def test_the_session_cookie_is_httponly_and_samesite(site):
    response = login(site.test_client(), "ada")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_the_matrix_has_A_on_top_4_on_the_right_and_links_cells(site):
    client = site.test_client()
    login(client, "val")
    page = client.get("/").text
    rows = re.findall(r'<th scope="row">([A-D])</th>', page)
    assert rows == ["A", "B", "C", "D"]
    header = re.search(r"<thead>(.*?)</thead>", page, re.S).group(1)
    assert re.findall(r'<th scope="col">(\d)</th>', header) == ["1", "2", "3", "4"]
    assert 'href="/leads?model=prospects&amp;cell=A1"' in page
    assert 'aria-label="A1: 1 leads"' in page and 'aria-label="B1: 1 leads"' in page


def test_lead_data_is_always_escaped(site):
    client = site.test_client()
    login(client, "val")
    for url in ("/leads", "/leads/L-1", "/leads?q=script"):
        page = client.get(url).text
        assert EVIL not in page and "&lt;script&gt;" in page


def test_the_lead_list_filters_sorts_and_keeps_the_filter_in_the_url(site):
    client = site.test_client()
    login(client, "val")
    page = client.get("/leads?cell=A1&cell=B1&sort=name&order=desc").text
    assert page.index("Cy Ng") < page.index("&lt;script&gt;")
    assert "<strong>2</strong> leads" in page
    assert 'value="A1" checked' in page and 'value="B1" checked' in page
    assert "<strong>1</strong> lead" in client.get("/leads?q=uni").text
    assert "<strong>1</strong> lead" in client.get("/leads?owner=sam").text


@pytest.mark.parametrize(
    "query, problem",
    [
        ("cell=Z9", "cell=Z9: must be a cell like A4"),
        ("cell=A1,Z9", "cell=Z9: must be a cell like A4"),
        ("fit=E", "fit=E: Must be one of: A, B, C, D."),
        ("activity=5", "activity=5: Must be greater than or equal to 1"),
        ("lifecycle=lost", "lifecycle=lost: Must be one of"),
        ("sort=colour", "sort=colour: Must be one of"),
        ("order=up", "order=up: Must be one of: asc, desc."),
        ("per_page=0", "per_page=0: Must be greater than or equal to 1"),
        ("page=x", "page=x: Not a valid integer."),
        ("qualified=maybe", "qualified=maybe: Not a valid boolean."),
        ("colour=red", "colour=red: Unknown field."),
        ("page=999", "page 999 is past the last page (1)"),
        ("per_page=1&page=4", "page 4 is past the last page (3)"),
    ],
)
def test_the_lead_list_names_a_bad_filter_and_lists_nobody(site, query, problem):
    """Never everyone in place of a filter that could not be read, nor an empty page beside the
    total: the page says what was wrong, as the API does (400)."""
    client = site.test_client()
    login(client, "val")
    response = client.get(f"/leads?{query}")
    assert response.status_code == 400
    page = response.text
    assert "No leads listed" in page and problem.replace("'", "&#39;") in page
    assert "Cy Ng" not in page and "<strong>" not in page.split("</form>")[1]
    if "past the last page" in problem:
        last = problem.split("(")[1].rstrip(")")
        assert f"page={last}" in page.split("Go to the last page")[0].rsplit("href=", 1)[1]
    csv_response = client.get(f"/leads.csv?{query}")
    assert csv_response.status_code == 400 or "past the last page" in problem


def test_the_lead_list_keeps_the_good_filters_of_a_bad_request(site):
    client = site.test_client()
    login(client, "val")
    page = client.get("/leads?cell=A1&fit=E&q=uni").text
    assert 'value="A1" checked' in page and 'value="uni"' in page and "fit=E" in page


@pytest.mark.parametrize(
    "column, first_order",
    [
        ("grade", "desc"),
        ("fit_score", "desc"),
        ("activity_score", "desc"),
        ("last_activity", "desc"),
        ("name", "asc"),
    ],
)
def test_the_first_click_on_a_column_shows_the_best_first_and_the_next_turns_it(
    site, column, first_order
):
    client = site.test_client()
    login(client, "val")
    start = "name" if column != "name" else "grade"

    def link(page: str) -> str:
        return re.search(rf'href="(/leads\?[^"]*sort={column}[^"]*)"', page).group(1)

    first = link(client.get(f"/leads?sort={start}").text)
    assert f"order={first_order}" in first
    turned = link(client.get(first.replace("&amp;", "&")).text)
    assert f"order={'asc' if first_order == 'desc' else 'desc'}" in turned


def test_fit_sorted_highest_first_shows_the_best_lead_first(site):
    client = site.test_client()
    login(client, "val")
    best_first = client.get("/leads?sort=fit_score").text  # the first click's order
    assert best_first.index("&lt;script&gt;") < best_first.index("bo@uni.edu")  # CEO before student
    worst_first = client.get("/leads?sort=fit_score&order=asc").text
    assert worst_first.index("bo@uni.edu") < worst_first.index("&lt;script&gt;")


def test_the_lead_page_shows_threshold_rules_not_yet_earned_apart_with_their_progress(site):
    from datetime import UTC, datetime, timedelta

    db = connect(site.config["DATABASE"])
    now = datetime.now(UTC)
    visits = [
        {"lead": "L-3", "type": "page_view", "at": (now - timedelta(hours=h)).isoformat()}
        for h in range(2)
    ]
    config = site.extensions["grading"].config
    import_records(db, config, "events", [(str(i), v) for i, v in enumerate(visits)])
    db.conn.close()
    client = site.test_client()
    login(client, "val")
    page = client.get("/leads/L-3").text
    assert "<h1>Cy Ng</h1>" in page  # first and last name, not the e-mail or the id
    assert "Not yet earned" in page and "2 of 6" in page and "+0.00" not in page


def test_csv_export_is_exactly_the_filtered_list(site):
    client = site.test_client()
    login(client, "mia")
    response = client.get("/leads.csv?cell=A1,B1&sort=name&order=desc")
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["id"] for r in rows] == ["L-3", "L-1"]
    assert rows[0]["grade"] == "B1" and rows[0]["company"] == "Acme" and rows[0]["name"] == "Cy Ng"


def test_sales_changes_owner_and_lifecycle_and_the_lead_is_regraded(site):
    client = site.test_client()
    login(client, "sam")
    token = csrf(client, "/leads/L-2")
    response = client.post(
        "/leads/L-2", data={"csrf": token, "owner": "sam", "lifecycle": "customer"}
    )
    assert response.status_code == 302
    page = client.get("/leads/L-2").text
    assert "Saved" in page and "No grades" in page  # a customer is outside the prospects audience


def test_viewers_only_look(site):
    client = site.test_client()
    login(client, "val")
    page = client.get("/leads/L-1").text
    assert "change lifecycle and owner" not in page
    token = csrf(client, "/leads/L-1")
    assert client.post("/leads/L-1", data={"csrf": token, "owner": "val"}).status_code == 403
    assert client.post("/models/regrade", data={"csrf": token}).status_code == 403


def test_forms_without_the_csrf_token_are_refused(site):
    client = site.test_client()
    login(client, "ada")
    assert client.post("/leads/L-1", data={"owner": "x"}).status_code == 400
    assert client.post("/models/regrade", data={}).status_code == 400


def test_admins_regrade_and_reload_from_the_model_page(site):
    client = site.test_client()
    login(client, "ada")
    page = client.get("/models").text
    assert (
        "Re-grade everyone now" in page
        and "target-industry" in page
        and "company.industry in software" in page
    )
    token = csrf(client, "/models")
    client.post("/models/regrade", data={"csrf": token})
    page = client.get("/models").text
    assert "Re-graded 3 leads" in page and "manual" in page
    client.post("/models/reload", data={"csrf": token})
    assert "has not changed" in client.get("/models").text


def test_routes_page_counts_members_and_links_to_them(site):
    client = site.test_client()
    login(client, "mia")
    page = client.get("/routes").text
    assert "accelerate" in page and "newsletter" in page
    link = (
        re.search(r'href="(/leads\?[^"]*route_campaign=newsletter[^"]*)"', page)
        .group(1)
        .replace("&amp;", "&")
    )
    assert "<strong>1</strong> lead" in client.get(link).text


def test_the_lead_page_explains_the_grade(site):
    client = site.test_client()
    login(client, "val")
    page = client.get("/leads/L-1").text
    assert "target-industry" in page and "+30.00" in page and "85.00" in page
    assert "lead-update" in page  # history
    assert client.get("/leads/L-404").status_code == 404


def test_every_response_carries_security_headers(site):
    client = site.test_client()
    for url in ("/login", "/api/health", "/static/grading.css"):
        headers = client.get(url).headers
        assert "script-src 'none'" in headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert headers["X-Content-Type-Options"] == "nosniff"


HUGE = ["99999999999999999999999", str(2**63), "9" * 5000, "1e999", "NaN", "%ED%A0%80", "%00"]


def test_hostile_numbers_in_a_query_are_named_never_a_500(site):
    client = site.test_client()
    login(client, "ada")
    for value in HUGE:
        audit = client.get(f"/audit?before={value}")  # was a 500 (OverflowError in SQLite)
        assert audit.status_code == 400 and "before:" in audit.text, value
        for page in ("/leads", "/accounts"):
            listed = client.get(f"{page}?page={value}&per_page={value}")
            assert listed.status_code == 400 and "page" in listed.text, (page, value)
        assert client.get(f"/leads/{value}").status_code == 404, value
    assert client.get(f"/audit?before={2**63 - 1}").status_code == 200
    unknown = client.get("/audit?colour=red")  # read as the API reads it: an unknown one is named
    assert unknown.status_code == 400 and "colour" in unknown.text
