"""Every CSV export neutralises what a spreadsheet would run as a formula (CSV injection), and
leaves numbers alone: the grades and account exports of the CLI and the web lead list (also what
the routes page links to)."""

import ast
import csv
import io
import os
import re
from decimal import Decimal

import orjson
import pytest

from grading.services.export import CsvWriter, spreadsheet_cell
from grading.services.ingest import import_records
from grading.store.db import connect
from grading.store.users import create_user

CMD = "=cmd|' /C calc'!A0"
PAYLOADS = [CMD, "@SUM(1+1)", "+1", "-1+2", "\t=1+1"]


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        (CMD, "'" + CMD),
        ("@SUM(1+1)", "'@SUM(1+1)"),
        ("+1", "'+1"),  # text, even when it reads as a number: a name "+1" is not a number
        ("-1+2", "'-1+2"),
        ("+49 30 1234", "'+49 30 1234"),  # a phone number is text
        ("-12.5", "'-12.5"),  # a text attribute stays text
        ("\t=1+1", "'\t=1+1"),
        ("\tplain", "'\tplain"),  # tab and carriage return alone lead a formula in some
        ("\rplain", "'\rplain"),
        ("  =1+1", "'  =1+1"),  # spreadsheets skip leading whitespace
        ("\n@x", "'\n@x"),
        ("\u00a0+1", "'\u00a0+1"),  # no-break space
        ("\u3000=1", "'\u3000=1"),  # ideographic space
        ("\uff1d1+1", "'\uff1d1+1"),  # full-width =
        ("\uff0bx", "'\uff0bx"),  # full-width +
        ("\uff0dx", "'\uff0dx"),  # full-width -
        ("\uff20x", "'\uff20x"),  # full-width @
        ("\ufe63x", "'\ufe63x"),  # small hyphen-minus
        ("Ana", "Ana"),
        ("a=b", "a=b"),  # only the start counts
        ("ceo +30; downloads +10", "ceo +30; downloads +10"),
        ("'=already", "'=already"),
        ("", ""),
        ("   ", "   "),
        ("L-1", "L-1"),
        (-40, -40),  # numbers are numbers, not formulas
        (-12.5, -12.5),
        (Decimal("-40.00"), Decimal("-40.00")),
        (0, 0),
        (True, True),
        (None, None),
    ],
)
def test_spreadsheet_cell(value, cell):
    assert spreadsheet_cell(value) == cell


def test_the_writer_quotes_neutralised_cells_with_separators_as_csv_does():
    out = io.StringIO()
    CsvWriter(out).writerow(['=1,2"3', -40, Decimal("-1.50"), "x"])
    assert out.getvalue() == '"\'=1,2""3",-40,-1.50,x\r\n'
    assert next(csv.reader(io.StringIO(out.getvalue()))) == ["'=1,2\"3", "-40", "-1.50", "x"]


def test_every_csv_writer_of_the_code_is_the_one_in_export():
    """One home for the rule: a new export writing CSV without it fails here."""
    root = os.path.join(os.path.dirname(__file__), "..", "..", "grading")
    found = []
    for folder, _, files in os.walk(root):
        for name in files:
            if not name.endswith(".py"):
                continue
            path = os.path.join(folder, name)
            tree = ast.parse(open(path, encoding="utf-8").read())
            for node in ast.walk(tree):
                if (
                    isinstance(node, ast.Attribute)
                    and isinstance(node.value, ast.Name)
                    and node.value.id == "csv"
                    and node.attr in ("writer", "DictWriter")
                ):
                    found.append(os.path.relpath(path, root))
    assert found == [os.path.join("services", "export.py")]


def evil_leads():
    leads = [
        {
            "id": payload,
            "person": {"name": payload, "email": payload, "owner": payload, "phone": "+49 30 1"},
            "company": {"name": payload, "domain": f"d{i}.io"},
        }
        for i, payload in enumerate(PAYLOADS)
    ]
    # a student: fit -40, a negative score that must stay a number
    leads.append({"id": "L-neg", "person": {"title": "Student"}, "company": {"name": "Uni"}})
    return leads


