"""`make run`: a demo database if there is none, a fresh re-grade, and the prospects matrix."""

from __future__ import annotations

import os
import sys

from grading.cli import main


def run() -> None:
    db = os.environ.get("GRADING_DB", "instance/grading.db")
    args = ["--db", db]
    if not os.path.exists(db):
        print(f"creating the demo database {db} …", flush=True)
        main(
            args + ["demo", "--leads", os.environ.get("DEMO_LEADS", "3000")], standalone_mode=False
        )
    main(args + ["regrade"], standalone_mode=False)
    main(args + ["matrix", "--model", "prospects"], standalone_mode=False)
    print("\nTry: .venv/bin/grading --db", db, "grades --cell A4 --format csv | head")
    print("     .venv/bin/grading --db", db, "explain L-0000001")


if __name__ == "__main__":
    try:
        run()
    except SystemExit as exit_:
        sys.exit(exit_.code)
