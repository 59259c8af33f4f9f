"""Lead ids holding "/", "%", "?", "#", spaces or any other character: every operation of the API
and the web view reaches the lead it names, percent-encoded as one path segment, and an unencoded
"/" is never part of an id (test_server.py does the same through a real waitress server)."""

import re
from urllib.parse import quote

import pytest

from grading.http.lead_urls import routable_path
from grading.store.db import connect
from grading.store.users import create_user
from tests.conftest import logged_in_client

IDS = [
    "L-PATH/export",
    "L-PATH",
    "a/b/c",
    "a",
    "L%2F",
    "../x",
    "q?x=1",
    "h#a",
    "sp ace",
    "Ö-ünï/😀",
    "batch",
    "%",
    "a%20b",
    "x/",
]
AT = "2026-11-20T10:00:00Z"


def url(lead_id: str, suffix: str = "") -> str:
    return "/api/leads/" + quote(lead_id, safe="") + suffix


@pytest.fixture
def leads(client, tokens):
    batch = {"leads": [{"id": i, "person": {"title": f"title of {i}"}} for i in IDS]}
    assert client.post("/api/leads/batch", json=batch, headers=tokens["admin"]).status_code == 200
    events = {"events": [{"lead": i, "type": "download", "at": AT} for i in IDS]}
    assert client.post("/api/events", json=events, headers=tokens["admin"]).status_code == 200
    return client


@pytest.mark.parametrize("lead_id", IDS)
def test_every_api_operation_reaches_the_lead_it_names(leads, tokens, lead_id):
    admin = tokens["admin"]
    got = leads.get(url(lead_id), headers=admin)
    assert got.status_code == 200 and got.json["id"] == lead_id
    assert got.json["person"]["title"] == f"title of {lead_id}"
    exported = leads.get(url(lead_id, "/export"), headers=admin)
    assert exported.status_code == 200 and exported.json["lead"]["id"] == lead_id
    patched = leads.patch(url(lead_id), json={"owner": "kim"}, headers=admin)
    assert patched.status_code == 200 and patched.json["id"] == lead_id
    owners = {
        i: leads.get(url(i), headers=admin).json["owner"] for i in IDS
    }  # only this one changed
    assert owners == {i: ("kim" if i == lead_id else None) for i in IDS}
    erased = leads.delete(url(lead_id), headers=admin)
    assert erased.status_code == 200 and erased.json["lead"] == lead_id
    assert leads.get(url(lead_id), headers=admin).status_code == 404
    assert all(leads.get(url(i), headers=admin).status_code == 200 for i in IDS if i != lead_id)


def test_an_unencoded_slash_is_never_part_of_an_id(leads, tokens):
    admin = tokens["admin"]
    # was the export of "L-PATH" for both: the lead "L-PATH/export" could not be reached
    assert leads.get("/api/leads/L-PATH/export", headers=admin).json["lead"]["id"] == "L-PATH"
    assert leads.get("/api/leads/L-PATH%2Fexport", headers=admin).json["id"] == "L-PATH/export"
    assert leads.get("/api/leads/L-PATH%2fexport", headers=admin).json["id"] == "L-PATH/export"
    assert leads.get("/api/leads/a/b/c", headers=admin).status_code == 404
    assert leads.get("/api/leads/a%2Fb%2Fc/export", headers=admin).json["lead"]["id"] == "a/b/c"
    # "batch" is a lead for GET, and the batch endpoint for POST
    assert leads.get("/api/leads/batch", headers=admin).json["id"] == "batch"


def test_the_openapi_document_says_how_ids_go_in_a_path(client, tokens):
    document = client.get("/api/openapi.json", headers=tokens["admin"]).json
    (parameter,) = document["paths"]["/leads/{lead_id}"]["get"]["parameters"]
    assert "%2F" in parameter["description"]


@pytest.fixture
def site(app, leads):
    return logged_in_client(app, "ada", "admin")


