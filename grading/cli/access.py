"""Commands for who may use grading: web accounts (user) and API tokens (token)."""

from __future__ import annotations

import sys
from contextlib import contextmanager

import click

from ..core.roles import ROLES
from ..services import users
from .common import Context, cli_actor


@click.group()
def token() -> None:
    """API tokens: create (printed once), list, revoke."""


@token.command("create")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--name", default="api", show_default=True, help="Who or what uses the token.")
@click.pass_obj
def token_create(obj: Context, role: str, name: str) -> None:
    """Create a token and print it (only this once: it is stored hashed)."""
    token_id, secret = users.create_api_token(obj.db, cli_actor(), role, name)
    click.echo(secret)
    click.echo(f"token {token_id} ({name}, {role}) created; it is shown only now", err=True)


@token.command("list")
@click.pass_obj
def token_list(obj: Context) -> None:
    """List tokens (never their secrets)."""
    for item in users.api_tokens(obj.db):
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
    if not users.revoke_api_token(obj.db, cli_actor(), token_id):
        click.echo(f"no active token {token_id}", err=True)
        raise SystemExit(1)
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
def _refused_as_message():
    """The ValueError of an account change (no such user, a short password, …) is printed; exit 1."""
    try:
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
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--password", help=PASSWORD_HELP)
@click.pass_obj
def user_create(obj: Context, name: str, role: str, password: str | None) -> None:
    """Create a web account (the password is stored only as a scrypt hash)."""
    if password is None:
        password = _read_password()
    with _refused_as_message():
        users.create_account(obj.db, cli_actor(), name, role, password)
    click.echo(f"user {name} ({role}) created")


@user.command("list")
@click.pass_obj
def user_list(obj: Context) -> None:
    """List web accounts: role, last login, live sessions, disabled or not."""
    for item in users.accounts(obj.db):
        state = f"disabled {item['disabled_at']}" if item["disabled_at"] else "enabled"
        sessions = item["live_sessions"]
        click.echo(
            f"{item['name']:<24} {item['role']:<9} last login {item['last_login_at'] or 'never'},"
            f" {sessions} live session(s), {state}"
        )


@user.command("disable")
@click.argument("name")
@click.pass_obj
def user_disable(obj: Context, name: str) -> None:
    """Refuse NAME's logins and end all of their sessions at once (enable lets them in again)."""
    with _refused_as_message():
        outcome = users.disable_account(obj.db, cli_actor(), name)
    done = "disabled" if outcome["changed"] else "was disabled already"
    click.echo(f"user {name} {done}; {outcome['sessions']} live session(s) ended")


@user.command("enable")
@click.argument("name")
@click.pass_obj
def user_enable(obj: Context, name: str) -> None:
    """Let a disabled NAME log in again (their old sessions stay ended)."""
    with _refused_as_message():
        changed = users.enable_account(obj.db, cli_actor(), name)
    click.echo(f"user {name} {'enabled' if changed else 'was not disabled'}")


@user.command("password")
@click.argument("name")
@click.option("--password", help=PASSWORD_HELP)
@click.pass_obj
def user_password(obj: Context, name: str, password: str | None) -> None:
    """Give NAME a new password and end all of their sessions at once."""
    with _refused_as_message():
        users.check_account(obj.db, name)  # before asking for a password nobody could use
    if password is None:
        password = _read_password()
    with _refused_as_message():
        ended = users.change_password(obj.db, cli_actor(), name, password)
    click.echo(f"user {name} has a new password; {ended} live session(s) ended")


COMMANDS = (token, user)
