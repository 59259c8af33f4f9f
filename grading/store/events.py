"""Events and their classes.

Each event is stored with a *class*: the event's type plus the values of the properties the
model file reads. Events of one class match the same rules, so grading reads small integers
instead of parsing properties, and a class is classified once however many events share it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import repeat
from typing import Any

import orjson
import sqlite_utils

from grading.core.records import EventColumns
from grading.core.scoring import Event
from grading.core.times import from_epoch

from .db import get_meta, set_meta, transaction

SIGNATURE_KEY = "class_signature"
ERASED_KEY = "class_erasures"  # counts erasures that deleted classes: kept ids are then reread


_TEXT_OR_NONE = {str, type(None)}


def class_key(event_type: str, properties: dict[str, Any], signature: Sequence[str]) -> bytes:
    return orjson.dumps([event_type, *[properties.get(k) for k in signature]])


def decode_class_key(key: str | bytes, signature: Sequence[str]) -> tuple[str, dict[str, Any]]:
    event_type, *values = orjson.loads(key)
    return event_type, {k: v for k, v in zip(signature, values, strict=True) if v is not None}


class EventClasses:
    """The class ids of one database under one signature (the property keys the model reads)."""

    def __init__(self, db: sqlite_utils.Database, signature: Sequence[str]):
        self.db = db
        self.signature = tuple(signature)
        self.forget_unsaved()

    def id_of(self, event_type: str, properties: dict[str, Any]) -> int:
        return self._id_of_key(class_key(event_type, properties, self.signature), event_type)

    def _id_of_key(self, key: bytes, event_type: str) -> int:
        class_id = self.ids.get(key)
        if class_id is None:
            # Another process may have added the same class since we read them: take its id.
            self.db.execute("INSERT OR IGNORE INTO event_classes (key) VALUES (?)", [key.decode()])
            (class_id,) = self.db.execute(
                "SELECT id FROM event_classes WHERE key = ?", [key.decode()]
            ).fetchone()
            self.ids[key] = class_id
        return class_id

    def ids_of(self, events: EventColumns, stored: StoredEvents) -> list[int]:
        """id_of for many events: without a class key per event when their class values are
        known (see StoredEvents), remembered by them."""
        if stored.class_values is None:
            return list(map(self.id_of, events.types, events.properties))
        ids = list(map(self.by_values.get, stored.class_values))
        if None in ids:
            for i, values in enumerate(stored.class_values):
                if ids[i] is None:
                    ids[i] = self.by_values[values] = self._id_of_key(
                        orjson.dumps(values), values[0]
                    )
        return ids  # type: ignore[return-value]  # (no None left)

    def forget_unsaved(self) -> None:
        """Read the ids from the database (again after a rollback: drop ids it may not have)."""
        self.by_values: dict[tuple[Any, ...], int] = {}
        self.erasures = get_meta(self.db, ERASED_KEY)
        self.ids = {
            key.encode(): i for i, key in self.db.execute("SELECT id, key FROM event_classes")
        }

    def reread_if_erased(self) -> None:
        """An erasure (in any process) deleted classes since they were read: read them again, so
        no event is stored with the id of a deleted class."""
        if get_meta(self.db, ERASED_KEY) != self.erasures:
            self.forget_unsaved()

    def since(self, after_id: int) -> Iterator[tuple[int, str, dict[str, Any]]]:
        rows = self.db.execute(
            "SELECT id, key FROM event_classes WHERE id > ? ORDER BY id", [after_id]
        )
        for class_id, key in rows.fetchall():
            yield class_id, *decode_class_key(key, self.signature)


def drop_unused_classes(db: sqlite_utils.Database, class_ids: Iterable[int]) -> int:
    """Delete those of these classes no event has any more (after an erasure: a class key holds
    the values of the person's event properties). One pass over the events' lead index."""
    wanted = orjson.dumps(sorted(set(class_ids))).decode()
    used = [
        row[0]
        for row in db.execute(
            "SELECT DISTINCT class_id FROM events WHERE class_id IN (SELECT value FROM json_each(?))",
            [wanted],
        )
    ]
    deleted = db.execute(
        "DELETE FROM event_classes WHERE id IN (SELECT value FROM json_each(?))"
        " AND id NOT IN (SELECT value FROM json_each(?))",
        [wanted, orjson.dumps(used).decode()],
    ).rowcount
    if deleted:
        set_meta(db, ERASED_KEY, str(int(get_meta(db, ERASED_KEY) or 0) + 1))
    return deleted


def stored_signature(db: sqlite_utils.Database) -> tuple[str, ...] | None:
    raw = get_meta(db, SIGNATURE_KEY)
    return tuple(orjson.loads(raw)) if raw is not None else None


def reclassify(db: sqlite_utils.Database, signature: Sequence[str], batch: int = 50_000) -> int:
    """Rebuild every event's class for a new signature, in one streaming pass (one transaction
    held by the caller). Returns the number of events visited."""
    db.execute("DELETE FROM event_classes")
    classes = EventClasses(db, signature)
    reader = db.conn.cursor()
    reader.execute("SELECT id, type, props FROM events ORDER BY id")
    seen = 0
    while rows := reader.fetchmany(batch):
        updates = [(classes.id_of(t, orjson.loads(p)), i) for i, t, p in rows]
        db.conn.executemany("UPDATE events SET class_id = ? WHERE id = ?", updates)
        seen += len(rows)
    set_meta(db, SIGNATURE_KEY, orjson.dumps(list(signature)).decode())
    return seen


def ensure_signature(db: sqlite_utils.Database, signature: Sequence[str]) -> bool:
    """Make the stored classes match the signature; True when events were re-classified."""
    current = stored_signature(db)
    if current == tuple(signature):
        return False
    reclassify(db, signature)
    return True


@dataclass
class StoredEvents:
    """What insert_events stores of events besides their columns, made ahead (by the process
    that reads a file): the properties as JSON text, and each event's class values (its type
    and the value of each signature key, as in its class key) when they are all texts or
    absent, else None (1 == 1.0 == True: other values are told apart by their class key)."""

    signature: tuple[str, ...]
    properties: list[str]
    class_values: list[tuple[Any, ...]] | None

    @classmethod
    def of(cls, events: EventColumns, signature: Sequence[str]) -> StoredEvents:
        properties = [text.decode() for text in map(orjson.dumps, events.properties)]
        columns = [list(map(dict.get, events.properties, repeat(key))) for key in signature]
        if not all(set(map(type, column)) <= _TEXT_OR_NONE for column in columns):
            return cls(tuple(signature), properties, None)
        return cls(tuple(signature), properties, list(zip(events.types, *columns, strict=True)))


def insert_events(
    db: sqlite_utils.Database,
    classes: EventClasses,
    lead_ids: list[int],
    events: EventColumns,
    stored: StoredEvents | None = None,
) -> tuple[int, int]:
    """Insert events (with the internal id of each one's lead) in one statement; events whose id
    is already stored, or came earlier in the same call, are skipped.

    Returns (inserted, duplicates)."""
    if stored is None or tuple(stored.signature) != classes.signature:
        stored = StoredEvents.of(events, classes.signature)
    class_ids = classes.ids_of(events, stored)
    # rowcount, not total_changes: the rows a trigger writes (into another table) are no events
    inserted = db.conn.executemany(
        "INSERT OR IGNORE INTO events (ext_id, lead_id, type, at, props, class_id)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        zip(
            events.ids,
            lead_ids,
            events.types,
            events.ats,
            stored.properties,
            class_ids,
            strict=True,
        ),
    ).rowcount
    return inserted, len(lead_ids) - inserted


def events_of(
    db: sqlite_utils.Database, lead_id: int, limit: int | None = None
) -> list[dict[str, Any]]:
    sql = "SELECT ext_id, type, at, props FROM events WHERE lead_id = ? ORDER BY at DESC, id DESC"
    params: list[Any] = [lead_id]
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    return [
        {"id": ext_id, "type": t, "at": at, "properties": orjson.loads(p)}
        for ext_id, t, at, p in db.execute(sql, params)
    ]


def window_events(
    db: sqlite_utils.Database,
    since: int,
    until: int,
    *,
    lead_ids: Sequence[int] = (),
    id_range: tuple[int, int] | None = None,
) -> list[tuple[int, int, int]]:
    """(lead id, class id, time) of the events from `since` to `until` (inclusive) of the leads
    with ids in `id_range` (low inclusive, high exclusive), else of `lead_ids`: what grading
    counts, read from the covering index."""
    sql = "SELECT lead_id, class_id, at FROM events WHERE at >= ? AND at <= ? AND "
    if id_range is not None:
        return db.execute(
            sql + "lead_id >= ? AND lead_id < ?", [since, until, *id_range]
        ).fetchall()
    ids = list(lead_ids)
    marks = ",".join("?" * len(ids))
    return db.execute(sql + f"lead_id IN ({marks})", [since, until, *ids]).fetchall()


def window_raw_events(
    db: sqlite_utils.Database, since: int, until: int, id_range: tuple[int, int]
) -> list[tuple[int, str, str, int]]:
    """(lead id, type, properties JSON, time) of the events from `since` to `until` of the leads
    in `id_range`: for classifying them afresh (a preview of a file that reads other properties)."""
    return db.execute(
        "SELECT lead_id, type, props, at FROM events"
        " WHERE at >= ? AND at <= ? AND lead_id >= ? AND lead_id < ?",
        [since, until, *id_range],
    ).fetchall()


def lead_events_between(
    db: sqlite_utils.Database, lead_id: int, since: int, until: int
) -> list[Event]:
    """The lead's events from `since` to `until` (inclusive), in no particular order."""
    rows = db.execute(
        "SELECT type, at, props FROM events WHERE lead_id = ? AND at >= ? AND at <= ?",
        [lead_id, since, until],
    )
    return [Event(kind, from_epoch(when), orjson.loads(props)) for kind, when, props in rows]


def count_events(db: sqlite_utils.Database, lead_id: int) -> int:
    return db.execute("SELECT count(*) FROM events WHERE lead_id = ?", [lead_id]).fetchone()[0]


def purge_before(db: sqlite_utils.Database, cutoff: int, chunk: int = 10_000) -> int:
    """Delete events older than cutoff (microseconds), a chunk per transaction so writers wait
    at most one chunk. Returns how many were deleted."""
    # One pass over the covering (lead_id, at) index finds them; deleting by rowid is then cheap.
    ids = [row[0] for row in db.execute("SELECT id FROM events WHERE at < ?", [cutoff])]
    deleted = 0
    for start in range(0, len(ids), chunk):
        part = ids[start : start + chunk]
        with transaction(db):
            marks = ",".join("?" * len(part))
            deleted += db.execute(f"DELETE FROM events WHERE id IN ({marks})", part).rowcount
    return deleted
