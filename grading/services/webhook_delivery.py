"""Webhook delivery: the outbox's messages POSTed to their receivers, signed (HMAC-SHA256 of the
exact body), without following redirects; a failure holds its URL back for a doubling delay
(backoff) so later messages wait and each lead's changes arrive in order; a lease in the
database lets one deliverer work at a time; Deliverer is the background thread of `grading
serve`. The messages are built and queued by webhooks.py."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import logging
import os
import socket
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable

import orjson
import sqlite_utils

from grading.core.times import unix_text

from ..core.model import Config, Webhook
from ..store import outbox
from ..store import runs as run_store
from ..store.db import connect, transaction
from .webhooks import public_url

log = logging.getLogger("grading.webhooks")

BASE_DELAY = 1.0  # seconds before the first retry; doubles with every failure
MAX_DELAY = 300.0
LEASE = "webhooks"
LEASE_SECONDS = 60.0  # renewed while delivering; a crashed deliverer's lease frees after this


# --- posting -----------------------------------------------------------------------------------


def sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def backoff(attempts: int) -> float:
    """Seconds to wait after the given number of failures: 1, 2, 4, … at most MAX_DELAY."""
    exponent = min(max(attempts - 1, 0), 32)  # 2 ** 1100 would not fit a float
    return min(BASE_DELAY * 2**exponent, MAX_DELAY)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirected POST would be re-sent as a bodiless GET: count a 3xx as a failure instead."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def _post(url: str, body: bytes, event: str, secret: str | None, timeout: float) -> str | None:
    """POST one message; None on a 2xx answer, else a short reason."""
    request = urllib.request.Request(url, data=body, method="POST")
    request.add_header("Content-Type", "application/json")
    request.add_header("User-Agent", "grading-webhooks")
    request.add_header("X-Grading-Event", event)
    request.add_header("X-Grading-Delivery", orjson.loads(body)["id"])
    if secret:
        request.add_header("X-Grading-Signature", sign(body, secret))
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=timeout) as response:
            return None if 200 <= response.status < 300 else f"HTTP {response.status}"
    except urllib.error.HTTPError as error:
        return f"HTTP {error.code}"
    except urllib.error.URLError as error:
        return _reason(error.reason)
    except (OSError, http.client.HTTPException, ValueError) as error:
        return _reason(error)


def _reason(error: object) -> str:
    if isinstance(error, TimeoutError | socket.timeout):
        return "timeout"
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, ConnectionResetError):
        return "connection reset"
    if isinstance(error, socket.gaierror):
        return "unknown host"
    if isinstance(error, http.client.HTTPException):
        return f"bad response ({type(error).__name__})"
    if isinstance(error, BaseException):
        return f"{type(error).__name__}: {error}"[:200]
    return str(error)[:200]


class MissingSecret(Exception):
    """secret_env names a variable that is not set (or empty): nothing may go unsigned."""


def _secret(hook: Webhook) -> str | None:
    """The HMAC secret, None for a hook without secret_env; MissingSecret when it names a
    variable that is gone (the model file was checked when read, but the environment can change)."""
    if not hook.secret_env:
        return None
    secret = os.environ.get(hook.secret_env)
    if not secret or not secret.strip():  # a blank secret signs nothing anyone keeps secret
        raise MissingSecret(f"{hook.secret_env} is not set: held, not sent unsigned")
    return secret


class _Lease:
    """The delivery lease, renewed before it is half used up."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.until = 0.0

    def keep(self) -> bool:
        now = time.time()
        if now < self.until - LEASE_SECONDS / 2:
            return True
        if not run_store.take_lease(self.db, LEASE, self.holder, now, LEASE_SECONDS):
            return False
        self.until = now + LEASE_SECONDS
        return True

    def release(self) -> None:
        if self.until:
            run_store.release_lease(self.db, LEASE, self.holder)


