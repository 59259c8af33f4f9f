"""Imports of leads, events and outcomes from .jsonl, .json and .csv files.

A file is imported whole or not at all: every row is validated, rows are written inside one
transaction as they come, and any bad row rolls the whole file back after the rest of the
file has been checked, so the user sees every problem at once.

Records come in blocks (a few hundred lines of a .jsonl file, read and parsed at once): a block of
well-formed events is checked as columns and written with one statement, any other block record
by record. A large events file is read and checked by a second process while this one writes.
"""

from __future__ import annotations

import csv
import gc
import io
import multiprocessing
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from typing import Any

import sqlite_utils

from grading.core import json_input
from grading.core.model import Config
from grading.core.records import (
    EventColumns,
    RecordError,
    from_dotted,
    parse_event,
    parse_event_block,
    parse_lead,
    parse_outcome,
)
from grading.core.times import epoch, iso_text

from ..store import leads as lead_store
from ..store import outcomes as outcome_store
from ..store.db import import_cache, transaction
from ..store.events import EventClasses, StoredEvents, insert_events
from .grader import RegradeResult
from .grading import grader_for, regrade

KINDS = ("leads", "events", "outcomes")
BLOCK_BYTES = (
    64 << 10
)  # of a .jsonl file read at once: ~450 events, checked together while in cache
PARALLEL_BYTES = 32 << 20  # an events file this large is read and checked by a second process
BLOCK_RECORDS = 20_000  # records of a .json or .csv file (or a caller's) checked together
INLINE_REGRADE = 10_000  # up to this many touched leads are re-graded in the import's transaction
MAX_PROBLEMS = 10_000  # kept in memory and reported; the rest are only counted
SYSTEM_ACTOR = "system"  # the audit log's actor when a caller names none (demo data, tests)
_NOT_UTF8 = re.compile("[\udc80-\udcff]")  # what surrogateescape makes of undecodable bytes


