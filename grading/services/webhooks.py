"""Webhooks: grade and route changes in a stored outbox, delivered in order, signed, with back-off.

The grader enqueues messages in the same transaction that writes the grade change, so none is
lost; delivery happens later (a background thread of `grading serve`) and never holds the
database's write lock while waiting for a receiver. Messages to one URL go strictly in id order:
while the oldest is failing, the later ones wait, which keeps every lead's changes in order.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
import sqlite_utils

from grading.core.model import Config

from ..store.db import connect, transaction

log = logging.getLogger("grading.webhooks")
BASE_DELAY = 1.0  # seconds before the first retry; doubles with every failure
MAX_DELAY = 300.0


def _iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def enqueue(db: sqlite_utils.Database, config: Config, history_rows: Sequence[tuple]) -> int:
    """Turn history rows (lead_id, model, category, from, to, from_route, to_route, at, reason) into
    outbox messages. Called inside the grader's write transaction."""
    if not config.webhooks or not history_rows:
        return 0
    lead_ids = sorted({row[0] for row in history_rows})
    ext: dict[int, str] = {}
    for start in range(0, len(lead_ids), 500):
        part = lead_ids[start : start + 500]
        ext.update(
            db.execute(
                f"SELECT id, ext_id FROM leads WHERE id IN ({','.join('?' * len(part))})", part
            )
        )
    now = time.time()
    created = _iso(now)
    messages = []
    for lead_id, model, category, old, new, old_route, new_route, at, reason in history_rows:
        kinds = []
        if old != new:
            kinds.append("grade.changed")
        if old_route != new_route:
            kinds.append("route.changed")
        for kind in kinds:
            for hook in config.webhooks:
                if kind not in hook.events or (
                    hook.models is not None and model not in hook.models
                ):
                    continue
                body = orjson.dumps(
                    {
                        "id": uuid.uuid4().hex,
                        "event": kind,
                        "lead": ext.get(lead_id),
                        "model": model,
                        "category": category,
                        "from": old,
                        "to": new,
                        "from_route": orjson.loads(old_route) if old_route else None,
                        "to_route": orjson.loads(new_route) if new_route else None,
                        "at": at,
                        "reason": reason,
                    }
                )
                messages.append((hook.url, kind, lead_id, body.decode(), created, now))
    if messages:
        db.conn.executemany(
            "INSERT INTO outbox (url, event, lead_id, body, created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?)",
            messages,
        )
    return len(messages)


def sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _post(url: str, body: bytes, event: str, secret: str | None, timeout: float) -> str | None:
    """POST one message; None on a 2xx answer, else a short reason."""
    request = urllib.request.Request(url, data=body, method="POST")
    request.add_header("Content-Type", "application/json")
    request.add_header("User-Agent", "grading-webhooks")
    request.add_header("X-Grading-Event", event)
    request.add_header("X-Grading-Delivery", orjson.loads(body)["id"])
    if secret:
        request.add_header("X-Grading-Signature", sign(body, secret))
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return None if 200 <= response.status < 300 else f"HTTP {response.status}"
    except urllib.error.HTTPError as error:
        return f"HTTP {error.code}"
    except urllib.error.URLError as error:
        return str(getattr(error.reason, "strerror", None) or error.reason)[:200]
    except (OSError, ValueError) as error:
        return f"{type(error).__name__}: {error}"[:200]


def backoff(attempts: int) -> float:
    return min(BASE_DELAY * 2 ** (attempts - 1), MAX_DELAY)


def deliver_due(
    db: sqlite_utils.Database,
    config: Config,
    *,
    now: float | None = None,
    timeout: float = 5.0,
    max_messages: int = 500,
) -> dict[str, int]:
    """Deliver what is due, oldest first per URL; stop a URL at its first failure."""
    now = time.time() if now is None else now
    hooks = {hook.url: hook for hook in config.webhooks}
    counts = {"delivered": 0, "failed": 0}
    urls = [
        row[0] for row in db.execute("SELECT DISTINCT url FROM outbox WHERE delivered_at IS NULL")
    ]
    for url in urls:
        hook = hooks.get(url)
        if hook is None:
            continue  # no longer configured: kept, and shown by status()
        secret = os.environ.get(hook.secret_env) if hook.secret_env else None
        rows = db.execute(
            "SELECT id, event, body, attempts, next_attempt_at FROM outbox WHERE url = ? AND delivered_at IS NULL"
            " ORDER BY id LIMIT ?",
            [url, max_messages],
        ).fetchall()
        for message_id, event, body, attempts, due in rows:
            if due > now:
                break
            error = _post(url, body.encode(), event, secret, timeout)
            with transaction(db):
                if error is None:
                    db.execute(
                        "UPDATE outbox SET delivered_at = ?, attempts = ?, last_error = NULL WHERE id = ?",
                        [_iso(time.time()), attempts + 1, message_id],
                    )
                else:
                    db.execute(
                        "UPDATE outbox SET attempts = ?, last_error = ?, next_attempt_at = ? WHERE id = ?",
                        [attempts + 1, error, now + backoff(attempts + 1), message_id],
                    )
            if error is not None:
                counts["failed"] += 1
                log.warning("webhook %s: %s (attempt %d)", url, error, attempts + 1)
                break
            counts["delivered"] += 1
    return counts


def status(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    out = []
    for url, pending, delivered, oldest in db.execute(
        "SELECT url, sum(delivered_at IS NULL), sum(delivered_at IS NOT NULL),"
        " min(CASE WHEN delivered_at IS NULL THEN created_at END) FROM outbox GROUP BY url ORDER BY url"
    ):
        head = db.execute(
            "SELECT attempts, last_error, next_attempt_at FROM outbox WHERE url = ? AND delivered_at IS NULL"
            " ORDER BY id LIMIT 1",
            [url],
        ).fetchone()
        attempts, last_error, next_at = head if head else (None, None, None)
        out.append(
            {
                "url": url,
                "pending": pending,
                "delivered": delivered,
                "failing": bool(attempts),
                "attempts": attempts,
                "last_error": last_error,
                "next_attempt_at": _iso(next_at) if head else None,
                "oldest_pending_at": oldest,
            }
        )
    return out


class Deliverer:
    """A background thread that delivers due messages every `interval` seconds."""

    def __init__(self, db_path: str, get_config: Callable[[], Config], interval: float = 1.0):
        self.db_path = db_path
        self.get_config = get_config
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="webhooks", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        db = connect(self.db_path)
        try:
            while not self._stop.is_set():
                try:
                    config = self.get_config()
                    if config.webhooks:
                        deliver_due(db, config)
                except Exception:  # noqa: BLE001 - keep delivering whatever one round did
                    log.exception("webhook delivery failed")
                self._stop.wait(self.interval)
        finally:
            db.conn.close()
