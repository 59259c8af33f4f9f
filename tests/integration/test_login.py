"""Logging in and out of the web view (issue "Trust, round 2", items 3 and 4): where a login
sends the browser next, server-side sessions that logout, disabling and a new password end."""

from urllib.parse import parse_qs, quote, urlsplit

import pytest

from grading.web import MAX_NEXT, safe_next
from tests.integration.test_web import csrf, login, site  # noqa: F401  (the site fixture)

# what a browser makes of each: another host, a script, or a header the server cannot send
HOSTILE = [
    None,
    "",
    "//evil.example",
    "///evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/\\/evil.example",
    "/\t/evil.example",  # ?next=/%09/evil.example: the browser drops the tab, leaving //evil
    "/\n/evil.example",
    "/\r\n/evil.example",
    "\t/x",
    "\t//evil.example",
    " //evil.example",
    "/\x00/x",
    "/x\x7f",
    "/x\x85",  # a C1 control (NEL)
    "/\x0b/x",  # a vertical tab
    "https://evil.example/",
    "http:/evil.example",
    "HTTPS://evil.example",
    "javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "evil.example",
    "\uff0f\uff0fevil.example",  # fullwidth solidus
    "/" + "a" * MAX_NEXT,
]
SAFE = [
    "/",
    "/leads",
    "/leads?cell=A4&cell=B4&sort=fit",
    "/leads/L-1",
    "/leads/%C3%9C-1",
    "/leads/Ü-1",
    "/leads/a//b",
    "/leads?next=//evil.example",
    "/accounts/1?model=prospects",
    "/%2F%2Fevil.example",  # still encoded: one path segment on this site
]


@pytest.mark.parametrize("target", HOSTILE)
def test_a_hostile_next_is_replaced_by_the_home_page(target):
    assert safe_next(target) == "/"


@pytest.mark.parametrize("target", SAFE)
def test_a_path_on_this_site_is_kept(target):
    assert safe_next(target) == target


def post_login(client, query: str):
    token = csrf(client, "/login")
    return client.post(
        "/login" + query, data={"name": "ada", "password": "correct horse", "csrf": token}
    )


@pytest.mark.parametrize(
    "query",
    ["?next=/%09/evil.example", "?next=/%0a/x", "?next=/%0d%0aSet-Cookie:x=1", "?next=/%5Cevil"]
    + ["?next=" + quote(target, safe="") for target in HOSTILE if target],
)
def test_after_login_a_hostile_next_goes_home_never_elsewhere_nor_a_500(site, query):  # noqa: F811
    response = post_login(site.test_client(), query)
    assert response.status_code == 302 and response.headers["Location"] == "/"


def test_after_login_a_next_on_this_site_is_followed(site):  # noqa: F811
    response = post_login(site.test_client(), "?next=" + quote("/leads?cell=A4&cell=B4", safe=""))
    assert response.headers["Location"] == "/leads?cell=A4&cell=B4"
    response = post_login(site.test_client(), "?next=" + quote("/leads/Ü-1", safe=""))
    assert response.headers["Location"] == "/leads/%C3%9C-1"


@pytest.mark.parametrize(
    "url",
    ["/leads?q=%0a//evil.example", "/leads/%5Cevil", "/leads/%09x", "/leads/Ü-1?q=é", "/leads"],
)
def test_the_next_a_page_writes_into_the_login_redirect_is_a_safe_link(site, url):  # noqa: F811
    client = site.test_client()
    location = client.get(url).headers["Location"]
    assert location.startswith("/login?next=")
    target = parse_qs(urlsplit(location).query)["next"][0]
    assert target.isascii() and safe_next(target) == target and target != "/"
    assert post_login(client, "?next=" + quote(target, safe="")).headers["Location"] == target