def deliver_due(
    db: sqlite_utils.Database,
    config: Config,
    *,
    now: float | None = None,
    timeout: float = 5.0,
    max_messages: int = 500,
    keep_going: Callable[[], bool] | None = None,
) -> dict[str, int]:
    """Deliver what is due, oldest first per URL (at most max_messages per URL); a failure stops
    its URL until the back-off has passed. `now` (epoch seconds) is for tests; `keep_going` is
    asked before every POST (the Deliverer stops promptly with it)."""
    counts = {"delivered": 0, "failed": 0}
    clock: Callable[[], float] = time.time if now is None else (lambda: now)
    start = clock()
    hooks: dict[str, Webhook] = {}
    for hook in config.webhooks:
        hooks.setdefault(hook.url, hook)  # messages name their URL; the first hook for it signs
    due = [
        url
        for url in hooks
        if (head := outbox.pending(db, url, 1)) and head[0].next_attempt_at <= start
    ]
    if not due:
        return counts
    lease = _Lease(db)
    try:
        if not lease.keep():  # before reading messages, so none is read that another just sent
            log.info("webhook delivery: another process holds the lease")
            return counts
        for url in due:
            try:
                secret = _secret(hooks[url])
            except MissingSecret as missing:
                counts["failed"] += _hold(db, url, str(missing), clock)
                continue
            for message_id, event, body, attempts, next_at in outbox.pending(db, url, max_messages):
                if next_at > start:
                    break
                if keep_going is not None and not keep_going():
                    return counts
                if not lease.keep():
                    log.info("webhook delivery: another process holds the lease")
                    return counts
                payload = body.encode() if isinstance(body, str) else bytes(body)
                error = _post(url, payload, event, secret, timeout)
                if error is None:
                    with transaction(db):
                        outbox.mark_delivered(db, message_id, unix_text(time.time()))
                    counts["delivered"] += 1
                    continue
                _record_failure(db, message_id, attempts + 1, error, clock)
                counts["failed"] += 1
                log.warning("webhook %s: %s (attempt %d)", public_url(url), error, attempts + 1)
                break
    finally:
        lease.release()
    return counts


def _record_failure(
    db: sqlite_utils.Database,
    message_id: int,
    attempts: int,
    error: str,
    clock: Callable[[], float],
) -> None:
    with transaction(db):
        outbox.record_failure(db, message_id, attempts, error, clock() + backoff(attempts))


def _hold(db: sqlite_utils.Database, url: str, error: str, clock: Callable[[], float]) -> int:
    """The URL's oldest message stays in the outbox with the error and its back-off; the rest
    wait behind it, as after a failed delivery."""
    oldest = outbox.pending(db, url, 1)[0]
    _record_failure(db, oldest.id, oldest.attempts + 1, error, clock)
    log.warning("webhook %s: %s (attempt %d)", public_url(url), error, oldest.attempts + 1)
    return 1


# --- the background thread ---------------------------------------------------------------------


class Deliverer:
    """A background thread that delivers due messages every `interval` seconds, with its own
    connection; `get_config` is called every round, so a reloaded model file is used."""

    def __init__(
        self,
        db_path: str,
        get_config: Callable[[], Config | None],
        interval: float = 1.0,
        timeout: float = 5.0,
    ) -> None:
        self.db_path = db_path
        self.get_config = get_config
        self.interval = interval
        self.timeout = timeout
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="webhooks", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        """Stop after the POST in flight, if any (at most the HTTP timeout)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(self.timeout + 1 if timeout is None else timeout)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        db = None
        try:
            while not self._stop.is_set():
                delivered = 0
                try:
                    if db is None:
                        db = connect(self.db_path)
                    config = self.get_config()
                    if config is not None and config.webhooks:
                        delivered = deliver_due(
                            db,
                            config,
                            timeout=self.timeout,
                            keep_going=lambda: not self._stop.is_set(),
                        )["delivered"]
                except Exception:  # log it and try again next round
                    log.exception("webhook delivery failed")
                # A round that delivered may have left a backlog: go on without waiting.
                self._stop.wait(0 if delivered else self.interval)
        finally:
            if db is not None:
                db.conn.close()
