"""Webhooks: messages from grade changes, signed, delivered once and in order after a receiver outage."""

import hashlib
import hmac
import json
import socket
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from grading.core.config import load_config
from grading.services import webhook_delivery, webhooks
from grading.services.grading import regrade
from grading.services.ingest import import_records

T = datetime(2026, 11, 1, 12, tzinfo=UTC)
SECRET = "s3cret"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Receiver:
    """A loopback HTTP receiver that can be down (nothing listening), failing (500) or up."""

    def __init__(self, port):
        self.port = port
        self.received = []
        self.fail_next = 0
        self.server = None

    def start(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if receiver.fail_next:
                    receiver.fail_next -= 1
                    self.send_response(500)
                    self.end_headers()
                    return
                receiver.received.append((dict(self.headers), body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver(free_port())
    yield r
    r.stop()


@pytest.fixture
def hooked(model_dict, receiver, monkeypatch):
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    model_dict["webhooks"] = [
        {"url": f"http://127.0.0.1:{receiver.port}/hook", "secret_env": "HOOK_SECRET"}
    ]
    return load_config(model_dict)


def lead(n, title="CEO"):
    return (
        str(n),
        {
            "id": f"L-{n}",
            "person": {"title": title},
            "company": {"industry": "software", "employees": 500},
        },
    )


def downloads(n, count, day):
    return [
        (
            str(i),
            {
                "lead": f"L-{n}",
                "type": "download",
                "at": (T - timedelta(days=day, minutes=i)).isoformat(),
            },
        )
        for i in range(count)
    ]


def test_grade_and_route_changes_are_enqueued_per_webhook_event_and_model(db, model_dict):
    model_dict["webhooks"] = [
        {"url": "http://127.0.0.1:9/all"},
        {"url": "http://127.0.0.1:9/routes", "events": ["route.changed"]},
        {"url": "http://127.0.0.1:9/other", "models": ["prospects"], "events": ["grade.changed"]},
    ]
    config = load_config(model_dict)
    import_records(db, config, "leads", [lead(1)], as_of=T)  # new grades: grade and route change
    rows = db.execute("SELECT url, event, body FROM outbox ORDER BY id").fetchall()
    by_url = {}
    for url, event, body in rows:
        by_url.setdefault(url.rsplit("/", 1)[1], []).append((event, json.loads(body)))
    assert [e for e, _ in by_url["all"]] == [
        "grade.changed",
        "route.changed",
    ] * 2  # main, analytics
    assert [e for e, _ in by_url["routes"]] == ["route.changed"] * 2
    assert [e for e, _ in by_url["other"]] == ["grade.changed"] * 2
    message = by_url["all"][0][1]
    assert (
        message["lead"],
        message["model"],
        message["category"],
        message["from"],
        message["to"],
    ) == ("L-1", "prospects", None, None, "A1")
    assert message["reason"] == "lead-update" and len(message["id"]) == 32


def test_nothing_is_enqueued_without_webhooks(db, config):
    import_records(db, config, "leads", [lead(1)], as_of=T)
    assert db.execute("SELECT count(*) FROM outbox").fetchone()[0] == 0


def test_a_receiver_that_is_down_then_up_gets_every_message_once_in_order(db, hooked, receiver):
    import_records(db, hooked, "leads", [lead(1), lead(2, "Student")], as_of=T)
    import_records(db, hooked, "events", downloads(1, 3, 0), as_of=T)
    regrade(db, hooked, as_of=T + timedelta(days=120))
    expected = [json.loads(b) for (b,) in db.execute("SELECT body FROM outbox ORDER BY id")]
    assert len(expected) >= 6

    now = time.time() + 1
    first = webhook_delivery.deliver_due(db, hooked, now=now)  # nothing listens yet
    assert first == {"delivered": 0, "failed": 1}
    (state,) = webhooks.status(db)
    assert state["failing"] and state["attempts"] == 1 and state["pending"] == len(expected)
    assert webhook_delivery.deliver_due(db, hooked, now=now + 0.5) == {
        "delivered": 0,
        "failed": 0,
    }  # backing off

    receiver.start()
    receiver.fail_next = 1  # up, but answers 500 once
    assert webhook_delivery.deliver_due(db, hooked, now=now + 1)["failed"] == 1
    assert (
        webhook_delivery.deliver_due(db, hooked, now=now + 2)["delivered"] == 0
    )  # 2 s back-off after 2 failures
    done = webhook_delivery.deliver_due(db, hooked, now=now + 4)
    assert done == {"delivered": len(expected), "failed": 0}
    assert webhook_delivery.deliver_due(db, hooked, now=now + 10) == {"delivered": 0, "failed": 0}

    bodies = [json.loads(body) for _, body in receiver.received]
    assert bodies == expected  # every message exactly once, in order
    for lead_id in ("L-1", "L-2"):
        ats = [b["at"] for b in bodies if b["lead"] == lead_id]
        assert ats == sorted(ats)
    for headers, body in receiver.received:
        signature = headers["X-Grading-Signature"]
        assert hmac.compare_digest(
            signature, "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        )
        assert headers["X-Grading-Event"] == json.loads(body)["event"]
        assert headers["X-Grading-Delivery"] == json.loads(body)["id"]
    (state,) = webhooks.status(db)
    assert (state["pending"], state["delivered"], state["failing"]) == (0, len(expected), False)


@pytest.mark.parametrize("attempts,delay", [(1, 1), (2, 2), (3, 4), (9, 256), (10, 300), (30, 300)])
def test_back_off_doubles_and_is_capped(attempts, delay):
    assert webhook_delivery.backoff(attempts) == delay


def test_the_deliverer_thread_delivers_and_stops_promptly(tmp_path, hooked, receiver):
    from grading.store.db import connect

    path = str(tmp_path / "d.db")
    db = connect(path)
    import_records(db, hooked, "leads", [lead(1)], as_of=T)
    receiver.start()
    deliverer = webhook_delivery.Deliverer(path, lambda: hooked, interval=0.05)
    deliverer.start()
    for _ in range(100):
        if len(receiver.received) == 4:
            break
        threading.Event().wait(0.05)
    started = datetime.now()
    deliverer.stop()
    assert (datetime.now() - started).total_seconds() < 2
    assert len(receiver.received) == 4  # grade and route, main and analytics
