"""The `grading` command line: parse, call a service, print."""

from __future__ import annotations

import os
import re
import sys
import time
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime

import click

from grading.core.config import ConfigError
from grading.core.times import epoch_text, from_epoch, parse_time

from .resources import LOCAL_MODEL_FILE, SHIPPED_MODEL_FILE, default_model_file
from .services import accounts as account_service
from .services import export as export_service
from .services import ingest, retention
from .services.config_file import read_config
from .services.runs import Busy, run_regrade
from .store.db import connect, schema_version, transaction

DEFAULT_DB = "instance/grading.db"


class Context:
    def __init__(self, db_path: str, config_path: str | None):
        self.db_path = db_path
        self.config_given = config_path is not None
        self.config_path = config_path if config_path is not None else default_model_file()
        self._db = None

    @property
    def db(self):
        if self._db is None:
            self._db = connect(self.db_path)
        return self._db

    def loaded(self):
        try:
            return read_config(self.config_path)
        except ConfigError as error:
            _print_problems(self.config_path, error.problems)
            raise SystemExit(1) from None


_LINE = re.compile(r"line (\d+)(?:, column \d+)?: ")


def _print_problems(source: str, problems: list[str], more: int = 0) -> None:
    """Each problem as FILE:LINE: … where it names its line (as imports and compilers write)."""
    for problem in problems:
        if not problem.startswith(source):
            line = _LINE.match(problem)
            problem = (
                f"{source}:{line.group(1)}: {problem[line.end() :]}"
                if line
                else f"{source}: {problem}"
            )
        click.echo(problem, err=True)
    if more:
        click.echo(f"… and {more} more problems", err=True)


def _as_of(value: str | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    problems: list = []
    at = parse_time(value, "--as-of", problems)
    if problems:
        raise click.BadParameter(problems[0][1], param_hint="--as-of")
    return from_epoch(at)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--db",
    "db_path",
    envvar="GRADING_DB",
    default=DEFAULT_DB,
    show_default=True,
    help="SQLite database file (or GRADING_DB).",
)
@click.option(
    "--config",
    "config_path",
    envvar="GRADING_CONFIG",
    default=None,
    show_default=f"{LOCAL_MODEL_FILE} if there is one here, else the example shipped with grading",
    help="Model file (or GRADING_CONFIG).",
)
@click.pass_context
def main(ctx: click.Context, db_path: str, config_path: str | None) -> None:
    """Grade B2B leads on fit (A-D, A best) and activity (1-4, 4 most active)."""
    ctx.obj = Context(db_path, config_path)


@main.command()
@click.option(
    "--copy-model",
    is_flag=True,
    help=f"Also write the shipped example model file to --config (default {LOCAL_MODEL_FILE}),"
    " to edit; an existing file is kept.",
)
@click.pass_obj
def init(obj: Context, copy_model: bool) -> None:
    """Create the database (or bring its schema up to date)."""
    version = schema_version(obj.db)
    click.echo(f"database {obj.db_path} ready (schema version {version})")
    if copy_model:
        _copy_model(obj.config_path if obj.config_given else LOCAL_MODEL_FILE)


def _copy_model(target: str) -> None:
    if os.path.exists(target):
        click.echo(f"model file {target} exists: kept as it is")
        return
    folder = os.path.dirname(os.path.abspath(target))
    os.makedirs(folder, exist_ok=True)
    with open(SHIPPED_MODEL_FILE, "rb") as source, open(target, "xb") as copy:
        copy.write(source.read())
    click.echo(f"model file {target} written (the shipped example): edit it, then check-config")


@main.command("check-config")
@click.argument("file", required=False)
@click.pass_obj
def check_config(obj: Context, file: str | None) -> None:
    """Validate a model file (YAML 1.2); list every problem by line and path (duplicate keys,
    alias expansion, matches patterns RE2 cannot compile, unset webhook secrets), exit 1 if any."""
    path = file or obj.config_path
    try:
        loaded = read_config(path)
    except ConfigError as error:
        _print_problems(path, error.problems)
        click.echo(f"{len(error.problems)} problem(s) in {path}", err=True)
        raise SystemExit(1) from None
    config = loaded.config
    for model in config.models:
        rules = len(model.fit_rules) + len(model.activity.rules)
        cats = ", ".join(c.name for c in model.categories) or "no categories"
        click.echo(f"model {model.name}: {rules} rules, {cats}, {len(model.routing)} routes")
    click.echo(f"{path} is valid")


