"""Every page and form of the web view × every role (and no login): who may see and do what.

The table must name every web endpoint: a new page that is not in it fails here, so its roles get
decided and tested when it is added."""

import re

import pytest

from tests.integration.test_web import login, site  # noqa: F401  (the site fixture)

ROLES = ("admin", "marketing", "sales", "viewer")
USERS = {"admin": "ada", "marketing": "mia", "sales": "sam", "viewer": "val"}
ALL = set(ROLES)
ADMIN = {"admin"}
CHANGE_LEADS = {"admin", "marketing", "sales"}

# (endpoint, method) -> (url, form, roles allowed[, status when allowed]); by default an allowed
# GET answers 200 and an allowed POST redirects (302); any other role gets 403
PAGES = {
    ("web.matrix", "GET"): ("/", None, ALL),
    ("web.leads", "GET"): ("/leads?cell=A1", None, ALL),
    ("web.leads_csv", "GET"): ("/leads.csv", None, ALL),
    ("web.lead", "GET"): ("/leads/L-1", None, ALL),
    ("web.lead", "POST"): ("/leads/L-3", {"owner": "sam"}, CHANGE_LEADS),
    ("web.routes", "GET"): ("/routes", None, ALL),
    ("web.models", "GET"): ("/models", None, ALL),
    ("web.regrade", "POST"): ("/models/regrade", {}, ADMIN),
    ("web.reload", "POST"): ("/models/reload", {}, ADMIN),
    ("web.lead_export", "GET"): ("/leads/L-1/export", None, ADMIN),
    ("web.lead_erase", "GET"): ("/leads/L-1/erase", None, ADMIN),
    # a wrong confirmation: the admin is sent back to the confirmation page, nothing is erased
    ("web.lead_erase", "POST"): ("/leads/L-1/erase", {"confirm": "no"}, ADMIN),
    ("web.audit_log", "GET"): ("/audit", None, ADMIN),
    ("web.calibration", "GET"): ("/calibration", None, ALL),
    ("web.accounts", "GET"): ("/accounts", None, ALL),
    ("web.account", "GET"): ("/accounts/1", None, ALL),  # L-1's company
    # no file chosen: the form comes back with the problem (422) to those who may preview
    ("web.model_preview", "POST"): ("/models/preview", {}, {"admin", "marketing"}, 422),
}
OPEN = {("web.login", "GET"), ("web.login", "POST"), ("web.logout", "POST")}


def web_endpoints(app):
    return {
        (rule.endpoint, method)
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("web.")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }


def test_the_table_names_every_page_and_form(site):  # noqa: F811
    assert web_endpoints(site) == set(PAGES) | OPEN


def csrf_of(client):
    return re.search(r'name="csrf" value="([^"]+)"', client.get("/").text).group(1)


@pytest.mark.parametrize("role", ROLES)
def test_each_role_reaches_exactly_its_pages(site, role):  # noqa: F811
    client = site.test_client()
    assert login(client, USERS[role]).status_code == 302
    token = csrf_of(client)
    for (endpoint, method), (url, form, allowed, *ok) in PAGES.items():
        if method == "GET":
            status = client.get(url).status_code
            expected = (ok or [200])[0] if role in allowed else 403
        else:
            status = client.post(url, data={**form, "csrf": token}).status_code
            expected = (ok or [302])[0] if role in allowed else 403
        assert status == expected, f"{role} {method} {url} ({endpoint}): {status}"
    # nothing was erased by the refused or unconfirmed erasures
    assert client.get("/leads/L-1").status_code == 200


def test_without_a_login_every_page_sends_to_the_login(site):  # noqa: F811
    client = site.test_client()
    for (_, method), (url, form, *_) in PAGES.items():
        if method == "GET":
            response = client.get(url)
            assert response.status_code == 302, url
            assert response.headers["Location"].startswith("/login"), url
        else:
            # no session, so no CSRF token: refused before anything runs
            assert client.post(url, data=form).status_code == 400, url
    assert client.get("/leads/L-1").status_code == 302