def jsonl(items):
    return "".join(orjson.dumps(item).decode() + "\n" for item in items)


def numbered(items):
    return [(str(i), item) for i, item in enumerate(items, start=1)]


def stored_ids():
    """Ids are stripped on import: the tab-led one is stored as '=1+1'."""
    return [p.strip() for p in PAYLOADS]


def test_cli_grade_export_neutralises_formulas_and_keeps_negative_scores(cli, write):
    path = write("leads.jsonl", jsonl(evil_leads()))
    assert cli("import", "leads", path).exit_code == 0
    result = cli("grades", "--format", "csv", "--category", "-")
    rows = {r["lead"]: r for r in csv.DictReader(io.StringIO(result.stdout))}
    assert set(rows) == {"'" + i for i in stored_ids()} | {"L-neg"}
    student = rows["L-neg"]
    assert (student["fit_score"], student["explanation"]) == ("-40.00", "student -40")
    assert re.search(r"^L-neg,prospects,,-40\.00,D,", result.stdout, re.M)


@pytest.fixture
def accounts_file(tmp_path, model_dict):
    import yaml

    model_dict["models"][0]["accounts"] = {
        "activity": "sum",
        "fit_thresholds": {"A": 50, "B": 30, "C": 20},
        "activity_thresholds": {4: 45, 3: 25, 2: 10},
    }
    path = tmp_path / "accounts.yaml"
    path.write_text(yaml.safe_dump(model_dict, sort_keys=False))
    return str(path)


def test_cli_account_export_neutralises_company_names_and_domains(cli, write, accounts_file):
    leads = [
        {"id": "L-1", "person": {"name": "Ana"}, "company": {"name": CMD, "domain": "a.io"}},
        {"id": "L-2", "person": {"name": "Bo"}, "company": {"name": "-1+2", "domain": "@b.io"}},
    ]
    path = write("leads.jsonl", jsonl(leads))
    assert cli("import", "leads", path, config=accounts_file).exit_code == 0
    result = cli("grades", "--accounts", "--format", "csv", config=accounts_file)
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert {(r["name"], r["domain"]) for r in rows} == {("'" + CMD, "a.io"), ("'-1+2", "'@b.io")}
    assert all(r["fit_score"] == "0.00" for r in rows)


@pytest.fixture
def site(app, config):
    db = connect(app.config["DATABASE"])
    create_user(db, "mia", "marketing", "correct horse", "2026-11-01T00:00:00Z")
    import_records(db, config, "leads", numbered(evil_leads()))
    db.conn.close()
    return app


def login(client):
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text).group(1)
    client.post("/login", data={"name": "mia", "password": "correct horse", "csrf": token})
    return client


def test_web_lead_list_download_neutralises_every_text_cell(site):
    client = login(site.test_client())
    response = client.get("/leads.csv?sort=name")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = {r["id"]: r for r in csv.DictReader(io.StringIO(response.text))}
    for payload, ext_id in zip(PAYLOADS, stored_ids(), strict=True):
        row = rows["'" + ext_id]
        # names are shown stripped, as everywhere; e-mail, owner and company as given
        assert row["name"] == "'" + payload.strip()
        assert (row["email"], row["owner"], row["company"]) == ("'" + payload,) * 3
    student = rows["L-neg"]
    assert student["fit_score"] == "-40.00"  # as the CLI export writes scores


def test_the_routes_page_member_csv_is_neutralised_too(site):
    client = login(site.test_client())
    page = client.get("/routes").text
    links = [
        link.replace("&amp;", "&")
        for link in re.findall(r'href="(/leads\.csv\?[^"]+)"', page)
        if "newsletter" in link
    ]
    assert links
    text = client.get(links[0]).text
    ids = [r["id"] for r in csv.DictReader(io.StringIO(text))]
    assert "'" + CMD in ids and CMD not in ids and "L-neg" in ids
