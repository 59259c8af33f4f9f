"""Webhooks service: outbox messages from history rows, signed delivery to a real loopback receiver
that is down and then up, back-off, status and the background deliverer."""

import dataclasses
import hashlib
import hmac
import json
import logging
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from grading.core.model import Webhook
from grading.services import webhook_delivery, webhooks
from grading.store import runs as run_store
from grading.store.db import transaction

SECRET = "receiver-shared-secret"
AT = "2026-11-01T12:00:00Z"
SALES = '{"to":"sales","queue":"senior"}'
NURTURE = '{"to":"nurture","campaign":"accelerate"}'


# --- helpers -----------------------------------------------------------------------------------


def add_leads(db, *ext_ids):
    """Insert leads directly; returns {ext_id: lead id}."""
    with transaction(db):
        for ext_id in ext_ids:
            db.execute(
                "INSERT INTO leads (ext_id, attrs, lifecycle, created_at, updated_at)"
                " VALUES (?, '{}', 'lead', ?, ?)",
                [ext_id, AT, AT],
            )
    return dict(db.execute("SELECT ext_id, id FROM leads").fetchall())


def change(
    lead_id,
    old,
    new,
    old_route=None,
    new_route=None,
    *,
    model="prospects",
    category=None,
    at=AT,
    reason="regrade",
):
    return (lead_id, model, category, old, new, old_route, new_route, at, reason)


def with_hooks(config, *hooks):
    return dataclasses.replace(config, webhooks=tuple(hooks))


def enqueue(db, config, rows):
    with transaction(db):
        return webhooks.enqueue(db, config, rows)


def outbox(db):
    return db.execute(
        "SELECT id, url, event, lead_id, body, attempts, next_attempt_at, delivered_at, last_error"
        " FROM outbox ORDER BY id"
    ).fetchall()


def head(db, url):
    return db.execute(
        "SELECT attempts, next_attempt_at, last_error FROM outbox"
        " WHERE url = ? AND delivered_at IS NULL ORDER BY id LIMIT 1",
        [url],
    ).fetchone()


def db_path(db):
    return db.execute("PRAGMA database_list").fetchone()[2]


class Receiver:
    """A webhook receiver on a reserved loopback port. Until `up()` the port is bound but not
    listening, so connections are refused; once up it answers `status` (500 for the first
    `fail_first` requests) after waiting `delay` seconds."""

    def __init__(self):
        self.reserved_socket = socket.socket()
        self.reserved_socket.bind(("127.0.0.1", 0))
        self.port = self.reserved_socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.requests = []  # (method, path, headers, body, answered status)
        self.fail_first = 0
        self.status = 204
        self.delay = 0.0
        self.release = threading.Event()  # ends every delay early (teardown)
        self.lock = threading.Lock()
        self.server = None

    def up(self):
        self.reserved_socket.close()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                if receiver.delay:
                    receiver.release.wait(receiver.delay)
                with receiver.lock:
                    failing = receiver.fail_first > 0
                    receiver.fail_first -= failing
                    code = 500 if failing else receiver.status
                    receiver.requests.append(
                        (self.command, self.path, dict(self.headers), body, code)
                    )
                self.send_response(code)
                if 300 <= code < 400:
                    self.send_header("Location", f"http://127.0.0.1:{receiver.port}/moved")
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_POST = do_GET = _answer

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def close(self):
        self.release.set()
        if self.server:
            self.server.shutdown()
            self.server.server_close()
        else:
            self.reserved_socket.close()

    @property
    def accepted(self):
        """Bodies answered with a 2xx, in arrival order."""
        with self.lock:
            return [r[3] for r in self.requests if 200 <= r[4] < 300]


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def signed(config, receiver, monkeypatch):
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    return with_hooks(config, Webhook(receiver.url, secret_env="HOOK_SECRET"))


def verify(headers, body):
    """What a receiver does: recompute the HMAC of the raw body and compare in constant time."""
    expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(headers.get("X-Grading-Signature", ""), expected)


# --- enqueue -----------------------------------------------------------------------------------