@main.command("import")
@click.argument("kind", type=click.Choice(ingest.KINDS))
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--no-regrade", is_flag=True, help="Store only; leave grading to the next re-grade.")
@click.pass_obj
def import_(obj: Context, kind: str, file: str, no_regrade: bool) -> None:
    """Import leads, events or outcomes from .jsonl, .json or .csv (all rows or none).

    Every bad row is reported as FILE:LINE: field: reason, values that cannot be stored too:
    bytes that are not UTF-8, lone surrogates, NaN, Infinity, 1e999, integers beyond signed 64
    bits, nesting deeper than 64 levels, NUL characters, texts over 10,000 characters.
    Changes of an existing lead's lifecycle, owner or qualification are audited as cli:USER."""
    loaded = obj.loaded()
    db = obj.db
    actor = _cli_actor()
    try:
        if sys.stderr.isatty():
            with click.progressbar(
                length=os.path.getsize(file), label=f"importing {kind}", file=sys.stderr
            ) as bar:
                result = ingest.import_file(
                    db, loaded.config, kind, file, progress=bar.update, grade=False, actor=actor
                )
        else:
            result = ingest.import_file(db, loaded.config, kind, file, grade=False, actor=actor)
    except ingest.ImportFailed as failed:
        result = failed.result
        _print_problems(file, result.problems, result.more_problems)
        bad = len(result.problems) + result.more_problems
        click.echo(f"{bad} problem(s) in {file}; nothing was imported", err=True)
        raise SystemExit(1) from None
    except ValueError as error:
        raise click.UsageError(str(error)) from None
    rate = result.rows / result.seconds if result.seconds else 0
    line = f"imported {result.stored} {kind} from {file} in {result.seconds:.1f} s ({rate:,.0f} rows/s)"
    if result.duplicates:
        line += f"; {result.duplicates} duplicate(s) ignored"
    click.echo(line)
    if not no_regrade and result.leads_touched and kind != "outcomes":
        reason = "lead-update" if kind == "leads" else "event"
        # the model file as it is now, not as it was when a long import began: a server may have
        # re-graded everyone with a newer one meanwhile, and older grades would undo its work
        current = obj.loaded()
        try:
            run = run_regrade(
                db,
                current,
                trigger="import",
                reason=reason,
                lead_ids=result.leads_touched,
                wait_seconds=600,
            )
        except Busy as busy:
            click.echo(
                f"stored, but another re-grade is running ({busy}): the imported leads are graded"
                " by the next re-grade",
                err=True,
            )
            raise SystemExit(1) from None
        account_service.drain(db, current.config)  # no server may be running to do it
        click.echo(f"re-graded {run['leads']} lead(s): {run['changed']} grade(s) changed")


@main.command()
@click.option("--model", "models", multiple=True, help="Only this model (repeatable).")
@click.option("--as-of", "as_of", help="Grade as of this ISO-8601 time (default: now).")
@click.pass_obj
def regrade(obj: Context, models: tuple[str, ...], as_of: str | None) -> None:
    """Re-grade everyone; print how many grades changed."""
    loaded = obj.loaded()
    unknown = [m for m in models if loaded.config.model(m) is None]
    if unknown:
        raise click.BadParameter(f"unknown model {', '.join(unknown)}", param_hint="--model")
    try:
        run = run_regrade(
            obj.db,
            loaded,
            trigger="cli",
            as_of=_as_of(as_of),
            models=list(models) or None,
            wait_seconds=600,
        )
    except Busy as busy:
        click.echo(f"another re-grade is running ({busy}); try again later", err=True)
        raise SystemExit(1) from None
    click.echo(
        f"graded {run['leads']} lead(s): {run['changed']} grade(s) changed cell or route, "
        f"{run['rows_written']} grade row(s) written ({run['reason']})"
    )


