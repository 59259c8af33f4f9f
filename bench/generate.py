"""Write a benchmark data set: `python bench/generate.py S|M|L [--out bench/data] [--seed 1]`.

S: 1,000 leads / 20,000 events; M: 100,000 / 2,000,000; L: 1,000,000 / 20,000,000 distinct events
— over the 180 days before 2026-11-01T00:00:00Z, into <out>/<SET>/{leads,events,outcomes}.jsonl.

The events file is shaped like a real tracking export (Segment, HubSpot, Mautic), not like the
demo's records, which come lead by lead and carry only properties the model reads: here events come
in time order, the sessions of many leads interleaved; each has 1-3 properties, some that no rule
reads (session_id, user_agent, referrer, utm_source, ip: many distinct values); and about 10 % of
the lines are re-sent duplicates (the same id and content again: a retry seconds later, or a
re-export hours to weeks later). The line count is the distinct events plus the duplicates.

Deterministic: the same seed gives the same bytes. Files are written under a temporary name and
renamed when complete; a manifest written last records what made them, so a complete set made by
the same generator code and seed is not written again (use --force to rewrite it anyway).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import sys
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from itertools import islice
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
from grading.demo.dataset import generate  # noqa: E402

try:
    import orjson

    dumps = orjson.dumps
except ImportError:  # slower, same records (compact JSON, UTF-8)
    _ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

    def dumps(record):
        return _ENCODE(record).encode()


SETS = {"S": 1_000, "M": 100_000, "L": 1_000_000}
EVENTS_PER_LEAD = 20.0
DAYS = 180
END = datetime(2026, 11, 1, tzinfo=UTC)
KINDS = ("leads", "events", "outcomes")
DAY = 86_400

# the export's shape --------------------------------------------------------------------------
DUPLICATES = 1 / 9  # re-sent copies per distinct event: about 10 % of the lines
RETRY = 0.6  # of the copies: a retry 1-120 s later; the others come again in a re-export
RESEND_DAYS = 30  # a re-export comes up to this many days later (never after END)
SESSION_GAP = 1800  # seconds without events that end a tracking session
MAX_PROPERTIES = 3
UTM_SOURCES = "google linkedin newsletter bing twitter capterra g2 partner facebook".split()
REFERRERS = (
    "https://www.google.com/",
    "https://www.bing.com/search?q=",
    "https://duckduckgo.com/?q=",
    "https://www.linkedin.com/feed/",
    "https://news.ycombinator.com/item?id=",
    "https://www.reddit.com/r/marketing/comments/",
    "https://t.co/",
    "https://mail.google.com/",
)
BROWSERS = (
    "Mozilla/5.0 ({os}) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{major}.0.{build}.{patch}"
    " Safari/537.36",
    "Mozilla/5.0 ({os}; rv:{major}.0) Gecko/20100101 Firefox/{major}.0",
    "Mozilla/5.0 ({os}) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/{minor}.{point} Safari/605.1.15",
    "Mozilla/5.0 ({os}) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{major}.0.{build}.{patch}"
    " Safari/537.36 Edg/{major}.0.{build}.{patch}",
)
SYSTEMS = (
    "Windows NT 10.0; Win64; x64",
    "Macintosh; Intel Mac OS X 10_15_7",
    "X11; Linux x86_64",
    "iPhone; CPU iPhone OS 17_5 like Mac OS X",
    "Linux; Android 14; Pixel 8",
)
# the generator's modules (not the demo's filler or launcher, which make no records), and this file
GENERATOR = ("vocabulary.py", "behaviour.py", "people.py", "dataset.py")
SHAPE = "export-1"  # what the events file looks like: a set of another shape is written again


def generator_digest() -> str:
    """Fingerprint of the generator's code: a changed generator makes a new data set."""
    digest = hashlib.sha256()
    paths = [os.path.join(ROOT, "grading", "demo", name) for name in GENERATOR]
    for path in [*paths, os.path.abspath(__file__)]:
        with open(path, "rb") as source:
            digest.update(source.read())
    return digest.hexdigest()[:16]