def test_grade_and_route_changes_become_messages_for_the_hooks_that_want_them(db, config):
    ids = add_leads(db, "L-1", "L-2", "L-3", "L-4")
    everything = Webhook("http://127.0.0.1:9/all")
    routes_only = Webhook("http://127.0.0.1:9/routes", events=("route.changed",))
    upsell_grades = Webhook(
        "http://127.0.0.1:9/upsell", events=("grade.changed",), models=("upsell",)
    )
    hooked = with_hooks(config, everything, routes_only, upsell_grades)
    rows = [
        change(ids["L-1"], "B2", "A2", NURTURE, NURTURE),  # grade only
        change(ids["L-2"], "B3", "B3", NURTURE, SALES, category="analytics"),  # route only
        change(ids["L-3"], "A3", "A4", NURTURE, SALES, model="upsell", reason="event"),  # both
        change(ids["L-4"], "C1", "C1", None, None),  # neither: nothing to say
        change(ids["L-4"], "C1", None, NURTURE, None, reason="lead-update"),  # left the audience
    ]
    before = time.time()
    assert enqueue(db, hooked, rows) == 10
    stored = outbox(db)
    assert [(url.rsplit("/", 1)[1], event, lead_id) for _, url, event, lead_id, *_ in stored] == [
        ("all", "grade.changed", ids["L-1"]),
        ("all", "route.changed", ids["L-2"]),
        ("routes", "route.changed", ids["L-2"]),
        ("all", "grade.changed", ids["L-3"]),
        ("upsell", "grade.changed", ids["L-3"]),
        ("all", "route.changed", ids["L-3"]),
        ("routes", "route.changed", ids["L-3"]),
        ("all", "grade.changed", ids["L-4"]),
        ("all", "route.changed", ids["L-4"]),
        ("routes", "route.changed", ids["L-4"]),
    ]
    bodies = [json.loads(row[4]) for row in stored]
    assert bodies[5] == {
        "id": bodies[5]["id"],
        "event": "route.changed",
        "lead": "L-3",
        "model": "upsell",
        "category": None,
        "from": "A3",
        "to": "A4",
        "from_route": {"to": "nurture", "campaign": "accelerate"},
        "to_route": {"to": "sales", "queue": "senior"},
        "at": AT,
        "reason": "event",
    }
    assert (bodies[1]["lead"], bodies[1]["category"]) == ("L-2", "analytics")
    assert (bodies[7]["to"], bodies[7]["to_route"], bodies[7]["reason"]) == (
        None,
        None,
        "lead-update",
    )
    delivery_ids = [b["id"] for b in bodies]
    assert len(set(delivery_ids)) == len(delivery_ids)
    assert all(re.fullmatch(r"[0-9a-f]{12}4[0-9a-f]{3}[89ab][0-9a-f]{15}", i) for i in delivery_ids)
    for _, _, _, _, body, attempts, next_at, delivered_at, last_error in stored:
        assert b" " not in body.encode() and json.loads(body)  # compact JSON
        assert (attempts, delivered_at, last_error) == (0, None, None)
        assert before <= next_at <= time.time()  # due at once


def test_without_webhooks_or_without_changes_nothing_is_enqueued(db, config):
    ids = add_leads(db, "L-1")
    assert enqueue(db, config, [change(ids["L-1"], None, "A1", None, SALES)]) == 0
    hooked = with_hooks(config, Webhook("http://127.0.0.1:9/all", models=("upsell",)))
    assert enqueue(db, hooked, [change(ids["L-1"], None, "A1", None, SALES)]) == 0  # other model
    assert enqueue(db, hooked, []) == 0
    assert outbox(db) == []


def test_enqueue_is_part_of_the_callers_transaction(db, config):
    ids = add_leads(db, "L-1")
    hooked = with_hooks(config, Webhook("http://127.0.0.1:9/all"))
    with pytest.raises(RuntimeError), transaction(db):
        assert webhooks.enqueue(db, hooked, [change(ids["L-1"], None, "A1")]) == 1
        raise RuntimeError("the grade write failed")
    assert outbox(db) == []  # rolled back with the grade change: no message for a change not made


def test_leads_are_looked_up_in_one_query_however_many(db, config):
    ids = add_leads(db, *(f"L-{n}" for n in range(3000)))  # more than SQLite's 999 variables
    hooked = with_hooks(config, Webhook("http://127.0.0.1:9/all", events=("grade.changed",)))
    statements = []
    db.conn.set_trace_callback(statements.append)
    try:
        assert enqueue(db, hooked, [change(i, "B1", "B2") for i in ids.values()]) == 3000
    finally:
        db.conn.set_trace_callback(None)
    assert len([s for s in statements if "FROM leads" in s]) == 1
    leads = {json.loads(row[4])["lead"] for row in outbox(db)}
    assert leads == set(ids)