@main.command()
@click.pass_obj
def purge(obj: Context) -> None:
    """Delete events older than the model file's retention.events_days (the schedule does this too)."""
    config = obj.loaded().config
    if config.retention_days is None:
        click.echo(
            "the model file sets no retention (retention: {events_days: N}); nothing deleted"
        )
        return
    deleted = retention.purge_events(obj.db, config, datetime.now(UTC), actor=_cli_actor())
    click.echo(
        f"deleted {deleted} event(s) older than {config.retention_days} days "
        f"(before {retention.cutoff(config, datetime.now(UTC)).date().isoformat()})"
    )


@main.command()
@click.option("--model", help="Only this model.")
@click.option("--category", help="Only this category ('-' for main grades only).")
@click.option("--cell", "cells", multiple=True, help="Only these cells, e.g. --cell A4 --cell B4.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["jsonl", "csv"]),
    default="jsonl",
    show_default=True,
    help="csv: text a spreadsheet would run as a formula (=, +, -, @ …) gets a leading '.",
)
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, writable=True), help="File (default stdout)."
)
@click.option(
    "--accounts", is_flag=True, help="Export account grades: one row per company and model."
)
@click.pass_obj
def grades(obj: Context, model, category, cells, fmt, output, accounts) -> None:
    """Export grades: one row per lead, model and category (or per company with --accounts)."""
    loaded = obj.loaded()
    for cell in cells:
        if len(cell) != 2 or cell[0] not in "ABCD" or cell[1] not in "1234":
            raise click.BadParameter(f"'{cell}' is not a cell like A4", param_hint="--cell")
    if model and loaded.config.model(model) is None:
        raise click.BadParameter(f"unknown model {model}", param_hint="--model")
    if accounts:
        try:
            rows = account_service.export_rows(
                obj.db, loaded.config, model=model, category=category, cells=cells
            )
        except ValueError as error:
            raise click.UsageError(str(error)) from None
        write = account_service.write_csv if fmt == "csv" else account_service.write_jsonl
        with (
            open(output, "w", newline="", encoding="utf-8")
            if output
            else nullcontext(sys.stdout) as out
        ):
            count = write(rows, out)
        if output:
            click.echo(f"wrote {count} account row(s) to {output}", err=True)
        return
    rows = export_service.grades(
        obj.db,
        loaded.config,
        model=model,
        category="" if category == "-" else category,
        cells=cells,
    )
    write = export_service.write_csv if fmt == "csv" else export_service.write_jsonl
    if output:
        with open(output, "w", newline="", encoding="utf-8") as out:
            count = write(rows, out)
        click.echo(f"wrote {count} grade row(s) to {output}", err=True)
    else:
        write(rows, sys.stdout)


