"""`grading preview FILE`: what a changed model file would do to the grades, nothing written."""

from __future__ import annotations

import click
import orjson

from grading.core.config import ConfigError

from .cli import Context, _as_of, _print_problems, main
from .services import preview as preview_service
from .services.model_file.read import read_config


@main.command("preview")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--as-of", "as_of", help="Grade as of this ISO-8601 time (default: now).")
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)
@click.pass_obj
def preview(obj: Context, file: str, as_of: str | None, fmt: str) -> None:
    """Show how many leads a changed model FILE would move from each cell to each other cell,
    and which rules' hits change, against the active model file; nothing is saved.

    An invalid FILE gets the same problem list as check-config, and exit status 1."""
    moment = _as_of(as_of)
    current = obj.loaded()
    try:
        new = read_config(file)
    except ConfigError as error:
        _print_problems(file, error.problems)
        click.echo(f"{len(error.problems)} problem(s) in {file}; nothing to preview", err=True)
        raise SystemExit(1) from None
    result = preview_service.preview(obj.db, current.config, new.config, as_of=moment)
    if fmt == "json":
        click.echo(orjson.dumps(result.as_dict(), option=orjson.OPT_INDENT_2).decode())
    else:
        click.echo(preview_service.render_table(result), nl=False)
    click.echo(f"previewed in {result.seconds:.2f} s; nothing was written", err=True)