class _Visitor:
    """One lead's browser and network as a tracker sees them; a new session after a pause."""

    __slots__ = ("lead", "user_agent", "ip", "session", "referrer", "utm", "last")

    def __init__(self, lead: str, rng: random.Random):
        template = BROWSERS[rng.randrange(len(BROWSERS))]
        self.lead = lead
        self.user_agent = template.format(
            os=SYSTEMS[rng.randrange(len(SYSTEMS))],
            major=rng.randrange(110, 131),
            minor=rng.randrange(15, 18),
            build=rng.randrange(5000, 6800),
            patch=rng.randrange(200),
            point=rng.randrange(6),
        )
        self.ip = ""
        self.last = -(10**12)
        self.session = self.referrer = self.utm = ""

    def at(self, moment: int, rng: random.Random) -> None:
        if moment - self.last > SESSION_GAP:
            bits = rng.getrandbits
            self.session = f"{bits(64):016x}"
            if not self.ip or rng.random() < 0.3:  # home, office, phone: a few addresses
                self.ip = f"{bits(7) + 2}.{bits(8)}.{bits(8)}.{bits(8) % 254 + 1}"
            referrer = REFERRERS[bits(3)]
            self.referrer = referrer + (f"{bits(32):x}" if referrer[-1] in "=/" else "")
            self.utm = UTM_SOURCES[rng.randrange(len(UTM_SOURCES))]
        self.last = moment


# (property key, _Visitor attribute): what a tracker adds that no rule reads
_UNREAD = (
    ("session_id", "session"),
    ("user_agent", "user_agent"),
    ("referrer", "referrer"),
    ("utm_source", "utm"),
    ("ip", "ip"),
)


class _Clock:
    """ISO text ("2026-10-02T09:14:00Z", as the demo writes it) -> epoch seconds, fast."""

    def __init__(self) -> None:
        self.days: dict[str, int] = {}

    def __call__(self, at: str) -> int:
        day = self.days.get(at[:10])
        if day is None:
            day = self.days[at[:10]] = int(
                datetime.fromisoformat(at[:10] + "T00:00:00+00:00").timestamp()
            )
        return day + int(at[11:13]) * 3600 + int(at[14:16]) * 60 + int(at[17:19])


def export_lines(
    events: Iterable[dict[str, Any]], seed: int, end: int
) -> Iterator[tuple[int, bytes]]:
    """(moment sent, JSON line) for each event and each re-sent copy, in no particular order:
    the demo's events with a tracker's properties added (never more than MAX_PROPERTIES)."""
    rng = random.Random(seed * 1_000_003 + 17)
    rand, bits = rng.random, rng.getrandbits
    epoch = _Clock()
    visitor: _Visitor | None = None
    for event in events:
        if visitor is None or visitor.lead != event["lead"]:
            visitor = _Visitor(event["lead"], rng)
        at = epoch(event["at"])
        visitor.at(at, rng)
        properties = event["properties"]
        free = MAX_PROPERTIES - len(properties)
        if free > 0 and rand() < 0.7:
            chosen = rng.sample(_UNREAD, min(free, 1 + (rand() < 0.35)))
            for key, attribute in chosen:
                properties[key] = getattr(visitor, attribute)
        line = dumps(event)
        yield at, line
        if rand() < DUPLICATES:
            if rand() < RETRY:
                sent = at + 1 + bits(7) % 120
            else:
                sent = at + 3600 + int(rand() * RESEND_DAYS * DAY)
                if sent > end:  # a re-export after the end is not in this file: a retry
                    sent = at + 1 + bits(7) % 120
            yield min(sent, end), line


def write_export(path: str, lines: Iterable[tuple[int, bytes]], first_day: int) -> int:
    """Write the lines in the order they were sent (ties in byte order: deterministic) to `path`,
    via one temporary file per day: a day's lines fit in memory, an L set's do not."""
    spool = path + ".days"
    shutil.rmtree(spool, ignore_errors=True)
    os.makedirs(spool)
    buckets: dict[int, Any] = {}
    count = 0
    try:
        for sent, line in lines:
            day = sent // DAY - first_day
            bucket = buckets.get(day)
            if bucket is None:
                bucket = buckets[day] = open(  # noqa: SIM115 - closed below, all at once
                    os.path.join(spool, f"{day:05d}"), "wb", buffering=1 << 16
                )
            bucket.write(b"%010d %s\n" % (sent, line))
            count += 1
        for bucket in buckets.values():
            bucket.close()
        partial = path + ".partial"
        with open(partial, "wb", buffering=1 << 20) as out:
            for day in sorted(buckets):
                with open(os.path.join(spool, f"{day:05d}"), "rb") as handle:
                    day_lines = handle.readlines()
                day_lines.sort()
                out.writelines(line[11:] for line in day_lines)
        os.replace(partial, path)
    finally:
        for bucket in buckets.values():
            bucket.close()
        shutil.rmtree(spool, ignore_errors=True)
    return count


