"""Benchmark runner: `python bench/run.py S|M|L` (or `make bench SIZE=M`).

Generates the data set if needed (bench/generate.py), imports it into a fresh database through
the real `grading` command, re-grades completely twice (the second time nothing changed), and
appends the numbers to bench/RESULTS.md with the command that made them. Peak memory is the
largest sum of resident memory over the command's whole process tree, sampled every 0.1 s.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
GRADING = os.path.join(os.path.dirname(sys.executable), "grading")
AS_OF = "2026-11-01T00:00:00Z"  # the generator's data sets end here
HOUR_LATER = "2026-11-01T01:00:00Z"  # the hourly schedule's next re-grade
DAY_LATER = "2026-11-02T00:00:00Z"  # the first re-grade after midnight


def tree_rss(pid: int) -> int:
    """Resident bytes of a process and all its descendants."""
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        try:
            with open(f"/proc/{current}/status") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as children:
                    stack.extend(int(c) for c in children.read().split())
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return total


def measure(args: list[str]) -> tuple[float, int, str]:
    """Run a command; (seconds, peak tree RSS in bytes, stdout+stderr)."""
    started = time.perf_counter()
    process = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT
    )
    peak = [0]

    def sample() -> None:
        while process.poll() is None:
            peak[0] = max(peak[0], tree_rss(process.pid))
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    output, _ = process.communicate()
    seconds = time.perf_counter() - started
    sampler.join()
    if process.returncode != 0:
        sys.exit(f"failed: {' '.join(args)}\n{output}")
    return seconds, peak[0], output


def count_lines(path: str) -> int:
    with open(path, "rb") as handle:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 24), b""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("size", choices=["S", "M", "L"], nargs="?", default="S")
    parser.add_argument("--config", default=os.path.join(ROOT, "config", "grading.yaml"))
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    options = parser.parse_args()

    data = os.path.join(HERE, "data", options.size)
    subprocess.run(
        [sys.executable, os.path.join(HERE, "generate.py"), options.size], check=True, cwd=ROOT
    )
    db = os.path.join(data, "bench.db")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.remove(db + suffix)
    base = [GRADING, "--db", db, "--config", options.config]
    files = {kind: os.path.join(data, f"{kind}.jsonl") for kind in ("leads", "events", "outcomes")}
    sizes = {kind: count_lines(path) for kind, path in files.items()}
    with open(os.path.join(data, "manifest.json")) as handle:  # written by generate.py
        duplicates = json.load(handle)["counts"].get("duplicates", 0)

    rows = []

    def step(name: str, args: list[str], count: int | None = None, unit: str = "") -> str:
        seconds, peak, output = measure(base + args)
        rate = f"{count / seconds:,.0f} {unit}/s" if count else ""
        rows.append((name, f"{seconds:,.1f} s", rate, f"{peak / 2**20:,.0f} MiB"))
        print(
            f"{name}: {seconds:.1f} s {rate} peak {peak / 2**20:.0f} MiB\n  {output.strip()}",
            flush=True,
        )
        return output

    step(
        "import leads", ["import", "leads", files["leads"], "--no-regrade"], sizes["leads"], "leads"
    )
    step(
        "import events",
        ["import", "events", files["events"], "--no-regrade"],
        sizes["events"],
        "events",
    )
    step(
        "import outcomes", ["import", "outcomes", files["outcomes"]], sizes["outcomes"], "outcomes"
    )
    first = step("full re-grade", ["regrade", "--as-of", AS_OF], sizes["leads"], "leads")
    second = step(
        "second re-grade, nothing changed", ["regrade", "--as-of", AS_OF], sizes["leads"], "leads"
    )
    hour = step(
        "re-grade an hour later", ["regrade", "--as-of", HOUR_LATER], sizes["leads"], "leads"
    )
    day = step("re-grade a day later", ["regrade", "--as-of", DAY_LATER], sizes["leads"], "leads")
    sys.path.insert(0, HERE)
    import api  # bench/api.py

    api_rows = api.run(db, options.config)
    for row in api_rows:
        print("api:", *row, flush=True)

    def rows_of(output: str) -> str:
        found = re.search(r"(\d+) grade row\(s\) written", output)
        kept = re.search(r"\((\d+) kept their grades unread\)", output)
        return (found.group(1) if found else "?") + (
            f" ({kept.group(1)} leads kept unread)" if kept else ""
        )

    command = f"make bench SIZE={options.size}"
    lines = [
        f"\n## {options.size}: {sizes['leads']:,} leads, {sizes['events']:,} events "
        f"— {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"Events as a tracking export sends them (bench/generate.py): {duplicates:,} of the lines"
        " are re-sent duplicates, counted in the import's events/s (every line is read and"
        " checked).",
        "",
        f"Command: `{command}` · machine: {os.cpu_count()} cores, {platform.python_implementation()} "
        f"{platform.python_version()} · model file: `{os.path.relpath(options.config, ROOT)}`",
        "",
        "| step | time | rate | peak memory (process tree) |",
        "|---|---|---|---|",
        *[f"| {name} | {t} | {r} | {m} |" for name, t, r, m in rows],
        "",
        f"Grade rows written by the full re-grade: {rows_of(first)}; by the second re-grade: "
        f"{rows_of(second)}; an hour later: {rows_of(hour)}; a day later: {rows_of(day)}. "
        f"Database size: {os.path.getsize(db) / 2**30:.2f} GiB.",
        "",
        "| API on a real server (waitress, loopback) | result | sample |",
        "|---|---|---|",
        *[f"| {name} | {value} | {note} |" for name, value, note in api_rows],
    ]
    with open(os.path.join(HERE, "RESULTS.md"), "a", encoding="utf-8") as results:
        if results.tell() == 0:
            results.write("# Benchmark results\n\nAppended by `bench/run.py`; newest last.\n")
        results.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    if not options.keep:
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(db + suffix):
                os.remove(db + suffix)


if __name__ == "__main__":
    main()
