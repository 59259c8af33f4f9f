"""The model file's retention setting: events older than `retention.events_days` are deleted."""

from __future__ import annotations

from datetime import datetime

import sqlite_utils

from ..core.model import Config
from ..core.scoring import window_start
from ..core.times import epoch, from_epoch
from ..store import audit
from ..store.events import purge_before


def cutoff(config: Config, now: datetime) -> datetime | None:
    """Events before this are purged: what a window of retention_days counts is kept (whole UTC
    days, as activity counts them)."""
    if config.retention_days is None:
        return None
    return from_epoch(window_start(epoch(now), config.retention_days))


def purge_events(db: sqlite_utils.Database, config: Config, now: datetime, actor: str) -> int:
    """Delete the events the retention setting no longer keeps; audit how many (no personal data)."""
    before = cutoff(config, now)
    if before is None:
        return 0
    deleted = purge_before(db, epoch(before))
    if deleted:
        audit.record(
            db,
            actor,
            "events.purge",
            None,
            {
                "deleted": deleted,
                "before": before.date().isoformat(),
                "days": config.retention_days,
            },
        )
    return deleted