def write(path: str, records) -> int:
    """Write records as JSON lines to `path` (via a temporary file); the number written."""
    partial = path + ".partial"
    count = 0
    with open(partial, "wb", buffering=1 << 20) as out:
        while True:
            batch = list(map(dumps, islice(records, 8192)))
            if not batch:
                break
            batch.append(b"")
            out.write(b"\n".join(batch))
            count += len(batch) - 1
    os.replace(partial, path)
    return count


def write_set(folder: str, n_leads: int, seed: int, *, label: str = "") -> dict[str, int]:
    """Write leads, events (export-shaped) and outcomes of n_leads into `folder`; the line counts
    of each file, and of the events the distinct ones."""
    os.makedirs(folder, exist_ok=True)
    data = generate(n_leads, seed=seed, end=END, days=DAYS, events_per_lead=EVENTS_PER_LEAD)
    end = int(END.timestamp())
    counts = {}
    for kind in KINDS:
        started = time.perf_counter()
        path = os.path.join(folder, f"{kind}.jsonl")
        if kind == "events":
            counts[kind] = write_export(
                path, export_lines(data.events(), seed, end), end // DAY - DAYS - 1
            )
            counts["distinct_events"] = data.n_events
            counts["duplicates"] = counts[kind] - data.n_events
        else:
            counts[kind] = write(path, getattr(data, kind)())
        seconds = time.perf_counter() - started
        size = os.path.getsize(path) / 2**20
        if label:
            print(
                f"{label} {kind}: {counts[kind]:,} in {seconds:.1f} s "
                f"({counts[kind] / max(seconds, 1e-9):,.0f}/s, {size:,.0f} MiB)",
                flush=True,
            )
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("size", choices=sorted(SETS), help="S, M or L")
    parser.add_argument("--out", default=os.path.join(HERE, "data"), help="folder of the sets")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--force", action="store_true", help="write the set even if complete")
    options = parser.parse_args()

    folder = os.path.join(options.out, options.size)
    manifest_path = os.path.join(folder, "manifest.json")
    n_leads = SETS[options.size]
    wanted = {
        "set": options.size,
        "seed": options.seed,
        "leads": n_leads,
        "events_per_lead": EVENTS_PER_LEAD,
        "days": DAYS,
        "end": END.isoformat().replace("+00:00", "Z"),
        "shape": SHAPE,
        "generator": generator_digest(),
    }
    if not options.force and os.path.exists(manifest_path):
        with open(manifest_path) as handle:
            manifest = json.load(handle)
        complete = all(os.path.exists(os.path.join(folder, f"{k}.jsonl")) for k in KINDS)
        if complete and {k: manifest.get(k) for k in wanted} == wanted:
            counts = ", ".join(f"{manifest['counts'][k]:,} {k}" for k in KINDS)
            print(f"{options.size}: complete in {folder} ({counts}); not written again")
            return

    os.makedirs(folder, exist_ok=True)
    if os.path.exists(manifest_path):
        os.remove(manifest_path)  # the set is incomplete until the new manifest is written
    started_all = time.perf_counter()
    counts = write_set(folder, n_leads, options.seed, label=options.size)
    with open(manifest_path + ".partial", "w") as handle:
        json.dump({**wanted, "counts": counts}, handle, indent=2)
    os.replace(manifest_path + ".partial", manifest_path)
    print(
        f"{options.size}: written to {folder} in {time.perf_counter() - started_all:.1f} s"
        f" ({counts['duplicates']:,} of the {counts['events']:,} event lines are re-sent duplicates)"
    )


if __name__ == "__main__":
    main()
