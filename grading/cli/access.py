"""Commands for who may use grading: web accounts (user) and API tokens (token)."""

from __future__ import annotations

import sys
import time
from contextlib import contextmanager, nullcontext

import click

from ..store.db import transaction
from .common import Context, cli_actor, now_text


@click.group()
def token() -> None:
    """API tokens: create (printed once), list, revoke."""


@token.command("create")
@click.option("--role", required=True, type=click.Choice(["admin", "marketing", "sales", "viewer"]))
@click.option("--name", default="api", show_default=True, help="Who or what uses the token.")
@click.pass_obj
def token_create(obj: Context, role: str, name: str) -> None:
    """Create a token and print it (only this once: it is stored hashed)."""
    from ..store.audit import record
    from ..store.auth import create_token

    token_id, secret = create_token(obj.db, role, name, now_text())
    record(obj.db, cli_actor(), "token.create", f"token {token_id}", {"name": name, "role": role})
    click.echo(secret)
    click.echo(f"token {token_id} ({name}, {role}) created; it is shown only now", err=True)


@token.command("list")
@click.pass_obj
def token_list(obj: Context) -> None:
    """List tokens (never their secrets)."""
    from ..store.auth import list_tokens

    for item in list_tokens(obj.db):
        state = f"revoked {item['revoked_at']}" if item["revoked_at"] else "active"
        used = item["last_used_at"] or "never used"
        click.echo(
            f"{item['id']:>4}  {item['prefix']}…  {item['role']:<9} {item['name']:<20} {state}, {used}"
        )


@token.command("revoke")
@click.argument("token_id", type=int)
@click.pass_obj
def token_revoke(obj: Context, token_id: int) -> None:
    """Revoke a token by its id (see `grading token list`)."""
    from ..store.audit import record
    from ..store.auth import revoke_token

    if not revoke_token(obj.db, token_id, now_text()):
        click.echo(f"no active token {token_id}", err=True)
        raise SystemExit(1)
    record(obj.db, cli_actor(), "token.revoke", f"token {token_id}")
    click.echo(f"token {token_id} revoked")


@click.group()
def user() -> None:
    """Accounts for the web view."""


def _read_password() -> str:
    """Asked twice on a terminal; else the first line of stdin (a pipe has no one to confirm)."""
    if sys.stdin.isatty():
        return click.prompt("Password", hide_input=True, confirmation_prompt=True)
    line = sys.stdin.readline()
    if not line:
        click.echo("no password: give --password, or pipe it as one line on stdin", err=True)
        raise SystemExit(1)
    return line.removesuffix("\n").removesuffix("\r")


@contextmanager
def _refused_as_message(db=None):
    """The store's ValueError (no such user, a short password, …) is printed; exit 1. With db,
    what runs inside is one transaction: an account change and its audit entry, or neither."""
    try:
        with transaction(db) if db is not None else nullcontext():
            yield
    except ValueError as error:
        click.echo(str(error), err=True)
        raise SystemExit(1) from None


PASSWORD_HELP = (
    "The password (else asked twice on a terminal, or read as one line piped on stdin; "
    "an option shows in the process list)."
)


@user.command("create")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(["admin", "marketing", "sales", "viewer"]))
@click.option("--password", help=PASSWORD_HELP)
@click.pass_obj
def user_create(obj: Context, name: str, role: str, password: str | None) -> None:
    """Create a web account (the password is stored only as a scrypt hash)."""
    from ..store.users import create_user

    if password is None:
        password = _read_password()
    with _refused_as_message():
        create_user(obj.db, name, role, password, now_text())
    from ..store.audit import record

    record(obj.db, cli_actor(), "user.create", f"user {name}", {"role": role})
    click.echo(f"user {name} ({role}) created")


@user.command("list")
@click.pass_obj
def user_list(obj: Context) -> None:
    """List web accounts: role, last login, live sessions, disabled or not."""
    from ..store.sessions import live_sessions
    from ..store.users import list_users

    for item in list_users(obj.db):
        state = f"disabled {item['disabled_at']}" if item["disabled_at"] else "enabled"
        sessions = live_sessions(obj.db, item["id"], time.time())
        click.echo(
            f"{item['name']:<24} {item['role']:<9} last login {item['last_login_at'] or 'never'},"
            f" {sessions} live session(s), {state}"
        )


@user.command("disable")
@click.argument("name")
@click.pass_obj
def user_disable(obj: Context, name: str) -> None:
    """Refuse NAME's logins and end all of their sessions at once (enable lets them in again)."""
    from ..store.audit import record
    from ..store.users import disable_user

    with _refused_as_message(obj.db):
        outcome = disable_user(obj.db, name, time.time())
        if outcome["changed"]:
            ended = {"sessions": outcome["sessions"]}
            record(obj.db, cli_actor(), "user.disable", f"user {name}", ended)
    done = "disabled" if outcome["changed"] else "was disabled already"
    click.echo(f"user {name} {done}; {outcome['sessions']} live session(s) ended")


@user.command("enable")
@click.argument("name")
@click.pass_obj
def user_enable(obj: Context, name: str) -> None:
    """Let a disabled NAME log in again (their old sessions stay ended)."""
    from ..store.audit import record
    from ..store.users import enable_user

    with _refused_as_message(obj.db):
        changed = enable_user(obj.db, name)
        if changed:
            record(obj.db, cli_actor(), "user.enable", f"user {name}")
    click.echo(f"user {name} {'enabled' if changed else 'was not disabled'}")


@user.command("password")
@click.argument("name")
@click.option("--password", help=PASSWORD_HELP)
@click.pass_obj
def user_password(obj: Context, name: str, password: str | None) -> None:
    """Give NAME a new password and end all of their sessions at once."""
    from ..store.audit import record
    from ..store.users import find_user, set_password

    with _refused_as_message():
        find_user(obj.db, name)  # before asking for a password nobody could use
    if password is None:
        password = _read_password()
    with _refused_as_message(obj.db):
        ended = set_password(obj.db, name, password, time.time())
        record(obj.db, cli_actor(), "user.password", f"user {name}", {"sessions": ended})
    click.echo(f"user {name} has a new password; {ended} live session(s) ended")


COMMANDS = (token, user)
