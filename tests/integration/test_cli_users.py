"""`grading user …`: web accounts from the command line, the password asked for on a terminal or
piped as one line (issue "Trust, round 2", items 4 and 15)."""

import os
import select
import subprocess
import sys
import time

import pytest

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


@pytest.mark.slow
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


@pytest.mark.slow
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


def sessions_of(db_path: str, name: str, count: int) -> list[str]:
    from grading.store.sessions import start_session

    db = connect(db_path)
    try:
        user_id = db.execute("SELECT id FROM users WHERE name = ?", [name]).fetchone()[0]
        return [start_session(db, user_id, time.time()) for _ in range(count)]
    finally:
        db.conn.close()


def live(db_path: str, session_ids: list[str]) -> int:
    from grading.store.sessions import session_user

    db = connect(db_path)
    try:
        return sum(session_user(db, sid, time.time()) is not None for sid in session_ids)
    finally:
        db.conn.close()


def test_disable_ends_every_session_enable_lets_in_again_and_both_are_audited(cli):
    cli("user", "create", "ada", "--role", "admin", "--password", "correct horse")
    cli("user", "create", "sam", "--role", "sales", "--password", "correct horse")
    ada, sam = sessions_of(cli.db_path, "ada", 2), sessions_of(cli.db_path, "sam", 1)
    result = cli("user", "disable", "ada")
    assert result.exit_code == 0 and "user ada disabled; 2 live session(s) ended" in result.output
    assert live(cli.db_path, ada) == 0 and live(cli.db_path, sam) == 1
    assert not can_log_in(cli.db_path, "ada", "correct horse")
    listed = cli("user", "list").output.splitlines()
    assert "disabled 20" in next(line for line in listed if line.startswith("ada "))
    assert "1 live session(s), enabled" in next(line for line in listed if line.startswith("sam "))
    assert "was disabled already" in cli("user", "disable", "ada").output
    result = cli("user", "enable", "ada")
    assert result.exit_code == 0 and "user ada enabled" in result.output
    assert can_log_in(cli.db_path, "ada", "correct horse") and live(cli.db_path, ada) == 0
    assert "was not disabled" in cli("user", "enable", "ada").output
    actions = [line.split()[3:5] for line in cli("audit").output.splitlines()]
    assert ["user.enable", "user"] in actions and ["user.disable", "user"] in actions
    assert len([a for a in actions if a[0] in ("user.enable", "user.disable")]) == 2


def test_password_ends_every_session_and_reads_a_piped_line(cli):
    cli("user", "create", "ada", "--role", "admin", "--password", "correct horse")
    ada = sessions_of(cli.db_path, "ada", 2)
    result = cli("user", "password", "ada", input="a new passphrase\n")
    assert result.exit_code == 0, result.output
    assert "user ada has a new password; 2 live session(s) ended" in result.output
    assert live(cli.db_path, ada) == 0
    assert can_log_in(cli.db_path, "ada", "a new passphrase")
    assert not can_log_in(cli.db_path, "ada", "correct horse")
    assert "user.password" in cli("audit").output


def test_a_short_new_password_changes_nothing(cli):
    cli("user", "create", "ada", "--role", "admin", "--password", "correct horse")
    ada = sessions_of(cli.db_path, "ada", 1)
    result = cli("user", "password", "ada", "--password", "short")
    assert result.exit_code == 1 and "at least 8 characters" in result.stderr
    assert live(cli.db_path, ada) == 1 and can_log_in(cli.db_path, "ada", "correct horse")
    assert "user.password" not in cli("audit").output


def test_an_unknown_user_is_named_and_no_password_is_asked_for(cli):
    for command in ("disable", "enable", "password"):
        result = cli("user", command, "nobody", input="never read\n")
        assert result.exit_code == 1, command
        assert "no user 'nobody'" in result.stderr and "Traceback" not in result.output


def test_serve_secure_cookies_reaches_the_app(cli, monkeypatch):
    import waitress

    import grading.scheduler
    import grading.services.webhook_delivery

    served = {}

    class Idle:
        def __init__(self, *args):
            pass

        def start(self):
            pass

        def stop(self):
            pass

    monkeypatch.setattr(grading.scheduler, "Scheduler", Idle)
    monkeypatch.setattr(grading.services.webhook_delivery, "Deliverer", Idle)
    monkeypatch.setattr(waitress, "serve", lambda app, **_: served.update(app=app))
    monkeypatch.delenv("GRADING_SECURE_COOKIES", raising=False)
    assert cli("serve").exit_code == 0
    assert served["app"].config["SESSION_COOKIE_SECURE"] is False
    assert cli("serve", "--secure-cookies").exit_code == 0
    assert served["app"].config["SESSION_COOKIE_SECURE"] is True
    monkeypatch.setenv("GRADING_SECURE_COOKIES", "1")
    assert cli("serve").exit_code == 0
    assert served["app"].config["SESSION_COOKIE_SECURE"] is True
    monkeypatch.setenv("GRADING_SECURE_COOKIES", "perhaps")
    result = cli("serve")
    assert result.exit_code == 1 and "GRADING_SECURE_COOKIES='perhaps'" in result.stderr
