"""Crash safety: a real `grading serve` is SIGKILLed while it stores event batches and while it
re-grades everyone; after a restart on the same database nothing acknowledged is lost or doubled,
no grade is half-written, and the re-grade lease and run record do not stay stuck."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest
import yaml

from tests.factories import spec_model

pytestmark = pytest.mark.slow  # real servers killed mid-write: seconds a test

BIN = os.path.join(os.path.dirname(sys.executable), "grading")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def cli(db: str, config: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(
        [BIN, "--db", db, "--config", config, *args],
        capture_output=True,
        text=True,
        check=check,
        timeout=120,
    )


def call(base: str, method: str, path: str, token: str | None = None, body=None, timeout=60):
    """(status, JSON body); OSError when the server is gone."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        raw = error.read()
        try:
            return error.code, json.loads(raw)
        except ValueError:
            return error.code, {"raw": raw.decode(errors="replace")}


def children_of(pid: int) -> list[int]:
    """The direct child processes of pid (Linux /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                stat = handle.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[1]) == pid:
            found.append(int(entry))
    return found


def alive(pid: int) -> bool:
    """True while pid runs (a zombie waiting to be reaped counts as ended)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            stat = handle.read()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


class Server:
    """`grading serve` on a free loopback port; can be SIGKILLed and started again on the same DB."""

    def __init__(self, db: str, config: str, log: str):
        self.db, self.config, self.log = db, config, log
        self.process: subprocess.Popen | None = None
        self.base = ""
        self.leftovers: list[int] = []  # processes the server started, checked after a kill

    def start(self) -> Server:
        port = free_port()
        with open(self.log, "a") as log:
            self.process = subprocess.Popen(
                [BIN, "--db", self.db, "--config", self.config, "serve", "--port", str(port)],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.base = f"http://127.0.0.1:{port}/api"
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if call(self.base, "GET", "/health", timeout=2)[0] == 200:
                    return self
            except OSError:
                time.sleep(0.05)
        self.process.kill()
        pytest.fail("server did not start: " + open(self.log).read()[-2000:])

    def kill(self) -> list[int]:
        """SIGKILL the server; returns the processes it had started (e.g. re-grade workers)."""
        children = children_of(self.process.pid)
        self.leftovers += children
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        return children

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for pid in self.leftovers:  # only processes this server started, by pid
            if alive(pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

    def log_text(self) -> str:
        with open(self.log) as handle:
            return handle.read()


@pytest.fixture
def servers():
    started: list[Server] = []

    def _make(db: str, config: str, log: str) -> Server:
        server = Server(db, config, log)
        started.append(server)
        return server

    yield _make
    for server in started:
        server.stop()


# --- consistency checks on a quiescent database -----------------------------------------------


def grades_by_lead(db_path: str) -> dict[int, tuple]:
    with sqlite3.connect(db_path) as conn:
        rows = conn.execute(
            "SELECT lead_id, model, category, fit_score, fit, activity_score, activity, grade,"
            " route, explanation FROM grades ORDER BY lead_id, model, category"
        ).fetchall()
    grouped: dict[int, list] = {}
    for row in rows:
        grouped.setdefault(row[0], []).append(row[1:])
    return {lead: tuple(items) for lead, items in grouped.items()}


def assert_consistent(db_path: str) -> None:
    """integrity_check ok; cell counts agree with the grades; each history chain is unbroken and
    ends at the current grade."""
    conn = sqlite3.connect(db_path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        cells = dict(
            ((m, c, g), n)
            for m, c, g, n in conn.execute(
                "SELECT model, category, grade, leads FROM cell_stats WHERE leads != 0"
            )
        )
        counted = dict(
            ((m, c, g), n)
            for m, c, g, n in conn.execute(
                "SELECT model, category, grade, count(*) FROM grades GROUP BY model, category, grade"
            )
        )
        assert cells == counted
        broken = conn.execute(
            "SELECT count(*) FROM (SELECT from_grade, lag(to_grade) OVER"
            " (PARTITION BY lead_id, model, coalesce(category, '') ORDER BY id) AS previous"
            " FROM grade_history) WHERE from_grade IS NOT previous"
        ).fetchone()[0]
        assert broken == 0, f"{broken} history entries do not start where the previous ended"
        mismatched = conn.execute(
            "SELECT count(*) FROM (SELECT lead_id, model, coalesce(category, '') AS category,"
            " to_grade, row_number() OVER (PARTITION BY lead_id, model, coalesce(category, '')"
            " ORDER BY id DESC) AS newest FROM grade_history) AS h"
            " LEFT JOIN grades g ON g.lead_id = h.lead_id AND g.model = h.model"
            " AND g.category = h.category"
            " WHERE h.newest = 1 AND h.to_grade IS NOT g.grade"
        ).fetchone()[0]
        assert mismatched == 0, f"{mismatched} grades differ from the end of their history"
    finally:
        conn.close()


def regrade_writes_nothing(db: str, config: str, as_of: str) -> None:
    """A fresh grading of everyone as of as_of agrees with every stored grade."""
    out = cli(db, config, "regrade", "--as-of", as_of).stdout
    assert " 0 grade(s) changed cell or route, 0 grade row(s) written" in out, out


# --- (a) SIGKILL while event batches arrive ---------------------------------------------------

N_LEADS = 40
N_BATCHES = 25
BATCH = 200
KILL_AFTER = 6  # acknowledged batches before the kill

URLS = ["/pricing", "/pricing/enterprise", "/careers", "/blog/roi", "/products/crm", "/docs"]


def event_batches(before: datetime) -> list[list[dict]]:
    rng = random.Random(7)
    batches = []
    for b in range(N_BATCHES):
        batch = []
        for i in range(BATCH):
            at = before - timedelta(hours=1 + rng.random() * 24 * 80)
            if rng.random() < 0.2:
                event = {"type": "download", "properties": {"product": "analytics"}}
            else:
                event = {"type": "page_view", "properties": {"url": rng.choice(URLS)}}
            event.update(id=f"E-{b}-{i}", lead=f"L-{rng.randrange(N_LEADS)}", at=iso(at))
            batch.append(event)
        batches.append(batch)
    return batches


def test_events_acknowledged_before_a_sigkill_are_stored_once_and_graded(
    tmp_path, config_file, servers
):
    db = str(tmp_path / "crash.db")
    start = datetime.now(UTC).replace(microsecond=0)
    token = cli(db, config_file, "token", "create", "--role", "marketing").stdout.strip()
    server = servers(db, config_file, str(tmp_path / "serve.log")).start()
    leads = [
        {
            "id": f"L-{i}",
            "person": {"title": ["CEO", "Engineer", "Student"][i % 3]},
            "company": {"industry": "software", "employees": 50 + 40 * i},
        }
        for i in range(N_LEADS)
    ]
    assert call(server.base, "POST", "/leads/batch", token, {"leads": leads})[0] == 200
    batches = event_batches(start)

    acked: dict[int, dict] = {}
    failed: dict[int, str] = {}
    enough = threading.Event()

    def send_all(base: str) -> None:
        for number, batch in enumerate(batches):
            try:
                status, result = call(base, "POST", "/events", token, {"events": batch})
            except OSError as error:
                failed[number] = repr(error)
                continue
            if 200 <= status < 300:
                acked[number] = result
                if len(acked) == KILL_AFTER:
                    enough.set()  # the next batch is on its way while the server is killed
            else:
                failed[number] = f"{status} {result}"

    sender = threading.Thread(target=send_all, args=(server.base,))
    sender.start()
    assert enough.wait(30), f"the server acknowledged only {len(acked)} batches: {failed}"
    server.kill()
    sender.join(60)
    assert len(acked) >= KILL_AFTER and failed, "the kill came after the last batch"
    assert all(r["stored"] == BATCH and r["duplicates"] == 0 for r in acked.values())

    server.start()  # the same database, after the crash
    in_flight = 0
    for number, batch in enumerate(batches):
        status, result = call(server.base, "POST", "/events", token, {"events": batch})
        assert status == 200, result
        if number in acked:  # stored before the crash: every event is a duplicate now
            assert (result["stored"], result["duplicates"]) == (0, BATCH), number
        else:  # whole or nothing: a batch in flight at the kill was committed entirely or not at all
            assert (result["stored"], result["duplicates"]) in ((BATCH, 0), (0, BATCH)), result
            in_flight += result["duplicates"] == BATCH
    server.stop()

    sent = {e["id"] for batch in batches for e in batch}
    with sqlite3.connect(db) as conn:
        per_id = dict(conn.execute("SELECT ext_id, count(*) FROM events GROUP BY ext_id"))
        ungraded = conn.execute(
            "SELECT count(*) FROM leads l WHERE EXISTS (SELECT 1 FROM events e WHERE e.lead_id = l.id)"
            " AND NOT EXISTS (SELECT 1 FROM grades g WHERE g.lead_id = l.id AND g.category = '')"
        ).fetchone()[0]
    assert set(per_id) == sent and set(per_id.values()) == {1}
    assert in_flight <= 1  # only the batch on its way at the kill may be stored unacknowledged
    assert ungraded == 0
    assert_consistent(db)
    # every stored grade is the grade of the events stored with it (grading as of the start: the
    # same UTC day as the batches, and every event is older)
    regrade_writes_nothing(db, config_file, iso(start))
    assert "database is locked" not in server.log_text()


# --- (b) SIGKILL during a full re-grade -------------------------------------------------------

BIG_LEADS = 20_000  # enough that a full re-grade takes seconds, in worker processes


@pytest.fixture(scope="module")
def big_database(tmp_path_factory):
    """A graded database of BIG_LEADS generated leads (built once per module), and its model file."""
    from grading.demo.dataset import generate
    from grading.services import ingest
    from grading.services.grading import regrade
    from grading.services.model_file.read import read_config
    from grading.store.db import connect

    folder = tmp_path_factory.mktemp("big")
    config = str(folder / "grading.yaml")
    model = {**spec_model(), "schedule": {"regrade": "0 0 1 1 *"}}  # no hourly run in the test
    with open(config, "w") as handle:
        yaml.safe_dump(model, handle, sort_keys=False)
    path = str(folder / "big.db")
    db = connect(path)
    loaded = read_config(config)
    now = datetime.now(UTC)
    data = generate(BIG_LEADS, seed=3, end=now, events_per_lead=3)
    for kind, records in (("leads", data.leads()), ("events", data.events())):
        numbered = ((str(n), record) for n, record in enumerate(records, start=1))
        ingest.import_records(db, loaded.config, kind, numbered, grade=False)
    regrade(db, loaded.config, as_of=now, reason="regrade")
    db.conn.close()  # checkpoints the WAL: the file alone is the database
    return path, config, now


def test_a_sigkill_during_a_regrade_leaves_whole_grades_and_no_stuck_lease(
    tmp_path, big_database, servers
):
    template, config, built = big_database
    db = str(tmp_path / "regrade.db")
    shutil.copyfile(template, db)
    old = grades_by_lead(db)
    admin = cli(db, config, "token", "create", "--role", "admin").stdout.strip()
    server = servers(db, config, str(tmp_path / "serve.log")).start()
    as_of = iso(built - timedelta(days=20))  # older: most grades change

    outcome: list = []

    def regrade_everyone() -> None:
        try:
            outcome.append(call(server.base, "POST", "/regrade", admin, {"as_of": as_of}))
        except OSError as error:
            outcome.append(error)

    request = threading.Thread(target=regrade_everyone)
    request.start()
    watch = sqlite3.connect(db)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # kill once the first slice of new grades is committed
        written = watch.execute(
            "SELECT count(*) FROM grades WHERE graded_at = ?", [as_of]
        ).fetchone()[0]
        if written:
            break
        time.sleep(0.01)
    else:
        pytest.fail(f"the re-grade wrote nothing in 30 s: {outcome}")
    workers = server.kill()
    watch.close()
    request.join(30)
    assert outcome and isinstance(outcome[0], OSError), f"the re-grade finished first: {outcome}"

    # The re-grade's worker processes end with the server instead of grading on unsupervised.
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in workers if alive(pid)], "worker processes outlived the server"
    after_kill = grades_by_lead(db)
    assert_consistent(db)

    server.start()
    status, run = call(server.base, "POST", "/regrade", admin, {"as_of": as_of})
    assert status == 200, run  # the dead server's lease does not block a new run
    assert run["error"] is None and run["leads"] == BIG_LEADS
    new = grades_by_lead(db)
    status, again = call(server.base, "POST", "/regrade", admin, {"as_of": as_of})
    assert status == 200 and (again["changed"], again["rows_written"]) == (0, 0), again
    status, listed = call(server.base, "GET", "/runs", admin)
    server.stop()

    # Each lead's grades were either all still the old ones or all the new ones after the kill.
    assert set(after_kill) == set(old) == set(new)
    halfway = [lead for lead in old if after_kill[lead] not in (old[lead], new[lead])]
    assert halfway == [], f"{len(halfway)} leads have a mix of old and new grades"
    regraded = sum(after_kill[lead] == new[lead] != old[lead] for lead in old)
    untouched = sum(after_kill[lead] == old[lead] != new[lead] for lead in old)
    assert regraded and untouched, (regraded, untouched)  # the kill came in the middle

    killed = listed["runs"][-1]
    assert killed["finished_at"] is not None and "interrupted" in (killed["error"] or ""), killed
    assert listed["running"] is None
    assert_consistent(db)
    assert "database is locked" not in server.log_text()


# --- (c) SIGKILL during the first grading of a big database ------------------------------------

FIRST_LEADS = 50_000  # a first grading of this many builds the grade indexes once, at the end


def test_a_sigkill_during_a_first_grading_leaves_the_grade_indexes_rebuilt(tmp_path, config_file):
    from grading.services import ingest
    from grading.services.model_file.read import read_config
    from grading.store.db import connect
    from grading.store.grades import GRADE_INDEXES

    path = str(tmp_path / "first.db")
    db = connect(path)
    leads = (
        (str(n), {"id": f"L-{n}", "person": {"title": "CEO" if n % 3 else "Student"}})
        for n in range(FIRST_LEADS)
    )
    ingest.import_records(db, read_config(config_file).config, "leads", leads, grade=False)
    db.conn.close()

    def indexes() -> set[str]:
        with sqlite3.connect(path) as conn:
            rows = conn.execute("SELECT name FROM sqlite_master WHERE tbl_name = 'grades'")
            return {name for (name,) in rows} & set(GRADE_INDEXES)

    assert indexes() == set(GRADE_INDEXES)
    first = subprocess.Popen([BIN, "--db", path, "--config", config_file, "regrade"])
    watch = sqlite3.connect(path)
    deadline = time.monotonic() + 60
    while not watch.execute("SELECT EXISTS (SELECT 1 FROM grades)").fetchone()[0]:
        assert first.poll() is None and time.monotonic() < deadline, "the grading ended first"
        time.sleep(0.01)
    workers = children_of(first.pid)
    first.kill()
    first.wait()
    watch.close()
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    leftovers = [pid for pid in workers if alive(pid)]
    for pid in leftovers:
        os.kill(pid, signal.SIGKILL)
    assert not leftovers, "worker processes outlived the killed command"
    assert indexes() != set(GRADE_INDEXES)  # killed while the indexes were dropped

    out = cli(path, config_file, "regrade").stdout  # the dead command's lease does not block it
    assert f"graded {FIRST_LEADS} lead(s)" in out, out
    assert indexes() == set(GRADE_INDEXES)
    with sqlite3.connect(path) as conn:
        errors = [row[0] for row in conn.execute("SELECT error FROM runs ORDER BY id")]
    assert len(errors) == 2 and "interrupted" in errors[0] and errors[1] is None, errors
    assert_consistent(path)
