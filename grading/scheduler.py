"""The scheduler of `grading serve`: the model file's cron re-grade and the model-file watch.

APScheduler 3 runs a job once per process that starts it, so the re-grade itself takes the lease
in the database (services.runs): several processes may schedule, only one re-grades at a time.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from flask import Flask

from .http.request import reread_model_file
from .services.accounts import drain as drain_accounts
from .services.database import connect
from .services.retention import purge_events
from .services.runs import Busy, run_regrade

log = logging.getLogger("grading.scheduler")
WATCH_SECONDS = 2
ACCOUNT_SECONDS = 2  # accounts of companies whose leads were graded in real time, refreshed


def _database(app: Flask):
    return connect(app.config["DATABASE"])


def regrade_job(app: Flask, trigger: str = "schedule") -> dict | None:
    """The scheduled work: purge what the retention setting no longer keeps, then re-grade."""
    db = _database(app)
    loaded = app.extensions["grading"].loaded
    try:
        purge_events(db, loaded.config, datetime.now(UTC), actor="schedule")
        return run_regrade(db, loaded, trigger=trigger)
    except Busy as busy:
        log.info("re-grade skipped: %s holds the lease", busy)
        return None
    finally:
        db.conn.close()


class Scheduler:
    def __init__(self, app: Flask):
        self.app = app
        self.scheduler = BackgroundScheduler(timezone="UTC")
        app.extensions["grading.scheduler"] = self

    def schedule_regrade(self) -> None:
        cron = self.app.extensions["grading"].config.schedule
        if self.scheduler.get_job("regrade"):
            self.scheduler.remove_job("regrade")
        if cron:
            self.scheduler.add_job(
                regrade_job,
                CronTrigger.from_crontab(cron, timezone="UTC"),
                args=[self.app],
                id="regrade",
                max_instances=1,
                coalesce=True,
                misfire_grace_time=300,
            )

    def _watch(self) -> None:
        if self.app.extensions["grading"].file_changed():
            reread_model_file("model-file watch", self.app)

    def _accounts(self) -> None:
        db = _database(self.app)
        try:
            drain_accounts(db, self.app.extensions["grading"].config)
        finally:
            db.conn.close()

    def start(self) -> None:
        self.schedule_regrade()
        self.scheduler.add_job(
            self._accounts,
            "interval",
            seconds=ACCOUNT_SECONDS,
            id="account-grades",
            max_instances=1,
            coalesce=True,
        )
        self.scheduler.add_job(
            self._watch,
            "interval",
            seconds=WATCH_SECONDS,
            id="watch-model-file",
            max_instances=1,
            coalesce=True,
        )
        self.scheduler.start()

    def stop(self) -> None:
        self.scheduler.shutdown(wait=False)
