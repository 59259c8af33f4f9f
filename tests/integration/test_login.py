"""Logging in and out of the web view (issue "Trust, round 2", items 3 and 4): where a login
sends the browser next, server-side sessions that logout, disabling and a new password end."""

import re
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from urllib.parse import parse_qs, quote, urlsplit

import pytest

from grading.web.blueprint import MAX_NEXT, safe_next
from tests.integration.test_server import BIN, server  # noqa: F401  (the server fixture)
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
    # still encoded once decoded: the browser reads one path segment on this site
    response = post_login(site.test_client(), "?next=" + quote("/%2F%2Fevil.example", safe=""))
    assert response.headers["Location"] == "/%2F%2Fevil.example"


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


CSRF = r'name="csrf" value="[^"]+"'


def with_password(client, name, password):
    token = csrf(client, "/login")
    return client.post("/login", data={"name": name, "password": password, "csrf": token})


def logout(client):
    token = csrf(client, "/")
    return client.post("/logout", data={"csrf": token})


def database(app):
    from grading.store.db import connect

    return connect(app.config["DATABASE"])


def test_a_cookie_saved_before_logout_no_longer_opens_a_page(site):  # noqa: F811
    client = site.test_client()
    assert login(client, "ada").status_code == 302
    saved = client.get_cookie("session").value
    assert client.get("/").status_code == 200
    assert logout(client).status_code == 302
    thief = site.test_client()
    thief.set_cookie("session", saved)
    response = thief.get("/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_the_cookie_carries_only_a_session_id_which_the_database_keeps_hashed(site):  # noqa: F811
    client = site.test_client()
    login(client, "ada")
    cookie = client.get_cookie("session").value
    data = site.session_interface.get_signing_serializer(site).loads(cookie)
    assert "sid" in data and set(data) <= {"sid", "csrf"}
    db = database(site)
    stored = [row[0] for row in db.execute("SELECT hash FROM sessions")]
    assert len(stored) == 1 and data["sid"] not in stored[0]


def test_a_signed_cookie_naming_a_user_but_no_session_is_refused(site):  # noqa: F811
    """What the cookie held before sessions were kept on the server (and what a stolen secret
    key would let anyone sign): it must not log anyone in."""
    forged = site.session_interface.get_signing_serializer(site).dumps({"user_id": 1})
    client = site.test_client()
    client.set_cookie("session", forged)
    assert client.get("/").status_code == 302
    for sid in (1, None, ["x"], {"a": 1}):  # never a 500, whatever a signed cookie holds
        client.set_cookie(
            "session", site.session_interface.get_signing_serializer(site).dumps({"sid": sid})
        )
        assert client.get("/").status_code == 302


def test_disabling_a_user_ends_all_their_sessions_and_refuses_their_logins(site):  # noqa: F811
    from grading.store.users import disable_user, enable_user

    laptop, phone, other = site.test_client(), site.test_client(), site.test_client()
    for client, name in ((laptop, "ada"), (phone, "ada"), (other, "sam")):
        assert login(client, name).status_code == 302
    db = database(site)
    assert disable_user(db, "ada", time.time()) == {"changed": True, "sessions": 2}
    assert laptop.get("/").status_code == 302 and phone.get("/").status_code == 302
    assert other.get("/").status_code == 200  # only ada's sessions ended
    refused = login(site.test_client(), "ada")
    wrong = with_password(site.test_client(), "ada", "wrong password")
    assert refused.status_code == wrong.status_code == 401
    # the same refusal: no hint that the account exists (the pages differ only in their CSRF token)
    assert re.sub(CSRF, "", refused.text) == re.sub(CSRF, "", wrong.text)
    assert "Unknown name or wrong password." in refused.text
    assert enable_user(db, "ada")
    assert laptop.get("/").status_code == 302  # the old sessions stay ended
    assert login(laptop, "ada").status_code == 302 and laptop.get("/").status_code == 200


def test_a_new_password_ends_all_sessions_and_only_it_logs_in(site):  # noqa: F811
    from grading.store.users import set_password

    first, second = site.test_client(), site.test_client()
    login(first, "ada")
    login(second, "ada")
    assert set_password(database(site), "ada", "a new passphrase", time.time()) == 2
    assert first.get("/").status_code == 302 and second.get("/").status_code == 302
    assert login(first, "ada").status_code == 401
    assert with_password(first, "ada", "a new passphrase").status_code == 302
    assert first.get("/").status_code == 200


@pytest.mark.production_hashing
def test_a_wrong_name_costs_the_same_scrypt_work_as_a_wrong_password(site, monkeypatch):  # noqa: F811
    from grading.store import users

    checked = []
    real = users.check_password_hash

    def counting(stored_hash, password):
        checked.append(stored_hash.split("$")[0])
        return real(stored_hash, password)

    monkeypatch.setattr(users, "check_password_hash", counting)
    users.disable_user(database(site), "val", time.time())
    for name, password in (
        ("ada", "wrong password"),
        ("nobody", "wrong password"),
        ("val", "correct horse"),
    ):
        assert with_password(site.test_client(), name, password).status_code == 401
    real_method = users.generate_password_hash("x", method=users.HASH_METHOD).split("$")[0]
    assert checked == [real_method] * 3  # one scrypt check each, with today's parameters


def test_a_session_ends_when_idle_and_after_its_absolute_lifetime(db):
    from grading.store import sessions
    from grading.store.users import create_user

    user_id = create_user(db, "ada", "admin", "correct horse", "2026-11-01T00:00:00Z")
    start = 1_800_000_000.0
    idle = sessions.start_session(db, user_id, start)
    assert sessions.session_user(db, idle, start + sessions.IDLE_S - 1)["name"] == "ada"
    assert sessions.session_user(db, idle, start + 2 * sessions.IDLE_S - 2) is not None  # touched
    assert sessions.session_user(db, idle, start + 4 * sessions.IDLE_S) is None
    busy = sessions.start_session(db, user_id, start)
    now = start
    while now + sessions.IDLE_S / 2 < start + sessions.ABSOLUTE_S:
        now += sessions.IDLE_S / 2
        assert sessions.session_user(db, busy, now) is not None
    assert sessions.session_user(db, busy, start + sessions.ABSOLUTE_S) is None
    assert sessions.live_sessions(db, user_id, start + sessions.ABSOLUTE_S) == 0


def test_long_dead_sessions_are_deleted_at_the_next_login(db):
    from grading.store import sessions
    from grading.store.users import create_user

    user_id = create_user(db, "ada", "admin", "correct horse", "2026-11-01T00:00:00Z")
    old = sessions.start_session(db, user_id, 1_800_000_000.0)
    sessions.end_session(db, old, 1_800_000_100.0)
    sessions.start_session(db, user_id, 1_800_000_100.0 + sessions.KEEP_ENDED_S + 1)
    assert db.execute("SELECT count(*) FROM sessions").fetchone()[0] == 1


@pytest.mark.parametrize(
    ("value", "secure"), [("1", True), ("true", True), ("0", False), ("", False)]
)
def test_secure_cookies_are_a_setting(tmp_path, config_file, monkeypatch, value, secure):
    from grading.app import create_app
    from grading.store.users import create_user

    monkeypatch.setenv("GRADING_SECURE_COOKIES", value)
    app = create_app({"DATABASE": str(tmp_path / "s.db"), "MODEL_FILE": config_file})
    create_user(database(app), "ada", "admin", "correct horse", "2026-11-01T00:00:00Z")
    # the test client speaks https, as a browser behind a TLS proxy does
    client = app.test_client()
    token = csrf(client, "https://localhost/login")
    response = client.post(
        "https://localhost/login", data={"name": "ada", "password": "correct horse", "csrf": token}
    )
    assert response.status_code == 302
    assert ("; Secure" in response.headers["Set-Cookie"]) is secure


def test_a_wrong_secure_cookies_value_is_named(tmp_path, config_file, monkeypatch):
    from grading.app import create_app

    monkeypatch.setenv("GRADING_SECURE_COOKIES", "maybe")
    with pytest.raises(ValueError, match="GRADING_SECURE_COOKIES='maybe'"):
        create_app({"DATABASE": str(tmp_path / "s.db"), "MODEL_FILE": config_file})


class Stay(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # answer the 302 itself, so its Location and cookie can be read


def fetch(url, jar, form=None):
    """(status, Location, body) of one request to a real server; jar holds the session cookie as
    a browser keeps it (replaced by each Set-Cookie)."""
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    request = urllib.request.Request(url, data=data)
    if jar.get("session"):
        request.add_header("Cookie", f"session={jar['session']}")
    try:
        response = urllib.request.build_opener(Stay).open(request, timeout=10)
    except urllib.error.HTTPError as error:
        response = error
    with response:
        cookie = re.match(r"session=([^;]*)", response.headers.get("Set-Cookie", ""))
        if cookie:
            jar["session"] = cookie[1]
        return response.status, response.headers.get("Location"), response.read().decode()


@pytest.mark.slow
def test_over_http_a_real_server_ends_sessions_at_logout_and_on_disable(server, config_file):  # noqa: F811
    base, _, db_path = server
    base = base.removesuffix("/api")
    grading = [BIN, "--db", db_path, "--config", config_file, "user"]
    create = [*grading, "create", "ada", "--role", "admin"]
    subprocess.run(create, input="correct horse\n", check=True, capture_output=True, text=True)

    def token(jar, url):
        return re.search(r'name="csrf" value="([^"]+)"', fetch(base + url, jar)[2])[1]

    def log_in():
        jar = {}
        form = {"name": "ada", "password": "correct horse", "csrf": token(jar, "/login")}
        status, location, _ = fetch(base + "/login?next=/%09/evil.example", jar, form)
        assert status == 302 and location == "/"
        return jar

    browser = log_in()
    saved = dict(browser)
    assert fetch(base + "/logout", browser, {"csrf": token(browser, "/")})[0] == 302
    status, location, _ = fetch(base + "/", saved)
    assert status == 302 and location.startswith("/login")
    laptop, phone = log_in(), log_in()
    assert fetch(base + "/", laptop)[0] == fetch(base + "/", phone)[0] == 200
    disable = subprocess.run(
        [*grading, "disable", "ada"], check=True, capture_output=True, text=True
    )
    assert "2 live session(s) ended" in disable.stdout
    assert fetch(base + "/", laptop)[0] == fetch(base + "/", phone)[0] == 302


def test_a_page_opens_at_once_while_another_writer_holds_the_database(site):  # noqa: F811
    """Noting a session's activity is a write; it is skipped, not waited for, under a lock."""
    import sqlite3

    client = site.test_client()
    login(client, "ada")
    db = database(site)
    db.execute("UPDATE sessions SET last_seen_at = last_seen_at - 600")  # due for a touch
    writer = sqlite3.connect(site.config["DATABASE"], isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    try:
        assert client.get("/audit").status_code == 200  # was a 500 after the 30 s busy timeout
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    before = db.execute("SELECT last_seen_at FROM sessions").fetchone()[0]
    assert client.get("/audit").status_code == 200
    assert db.execute("SELECT last_seen_at FROM sessions").fetchone()[0] > before  # touched now
