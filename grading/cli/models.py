"""Commands for the model file's author: check-config, preview (what a changed file would do to
the grades) and calibrate (the rules and cells against won and lost deals, SPEC section 5)."""

from __future__ import annotations

import click
import orjson

from ..core.preview import NONE, ModelPreview, Preview
from ..core.times import iso_text
from ..services import calibration as calibration_service
from ..services import preview as preview_service
from .common import Context, parse_as_of, read_model_file


@click.command("check-config")
@click.argument("file", required=False)
@click.pass_obj
def check_config(obj: Context, file: str | None) -> None:
    """Validate a model file (YAML 1.2); list every problem by line and path (duplicate keys,
    alias expansion, matches patterns RE2 cannot compile, unset webhook secrets), exit 1 if any."""
    path = file or obj.config_path
    config = read_model_file(path, count_and="").config
    for model in config.models:
        rules = len(model.fit_rules) + len(model.activity.rules)
        cats = ", ".join(c.name for c in model.categories) or "no categories"
        click.echo(f"model {model.name}: {rules} rules, {cats}, {len(model.routing)} routes")
    click.echo(f"{path} is valid")


@click.command("preview")
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
    moment = parse_as_of(as_of)
    current = obj.loaded()
    new = read_model_file(file, count_and="; nothing to preview")
    result = preview_service.preview(obj.db, current.config, new.config, as_of=moment)
    if fmt == "json":
        click.echo(orjson.dumps(result.as_dict(), option=orjson.OPT_INDENT_2).decode())
    else:
        click.echo(render_preview(result), nl=False)
    click.echo(f"previewed in {result.seconds:.2f} s; nothing was written", err=True)


@click.command("calibrate")
@click.option("--model", help="The model to calibrate (default: the first in the file).")
@click.option(
    "--format",
    "output",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="A readable table, or JSON (as GET /api/calibration).",
)
@click.pass_obj
def calibrate(obj: Context, model: str | None, output: str) -> None:
    """Compare the rules with won and lost deals, each lead as of its outcome's time.

    Per rule: leads that met it, won, win rate, lift, share of the won leads' rule hits ("% of
    closings") and suggested points round(100 x share); per cell: conversion, and whether it
    falls from A to D and from 4 to 1; ROC AUC of the fit and activity scores."""
    loaded = obj.loaded()
    try:
        data = calibration_service.calibration(obj.db, loaded.config, model)
    except calibration_service.UnknownModel as error:
        raise click.BadParameter(str(error), param_hint="--model") from None
    if output == "json":
        click.echo(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode())
    else:
        click.echo(render(data), nl=False)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.0f}%"


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def render(data: dict) -> str:
    lines = [
        f"Calibration of {data['model']}: {data['leads']} leads with an outcome as of it,"
        f" {data['won']} won, {data['lost']} lost (win rate {_pct(data['win_rate'])})",
    ]
    if data["outside_audience"]:
        lines.append(
            f"({data['outside_audience']} more were outside the audience at their outcome)"
        )
    lines += ["", "Rules"]
    header = (
        "rule",
        "dim",
        "points",
        "suggested",
        "leads",
        "won",
        "win",
        "lift",
        "share",
        "in dim",
    )
    rows = [
        (
            rule["id"],
            rule["dimension"],
            f"{rule['points']:g}",
            "-" if rule["suggested_points"] is None else str(rule["suggested_points"]),
            str(rule["leads"]),
            str(rule["won"]),
            _pct(rule["win_rate"]),
            _num(rule["lift"]),
            _pct(rule["share"]),
            _pct(rule["share_in_dimension"]),
        )
        for rule in data["rules"]
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        padded = [row[0].ljust(widths[0]), row[1].ljust(widths[1])]
        padded += [value.rjust(width) for value, width in zip(row[2:], widths[2:], strict=True)]
        lines.append("  ".join(padded).rstrip())
    lines += ["", "Conversion per cell (won / leads)"]
    cells = {c["name"]: c for c in data["cells"]}
    letters = {c["name"]: c for c in data["letters"]}
    numbers = {c["name"]: c for c in data["numbers"]}

    def text(cell: dict) -> str:
        return f"{_pct(cell['conversion'])} {cell['won']}/{cell['leads']}"

    width = 2 + max(len(text(c)) for c in [*cells.values(), *letters.values(), *numbers.values()])

    def show(cell: dict) -> str:
        return text(cell).rjust(width)

    lines.append("     " + "".join(f"{a:>{width}}" for a in (1, 2, 3, 4)) + f"{'total':>{width}}")
    for f in "ABCD":
        shown = "".join(show(cells[f"{f}{a}"]) for a in (1, 2, 3, 4))
        lines.append(f"  {f}  {shown}{show(letters[f])}")
    lines.append("  all" + "".join(show(numbers[str(a)]) for a in (1, 2, 3, 4)))
    lines += [
        "",
        f"Conversion falls from A to D: {'yes' if data['fit_falls'] else 'no'}",
        f"Conversion falls from 4 to 1: {'yes' if data['activity_falls'] else 'no'}",
    ]
    lines += [f"  {v['text']}" for v in data["violations"]]
    lines.append(
        f"ROC AUC: fit {_num(data['fit_auc'])}, activity {_num(data['activity_auc'])}"
        " (0.5 is chance, 1 separates won from lost perfectly)"
    )
    return "\n".join(lines) + "\n"


def render_preview(result: Preview) -> str:
    """The preview as text: per model its moves as a matrix (only rows and columns that hold
    leads), then the rules whose hits or text changed."""
    stamp = iso_text(result.as_of)
    lines = [f"preview as of {stamp}: {result.leads:,} lead(s) graded under both files"]
    for model in result.models:
        lines.append("")
        lines.append(
            f"model {model.name} ({model.status}): {model.moved:,} lead(s) change cell;"
            f" graded {model.graded_before:,} -> {model.graded_after:,}"
        )
        lines.extend(f"  {setting}" for setting in model.settings)
        lines.extend(matrix_lines(model))
        if model.rules:
            lines.append("  rules whose hits change:")
            width = max(len(r.id) for r in model.rules)
            for rule in model.rules:
                lines.append(
                    f"    {rule.dimension:<8} {rule.id:<{width}}  {rule.status:<7}"
                    f"  {rule.hits_before:>8,} -> {rule.hits_after:<8,} ({rule.difference:+,})"
                )
        else:
            lines.append("  no rule's hits change")
    return "\n".join(lines) + "\n"


def matrix_lines(model: ModelPreview) -> list[str]:
    rows, _ = model.totals()
    used_rows, used_columns = model.shown()
    if not used_rows:
        return ["  no lead is graded in this model by either file"]
    width = max(6, *(len(f"{n:,}") + 1 for n in rows.values()))
    head = "  from\\to" + "".join(f"{c:>{width}}" for c in used_columns) + f"{'total':>{width + 1}}"
    lines = [head]
    for src in used_rows:
        cells = []
        for dst in used_columns:
            n = model.matrix[src][dst]
            text = "." if n == 0 or (src == dst == NONE) else f"{n:,}"
            cells.append(f"{text:>{width}}")
        lines.append(f"  {src:<7}" + "".join(cells) + f"{rows[src]:>{width + 1},}")
    return lines


COMMANDS = (check_config, preview, calibrate)