@dataclass
class ImportResult:
    kind: str
    rows: int = 0
    stored: int = 0
    duplicates: int = 0
    problems: list[str] = field(default_factory=list)
    details: list[tuple[str, str, str]] = field(default_factory=list)  # (position, field, reason)
    more_problems: int = 0
    leads_touched: set[int] = field(default_factory=set)
    regraded: RegradeResult | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems

    def problem(self, where: str, message: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(f"{where}: {message}")
        else:
            self.more_problems += 1


class ImportFailed(Exception):
    def __init__(self, result: ImportResult):
        self.result = result
        super().__init__(f"{len(result.problems) + result.more_problems} bad rows")


class _Counting(io.RawIOBase):
    """Counts the bytes read from a file, for the progress bar."""

    def __init__(self, raw: io.RawIOBase, progress: Callable[[int], None] | None):
        self.raw = raw
        self.progress = progress

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = self.raw.readinto(buffer)
        if n and self.progress:
            self.progress(n)
        return n


# A block: the positions of its records ("LINE" or "item N", or a line number), the records (each
# a parsed value or the RecordError of a record that could not be read), and what their texts
# guarantee when they are plain JSON (json_input.loads_many), else None.
Block = tuple[Sequence[int | str], list[Any], json_input.Plain | None]


def _pairs(blocks: Iterable[Block]) -> Iterator[tuple[str, Any]]:
    for positions, records, _ in blocks:
        yield from zip(map(str, positions), records, strict=True)


def _in_blocks(records: Iterable[tuple[str, Any]]) -> Iterator[Block]:
    pairs = iter(records)
    while chunk := list(islice(pairs, BLOCK_RECORDS)):
        yield [position for position, _ in chunk], [record for _, record in chunk], None


def _file_type(path: str) -> str:
    extension = os.path.splitext(path)[1].lower()
    if extension not in (".jsonl", ".ndjson", ".json", ".csv"):
        raise ValueError(f"{path}: unknown file type '{extension}' (use .jsonl, .json or .csv)")
    return extension


def read_blocks(path: str, progress: Callable[[int], None] | None = None) -> Iterator[Block]:
    """The records of a file in blocks (see Block), in the file's order."""
    extension = _file_type(path)
    raw = _Counting(open(path, "rb", buffering=0), progress)  # noqa: SIM115
    with io.BufferedReader(raw, buffer_size=1 << 20) as binary:
        if extension == ".jsonl" or extension == ".ndjson":
            yield from _jsonl_blocks(binary)
        else:
            reader = _json_records if extension == ".json" else _csv_records
            yield from _in_blocks(reader(binary))


def _jsonl_blocks(binary: io.BufferedIOBase) -> Iterator[Block]:
    """The lines of a .jsonl file a block of bytes at a time (lines are split at b"\\n" only)."""
    number, rest = 0, b""
    while chunk := binary.read(BLOCK_BYTES):
        data = rest + chunk
        cut = data.rfind(b"\n") + 1
        rest = data[cut:]
        if cut:
            lines = data[:cut].split(b"\n")
            lines.pop()  # (what follows the last newline)
            yield _lines_block(lines, number + 1)
            number += len(lines)
    if rest:
        yield _lines_block([rest], number + 1)


def _lines_block(lines: list[bytes], first: int) -> Block:
    read = json_input.loads_many(lines)
    if read is not None:
        return range(first, first + len(lines)), read[0], read[1]
    positions, records = [], []  # a line refused, blank or needing a closer look: one by one
    for number, line in enumerate(lines, start=first):
        if not line.strip():
            continue
        positions.append(number)
        try:
            records.append(json_input.loads(line))
        except json_input.JsonInputError as error:
            records.append(RecordError(error.problems))
    return positions, records, None


def _json_records(binary: io.BufferedIOBase) -> Iterator[tuple[str, Any]]:
    try:
        # a level more than a record may have: the list around them
        items, problems = json_input.parse(binary.read(), json_input.MAX_DEPTH + 1)
    except json_input.JsonInputError as error:
        yield "1", RecordError(error.problems)
        return
    if not isinstance(items, list):
        yield "1", RecordError([("", "a .json file must hold a list of records")])
        return
    by_item = _problems_by_item(problems)
    for number, item in enumerate(items, start=1):
        bad = by_item.get(number - 1)
        yield f"item {number}", RecordError(bad) if bad else item


def _csv_records(binary: Any) -> Iterator[tuple[str, Any]]:
    # bytes that are not UTF-8 are kept as lone surrogates and reported by their line:
    # a decoding error would surface a whole read-ahead chunk later, at a wrong line
    text = io.TextIOWrapper(binary, encoding="utf-8-sig", errors="surrogateescape", newline="")
    reader = csv.DictReader(text)
    try:
        fieldnames = reader.fieldnames or ()  # reads the header line
        if _NOT_UTF8.search("".join(fieldnames)):
            yield "1", RecordError([("", "the header line is not UTF-8 text")])
            return
        twice = sorted({name for name in fieldnames if fieldnames.count(name) > 1})
        if twice:  # the last cell would win silently, as a model file's duplicate key
            yield "1", RecordError([(name, "this column is given twice") for name in twice])
            return
        record: dict[str, Any] | RecordError  # a row's record, or why it has none
        for row in reader:
            if None in row:
                yield str(reader.line_num), RecordError([("", "more cells than headers")])
            elif _NOT_UTF8.search("".join(v for v in row.values() if v)):
                yield str(reader.line_num), RecordError([("", "not UTF-8 text")])
            else:
                try:
                    record = from_dotted(row)
                except RecordError as error:
                    record = error
                yield str(reader.line_num), record
    except csv.Error as exc:
        position = str(max(reader.line_num, 1))
        yield position, RecordError([("", f"unreadable CSV: {exc}")])


_ITEM = re.compile(r"\[(\d+)\]\.?(.*)", re.DOTALL)


def _problems_by_item(problems: list[tuple[str, str]]) -> dict[int, list[tuple[str, str]]]:
    """json_input's problems of a list ("[3].company.employees") by the item they are in."""
    out: dict[int, list[tuple[str, str]]] = {}
    for path, reason in problems:
        match = _ITEM.match(path)
        if match:
            out.setdefault(int(match.group(1)), []).append((match.group(2), reason))
    return out


def _report(result: ImportResult, path: str, position: str, error: RecordError) -> None:
    for name, reason in error.problems:
        if len(result.details) < MAX_PROBLEMS:
            result.details.append((position, name, reason))
        result.problem(f"{path}:{position}", f"{name}: {reason}" if name else reason)


def _import_leads(db, blocks, path: str, result: ImportResult, now: str, actor: str) -> None:
    writer = lead_store.LeadWriter(db, now, actor)
    for positions, records, _ in blocks:
        leads = []
        for position, record in zip(positions, records, strict=True):
            result.rows += 1
            try:
                if isinstance(record, RecordError):
                    raise record
                leads.append(parse_lead(record))
            except RecordError as error:
                _report(result, path, str(position), error)
        if result.problems:
            continue  # keep validating, stop writing: the file will be rolled back
        writer.prefetch(lead.id for lead in leads)
        for lead in leads:
            lead_id, changed = writer.upsert(lead)
            result.stored += 1
            if changed:
                result.leads_touched.add(lead_id)
    if not result.problems:
        writer.flush()  # the audit entries of lifecycle, owner and qualification changes
    if writer.touched_companies:
        result.leads_touched |= lead_store.lead_ids_of_companies(db, writer.touched_companies)


# A block's events checked: (positions, how many records, events, the index of the record of each
# event, the (index, problems) of records that are no event, what is stored of the events).
CheckedEvents = tuple[
    Sequence[int | str], int, EventColumns, Sequence[int], list[tuple[int, Any]], StoredEvents
]


def _check_events(
    blocks: Iterable[Block], now: int, signature: tuple[str, ...]
) -> Iterator[CheckedEvents]:
    for positions, records, plain in blocks:
        events, taken, bad = _block_events(records, now, plain)
        stored = StoredEvents.of(events, signature)
        if stored.class_values is not None:
            events.properties = []  # (not needed any more: not sent to the other process)
        yield positions, len(records), events, taken, bad, stored


def _import_events(
    db, checked: Iterable[CheckedEvents], path: str, result: ImportResult, classes: EventClasses
) -> None:
    lead_ids = lead_store.LeadIds(db)
    for positions, count, events, taken, bad, stored in checked:
        result.rows += count
        lead_ids.prefetch(events.leads)  # one look-up for the block's leads
        found = list(map(lead_ids.get, events.leads))
        if None in found:
            for i, lead_id in enumerate(found):
                if lead_id is None:
                    unknown = RecordError([("lead", f"unknown lead '{events.leads[i][:60]}'")])
                    bad.append((taken[i], unknown))
        for i, error in sorted(bad, key=lambda pair: pair[0]):
            _report(result, path, str(positions[i]), error)
        if result.problems:
            continue  # keep validating, stop writing: the file will be rolled back
        internal: list[int] = found  # type: ignore[assignment]  # (every lead known)
        inserted, duplicates = insert_events(db, classes, internal, events, stored)
        result.stored += inserted
        result.duplicates += duplicates
        result.leads_touched.update(internal)


def _block_events(
    records: list[Any], now: int, plain: json_input.Plain | None
) -> tuple[EventColumns, Sequence[int], list[tuple[int, RecordError]]]:
    """The events of a block (all at once when all are well-formed plain JSON), the index of the
    record each came from, and the (index, problems) of the records that are no event."""
    events = parse_event_block(records, now, plain) if plain is not None else None
    if events is not None:
        return events, range(len(records)), []
    events = EventColumns([], [], [], [], [])
    taken: list[int] = []
    bad: list[tuple[int, RecordError]] = []
    for i, record in enumerate(records):
        try:
            if isinstance(record, RecordError):
                raise record
            event = parse_event(record, now)
        except RecordError as error:
            bad.append((i, error))
            continue
        taken.append(i)
        events.ids.append(event.id)
        events.leads.append(event.lead)
        events.types.append(event.type)
        events.ats.append(event.at)
        events.properties.append(event.properties)
    return events, taken, bad


def _import_outcomes(db, blocks, path: str, result: ImportResult) -> None:
    lead_ids = lead_store.LeadIds(db)
    rows = []
    for position, record in _pairs(blocks):
        result.rows += 1
        try:
            if isinstance(record, RecordError):
                raise record
            outcome = parse_outcome(record)
            lead_id = lead_ids[outcome.lead]
            if lead_id is None:
                raise RecordError([("lead", f"unknown lead '{outcome.lead[:60]}'")])
        except RecordError as error:
            _report(result, path, position, error)
            continue
        rows.append((lead_id, outcome))
    if not result.problems:
        result.stored = outcome_store.insert_outcomes(db, rows)
        result.leads_touched.update(lead_id for lead_id, _ in rows)


def import_file(
    db: sqlite_utils.Database,
    config: Config,
    kind: str,
    path: str,
    *,
    progress: Callable[[int], None] | None = None,
    grade: bool = True,
    as_of: datetime | None = None,
    actor: str = SYSTEM_ACTOR,
) -> ImportResult:
    """Import one file whole or not at all; raises ImportFailed listing every bad row."""
    _file_type(path)
    blocks = read_blocks(path, progress)
    checked = None
    if kind == "events" and os.path.getsize(path) >= PARALLEL_BYTES and _can_fork():
        checked = _checked_in_a_second_process(path, progress)
    with _no_cycle_collection():
        return _import_blocks(
            db, config, kind, blocks, path, grade=grade, as_of=as_of, actor=actor, checked=checked
        )


def _can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


def _checked_in_a_second_process(
    path: str, progress: Callable[[int], None] | None
) -> Callable[[int, tuple[str, ...]], Iterator[CheckedEvents]]:
    """A second process reads and checks the file's events while this one writes them (the
    two halves of the work take about as long, and the machine has a core for each)."""

    def checked(now: int, signature: tuple[str, ...]) -> Iterator[CheckedEvents]:
        context = multiprocessing.get_context("fork")
        receiving, sending = context.Pipe(duplex=False)
        reader = context.Process(
            target=_send_checked, args=(path, now, signature, sending), daemon=True
        )
        reader.start()
        sending.close()
        try:
            while True:
                message = receiving.recv()
                if message[0] == "end":
                    return
                if message[0] == "error":
                    raise message[1]
                if progress and message[1]:
                    progress(message[1])
                yield message[2]
        finally:
            receiving.close()
            if reader.is_alive():
                reader.terminate()
            reader.join()

    return checked


def _send_checked(path: str, now: int, signature: tuple[str, ...], sending) -> None:
    """In the second process: the checked blocks of the file, each with the bytes read for it.
    (A fork holds the database connection too: it never uses it.)"""
    read = [0]

    def count(size: int) -> None:
        read[0] += size

    try:
        for block in _check_events(read_blocks(path, count), now, signature):
            sending.send(("block", read[0], block))
            read[0] = 0
        sending.send(("end",))
    except BaseException as error:  # noqa: BLE001 (the first process raises it)
        sending.send(("error", error))
    finally:
        sending.close()


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """The collector's passes over the millions of records and rows a file makes (none of them
    in a cycle) took a third of reading it; they are collected by reference counting."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def import_records(
    db: sqlite_utils.Database,
    config: Config | Callable[[], Config],
    kind: str,
    records: Iterable[tuple[str, Any]],
    *,
    source: str = "input",
    grade: bool = True,
    as_of: datetime | None = None,
    actor: str = SYSTEM_ACTOR,
) -> ImportResult:
    """Import (position, record) pairs whole or not at all, then re-grade the leads they touch.

    `config` may be a function giving the current model (a server's): it is then read under the
    write lock, so a batch that waited for the lock while the model file was reloaded and everyone
    re-graded is never stored and graded with the old model. `actor` is who the audit log names
    for the lifecycle, owner and qualification changes of leads ("token:…", "user:…", "cli:…")."""
    blocks = _in_blocks(records)
    return _import_blocks(db, config, kind, blocks, source, grade=grade, as_of=as_of, actor=actor)


def _import_blocks(
    db: sqlite_utils.Database,
    config: Config | Callable[[], Config],
    kind: str,
    blocks: Iterable[Block],
    source: str,
    *,
    grade: bool,
    as_of: datetime | None,
    actor: str,
    checked: Callable[[int, tuple[str, ...]], Iterator[CheckedEvents]] | None = None,
) -> ImportResult:
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r} (use {', '.join(KINDS)})")
    started = time.perf_counter()
    result = ImportResult(kind)
    now = datetime.now(UTC)
    stamp = iso_text(now)
    try:
        with import_cache(db), transaction(db):
            if callable(config):
                config = config()
            grader = grader_for(db, config)
            if kind == "leads":
                _import_leads(db, blocks, source, result, stamp, actor)
            elif kind == "events":
                with grader.using(db):
                    try:
                        ticks, signature = epoch(now), grader.classes.signature
                        events = (
                            checked(ticks, signature)
                            if checked
                            else _check_events(blocks, ticks, signature)
                        )
                        _import_events(db, events, source, result, grader.classes)
                    except BaseException:
                        grader.classes.forget_unsaved()  # the rollback drops classes added here
                        raise
            else:
                _import_outcomes(db, blocks, source, result)
            if result.problems:
                raise ImportFailed(result)
            if grade and 0 < len(result.leads_touched) <= INLINE_REGRADE:
                # an API batch: its records and the grades they cause commit together
                result.regraded = _regrade_touched(db, config, kind, result, as_of or now)
    finally:
        result.seconds = time.perf_counter() - started
    if grade and result.leads_touched and result.regraded is None:
        result.regraded = _regrade_touched(db, config, kind, result, as_of or now)
    return result


def _regrade_touched(db, config: Config, kind: str, result: ImportResult, as_of: datetime):
    reason = "event" if kind == "events" else "lead-update"
    return regrade(db, config, as_of=as_of, reason=reason, lead_ids=result.leads_touched)
