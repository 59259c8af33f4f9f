"""A real `grading serve` on a free loopback port, talked to over HTTP; the lease across processes."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest

from grading.services.model_file.read import read_config
from grading.services.runs import Busy, run_regrade
from grading.store import runs as run_store
from grading.store.db import connect

pytestmark = pytest.mark.slow  # real servers over HTTP: seconds a test

BIN = os.path.join(os.path.dirname(sys.executable), "grading")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def call(base, method, path, token=None, body=None):
    data = json.dumps(body).encode() if body is not None else None
    return call_raw(base, method, path, token, data)


def call_raw(base, method, path, token=None, data: bytes | None = None):
    request = urllib.request.Request(base + path, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.fixture
def server(tmp_path, config_file):
    db = str(tmp_path / "served.db")
    env = {**os.environ, "GRADING_DB": db, "GRADING_CONFIG": config_file}
    token = subprocess.run(
        [BIN, "token", "create", "--role", "marketing"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    port = free_port()
    process = subprocess.Popen(
        [BIN, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}/api"
    for _ in range(100):
        try:
            if call(base, "GET", "/health")[0] == 200:
                break
        except OSError:
            time.sleep(0.1)
    else:
        process.kill()
        pytest.fail("server did not start: " + process.stdout.read())
    yield base, token, db
    process.terminate()
    process.wait(timeout=10)


def admin_token(db_path: str) -> str:
    return subprocess.run(
        [BIN, "--db", db_path, "token", "create", "--role", "admin"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


RECENT = (datetime.now(UTC) - timedelta(hours=1)).isoformat().replace("+00:00", "Z")


def test_a_real_server_grades_over_http(server):
    base, token, _ = server
    lead = {
        "id": "L-1",
        "person": {"title": "CEO"},
        "company": {"industry": "software", "employees": 900},
    }
    assert call(base, "POST", "/leads", token, lead)[0] == 200
    events = {
        "events": [
            {
                "id": f"E-{i}",
                "lead": "L-1",
                "type": "page_view",
                "at": RECENT,  # pricing-recent counts the last 7 days
                "properties": {"url": "/pricing"},
            }
            for i in range(6)
        ]
    }
    status, result = call(base, "POST", "/events", token, events)
    assert status == 200 and result["stored"] == 6 and result["regraded"] == 1
    status, got = call(base, "GET", "/leads/L-1", token)
    main = next(g for g in got["grades"] if g["category"] is None)
    assert {e["rule"] for e in main["explanation"]} >= {"many-visits", "pricing-recent"}
    assert call(base, "POST", "/regrade", token)[0] == 403  # marketing may not
    assert call(base, "GET", "/leads?cell=A4", token)[0] == 200


def test_an_api_regrade_is_refused_while_another_process_holds_the_lease(server):
    base, token, db_path = server
    admin = admin_token(db_path)
    db = connect(db_path)
    assert run_store.take_lease(db, "regrade", "someone-else", time.time(), 60)
    assert call(base, "POST", "/regrade", admin)[0] == 409
    run_store.release_lease(db, "regrade", "someone-else")
    assert call(base, "POST", "/regrade", admin)[0] == 200


WORKER = """
import sys, time, json
from grading.services.model_file.read import read_config
from grading.services.runs import run_regrade
from grading.store.db import connect
db = connect(sys.argv[1])
run = run_regrade(db, read_config(sys.argv[2]), trigger="cli", wait_seconds=60, reason="regrade")
print(json.dumps(run))
"""


def test_two_processes_never_regrade_at_the_same_time(tmp_path, config_file):
    db_path = str(tmp_path / "lease.db")
    db = connect(db_path)
    loaded = read_config(config_file)
    from grading.services.ingest import import_records

    leads = [(str(i), {"id": f"L-{i}", "person": {"title": "CEO"}}) for i in range(6000)]
    import_records(db, loaded.config, "leads", leads, grade=False)
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, db_path, config_file], stdout=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    runs = [json.loads(w.communicate(timeout=120)[0]) for w in workers]
    assert all(w.returncode == 0 for w in workers)
    # by id, the order the runs began in: their times are whole seconds, so a run done within the
    # second the other began in ties with it, and a sort by time put them either way round
    first, second = sorted(runs, key=lambda r: r["id"])
    assert first["finished_at"] <= second["started_at"]
    assert {first["rows_written"], second["rows_written"]} == {12000, 0}


def test_the_scheduler_skips_when_the_lease_is_taken(tmp_path, config_file):
    db = connect(str(tmp_path / "skip.db"))
    loaded = read_config(config_file)
    run_store.take_lease(db, "regrade", "other", time.time(), 60)
    with pytest.raises(Busy):
        run_regrade(db, loaded, trigger="schedule")
    assert run_store.list_runs(db) == []


LEAD_IDS = ["L-PATH/export", "L-PATH", "a/b/c", "L%2F", "../x", "q?x=1", "h#a", "sp ace", "Ö/😀"]


def test_lead_ids_with_slashes_and_escapes_reach_their_lead_through_waitress(server):
    from urllib.parse import quote

    base, _, db_path = server
    admin = admin_token(db_path)
    batch = {"leads": [{"id": i, "person": {"title": f"title of {i}"}} for i in LEAD_IDS]}
    assert call(base, "POST", "/leads/batch", admin, batch)[0] == 200
    for lead_id in LEAD_IDS:
        path = "/leads/" + quote(lead_id, safe="")
        status, got = call(base, "GET", path, admin)
        assert status == 200 and got["id"] == lead_id, (path, got)
        status, exported = call(base, "GET", path + "/export", admin)
        assert status == 200 and exported["lead"]["id"] == lead_id, (path, exported)
        assert call(base, "PATCH", path, admin, {"owner": "kim"})[1]["owner"] == "kim"
    assert call(base, "GET", "/leads/L-PATH/export", admin)[1]["lead"]["id"] == "L-PATH"
    assert call(base, "GET", "/leads/a/b/c", admin)[0] == 404
    status, erased = call(base, "DELETE", "/leads/a%2Fb%2Fc", admin)
    assert status == 200 and erased["lead"] == "a/b/c"
    assert call(base, "GET", "/leads/L-PATH%2Fexport", admin)[0] == 200


def test_hostile_bodies_are_a_400_through_waitress_and_nothing_is_stored(server):
    base, token, db_path = server
    for value in (b'"\\ud800"', b"18446744073709551616", b"1e999", b"NaN", b"[" * 10_000):
        body = b'{"id": "L-H", "person": {"title": ' + value + b"}}"
        status, answer = call_raw(base, "POST", "/leads", token, body)
        assert status == 400 and answer["problems"], (value[:20], answer)
    assert call(base, "GET", "/leads/L-H", token)[0] == 404
