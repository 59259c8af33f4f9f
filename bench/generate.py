"""Write a benchmark data set: `python bench/generate.py S|M|L [--out bench/data] [--seed 1]`.

S: 1,000 leads / 20,000 events; M: 100,000 / 2,000,000; L: 1,000,000 / 20,000,000 — over the 180
days before 2026-11-01T00:00:00Z. Deterministic; a complete set is not written again.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import UTC, datetime

import orjson

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from grading.generate import generate  # noqa: E402

SETS = {"S": 1_000, "M": 100_000, "L": 1_000_000}
END = datetime(2026, 11, 1, tzinfo=UTC)
HERE = os.path.dirname(os.path.abspath(__file__))


def write(path: str, records) -> int:
    if os.path.exists(path):
        return -1
    partial = path + ".partial"
    count = 0
    with open(partial, "wb", buffering=1 << 22) as out:
        dumps = orjson.dumps
        for record in records:
            out.write(dumps(record))
            out.write(b"\n")
            count += 1
    os.replace(partial, path)
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("size", choices=sorted(SETS))
    parser.add_argument("--out", default=os.path.join(HERE, "data"))
    parser.add_argument("--seed", type=int, default=1)
    options = parser.parse_args()
    folder = os.path.join(options.out, options.size)
    os.makedirs(folder, exist_ok=True)
    data = generate(SETS[options.size], seed=options.seed, end=END, days=180, events_per_lead=20.0)
    for kind in ("leads", "events", "outcomes"):
        started = time.perf_counter()
        count = write(os.path.join(folder, f"{kind}.jsonl"), getattr(data, kind)())
        seconds = time.perf_counter() - started
        if count < 0:
            print(f"{options.size} {kind}: already there")
        else:
            print(
                f"{options.size} {kind}: {count:,} in {seconds:.1f} s ({count / max(seconds, 1e-9):,.0f}/s)"
            )


if __name__ == "__main__":
    main()
