"""A real `grading serve` driven by Debian's Chromium through Playwright, as sales and viewers use it.

Screenshots of every page land in tests/e2e/screenshots/ (ignored by git) for people to look at.
"""

import csv
import json
import os
import random
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest

from tests.factories import spec_model

playwright = pytest.importorskip("playwright.sync_api")

BIN = os.path.join(os.path.dirname(sys.executable), "grading")
SHOTS = os.path.join(os.path.dirname(__file__), "screenshots")
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
EVIL = "<script>alert(1)</script>"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def seed(tmp_path, env):
    rng = random.Random(7)
    now = datetime.now(UTC)
    titles = ["CEO", "CTO", "VP Sales", "Analyst", "Student", "Head of Data"]
    leads, events = [], []
    for i in range(40):
        leads.append(
            {
                "id": f"L-{i:03d}",
                "person": {
                    "name": EVIL if i == 0 else f"Person {i:03d}",
                    "email": f"p{i}@c{i % 9}.com",
                    "title": rng.choice(titles),
                    "phone": "+1 555" if i % 2 else None,
                    "owner": rng.choice(["kim", "lee", None]),
                },
                "company": {
                    "domain": f"c{i % 9}.com",
                    "name": f"Company {i % 9}",
                    "industry": rng.choice(["software", "retail"]),
                    "employees": rng.choice([20, 250, 900]),
                },
            }
        )
        for _ in range(rng.randint(0, 14)):
            events.append(
                {
                    "lead": f"L-{i:03d}",
                    "type": rng.choice(["page_view", "download"]),
                    "at": (now - timedelta(days=rng.randint(0, 40))).isoformat(),
                    "properties": {
                        "url": rng.choice(["/pricing", "/blog/a", "/careers"]),
                        "product": rng.choice(["analytics", None]),
                    },
                }
            )
    for name, rows in (("leads", leads), ("events", events)):
        path = tmp_path / f"{name}.jsonl"
        path.write_text("".join(json.dumps({k: v for k, v in r.items()}) + "\n" for r in rows))
        subprocess.run([BIN, "import", name, str(path)], env=env, check=True, capture_output=True)
    for name, role in (("sam", "sales"), ("val", "viewer"), ("ada", "admin")):
        subprocess.run(
            [BIN, "user", "create", name, "--role", role, "--password", "correct horse"],
            env=env,
            check=True,
            capture_output=True,
        )