@main.command()
@click.argument("lead")
@click.option("--model", help="Only this model.")
@click.option(
    "--events",
    "n_events",
    default=20,
    show_default=True,
    type=click.IntRange(0, 10_000),
    help="Show this many of the latest events (0: none).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@click.pass_obj
def explain(obj: Context, lead: str, model: str | None, n_events: int, as_json: bool) -> None:
    """Why a lead has its grades: who it is, per model and category the rules that contributed
    (adding up to the scores) and the threshold rules not yet earned ("2 of 6"), the grade
    history and the latest events."""
    loaded = obj.loaded()
    report = export_service.lead_report(obj.db, loaded.config, lead, model, events=n_events)
    if report is None:
        click.echo(f"no lead with id '{lead}'", err=True)
        raise SystemExit(1)
    if as_json:
        import orjson

        for event in report["events"]:
            event["at"] = epoch_text(event["at"])
        click.echo(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode())
    else:
        click.echo(export_service.render_report(report), nl=False)


@main.command()
@click.option(
    "--leads", "n_leads", default=2000, show_default=True, type=click.IntRange(1, 5_000_000)
)
@click.option("--seed", default=1, show_default=True)
@click.pass_obj
def demo(obj: Context, n_leads: int, seed: int) -> None:
    """Fill an empty database with realistic generated leads, events and outcomes."""
    from .services.demo import fill_demo

    loaded = obj.loaded()
    try:
        summary = fill_demo(obj.db, loaded, n_leads=n_leads, seed=seed)
    except (ValueError, Busy) as error:
        click.echo(str(error), err=True)
        raise SystemExit(1) from None
    click.echo(summary)


@main.command()
@click.option("--model", default="prospects", show_default=True)
@click.option("--category", default=None)
@click.pass_obj
def matrix(obj: Context, model: str, category: str | None) -> None:
    """Print the 4×4 matrix of a model (or category) with the count in every cell."""
    from .services.demo import render_matrix

    loaded = obj.loaded()
    if loaded.config.model(model) is None:
        raise click.BadParameter(f"unknown model {model}", param_hint="--model")
    click.echo(render_matrix(obj.db, model, category or ""))


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 64))
@click.option(
    "--secure-cookies",
    is_flag=True,
    help="Send the session cookie over HTTPS only, behind a TLS proxy (or GRADING_SECURE_COOKIES=1).",
)
@click.pass_obj
def serve(obj: Context, host: str, port: int, threads: int, secure_cookies: bool) -> None:
    """Serve the web view and the API (waitress) with the scheduler and webhook delivery."""
    import logging

    import waitress

    from .app import create_app
    from .scheduler import Scheduler
    from .services.webhooks import Deliverer

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    obj.loaded()  # refuse to start on an invalid model file, listing its problems
    schema_version(obj.db)  # create or migrate the database before serving
    settings = {"DATABASE": obj.db_path, "MODEL_FILE": obj.config_path}
    if secure_cookies:
        settings["SESSION_COOKIE_SECURE"] = True
    try:
        app = create_app(settings)
    except ValueError as error:  # a setting from the environment
        click.echo(str(error), err=True)
        raise SystemExit(1) from None
    scheduler = Scheduler(app)
    scheduler.start()
    deliverer = Deliverer(obj.db_path, lambda: app.extensions["grading"].config)
    deliverer.start()
    click.echo(
        f"grading serving http://{host}:{port}/ (API at /api, OpenAPI at /api/openapi.json)"
        f" with the model file {obj.config_path}",
        err=True,
    )
    try:
        waitress.serve(app, host=host, port=port, threads=threads, ident="grading")
    finally:
        scheduler.stop()
        deliverer.stop()


@main.group()
def token() -> None:
    """API tokens: create (printed once), list, revoke."""


@token.command("create")
@click.option("--role", required=True, type=click.Choice(["admin", "marketing", "sales", "viewer"]))
@click.option("--name", default="api", show_default=True, help="Who or what uses the token.")
@click.pass_obj
def token_create(obj: Context, role: str, name: str) -> None:
    """Create a token and print it (only this once: it is stored hashed)."""
    from .store.audit import record
    from .store.auth import create_token

    token_id, secret = create_token(obj.db, role, name, _now())
    record(obj.db, _cli_actor(), "token.create", f"token {token_id}", {"name": name, "role": role})
    click.echo(secret)
    click.echo(f"token {token_id} ({name}, {role}) created; it is shown only now", err=True)


@token.command("list")
@click.pass_obj
def token_list(obj: Context) -> None:
    """List tokens (never their secrets)."""
    from .store.auth import list_tokens

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
    from .store.audit import record
    from .store.auth import revoke_token

    if not revoke_token(obj.db, token_id, _now()):
        click.echo(f"no active token {token_id}", err=True)
        raise SystemExit(1)
    record(obj.db, _cli_actor(), "token.revoke", f"token {token_id}")
    click.echo(f"token {token_id} revoked")


@main.command("backup")
@click.argument("file", type=click.Path(dir_okay=False))
@click.pass_obj
def backup_command(obj: Context, file: str) -> None:
    """Copy the database consistently, even while the server runs (SQLite online backup)."""
    from .store.db import backup

    if os.path.exists(file):
        click.echo(f"{file} exists: choose a new file", err=True)
        raise SystemExit(1)
    backup(obj.db, file)
    click.echo(f"backed up {obj.db_path} to {file} ({os.path.getsize(file) / 2**20:.1f} MiB)")


@main.group()
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
    from .store.users import create_user

    if password is None:
        password = _read_password()
    with _refused_as_message():
        create_user(obj.db, name, role, password, _now())
    from .store.audit import record

    record(obj.db, _cli_actor(), "user.create", f"user {name}", {"role": role})
    click.echo(f"user {name} ({role}) created")


