"""Concurrency: API writers, full re-grades and a CLI import on one database at the same time.

Nothing may be refused with "database is locked" or a 5xx, every acknowledged event is stored
exactly once, the CLI import stores all of its events, and afterwards every stored grade is the
grade a fresh grading gives (no write computed from data another writer had already replaced)."""

from __future__ import annotations

import json
import os
import random
import shutil
import sqlite3
import subprocess
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
import yaml

from tests.integration import test_crash as crash_tests
from tests.integration.test_crash import (
    BIN,
    assert_consistent,
    call,
    cli,
    iso,
    regrade_writes_nothing,
)
from tests.integration.test_crash import servers as servers_fixture

pytestmark = pytest.mark.slow  # real servers under concurrent writers: seconds a test

servers = servers_fixture  # the fixture: real servers, stopped (and their workers) at the end

N_LEADS = 300
WRITERS = 3
SECONDS = 4.0
CLI_EVENTS = 20_000
TITLES = ["CEO", "Chief Executive Officer", "Engineer", "Student", "Head of Marketing"]
URLS = ["/pricing", "/careers", "/blog/roi", "/products/crm", "/docs"]


def lead(number: int, rng: random.Random) -> dict:
    return {
        "id": f"L-{number}",
        "person": {"title": rng.choice(TITLES), "phone": rng.choice(["+49 30 1234", None])},
        "company": {
            "domain": f"c{number % 90}.example",
            "industry": rng.choice(["software", "retail", "manufacturing"]),
            "employees": rng.randrange(5, 2000),
        },
    }


def event(event_id: str, rng: random.Random, before: datetime) -> dict:
    at = before - timedelta(hours=1 + rng.random() * 24 * 60)
    if rng.random() < 0.2:
        kind, properties = "download", {"product": "analytics"}
    else:
        kind, properties = "page_view", {"url": rng.choice(URLS)}
    return {
        "id": event_id,
        "lead": f"L-{rng.randrange(N_LEADS)}",
        "type": kind,
        "at": iso(at),
        "properties": properties,
    }