@pytest.fixture(scope="module")
def server(tmp_path_factory, request):
    tmp_path = tmp_path_factory.mktemp("e2e")
    import yaml

    config = tmp_path / "grading.yaml"
    config.write_text(yaml.safe_dump(spec_model(), sort_keys=False))
    env = {**os.environ, "GRADING_DB": str(tmp_path / "e2e.db"), "GRADING_CONFIG": str(config)}
    seed(tmp_path, env)
    port = free_port()
    process = subprocess.Popen(
        [BIN, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.1)
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture(scope="module")
def browser():
    assert os.path.exists(CHROMIUM), "Debian's chromium is missing: `make test` installs it"
    with playwright.sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield instance
        instance.close()


def shot(page, name):
    os.makedirs(SHOTS, exist_ok=True)
    page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


def log_in(browser, base, name, **options):
    page = browser.new_context(**options).new_page()
    page.goto(base + "/")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", "correct horse")
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")
    return page


def test_sales_works_the_matrix_the_list_and_a_lead(server, browser, tmp_path):
    alerts = []
    page = log_in(browser, server, "sam", accept_downloads=True)
    page.on("dialog", lambda dialog: (alerts.append(dialog.message), dialog.dismiss()))
    shot(page, "1-matrix")
    counts = {
        cell: int(page.locator(f"a[aria-label^='{cell}:'] .count").inner_text().replace(",", ""))
        for cell in ("A1", "A2", "D1")
    }
    assert (
        sum(int(t.replace(",", "")) for t in page.locator("tfoot td.total").all_inner_texts()[-1:])
        == 40
    )

    cell = max(counts, key=counts.get)
    page.click(f"a[aria-label^='{cell}:']")
    shot(page, "2-cell")
    assert f"<strong>{counts[cell]:,}</strong>" in page.content() or counts[cell] == 1
    assert page.locator("table.list tbody tr").count() == counts[cell]

    page.fill("input[name=q]", "Person 00")
    page.click("form.filters button[type=submit]")
    shot(page, "3-filtered")
    assert "q=Person+00" in page.url and f"cell={cell}" in page.url

    page.goto(server + "/leads?sort=name&order=asc")
    page.click(
        "table.list tbody tr:first-child td a"
    )  # '<script>…' sorts first and is shown as text
    shot(page, "4-lead")
    assert page.locator("h1").inner_text() == EVIL
    assert page.locator("table.explain").count() >= 1
    page.fill("input[name=owner]", "sam")
    page.click("form.change button[type=submit]")
    assert "Saved" in page.locator(".flash").inner_text()
    assert page.locator("dl dd").filter(has_text="sam").count() >= 1

    page.goto(server + "/leads?owner=sam")
    with page.expect_download() as download_info:
        page.click("text=Export CSV")
    rows = list(csv.DictReader(open(download_info.value.path(), encoding="utf-8")))
    assert rows and all(r["owner"] == "sam" for r in rows)
    assert len(rows) == int(page.locator(".summary strong").inner_text().replace(",", ""))

    for name in ("routes", "models"):
        page.goto(f"{server}/{name}")
        shot(page, f"5-{name}")
    assert alerts == []


def test_a_viewer_looks_but_cannot_change(server, browser):
    page = log_in(browser, server, "val")
    page.goto(server + "/leads/L-001")
    assert page.locator("form.change").count() == 0
    response = page.request.post(server + "/leads/L-001", form={"owner": "val"})
    assert response.status in (400, 403)
    shot(page, "6-viewer")


def test_a_phone_sized_screen_shows_the_matrix(server, browser):
    page = log_in(browser, server, "val", viewport={"width": 390, "height": 844})
    assert page.locator("table.matrix").is_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390 + 1
    shot(page, "7-phone")


def test_a_script_in_a_name_is_text_on_every_page(server, browser):
    alerts = []
    page = log_in(browser, server, "ada")
    page.on("dialog", lambda dialog: (alerts.append(dialog.message), dialog.dismiss()))
    for path in (
        "/",
        "/leads?sort=name&order=asc",
        "/leads?q=script",
        "/leads/L-000",
        "/routes",
        "/models",
        "/audit",
        "/leads/L-000/erase",
        "/calibration",
        "/accounts?q=c0.com",
    ):
        page.goto(server + path)
        assert page.locator("script").count() == 0, path
    page.goto(server + "/leads?sort=name&order=asc")
    assert page.get_by_text(EVIL, exact=True).count() >= 1
    page.goto(server + "/leads/L-000")
    assert page.locator("h1").inner_text() == EVIL
    page.click("text=company account")  # the account page lists its people by name
    assert page.locator("script").count() == 0
    assert page.get_by_text(EVIL, exact=True).count() >= 1
    assert alerts == []


def test_an_admin_downloads_and_erases_a_person(server, browser):
    page = log_in(browser, server, "ada", accept_downloads=True)
    page.goto(server + "/leads/L-039")
    with page.expect_download() as download_info:
        page.click("text=download everything stored (JSON)")
    document = json.load(open(download_info.value.path(), encoding="utf-8"))
    assert document["lead"]["id"] == "L-039"
    page.click("text=erase this person…")
    shot(page, "7-erase")
    page.fill("input[name=confirm]", "L-039")
    page.click("button.danger")
    assert "Erased one person" in page.locator(".flash").inner_text()
    assert page.request.get(server + "/leads/L-039").status == 404
    page.goto(server + "/audit")
    shot(page, "8-audit")
    assert page.locator("table.list tbody tr").filter(has_text="lead.erase").count() == 1
    assert "L-039" not in page.locator("table.list").inner_text()


def test_sales_ticks_qualification_and_filters_qualified_leads(server, browser):
    page = log_in(browser, server, "sam")
    page.goto(server + "/leads/L-005")
    box = page.locator("section.qualification")
    assert "Not qualified" in box.inner_text()
    for checkbox in box.locator("input[type=checkbox]").all():
        checkbox.check()
    box.locator("button[type=submit]").click()
    assert "Qualified" in page.locator("section.qualification strong").inner_text()
    shot(page, "9-qualified")
    page.goto(server + "/leads?qualified=true")
    assert page.locator("table.list tbody tr").filter(has_text="Person 005").count() == 1
    page.goto(server + "/leads?qualified=false")
    assert page.locator("table.list tbody tr").filter(has_text="Person 005").count() == 0


def test_an_admin_previews_a_changed_model_file_and_nothing_moves_yet(server, browser, tmp_path):

    import yaml

    page = log_in(browser, server, "ada")
    before = page.locator("table.matrix").inner_text()
    config = spec_model()  # the server's model file
    config["models"][0]["fit"]["thresholds"]["A"] = 10_000  # nobody is an A any more
    changed = tmp_path / "changed.yaml"
    changed.write_text(yaml.safe_dump(config))
    page.goto(server + "/models")
    page.set_input_files("input[type=file]", str(changed))
    page.locator("form[action$='/models/preview'] button").click()
    shot(page, "10-preview")
    assert "Preview of a changed model file" in page.locator("h1").inner_text()
    rows = [line.split("\t") for line in page.locator("table").first.inner_text().splitlines()]
    columns, cells_now = rows[0][1:-1], [row[0] for row in rows[1:-1]]
    assert any(c.startswith("A") for c in cells_now)  # leads are A today…
    assert columns and not any(c.startswith("A") for c in columns)  # …and none would be
    page.goto(server + "/")
    assert page.locator("table.matrix").inner_text() == before  # a preview saves nothing