@user.command("list")
@click.pass_obj
def user_list(obj: Context) -> None:
    """List web accounts: role, last login, live sessions, disabled or not."""
    from .store.sessions import live_sessions
    from .store.users import list_users

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
    from .store.audit import record
    from .store.users import disable_user

    with _refused_as_message(obj.db):
        outcome = disable_user(obj.db, name, time.time())
        if outcome["changed"]:
            ended = {"sessions": outcome["sessions"]}
            record(obj.db, _cli_actor(), "user.disable", f"user {name}", ended)
    done = "disabled" if outcome["changed"] else "was disabled already"
    click.echo(f"user {name} {done}; {outcome['sessions']} live session(s) ended")


@user.command("enable")
@click.argument("name")
@click.pass_obj
def user_enable(obj: Context, name: str) -> None:
    """Let a disabled NAME log in again (their old sessions stay ended)."""
    from .store.audit import record
    from .store.users import enable_user

    with _refused_as_message(obj.db):
        changed = enable_user(obj.db, name)
        if changed:
            record(obj.db, _cli_actor(), "user.enable", f"user {name}")
    click.echo(f"user {name} {'enabled' if changed else 'was not disabled'}")


@user.command("password")
@click.argument("name")
@click.option("--password", help=PASSWORD_HELP)
@click.pass_obj
def user_password(obj: Context, name: str, password: str | None) -> None:
    """Give NAME a new password and end all of their sessions at once."""
    from .store.audit import record
    from .store.users import find_user, set_password

    with _refused_as_message():
        find_user(obj.db, name)  # before asking for a password nobody could use
    if password is None:
        password = _read_password()
    with _refused_as_message(obj.db):
        ended = set_password(obj.db, name, password, time.time())
        record(obj.db, _cli_actor(), "user.password", f"user {name}", {"sessions": ended})
    click.echo(f"user {name} has a new password; {ended} live session(s) ended")


@main.command()
@click.argument("lead")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_obj
def forget(obj: Context, lead: str, yes: bool) -> None:
    """Erase a person everywhere: lead, events, outcomes, grades, history, webhook messages,
    event classes only they had, their words in the search index; no byte of theirs is left in
    the database file or its WAL (zeroed, the WAL checkpointed and truncated)."""
    from .services.privacy import forget as forget_lead

    if not yes:
        click.confirm(
            f"Erase lead '{lead}' and everything about them? This cannot be undone", abort=True
        )
    erased = forget_lead(obj.db, obj.loaded().config, lead, _cli_actor())
    if erased is None:
        click.echo(f"no lead with id '{lead}'", err=True)
        raise SystemExit(1)
    rows = ", ".join(f"{n} {table}" for table, n in sorted(erased["deleted"].items()))
    click.echo(f"erased lead '{lead}': {rows} (audit entry {erased['audit_id']})")
    if not erased["wal_cleared"]:
        click.echo(
            "warning: readers kept the WAL from being truncated: it may hold older pages of the"
            " person until the server stops (the last connection to close clears it)",
            err=True,
        )


@main.command("export-lead")
@click.argument("lead")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False), help="Write here (default: stdout)."
)
@click.pass_obj
def export_lead(obj: Context, lead: str, output: str | None) -> None:
    """Everything stored about one person, as one JSON document."""
    import orjson

    from .services.privacy import export_lead as export_document

    document = export_document(obj.db, obj.loaded().config, lead)
    if document is None:
        click.echo(f"no lead with id '{lead}'", err=True)
        raise SystemExit(1)
    text = orjson.dumps(document, option=orjson.OPT_INDENT_2).decode()
    if output:
        with open(output, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")
        click.echo(f"wrote everything stored about '{lead}' to {output}", err=True)
    else:
        click.echo(text)


@main.command()
@click.option("--limit", default=50, show_default=True, help="How many entries, newest first.")
@click.pass_obj
def audit(obj: Context, limit: int) -> None:
    """The audit log: lifecycle, owner and qualification changes (API, import, web, routing),
    model reloads, accounts, erasures."""
    from .store.audit import entries

    for item in entries(obj.db, limit=limit):
        click.echo(
            f"{item['id']:>6}  {item['at']}  {item['actor']:<20} {item['action']:<13}"
            f" {item['target'] or ''} {item['summary']}".rstrip()
        )


def _cli_actor() -> str:
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


__all__ = ["main"]

from . import (  # noqa: E402
    cli_calibrate,  # noqa: F401  (registers `grading calibrate`)
    cli_preview,  # noqa: F401  (registers `grading preview`)
)