@pytest.mark.slow
def test_enqueueing_100k_changes_is_quick(db, config):
    hooked = with_hooks(config, Webhook("http://127.0.0.1:9/all"))
    rows = [change(n, "B2", "A2", NURTURE, SALES) for n in range(1, 100_001)]
    started = time.perf_counter()
    assert enqueue(db, hooked, rows) == 200_000
    assert (
        time.perf_counter() - started < 15
    )  # about 1.5 s here; a row-at-a-time write is far slower
    assert db.execute("SELECT count(DISTINCT body) FROM outbox").fetchone()[0] == 200_000


# --- delivery ----------------------------------------------------------------------------------


def test_a_receiver_down_then_failing_then_up_gets_every_message_once_in_order(
    db, signed, receiver
):
    ids = add_leads(db, "L-1", "L-2")
    enqueue(db, signed, [change(ids["L-1"], None, "C1", None, NURTURE, reason="lead-update")])
    enqueue(db, signed, [change(ids["L-2"], None, "D1", reason="lead-update")])
    enqueue(db, signed, [change(ids["L-1"], "C1", "B2", reason="event")])
    enqueue(
        db, signed, [change(ids["L-2"], "D1", "C2"), change(ids["L-1"], "B2", "A3", NURTURE, SALES)]
    )
    stored = [row[4].encode() for row in outbox(db)]
    assert len(stored) == 7
    now = time.time() + 1

    # Down: the port is reserved but nothing listens.
    assert webhook_delivery.deliver_due(db, signed, now=now) == {"delivered": 0, "failed": 1}
    assert head(db, receiver.url) == (1, now + 1, "connection refused")
    (state,) = webhooks.status(db)
    assert state["failing"] and (state["pending"], state["delivered"], state["attempts"]) == (
        7,
        0,
        1,
    )
    assert webhook_delivery.deliver_due(db, signed, now=now + 0.9) == {"delivered": 0, "failed": 0}

    # Up, but the first two answers are 500s: each failure doubles the wait.
    receiver.up().fail_first = 2
    assert webhook_delivery.deliver_due(db, signed, now=now + 1) == {"delivered": 0, "failed": 1}
    assert head(db, receiver.url) == (2, now + 1 + 2, "HTTP 500")
    assert webhook_delivery.deliver_due(db, signed, now=now + 2.9) == {"delivered": 0, "failed": 0}
    assert len(receiver.requests) == 1  # nothing was sent while backing off
    assert webhook_delivery.deliver_due(db, signed, now=now + 3) == {"delivered": 0, "failed": 1}
    assert head(db, receiver.url) == (3, now + 3 + 4, "HTTP 500")

    assert webhook_delivery.deliver_due(db, signed, now=now + 7) == {"delivered": 7, "failed": 0}
    assert webhook_delivery.deliver_due(db, signed, now=now + 600) == {"delivered": 0, "failed": 0}

    assert receiver.accepted == stored  # every message once, in order, byte for byte
    assert [r[4] for r in receiver.requests] == [500, 500] + [204] * 7
    messages = [json.loads(b) for b in receiver.accepted]
    for lead, grades in (("L-1", ["C1", "B2", "A3"]), ("L-2", ["D1", "C2"])):
        mine = [m for m in messages if m["lead"] == lead and m["event"] == "grade.changed"]
        assert [m["to"] for m in mine] == grades  # each lead's changes arrive in order
    routes = [m["to_route"] for m in messages if m["event"] == "route.changed"]
    assert routes == [json.loads(NURTURE), json.loads(SALES)]
    for method, path, headers, body, _ in receiver.requests:
        message = json.loads(body)
        assert (method, path) == ("POST", "/hook")
        assert verify(headers, body)
        assert headers["Content-Type"] == "application/json"
        assert headers["X-Grading-Event"] == message["event"]
        assert headers["X-Grading-Delivery"] == message["id"]
    (state,) = webhooks.status(db)
    assert (state["pending"], state["delivered"], state["failing"]) == (0, 7, False)
    assert state["oldest_pending_at"] is None and state["next_attempt_at"] is None


def test_a_tampered_body_or_another_secret_does_not_verify(db, signed, receiver):
    ids = add_leads(db, "L-1")
    enqueue(db, signed, [change(ids["L-1"], "B1", "A1")])
    receiver.up()
    assert webhook_delivery.deliver_due(db, signed)["delivered"] == 1
    (_, _, headers, body, _) = receiver.requests[0]
    assert verify(headers, body)
    assert not verify(headers, body.replace(b'"A1"', b'"A4"'))
    other = "sha256=" + hmac.new(b"another secret", body, hashlib.sha256).hexdigest()
    assert not hmac.compare_digest(headers["X-Grading-Signature"], other)


