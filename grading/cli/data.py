"""Commands that bring data in and out: init, import, regrade, purge, backup, and a person's own
data (forget, export-lead)."""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime

import click

from ..resources import LOCAL_MODEL_FILE, SHIPPED_MODEL_FILE
from ..services import accounts as account_service
from ..services import ingest, retention
from ..services.database import schema_version
from ..services.runs import Busy, run_regrade
from .common import Context, cli_actor, parse_as_of, print_problems


@click.command()
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


@click.command("import")
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
    actor = cli_actor()
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
        print_problems(file, result.problems, result.more_problems)
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
                lead_ids=sorted(result.leads_touched),
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


@click.command()
@click.option("--model", "models", multiple=True, help="Only this model (repeatable).")
@click.option("--as-of", "as_of", help="Grade as of this ISO-8601 time (default: now).")
@click.option(
    "--full",
    is_flag=True,
    help="Read every lead again, not only those whose grades can have changed.",
)
@click.pass_obj
def regrade(obj: Context, models: tuple[str, ...], as_of: str | None, full: bool) -> None:
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
            as_of=parse_as_of(as_of),
            models=list(models) or None,
            wait_seconds=600,
            full=full,
        )
    except Busy as busy:
        click.echo(f"another re-grade is running ({busy}); try again later", err=True)
        raise SystemExit(1) from None
    kept = f" ({run['kept']} kept their grades unread)" if run["kept"] else ""
    click.echo(
        f"graded {run['leads']} lead(s){kept}: {run['changed']} grade(s) changed cell or route, "
        f"{run['rows_written']} grade row(s) written ({run['reason']})"
    )


@click.command()
@click.pass_obj
def purge(obj: Context) -> None:
    """Delete events older than the model file's retention.events_days (the schedule does this too)."""
    config = obj.loaded().config
    now = datetime.now(UTC)
    before = retention.cutoff(config, now)  # None: no retention_days
    if before is None:
        click.echo(
            "the model file sets no retention (retention: {events_days: N}); nothing deleted"
        )
        return
    deleted = retention.purge_events(obj.db, config, now, actor=cli_actor())
    click.echo(
        f"deleted {deleted} event(s) older than {config.retention_days} days "
        f"(before {before.date().isoformat()})"
    )


@click.command("backup")
@click.argument("file", type=click.Path(dir_okay=False))
@click.pass_obj
def backup_command(obj: Context, file: str) -> None:
    """Copy the database consistently, even while the server runs (SQLite online backup)."""
    from ..services.database import backup

    if os.path.exists(file):
        click.echo(f"{file} exists: choose a new file", err=True)
        raise SystemExit(1)
    backup(obj.db, file)
    click.echo(f"backed up {obj.db_path} to {file} ({os.path.getsize(file) / 2**20:.1f} MiB)")


@click.command()
@click.argument("lead")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_obj
def forget(obj: Context, lead: str, yes: bool) -> None:
    """Erase a person everywhere: lead, events, outcomes, grades, history, webhook messages,
    event classes only they had, their words in the search index; no byte of theirs is left in
    the database file or its WAL (zeroed, the WAL checkpointed and truncated)."""
    from ..services.privacy import forget as forget_lead

    if not yes:
        click.confirm(
            f"Erase lead '{lead}' and everything about them? This cannot be undone", abort=True
        )
    erased = forget_lead(obj.db, obj.loaded().config, lead, cli_actor())
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


@click.command("export-lead")
@click.argument("lead")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False), help="Write here (default: stdout)."
)
@click.pass_obj
def export_lead(obj: Context, lead: str, output: str | None) -> None:
    """Everything stored about one person, as one JSON document."""
    from ..services.privacy import export_lead_json

    document = export_lead_json(obj.db, obj.loaded().config, lead)
    if document is None:
        click.echo(f"no lead with id '{lead}'", err=True)
        raise SystemExit(1)
    text = document.decode()
    if output:
        with open(output, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")
        click.echo(f"wrote everything stored about '{lead}' to {output}", err=True)
    else:
        click.echo(text)


COMMANDS = (init, import_, regrade, purge, backup_command, forget, export_lead)