def test_api_writers_regrades_and_a_cli_import_at_once(tmp_path, config_file, servers):
    db = str(tmp_path / "busy.db")
    start = datetime.now(UTC).replace(microsecond=0)
    marketing = cli(db, config_file, "token", "create", "--role", "marketing").stdout.strip()
    admin = cli(db, config_file, "token", "create", "--role", "admin").stdout.strip()
    server = servers(db, config_file, str(tmp_path / "serve.log")).start()
    rng = random.Random(11)
    leads = [lead(n, rng) for n in range(N_LEADS)]
    assert call(server.base, "POST", "/leads/batch", marketing, {"leads": leads})[0] == 200
    cli_file = tmp_path / "events.jsonl"
    cli_ids = [f"CLI-{n}" for n in range(CLI_EVENTS)]
    cli_file.write_text("".join(json.dumps(event(i, rng, start)) + "\n" for i in cli_ids))

    acked: list[str] = []
    refused: list[str] = []  # anything but a 2xx (or a 409 for a re-grade while one runs)
    regrades: list[dict] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + SECONDS

    def note(what: str, status, result) -> None:
        with lock:
            refused.append(f"{what}: {status} {result}"[:500])

    def writer(number: int) -> None:
        own = random.Random(number)
        batch = 0
        while time.monotonic() < stop_at:
            ids = [f"W{number}-{batch}-{i}" for i in range(100)]
            body = {"events": [event(i, own, start) for i in ids]}
            try:
                status, result = call(server.base, "POST", "/events", marketing, body)
            except OSError as error:
                note("events", "no response", error)
                return
            if status == 200 and result["stored"] == len(ids):
                with lock:
                    acked.extend(ids)
            else:
                note("events", status, result)
            updates = [lead(own.randrange(N_LEADS), own) for _ in range(20)]
            status, result = call(
                server.base, "POST", "/leads/batch", marketing, {"leads": updates}
            )
            if status != 200:
                note("leads", status, result)
            batch += 1

    def regrader() -> None:
        while time.monotonic() < stop_at:
            status, result = call(server.base, "POST", "/regrade", admin)
            if status == 200:
                regrades.append(result)
            elif status != 409:  # 409: another run holds the lease, as documented
                note("regrade", status, result)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    threads.append(threading.Thread(target=regrader))
    for thread in threads:
        thread.start()
    time.sleep(0.5)
    importer = subprocess.Popen(
        [BIN, "--db", db, "--config", config_file, "import", "events", str(cli_file)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    time.sleep(0.5)
    # a changed model file: the server's watch re-grades everyone with it (reason model-change)
    model = yaml.safe_load(open(config_file))
    model["models"][0]["fit"]["thresholds"] = {"A": 60, "B": 40, "C": 20}
    # written whole and renamed into place: the importer may be reading the file this moment,
    # and a truncated file would rightly be refused by it
    with open(config_file + ".new", "w") as handle:
        yaml.safe_dump(model, handle, sort_keys=False)
    os.replace(config_file + ".new", config_file)
    output = importer.communicate(timeout=120)[0]
    for thread in threads:
        thread.join(120)

    def every_run() -> list[dict]:
        # from the database: /api/runs lists the latest 50, and the regrader thread may have
        # started more than that after the watch's model-change run
        with sqlite3.connect(db) as conn:
            conn.row_factory = sqlite3.Row
            return [dict(r) for r in conn.execute("SELECT * FROM runs ORDER BY id")]

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        runs = every_run()
        if any(r["reason"] == "model-change" and r["finished_at"] for r in runs):
            break
        time.sleep(0.2)
    server.stop()
    runs = every_run()

    # the watch's run, or the hourly one when it comes first
    assert any(r["reason"] == "model-change" for r in runs), runs
    assert all(r["error"] is None and r["finished_at"] for r in runs), runs
    log = server.log_text()
    assert importer.returncode == 0, output
    assert f"imported {CLI_EVENTS} events" in output and "re-graded" in output, output
    assert refused == [], log[-4000:]
    assert acked and regrades and all(r["error"] is None for r in regrades)
    assert "database is locked" not in (log + output).lower()
    assert "Traceback" not in log, log[-3000:]

    with sqlite3.connect(db) as conn:
        per_id = dict(conn.execute("SELECT ext_id, count(*) FROM events GROUP BY ext_id"))
    assert len(acked) == len(set(acked))
    assert set(per_id) == set(acked) | set(cli_ids)  # nothing acknowledged is missing
    assert set(per_id.values()) == {1}  # and nothing is stored twice
    assert_consistent(db)
    # every grade agrees with the leads and events stored at the end: none was computed from
    # data another writer replaced in the meantime
    regrade_writes_nothing(db, config_file, iso(start))


big_database = crash_tests.big_database  # the fixture: a graded database of BIG_LEADS leads


def test_writers_during_a_parallel_model_change_regrade(tmp_path, big_database, servers):
    """A model-file change on a database big enough to re-grade in worker processes, while API
    batches keep arriving: no batch's fresh grade is overwritten by a worker's older reading."""
    template, source_config, built = big_database
    db, config = str(tmp_path / "big.db"), str(tmp_path / "grading.yaml")
    shutil.copyfile(template, db)
    shutil.copyfile(source_config, config)
    marketing = cli(db, config, "token", "create", "--role", "marketing").stdout.strip()
    admin = cli(db, config, "token", "create", "--role", "admin").stdout.strip()
    server = servers(db, config, str(tmp_path / "serve.log")).start()
    start = datetime.now(UTC).replace(microsecond=0)
    acked: list[str] = []
    refused: list[str] = []
    done = threading.Event()

    def writer(number: int) -> None:
        own = random.Random(number)
        batch = 0
        while not done.is_set():
            body = {"events": []}
            for i in range(50):
                item = event(f"B{number}-{batch}-{i}", own, start)
                item["lead"] = f"L-{own.randrange(1, crash_tests.BIG_LEADS + 1):07d}"
                body["events"].append(item)
            status, result = call(server.base, "POST", "/events", marketing, body)
            if status == 200 and result["stored"] == 50:
                acked.extend(e["id"] for e in body["events"])
            else:
                refused.append(f"{status} {result}"[:500])
            batch += 1

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    model = yaml.safe_load(open(config))
    model["models"][0]["fit"]["thresholds"] = {"A": 40, "B": 25, "C": 10}  # most cells move
    with open(config, "w") as handle:
        yaml.safe_dump(model, handle, sort_keys=False)
    workers, runs = 0, []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        workers = max(workers, len(crash_tests.children_of(server.process.pid)))
        runs = call(server.base, "GET", "/runs", admin)[1]["runs"]
        if any(r["reason"] == "model-change" and r["finished_at"] for r in runs):
            break
        time.sleep(0.1)
    time.sleep(0.5)  # a few batches after the run, too
    done.set()
    for thread in threads:
        thread.join(60)
    server.stop()

    assert refused == [], server.log_text()[-4000:]
    assert [r["reason"] for r in runs] == ["model-change"] and runs[0]["error"] is None, runs
    assert workers >= 2, "the re-grade ran in one process: this test needs its worker processes"
    assert acked
    with sqlite3.connect(db) as conn:
        marks = ",".join("?" * len(acked))
        stored = conn.execute(
            f"SELECT count(*) FROM events WHERE ext_id IN ({marks})", acked
        ).fetchone()[0]
    assert stored == len(acked) == len(set(acked))
    assert_consistent(db)
    regrade_writes_nothing(db, config, iso(start))