def test_the_web_view_links_every_lead_by_its_encoded_id(site):
    listed = site.get("/leads?per_page=100").text
    for lead_id in IDS:
        assert f'href="/leads/{quote(lead_id, safe="")}"' in listed, lead_id


@pytest.mark.parametrize("lead_id", IDS)
def test_every_web_page_of_a_lead_reaches_it(site, lead_id):
    path = "/leads/" + quote(lead_id, safe="")
    page = site.get(path)
    assert page.status_code == 200 and f"title of {lead_id}" in page.text
    assert f'href="{path}/export"' in page.text and f'href="{path}/erase"' in page.text
    exported = site.get(path + "/export")
    assert exported.status_code == 200 and exported.json["lead"]["id"] == lead_id
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    saved = site.post(path, data={"csrf": token, "lifecycle": "sql"})
    assert saved.status_code == 302 and saved.headers["Location"] == path
    assert "sql" in site.get(path).text
    assert site.get(path + "/erase").status_code == 200
    erased = site.post(path + "/erase", data={"csrf": token, "confirm": lead_id})
    assert erased.status_code == 302
    assert site.get(path).status_code == 404
    others = [i for i in IDS if i != lead_id]
    assert all(site.get("/leads/" + quote(i, safe="")).status_code == 200 for i in others)


WSGI = {"SCRIPT_NAME": "", "PATH_INFO": "/api/leads/a/b"}


@pytest.mark.parametrize(
    "environ, path",
    [
        ({**WSGI, "REQUEST_URI": "/api/leads/a%2Fb?x=1"}, "/api/leads/a%2Fb"),
        ({**WSGI, "RAW_URI": "/api/leads/a%2fb"}, "/api/leads/a%2Fb"),
        ({**WSGI, "REQUEST_URI": "http://host:8080/api/leads/a%2Fb"}, "/api/leads/a%2Fb"),
        ({**WSGI, "REQUEST_URI": "/api/leads/a/b"}, "/api/leads/a/b"),
        # a mount at /grading: the script name stays out of PATH_INFO
        (
            {
                "SCRIPT_NAME": "/grading",
                "PATH_INFO": "/leads/a/b",
                "RAW_URI": "/grading/leads/a%2Fb",
            },
            "/leads/a%2Fb",
        ),
        # no raw path, or one that is not this request's (rewritten by a proxy): PATH_INFO, with
        # a "%" of the id kept for the converter to decode
        (WSGI, "/api/leads/a/b"),
        ({**WSGI, "REQUEST_URI": "/elsewhere/a%2Fb"}, "/api/leads/a/b"),
        ({"SCRIPT_NAME": "", "PATH_INFO": "/api/leads/50%"}, "/api/leads/50%25"),
        # UTF-8 as WSGI carries it (bytes as latin-1); %25 stays encoded, the rest is decoded
        (
            {
                "PATH_INFO": "/leads/Ö%".encode().decode("latin-1"),
                "REQUEST_URI": "/leads/%C3%96%25",
            },
            "/leads/Ö%25".encode().decode("latin-1"),
        ),
    ],
)
def test_the_routable_path_keeps_the_clients_own_slashes(environ, path):
    assert routable_path(environ) == path


@pytest.mark.parametrize("lead_id", ["L-PATH/export", "Ö-ünï/😀", "q?x=1", "L%2F"])
def test_a_login_returns_to_the_lead_page_it_interrupted(app, leads, lead_id):
    db = connect(app.config["DATABASE"])
    create_user(db, "ada", "admin", "correct horse", "2026-11-01T00:00:00Z")
    db.conn.close()
    client = app.test_client()
    path = "/leads/" + quote(lead_id, safe="")
    login_page = client.get(path)
    assert login_page.status_code == 302
    page = client.get(login_page.headers["Location"])
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    back = client.post(
        login_page.headers["Location"],
        data={"name": "ada", "password": "correct horse", "csrf": token},
    )
    assert back.status_code == 302
    shown = client.get(back.headers["Location"])
    assert shown.status_code == 200 and f"title of {lead_id}" in shown.text
