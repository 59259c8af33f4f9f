"""Commands that read the grades: grades (the export), explain, matrix, and the audit log."""

from __future__ import annotations

import sys
from contextlib import nullcontext

import click

from grading.core.times import epoch_text

from ..services import accounts as account_service
from ..services import export as export_service
from ..services import reports as report_service
from .common import Context


@click.command()
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
    rows = report_service.grades(
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


@click.command()
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
    report = report_service.lead_report(obj.db, loaded.config, lead, model, events=n_events)
    if report is None:
        click.echo(f"no lead with id '{lead}'", err=True)
        raise SystemExit(1)
    if as_json:
        import orjson

        for event in report["events"]:
            event["at"] = epoch_text(event["at"])
        click.echo(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode())
    else:
        click.echo(report_service.render_report(report), nl=False)


@click.command()
@click.option("--model", default="prospects", show_default=True)
@click.option("--category", default=None)
@click.pass_obj
def matrix(obj: Context, model: str, category: str | None) -> None:
    """Print the 4×4 matrix of a model (or category) with the count in every cell."""
    from ..demo.fill import render_matrix

    loaded = obj.loaded()
    if loaded.config.model(model) is None:
        raise click.BadParameter(f"unknown model {model}", param_hint="--model")
    click.echo(render_matrix(obj.db, model, category or ""))


@click.command()
@click.option("--limit", default=50, show_default=True, help="How many entries, newest first.")
@click.pass_obj
def audit(obj: Context, limit: int) -> None:
    """The audit log: lifecycle, owner and qualification changes (API, import, web, routing),
    model reloads, accounts, erasures."""
    from ..services.users import audit_log

    for item in audit_log(obj.db, limit=limit):
        click.echo(
            f"{item['id']:>6}  {item['at']}  {item['actor']:<20} {item['action']:<13}"
            f" {item['target'] or ''} {item['summary']}".rstrip()
        )


COMMANDS = (grades, explain, matrix, audit)