def test_a_secret_env_that_is_unset_holds_the_messages_instead_of_sending_them_unsigned(
    db, config, receiver, monkeypatch
):
    monkeypatch.delenv("UNSET_HOOK_SECRET", raising=False)
    plain_url = receiver.url.replace("/hook", "/plain")
    hooked = with_hooks(
        config, Webhook(receiver.url, secret_env="UNSET_HOOK_SECRET"), Webhook(plain_url)
    )
    ids = add_leads(db, "L-1", "L-2")
    enqueue(db, hooked, [change(ids["L-1"], "B1", "A1"), change(ids["L-2"], "C1", "B1")])
    receiver.up()
    now = time.time() + 1
    # the hook without secret_env is unsigned by choice; the other one is held, none of it sent
    assert webhook_delivery.deliver_due(db, hooked, now=now) == {"delivered": 2, "failed": 1}
    assert [r[1] for r in receiver.requests] == ["/plain", "/plain"]
    assert not any("X-Grading-Signature" in r[2] for r in receiver.requests)
    attempts, next_at, error = head(db, receiver.url)
    assert attempts == 1 and next_at == now + webhook_delivery.backoff(1)
    assert error == "UNSET_HOOK_SECRET is not set: held, not sent unsigned"
    held = next(item for item in webhooks.status(db, hooked) if item["url"] == receiver.url)
    assert held["pending"] == 2 and held["failing"] is True and held["last_error"] == error
    # once the variable is back, the held messages go, signed and in order
    monkeypatch.setenv("UNSET_HOOK_SECRET", SECRET)
    receiver.requests.clear()
    assert webhook_delivery.deliver_due(db, hooked, now=now + 10) == {"delivered": 2, "failed": 0}
    assert [r[1] for r in receiver.requests] == ["/hook", "/hook"]
    assert all(verify(r[2], r[3]) for r in receiver.requests)


def test_one_failing_url_does_not_hold_up_another(db, config, receiver):
    up = Receiver().up()
    try:
        hooked = with_hooks(config, Webhook(receiver.url), Webhook(up.url))
        ids = add_leads(db, "L-1", "L-2")
        enqueue(db, hooked, [change(ids["L-1"], "B1", "A1"), change(ids["L-2"], "C1", "C2")])
        assert webhook_delivery.deliver_due(db, hooked) == {"delivered": 2, "failed": 1}
        assert len(up.accepted) == 2
        states = {s["url"]: s for s in webhooks.status(db)}
        assert (states[receiver.url]["pending"], states[receiver.url]["attempts"]) == (2, 1)
        assert states[receiver.url]["last_error"] == "connection refused"
        assert (states[up.url]["pending"], states[up.url]["delivered"]) == (0, 2)
    finally:
        up.close()


def test_back_off_doubles_with_every_failure_and_is_capped(db, config, receiver):
    receiver.up().status = 503
    hooked = with_hooks(config, Webhook(receiver.url))
    ids = add_leads(db, "L-1")
    enqueue(db, hooked, [change(ids["L-1"], "B1", "A1")])
    waits = []
    now = time.time()
    for _ in range(11):
        assert webhook_delivery.deliver_due(db, hooked, now=now) == {"delivered": 0, "failed": 1}
        attempts, next_at, error = head(db, receiver.url)
        waits.append(next_at - now)
        now = next_at
    assert waits == pytest.approx([1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300])
    assert (attempts, error) == (11, "HTTP 503")
    assert len(receiver.requests) == 11


def test_a_receiver_down_for_weeks_still_backs_off_at_the_cap(db, config, receiver):
    hooked = with_hooks(config, Webhook(receiver.url))
    ids = add_leads(db, "L-1")
    enqueue(db, hooked, [change(ids["L-1"], "B1", "A1")])
    db.execute("UPDATE outbox SET attempts = 5000")  # 2 ** 4999 seconds does not fit a float
    now = time.time()
    assert webhook_delivery.deliver_due(db, hooked, now=now) == {"delivered": 0, "failed": 1}
    assert head(db, receiver.url)[:2] == (5001, now + 300)


@pytest.mark.parametrize(
    "attempts,delay", [(1, 1), (2, 2), (3, 4), (9, 256), (10, 300), (64, 300), (100_000, 300)]
)
def test_back_off_table(attempts, delay):
    assert webhook_delivery.backoff(attempts) == delay


def test_a_slow_receiver_is_a_timeout(db, config, receiver):
    receiver.up().delay = 5
    hooked = with_hooks(config, Webhook(receiver.url))
    ids = add_leads(db, "L-1")
    enqueue(db, hooked, [change(ids["L-1"], "B1", "A1")])
    started = time.monotonic()
    assert webhook_delivery.deliver_due(db, hooked, timeout=0.3) == {"delivered": 0, "failed": 1}
    assert time.monotonic() - started < 3
    assert head(db, receiver.url)[2] == "timeout"


