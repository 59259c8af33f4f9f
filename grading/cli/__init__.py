"""The `grading` command line: parse, call a service, print.

The group is defined here; the commands live in modules by who uses them and are added below:
data.py (getting data in and out, personal data), reports.py (grades, explanations, the matrix,
the audit log), models.py (checking, previewing and calibrating a model file), access.py (web
accounts and API tokens), serve.py (the server and the demo)."""

from __future__ import annotations

import click

from ..resources import LOCAL_MODEL_FILE
from . import access, data, models, reports, serve
from .common import Context

DEFAULT_DB = "instance/grading.db"


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


for _module in (data, reports, models, access, serve):
    for _command in _module.COMMANDS:
        main.add_command(_command)

__all__ = ["main"]
