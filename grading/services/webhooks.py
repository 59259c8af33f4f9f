"""Webhooks: grade and route changes in a stored outbox, delivered in order, signed, with back-off.

The grader enqueues messages in the same transaction that writes the grade change, so none is
lost; delivery happens later (a background thread of `grading serve`) and never holds the
database's write lock while waiting for a receiver. Messages to one URL go strictly in id order:
while the oldest is failing, the later ones wait, which keeps every lead's changes in order.
A lease in the database lets only one deliverer work at a time, so two servers on one database
do not send a message twice.

This module builds and queues the messages (enqueue), reports the outbox per URL (status) and
says what non-admins see of a URL (public_url); webhook_delivery.py posts them, signs them,
retries with back-off and holds the lease (deliver_due, Deliverer).
"""

from __future__ import annotations

import os
import time
import urllib.parse
from collections.abc import Iterator, Sequence
from typing import Any, overload

import orjson
import sqlite_utils

from grading.core.times import unix_text

from ..core.changes import HistoryRow
from ..core.model import Config
from ..store import leads as lead_store
from ..store import outbox


@overload
def _iso(epoch: float) -> str: ...
@overload
def _iso(epoch: None) -> None: ...
def _iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return unix_text(epoch)


# --- enqueue -----------------------------------------------------------------------------------


def enqueue(
    db: sqlite_utils.Database, config: Config, history_rows: Sequence[HistoryRow | tuple]
) -> int:
    """Turn history rows (core.changes.HistoryRow: lead_id, model, category, from, to,
    from_route, to_route, at, reason) into outbox messages and return how many. Called inside
    the grader's write transaction."""
    if not config.webhooks or not history_rows:
        return 0
    targets: dict[tuple[str, str], tuple[str, ...]] = {}  # (event, model) -> urls, memoised

    def urls_for(event: str, model: str) -> tuple[str, ...]:
        key = (event, model)
        if key not in targets:
            targets[key] = tuple(
                hook.url
                for hook in config.webhooks
                if event in hook.events and (hook.models is None or model in hook.models)
            )
        return targets[key]

    ext_ids = lead_store.ext_ids_of(db, {row[0] for row in history_rows})
    delivery_ids = _uuid4_hexes()
    now = time.time()
    created = _iso(now)
    messages = []
    for lead_id, model, category, old, new, old_route, new_route, at, reason in history_rows:
        events = []
        if old != new and urls_for("grade.changed", model):
            events.append("grade.changed")
        if old_route != new_route and urls_for("route.changed", model):
            events.append("route.changed")
        if not events:
            continue
        content = {
            "lead": ext_ids.get(lead_id),
            "model": model,
            "category": category,
            "from": old,
            "to": new,
            "from_route": orjson.loads(old_route) if old_route else None,
            "to_route": orjson.loads(new_route) if new_route else None,
            "at": at,
            "reason": reason,
        }
        for event in events:
            for url in urls_for(event, model):
                body = orjson.dumps({"id": next(delivery_ids), "event": event, **content})
                messages.append(outbox.NewMessage(url, event, lead_id, body.decode(), created, now))
    if messages:
        outbox.add(db, messages)
    return len(messages)


def _uuid4_hexes() -> Iterator[str]:
    """Random (version 4) UUIDs as hex, a block of random bytes at a time: uuid.uuid4() per
    message was a third of the cost of enqueueing a large re-grade."""
    while True:
        block = os.urandom(16 * 1024).hex()
        for start in range(0, len(block), 32):
            h = block[start : start + 32]
            yield f"{h[:12]}4{h[13:16]}{'89ab'[int(h[16], 16) & 3]}{h[17:]}"


# --- status ------------------------------------------------------------------------------------


def status(db: sqlite_utils.Database, config: Config | None = None) -> list[dict[str, Any]]:
    """Per URL: pending and delivered counts and the oldest pending message's state. With a
    config, `configured` tells whether the URL is still in it (messages to a removed URL wait)."""
    out = []
    for state in outbox.url_states(db):
        item = {
            "url": state.url,
            "pending": state.pending,
            "delivered": state.delivered,
            "failing": bool(state.attempts),
            "attempts": state.attempts,
            "last_error": state.last_error,
            "next_attempt_at": _iso(state.next_attempt_at),
            "oldest_pending_at": state.oldest_pending_at,
        }
        if config is not None:
            item["configured"] = any(hook.url == state.url for hook in config.webhooks)
        out.append(item)
    return out


# --- what others may see -----------------------------------------------------------------------


def public_url(url: str) -> str:
    """What roles other than admin see of a webhook URL: scheme and host. The path and the query
    string often carry the receiver's token (https://hooks.example.com/services/T0/B0/XYZ?key=…)."""
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname or ""
        if parts.port:
            host = f"{host}:{parts.port}"
    except ValueError:  # the model file refuses such a URL; an outbox row may predate that
        return "(an invalid address)"
    return f"{parts.scheme}://{host}/…"