def test_a_redirect_is_a_failure_not_a_get_without_the_body(db, config, receiver):
    receiver.up().status = 302
    hooked = with_hooks(config, Webhook(receiver.url))
    ids = add_leads(db, "L-1")
    enqueue(db, hooked, [change(ids["L-1"], "B1", "A1")])
    assert webhook_delivery.deliver_due(db, hooked) == {"delivered": 0, "failed": 1}
    assert [(r[0], r[1]) for r in receiver.requests] == [("POST", "/hook")]
    assert head(db, receiver.url)[2] == "HTTP 302"


def test_messages_for_a_url_no_longer_configured_wait_and_show_in_status(db, config, receiver):
    receiver.up()
    old = with_hooks(config, Webhook(receiver.url))
    ids = add_leads(db, "L-1")
    enqueue(db, old, [change(ids["L-1"], "B1", "A1")])
    new = with_hooks(config, Webhook(receiver.url.replace("/hook", "/new")))
    assert webhook_delivery.deliver_due(db, new) == {"delivered": 0, "failed": 0}
    assert receiver.requests == []
    (state,) = webhooks.status(db, new)
    assert (state["url"], state["pending"], state["configured"]) == (receiver.url, 1, False)
    assert state["oldest_pending_at"] is not None
    assert webhook_delivery.deliver_due(db, old) == {
        "delivered": 1,
        "failed": 0,
    }  # configured again


def test_only_the_holder_of_the_delivery_lease_sends(db, config, receiver):
    receiver.up()
    hooked = with_hooks(config, Webhook(receiver.url))
    ids = add_leads(db, "L-1")
    enqueue(db, hooked, [change(ids["L-1"], "B1", "A1")])
    assert run_store.take_lease(db, webhook_delivery.LEASE, "other-server", time.time(), 60)
    assert webhook_delivery.deliver_due(db, hooked) == {"delivered": 0, "failed": 0}
    assert receiver.requests == []
    run_store.release_lease(db, webhook_delivery.LEASE, "other-server")
    assert webhook_delivery.deliver_due(db, hooked) == {"delivered": 1, "failed": 0}
    assert run_store.lease_holder(db, webhook_delivery.LEASE, time.time()) is None  # released after


# --- the background thread ---------------------------------------------------------------------


def wait_for(condition, seconds=5.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def test_the_deliverer_survives_errors_delivers_and_stops_promptly(db, signed, receiver, caplog):
    ids = add_leads(db, "L-1", "L-2")
    enqueue(
        db, signed, [change(ids["L-1"], "B1", "A1", NURTURE, SALES), change(ids["L-2"], None, "D1")]
    )
    receiver.up()
    calls = []

    def get_config():
        calls.append(1)
        if len(calls) == 1:
            raise ValueError("model file half written")
        return signed

    deliverer = webhook_delivery.Deliverer(db_path(db), get_config, interval=0.05)
    with caplog.at_level(logging.ERROR, logger="grading.webhooks"):
        deliverer.start()
        assert wait_for(lambda: len(receiver.accepted) == 3, seconds=3)
    assert "model file half written" in caplog.text
    started = time.monotonic()
    deliverer.stop()
    assert time.monotonic() - started < 0.5 and not deliverer.running
    assert all(verify(r[2], r[3]) for r in receiver.requests)
    assert webhooks.status(db)[0]["delivered"] == 3


def test_stopping_the_deliverer_does_not_wait_for_a_backlog(db, config, receiver):
    receiver.up().delay = 0.1
    hooked = with_hooks(config, Webhook(receiver.url))
    ids = add_leads(db, "L-1")
    enqueue(
        db, hooked, [change(ids["L-1"], f"B{n % 4 + 1}", f"B{(n + 1) % 4 + 1}") for n in range(100)]
    )
    deliverer = webhook_delivery.Deliverer(db_path(db), lambda: hooked, interval=0.05)
    deliverer.start()
    assert wait_for(lambda: len(receiver.accepted) >= 2)
    started = time.monotonic()
    deliverer.stop()
    assert time.monotonic() - started < 1 and not deliverer.running
    sent = len(receiver.requests)
    assert sent < 100
    pending = db.execute("SELECT count(*) FROM outbox WHERE delivered_at IS NULL").fetchone()[0]
    assert pending == 100 - sent  # what was sent is recorded, the rest waits for the next start
