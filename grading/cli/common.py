"""What every command of `grading` shares: the Context of one invocation (the database, the model
file), problems printed as FILE:LINE, --as-of, the actor the audit log names."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import click

from grading.core.config import ConfigError
from grading.core.times import TimeTextError
from grading.core.times import parse_as_of as parse_moment

from ..resources import default_model_file
from ..services.database import connect
from ..services.model_file.read import LoadedConfig, read_config


class Context:
    """One invocation's --db and --config: the database opened on first use, the model file read
    (and refused with its problems) when a command asks for it."""

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

    def loaded(self) -> LoadedConfig:
        return read_model_file(self.config_path)


def read_model_file(path: str, count_and: str | None = None) -> LoadedConfig:
    """The model file at `path`, else its problems as FILE:LINE and exit 1; with `count_and`,
    a last line "N problem(s) in PATH" followed by it."""
    try:
        return read_config(path)
    except ConfigError as error:
        print_problems(path, error.problems)
        if count_and is not None:
            click.echo(f"{len(error.problems)} problem(s) in {path}{count_and}", err=True)
        raise SystemExit(1) from None


_LINE = re.compile(r"line (\d+)(?:, column \d+)?: ")


def print_problems(source: str, problems: list[str], more: int = 0) -> None:
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


def parse_as_of(value: str | None) -> datetime:
    """--as-of as a UTC time (now when not given); a bad value is a usage error naming it."""
    if value is None:
        return datetime.now(UTC)
    try:
        return parse_moment(value, "--as-of")
    except TimeTextError as error:
        raise click.BadParameter(error.reason, param_hint="--as-of") from None


def cli_actor() -> str:
    """Who the audit log names for a command: cli:USER."""
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"
