"""`grading user …`: web accounts from the command line, the password asked for on a terminal or
piped as one line (issue "Trust, round 2", items 4 and 15)."""

import os
import select
import subprocess
import sys
import time

from grading.store.db import connect
from grading.store.users import check_login

BIN = os.path.join(os.path.dirname(sys.executable), "grading")


def can_log_in(db_path: str, name: str, password: str) -> bool:
    db = connect(db_path)
    try:
        return check_login(db, name, password, "2026-11-01T00:00:00Z") is not None
    finally:
        db.conn.close()


def test_create_reads_one_piped_line_as_the_password(cli):
    result = cli("user", "create", "ada", "--role", "admin", input="correct horse\n")
    assert result.exit_code == 0, result.output
    assert "Repeat" not in result.output and "user ada (admin) created" in result.output
    assert can_log_in(cli.db_path, "ada", "correct horse")


def test_a_piped_line_keeps_its_spaces_and_loses_only_its_line_end(cli):
    assert cli("user", "create", "bo", "--role", "viewer", input=" two words \r\n").exit_code == 0
    assert can_log_in(cli.db_path, "bo", " two words ")
    assert not can_log_in(cli.db_path, "bo", "two words")


def test_create_with_nothing_piped_says_how_to_give_a_password(cli):
    result = cli("user", "create", "ada", "--role", "admin", input="")
    assert result.exit_code == 1 and "no password" in result.stderr
    assert "Traceback" not in result.output


def test_create_through_a_real_pipe(tmp_path, config_file):
    db_path = str(tmp_path / "piped.db")
    done = subprocess.run(
        [BIN, "--db", db_path, "--config", config_file, "user", "create", "ada", "--role", "admin"],
        input="correct horse\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert can_log_in(db_path, "ada", "correct horse")


def converse(args: list[str], answers: list[tuple[str, str]]) -> tuple[int, str]:
    """Run a command on a pseudo-terminal, typing each answer once its prompt appears."""
    main, child = os.openpty()
    process = subprocess.Popen(
        args, stdin=child, stdout=child, stderr=child, start_new_session=True
    )
    os.close(child)
    seen, transcript, deadline = "", "", time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            if answers and answers[0][0] in seen:
                os.write(main, answers.pop(0)[1].encode() + b"\n")
                seen = ""
            ready, _, _ = select.select([main], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(main, 1024).decode(errors="replace")
                except OSError:  # the command ended: its side of the terminal is closed
                    break
                if not chunk:
                    break
                seen += chunk
                transcript += chunk
        return process.wait(timeout=30), transcript
    finally:
        os.close(main)
        if process.poll() is None:
            process.kill()


def test_on_a_terminal_create_asks_twice_until_both_match(tmp_path, config_file):
    db_path = str(tmp_path / "tty.db")
    create = [BIN, "--db", db_path, "--config", config_file, "user", "create"]
    typed = [("Password", "correct horse"), ("Repeat", "correct horse")]
    code, _ = converse([*create, "ada", "--role", "admin"], list(typed))
    assert code == 0 and can_log_in(db_path, "ada", "correct horse")
    mistyped = [("Password", "correct horse"), ("Repeat", "correct hose")]
    code, transcript = converse([*create, "bo", "--role", "viewer"], mistyped + typed)
    assert code == 0 and "do not match" in transcript
    assert can_log_in(db_path, "bo", "correct horse")
