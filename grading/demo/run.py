"""`make run` (`python -m grading.demo`): a demo database if there is none, a demo admin, then
the web view and API.

The demo admin's password is generated once and kept in instance/demo-admin.txt (a demo
convenience, not for real accounts) so every `make run` can print it.
"""

from __future__ import annotations

import os
import secrets
import sys

from grading.cli import main

DB = os.environ.get("GRADING_DB", "instance/grading.db")
CREDENTIALS = os.path.join(os.path.dirname(os.path.abspath(DB)), "demo-admin.txt")
HOST = os.environ.get("HOST", "127.0.0.1")
PORT = os.environ.get("PORT", "8000")


def run(args: list[str]) -> None:
    main(["--db", DB, *args], standalone_mode=False)


def demo_admin() -> tuple[str, str]:
    if os.path.exists(CREDENTIALS):
        name, password = open(CREDENTIALS, encoding="utf-8").read().split()
        return name, password
    name, password = "admin", secrets.token_urlsafe(9)
    run(["user", "create", name, "--role", "admin", "--password", password])
    descriptor = os.open(CREDENTIALS, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(f"{name} {password}\n")
    return name, password


def start() -> None:
    if not os.path.exists(DB):
        print(f"creating the demo database {DB} …", flush=True)
        run(["demo", "--leads", os.environ.get("DEMO_LEADS", "3000")])
    name, password = demo_admin()
    run(["matrix", "--model", "prospects"])
    print(f"\n  Open http://{HOST}:{PORT}/ and log in as {name} / {password}\n", flush=True)
    run(["serve", "--host", HOST, "--port", PORT])


def launch() -> None:
    """start(), exiting as the command line would (and quietly on Ctrl-C)."""
    try:
        start()
    except SystemExit as exit_:
        sys.exit(exit_.code)
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    launch()
