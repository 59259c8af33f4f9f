"""Write a benchmark data set: `python bench/generate.py S|M|L [--out bench/data] [--seed 1]`.

S: 1,000 leads / 20,000 events; M: 100,000 / 2,000,000; L: 1,000,000 / 20,000,000 — over the 180
days before 2026-11-01T00:00:00Z, into <out>/<SET>/{leads,events,outcomes}.jsonl. Deterministic:
the same seed gives the same bytes. Files are written under a temporary name and renamed when
complete; a manifest written last records what made them, so a complete set made by the same
generator code and seed is not written again (use --force to rewrite it anyway).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from datetime import UTC, datetime
from itertools import islice

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


# the generator's modules (not the demo's filler or launcher, which make no records)
GENERATOR = ("vocabulary.py", "behaviour.py", "people.py", "dataset.py")


def generator_digest() -> str:
    """Fingerprint of the generator's code: a changed generator makes a new data set."""
    digest = hashlib.sha256()
    for name in GENERATOR:
        with open(os.path.join(ROOT, "grading", "demo", name), "rb") as source:
            digest.update(source.read())
    return digest.hexdigest()[:16]


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
    data = generate(n_leads, seed=options.seed, end=END, days=DAYS, events_per_lead=EVENTS_PER_LEAD)
    counts = {}
    started_all = time.perf_counter()
    for kind in KINDS:
        started = time.perf_counter()
        path = os.path.join(folder, f"{kind}.jsonl")
        counts[kind] = write(path, getattr(data, kind)())
        seconds = time.perf_counter() - started
        size = os.path.getsize(path) / 2**20
        print(
            f"{options.size} {kind}: {counts[kind]:,} in {seconds:.1f} s "
            f"({counts[kind] / max(seconds, 1e-9):,.0f}/s, {size:,.0f} MiB)",
            flush=True,
        )
    with open(manifest_path + ".partial", "w") as handle:
        json.dump({**wanted, "counts": counts}, handle, indent=2)
    os.replace(manifest_path + ".partial", manifest_path)
    print(f"{options.size}: written to {folder} in {time.perf_counter() - started_all:.1f} s")


if __name__ == "__main__":
    main()
