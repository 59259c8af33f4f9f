"""API benchmark against a real `grading serve` on a loopback port.

`python bench/api.py DB [--config FILE]` — DB is a graded database (bench/run.py --keep leaves
one in bench/data/SIZE/bench.db). Measures batch ingest, single-event latency (the lead is
re-graded before the response), the lead list for one cell and the matrix; prints a markdown table.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
GRADING = os.path.join(os.path.dirname(sys.executable), "grading")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


class Client:
    def __init__(self, port: int, token: str):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def call(self, method: str, path: str, body=None) -> tuple[int, dict, float]:
        data = json.dumps(body).encode() if body is not None else None
        started = time.perf_counter()
        self.connection.request(method, path, body=data, headers=self.headers)
        response = self.connection.getresponse()
        payload = json.loads(response.read())
        return response.status, payload, time.perf_counter() - started


def web_pages(port: int, env: dict, lead: str, reads: int) -> list[tuple]:
    """Log in through the form, then time each page of the web view."""
    suffix = str(int(time.time()))[-6:]
    name, password = f"bench{suffix}", f"bench-password-{suffix}"
    subprocess.run(
        [GRADING, "user", "create", name, "--role", "admin", "--password", password],
        env=env,
        capture_output=True,
        check=True,
    )
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def get(path: str, cookie: str = "") -> tuple[int, str, dict]:
        connection.request("GET", path, headers={"Cookie": cookie} if cookie else {})
        response = connection.getresponse()
        return response.status, response.read().decode(), dict(response.getheaders())

    _, page, headers = get("/login")
    cookie = headers["Set-Cookie"].split(";")[0]
    token = page.split('name="csrf" value="')[1].split('"')[0]
    connection.request(
        "POST",
        "/login",
        body=f"name={name}&password={password}&csrf={token}",
        headers={"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"},
    )
    response = connection.getresponse()
    response.read()
    cookie = response.getheader("Set-Cookie").split(";")[0]
    pages = [
        ("matrix", "/"),
        ("lead list", "/leads"),
        ("lead list, one cell", "/leads?cell=A4"),
        ("lead list, A4+A3 by activity", "/leads?cell=A4&cell=A3&sort=activity_score&order=desc"),
        ("lead list, by last activity", "/leads?sort=last_activity"),
        ("lead page", f"/leads/{lead}"),
        ("routes", "/routes"),
        ("models", "/models"),
    ]
    rows = []
    for label, path in pages:
        latencies = []
        for _ in range(max(10, reads // 4)):
            started = time.perf_counter()
            status, _, _ = get(path, cookie)
            latencies.append(time.perf_counter() - started)
            assert status == 200, (path, status)
        rows.append(
            (
                f"web: {label} `{path}`",
                f"p50 {percentile(latencies, 50) * 1000:.1f} ms, p95 {percentile(latencies, 95) * 1000:.1f} ms",
                f"{len(latencies)} requests",
            )
        )
    return rows


def run(
    db: str, config: str, batches: int = 20, singles: int = 200, reads: int = 100
) -> list[tuple]:
    env = {**os.environ, "GRADING_DB": db, "GRADING_CONFIG": config}
    # The database was graded as of the data set's end; a running server's hourly re-grade keeps
    # every grade current, so bring them to now first (else the first event of each lead also
    # carries a month of decay into every one of its grades).
    subprocess.run([GRADING, "regrade"], env=env, capture_output=True, check=True)
    token = subprocess.run(
        [GRADING, "token", "create", "--role", "admin", "--name", "bench"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    port = free_port()
    server = subprocess.Popen(
        [GRADING, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        client = Client(port, token)
        # a page of leads earlier runs most likely did not use, so repeated runs on one database
        # do not pile events onto the same leads (a lead's re-grade reads all its events)
        page = 1 + int(time.time()) % 200
        listed = client.call("GET", f"/api/leads?per_page=1000&sort=id&page={page}")[1]["items"]
        leads = [row["id"] for row in listed] or [
            row["id"] for row in client.call("GET", "/api/leads?per_page=1000&sort=id")[1]["items"]
        ]
        now = datetime.now(UTC)
        stamp = (now - timedelta(minutes=5)).isoformat().replace("+00:00", "Z")
        run_id = int(time.time())
        rows = []

        for per_lead, label in ((5, "sessions of 5 events per lead"), (1, "1,000 different leads")):
            total, started = 0, time.perf_counter()
            for b in range(batches):
                events = [
                    {
                        "id": f"B{per_lead}-{run_id}-{b}-{i}",
                        "lead": leads[(b * 1000 + i) // per_lead % len(leads)],
                        "type": "page_view",
                        "at": stamp,
                        "properties": {"url": "/pricing", "product": "analytics"},
                    }
                    for i in range(1000)
                ]
                status, payload, _ = client.call("POST", "/api/events", {"events": events})
                assert status == 200, payload
                total += payload["stored"]
            seconds = time.perf_counter() - started
            rows.append(
                (
                    f"POST /api/events, batches of 1,000: {label}, each lead re-graded before the answer",
                    f"{total / seconds:,.0f} events/s",
                    f"{batches} batches",
                )
            )

        latencies = []
        for i in range(singles):
            event = {
                "id": f"S-{run_id}-{i}",
                "lead": leads[i % len(leads)],
                "type": "download",
                "at": stamp,
                "properties": {"product": "crm"},
            }
            status, payload, took = client.call("POST", "/api/events", {"events": [event]})
            assert status == 200 and payload["regraded"] == 1, payload
            latencies.append(took)
        rows.append(
            (
                "POST /api/events, one event, re-graded before the answer",
                f"p50 {percentile(latencies, 50) * 1000:.1f} ms, p99 {percentile(latencies, 99) * 1000:.1f} ms",
                f"{singles} requests",
            )
        )

        for label, path in (
            ("GET /api/leads?cell=A4", "/api/leads?cell=A4"),
            ("GET /api/matrix", "/api/matrix"),
        ):
            latencies = []
            for _ in range(reads):
                status, payload, took = client.call("GET", path)
                assert status == 200, payload
                latencies.append(took)
            rows.append(
                (
                    label,
                    f"p50 {percentile(latencies, 50) * 1000:.1f} ms, p95 "
                    f"{percentile(latencies, 95) * 1000:.1f} ms",
                    f"{reads} requests",
                )
            )
        rows += web_pages(port, env, leads[0], reads)
        return rows
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("db")
    parser.add_argument("--config", default=os.path.join(ROOT, "config", "grading.yaml"))
    options = parser.parse_args()
    for name, value, note in run(options.db, options.config):
        print(f"| {name} | {value} | {note} |")


if __name__ == "__main__":
    main()
