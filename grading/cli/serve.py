"""Commands that run grading: serve (the web view, the API, the schedule) and demo (fill an empty
database with generated data)."""

from __future__ import annotations

import click

from ..services.database import schema_version
from ..services.runs import Busy
from .common import Context


@click.command()
@click.option(
    "--leads", "n_leads", default=2000, show_default=True, type=click.IntRange(1, 5_000_000)
)
@click.option("--seed", default=1, show_default=True)
@click.pass_obj
def demo(obj: Context, n_leads: int, seed: int) -> None:
    """Fill an empty database with realistic generated leads, events and outcomes."""
    from ..demo.fill import fill_demo

    loaded = obj.loaded()
    try:
        summary = fill_demo(obj.db, loaded, n_leads=n_leads, seed=seed)
    except (ValueError, Busy) as error:
        click.echo(str(error), err=True)
        raise SystemExit(1) from None
    click.echo(summary)


@click.command()
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

    from ..app import create_app
    from ..scheduler import Scheduler
    from ..services.webhook_delivery import Deliverer

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    obj.loaded()  # refuse to start on an invalid model file, listing its problems
    schema_version(obj.db)  # create or migrate the database before serving
    settings: dict[str, object] = {"DATABASE": obj.db_path, "MODEL_FILE": obj.config_path}
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


COMMANDS = (demo, serve)
